"""The protocol document: HDMSC-RP-01 as PROTOCOL.md describes it, loading, errors, content hash."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from doseline.sitetime import add_months
from doseline.testing.plugin import reference_file
from enrollment.protocol import (
    PROTOCOLS_DIR,
    AeCategory,
    AnswerType,
    Assessment,
    Attribution,
    DateEvidence,
    GradeEvidence,
    Protocol,
    ProtocolError,
    load_protocol,
    load_shipped_protocol,
)
from escalation import BOIN, Design, DoseRounding, Variant, design_from_document, recommend

Document = dict[str, Any]
Amend = Callable[[Callable[[Document], None]], Protocol]


def reference_text(relative: str) -> str:
    return reference_file(relative).read_text(encoding="utf-8")


def a_plus_b(protocol: Protocol) -> Design:
    design = protocol.design()
    assert isinstance(design, Design)
    return design


def problems(text: str) -> list[str]:
    with pytest.raises(ProtocolError) as caught:
        load_protocol(text)
    return [f"{issue.path}: {issue.message}" for issue in caught.value.issues]


def problems_after(hdmsc_text: str, change: Callable[[Document], None]) -> list[str]:
    document: Document = yaml.safe_load(hdmsc_text)
    change(document)
    return problems(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


# ---------------------------------------------------------------------------------------------
# HDMSC-RP-01 as shipped


def test_the_shipped_protocol_identifies_hdmsc_rp_01_version_1_0(hdmsc: Protocol) -> None:
    assert hdmsc.protocol_id == hdmsc.trial_id == "HDMSC-RP-01"
    assert hdmsc.version == "1.0"
    assert hdmsc.stamp().protocol_id == "HDMSC-RP-01"
    assert hdmsc.stamp().version == "1.0"
    assert hdmsc.stamp().content_hash == hdmsc.content_hash


def test_the_trial_is_the_single_centre_interventional_study_at_west_china_hospital(
    hdmsc: Protocol,
) -> None:
    assert hdmsc.site.name == "West China Hospital"
    assert hdmsc.site.city == "Chengdu"
    assert hdmsc.time_zone == "Asia/Shanghai"
    assert hdmsc.trial.phase == "I"
    assert hdmsc.trial.study_type == "interventional"
    assert hdmsc.ctcae_version == "5.0"


def test_load_shipped_protocol_reads_the_file_in_the_protocols_folder(hdmsc: Protocol) -> None:
    assert load_shipped_protocol("hdmsc-rp-01") == hdmsc


def test_planned_enrolment_is_15_and_a_reservation_expires_after_72_hours(
    hdmsc: Protocol,
) -> None:
    assert hdmsc.enrolment.cap == 15
    assert hdmsc.enrolment.slot_reservation_expiry == timedelta(hours=72)


def _times_ten_to_the(text: str) -> list[Decimal]:
    return [Decimal(f"{m}e{e}") for m, e in re.findall(r"(\d+(?:\.\d+)?) × 10\^(\d+)", text)]


def test_dose_ladder_equals_the_table_in_protocol_md(hdmsc: Protocol) -> None:
    rows = [
        line for line in reference_text("docs/PROTOCOL.md").splitlines() if "cells/kg |" in line
    ]
    table = [tuple(_times_ten_to_the(row)) for row in rows]
    assert table == [(Decimal("3.3e5"), Decimal("2.0e7")), (Decimal("1.0e6"), Decimal("6.0e7"))]
    ladder = [(level.per_kg, level.reference_dose) for level in hdmsc.dose_escalation.dose_levels]
    assert ladder == table
    assert hdmsc.dose_escalation.unit == "cells/kg"
    assert hdmsc.dose_escalation.reference_weight_kg == 60


def test_second_dose_is_three_times_the_starting_dose_rounded_as_the_summary_writes_it(
    hdmsc: Protocol,
) -> None:
    # Summary: "ramped up by 3 times the starting dose": 3 × 3.3e5 = 9.9e5, written 1.0e6.
    start, second = hdmsc.dose_escalation.dose_levels
    assert DoseRounding(significant_figures=1).apply(second.per_kg / start.per_kg) == 3
    assert second.per_kg * hdmsc.dose_escalation.reference_weight_kg == Decimal("6.0e7")


def test_design_is_expand_top_3_plus_3_on_two_levels_without_the_literal_stop_rule(
    hdmsc: Protocol,
) -> None:
    assert hdmsc.design() == Design(num_doses=2, variant=Variant.EXPAND_TOP)
    assert a_plus_b(hdmsc).stop_when_any_dose_has is None


def test_dosing_rounds_to_3_significant_figures_without_weight_cap_and_7_day_weights(
    hdmsc: Protocol,
) -> None:
    assert hdmsc.dosing.rounding.significant_figures == 3
    assert hdmsc.dosing.rounding.decimal_places is None
    assert hdmsc.dosing.weight_cap_kg is None
    assert hdmsc.dosing.weight.max_age_days == 7
    assert hdmsc.dosing.weight.plausible_range_kg.minimum == 30
    assert hdmsc.dosing.weight.plausible_range_kg.maximum == 200


def test_four_infusions_on_days_1_4_7_10_with_one_day_either_side(hdmsc: Protocol) -> None:
    infusions = hdmsc.infusions
    assert (infusions.count, infusions.interval_days, infusions.days) == (4, 3, (1, 4, 7, 10))
    assert (infusions.window.before_days, infusions.window.after_days) == (1, 1)


def test_dlt_window_is_30_days_from_the_first_infusion(hdmsc: Protocol) -> None:
    assert hdmsc.dlt_window.starts_on == "first-infusion"
    assert hdmsc.dlt_window.days == 30


def test_evaluable_means_all_4_infusions_and_the_window_or_a_dlt_and_others_are_replaced(
    hdmsc: Protocol,
) -> None:
    rules = hdmsc.evaluability
    assert rules.required_infusions == 4
    assert rules.requires_completed_window
    assert rules.confirmed_dlt_makes_evaluable
    assert rules.replace_non_evaluable


OUTCOME_ROWS = {
    "Chest contrast-enhanced CT": Assessment.CHEST_CT,
    "Arterial blood gas": Assessment.BLOOD_GAS,
    "Pulmonary function": Assessment.PULMONARY_FUNCTION,
    "6-minute walk test": Assessment.SIX_MINUTE_WALK,
    "SGRQ": Assessment.SGRQ,
}
OUTCOME_COLUMNS = ("baseline", "month-1", "month-2", "month-3", "month-6", "month-12")


def test_assessments_per_visit_are_exactly_protocol_md_outcome_table(hdmsc: Protocol) -> None:
    expected: dict[str, set[Assessment]] = {visit: set() for visit in OUTCOME_COLUMNS}
    found = set()
    for line in reference_text("docs/PROTOCOL.md").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] in OUTCOME_ROWS:
            found.add(cells[0])
            for visit, mark in zip(OUTCOME_COLUMNS, cells[1:7], strict=True):
                if mark == "✓":
                    expected[visit].add(OUTCOME_ROWS[cells[0]])
    assert found == set(OUTCOME_ROWS)
    visits = hdmsc.visits
    shipped = {visits.baseline.id: set(visits.baseline.assessments)} | {
        visit.id: set(visit.assessments) for visit in visits.follow_up
    }
    assert shipped == expected
    # The table's first row: adverse events are continuous for 1 year, not tied to visits.
    assert visits.adverse_events_continuous_months == 12


@pytest.mark.parametrize(
    ("visit_id", "months", "window_days"),
    [
        ("month-1", 1, 7),
        ("month-2", 2, 7),
        ("month-3", 3, 7),
        ("month-6", 6, 14),
        ("month-12", 12, 14),
    ],
)
def test_follow_up_visits_and_their_windows(
    hdmsc: Protocol, visit_id: str, months: int, window_days: int
) -> None:
    visit = next(v for v in hdmsc.visits.follow_up if v.id == visit_id)
    assert visit.months_after_last_infusion == months
    assert (visit.window.before_days, visit.window.after_days) == (window_days, window_days)


def test_baseline_is_up_to_28_days_before_the_first_infusion(hdmsc: Protocol) -> None:
    assert hdmsc.visits.baseline.id == "baseline"
    assert hdmsc.visits.baseline.window_days_before_first_infusion == 28


def test_eligibility_criteria_come_from_the_registry_summary(hdmsc: Protocol) -> None:
    criteria = {criterion.id: criterion for criterion in hdmsc.eligibility.inclusion}
    assert list(criteria) == ["INC-01", "INC-02", "INC-03", "INC-04", "INC-05", "INC-06"]
    assert hdmsc.eligibility.exclusion == ()
    assert "radiotherapy to the chest" in criteria["INC-01"].text
    ct = criteria["INC-02"].evidence
    assert isinstance(ct, DateEvidence)
    assert "chest CT" in ct.label
    assert ct.max_age_days is None
    grade = criteria["INC-03"].evidence
    assert isinstance(grade, GradeEvidence)
    assert (grade.term, grade.minimum, grade.maximum) == ("Pneumonitis", 1, 4)
    age = criteria["INC-05"]
    assert (age.answer, age.minimum, age.unit) == (AnswerType.NUMBER, Decimal(18), "years")
    consent = criteria["INC-06"].evidence
    assert isinstance(consent, DateEvidence)
    assert "consent" in consent.label


def test_age_18_is_marked_in_the_file_as_a_default_the_summary_does_not_give(
    hdmsc_text: str,
) -> None:
    block = hdmsc_text[hdmsc_text.index("- id: INC-05") : hdmsc_text.index("- id: INC-06")]
    assert "DEFAULT" in block
    assert "minimum: 18" in block


def test_dlt_rules_are_protocol_md_defaults(hdmsc: Protocol) -> None:
    rules = hdmsc.dlt_rules
    assert rules.ctcae_version == "5.0"
    assert rules.counted_attributions == (
        Attribution.POSSIBLE,
        Attribution.PROBABLE,
        Attribution.DEFINITE,
    )
    summary = {
        criterion.id: (
            criterion.category,
            tuple(term.name for term in criterion.terms),
            tuple(term.name for term in criterion.except_terms),
            criterion.min_grade,
            criterion.min_increase_over_baseline,
        )
        for criterion in rules.criteria
    }
    assert summary == {
        "DLT-01": (AeCategory.NON_HAEMATOLOGICAL, (), ("Pneumonitis",), 3, None),
        "DLT-02": (AeCategory.HAEMATOLOGICAL, (), (), 4, None),
        "DLT-03": (
            AeCategory.ANY,
            (
                "Infusion related reaction",
                "Allergic reaction",
                "Anaphylaxis",
                "Cytokine release syndrome",
            ),
            (),
            3,
            None,
        ),
        "DLT-04": (AeCategory.ANY, ("Pneumonitis",), (), None, 2),
        "DLT-05": (AeCategory.ANY, ("Pneumonitis",), (), 4, None),
        "DLT-06": (AeCategory.ANY, (), (), 5, None),
    }


def test_dlt_terms_carry_their_ctcae_v5_meddra_codes(hdmsc: Protocol) -> None:
    codes = {
        term.name: term.meddra_code
        for criterion in hdmsc.dlt_rules.criteria
        for term in (*criterion.terms, *criterion.except_terms)
    }
    csv = reference_text("ctcae/CTCAE_v5.0.csv")
    for name, code in codes.items():
        assert re.search(rf"^{code},[^\n]*?,{re.escape(name)},", csv, re.MULTILINE), name


def test_site_date_of_an_instant_is_the_calendar_day_in_chengdu(hdmsc: Protocol) -> None:
    # 17:00 UTC is 01:00 the next day in Asia/Shanghai (UTC+8, no daylight saving).
    assert hdmsc.site.date_of(datetime(2026, 3, 1, 17, 0, tzinfo=UTC)) == date(2026, 3, 2)
    assert hdmsc.site.date_of(datetime(2026, 3, 1, 15, 59, tzinfo=UTC)) == date(2026, 3, 1)


def test_site_date_refuses_a_time_without_zone(hdmsc: Protocol) -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        hdmsc.site.date_of(datetime(2026, 3, 1, 9, 0))  # noqa: DTZ001


def test_dose_levels_are_looked_up_by_number(hdmsc: Protocol) -> None:
    assert hdmsc.dose_escalation.level(2).per_kg == Decimal("1.0e6")
    for missing in (0, 3, True):
        with pytest.raises(KeyError, match="not on the ladder"):
            hdmsc.dose_escalation.level(missing)


def test_the_protocol_is_immutable(hdmsc: Protocol) -> None:
    enrolment: Any = hdmsc.enrolment  # as code that ignores the types would write it
    with pytest.raises(ValueError, match="frozen"):
        enrolment.cap = 16


# ---------------------------------------------------------------------------------------------
# Design variants and options


@pytest.mark.parametrize("variant", list(Variant))
def test_every_3_plus_3_variant_can_be_chosen_in_the_document(
    amended: Amend, variant: Variant
) -> None:
    def choose(document: Document) -> None:
        document["dose_escalation"]["design"]["variant"] = variant.value

    assert a_plus_b(amended(choose)).variant is variant


def test_literal_stop_rule_stops_once_a_dose_has_six_patients(amended: Amend) -> None:
    def literal(document: Document) -> None:
        document["dose_escalation"]["design"]["stop_when_any_dose_has"] = 6

    protocol = amended(literal)
    assert a_plus_b(protocol).stop_when_any_dose_has == 6
    # What the option changes: 1 DLT in 6 at level 1 escalates by default, stops when on.
    default = recommend(Design(num_doses=2, variant=Variant.EXPAND_TOP), "1TNN 1NNN")
    assert (default.continue_trial, default.next_dose) == (True, 2)
    stopped = recommend(protocol.design(), "1TNN 1NNN")
    assert (stopped.continue_trial, stopped.mtd) == (False, 1)


def test_design_options_map_one_to_one_onto_escalation_design(amended: Amend) -> None:
    def options(document: Document) -> None:
        document["dose_escalation"]["design"].update(
            variant="deesc",
            cohort_size=4,
            expansion_size=2,
            start_dose=2,
            allow_below_start=False,
            max_patients=12,
        )

    assert amended(options).design() == Design(
        num_doses=2,
        variant=Variant.DEESC,
        cohort_size=4,
        expansion_size=2,
        start_dose=2,
        allow_below_start=False,
        max_patients=12,
    )


# ---------------------------------------------------------------------------------------------
# Designs other than A+B: a design document of libs/escalation under dose_escalation.design


def test_an_a_plus_b_block_may_name_its_design_and_keeps_its_hash(
    hdmsc: Protocol, amended: Amend
) -> None:
    named = amended(_set("dose_escalation.design.design", "a+b"))
    assert named.design() == hdmsc.design()
    assert named.content_hash == hdmsc.content_hash
    assert named.dose_escalation.design_variant == "expand-top"


def test_the_boin_example_protocol_chooses_boin_over_its_five_levels() -> None:
    boin = load_shipped_protocol("hdmsc-rp-02")
    assert boin.protocol_id == "HDMSC-RP-02"
    assert boin.design() == BOIN(
        num_doses=5, target=0.3, num_cohorts=10, cohort_size=3, early_stop_patients=9
    )
    assert boin.dose_escalation.design_variant == "boin"
    assert boin.design().max_sample_size == 30 <= boin.enrolment.cap
    # The rest of the document is HDMSC-RP-01's.
    hdmsc = load_shipped_protocol("hdmsc-rp-01")
    assert (boin.dlt_rules, boin.eligibility, boin.infusions) == (
        hdmsc.dlt_rules,
        hdmsc.eligibility,
        hdmsc.infusions,
    )


DESIGN_DOCUMENTS: list[Document] = [
    {"design": "boin", "target": 0.3, "num_cohorts": 4},
    {"design": "i3+3", "target": 0.25, "num_cohorts": 4, "cohort_size": 3},
    {"design": "mtpi2", "target": 0.3, "num_cohorts": 4, "cohort_size": 3},
    {"design": "crm", "target": 0.25, "num_cohorts": 4, "skeleton": [0.1, 0.25]},
]


@pytest.mark.parametrize("block", DESIGN_DOCUMENTS, ids=lambda block: block["design"])
def test_every_design_of_the_library_can_be_chosen_with_its_parameters(
    amended: Amend, block: Document
) -> None:
    protocol = amended(_set("dose_escalation.design", block))
    assert protocol.design() == design_from_document({**block, "num_doses": 2})
    assert protocol.dose_escalation.design_variant == block["design"]
    # Each design is a rule of the protocol: choosing it changes the hash.
    assert protocol.content_hash != load_shipped_protocol("hdmsc-rp-01").content_hash


def test_the_same_number_of_levels_may_be_written_but_not_another(amended: Amend) -> None:
    block = {"design": "boin", "target": 0.3, "num_cohorts": 4, "num_doses": 2}
    assert amended(_set("dose_escalation.design", block)).design().num_doses == 2


# (text in hdmsc-rp-02.yaml, its replacement, the key the error points at, the problem)
BOIN_TEXT_CHANGES = [
    ("target: 0.3 ", "target: 0.9 ", "target", "target: target must be between 0.05 and 0.6"),
    ("target: 0.3 ", "targte: 0.3 ", "targte", "targte: is not a parameter of the boin design"),
    (
        "design: boin",
        "design: rolling-6",
        "design",
        "design: 'rolling-6' is not one of a+b, boin, i3+3, mtpi2, crm",
    ),
    ("extra_safe: false", 'extra_safe: "no"', "extra_safe", "extra_safe: must be true or false"),
    (
        "start_dose: 1\n",
        "start_dose: 1\n    num_doses: 4\n",
        "num_doses",
        "num_doses: is 4, but the ladder has 5 dose levels",
    ),
]


@pytest.mark.parametrize(("old", "new", "key", "expected"), BOIN_TEXT_CHANGES)
def test_a_wrong_design_parameter_names_its_key_with_line_and_column(
    old: str, new: str, key: str, expected: str
) -> None:
    text = (PROTOCOLS_DIR / "hdmsc-rp-02.yaml").read_text(encoding="utf-8")
    assert old in text
    changed = text.replace(old, new, 1)
    with pytest.raises(ProtocolError) as caught:
        load_protocol(changed)
    (issue,) = caught.value.issues
    assert f"{issue.path}: {issue.message}".startswith(f"dose_escalation.design.{expected}")
    rows = changed.splitlines()
    written = new.strip().splitlines()[-1].strip()
    line = next(n for n, row in enumerate(rows, 1) if row.strip().startswith(written))
    assert rows[line - 1].strip().startswith(f"{key}:")
    assert issue.line == line
    assert issue.column is not None
    # At the key itself, or at its value when the value is what is wrong.
    at = rows[line - 1][issue.column - 1 :]
    assert at.startswith(key) or at.startswith(rows[line - 1].split(": ", 1)[1])


def _protocol_section_examples() -> list[str]:
    root = next(p for p in Path(__file__).resolve().parents if (p / "docs").is_dir())
    text = (root / "docs" / "dose-finding.md").read_text(encoding="utf-8")
    section = text.split("## In a protocol document", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)


def test_the_documented_example_of_every_design_loads_in_a_protocol() -> None:
    examples = _protocol_section_examples()
    document: Document = yaml.safe_load(
        (PROTOCOLS_DIR / "hdmsc-rp-02.yaml").read_text(encoding="utf-8")
    )
    chosen = []
    for example in examples:
        document["dose_escalation"]["design"] = yaml.safe_load(example)["design"]
        protocol = load_protocol(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
        assert protocol.design().num_doses == 5
        chosen.append(protocol.design().kind)
    assert chosen == ["a+b", "boin", "i3+3", "mtpi2", "crm"]


def test_a_design_that_treats_more_patients_than_the_cap_is_refused() -> None:
    text = (PROTOCOLS_DIR / "hdmsc-rp-02.yaml").read_text(encoding="utf-8")
    assert problems(text.replace("num_cohorts: 10 ", "num_cohorts: 13 ", 1)) == [
        "(document): dose_escalation.design treats up to 39 patients (num_cohorts ×"
        " cohort_size), more than enrolment.cap 36"
    ]


def test_a_missing_design_parameter_is_named(hdmsc_text: str) -> None:
    assert problems_after(
        hdmsc_text, _set("dose_escalation.design", {"design": "boin", "num_cohorts": 4})
    ) == ["dose_escalation.design.target: is required by the boin design"]


# ---------------------------------------------------------------------------------------------
# Content hash


def test_content_hash_is_a_sha256_of_the_document(hdmsc: Protocol) -> None:
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", hdmsc.content_hash)


def test_comments_layout_key_order_and_number_spelling_do_not_change_the_hash(
    hdmsc: Protocol, hdmsc_document: Document
) -> None:
    hdmsc_document["dose_escalation"]["dose_levels"][0]["per_kg"] = "330000"
    hdmsc_document["dose_escalation"]["dose_levels"][1]["per_kg"] = 1000000
    hdmsc_document["dose_escalation"]["reference_weight_kg"] = "60.0"
    rewritten = yaml.safe_dump(hdmsc_document, sort_keys=True, default_flow_style=True)
    assert load_protocol(rewritten).content_hash == hdmsc.content_hash


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["dlt_window"].update(days=28),
        lambda d: d["infusions"]["window"].update(after_days=0),
        lambda d: d["dose_escalation"]["design"].update(variant="deesc"),
        lambda d: d["eligibility"]["inclusion"][0].update(text="Received chest radiotherapy"),
        lambda d: d["protocol"].update(version="1.1"),
        lambda d: d["dosing"].update(weight_cap_kg=100),
    ],
    ids=["dlt-window", "infusion-window", "variant", "criterion-text", "version", "weight-cap"],
)
def test_any_change_of_a_rule_changes_the_hash(
    hdmsc: Protocol, amended: Amend, change: Callable[[Document], None]
) -> None:
    assert amended(change).content_hash != hdmsc.content_hash


def test_a_copy_with_a_changed_rule_does_not_keep_the_original_hash(hdmsc: Protocol) -> None:
    original = hdmsc.content_hash
    smaller = hdmsc.model_copy(update={"enrolment": hdmsc.enrolment.model_copy(update={"cap": 12})})
    assert smaller.content_hash != original
    assert hdmsc.content_hash == original


# ---------------------------------------------------------------------------------------------
# Errors that point at the field


def test_a_negative_dose_names_the_field_and_its_line(hdmsc_text: str) -> None:
    text = hdmsc_text.replace('per_kg: "1.0e6"', 'per_kg: "-1.0e6"')
    with pytest.raises(ProtocolError) as caught:
        load_protocol(text)
    (issue,) = caught.value.issues
    assert str(issue).startswith("dose_escalation.dose_levels[1].per_kg: must be greater than 0")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"-1.0e6"' in row)
    assert issue.line == line
    assert "dose_escalation.dose_levels[1].per_kg: must be greater than 0" in str(caught.value)


def _set(path: str, value: object) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _delete(path: str) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_set("enrolment.cap", 0), "enrolment.cap: must be greater than or equal to 1"),
        (
            _set("sites.1.time_zone", "China/Chengdu"),
            "sites[1].time_zone: 'China/Chengdu' is not an IANA time zone name",
        ),
        (
            _set("sites.1.id", "WCH"),
            "sites: the site ids ['WCH'] are listed more than once",
        ),
        (
            _set("dose_escalation.design.variant", "rolling-6"),
            "dose_escalation.design.variant: must be 'esc', 'deesc' or 'expand-top'",
        ),
        (_set("dose_escalation.unit", "cells"), "dose_escalation.unit: must be 'cells/kg'"),
        (
            _set("dose_escalation.dose_levels.1.per_kg", "3.0e5"),
            "dose_escalation: level 2 (3.0E+5 cells/kg) is not above level 1 (3.3E+5 cells/kg)",
        ),
        (
            _set("dose_escalation.dose_levels.1.reference_dose", "6.0e8"),
            "dose_escalation: level 2: reference_dose 6.0E+8 cells does not match 1.0E+6"
            " cells/kg × 60",
        ),
        (
            _set("dose_escalation.dose_levels.1.level", 3),
            "dose_escalation: dose_levels[1] has level 3",
        ),
        (
            _set("dose_escalation.design.start_dose", 3),
            "dose_escalation: design: start_dose 3 is not a dose level of this design (1 to 2)",
        ),
        (
            _set("dose_escalation.design.max_dlts_in_expanded", 6),
            "dose_escalation: design: max_dlts_in_expanded 6 must be below cohort_size +",
        ),
        (
            _set("dose_escalation.design.stop_when_any_dose_has", 0),
            "dose_escalation.design.stop_when_any_dose_has: must be greater than or equal to 1",
        ),
        (
            _set("dosing.rounding.decimal_places", 2),
            "dosing.rounding: set exactly one of significant_figures and decimal_places",
        ),
        (
            _set("dosing.weight.plausible_range_kg.minimum", 250),
            "dosing.weight.plausible_range_kg: minimum 250 kg must be below maximum 200 kg",
        ),
        (
            _set("dosing.weight.plausible_range_kg.maximum", 400),
            "dosing.weight.plausible_range_kg.maximum: must be less than or equal to 350",
        ),
        (_set("dosing.weight_cap_kg", 20), "dosing: weight_cap_kg 20 is below the plausible"),
        (_set("infusions.days", [1, 4, 7]), "infusions: days lists 3 infusions but count is 4"),
        (_set("infusions.days", [2, 5, 8, 11]), "infusions: days must start at 1"),
        (_set("infusions.days", [1, 4, 4, 10]), "infusions: days [1, 4, 4, 10] must increase"),
        (_set("infusions.interval_days", 2), "infusions: days [1, 4, 7, 10] are not every 2"),
        (
            _set("infusions.window.before_days", 2),
            "infusions: windows of -2/+1 days overlap for infusion days [1, 4, 7, 10]",
        ),
        (
            _set("dlt_window.starts_on", "enrolment"),
            "dlt_window.starts_on: must be 'first-infusion'",
        ),
        (_set("dlt_window.days", 0), "dlt_window.days: must be greater than or equal to 1"),
        (
            _set("evaluability.required_infusions", 5),
            "(document): evaluability.required_infusions 5 exceeds infusions.count 4",
        ),
        (
            _set("dose_escalation.design.max_patients", 18),
            "(document): dose_escalation.design.max_patients 18 exceeds enrolment.cap 15",
        ),
        (
            _set("dlt_rules.ctcae_version", "6.0"),
            "(document): dlt_rules.ctcae_version 6.0 differs from the protocol's CTCAE version",
        ),
        (_set("ctcae_version", "6.0"), "ctcae_version: must be '5.0'"),
        (_set("format_version", 2), "format_version: must be 1"),
        (_set("protocol.version", 1.0), "protocol.version: must be a valid string"),
        (_set("protocol.id", "hdmsc rp 01"), "protocol.id: must match pattern"),
        (
            _set("visits.follow_up.0.assessments.0", "x-ray"),
            "visits.follow_up[0].assessments[0]: must be 'chest-ct', 'blood-gas',",
        ),
        (
            _set("visits.follow_up.1.assessments", ["sgrq", "sgrq"]),
            "visits.follow_up[1].assessments: assessments listed twice: sgrq",
        ),
        (
            _set("visits.follow_up.3.window", {"before_days": 82, "after_days": 14}),
            "visits: the windows of month-3 (+7 days) and month-6 (-82 days) can overlap: they"
            " may be as little as 89 days apart",
        ),
        (
            _set("visits.follow_up.0.window", {"before_days": 30, "after_days": 7}),
            "visits: the month-1 window opens on or before the last infusion day",
        ),
        (
            _set("visits.follow_up.2.months_after_last_infusion", 2),
            "visits: follow-up months [1, 2, 2, 6, 12] must increase strictly",
        ),
        (
            _set("visits.follow_up.4.id", "month-6"),
            "visits: visit ids must be unique: month-6 repeated",
        ),
        (
            _set("eligibility.inclusion.1.id", "INC-01"),
            "eligibility: criterion ids must be unique: INC-01 repeated",
        ),
        (
            _delete("eligibility.inclusion.4.minimum"),
            "eligibility.inclusion[4]: a number criterion needs a minimum or a maximum",
        ),
        (
            _set("eligibility.inclusion.0.unit", "years"),
            "eligibility.inclusion[0]: a yes-no criterion takes no minimum, maximum or unit",
        ),
        (
            _set("eligibility.inclusion.2.evidence.minimum", 0),
            "eligibility.inclusion[2].evidence.minimum: must be greater than or equal to 1",
        ),
        (
            _set("eligibility.inclusion.2.evidence.minimum", 5),
            "eligibility.inclusion[2].evidence: minimum grade 5 is above maximum 4",
        ),
        (
            _set("eligibility.inclusion.1.evidence.kind", "photo"),
            "eligibility.inclusion[1].evidence: ",
        ),
        (
            _delete("eligibility.inclusion.5.evidence.label"),
            "eligibility.inclusion[5].evidence.label: is required",
        ),
        (
            _delete("dlt_rules.criteria.5.min_grade"),
            "dlt_rules.criteria[5]: give min_grade, min_increase_over_baseline or both",
        ),
        (
            _set("dlt_rules.criteria.0.terms", [{"name": "Cough", "meddra_code": "10011224"}]),
            "dlt_rules.criteria[0]: give terms or except_terms, not both",
        ),
        (
            _set("dlt_rules.criteria.3.terms.0.meddra_code", "1003574"),
            "dlt_rules.criteria[3].terms[0].meddra_code: must match pattern",
        ),
        (
            _set("dlt_rules.counted_attributions", ["possible", "possible"]),
            "dlt_rules: counted_attributions lists a value twice",
        ),
        (
            _set("dlt_rules.counted_attributions", ["maybe"]),
            "dlt_rules.counted_attributions[0]: must be 'unrelated', 'unlikely', 'possible',",
        ),
        (_delete("dlt_window"), "dlt_window: is required"),
        (_set("dlt_windw", {"days": 30}), "dlt_windw: is not a field of this section"),
        (
            _set("dosing.rounding.significant_figure", 3),
            "dosing.rounding.significant_figure: is not a field of this section",
        ),
    ],
)
def test_an_invalid_document_names_the_offending_field(
    hdmsc_text: str, change: Callable[[Document], None], expected: str
) -> None:
    found = problems_after(hdmsc_text, change)
    assert any(problem.startswith(expected) for problem in found), found


def test_every_problem_is_reported_at_once(hdmsc_text: str) -> None:
    def several(document: Document) -> None:
        document["enrolment"]["cap"] = 0
        document["dlt_window"]["days"] = -3
        document["dose_escalation"]["dose_levels"][0]["per_kg"] = "0"

    found = problems_after(hdmsc_text, several)
    assert [problem.split(":")[0] for problem in found] == [
        "enrolment.cap",
        "dose_escalation.dose_levels[0].per_kg",
        "dlt_window.days",
    ]


def test_the_error_message_lists_every_problem_with_its_field_path(hdmsc_text: str) -> None:
    text = hdmsc_text.replace("cap: 15", "cap: -1").replace("days: 30", "days: zero")
    with pytest.raises(ProtocolError) as caught:
        load_protocol(text)
    message = str(caught.value)
    assert message.startswith("invalid protocol document (2 problem(s)):")
    assert "enrolment.cap: must be greater than or equal to 1 (line" in message
    assert "dlt_window.days: must be a valid integer" in message


def test_a_misspelt_key_is_reported_at_the_key(hdmsc_text: str) -> None:
    text = hdmsc_text.replace("  weight_cap_kg: null", "  weight_cap: 100")
    with pytest.raises(ProtocolError) as caught:
        load_protocol(text)
    (issue,) = caught.value.issues
    assert f"{issue.path}: {issue.message}" == (
        "dosing.weight_cap: is not a field of this section (check the spelling)"
    )
    assert (issue.line, issue.column) == (text.splitlines().index("  weight_cap: 100") + 1, 3)


# ---------------------------------------------------------------------------------------------
# YAML itself


def test_yaml_syntax_errors_give_line_and_column() -> None:
    with pytest.raises(ProtocolError) as caught:
        load_protocol("protocol:\n  id: [HDMSC\nsite: x\n")
    (issue,) = caught.value.issues
    assert issue.path == "(yaml)"
    assert issue.message.startswith("not valid YAML: ")
    assert (issue.line, issue.column) == (3, 5)


def test_a_key_written_twice_is_an_error_not_silently_the_last_value(hdmsc_text: str) -> None:
    text = hdmsc_text.replace("  cap: 15 ", "  cap: 150\n  cap: 15 ")
    with pytest.raises(ProtocolError) as caught:
        load_protocol(text)
    (issue,) = caught.value.issues
    assert "found the key 'cap' twice" in issue.message
    # The second "cap" is the one reported, on the line after "cap: 150".
    assert issue.line == text.splitlines().index("  cap: 150") + 2
    assert issue.path == "(yaml)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "(document): the document is empty"),
        ("# only a comment\n", "(document): the document is empty"),
        ("- protocol\n- trial\n", "(document): must be a mapping of sections"),
        ("just text", "(document): must be a mapping of sections"),
        ("a: 1\n---\nb: 2\n", "(yaml): not valid YAML: expected a single document"),
    ],
)
def test_a_document_that_is_not_one_mapping_is_refused(text: str, expected: str) -> None:
    assert problems(text)[0].startswith(expected)


def test_a_path_is_read_as_a_file_and_a_missing_file_is_a_protocol_error(
    tmp_path: Path, hdmsc_text: str, hdmsc: Protocol
) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_text(hdmsc_text, encoding="utf-8")
    assert load_protocol(copy) == hdmsc
    assert load_protocol(str(copy)) == hdmsc
    with pytest.raises(ProtocolError, match="cannot read the file"):
        load_protocol(tmp_path / "absent.yaml")
    with pytest.raises(ProtocolError, match="cannot read the file"):
        load_protocol(str(tmp_path / "absent.yml"))


# ---------------------------------------------------------------------------------------------
# Calendar months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 12, 31), 12, date(2027, 12, 31)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 10, 31), 6, date(2027, 4, 30)),
        (date(2026, 5, 10), 0, date(2026, 5, 10)),
    ],
)
def test_calendar_months_clamp_to_the_end_of_a_shorter_month(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected
