"""The standard identifier and timing variables: one definition of each, every domain its own
sources."""

from doseline.sdtm import Domain
from doseline.sdtm.standard import (
    collected,
    identifiers,
    measurement_name,
    original_result,
    original_unit,
    planned_visit_day,
    standard_results,
    study_day_variable,
    subject_id,
    timing,
    visit_name,
    visit_number,
)


def test_identifiers_open_a_domain_in_the_sdtmig_order_with_the_sources_given() -> None:
    variables = identifiers(
        "LB",
        study="lab.trial_id",
        subject="lab.subject_id",
        sequence="derived: order of LBDTC",
        sponsor_id="lab.observation_id",
        sponsor_id_length=64,
    )
    assert [v.name for v in variables] == ["STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBSPID"]
    assert [v.source for v in variables] == [
        "lab.trial_id",
        "derived: LB",
        "lab.subject_id",
        "derived: order of LBDTC",
        "lab.observation_id",
    ]
    assert [v.length for v in variables] == [40, 2, 80, None, 64]
    assert {v.role for v in variables} == {"Identifier"}
    assert [v.core for v in variables] == ["Req", "Req", "Req", "Req", "Perm"]
    assert variables[3].data_type == "integer"


def test_a_trial_design_domain_takes_study_and_domain_only_and_an_assigned_rule() -> None:
    variables = identifiers("TS", study="assigned: the trial code", rule="assigned")
    assert [(v.name, v.source) for v in variables] == [
        ("STUDYID", "assigned: the trial code"),
        ("DOMAIN", "assigned: TS"),
    ]
    assert subject_id("dm.id", length=60).length == 60


def test_timing_places_a_record_by_its_date_and_study_day() -> None:
    dtc, dy = timing(
        "RE",
        source="assessments.performed_on",
        reference="subjects.first_infusion_on (RFSTDTC)",
        dtc_label="Date/Time of Collection",
        dy_label="Study Day of Visit/Collection/Exam",
    )
    assert (dtc.name, dtc.data_type, dtc.role, dtc.core) == ("REDTC", "date", "Timing", "Exp")
    assert (dy.name, dy.data_type, dy.role, dy.core) == ("REDY", "integer", "Timing", "Perm")
    assert dy.source == "derived: study day of REDTC against subjects.first_infusion_on (RFSTDTC)"
    assert collected("EXSTDTC", "Start", "x", data_type="datetime").data_type == "datetime"
    assert study_day_variable("AESTDY", "Day", "AESTDTC", "RFSTDTC", core="Exp").core == "Exp"


def test_a_domain_built_from_the_builders_is_valid() -> None:
    domain = Domain(
        "FT",
        "Functional Tests",
        "Findings",
        "One record per test per visit per subject",
        ("STUDYID", "USUBJID", "FTDTC", "FTSEQ"),
        (
            *identifiers("FT", study="t", subject="s", sequence="derived: order"),
            visit_number("derived: visit number"),
            visit_name("visit id in capitals"),
            *timing("FT", source="d", reference="r", dtc_label="Date/Time of Test", dy_label="Day"),
        ),
    )
    assert domain.variable("VISIT").length == 40
    visit_day = planned_visit_day("protocol: infusions.days")
    assert (visit_day.name, visit_day.data_type, visit_day.role) == ("VISITDY", "integer", "Timing")
    assert domain.variable("VISITNUM").data_type == "float"


def test_a_result_with_a_unit_carries_it_in_both_the_original_and_the_standard_form() -> None:
    variables = (
        measurement_name("LB", "Lab Test or Examination Name", codelist="C67154"),
        original_result("LB", "lab.value"),
        original_unit("LB", "lab.unit", codelist="C71620"),
        *standard_results("LB", unit_codelist="C71620"),
    )
    assert [v.name for v in variables] == [
        "LBTEST",
        "LBORRES",
        "LBORRESU",
        "LBSTRESC",
        "LBSTRESN",
        "LBSTRESU",
    ]
    assert variables[0].source == "derived: the CT test name paired with LBTESTCD"
    assert [v.source for v in variables[3:]] == [
        "derived: LBORRES (no unit conversion)",
        "derived: LBORRES as a number",
        "derived: LBORRESU",
    ]
    assert [v.codelist for v in variables] == [
        "C67154",
        None,
        "C71620",
        None,
        None,
        "C71620",
    ]


def test_a_result_without_a_unit_has_no_standard_unit_and_may_say_more_of_stresc() -> None:
    variables = standard_results("QS", character="derived: QSORRES as answered")
    assert [(v.name, v.source) for v in variables] == [
        ("QSSTRESC", "derived: QSORRES as answered"),
        ("QSSTRESN", "derived: QSORRES as a number"),
    ]
