"""The client against the real notifications API, and the README's examples run as written."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doseline.auth import Role, mint_token
from doseline.contracts.safety import SaeReported
from doseline_client import DoselineApiError, NotificationsClient
from notifications.event_log import service as event_log

README = Path(__file__).resolve().parents[1] / "README.md"
LOOPBACK = {"allowed_target_networks": ["127.0.0.0/8"]}


def _examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


@pytest.fixture
def client(api: Callable[..., TestClient]) -> NotificationsClient:
    http = api("notifications", **LOOPBACK)
    return NotificationsClient(http=http, token=mint_token(subject="admin", roles=[Role.ADMIN]))


def _log(sessions: Callable[[str], sessionmaker[Session]], count: int, kind: str) -> list[str]:
    ids = []
    with sessions("notifications")() as session, session.begin():
        for n in range(count):
            envelope = SaeReported(
                trial_id="HDMSC-RP-01",
                subject_id=f"HDMSC-RP-01-00{n % 9 + 1}",
                site_id="WCH",
                ae_id=f"ae-{n}",
                criteria=["hospitalisation"],
                aware_at="2026-03-02T09:30:00Z",
                due_at="2026-03-03T09:30:00Z",
            ).envelope(source="urn:doseline:safety", subject=None, correlation_id="c")
            if kind != "safety.sae.reported":
                envelope = envelope.model_copy(update={"type": kind})
            event_log.append(session, envelope)
            ids.append(envelope.id)
    return ids


def test_the_webhook_example_verifies_a_signed_delivery() -> None:
    namespace: dict[str, Any] = {}
    exec(_examples()[0], namespace)
    assert namespace["status"] == 204
    assert namespace["seen"] == {"01970a3c-5d2e-7f00-8a1b-2c3d4e5f6071"}


def test_the_feed_example_resumes_from_its_stored_cursor(
    client: NotificationsClient,
    sessions: Callable[[str], sessionmaker[Session]],
    tmp_path: Path,
) -> None:
    namespace: dict[str, Any] = {}
    exec(_examples()[1], namespace)
    follow = namespace["follow_dlts"]
    first = _log(sessions, 3, "safety.dlt.confirmed")
    _log(sessions, 2, "safety.sae.reported")
    cursor = tmp_path / "cursor"
    assert follow(client, cursor) == first
    second = _log(sessions, 150, "safety.dlt.suspected")
    assert follow(client, cursor) == second
    assert follow(client, cursor) == []


def test_the_subscription_example_and_the_management_calls(client: NotificationsClient) -> None:
    namespace: dict[str, Any] = {}
    exec(_examples()[2], namespace)
    secret = namespace["subscribe_pharmacy"](client, "http://127.0.0.1:9/hook")
    assert secret.startswith("whsec_")
    [subscription] = client.subscriptions()
    assert subscription.active
    assert subscription.version == 3
    assert client.rotate_secret(subscription.id, overlap_hours=1) != secret
    assert client.deliveries(subscription.id) == []
    client.delete_subscription(subscription)
    assert client.subscriptions() == []


def test_api_errors_carry_the_problem(client: NotificationsClient) -> None:
    with pytest.raises(DoselineApiError) as refused:
        client.create_subscription("http://10.0.0.1/hook", ["safety.dlt.*"])
    assert refused.value.status == 422
    assert refused.value.type == "/problems/webhook-target-refused"
    with pytest.raises(DoselineApiError) as missing:
        client.subscription(str(uuid.uuid4()))
    assert missing.value.status == 404
