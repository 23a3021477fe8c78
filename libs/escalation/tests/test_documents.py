"""Design documents: every design round-trips; anything else is refused with its key."""

from __future__ import annotations

import json

import pytest

from escalation import BOIN, CRM, MTPI2, Design, DoseFindingDesign, I3Plus3, Variant
from escalation.documents import DesignDocumentError, design_from_document

DESIGNS = [
    Design(num_doses=2, variant=Variant.EXPAND_TOP),
    Design(
        num_doses=4,
        variant=Variant.DEESC,
        cohort_size=4,
        expansion_size=2,
        max_dlts_to_escalate=1,
        max_dlts_to_expand=2,
        max_dlts_in_expanded=2,
        start_dose=2,
        allow_below_start=False,
        stop_when_any_dose_has=9,
        max_patients=20,
    ),
    BOIN(num_doses=5, target=0.3, num_cohorts=12),
    BOIN(num_doses=4, target=0.25, num_cohorts=10, extra_safe=True, bound_mtd=True, p_saf=0.1),
    I3Plus3(num_doses=5, target=0.3, num_cohorts=10, extra_safe=True),
    MTPI2(num_doses=5, target=0.2, num_cohorts=10, ei_lower=0.17, ei_upper=0.23),
    CRM(
        num_doses=5,
        target=0.25,
        num_cohorts=12,
        cohort_size=3,
        prior_mtd=3,
        skeleton_halfwidth=0.05,
    ),
    CRM(num_doses=3, target=0.3, num_cohorts=6, skeleton=(0.1, 0.3, 0.5), model="logistic"),
]


@pytest.mark.parametrize("design", DESIGNS, ids=lambda design: design.kind)
def test_every_design_round_trips_through_json(design: DoseFindingDesign) -> None:
    document = json.loads(json.dumps(design.to_document()))
    assert document["design"] == design.kind
    again = design_from_document(document)
    assert again == design
    assert again.describe() == design.describe()


def test_defaults_are_written_out_so_the_document_says_everything() -> None:
    document = BOIN(num_doses=5, target=0.3, num_cohorts=12).to_document()
    assert document["p_saf"] == pytest.approx(0.18)
    assert document["elimination_cutoff"] == 0.95
    assert document["early_stop_patients"] == 100


@pytest.mark.parametrize(
    ("document", "key", "fragment"),
    [
        ([1, 2], "", "must be an object"),
        ({"num_doses": 3}, "design", "is required"),
        ({"design": "3+3"}, "design", "'3+3' is not one of a+b, boin, i3+3, mtpi2, crm"),
        ({"design": "boin", "num_doses": 3, "num_cohorts": 4}, "target", "is required"),
        (
            {"design": "boin", "num_doses": 3, "target": 0.3, "num_cohorts": 4, "colour": 1},
            "colour",
            "is not a parameter of the boin design",
        ),
        (
            {"design": "boin", "num_doses": 3, "target": True, "num_cohorts": 4},
            "target",
            "must be a number",
        ),
        (
            {"design": "boin", "num_doses": "3", "target": 0.3, "num_cohorts": 4},
            "num_doses",
            "whole number",
        ),
        (
            {"design": "boin", "num_doses": 3.0, "target": 0.3, "num_cohorts": 4},
            "num_doses",
            "whole number",
        ),
        (
            {"design": "boin", "num_doses": 3, "target": 0.9, "num_cohorts": 4},
            "target",
            "between 0.05 and 0.6",
        ),
        ({"design": "a+b", "num_doses": 3, "variant": "korn"}, "variant", "'korn' is not one of"),
        (
            {"design": "a+b", "num_doses": 3, "variant": "esc", "allow_below_start": "no"},
            "allow_below_start",
            "true or false",
        ),
        (
            {"design": "a+b", "num_doses": 3, "variant": "esc", "start_dose": 5},
            "start_dose",
            "not a dose level",
        ),
        (
            {
                "design": "crm",
                "num_doses": 3,
                "target": 0.3,
                "num_cohorts": 4,
                "skeleton": [0.1, "x", 0.3],
            },
            "skeleton[1]",
            "must be a number",
        ),
        (
            {
                "design": "crm",
                "num_doses": 3,
                "target": 0.3,
                "num_cohorts": 4,
                "skeleton": [0.1, 0.3],
            },
            "skeleton",
            "2 values for 3",
        ),
        (
            {
                "design": "crm",
                "num_doses": 3,
                "target": 0.3,
                "num_cohorts": 4,
                "skeleton": [0.1, 0.2, 0.3],
                "model": "probit",
            },
            "model",
            "'empiric' or 'logistic'",
        ),
        (
            {"design": "boin", "num_doses": 3, "target": None, "num_cohorts": 4},
            "target",
            "not null",
        ),
    ],
)
def test_invalid_documents_are_refused_naming_the_key(
    document: object, key: str, fragment: str
) -> None:
    with pytest.raises(DesignDocumentError) as refused:
        design_from_document(document)
    assert refused.value.key == key
    assert fragment in str(refused.value)


def test_a_crm_skeleton_and_its_calibration_must_agree() -> None:
    document = {
        "design": "crm",
        "num_doses": 3,
        "target": 0.3,
        "num_cohorts": 4,
        "skeleton": [0.1, 0.3, 0.5],
        "prior_mtd": 2,
        "skeleton_halfwidth": 0.05,
    }
    with pytest.raises(DesignDocumentError, match="is not the one getprior gives"):
        design_from_document(document)
