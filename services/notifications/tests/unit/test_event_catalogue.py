"""docs/events.md lists every public event type with its schema and a valid example."""

from __future__ import annotations

from pathlib import Path

import pytest

from doseline.contracts import CONTRACTS
from doseline.events import EventContract
from notifications.catalogue import example_data, public_contracts, render_catalogue

REPOSITORY = Path(__file__).resolve().parents[4]


def test_every_public_contract_is_in_the_catalogue_and_no_private_one() -> None:
    listed = {(c.event_type, c.version) for c in public_contracts()}
    public = {key for key, contract in CONTRACTS.items() if contract.public}
    assert listed == public
    assert ("system.tracer.ping", 1) not in listed


@pytest.mark.parametrize("contract", public_contracts(), ids=lambda c: c.event_type)
def test_each_example_is_valid_for_its_contract(contract: type[EventContract]) -> None:
    contract.model_validate(example_data(contract))


def test_docs_events_md_is_the_generated_catalogue() -> None:
    written = (REPOSITORY / "docs" / "events.md").read_text(encoding="utf-8")
    assert written == render_catalogue(), (
        "docs/events.md is stale: run `uv run python -m notifications events-catalogue "
        "--output docs/events.md`"
    )
