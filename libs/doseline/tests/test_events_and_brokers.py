"""Envelopes, contracts, routing and the broker factory."""

from __future__ import annotations

import uuid

import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from pydantic import ValidationError

from doseline.broker import make_broker
from doseline.contracts import CONTRACTS, contract_for
from doseline.contracts.safety import DltConfirmed
from doseline.contracts.system import TracerPing
from doseline.events import Envelope, new_event_id
from doseline.routing import ROUTES


def test_event_ids_are_uuid_version_7_and_sort_by_time() -> None:
    ids = [new_event_id() for _ in range(50)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert len(set(ids)) == 50
    prefixes = [i[:13] for i in ids]  # the 48-bit millisecond timestamp
    assert prefixes == sorted(prefixes)


def test_an_envelope_rejects_a_naive_time_and_an_unknown_attribute() -> None:
    good = TracerPing(emitted_by="x").envelope(source="urn:a", subject=None, correlation_id="c")
    data = good.model_dump(mode="json")
    with pytest.raises(ValidationError):
        Envelope.model_validate({**data, "time": "2026-11-29T10:00:00"})
    with pytest.raises(ValidationError):
        Envelope.model_validate({**data, "colour": "red"})


def test_a_contract_reads_only_its_own_type_and_version() -> None:
    envelope = TracerPing(emitted_by="x").envelope(source="urn:a", subject=None, correlation_id="c")
    assert contract_for(envelope) is TracerPing
    with pytest.raises(ValueError, match=r"safety\.dlt\.confirmed"):
        DltConfirmed.from_envelope(envelope)


def test_every_routed_event_type_has_a_contract() -> None:
    known = {event_type for event_type, _version in CONTRACTS}
    assert set(ROUTES) <= known


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/%2F", RabbitmqBroker),
        ("redis://127.0.0.1:6379/0", RedisBroker),
        ("stub://", StubBroker),
    ],
)
def test_the_broker_url_chooses_the_broker(url: str, kind: type) -> None:
    broker = make_broker(url)
    assert isinstance(broker, kind)
    if isinstance(broker, RabbitmqBroker):
        assert broker.confirm_delivery  # publisher confirms: a publish is durable when it returns


def test_an_unknown_broker_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="kafka"):
        make_broker("kafka://localhost")
