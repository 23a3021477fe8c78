"""Alembic environment of the notifications service (history and version table in its schema)."""

from doseline.migrations import run_env
from notifications import models  # noqa: F401 (registers every table on the metadata)
from notifications.db import schema

run_env(schema)
