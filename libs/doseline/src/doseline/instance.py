"""The running `make run` instance, recorded in `.state/instance.json` for the `doseline` commands.

`make run` writes the file when the database and broker are up (status `starting`), again when
every service answers `/readyz` (status `ready`), and removes it when it stops. `doseline status`
reads it, and `doseline <service> <command>` takes the database and broker URLs from it, so an
admin command works against the same database as the services, embedded or configured.

Light on purpose (standard library only): `doseline status` must answer at once.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_DIR_ENV = "DOSELINE_STATE_DIR"
INSTANCE_FILE = "instance.json"
# Under the state directory: each service's audit checkpoints (`<service>.jsonl`).
AUDIT_CHECKPOINTS = "audit-checkpoints"


@dataclass(frozen=True)
class Instance:
    root: str
    pid: int
    status: str  # starting | ready
    database_url: str
    database: str  # embedded | configured
    broker_url: str
    broker: str  # embedded | configured
    services: dict[str, str] = field(default_factory=dict)  # name -> base URL
    env_prefixes: dict[str, str] = field(default_factory=dict)  # name -> ENROLLMENT_ …
    started_at: str = ""
    ready_at: str | None = None

    def is_alive(self) -> bool:
        """True while the launcher that wrote this file is still running."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def service_env(self, service: str) -> dict[str, str]:
        """The variables a service's command reads to reach this instance's database and broker
        (and the audit checkpoints its worker writes)."""
        prefix = self.env_prefixes.get(service, env_prefix(service))
        return {
            f"{prefix}DATABASE_URL": self.database_url,
            f"{prefix}BROKER_URL": self.broker_url,
            f"{prefix}AUDIT_CHECKPOINT_DIR": str(Path(self.root) / ".state" / AUDIT_CHECKPOINTS),
        }


def env_prefix(service: str) -> str:
    """The prefix of a service's environment variables: `ENROLLMENT_` for enrollment."""
    return f"{service.upper()}_"


def state_dir(start: Path | None = None) -> Path:
    """`$DOSELINE_STATE_DIR`, else the nearest `.state/` holding an instance file, walking up from
    `start` (the working directory); else `.state/` in `start`."""
    configured = os.environ.get(STATE_DIR_ENV)
    if configured:
        return Path(configured)
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / ".state" / INSTANCE_FILE).is_file():
            return directory / ".state"
    return here / ".state"


def write(state: Path, instance: Instance) -> None:
    state.mkdir(parents=True, exist_ok=True)
    temporary = state / f".{INSTANCE_FILE}.tmp"
    temporary.write_text(json.dumps(asdict(instance), indent=2) + "\n", encoding="utf-8")
    temporary.chmod(0o600)  # the URLs may carry a password
    temporary.replace(state / INSTANCE_FILE)


def read(state: Path) -> Instance | None:
    path = state / INSTANCE_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return Instance(**raw)


def remove(state: Path) -> None:
    (state / INSTANCE_FILE).unlink(missing_ok=True)
