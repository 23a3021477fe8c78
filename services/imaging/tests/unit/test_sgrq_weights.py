"""The SGRQ / SGRQ-C weight tables in the code equal the published tables (tests/data/reference)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from doseline.testing.plugin import reference_file
from imaging.sgrq.weights import (
    ITEMS,
    MAX_MISSING_ITEMS,
    Component,
    Instrument,
    ItemWeights,
)


def _published_tables() -> dict[str, Any]:
    path = reference_file("outcomes/sgrq_weights.json")
    tables: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return tables


def _as_json(item: ItemWeights) -> dict[str, Any]:
    return {
        "component": item.component.value,
        "weights": {str(response): weight for response, weight in item.weights.items()},
    }


@pytest.mark.parametrize("instrument", list(Instrument))
def test_item_weights_equal_the_published_table(instrument: Instrument) -> None:
    published = _published_tables()[instrument.value]
    ours = {item.item: _as_json(item) for item in ITEMS[instrument]}
    assert ours == published


@pytest.mark.parametrize("instrument", list(Instrument))
def test_missing_item_limits_equal_the_published_table(instrument: Instrument) -> None:
    published = _published_tables()["max_missing"][instrument.value]
    ours = {component.value: limit for component, limit in MAX_MISSING_ITEMS[instrument].items()}
    assert ours == published


@pytest.mark.parametrize(
    ("instrument", "component", "item_count", "maximum"),
    [
        (Instrument.SGRQ, Component.SYMPTOMS, 8, 662.5),
        (Instrument.SGRQ, Component.ACTIVITY, 16, 1209.1),
        (Instrument.SGRQ, Component.IMPACTS, 26, 2117.8),
        (Instrument.SGRQ_C, Component.SYMPTOMS, 7, 566.2),
        (Instrument.SGRQ_C, Component.ACTIVITY, 13, 982.9),
        (Instrument.SGRQ_C, Component.IMPACTS, 20, 1652.8),
    ],
)
def test_component_maxima_match_the_manual(
    instrument: Instrument, component: Component, item_count: int, maximum: float
) -> None:
    items = [item for item in ITEMS[instrument] if item.component is component]
    assert len(items) == item_count
    assert sum(item.maximum_weight for item in items) == pytest.approx(maximum, abs=1e-9)


@pytest.mark.parametrize(
    ("instrument", "item_count", "maximum"),
    [(Instrument.SGRQ, 50, 3989.4), (Instrument.SGRQ_C, 40, 3201.9)],
)
def test_total_maximum_matches_the_manual(
    instrument: Instrument, item_count: int, maximum: float
) -> None:
    assert len(ITEMS[instrument]) == item_count
    assert sum(item.maximum_weight for item in ITEMS[instrument]) == pytest.approx(
        maximum, abs=1e-9
    )
