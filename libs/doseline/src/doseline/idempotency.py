"""Idempotency-Key handling for creates: a retried request gets the first response back.

Mobile CRF apps retry on flaky networks; an EHR integration retries on timeouts. The key row
is inserted first, in the request's own transaction: a concurrent duplicate waits on the
primary key until the first request commits, then replays its stored response. If the first
request fails, its row rolls back with it and the retry runs afresh.

A response that holds something shown only once (a webhook signing secret) is stored without
it: the create gives `kept_body`, the store keeps that, and a replay answers it with the header
`Idempotent-Withheld` naming what was left out. No secret is ever written to the key store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doseline import problems
from doseline.audit import canonical_json
from doseline.errors import InvalidInput
from doseline.schema import ServiceSchema

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description=(
            "A client-chosen unique key (a UUID is a good choice). Retrying a create with the "
            "same key returns the first response instead of creating a second record."
        ),
    ),
]


WITHHELD_HEADER = "Idempotent-Withheld"


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False
    kept_body: Any = None
    """What the key store keeps instead of `body`, when `body` holds something shown once."""
    withheld: str | None = None
    """What `kept_body` leaves out, told to a replay in the `Idempotent-Withheld` header."""


def request_fingerprint(method: str, path: str, payload: object) -> str:
    return hashlib.sha256(f"{method} {path}\n{canonical_json(payload)}".encode()).hexdigest()


def run_once(
    session: Session,
    *,
    key: str | None,
    principal: str,
    method: str,
    path: str,
    payload: object,
    create: Callable[[], StoredResponse],
) -> StoredResponse:
    """Run `create` once per (principal, key); later calls with the key get the stored response."""
    if key is None:
        return create()
    table = ServiceSchema.of(session).kit.idempotency_keys
    fingerprint = request_fingerprint(method, path, payload)
    inserted = session.execute(
        insert(table)
        .values(key=key, principal=principal, method=method, path=path, request_hash=fingerprint)
        .on_conflict_do_nothing(index_elements=[table.c.key, table.c.principal])
        .returning(table.c.key)
    ).first()
    if inserted is None:
        stored = session.execute(
            select(table).where(table.c.key == key, table.c.principal == principal)
        ).one()
        if stored.request_hash != fingerprint:
            raise InvalidInput(
                "this Idempotency-Key was already used for a different request; "
                "use a new key for a new request",
                problem=problems.IDEMPOTENCY_KEY_REUSED,
            )
        return StoredResponse(
            status_code=stored.status_code,
            body=stored.response_body,
            headers=dict(stored.response_headers or {}),
            replayed=True,
        )
    response = create()
    kept_headers = dict(response.headers)
    if response.withheld is not None:
        kept_headers[WITHHELD_HEADER] = response.withheld
    session.execute(
        update(table)
        .where(table.c.key == key, table.c.principal == principal)
        .values(
            status_code=response.status_code,
            response_body=response.body if response.kept_body is None else response.kept_body,
            response_headers=kept_headers,
        )
    )
    return response


def idempotent_response(
    session: Session,
    request: Request,
    *,
    principal: str,
    key: str | None,
    payload: object,
    create: Callable[[], StoredResponse],
) -> JSONResponse:
    """`run_once` for an endpoint: the stored (or fresh) response, marked when it is a replay."""
    stored = run_once(
        session,
        key=key,
        principal=principal,
        method=request.method,
        path=request.url.path,
        payload=payload,
        create=create,
    )
    headers = dict(stored.headers)
    if stored.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
