"""Imaging's recorded values as SDTM findings: which test each value is, in which CT unit.

Every test code, test name, category and unit is a CDISC CT submission value from the committed
codelists (doseline.sdtm.controlled_terminology), pinned here by NCI term code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from doseline.sdtm.controlled_terminology import codelist, paired_value
from imaging.blood_gas import loinc as blood_gas_loinc
from imaging.sdtm.domains import (
    FTCAT,
    LBTEST,
    LBTESTCD,
    QSCAT,
    RETEST,
    RETESTCD,
    SIXMW1TC,
    SIXMW1TN,
    SPECTYPE,
    UNIT,
)
from imaging.sgrq.weights import ITEMS, Instrument


@dataclass(frozen=True)
class Finding:
    """One value of an assessment as an SDTM finding."""

    test_code: str
    test_name: str
    value: float
    unit: str | None
    derived: bool = False


def _unit(term: str | None) -> str | None:
    return None if term is None else codelist(UNIT).value(term)


# (metrics key, RETESTCD term, unit term); the GLI % predicted computed here comes before the
# laboratory's own, which is used only when no GLI value exists (one FEV1PP per test).
_LITRE = "C48505"
_PERCENT = "C25613"
_RE_MEASURED: Final = (("fev1_l", "C38084", _LITRE), ("fvc_l", "C111361", _LITRE))
_RE_PREDICTED: Final = (
    ("fev1_percent_predicted", "fev1_percent_predicted_reported", "C112376"),
    ("fvc_percent_predicted", "fvc_percent_predicted_reported", "C112381"),
    ("dlco_percent_predicted", None, "C120829"),
)
_DLCO = "C38083"
_FEV1_FVC = "C111359"
_DLCO_UNITS: Final = {"mL/min/mmHg": "C67417", "mmol/min/kPa": "C116242"}


def _re(term: str, value: float, unit: str | None, *, derived: bool = False) -> Finding:
    test_code = codelist(RETESTCD).value(term)
    # JSON gives 3 for 3.0: every result is a float.
    name = paired_value(RETESTCD, RETEST, test_code)
    return Finding(test_code, name, float(value), unit, derived)


def pulmonary_function(inputs: Mapping[str, Any], metrics: Mapping[str, Any]) -> list[Finding]:
    """RE findings of one pft assessment: what was measured, then the % predicted values."""
    findings = [
        _re(term, metrics[key], _unit(unit))
        for key, term, unit in _RE_MEASURED
        if metrics.get(key) is not None
    ]
    if metrics.get("fev1_fvc") is not None:
        # FEV1/FVC is computed here unless the laboratory sent its own ratio.
        sent = inputs.get("fev1_fvc") is not None
        findings.append(_re(_FEV1_FVC, metrics["fev1_fvc"], None, derived=not sent))
    if metrics.get("dlco") is not None:
        unit = _DLCO_UNITS[inputs.get("dlco_unit", "mL/min/mmHg")]
        findings.append(_re(_DLCO, metrics["dlco"], _unit(unit)))
    for computed, reported, term in _RE_PREDICTED:
        if metrics.get(computed) is not None:
            findings.append(_re(term, metrics[computed], _unit(_PERCENT), derived=True))
        elif reported is not None and metrics.get(reported) is not None:
            findings.append(_re(term, metrics[reported], _unit(_PERCENT)))
    return findings


WALK_CATEGORY_TERM: Final = "C115789"
_SIX_MINUTE_DISTANCE: Final = "C115805"


def walk_category() -> str:
    return codelist(FTCAT).value(WALK_CATEGORY_TERM)


def six_minute_walk(inputs: Mapping[str, Any]) -> Finding:
    """The 6MWT distance: the CT's distance at 6 minutes (SIXMW106), in metres."""
    test_code = codelist(SIXMW1TC).value(_SIX_MINUTE_DISTANCE)
    return Finding(
        test_code,
        paired_value(SIXMW1TC, SIXMW1TN, test_code),
        float(inputs["distance_m"]),
        _unit("C41139"),
    )


