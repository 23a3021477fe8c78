"""Fixtures for the escalation tests: acceptance data, and advice through library or CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from escalation import Design, InvalidHistoryError, OutcomeParseError, Variant, recommend
from escalation.cli import main


@st.composite
def a_plus_b_designs(draw: st.DrawFn) -> Design:
    """Every option of `Design`: any A, B and thresholds, start, floor, protocol stops."""
    a = draw(st.integers(1, 5))
    b = draw(st.integers(1, 5))
    c = draw(st.integers(0, a - 1))
    d = draw(st.integers(c, a - 1))
    num_doses = draw(st.integers(1, 5))
    return Design(
        num_doses=num_doses,
        variant=draw(st.sampled_from(Variant)),
        cohort_size=a,
        expansion_size=b,
        max_dlts_to_escalate=c,
        max_dlts_to_expand=d,
        max_dlts_in_expanded=draw(st.integers(d, a + b - 1)),
        start_dose=draw(st.integers(1, num_doses)),
        allow_below_start=draw(st.booleans()),
        stop_when_any_dose_has=draw(st.none() | st.none() | st.integers(1, 12)),
        max_patients=draw(st.none() | st.none() | st.integers(a, 50)),
    )


# `st.from_type(Design)` in any test draws from it.
st.register_type_strategy(Design, a_plus_b_designs())

# Acceptance data kept beside the tests; data/SOURCE.md says where it comes from.
DATA = Path(__file__).resolve().parent / "data"

# (continue, dose): dose is the next dose while continuing, the MTD once stopped (None = no dose).
Advice = tuple[bool, int | None]


@pytest.fixture(scope="session")
def cases_2dose() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "cases-2dose.json").read_text(encoding="utf-8"))
    return data


def cli_arguments(design: Design, outcomes: str, *, strict: bool) -> list[str]:
    """`recommend` arguments for a design, naming only the options that differ from 3+3."""
    argv = ["recommend", "--num-doses", str(design.num_doses), "--variant", design.variant.value]
    defaults = Design(num_doses=design.num_doses, variant=design.variant)
    for name in (
        "cohort_size",
        "expansion_size",
        "max_dlts_to_escalate",
        "max_dlts_to_expand",
        "max_dlts_in_expanded",
        "start_dose",
        "stop_when_any_dose_has",
        "max_patients",
    ):
        value = getattr(design, name)
        if value != getattr(defaults, name):
            argv += [f"--{name.replace('_', '-')}", str(value)]
    if not design.allow_below_start:
        argv.append("--no-below-start")
    argv.append("--strict" if strict else "--lax")
    return [*argv, "--", outcomes]


@pytest.fixture(params=["library", "cli"])
def advise(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Advice]:
    """Ask for a decision through the library or through `python -m escalation recommend`."""

    def through_library(design: Design, outcomes: str, *, strict: bool = True) -> Advice:
        decision = recommend(design, outcomes, strict=strict)
        assert (decision.next_dose is None) != decision.continue_trial
        assert decision.continue_trial or decision.mtd is None or decision.mtd >= 1
        return decision.continue_trial, (
            decision.next_dose if decision.continue_trial else decision.mtd
        )

    def through_cli(design: Design, outcomes: str, *, strict: bool = True) -> Advice:
        status = main(cli_arguments(design, outcomes, strict=strict))
        captured = capsys.readouterr()
        assert status == 0, captured.err
        result = json.loads(captured.out)
        return result["continue"], result["next_dose"] if result["continue"] else result["mtd"]

    return through_library if request.param == "library" else through_cli


@pytest.fixture(params=["library", "cli"])
def reject(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> Callable[..., str]:
    """Assert the history is refused (library: the error; CLI: status 2, message on stderr)."""

    def through_library(design: Design, outcomes: str, *, strict: bool = True) -> str:
        with pytest.raises((InvalidHistoryError, OutcomeParseError)) as refused:
            recommend(design, outcomes, strict=strict)
        return str(refused.value)

    def through_cli(design: Design, outcomes: str, *, strict: bool = True) -> str:
        status = main(cli_arguments(design, outcomes, strict=strict))
        captured = capsys.readouterr()
        assert status == 2
        assert captured.out == ""
        assert captured.err.startswith("error: ")
        return captured.err

    return through_library if request.param == "library" else through_cli
