"""Safety's values as SDTM values: seriousness flags, CT terms, units, lab tests, DLT flags."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import get_args

import pytest

from doseline.sdtm import Dataset, Domain
from doseline.sdtm.controlled_terminology import codelist
from safety.adjudication.models import DltAssessmentRow
from safety.adverse_events.models import AdverseEventRow, AdverseEventVersionRow
from safety.adverse_events.schemas import ActionTaken, Attribution, Outcome, SeriousnessCriterion
from safety.ehr.loinc import lab_codes
from safety.sdtm import mapping, service
from safety.sdtm.domains import AE, LB, SUPPAE

DAY_1 = date(2026, 3, 2)


def test_a_non_serious_event_has_aeser_n_and_no_criterion_flags() -> None:
    flags = mapping.seriousness([])
    assert flags.pop("AESER") == "N"
    assert set(flags.values()) == {None}


def test_a_serious_event_flags_each_criterion_y_and_the_others_n() -> None:
    flags = mapping.seriousness(["death", "hospitalisation"])
    assert flags == {
        "AESER": "Y",
        "AESCONG": "N",
        "AESDISAB": "N",
        "AESDTH": "Y",
        "AESHOSP": "Y",
        "AESLIFE": "N",
        "AESMIE": "N",
    }


def test_every_ich_criterion_safety_records_has_its_flag() -> None:
    assert set(mapping.SERIOUSNESS_FLAGS) == set(get_args(SeriousnessCriterion))
    with pytest.raises(ValueError, match="unknown seriousness"):
        mapping.seriousness(["hangover"])


@pytest.mark.parametrize("action", get_args(ActionTaken))
def test_every_action_taken_is_a_ct_submission_value(action: str) -> None:
    value = mapping.action_taken(action)
    assert value in codelist("C66767").values
    assert value == action.replace("_", " ").upper()


@pytest.mark.parametrize("outcome", get_args(Outcome))
def test_every_outcome_is_a_ct_submission_value(outcome: str) -> None:
    assert mapping.outcome(outcome) in codelist("C66768").values


def test_outcomes_keep_the_ct_slash_spelling() -> None:
    assert mapping.outcome("recovered_resolved_with_sequelae") == (
        "RECOVERED/RESOLVED WITH SEQUELAE"
    )


@pytest.mark.parametrize("attribution", get_args(Attribution))
def test_every_attribution_has_a_causality_value(attribution: str) -> None:
    assert mapping.causality(attribution).endswith("RELATED")


@pytest.mark.parametrize(
    ("ucum", "ct"),
    [
        ("10*3/uL", "10^9/L"),
        ("10*9/L", "10^9/L"),
        ("ng/mL", "ug/L"),
        ("mm[Hg]", "mmHg"),
        ("Cel", "C"),
        ("s", "s"),
        ("sec", "s"),
        ("{INR}", None),
        ("mg/dL", "mg/dL"),
        ("K/uL", "10^9/L"),
        ("\u00b5mol/L", "umol/L"),
        ("mmHg", "mmHg"),
        ("/uL", "10^6/L"),
        ("mEq/L", "mEq/L"),
        ("IU/L", "U/L"),
    ],
)
def test_ucum_units_become_ct_units(ucum: str, ct: str | None) -> None:
    assert mapping.unit(ucum) == ct


def test_a_unit_ct_does_not_list_is_kept_as_sent_since_unit_is_extensible() -> None:
    assert codelist("C71620").extensible
    assert mapping.unit("mL/min/{1.73_m2}") == "mL/min/{1.73_m2}"
    assert mapping.unit("mg/24.x") == "mg/24.x"


def test_every_graded_blood_analyte_has_a_ct_lab_test_paired_with_its_name() -> None:
    not_lab = {"body_temperature", "fev1_percent_predicted", "dlco"}
    for code in lab_codes():
        test = mapping.lab_test(code.analyte)
        if code.analyte in not_lab:
            assert test is None
            continue
        assert test is not None, code.analyte
        test_code, test_name = test
        assert test_code in codelist("C65047").values
        assert test_name in codelist("C67154").values
    assert mapping.lab_test("neutrophils") == ("NEUT", "Neutrophils")
    assert mapping.lab_test("po2_arterial") == ("PO2", "Partial Pressure Oxygen")


@pytest.mark.parametrize(
    ("decision", "suspected", "status", "flag"),
    [
        ("confirm", True, "confirmed", ("Y", "Assigned")),
        ("rule_out", True, "ruled_out", ("N", "Assigned")),
        (None, True, "suspected", ("U", "Derived")),
        (None, False, "not_suspected", ("N", "Derived")),
        (None, None, "not_assessed", ("U", "Derived")),
    ],
)
def test_the_dlt_flag_is_the_signed_decision_else_the_rules_verdict(
    decision: str | None, suspected: bool | None, status: str, flag: tuple[str, str]
) -> None:
    assessment = (
        None
        if suspected is None
        else DltAssessmentRow(is_suspected_dlt=suspected, ae_version=1, matched_rules=[])
    )
    assert service.dlt_status(assessment, decision) == status
    assert mapping.dlt_flag(service.dlt_status(assessment, decision)) == flag


def _event(**version: object) -> tuple[AdverseEventRow, AdverseEventVersionRow]:
    event = AdverseEventRow(
        id=uuid.UUID(int=7),
        trial_id="HDMSC-RP-01",
        subject_id="HDMSC-RP-01-001",
        created_at=datetime(2026, 3, 20, tzinfo=UTC),
    )
    content: dict[str, object] = {
        "number": 1,
        "ctcae_version": "5.0",
        "term_code": "10035742",
        "term_name": "Pneumonitis",
        "specification": None,
        "onset_date": DAY_1,
        "resolution_date": None,
        "grade": 2,
        "seriousness": [],
        "attribution": "probable",
        "expected": None,
        "action_taken": "drug_interrupted",
        "outcome": "recovering_resolving",
        "proposed_grade": None,
    }
    content.update(version)
    return event, AdverseEventVersionRow(**content)


@pytest.mark.parametrize(
    ("onset", "study_day"),
    [(DAY_1, 1), (date(2026, 3, 1), -1), (date(2026, 3, 3), 2), (date(2026, 2, 20), -10)],
)
def test_aestdy_follows_the_cdisc_rule_with_no_day_0(onset: date, study_day: int) -> None:
    event, version = _event(onset_date=onset)
    record = service.ae_record(event, version, None, 1, DAY_1)
    assert record["AESTDY"] == study_day
    assert record["AESTDTC"] == onset.isoformat()


def test_an_unresolved_event_has_no_end_and_a_subject_never_dosed_has_no_study_days() -> None:
    event, version = _event(resolution_date=date(2026, 3, 9))
    assert service.ae_record(event, version, None, 1, DAY_1)["AEENDY"] == 8
    event, version = _event()
    record = service.ae_record(event, version, None, 1, None)
    assert (record["AEENDTC"], record["AEENDY"], record["AESTDY"]) == (None, None, None)


def test_an_other_specify_term_is_named_in_aeterm_and_kept_in_aedecod() -> None:
    event, version = _event(
        term_name="Respiratory, thoracic and mediastinal disorders - Other, specify",
        term_code="10038738",
        specification="Bronchial cast",
    )
    record = service.ae_record(event, version, None, 1, DAY_1)
    assert record["AETERM"].endswith(" - Bronchial cast")
    assert record["AEDECOD"] == version.term_name
    assert record["AELLTCD"] == 10038738


def test_the_grade_is_aetoxgr_and_the_record_fits_the_ae_domain() -> None:
    event, version = _event(grade=3, seriousness=["important_medical_event"])
    record = service.ae_record(event, version, None, 4, DAY_1)
    assert (record["AETOXGR"], record["AESEQ"], record["AESMIE"]) == ("3", 4, "Y")
    assert (record["AEREL"], record["AEACN"]) == ("PROBABLY RELATED", "DRUG INTERRUPTED")
    Dataset(AE, (record,))


def test_suppae_records_point_at_their_ae_by_aeseq() -> None:
    event, version = _event(expected=True, proposed_grade=3)
    records = service.suppae_records(event, version, 5, "confirmed")
    Dataset(SUPPAE, tuple(records))
    assert {(r["IDVAR"], r["IDVARVAL"], r["RDOMAIN"]) for r in records} == {("AESEQ", "5", "AE")}
    assert {r["QNAM"]: r["QVAL"] for r in records} == {
        "AEDLT": "Y",
        "AECTCV": "5.0",
        "AEEXPCT": "Y",
        "AEPRGR": "3",
    }
    assert all(len(r["QLABEL"]) <= 40 for r in records)


@pytest.mark.parametrize("domain", [AE, SUPPAE, LB], ids=lambda d: d.name)
def test_every_codelist_a_variable_names_is_committed(domain: Domain) -> None:
    for variable in domain.variables:
        if variable.codelist is not None:
            assert codelist(variable.codelist).code == variable.codelist


def test_a_reported_term_over_200_characters_continues_in_suppae_aeterm1() -> None:
    specification = "x" * 250
    event, version = _event(
        term_name="Respiratory, thoracic and mediastinal disorders - Other, specify",
        term_code="10038738",
        specification=specification,
    )
    whole = f"{version.term_name} - {specification}"
    record = service.ae_record(event, version, None, 2, DAY_1)
    extra = [
        r
        for r in service.suppae_records(event, version, 2, "not_suspected")
        if r["QNAM"].startswith("AETERM")
    ]
    assert record["AETERM"] == whole[:200]
    assert len(whole) == 317
    assert [(r["QNAM"], r["QVAL"], r["IDVARVAL"]) for r in extra] == [("AETERM1", whole[200:], "2")]
    assert all(len(r["QLABEL"]) <= 40 for r in extra)
    Dataset(AE, (record,))
