"""Event type patterns mean what an AMQP topic binding means: `*` one word, `#` any number."""

from __future__ import annotations

import pytest

from notifications.event_log.patterns import InvalidPattern, check_pattern, matches


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("safety.dlt.confirmed", "safety.dlt.confirmed", True),
        ("safety.dlt.confirmed", "safety.dlt.ruled_out", False),
        ("safety.dlt.*", "safety.dlt.confirmed", True),
        ("safety.dlt.*", "safety.dlt.suspected", True),
        ("safety.dlt.*", "safety.dlt", False),
        ("safety.*", "safety.dlt.confirmed", False),
        ("safety.#", "safety.dlt.confirmed", True),
        ("safety.#", "safety.sae.overdue", True),
        ("safety.#", "safety", True),
        ("safety.#", "enrollment.subject.enrolled", False),
        ("#", "enrollment.subject.enrolled", True),
        ("*.dlt.*", "safety.dlt.confirmed", True),
        ("#.confirmed", "safety.dlt.confirmed", True),
        ("#.confirmed", "safety.dlt.ruled_out", False),
        ("safety.dlt_window.*", "safety.dlt.confirmed", False),
        ("enrollment.dlt_window.closed", "enrollment.dlt_window.closed", True),
    ],
)
def test_a_pattern_selects_event_types_like_a_topic_binding(
    pattern: str, event_type: str, expected: bool
) -> None:
    assert matches(pattern, event_type) is expected


@pytest.mark.parametrize(
    "pattern",
    ["", "Safety.dlt.*", "safety..dlt", "safety.dlt.", "safety dlt", "safety.d*", "a" * 121],
)
def test_text_that_is_not_a_pattern_is_refused_with_an_explanation(pattern: str) -> None:
    with pytest.raises(InvalidPattern, match="pattern"):
        check_pattern(pattern)
