"""How the intake answers an entry it did not grade, and a report or panel as a whole."""

from __future__ import annotations

from collections import Counter
from typing import Final

from safety.ehr.plan import Planned, Work
from safety.ehr.reading import LabResult
from safety.ehr.schemas import LabIntakeOut

# Observation categories (http://terminology.hl7.org/CodeSystem/observation-category) that are
# not laboratory results, for the reason a skipped entry gives.
_CATEGORY_NAMES: Final = {
    "vital-signs": "a vital sign",
    "social-history": "social history",
    "survey": "a survey answer",
    "exam": "an examination finding",
    "imaging": "an imaging result",
    "procedure": "a procedure result",
    "therapy": "a therapy record",
    "activity": "an activity measurement",
}
CONCURRENT: Final = "delivered concurrently by another request; resend to see its outcome"


def refused(work: Work, status: int, detail: str) -> LabIntakeOut:
    observation_id, version_id = work.key
    return LabIntakeOut.of(
        status, "rejected", detail, observation_id=observation_id, version_id=version_id
    )


def group_answer(item: Planned, results: list[LabIntakeOut]) -> LabIntakeOut:
    resource = item.entry.resource or {}
    label = f"{resource.get('resourceType')}/{resource.get('id') or item.entry.full_url or '-'}"
    parts = []
    if item.in_bundle:
        parts.append(f"{item.in_bundle} of its results are answered in their own entries")
    if results:
        counts = Counter(result.outcome for result in results)
        parts.append(
            f"{len(results)} contained results: "
            + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        )
    if item.unresolved:
        shown = ", ".join(item.unresolved[:5])
        parts.append(
            f"{len(item.unresolved)} results are neither in this Bundle nor contained ({shown})"
        )
    if not parts:
        parts.append("it names no results")
    created = any(result.status.startswith("201") for result in results)
    return LabIntakeOut.of(
        201 if created else 200, "report", f"{label}: " + "; ".join(parts), results=results
    )


def not_graded(result: LabResult) -> str:
    kinds = [_CATEGORY_NAMES[c] for c in result.categories if c in _CATEGORY_NAMES]
    if not result.loinc_codes:
        return (
            "not graded: Observation.code has no LOINC coding (system http://loinc.org), so no "
            "CTCAE term can be chosen for it"
        )
    if kinds:
        return f"not graded: {result.describe_code()} is {kinds[0]}, not a laboratory result"
    return (
        f"not graded: no CTCAE v5.0 term is graded from {result.describe_code()} "
        "(the codes graded are listed by `safety loinc-coverage`)"
    )


def clinical_summary(result: LabResult) -> dict[str, object]:
    effective = result.effective
    return {
        "loinc": result.loinc_codes[0] if result.loinc_codes else None,
        "value": str(result.value) if result.value is not None else None,
        "unit": result.unit,
        "effective": effective.isoformat() if effective is not None else None,
        "status": result.status,
    }
