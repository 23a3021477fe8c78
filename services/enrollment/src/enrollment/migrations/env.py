"""Alembic environment of the enrollment service (history and version table in its schema)."""

from doseline.migrations import run_env
from enrollment import models  # noqa: F401 (registers every table on the metadata)
from enrollment.db import schema

run_env(schema)
