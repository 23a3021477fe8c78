"""Time from `make run` to every service ready, on a fresh clone, first and second run.

The second run must find the data of the first: a tracer event sent during the first run is
looked up during the second. Ctrl-C must leave no listener behind and kill nothing (the
launcher says "killing it" when a process outlives its stop timeout).
Usage: uv run --frozen python bench/make_run_startup.py
"""

from __future__ import annotations

import json
import os
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


def main() -> None:
    admin = mint_token(subject="bench", roles=[Role.ADMIN])
    with tempfile.TemporaryDirectory() as workdir:
        clone = Path(workdir) / "doseline"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)

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

        second, second_ready = _start(clone, log)
        kept = _get(f"http://127.0.0.1:8002/v1/diagnostics/tracer/{event_id}", admin)[0] == 200
        second_stop = _stop(second)
        left = [p for p in PORTS if _get(f"http://127.0.0.1:{p}/healthz")[0] != 0]
        killed = log.read_text(errors="replace").count("killing it")

    print("| run | time to ready (s) | Ctrl-C to exit (s) |")
    print("|---|---|---|")
    print(
        f"| first (fresh clone: venv, initdb, migrations) | {first_ready:.1f} | {first_stop:.1f} |"
    )
    print(f"| second (data kept in .state/) | {second_ready:.1f} | {second_stop:.1f} |")
    print(
        f"data kept across runs: {kept}; listeners left after Ctrl-C: {left or 'none'}; "
        f"processes force-killed: {killed}"
    )


if __name__ == "__main__":
    main()
