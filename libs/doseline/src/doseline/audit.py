"""Audit trail: append-only (enforced by the database), chained with keyed MACs, verifiable.

21 CFR 11.10(e) asks for secure, computer-generated, time-stamped trails of who did what, when
and why, that never obscure earlier entries. Each entry stores its canonical JSON `record` and
`hash = HMAC-SHA256(key, key_id + prev_hash + record)` under a key kept outside the database
(`AUDIT_KEYS`), with the id of that key; a trigger rejects UPDATE, DELETE and TRUNCATE, and
`verify` recomputes the chain to find an entry changed or removed behind the database's back.
Someone who can bypass the trigger (a superuser in replica mode) still cannot recompute the
MACs of the entries after the one they rewrote without the key, and checkpoints of the chain
head kept outside the database (`doseline.audit_checkpoints`) show a chain cut or replaced whole.

Entries written before keyed MACs keep their plain `sha256(prev_hash + record)` links and say so
(`algorithm = sha256`); they verify as before, and no plain entry may follow a keyed one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from doseline import bulk
from doseline.logging import correlation_id
from doseline.schema import AUDIT_KEYS_INFO_KEY, ServiceSchema

GENESIS_HASH = "0" * 64
# Entries chained before keyed MACs existed: verified, never written any more.
SHA256 = "sha256"
HMAC_SHA256 = "hmac-sha256"
ALGORITHMS = (SHA256, HMAC_SHA256)

DEVELOPMENT_AUDIT_KEY_ID = "development"
DEVELOPMENT_AUDIT_KEY = "doseline-development-audit-key-not-for-production"
KEY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


@dataclass(frozen=True)
class AuditKeys:
    """The MAC keys of a service's audit trail: every id verification accepts, and the one new
    entries are chained with. Rotating adds a key id and makes it `current`; the old ids stay
    so that the entries chained with them still verify."""

    current: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError(f"audit key id {self.current!r} is not among the configured keys")
        if any(not key for key in self.keys.values()):
            raise ValueError("an audit key is empty")

    @classmethod
    def development(cls) -> AuditKeys:
        return cls(
            current=DEVELOPMENT_AUDIT_KEY_ID,
            keys={DEVELOPMENT_AUDIT_KEY_ID: DEVELOPMENT_AUDIT_KEY.encode()},
        )


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
    """The plain link of entries written before keyed MACs (`algorithm = sha256`)."""
    return hashlib.sha256(f"{prev_hash}\n{record}".encode()).hexdigest()


def chain_mac(key: bytes, key_id: str, prev_hash: str, record: str) -> str:
    """The keyed link: HMAC-SHA256 over the key id, the previous entry's MAC and the record."""
    message = f"{key_id}\n{prev_hash}\n{record}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def keys_of(session: Session) -> AuditKeys | None:
    """The audit keys the session was made with (`ServiceSchema.session_factory(audit_keys=…)`)."""
    keys = session.info.get(AUDIT_KEYS_INFO_KEY)
    return keys if isinstance(keys, AuditKeys) else None


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    occurred_at: datetime
    hash: str
    key_id: str


_PENDING_INFO_KEY = "doseline.audit.pending"


