"""Deliveries are signed so that Standard Webhooks verifies them; internal targets are refused."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import ip_network
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifications.deliveries.signing import webhook_headers
from notifications.event_log.cloudevent import body_bytes, cloudevent, sequence_of
from notifications.subscriptions.secrets import new_secret
from notifications.subscriptions.targets import Resolver, TargetRefused, check_target

ENVELOPE: dict[str, Any] = {
    "specversion": "1.0",
    "id": "01970a3c-5d2e-7f00-8a1b-2c3d4e5f6071",
    "source": "urn:doseline:safety",
    "type": "safety.dlt.confirmed",
    "time": "2026-03-02T09:30:00Z",
    "subject": "subjects/HDMSC-RP-01-004",
    "datacontenttype": "application/json",
    "dataschema": "urn:doseline:event:safety.dlt.confirmed:v1",
    "correlationid": "abc123",
    "data": {"trial_id": "HDMSC-RP-01", "subject_id": "HDMSC-RP-01-004", "grade": 3},
}


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert first != second
    import base64

    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_the_signed_body_verifies_with_the_subscription_secret() -> None:
    secret = new_secret()
    body = body_bytes(cloudevent(ENVELOPE, position=7))
    headers = webhook_headers(
        message_id=ENVELOPE["id"], timestamp=datetime.now(UTC), body=body, secrets=[secret]
    )
    assert headers["webhook-id"] == ENVELOPE["id"]
    assert headers["content-type"] == "application/cloudevents+json"
    event = Webhook(secret).verify(body, headers)
    assert event["type"] == "safety.dlt.confirmed"
    assert event["sequence"] == sequence_of(7)
    assert event["specversion"] == "1.0"


def test_during_a_rotation_both_the_old_and_the_new_secret_verify() -> None:
    old, new = new_secret(), new_secret()
    body = body_bytes(cloudevent(ENVELOPE, position=1))
    headers = webhook_headers(
        message_id="m-1", timestamp=datetime.now(UTC), body=body, secrets=[new, old]
    )
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_a_changed_byte_breaks_the_signature() -> None:
    secret = new_secret()
    body = body_bytes(cloudevent(ENVELOPE, position=1))
    headers = webhook_headers(
        message_id="m-1", timestamp=datetime.now(UTC), body=body, secrets=[secret]
    )
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b'"grade":3', b'"grade":2'), headers)


def test_sequence_orders_as_text_like_the_log() -> None:
    assert sorted([sequence_of(10), sequence_of(9), sequence_of(100)]) == [
        sequence_of(9),
        sequence_of(10),
        sequence_of(100),
    ]


def _resolving_to(*addresses: str) -> Resolver:
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.10",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
    ],
)
def test_internal_addresses_are_refused(address: str) -> None:
    with pytest.raises(TargetRefused, match="allow-listed"):
        check_target("https://hooks.example/dlt", allowed=[], resolve=_resolving_to(address))


def test_a_host_with_one_internal_address_among_public_ones_is_refused() -> None:
    with pytest.raises(TargetRefused):
        check_target(
            "https://hooks.example/dlt",
            allowed=[],
            resolve=_resolving_to("93.184.216.34", "10.0.0.7"),
        )


def test_a_public_https_endpoint_is_accepted() -> None:
    target = check_target(
        "https://hooks.example:8443/dlt", allowed=[], resolve=_resolving_to("93.184.216.34")
    )
    assert (target.host, target.port) == ("hooks.example", 8443)


def test_an_allow_listed_loopback_endpoint_is_accepted_even_over_http() -> None:
    check_target(
        "http://127.0.0.1:9000/hook",
        allowed=[ip_network("127.0.0.0/8")],
        resolve=_resolving_to("127.0.0.1"),
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example/dlt", "https"),
        ("ftp://hooks.example/dlt", "https"),
        ("https://user:pw@hooks.example/dlt", "credentials"),
        ("https:///dlt", "no host"),
        ("https://hooks.example:99999/dlt", "port"),
    ],
)
def test_unusable_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused, match=reason):
        check_target(url, allowed=[], resolve=_resolving_to("93.184.216.34"))


def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(TargetRefused, match="does not resolve"):
        check_target("https://no-such-host.invalid/dlt", allowed=[])


def test_secrets_are_sealed_at_rest_and_open_only_with_the_same_key() -> None:
    from notifications.subscriptions.secrets import SecretBox

    secret = new_secret()
    sealed = SecretBox("key-one").seal(secret)
    assert secret not in sealed
    assert len(sealed) <= 400
    assert SecretBox("key-one").open(sealed) == secret
    with pytest.raises(ValueError, match="NOTIFICATIONS_SECRET_KEY"):
        SecretBox("key-two").open(sealed)


def test_the_cncf_cloudevents_sdk_reads_the_body_as_a_structured_cloudevent() -> None:
    from cloudevents.core.bindings.http import HTTPMessage, from_http
    from cloudevents.core.formats.json import JSONFormat

    body = body_bytes(cloudevent(ENVELOPE, position=5))
    event = from_http(
        HTTPMessage(headers={"content-type": "application/cloudevents+json"}, body=body),
        JSONFormat(),
    )
    assert event.get_id() == ENVELOPE["id"]
    assert event.get_source() == "urn:doseline:safety"
    assert event.get_type() == "safety.dlt.confirmed"
    assert event.get_subject() == "subjects/HDMSC-RP-01-004"
    assert event.get_extension("sequence") == sequence_of(5)
    assert event.get_extension("correlationid") == "abc123"
    assert event.get_data() == ENVELOPE["data"]
