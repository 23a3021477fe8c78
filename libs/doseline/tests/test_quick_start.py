"""`make run` starts quickly: a service's start imports no heavy library it needs only later, the
launcher reads services' ports without importing them, and a forked service never returns into
the launcher's code."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pytest

from doseline.manifest import ServiceManifest

SERVICES = ("enrollment", "safety", "imaging", "notifications")
# Libraries that take seconds to import and serve one use each (a plot, a CT measurement, a PFT
# comparison, an S3 upload, a CTCAE workbook import), or belong to the tests only.
HEAVY = (
    "pyspiro",
    "pandas",
    "numpy",
    "matplotlib",
    "highdicom",
    "pydicom",
    "nibabel",
    "boto3",
    "botocore",
    "openpyxl",
    "schemathesis",
    "hypothesis",
    "alembic",
    "pyreadstat",
    "odmlib",
    "xmlschema",
    "jsonschema",
)


def _fresh(code: str) -> dict[str, object]:
    """Run `code` in a new interpreter; it prints one JSON object as its last line."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return answer


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_starts_without_its_heavy_libraries(service: str) -> None:
    """What `make run` and `python -m <service> api|worker|relay|all-in-one` import up to serving:
    the service's CLI (manifest, application, runtime kit) and its application built."""
    loaded = _fresh(
        f"""
        import json, sys
        from {service}.__main__ import app
        from {service}.manifest import SERVICE
        SERVICE.create_app(SERVICE.settings_class())
        heavy = {HEAVY!r}
        print(json.dumps({{"heavy": sorted(m for m in sys.modules if m.split(".")[0] in heavy),
                           "app": "{service}.app" in sys.modules}}))
        """
    )
    assert loaded["app"] is True
    assert loaded["heavy"] == []


def test_the_launcher_reads_the_ports_without_importing_any_service_application(
    services: dict[str, ServiceManifest],
) -> None:
    found = _fresh(
        f"""
        import json, sys
        from doseline.launcher import installed_services
        ports = {{name: s.port for name, s in installed_services().items()}}
        names = {SERVICES!r}
        imported = sorted(m for m in sys.modules if m.split(".")[0] in names and "." in m)
        print(json.dumps({{"ports": ports, "imported": imported,
                           "web": "fastapi" in sys.modules or "sqlalchemy" in sys.modules}}))
        """
    )
    assert found["imported"] == []
    assert found["web"] is False
    ports = found["ports"]
    assert ports == {name: manifest.port for name, manifest in services.items()}
    assert isinstance(ports, dict)
    assert list(ports) == list(services)  # in port order


def test_a_forked_service_that_fails_to_start_exits_without_running_the_launchers_code() -> None:
    """The child never returns from `spawn`: returning would run the launcher's own exit (and
    stop PostgreSQL under the other services)."""
    outcome = _fresh(
        """
        import json, os
        from pathlib import Path
        from doseline.launcher import Launcher, LaunchedService
        launcher = Launcher(root=Path.cwd())
        launcher.spawn(LaunchedService(name="no-such-service", port=1), dict(os.environ))
        label, child = launcher.children[0]
        code = child.wait(timeout=120)
        print(json.dumps({"label": label, "code": code}))
        """
    )
    assert outcome["label"] == "no-such-service"
    assert outcome["code"] == 1


def test_a_forked_service_stops_on_sigterm_while_it_starts() -> None:
    """Until the service installs its own handlers, SIGTERM ends it: the launcher's handler,
    inherited by the fork, would only set a flag nobody reads in the child."""
    outcome = _fresh(
        """
        import json, os, signal, time
        from pathlib import Path
        from doseline.launcher import Launcher, LaunchedService

        signal.signal(signal.SIGTERM, lambda signum, frame: None)  # as the launcher's own
        launcher = Launcher(root=Path.cwd())
        nowhere = "postgresql://doseline@127.0.0.1:9/doseline"  # the discard port: refused
        env = {**os.environ, "NOTIFICATIONS_DATABASE_URL": nowhere}
        launcher.spawn(LaunchedService(name="notifications", port=1), env)
        label, child = launcher.children[0]
        time.sleep(0.3)
        running = child.poll() is None
        child.terminate()
        code = child.wait(timeout=120)
        print(json.dumps({"running": running, "code": code}))
        """
    )
    assert outcome["running"] is True
    assert outcome["code"] == -signal.SIGTERM
