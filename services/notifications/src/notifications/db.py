"""The notifications service's database schema and declarative base."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from doseline.schema import ServiceSchema

schema = ServiceSchema("notifications")


class Base(DeclarativeBase):
    metadata = schema.metadata
