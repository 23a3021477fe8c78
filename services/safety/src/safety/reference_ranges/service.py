"""Reference ranges in force for a trial's site: the site's overrides, else the shipped adult
defaults; one range converted into the unit of the value it will grade."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from doseline import audit
from doseline.errors import InvalidInput, NotFound
from safety.ehr.loinc import lab_code
from safety.grading import units as u
from safety.problems import TRIAL_NOT_FOUND
from safety.protocols import repository as protocols
from safety.reference_ranges import repository
from safety.reference_ranges.models import ReferenceRangeRow, SiteReferenceRangesRow
from safety.reference_ranges.ranges import (
    RangeProblem,
    RangeRow,
    Sex,
    choose,
    problems,
    shipped_adult_ranges,
)


@dataclass(frozen=True)
class RangeLookup:
    """LLN and ULN in `unit` (None when no range applies; `missing` then names what would)."""

    low: Decimal | None
    high: Decimal | None
    unit: str
    origin: str
    missing: str | None


@dataclass(frozen=True)
class RangeInForce:
    """A range as the API lists it: the row and where it comes from."""

    row: RangeRow
    origin: str


def site_origin(site_id: str) -> str:
    return f"site {site_id} override"


def default_origin(row: RangeRow) -> str:
    return f"shipped adult default ({row.source})"


def _as_range(row: ReferenceRangeRow) -> RangeRow:
    return RangeRow(
        analyte=row.analyte,
        sex=Sex(row.sex),
        age_min=row.age_min,
        age_max=row.age_max,
        low=row.low,
        high=row.high,
        unit=row.unit,
        source=row.source,
    )


def _sex(value: str | None) -> Sex | None:
    if value is None:
        return None
    # FHIR administrative gender: other/unknown decide no sex-specific range.
    return {"female": Sex.FEMALE, "male": Sex.MALE}.get(value.strip().lower())


def reference_range(
    session: Session,
    *,
    trial_id: str,
    site_id: str,
    loinc: str,
    unit: str,
    sex: str | None,
    age_years: int | None,
) -> RangeLookup:
    """The LLN and ULN for a `loinc` result in `unit` of a subject at `site_id`: the site's
    override for the analyte if the site set one, else the shipped adult default."""
    code = lab_code(loinc)
    if code is None:
        return RangeLookup(None, None, unit, "none", f"a reference range for LOINC {loinc}")
    try:
        target = u.parse_unit(unit)
    except u.UnknownUnitError as error:
        return RangeLookup(None, None, unit, "none", f"a recognised unit for the value ({error})")
    overrides = [
        _as_range(row)
        for row in repository.ranges(session, trial_id, site_id, analyte=code.analyte)
    ]
    candidates = overrides or [row for row in shipped_adult_ranges() if row.analyte == code.analyte]

    def origin_of(row: RangeRow) -> str:
        return site_origin(site_id) if overrides else default_origin(row)

    choice = choose(candidates, analyte=code.analyte, sex=_sex(sex), age_years=age_years)
    if choice.row is None:
        missing = choice.missing or (
            f"a reference range for LOINC {loinc} ({code.analyte}): none is shipped; "
            f"set site {site_id}'s range"
        )
        return RangeLookup(None, None, unit, "none", missing)
    row = choice.row
    source = u.parse_unit(row.unit)
    if not u.convertible(code.analyte, source, target):
        return RangeLookup(
            None,
            None,
            unit,
            origin_of(row),
            f"a {code.analyte} range in a unit convertible to {unit} (it is in {row.unit})",
        )

    def converted(number: Decimal | None) -> Decimal | None:
        if number is None:
            return None
        return u.convert_analyte(number, source, target, analyte=code.analyte)

    return RangeLookup(converted(row.low), converted(row.high), unit, origin_of(row), None)


def ranges_in_force(session: Session, trial_id: str, site_id: str | None) -> list[RangeInForce]:
    """The site's overrides, then the shipped defaults of every analyte it did not override."""
    overrides = (
        []
        if site_id is None
        else [_as_range(r) for r in repository.ranges(session, trial_id, site_id)]
    )
    overridden = {row.analyte for row in overrides}
    return [
        *(RangeInForce(row, site_origin(site_id or "")) for row in overrides),
        *(
            RangeInForce(row, default_origin(row))
            for row in shipped_adult_ranges()
            if row.analyte not in overridden
        ),
    ]


def site_version(session: Session, trial_id: str, site_id: str) -> int:
    row = repository.site_set(session, trial_id, site_id)
    return 0 if row is None else row.version


def lock_site(
    session: Session, trial_id: str, site_id: str, *, actor: str
) -> SiteReferenceRangesRow:
    return repository.lock_site_set(session, trial_id, site_id, now=datetime.now(UTC), actor=actor)


def require_known_trial(session: Session, trial_id: str) -> None:
    """A trial safety has received a protocol for; another id is most likely a typo."""
    if not protocols.versions(session, trial_id):
        raise NotFound(f"trial {trial_id} is unknown to safety", problem=TRIAL_NOT_FOUND)


def _invalid(found: list[RangeProblem]) -> InvalidInput:
    errors = [
        {"loc": ["body", "ranges", str(problem.index), problem.field], "msg": problem.message}
        for problem in found
    ]
    first = found[0]
    return InvalidInput(
        f"body.ranges.{first.index}.{first.field}: {first.message}"
        + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""),
        extra={"errors": errors},
    )


def _audit_view(rows: list[RangeRow]) -> dict[str, Any]:
    return {"ranges": [asdict(row) for row in rows]}


def replace_site_ranges(
    session: Session,
    site: SiteReferenceRangesRow,
    rows: list[RangeRow],
    *,
    actor: str,
    reason: str | None,
) -> None:
    """Replace the site's overrides (the caller holds the site's lock); 422 naming every field
    that breaks a rule, nothing changed."""
    found = problems(rows)
    if found:
        raise _invalid(found)
    before = [_as_range(row) for row in repository.ranges(session, site.trial_id, site.site_id)]
    repository.replace_ranges(
        session,
        site.trial_id,
        site.site_id,
        [
            ReferenceRangeRow(
                trial_id=site.trial_id,
                site_id=site.site_id,
                position=position,
                analyte=row.analyte,
                sex=row.sex.value,
                age_min=row.age_min,
                age_max=row.age_max,
                low=row.low,
                high=row.high,
                unit=row.unit,
                source=row.source,
            )
            for position, row in enumerate(rows)
        ],
    )
    site.version += 1
    site.updated_at = datetime.now(UTC)
    site.updated_by = actor
    audit.record(
        session,
        actor=actor,
        action="reference_ranges.replaced",
        entity_type="site_reference_ranges",
        entity_id=f"{site.trial_id}/{site.site_id}",
        before=_audit_view(before),
        after=_audit_view(rows),
        reason=reason,
    )