@dataclass(frozen=True)
class _Pending:
    """An entry recorded in a transaction, chained when the outermost transaction commits."""

    fields: dict[str, Any]
    occurred_at: datetime
    transaction: SessionTransaction


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
) -> None:
    """Add one entry to the caller's transaction: it commits or vanishes with the change.

    The entry is chained when the outermost transaction commits (`_chain_pending`): linking
    needs the service's one-writer-at-a-time lock, and taking it there holds it for the last
    statements of the transaction instead of from here to the commit. An entry recorded in a
    savepoint that is rolled back is dropped with it."""
    if keys_of(session) is None:
        raise RuntimeError(
            "this session carries no audit keys: make it with "
            "ServiceSchema.session_factory(engine, audit_keys=settings.audit_keyring)"
        )
    ServiceSchema.of(session)  # a session of a service, or a clear error now rather than later
    session.connection()  # the transaction the entry belongs to has begun
    transaction = session.get_nested_transaction() or session.get_transaction()
    assert transaction is not None  # begun by session.connection()
    occurred_at = datetime.now(UTC)
    fields: dict[str, Any] = {
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
    pending: list[_Pending] = session.info.setdefault(_PENDING_INFO_KEY, [])
    pending.append(_Pending(fields=fields, occurred_at=occurred_at, transaction=transaction))


def pending_entries(session: Session) -> int:
    """How many entries this session's transaction will chain when it commits."""
    return len(session.info.get(_PENDING_INFO_KEY, ()))


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    """Chain and insert the transaction's entries, in the order they were recorded.

    Runs as the outermost transaction commits (a savepoint's release passes: its entries wait
    for the transaction they belong to)."""
    if session.in_nested_transaction():
        return
    pending: list[_Pending] = session.info.pop(_PENDING_INFO_KEY, [])
    if not pending:
        return
    keys = keys_of(session)
    assert keys is not None  # checked when each entry was recorded
    table = ServiceSchema.of(session).kit.audit_log
    # One writer at a time per service, so every entry links to the one before it.
    schema_name = ServiceSchema.of(session).name
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"{schema_name}.audit_log"))))
    last = session.execute(
        select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
    ).first()
    seq = 0 if last is None else last.seq
    prev_hash = GENESIS_HASH if last is None else last.hash
    rows: list[dict[str, Any]] = []
    for entry in pending:
        seq += 1
        text_record = canonical_json({"seq": seq, **entry.fields})
        digest = chain_mac(keys.keys[keys.current], keys.current, prev_hash, text_record)
        rows.append(
            {
                **entry.fields,
                "seq": seq,
                "occurred_at": entry.occurred_at,
                "record": text_record,
                "prev_hash": prev_hash,
                "hash": digest,
                "algorithm": HMAC_SHA256,
                "key_id": keys.current,
            }
        )
        prev_hash = digest
    # One INSERT of one array per column, however many entries the transaction made; the
    # statement is built once per process.
    session.execute(
        bulk.insert_statement(table, tuple(rows[0])), bulk.array_parameters(table, rows)
    )


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Entries recorded in a transaction or savepoint that rolled back go with it."""
    pending: list[_Pending] | None = session.info.get(_PENDING_INFO_KEY)
    if not pending:
        return
    session.info[_PENDING_INFO_KEY] = [
        entry for entry in pending if not _within(entry.transaction, previous_transaction)
    ]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@dataclass(frozen=True)
class Checkpoint:
    """The chain head at one moment, kept outside the database: a file line, an event, a note."""

    entry: int  # seq of the last entry then (0: the chain was empty)
    mac: str
    count: int
    at: datetime
    origin: str = "a checkpoint"

    def describe(self) -> str:
        return f"{self.origin} of {self.at.astimezone(UTC).isoformat()}"


@dataclass(frozen=True)
class Problem:
    """One difference found: the entry (its seq), its position in the chain, and what differs."""

    entry: int
    position: int
    what: str

    def __str__(self) -> str:
        return f"entry {self.entry} (position {self.position}): {self.what}"


@dataclass
class VerifyReport:
    entries: int = 0
    head_entry: int = 0
    head_hash: str = GENESIS_HASH
    checkpoints_compared: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        """The earliest entry that differs: where tampering started."""
        return min(self.problems, key=lambda p: p.position, default=None)


def _same(one: str, other: str) -> bool:
    # Bytes: a tampered column may hold any text, which compare_digest refuses as str.
    return hmac.compare_digest(one.encode(), other.encode())


_STRUCTURED = ("actor", "action", "entity_type", "entity_id", "before", "after", "reason")


def _link_problems(row: Any, keys: AuditKeys | None, keyed_before: bool) -> list[str]:
    if row.algorithm == SHA256:
        if keyed_before:
            return ["a plain sha256 link after keyed entries (a keyed chain was rewritten)"]
        if chain_hash(row.prev_hash, row.record) != row.hash:
            return ["its record does not match its hash"]
        return []
    if row.algorithm != HMAC_SHA256:
        return [f"chained with an unknown algorithm {row.algorithm!r}"]
    key = None if keys is None or row.key_id is None else keys.keys.get(row.key_id)
    if key is None:
        return [f"chained with key id {row.key_id!r}, which is not configured (AUDIT_KEYS)"]
    if not _same(chain_mac(key, row.key_id, row.prev_hash, row.record), row.hash):
        return ["its record does not match its MAC"]
    return []


def _column_problems(row: Any) -> list[str]:
    try:
        stored = json.loads(row.record)
    except json.JSONDecodeError:
        return ["its record is not valid JSON"]
    if not isinstance(stored, dict):
        return ["its record is not a JSON object"]
    changed = [name for name in _STRUCTURED if stored.get(name) != getattr(row, name)]
    if stored.get("seq") != row.seq:
        changed.append("seq")
    try:
        if datetime.fromisoformat(str(stored.get("occurred_at"))) != row.occurred_at:
            changed.append("occurred_at")
    except ValueError:
        changed.append("occurred_at")
    if changed:
        return [f"column(s) {', '.join(changed)} differ from the signed record"]
    return []


def _checkpoint_problems(row: Any, position: int, checkpoint: Checkpoint) -> list[str]:
    found = []
    if not _same(row.hash, checkpoint.mac):
        found.append(f"its MAC differs from the one in {checkpoint.describe()}")
    if position != checkpoint.count:
        found.append(
            f"{position} entries up to it, {checkpoint.count} in {checkpoint.describe()}: "
            "entries were removed or inserted before it"
        )
    return found


def verify(
    session: Session,
    *,
    expected_head: str | None = None,
    checkpoints: Sequence[Checkpoint] = (),
) -> VerifyReport:
    """Recompute the chain with the session's audit keys and compare it with checkpoints.

    Reports every entry that was changed, inserted, removed or re-chained, and every checkpoint
    the chain no longer agrees with (a removed tail, a chain replaced whole). `expected_head`
    is a head MAC recorded elsewhere, as a checkpoint without an entry number.
    """
    table = ServiceSchema.of(session).kit.audit_log
    keys = keys_of(session)
    report = VerifyReport()
    pending = sorted((c for c in checkpoints if c.entry > 0), key=lambda c: c.entry)
    report.checkpoints_compared = len(pending)
    expected_seq = 1
    prev_hash = GENESIS_HASH
    keyed_before = False
    position = 0
    rows: Iterator[Any] = iter(
        session.execute(select(table).order_by(table.c.seq).execution_options(yield_per=1000))
    )
    for row in rows:
        position += 1
        found: list[str] = []
        if row.seq != expected_seq:
            gap = row.seq - expected_seq
            found.append(
                f"expected entry {expected_seq} here; "
                f"{gap} entr{'y' if gap == 1 else 'ies'} missing"
                if gap > 0
                else f"expected entry {expected_seq} here"
            )
        if row.prev_hash != prev_hash:
            found.append("does not link to the entry before it")
        found += _link_problems(row, keys, keyed_before)
        found += _column_problems(row)
        while pending and pending[0].entry < row.seq:
            missing = pending.pop(0)
            report.problems.append(
                Problem(missing.entry, position, f"missing, though named in {missing.describe()}")
            )
        while pending and pending[0].entry == row.seq:
            found += _checkpoint_problems(row, position, pending.pop(0))
        report.problems += [Problem(row.seq, position, what) for what in found]
        keyed_before = keyed_before or row.algorithm == HMAC_SHA256
        expected_seq = row.seq + 1
        prev_hash = row.hash
        report.head_entry = row.seq
    report.entries = position
    report.head_hash = prev_hash
    for checkpoint in pending:
        report.problems.append(
            Problem(
                entry=checkpoint.entry,
                position=position + 1,
                what=(
                    f"missing: {checkpoint.describe()} names it as the head after "
                    f"{checkpoint.count} entries, the chain ends at entry {report.head_entry}; "
                    "entries were removed from the end"
                ),
            )
        )
    if expected_head is not None and not _same(expected_head, prev_hash):
        report.problems.append(
            Problem(
                entry=report.head_entry,
                position=position,
                what=(
                    "the last entry is not the expected head: entries were removed from the end "
                    "or the chain was rewritten"
                ),
            )
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
    "ALGORITHMS",
    "HMAC_SHA256",
    "SHA256",
    "AuditEntry",
    "AuditKeys",
    "Checkpoint",
    "Problem",
    "VerifyReport",
    "append_only_ddl",
    "canonical_json",
    "chain_hash",
    "chain_mac",
    "drop_append_only_ddl",
    "entity_history",
    "keys_of",
    "record",
    "verify",
]
