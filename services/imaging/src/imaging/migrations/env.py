"""Alembic environment of the imaging service (history and version table in its schema)."""

from doseline.migrations import run_env
from imaging import models  # noqa: F401 (registers every table on the metadata)
from imaging.db import schema

run_env(schema)
