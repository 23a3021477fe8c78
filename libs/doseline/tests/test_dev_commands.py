"""The `doseline` command a newcomer types: tokens, `status`, a service's admin command against the
running instance; and /docs served without a CDN."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from doseline import instance as instances
from doseline.auth import Role, TokenVerifier
from doseline.manifest import ServiceManifest
from doseline.settings import ServiceSettings
from doseline.tokens import encode_hs256, mint_token

DOSELINE = [sys.executable, "-c", "from doseline.cli import main; main()"]


def _run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DOSELINE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "dr-li", "name": "Dr Li", "roles": ["investigator"], "iat": 1, "exp": 2},
        {"sub": "护士王", "name": "Nurse Wang — ward 3", "roles": [], "sites": ["*"], "n": 1.5},
    ],
)
def test_the_light_signer_writes_what_pyjwt_writes(claims: dict[str, object]) -> None:
    secret = "a-development-secret-of-at-least-32-bytes"
    assert encode_hs256(claims, secret) == jwt.encode(claims, secret, algorithm="HS256")


def test_a_minted_token_passes_the_services_verifier() -> None:
    token = mint_token(subject="dr-chen", name="Dr Chen", roles=[Role.SAFETY_PHYSICIAN])
    principal = TokenVerifier(ServiceSettings()).verify(token)
    assert principal.subject == "dr-chen"
    assert principal.name == "Dr Chen"
    assert principal.roles == frozenset({Role.SAFETY_PHYSICIAN})
    assert principal.auth_time is not None
    assert datetime.now(UTC) - principal.auth_time < timedelta(minutes=1)


def test_token_mint_prints_a_token_without_loading_the_web_stack(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from doseline.cli import main\n"
        "sys.argv = ['doseline', 'token', 'mint', '--role', 'coordinator', '--role', "
        "'investigator', '--subject', 'nurse-wang', '--name', 'Nurse Wang']\n"
        "main()\n"
        "heavy = {'fastapi', 'sqlalchemy', 'typer', 'rich', 'jwt', 'cryptography', 'pydantic'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    token, loaded = result.stdout.splitlines()
    assert loaded == "[]"
    principal = TokenVerifier(ServiceSettings()).verify(token)
    assert principal.roles == frozenset({Role.COORDINATOR, Role.INVESTIGATOR})
    assert principal.audit_name == "Nurse Wang <nurse-wang>"


def test_token_mint_explains_an_unknown_role() -> None:
    result = _run("token", "mint", "--role", "nurse")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "coordinator" in result.stderr
    assert "nurse" in result.stderr


@pytest.fixture
def ready_service() -> Iterator[str]:
    """A process answering /readyz like a service does."""

    class Ready(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 200 if self.path == "/readyz" else 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "ready"}')

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _instance(tmp_path: Path, *, database_url: str, services: dict[str, str]) -> Path:
    state = tmp_path / ".state"
    instances.write(
        state,
        instances.Instance(
            root=str(tmp_path),
            pid=os.getpid(),  # alive for as long as the test runs
            status="ready",
            database_url=database_url,
            database="embedded",
            broker_url="redis://127.0.0.1:6390/0",
            broker="embedded",
            services=services,
            env_prefixes={name: f"{name.upper()}_" for name in services},
            started_at="2026-12-07T08:00:00Z",
        ),
    )
    return state


def test_status_without_a_running_instance_says_to_start_make_run(tmp_path: Path) -> None:
    result = _run("status", cwd=tmp_path, env={"DOSELINE_STATE_DIR": str(tmp_path / ".state")})
    assert result.returncode == 1
    assert "nothing running here" in result.stdout
    assert "make run" in result.stdout


def test_status_prints_urls_and_readiness_of_the_recorded_instance(
    tmp_path: Path, ready_service: str
) -> None:
    _instance(
        tmp_path,
        database_url="postgresql+psycopg://postgres:@/doseline?host=/x/.state/postgres",
        services={"enrollment": ready_service, "safety": "http://127.0.0.1:9"},
    )
    # Found by walking up from a subdirectory, as from anywhere inside the clone.
    inside = tmp_path / "docs"
    inside.mkdir()
    result = _run("status", cwd=inside, env={"DOSELINE_STATE_DIR": ""})
    assert result.returncode == 1  # safety does not answer
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"make run: ready (pid {os.getpid()}")
    assert "postgresql+psycopg://postgres:@/doseline?host=/x/.state/postgres  (embedded)" in (
        result.stdout
    )
    assert "redis://127.0.0.1:6390/0  (embedded)" in result.stdout
    assert re.search(rf"enrollment\s+{re.escape(ready_service)}  ready", result.stdout)
    assert re.search(r"safety\s+http://127.0.0.1:9  not answering", result.stdout)


def test_a_service_command_runs_against_the_recorded_database(
    tmp_path: Path,
    database_url: str,
    services: dict[str, ServiceManifest],
    settings_for: Callable[..., ServiceSettings],
) -> None:
    _instance(tmp_path, database_url=database_url, services={"enrollment": "http://127.0.0.1:9"})
    env = {"DOSELINE_STATE_DIR": str(tmp_path / ".state")}
    for variable in ("ENROLLMENT_DATABASE_URL", "DATABASE_URL"):
        env[variable] = ""
    result = subprocess.run(
        [*DOSELINE, "enrollment", "audit-verify"],
        capture_output=True,
        text=True,
        env={k: v for k, v in {**os.environ, **env}.items() if v},
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        r"enrollment: \d+ audit entries, head entry \d+ \S+, "
        r"\d+ checkpoint\(s\) compared, intact\n",
        result.stdout,
    )


def test_a_service_command_refuses_a_stopped_embedded_instance(tmp_path: Path) -> None:
    state = _instance(tmp_path, database_url="postgresql://nowhere/x", services={})
    raw = json.loads((state / instances.INSTANCE_FILE).read_text())
    raw["pid"] = 2**22 + 12345  # beyond pid_max on Linux: no such process
    (state / instances.INSTANCE_FILE).write_text(json.dumps(raw))
    result = _run("enrollment", "audit-verify", env={"DOSELINE_STATE_DIR": str(state)})
    assert result.returncode == 1
    assert "start `make run` first" in result.stderr


def test_docs_and_their_assets_are_served_by_the_service(
    api: Callable[..., TestClient],
) -> None:
    client = api("enrollment")
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        references = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        assert references, page
        assert not [ref for ref in references if "://" in ref or ref.startswith("//")], page
        for reference in references:
            asset = client.get(reference)
            assert asset.status_code == 200, reference
            assert len(asset.content) > 100, reference
    bundle = client.get("/docs-assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
    assert client.get("/openapi.json").json()["info"]["title"]
