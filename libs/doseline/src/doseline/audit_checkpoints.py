"""Checkpoints of an audit trail's head, kept where the database's superuser cannot reach.

A checkpoint is the last entry's number and MAC, the number of entries and the time. Each one is
appended as a JSON line to `<AUDIT_CHECKPOINT_DIR>/<service>.jsonl` (a directory that belongs on
other storage, or is copied off the host) and published as an `audit.checkpoint` event, which
the notifications service keeps in its event log and sends to subscribers. `audit-verify`
compares the chain with them: entries cut from the end, or a chain rewritten from an earlier
entry, no longer agree with a checkpoint written before.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doseline import outbox
from doseline.audit import GENESIS_HASH, Checkpoint
from doseline.contracts.audit import AuditCheckpoint
from doseline.manifest import PeriodicJob, in_one_transaction
from doseline.schema import ServiceSchema
from doseline.settings import ServiceSettings

# The last line of a checkpoint file is far shorter; reading this much from the end finds it.
_TAIL_BYTES = 4096


class CheckpointFileError(ValueError):
    """A checkpoint file (or a line of one) that cannot be read as checkpoints."""


def current_head(session: Session, *, now: datetime) -> AuditCheckpoint:
    """The chain head as the database has it now (committed entries only)."""
    schema = ServiceSchema.of(session)
    table = schema.kit.audit_log
    last = session.execute(
        select(table.c.seq, table.c.hash, table.c.algorithm, table.c.key_id)
        .order_by(table.c.seq.desc())
        .limit(1)
    ).first()
    count = session.scalar(select(func.count()).select_from(table)) or 0
    return AuditCheckpoint(
        service=schema.name,
        entry=0 if last is None else last.seq,
        mac=GENESIS_HASH if last is None else last.hash,
        count=count,
        algorithm="" if last is None else last.algorithm,
        key_id=None if last is None else last.key_id,
        checkpointed_at=now,
    )


def append_line(path: Path, checkpoint: AuditCheckpoint) -> None:
    """Append one JSON line and make it durable before the caller reports it written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(checkpoint.model_dump(mode="json"), sort_keys=True) + "\n"
    # O_APPEND: concurrent writers (the worker's job, an operator's command) never interleave
    # inside a line this short.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, line.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write(
    session: Session, path: Path, *, now: datetime, head: AuditCheckpoint | None = None
) -> AuditCheckpoint:
    """Checkpoint the head: a line in `path` now, an `audit.checkpoint` event with the commit."""
    checkpoint = head or current_head(session, now=now)
    append_line(path, checkpoint)
    outbox.record_event(session, checkpoint, subject=f"audit/{checkpoint.service}")
    return checkpoint


def _last_line(path: Path) -> str | None:
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            size = file.tell()
            file.seek(max(0, size - _TAIL_BYTES))
            lines = file.read().decode("utf-8", errors="replace").strip().splitlines()
    except FileNotFoundError:
        return None
    return lines[-1] if lines else None


def _from_json(data: Any, *, origin: str) -> Checkpoint:
    try:
        event = AuditCheckpoint.model_validate(data)
    except ValueError as error:
        raise CheckpointFileError(f"{origin}: not a checkpoint ({error})") from None
    return Checkpoint(
        entry=event.entry,
        mac=event.mac,
        count=event.count,
        at=event.checkpointed_at,
        origin=origin,
    )


def read(path: Path, *, service: str) -> list[Checkpoint]:
    """Every checkpoint of `service` in a JSON lines file (this service's file, or a list of
    `audit.checkpoint` event data collected elsewhere); other services' lines are skipped."""
    found: list[Checkpoint] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CheckpointFileError(f"{path}: {error.strerror or error}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        origin = f"checkpoint {path.name} line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            raise CheckpointFileError(f"{origin}: not JSON") from None
        if isinstance(data, dict) and data.get("service") not in (None, service):
            continue
        found.append(_from_json(data, origin=origin))
    return found


def parse_argument(text: str, *, at: datetime) -> Checkpoint:
    """`ENTRY:MAC` or `ENTRY:COUNT:MAC` typed on the command line (from a printout, a ticket)."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(part.isdigit() for part in parts[:-1]):
        raise CheckpointFileError(
            f"--checkpoint {text!r}: write ENTRY:MAC or ENTRY:COUNT:MAC, e.g. 42:3f9c…"
        )
    entry = int(parts[0])
    count = int(parts[1]) if len(parts) == 3 else entry
    return _from_json(
        {
            "service": "",
            "entry": entry,
            "mac": parts[-1].lower(),
            "count": count,
            "algorithm": "",
            "key_id": None,
            "checkpointed_at": at.isoformat(),
        },
        origin=f"checkpoint {text.strip()} (command line)",
    )


def checkpoint_job(settings: ServiceSettings) -> PeriodicJob:
    """The worker's periodic checkpoint; a head unchanged since the file's last line is skipped."""
    path = settings.audit_checkpoint_file

    def run(session: Session, now: datetime) -> None:
        head = current_head(session, now=now)
        last = _last_line(path)
        if head.entry == 0:
            return
        if last is not None:
            try:
                previous = json.loads(last)
            except json.JSONDecodeError:
                previous = None
            if (
                isinstance(previous, dict)
                and previous.get("entry") == head.entry
                and previous.get("mac") == head.mac
            ):
                return
        write(session, path, now=now, head=head)

    return PeriodicJob(
        name=f"{settings.service_name}.audit_checkpoint",
        every=timedelta(minutes=settings.audit_checkpoint_minutes),
        run=in_one_transaction(run),
    )