# SGRQ: the past-3-months form (the standard recall of the SGRQ manual v2.3); the CT codes the
# unscored opening question first (SGRQ0101, SGRQC101), then every scored item in form order.
_QUESTIONNAIRES: Final = {
    Instrument.SGRQ: ("C112525", "C112449", "C112448", "SGRQ01"),
    Instrument.SGRQ_C: ("C106890", "C106671", "C106670", "SGRQC1"),
}


@dataclass(frozen=True)
class Answer:
    """One questionnaire item's answer as QS holds it."""

    category: str
    test_code: str
    test_name: str
    response: str
    # The option's position; none for a TRUE/FALSE answer.
    numeric: float | None


def questionnaire(inputs: Mapping[str, Any]) -> list[Answer]:
    """The answered items of one SGRQ or SGRQ-C, in form order; an unanswered item has no
    record. A single-choice answer is the printed option's position (the item and option texts
    are licensed and not kept); a yes/no or true/false answer is TRUE or FALSE."""
    instrument = Instrument(inputs.get("instrument", "SGRQ"))
    category_term, code_list, name_list, prefix = _QUESTIONNAIRES[instrument]
    category = codelist(QSCAT).value(category_term)
    codes = codelist(code_list)
    responses: Mapping[str, Any] = inputs["responses"]
    answers = []
    for position, item in enumerate(ITEMS[instrument], start=2):
        response = responses.get(item.item)
        if response is None:
            continue
        test_code = f"{prefix}{position:02d}"
        codes.term_code(test_code)  # a KeyError if the CT has no such item
        if isinstance(response, bool):
            text, numeric = ("TRUE" if response else "FALSE"), None
        else:
            text, numeric = str(response), float(response)
        answers.append(
            Answer(
                category,
                test_code,
                paired_value(code_list, name_list, test_code),
                text,
                numeric,
            )
        )
    return answers


# (inputs key, LBTESTCD term, LOINC code); a pressure is in inputs.pressure_unit.
_BLOOD_GAS: Final = (
    ("ph", "C45997", blood_gas_loinc.PH_ARTERIAL),
    ("pao2", "C71251", blood_gas_loinc.PAO2),
    ("paco2", "C82625", blood_gas_loinc.PACO2),
    ("hco3_mmol_l", "C74667", blood_gas_loinc.HCO3_ARTERIAL),
    ("base_excess_mmol_l", "C119270", blood_gas_loinc.BASE_EXCESS_ARTERIAL),
    ("sao2_percent", "C60832", blood_gas_loinc.SAO2),
)
_PRESSURE_UNITS: Final = {"mm[Hg]": "C49670", "kPa": "C67284"}
_MMOL_L = "C64387"


def arterial_blood(inputs: Mapping[str, Any]) -> list[tuple[Finding, str]]:
    """The blood gas values recorded, each with its LOINC code; pH has no unit."""
    units = {
        "ph": None,
        "pao2": _PRESSURE_UNITS[inputs.get("pressure_unit", "mm[Hg]")],
        "paco2": _PRESSURE_UNITS[inputs.get("pressure_unit", "mm[Hg]")],
        "hco3_mmol_l": _MMOL_L,
        "base_excess_mmol_l": _MMOL_L,
        "sao2_percent": _PERCENT,
    }
    findings = []
    for key, term, loinc in _BLOOD_GAS:
        if inputs.get(key) is None:
            continue
        test_code = codelist(LBTESTCD).value(term)
        finding = Finding(
            test_code,
            paired_value(LBTESTCD, LBTEST, test_code),
            float(inputs[key]),
            _unit(units[key]),
        )
        findings.append((finding, loinc))
    return findings


def arterial_blood_specimen() -> str:
    return codelist(SPECTYPE).value("C78729")


def number_text(value: float) -> str:
    """A recorded number as result text: 2.5 as "2.5", 450.0 as "450"."""
    return str(int(value)) if value.is_integer() else repr(value)
