"""Dose-transition pathways: every decision reachable over the next cohorts."""

from __future__ import annotations

from typing import Any

import pytest

from escalation import Design, InvalidHistoryError, Variant, dose_paths, recommend


def test_every_node_holds_the_decision_for_its_own_history() -> None:
    # R-paths: each dose-path node must equal fitting the model to that node's outcomes.
    design = Design(num_doses=4, variant=Variant.DEESC)
    tree = dose_paths(design, "1NNN 2NNT", cohorts=3)
    nodes = list(tree.walk())
    assert len(nodes) > 20
    for node in nodes:
        assert node.decision == recommend(design, node.outcomes)
    b28 = next(node for node in nodes if node.outcomes == "1NNN 2NNT 2TTT")
    assert (b28.decision.continue_trial, b28.decision.next_dose) == (True, 1)


def test_two_cohorts_ahead_from_the_start() -> None:
    tree = dose_paths(Design(num_doses=3, variant=Variant.ESC), "", cohorts=2)
    assert tree.cohort is None
    assert [child.outcomes for child in tree.children] == ["1NNN", "1TNN", "1TTN", "1TTT"]
    assert [(c.decision.continue_trial, c.decision.next_dose) for c in tree.children] == [
        (True, 2),
        (True, 1),
        (False, None),
        (False, None),
    ]
    assert [child.outcomes for child in tree.children[0].children] == [
        "1NNN 2NNN",
        "1NNN 2TNN",
        "1NNN 2TTN",
        "1NNN 2TTT",
    ]
    assert tree.children[1].children[0].outcomes == "1TNN 1NNN"
    # Stopped trials have no children; the rest have one child per possible DLT count.
    assert len(list(tree.walk())) == 1 + 4 + 4 + 4


def test_incomplete_cohort_is_completed_first() -> None:
    tree = dose_paths(Design(num_doses=3, variant=Variant.ESC), "1NNN 2N", cohorts=1)
    assert [child.outcomes for child in tree.children] == [
        "1NNN 2N 2NN",
        "1NNN 2N 2TN",
        "1NNN 2N 2TT",
    ]
    assert tree.children[1].cohort is not None
    assert tree.children[1].cohort.dlts == 1


def test_no_cohorts_ahead_is_the_current_decision_alone() -> None:
    tree = dose_paths(Design(num_doses=2, variant=Variant.ESC), "1NNN", cohorts=0)
    assert tree.children == ()
    assert tree.decision.next_dose == 2


def test_negative_depth_is_refused() -> None:
    with pytest.raises(ValueError, match="cohorts must be a whole number"):
        dose_paths(Design(num_doses=2, variant=Variant.ESC), "", cohorts=-1)


def test_strict_mode_refuses_pathways_from_an_impossible_history() -> None:
    with pytest.raises(InvalidHistoryError):
        dose_paths(Design(num_doses=2, variant=Variant.ESC), "1NNN 1NNN", cohorts=1)


@pytest.mark.parametrize(
    ("variant", "key"),
    [
        (Variant.ESC, "derived_2doses_ESC"),
        (Variant.DEESC, "derived_2doses_DEESC"),
        (Variant.EXPAND_TOP, "derived_2doses_EXPAND_TOP"),
    ],
)
def test_two_dose_pathways_are_exactly_the_states_of_section_c(
    cases_2dose: dict[str, Any], variant: Variant, key: str
) -> None:
    # With two levels every trial ends within 4 cohorts (at most 12 patients).
    tree = dose_paths(Design(num_doses=2, variant=variant), "", cohorts=4)
    reached = {
        node.outcomes: (
            node.decision.continue_trial,
            node.decision.next_dose if node.decision.continue_trial else node.decision.mtd,
        )
        for node in tree.walk()
    }
    expected = {
        row["outcomes"]: (row["cont"], None if row["rec"] == "none" else int(row["rec"]))
        for row in cases_2dose[key]
    }
    assert reached == expected
    assert all(not node.decision.continue_trial for node in tree.walk() if not node.children)
