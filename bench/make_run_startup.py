"""Time from `make run` to every service ready, on a fresh clone, first and second run.

The second run must find the data of the first: a tracer event sent during the first run is
looked up during the second. Ctrl-C must leave no listener behind and kill nothing (the
launcher says "killing it" when a process outlives its stop timeout).

With `--baseline REF` (for example `main`), a clone at REF is measured first, then HEAD, back to
back, so that both meet the same load; the load average is printed beside each figure.
Usage: uv run --frozen python bench/make_run_startup.py [--baseline main]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from doseline.auth import Role, mint_token

ROOT = Path(__file__).resolve().parents[1]
PORTS = (8001, 8002, 8003, 8004)


def _get(url: str, token: str | None = None, data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def _start(clone: Path, log: Path) -> tuple[subprocess.Popen[bytes], float]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "BROKER_URL"}}
    started = time.perf_counter()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    while time.perf_counter() - started < 600:
        if all(_get(f"http://127.0.0.1:{p}/readyz")[0] == 200 for p in PORTS):
            return process, time.perf_counter() - started
        if process.poll() is not None:
            raise RuntimeError("make run exited before it was ready")
        time.sleep(0.2)
    raise RuntimeError("make run was not ready within 600 s")


def _stop(process: subprocess.Popen[bytes]) -> float:
    started = time.perf_counter()
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=60)
    return time.perf_counter() - started


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def _machine() -> str:
    model = "unknown CPU"
    with Path("/proc/cpuinfo").open(encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def _measure(ref: str, admin: str) -> list[str]:
    """Both runs of a fresh clone of this repository at `ref`; the table's rows."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as workdir:
        clone = Path(workdir) / "doseline"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "checkout", "-q", "--detach", commit], cwd=clone, check=True)
        first_load = _load()

        log = Path(workdir) / "make-run.log"
        first, first_ready = _start(clone, log)
        status, body = _get(
            "http://127.0.0.1:8001/v1/diagnostics/tracer",
            admin,
            json.dumps({"note": "bench"}).encode(),
        )
        event_id = json.loads(body)["event_id"] if status == 202 else None
        time.sleep(2)
        first_stop = _stop(first)

        second_load = _load()
        second, second_ready = _start(clone, log)
        kept = _get(f"http://127.0.0.1:8002/v1/diagnostics/tracer/{event_id}", admin)[0] == 200
        second_stop = _stop(second)
        left = [p for p in PORTS if _get(f"http://127.0.0.1:{p}/healthz")[0] != 0]
        said = log.read_text(errors="replace")
        killed = said.count("killing it")
    for line in said.splitlines():
        if line.startswith("[doseline]") and (" ready " in line or "stopped" in line):
            print(f"  {ref}: {line}", flush=True)
    print(
        f"{ref} ({commit}): data kept across runs: {kept}; listeners left after Ctrl-C: "
        f"{left or 'none'}; processes force-killed: {killed}",
        flush=True,
    )
    return [
        f"| {ref} ({commit}) | first (fresh clone: venv, initdb, migrations) | {first_ready:.1f} "
        f"| {first_stop:.1f} | {first_load} |",
        f"| {ref} ({commit}) | second (data kept in .state/) | {second_ready:.1f} "
        f"| {second_stop:.1f} | {second_load} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a git ref measured first, in the same run")
    arguments = parser.parse_args()
    admin = mint_token(subject="bench", roles=[Role.ADMIN])
    print(f"machine: {_machine()}; load average at the start {_load()}", flush=True)
    rows: list[str] = []
    if arguments.baseline:
        rows += _measure(arguments.baseline, admin)
    rows += _measure("HEAD", admin)
    print(
        "| code | run | time to ready (s) | Ctrl-C to exit (s) | load average 1/5/15 min at start |"
    )
    print("|---|---|---:|---:|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
