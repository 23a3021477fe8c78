"""Reference ranges: shipped adult defaults stand in for a missing laboratory range, and a site's
own ranges replace them for that site only, checked, audited and versioned."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from doseline import audit
from doseline.auth import Role
from safety.reference_ranges.service import RangeLookup, reference_range

from .conftest import TRIAL, Desk

URL = f"/v1/trials/{TRIAL}/reference-ranges"

WCH_CREATININE: list[dict[str, Any]] = [
    {"analyte": "creatinine", "sex": "female", "low": "45", "high": "84", "unit": "umol/L",
     "source": "WCH laboratory manual 2026"},
    {"analyte": "creatinine", "sex": "male", "low": "59", "high": "104", "unit": "umol/L",
     "source": "WCH laboratory manual 2026"},
]  # fmt: skip


def lookup(desk: Desk, site: str = "WCH", **kwargs: Any) -> RangeLookup:
    with desk.db() as session:
        return reference_range(session, trial_id=TRIAL, site_id=site, **kwargs)


def put_ranges(
    desk: Desk,
    site: str,
    ranges: list[dict[str, Any]],
    role: Role = Role.INVESTIGATOR,
    **extra: Any,
) -> Any:
    current = desk.client.get(URL, params={"site_id": site}, headers=desk.as_(Role.MONITOR))
    assert current.status_code == 200, current.text
    return desk.client.put(
        f"{URL}/{site}",
        json={"ranges": ranges, **extra},
        headers={**desk.as_(role), "If-Match": current.headers["ETag"]},
    )


def test_hemoglobin_defaults_differ_for_women_and_men(desk: Desk) -> None:
    female = lookup(desk, loinc="718-7", unit="g/dL", sex="female", age_years=50)
    male = lookup(desk, loinc="718-7", unit="g/dL", sex="male", age_years=50)
    assert (female.low, female.high) == (Decimal("12.0"), Decimal("16.0"))
    assert (male.low, male.high) == (Decimal("14.0"), Decimal("18.0"))
    assert male.origin == "shipped adult default (ABIM 2026)"
    assert male.missing is None


def test_a_range_for_any_sex_needs_neither_sex_nor_age(desk: Desk) -> None:
    alt = lookup(desk, loinc="1742-6", unit="U/L", sex=None, age_years=None)
    assert (alt.low, alt.high, alt.missing) == (Decimal("10"), Decimal("40"), None)


def test_without_the_subjects_sex_the_hemoglobin_range_says_sex_is_missing(desk: Desk) -> None:
    unknown = lookup(desk, loinc="718-7", unit="g/dL", sex=None, age_years=50)
    assert (unknown.low, unknown.high) == (None, None)
    assert unknown.missing == "the subject's sex (the hemoglobin range differs by sex)"


def test_the_creatinine_default_is_converted_into_umol_per_litre(desk: Desk) -> None:
    male = lookup(desk, loinc="14682-9", unit="umol/L", sex="male", age_years=60)
    assert male.unit == "umol/L"
    assert male.low is not None
    assert male.high is not None
    # 0.70–1.30 mg/dL at 113.12 g/mol
    assert male.low.quantize(Decimal("0.1")) == Decimal("61.9")
    assert male.high.quantize(Decimal("0.1")) == Decimal("114.9")


def test_an_unmapped_code_names_the_range_that_is_missing(desk: Desk) -> None:
    none = lookup(desk, loinc="1234-5", unit="mg/dL", sex="male", age_years=60)
    assert none.missing == "a reference range for LOINC 1234-5"


def test_a_troponin_range_is_the_sites_to_set(desk: Desk) -> None:
    troponin = lookup(desk, loinc="89579-7", unit="ng/L", sex="male", age_years=60)
    assert troponin.low is None
    assert troponin.missing is not None
    assert "set site WCH's range" in troponin.missing


def test_a_sites_override_wins_for_that_site_only(desk: Desk) -> None:
    response = put_ranges(desk, "WCH", WCH_CREATININE, reason="WCH laboratory ranges")
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"v1"'
    listed = response.json()["ranges"]
    assert [(r["analyte"], r["sex"], r["origin"]) for r in listed[:2]] == [
        ("creatinine", "female", "site WCH override"),
        ("creatinine", "male", "site WCH override"),
    ]
    assert all(r["analyte"] != "creatinine" for r in listed[2:])

    at_wch = lookup(desk, loinc="2160-0", unit="mg/dL", sex="male", age_years=60)
    assert at_wch.origin == "site WCH override"
    assert at_wch.high is not None
    assert at_wch.high.quantize(Decimal("0.01")) == Decimal("1.18")  # 104 umol/L
    elsewhere = lookup(desk, site="PUMCH", loinc="2160-0", unit="mg/dL", sex="male", age_years=60)
    assert (elsewhere.high, elsewhere.origin) == (
        Decimal("1.30"),
        "shipped adult default (ABIM 2026)",
    )
    other_analyte = lookup(desk, loinc="1742-6", unit="U/L", sex="male", age_years=60)
    assert other_analyte.origin == "shipped adult default (ABIM 2026)"


def test_age_bands_of_a_site_decide_by_the_subjects_age(desk: Desk) -> None:
    bands = [
        {"analyte": "alp", "age_max": 65, "low": "35", "high": "100", "unit": "U/L"},
        {"analyte": "alp", "age_min": 65, "low": "40", "high": "130", "unit": "U/L"},
    ]
    assert put_ranges(desk, "WCH", bands).status_code == 200
    assert lookup(desk, loinc="6768-6", unit="U/L", sex="female", age_years=70).high == 130
    assert lookup(desk, loinc="6768-6", unit="U/L", sex="female", age_years=40).high == 100
    ageless = lookup(desk, loinc="6768-6", unit="U/L", sex="female", age_years=None)
    assert ageless.missing == "the subject's age (the alp range differs by age)"


def invalid(desk: Desk, row: dict[str, Any]) -> list[dict[str, Any]]:
    response = put_ranges(desk, "WCH", [row])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


def test_a_range_whose_low_is_not_below_high_is_refused_naming_high(desk: Desk) -> None:
    errors = invalid(desk, {"analyte": "sodium", "low": "145", "high": "136", "unit": "mmol/L"})
    assert errors[0]["loc"] == ["body", "ranges", "0", "high"]
    assert "must be above low" in errors[0]["msg"]


def test_a_unit_that_cannot_measure_the_analyte_is_refused_naming_unit(desk: Desk) -> None:
    errors = invalid(desk, {"analyte": "albumin", "low": "35", "high": "50", "unit": "mmol/L"})
    assert errors[0]["loc"] == ["body", "ranges", "0", "unit"]
    unknown = invalid(desk, {"analyte": "albumin", "low": "35", "high": "50", "unit": "furlongs"})
    assert unknown[0]["loc"] == ["body", "ranges", "0", "unit"]


def test_an_unknown_sex_or_analyte_is_refused_naming_the_field(desk: Desk) -> None:
    sex = invalid(desk, {"analyte": "alt", "sex": "f", "low": "7", "high": "35", "unit": "U/L"})
    assert sex[0]["loc"][-1] == "sex"
    analyte = invalid(desk, {"analyte": "gfr", "low": "60", "high": "120", "unit": "U/L"})
    assert analyte[0]["loc"] == ["body", "ranges", "0", "analyte"]


def test_disordered_ages_and_overlapping_bands_are_refused(desk: Desk) -> None:
    ages = invalid(
        desk,
        {"analyte": "alt", "age_min": 70, "age_max": 18, "low": "7", "high": "35", "unit": "U/L"},
    )
    assert ages[0]["loc"] == ["body", "ranges", "0", "age_max"]
    overlapping = put_ranges(
        desk,
        "WCH",
        [
            {"analyte": "alt", "age_max": 65, "low": "7", "high": "35", "unit": "U/L"},
            {
                "analyte": "alt",
                "sex": "male",
                "age_min": 60,
                "low": "7",
                "high": "45",
                "unit": "U/L",
            },
        ],
    )
    assert overlapping.status_code == 422
    assert overlapping.json()["errors"][0]["loc"] == ["body", "ranges", "1", "age_min"]
    # Nothing was stored.
    assert lookup(desk, loinc="1742-6", unit="U/L", sex="male", age_years=40).high == 40


def test_only_admins_and_investigators_set_ranges(desk: Desk) -> None:
    refused = put_ranges(desk, "WCH", WCH_CREATININE, role=Role.COORDINATOR)
    assert refused.status_code == 403
    assert put_ranges(desk, "WCH", WCH_CREATININE, role=Role.ADMIN).status_code == 200


def test_an_investigator_of_another_site_cannot_set_this_sites_ranges(desk: Desk) -> None:
    current = desk.client.get(URL, params={"site_id": "WCH"}, headers=desk.as_(Role.MONITOR))
    response = desk.client.put(
        f"{URL}/WCH",
        json={"ranges": WCH_CREATININE},
        headers={
            **desk.auth(Role.INVESTIGATOR, subject="dr-wang", sites=("PUMCH",)),
            "If-Match": current.headers["ETag"],
        },
    )
    assert response.status_code == 403
    assert response.json()["type"].endswith("site-not-authorised")


def test_a_stale_or_missing_etag_changes_nothing(desk: Desk) -> None:
    assert put_ranges(desk, "WCH", WCH_CREATININE).status_code == 200
    stale = desk.client.put(
        f"{URL}/WCH",
        json={"ranges": []},
        headers={**desk.as_(Role.INVESTIGATOR), "If-Match": '"v0"'},
    )
    assert stale.status_code == 412
    missing = desk.client.put(
        f"{URL}/WCH", json={"ranges": []}, headers=desk.as_(Role.INVESTIGATOR)
    )
    assert missing.status_code == 428
    assert lookup(desk, loinc="2160-0", unit="mg/dL", sex="male", age_years=60).origin == (
        "site WCH override"
    )


def test_replacing_a_sites_ranges_is_audited_with_before_and_after(desk: Desk) -> None:
    assert put_ranges(desk, "WCH", WCH_CREATININE).status_code == 200
    assert put_ranges(desk, "WCH", [], reason="laboratory changed analyser").status_code == 200
    with desk.db() as session:
        history = audit.entity_history(
            session, entity_type="site_reference_ranges", entity_id=f"{TRIAL}/WCH"
        )
        intact = audit.verify(session).intact
    assert [(e["action"], e["reason"]) for e in history] == [
        ("reference_ranges.replaced", None),
        ("reference_ranges.replaced", "laboratory changed analyser"),
    ]
    assert history[1]["before"]["ranges"][1]["high"] == "104"
    assert history[1]["after"] == {"ranges": []}
    assert "dr-li" in history[0]["actor"]
    assert intact
    # The empty set hands creatinine back to the shipped default.
    assert lookup(desk, loinc="2160-0", unit="mg/dL", sex="male", age_years=60).origin == (
        "shipped adult default (ABIM 2026)"
    )


def test_any_reader_sees_the_defaults_and_an_unknown_trial_is_not_found(desk: Desk) -> None:
    listed = desk.client.get(URL, headers=desk.as_(Role.PHARMACIST))
    assert listed.status_code == 200
    assert {r["origin"] for r in listed.json()["ranges"]} == {
        "shipped adult default (ABIM 2026)",
        "shipped adult default (Mayo Clinic)",
    }
    unknown = desk.client.get(
        "/v1/trials/NO-SUCH-TRIAL/reference-ranges", headers=desk.as_(Role.MONITOR)
    )
    assert unknown.status_code == 404
