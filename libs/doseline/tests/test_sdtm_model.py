from datetime import date
from typing import Any

import pytest

from doseline.sdtm import Dataset, Domain, Variable, study_day

STUDYID = Variable("STUDYID", "Study Identifier", "string", "Identifier", "Req", "trial", 40)
USUBJID = Variable(
    "USUBJID", "Unique Subject Identifier", "string", "Identifier", "Req", "subject", 80
)
AGE = Variable("AGE", "Age", "integer", "Record Qualifier", "Exp", "screening.age")
DM = Domain(
    "DM",
    "Demographics",
    "Special-Purpose",
    "One record per subject",
    ("STUDYID", "USUBJID"),
    (STUDYID, USUBJID, AGE),
)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2026, 3, 10), 1),
        (date(2026, 3, 11), 2),
        (date(2026, 3, 9), -1),
        (date(2026, 2, 28), -10),
        (date(2027, 3, 10), 366),
    ],
)
def test_study_day_has_no_day_zero(on: date, expected: int) -> None:
    assert study_day(on, date(2026, 3, 10)) == expected


def test_study_day_without_a_reference_start_is_none() -> None:
    assert study_day(date(2026, 3, 10), None) is None


@pytest.mark.parametrize(
    ("name", "label", "data_type", "length", "message"),
    [
        ("aeterm", "Reported Term", "string", 200, "capitals"),
        ("AETERMTOOLONG", "Reported Term", "string", 200, "capitals"),
        ("AETERM", "x" * 41, "string", 200, "40 characters"),
        ("AETERM", "Reported Term", "string", None, "length"),
        ("AETERM", "Reported Term", "string", 201, "length"),
    ],
)
def test_a_variable_follows_the_sdtm_naming_rules(
    name: str, label: str, data_type: Any, length: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Variable(name, label, data_type, "Topic", "Req", "ae.term", length)


def test_a_domain_keys_are_its_variables() -> None:
    with pytest.raises(ValueError, match="SUBJID"):
        Domain("DM", "Demographics", "Special-Purpose", "x", ("SUBJID",), (STUDYID,))


def test_a_record_names_only_the_domain_variables_and_fills_the_required_ones() -> None:
    Dataset(DM, ({"STUDYID": "HDMSC-RP-01", "USUBJID": "HDMSC-RP-01-001", "AGE": None},))
    with pytest.raises(ValueError, match="unknown \\['SEX'\\]"):
        Dataset(DM, ({"STUDYID": "S", "USUBJID": "U", "SEX": "F"},))
    with pytest.raises(ValueError, match="required USUBJID"):
        Dataset(DM, ({"STUDYID": "S", "USUBJID": ""},))
