"""Alembic environment of the safety service (history and version table in its schema)."""

from doseline.migrations import run_env
from safety import models  # noqa: F401 (registers every table on the metadata)
from safety.db import schema

run_env(schema)
