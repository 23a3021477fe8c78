"""Everything a CTCAE criterion may read about one lab result, gathered from what was received.

The result's own facts and collection period (reading.py); its normal range, converted into the
value's unit when the range states another, with the limits it does not give taken from the
site's reference range (safety.reference_ranges: the site's own, else the shipped adult
default for the subject's sex and age); and the subject's baseline — unless given — the
latest result of the same LOINC code on or before the first infusion, from what this service
received (results before the AE reporting period are kept for exactly this).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from safety.ehr.reading import FACT_SYSTEM, EntryRejected, LabResult
from safety.ehr.repository import EarlierResult
from safety.grading import units
from safety.grading_assistance.schemas import LabFactsIn
from safety.reference_ranges.service import RangeLookup


def needs_site_range(result: LabResult) -> bool:
    """The Observation gives no normal range, or only one of its limits."""
    return result.low is None or result.high is None


def _in_unit(number: Decimal | None, source: str | None, target: str) -> Decimal | None:
    """A range bound in the value's unit; a bound in a unit of another kind is no bound."""
    if number is None or source is None or source == target:
        return number
    try:
        their, ours = units.parse_unit(source), units.parse_unit(target)
    except units.UnknownUnitError:
        return number if source.strip().lower() == target.strip().lower() else None
    if their.dimension is not ours.dimension:
        return None
    return round(units.convert(number, their, ours), 6)


def lab_facts(
    result: LabResult,
    *,
    site_range: RangeLookup | None = None,
    earlier: Callable[[], Sequence[EarlierResult]],
) -> LabFactsIn:
    """`site_range` gives a limit the Observation's own range does not; `earlier` the subject's
    results of the same test on or before the first infusion, latest first (asked only when the
    baseline is needed)."""
    unit = result.unit or ""
    lln = _in_unit(result.low, result.range_unit, unit)
    uln = _in_unit(result.high, result.range_unit, unit)
    if site_range is not None:
        lln = lln if lln is not None else site_range.low
        uln = uln if uln is not None else site_range.high
    given: dict[str, Any] = {"lln": lln, "uln": uln, **result.facts}
    if "collection_hours" not in given and result.collection_hours is not None:
        given["collection_hours"] = result.collection_hours
    if "baseline" not in given and result.unit is not None:
        given["baseline"] = _subject_baseline(result.unit, earlier)
    try:
        return LabFactsIn.model_validate(given)
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        raise EntryRejected(
            f"fact {name!r}: {first['msg']} (facts are coded in {FACT_SYSTEM}: "
            f"{', '.join(sorted(set(LabFactsIn.model_fields) - {'lln', 'uln'}))})"
        ) from None


def _subject_baseline(
    result_unit: str, earlier: Callable[[], Sequence[EarlierResult]]
) -> Decimal | None:
    """The subject's latest result of this test on or before the first infusion, in its unit."""
    try:
        unit = units.parse_unit(result_unit)
    except units.UnknownUnitError:
        return None
    for row in earlier():
        try:
            their_unit = units.parse_unit(row.unit)
        except units.UnknownUnitError:
            continue
        if their_unit.dimension is unit.dimension:
            return round(units.convert(row.value, their_unit, unit), 6)
    return None
