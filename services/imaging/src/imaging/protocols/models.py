"""ORM rows of the protocol versions imaging received (never changed)."""

from __future__ import annotations

from doseline.protocol_versions import ProtocolVersionColumns
from imaging.db import Base


class ProtocolVersionRow(ProtocolVersionColumns, Base):
    """One activation of a protocol version for a trial, as received (never changed)."""

    __tablename__ = "protocol_versions"
