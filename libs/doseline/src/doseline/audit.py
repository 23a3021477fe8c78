"""Audit trail: append-only (enforced by the database), hash-chained, verifiable.

21 CFR 11.10(e) asks for secure, computer-generated, time-stamped trails of who did what, when
and why, that never obscure earlier entries. Each entry stores its canonical JSON `record` and
`hash = sha256(prev_hash + record)`; a trigger rejects UPDATE, DELETE and TRUNCATE, and
`verify` recomputes the chain to find an entry changed or removed behind the database's back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from doseline.logging import correlation_id
from doseline.schema import ServiceSchema

GENESIS_HASH = "0" * 64


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot put {type(value).__name__} in an audit entry")


def canonical_json(value: object) -> str:
    """One text per value: sorted keys, no spaces, UTF-8, datetimes in UTC."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def chain_hash(prev_hash: str, record: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{record}".encode()).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    occurred_at: datetime
    hash: str


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: Mapping[str, Any] | BaseModel | None = None,
    after: Mapping[str, Any] | BaseModel | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or vanishes with the change)."""
    schema = ServiceSchema.of(session)
    table = schema.kit.audit_log
    # One writer at a time per service, so every entry links to the one before it.
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"{schema.name}.audit_log"))))
    last = session.execute(
        select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
    ).first()
    seq = 1 if last is None else last.seq + 1
    prev_hash = GENESIS_HASH if last is None else last.hash
    occurred_at = datetime.now(UTC)
    fields: dict[str, Any] = {
        "seq": seq,
        "occurred_at": occurred_at.isoformat(),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": json.loads(canonical_json(before)) if before is not None else None,
        "after": json.loads(canonical_json(after)) if after is not None else None,
        "reason": reason,
        "correlation_id": correlation_id(),
    }
    text_record = canonical_json(fields)
    digest = chain_hash(prev_hash, text_record)
    session.execute(
        insert(table).values(
            **{**fields, "occurred_at": occurred_at},
            record=text_record,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    return AuditEntry(seq=seq, occurred_at=occurred_at, hash=digest)


@dataclass
class VerifyReport:
    entries: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


_STRUCTURED = ("actor", "action", "entity_type", "entity_id", "before", "after", "reason")


def verify(session: Session, *, expected_head: str | None = None) -> VerifyReport:
    """Recompute the chain; report every entry that was changed, inserted or removed.

    A removed last entry leaves no gap; pass the head hash recorded elsewhere
    (`expected_head`) to detect truncation of the tail as well.
    """
    table = ServiceSchema.of(session).kit.audit_log
    report = VerifyReport()
    expected_seq = 1
    prev_hash = GENESIS_HASH
    rows: Iterator[Any] = iter(
        session.execute(select(table).order_by(table.c.seq).execution_options(yield_per=1000))
    )
    for row in rows:
        report.entries += 1
        if row.seq != expected_seq:
            gap = row.seq - expected_seq
            report.problems.append(
                f"entry {row.seq}: expected entry {expected_seq} here; "
                f"{gap} entr{'y' if gap == 1 else 'ies'} missing"
            )
        if row.prev_hash != prev_hash:
            report.problems.append(f"entry {row.seq}: does not link to the entry before it")
        if chain_hash(row.prev_hash, row.record) != row.hash:
            report.problems.append(f"entry {row.seq}: its record does not match its hash")
        try:
            stored = json.loads(row.record)
        except json.JSONDecodeError:
            report.problems.append(f"entry {row.seq}: its record is not valid JSON")
            stored = {}
        changed = [name for name in _STRUCTURED if stored.get(name) != getattr(row, name)]
        if stored.get("seq") != row.seq:
            changed.append("seq")
        if stored and datetime.fromisoformat(stored["occurred_at"]) != row.occurred_at:
            changed.append("occurred_at")
        if changed:
            report.problems.append(
                f"entry {row.seq}: column(s) {', '.join(changed)} differ from the signed record"
            )
        expected_seq = row.seq + 1
        prev_hash = row.hash
    report.head_hash = prev_hash
    if expected_head is not None and expected_head != prev_hash:
        report.problems.append(
            "the last entry is not the expected head: entries were removed from the end "
            "or the chain was rewritten"
        )
    return report


def append_only_ddl(schema: str) -> list[str]:
    """Statements (for a migration) that make `<schema>.audit_log` append-only in the database."""
    return [
        f"""
        CREATE OR REPLACE FUNCTION "{schema}".audit_log_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """,
        f"""
        CREATE TRIGGER audit_log_no_update_delete
        BEFORE UPDATE OR DELETE ON "{schema}".audit_log
        FOR EACH ROW EXECUTE FUNCTION "{schema}".audit_log_append_only()
        """,
        f"""
        CREATE TRIGGER audit_log_no_truncate
        BEFORE TRUNCATE ON "{schema}".audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".audit_log_append_only()
        """,
    ]


def drop_append_only_ddl(schema: str) -> list[str]:
    return [
        f'DROP TRIGGER IF EXISTS audit_log_no_truncate ON "{schema}".audit_log',
        f'DROP TRIGGER IF EXISTS audit_log_no_update_delete ON "{schema}".audit_log',
        f'DROP FUNCTION IF EXISTS "{schema}".audit_log_append_only()',
    ]


def entity_history(session: Session, *, entity_type: str, entity_id: str) -> list[dict[str, Any]]:
    """Every audit entry of one entity, oldest first, for human-readable audit views."""
    table = ServiceSchema.of(session).kit.audit_log
    rows = session.execute(
        select(
            table.c.seq,
            table.c.occurred_at,
            table.c.actor,
            table.c.action,
            table.c.before,
            table.c.after,
            table.c.reason,
        )
        .where(table.c.entity_type == entity_type, table.c.entity_id == entity_id)
        .order_by(table.c.seq)
    ).all()
    return [dict(row._mapping) for row in rows]


__all__ = [
    "AuditEntry",
    "VerifyReport",
    "append_only_ddl",
    "canonical_json",
    "drop_append_only_ddl",
    "entity_history",
    "record",
    "verify",
]
