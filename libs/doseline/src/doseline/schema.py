"""A service's schema: its MetaData plus the kit tables (outbox, inbox, audit, idempotency)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, sessionmaker

from doseline.db import make_session_factory, service_metadata

if TYPE_CHECKING:
    from doseline.audit import AuditKeys

_INFO_KEY = "doseline.schema"
AUDIT_KEYS_INFO_KEY = "doseline.audit_keys"


@dataclass(frozen=True)
class KitTables:
    outbox: Table
    inbox: Table
    audit_log: Table
    idempotency_keys: Table


def _kit_tables(metadata: MetaData) -> KitTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("event_type", String(120), nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        Index(
            "ix_outbox_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
        ),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("consumer", String(120), primary_key=True),
        Column("event_type", String(120), nullable=False),
        Column("source", String(200), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    audit_log = Table(
        "audit_log",
        metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("actor", String(200), nullable=False),
        Column("action", String(80), nullable=False),
        Column("entity_type", String(80), nullable=False),
        Column("entity_id", String(120), nullable=False),
        Column("before", JSONB),
        Column("after", JSONB),
        Column("reason", Text),
        Column("correlation_id", String(64)),
        Column("record", Text, nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False, unique=True),
        # sha256 (entries from before keyed MACs) or hmac-sha256 under the key `key_id`.
        Column("algorithm", String(20), nullable=False),
        Column("key_id", String(64)),
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
    )
    idempotency_keys = Table(
        "idempotency_keys",
        metadata,
        Column("key", String(255), primary_key=True),
        Column("principal", String(200), primary_key=True),
        Column("method", String(10), nullable=False),
        Column("path", String(500), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer),
        Column("response_body", JSONB),
        Column("response_headers", JSONB),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return KitTables(outbox, inbox, audit_log, idempotency_keys)


@dataclass(frozen=True)
class ServiceSchema:
    """Everything a service owns in the database, under one PostgreSQL schema of its own name."""

    name: str
    metadata: MetaData = field(init=False)
    kit: KitTables = field(init=False)

    def __post_init__(self) -> None:
        metadata = service_metadata(self.name)
        object.__setattr__(self, "metadata", metadata)
        object.__setattr__(self, "kit", _kit_tables(metadata))

    @property
    def notify_channel(self) -> str:
        """The LISTEN/NOTIFY channel that wakes this service's outbox relay."""
        return f"{self.name}_outbox"

    def session_factory(
        self, engine: Engine, *, audit_keys: AuditKeys | None = None
    ) -> sessionmaker[Session]:
        """Sessions that know their service, so kit writers find their own tables, and carry
        the audit trail's MAC keys (`settings.audit_keyring`) where they write or verify it."""
        info: dict[str, object] = {_INFO_KEY: self}
        if audit_keys is not None:
            info[AUDIT_KEYS_INFO_KEY] = audit_keys
        return make_session_factory(engine, info=info)

    @staticmethod
    def of(session: Session) -> ServiceSchema:
        schema = session.info.get(_INFO_KEY)
        if not isinstance(schema, ServiceSchema):
            raise RuntimeError("session was not made by ServiceSchema.session_factory")
        return schema
