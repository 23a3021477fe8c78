"""The trial protocol as a document: pydantic models of its YAML, validated at load, and its hash.

A protocol file states every rule the enrollment service executes (dose ladder, dose-finding
design and its parameters, infusion and visit schedules, DLT window, evaluability, eligibility
criteria, enrolment cap, DLT rule set). Nothing here is a constant of the code: the next trial
changes the file. ``load_protocol`` turns YAML into a frozen ``Protocol`` or raises
``ProtocolError`` naming every offending field
(``dose_escalation.dose_levels[1].per_kg: must be greater than 0``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from yaml.nodes import MappingNode, Node, SequenceNode

from doseline import sitetime
from doseline.contracts.protocol import (
    WALK_COURSE_LENGTH_M,
    AeReportingPeriod,
    DltRules,
    DltWindowRules,
    FollowUpVisitRule,
    IdentifierSystemRules,
    InfusionScheduleRules,
    SiteRules,
    StudyDayConvention,
    TrialRules,
    VisitRules,
)
from doseline.contracts.protocol import Window as RulesWindow
from doseline.sitetime import add_months
from escalation import (
    Design,
    DesignDocumentError,
    DoseFindingDesign,
    DoseRounding,
    Variant,
    design_from_document,
)
from escalation.documents import DESIGNS
from escalation.dosing import MAX_WEIGHT_KG

# The first format of the document itself; the protocol's own version is ``protocol.version``.
FORMAT_VERSION = 1

# Protocols shipped with the service (editable installs and the source tree).
PROTOCOLS_DIR = Path(__file__).resolve().parents[3] / "protocols"

_IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class _Section(BaseModel):
    """A part of the protocol document: immutable, and unknown keys are errors (typos caught)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------
# Identity, trial and site


class ProtocolIdentity(_Section):
    """Which protocol and which version of it; both are recorded with every decision."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9-]*$")
    version: str = Field(min_length=1, max_length=32, pattern=r"^\S+$")
    title: str = Field(min_length=1)


class TrialDescription(_Section):
    """What the registry says the trial is (registry summary: Study Type, Allocation, ...)."""

    title: str = Field(min_length=1)
    phase: str = Field(min_length=1)
    study_type: str = Field(min_length=1)
    allocation: str = Field(min_length=1)
    masking: str = Field(min_length=1)
    purpose: str = Field(min_length=1)
    product: str = Field(min_length=1)
    route: str = Field(min_length=1)
    indication: str = Field(min_length=1)


# The id a protocol written before `sites` (one `site:` section) gives its only site; subjects
# registered before sites existed belong to it (migration 0005_sites).
LEGACY_SITE_ID = "default"


class Site(_Section):
    """A trial site; its IANA time zone turns instants into the site's calendar days."""

    id: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Stable id, carried by tokens (`sites` claim) and by every subject event",
    )
    name: str = Field(min_length=1)
    city: str = Field(min_length=1)
    country: str = Field(min_length=1)
    time_zone: str = Field(min_length=1)
    # The same model as the protocol event's, so the document and the event cannot disagree.
    identifier_systems: tuple[IdentifierSystemRules, ...] = Field(
        default=(),
        description=(
            "Hospital identifier systems the site uses, each with its aliases; a registration"
            " names one of them (422 otherwise). Empty: any system, taken as it is named"
        ),
    )
    walk_course_length_m: float = Field(
        default=WALK_COURSE_LENGTH_M,
        gt=0,
        le=100,
        description="Six-minute walk course length at the site, m (ATS 2002 standard: 30)",
    )

    @field_validator("identifier_systems")
    @classmethod
    def _each_name_names_one_system(
        cls, systems: tuple[IdentifierSystemRules, ...]
    ) -> tuple[IdentifierSystemRules, ...]:
        return SiteRules.validate_identifier_systems(systems)

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        if not sitetime.is_known_time_zone(value):
            raise ValueError(
                f"{value!r} is not an IANA time zone name (for example 'Asia/Shanghai')"
            ) from None
        return value

    def date_of(self, moment: datetime) -> date:
        """The site's calendar date at ``moment``; a naive datetime is refused (zone unknown)."""
        return sitetime.site_date(moment, self.time_zone)


class Enrolment(_Section):
    """Planned enrolment (registry summary: "Enrollment 15") and slot reservations."""

    cap: int = Field(ge=1)
    slot_reservation_expiry_hours: int = Field(ge=1)

    @property
    def slot_reservation_expiry(self) -> timedelta:
        return timedelta(hours=self.slot_reservation_expiry_hours)


# --------------------------------------------------------------------------------------------
# Dose ladder and the dose-finding design


class DoseLevel(_Section):
    """One rung of the dose ladder, per kilogram of body weight."""

    level: int = Field(ge=1)
    label: str = Field(min_length=1)
    per_kg: Decimal = Field(gt=0, allow_inf_nan=False)
    # Documentation only: the dose the summary quotes for the reference patient.
    reference_dose: Decimal = Field(gt=0, allow_inf_nan=False)


class DesignOptions(_Section):
    """The A+B design (3+3 and its variants), mapped one to one onto ``escalation.Design``.

    ``design: a+b`` may be written or left out: documents written before other designs existed
    have no ``design`` key, and they mean this one."""

    design: Literal["a+b"] = "a+b"
    variant: Variant
    cohort_size: int = Field(default=3, ge=1)
    expansion_size: int = Field(default=3, ge=1)
    max_dlts_to_escalate: int = Field(default=0, ge=0)
    max_dlts_to_expand: int = Field(default=1, ge=0)
    max_dlts_in_expanded: int = Field(default=1, ge=0)
    start_dose: int = Field(default=1, ge=1)
    allow_below_start: bool = True
    # PROTOCOL.md: the literal "stop as soon as any dose has 6 patients" is optional, off.
    stop_when_any_dose_has: int | None = Field(default=None, ge=1)
    max_patients: int | None = Field(default=None, ge=1)


# The designs of `libs/escalation` other than A+B, named by their document's ``design`` key.
MODEL_DESIGNS = tuple(kind for kind in DESIGNS if kind != Design.kind)


class DesignDocument(_Section):
    """A design other than A+B (BOIN, i3+3, mTPI-2, CRM) as `libs/escalation` documents it:
    ``design`` names it and every other key is one of its parameters. The parameters are
    validated by ``escalation.design_from_document`` (the same rules as the command line's
    ``--design-file``); ``num_doses`` is the number of levels on the ladder."""

    model_config = ConfigDict(extra="allow", frozen=True)

    design: str

    @field_validator("design")
    @classmethod
    def _known_design(cls, value: str) -> str:
        if value not in MODEL_DESIGNS:
            raise ValueError(f"{value!r} is not one of {', '.join(DESIGNS)}")
        return value

    @property
    def parameters(self) -> dict[str, Any]:
        """The design's parameters as written (every key but ``design``)."""
        return dict(self.model_extra or {})


# Union tags: pydantic puts them into error locations, where they name no key of the document.
_A_PLUS_B_TAG = "a+b design"
_DOCUMENT_TAG = "design document"
_DESIGN_TAGS = frozenset({_A_PLUS_B_TAG, _DOCUMENT_TAG})


def _design_tag(value: Any) -> str:
    """A+B when ``design`` is absent or ``a+b``; a design document for any other name."""
    if isinstance(value, dict):
        kind = value.get("design", Design.kind)
    else:
        kind = getattr(value, "design", Design.kind)
    return _A_PLUS_B_TAG if kind == Design.kind else _DOCUMENT_TAG


DesignChoice = Annotated[
    Annotated[DesignOptions, Tag(_A_PLUS_B_TAG)] | Annotated[DesignDocument, Tag(_DOCUMENT_TAG)],
    Discriminator(_design_tag),
]


class DoseEscalation(_Section):
    """The per-kg dose ladder and the dose-finding design that moves between its levels."""

    unit: Literal["cells/kg"]
    reference_weight_kg: Decimal = Field(gt=0, allow_inf_nan=False)
    dose_levels: tuple[DoseLevel, ...] = Field(min_length=1)
    design: DesignChoice

    @model_validator(mode="after")
    def _ladder_is_consistent(self) -> DoseEscalation:
        for index, level in enumerate(self.dose_levels):
            if level.level != index + 1:
                raise ValueError(
                    f"dose_levels[{index}] has level {level.level}; levels are numbered 1, 2, ..."
                    " in order"
                )
        for lower, upper in itertools.pairwise(self.dose_levels):
            if upper.per_kg <= lower.per_kg:
                raise ValueError(
                    f"level {upper.level} ({upper.per_kg} cells/kg) is not above level"
                    f" {lower.level} ({lower.per_kg} cells/kg): the ladder must rise"
                )
        for level in self.dose_levels:
            # The reference dose is written with the precision the summary uses ("2.0×10^7"),
            # so it must equal per-kg × reference weight at that many significant figures.
            figures = len(level.reference_dose.as_tuple().digits)
            expected = DoseRounding(significant_figures=figures).apply(
                level.per_kg * self.reference_weight_kg
            )
            if expected != level.reference_dose:
                raise ValueError(
                    f"level {level.level}: reference_dose {level.reference_dose} cells does not"
                    f" match {level.per_kg} cells/kg × {self.reference_weight_kg} kg ="
                    f" {level.per_kg * self.reference_weight_kg} cells at {figures} significant"
                    " figures"
                )
        try:
            self.to_design()
        except DesignDocumentError as error:
            raise _design_document_error(error) from None
        except ValueError as error:
            raise ValueError(f"design: {error}") from None
        return self

    def to_design(self) -> DoseFindingDesign:
        """The design the document chooses, over the levels of this ladder."""
        options = self.design
        if isinstance(options, DesignDocument):
            return _design_of_document(options, num_doses=len(self.dose_levels))
        return Design(
            num_doses=len(self.dose_levels),
            variant=options.variant,
            cohort_size=options.cohort_size,
            expansion_size=options.expansion_size,
            max_dlts_to_escalate=options.max_dlts_to_escalate,
            max_dlts_to_expand=options.max_dlts_to_expand,
            max_dlts_in_expanded=options.max_dlts_in_expanded,
            start_dose=options.start_dose,
            allow_below_start=options.allow_below_start,
            stop_when_any_dose_has=options.stop_when_any_dose_has,
            max_patients=options.max_patients,
        )

    @property
    def design_variant(self) -> str:
        """An A+B design's variant (``expand-top``), or the design's name (``boin``)."""
        if isinstance(self.design, DesignDocument):
            return self.design.design
        return self.design.variant.value

    @property
    def max_sample_size(self) -> int | None:
        """The most patients the design treats, where the document bounds it: a design
        document's sample size (``num_cohorts`` × ``cohort_size``), or A+B's ``max_patients``."""
        if isinstance(self.design, DesignDocument):
            return self.to_design().max_sample_size
        return self.design.max_patients

    def level(self, number: int) -> DoseLevel:
        """The dose level numbered ``number`` (1 = lowest); an unknown level is a ``KeyError``."""
        if isinstance(number, bool) or not 1 <= number <= len(self.dose_levels):
            raise KeyError(
                f"dose level {number!r} is not on the ladder (levels 1 to {len(self.dose_levels)})"
            )
        return self.dose_levels[number - 1]


def _design_of_document(options: DesignDocument, *, num_doses: int) -> DoseFindingDesign:
    parameters = options.parameters
    given = parameters.get("num_doses", num_doses)
    if given != num_doses:
        raise DesignDocumentError(
            "num_doses",
            f"is {given!r}, but the ladder has {num_doses} dose levels; leave it out (the"
            " ladder sets it) or make it match dose_levels",
        )
    return design_from_document({**parameters, "design": options.design, "num_doses": num_doses})


def _design_document_error(error: DesignDocumentError) -> ValidationError:
    """The library's refusal as a validation error at the key it names, so that the loader
    reports its line and column like any other field's."""
    location = ("design", error.key) if error.key else ("design",)
    return ValidationError.from_exception_data(
        "DoseEscalation",
        [
            InitErrorDetails(
                type=PydanticCustomError("design", "{problem}", {"problem": error.problem}),
                loc=location,
                input=None,
            )
        ],
    )


# --------------------------------------------------------------------------------------------
# Dosing: rounding, weight


class Rounding(_Section):
    """Dose rounding: exactly one of significant figures or decimal places (half up)."""

    significant_figures: int | None = Field(default=3, ge=1, le=100)
    decimal_places: int | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _exactly_one(self) -> Rounding:
        if (self.significant_figures is None) == (self.decimal_places is None):
            raise ValueError(
                "set exactly one of significant_figures and decimal_places (the other to null)"
            )
        return self

    def to_dose_rounding(self) -> DoseRounding:
        return DoseRounding(
            significant_figures=self.significant_figures, decimal_places=self.decimal_places
        )


class WeightRange(_Section):
    """Plausible body weights in kg: anything outside is taken as an entry or unit error."""

    minimum: Decimal = Field(gt=0, allow_inf_nan=False)
    maximum: Decimal = Field(gt=0, le=MAX_WEIGHT_KG, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> WeightRange:
        if self.minimum >= self.maximum:
            raise ValueError(f"minimum {self.minimum} kg must be below maximum {self.maximum} kg")
        return self


class WeightRules(_Section):
    """When a body weight may be used for dosing, and which values are believable."""

    max_age_days: int = Field(ge=0)
    plausible_range_kg: WeightRange


class RedoseOnNewWeight(_Section):
    """When a weight measured again before a later infusion re-computes that infusion's dose.

    The rule: infusion n (n ≥ 2) is dosed from the latest weight recorded after the series
    weight (the one infusion 1 was dosed with) and measured at most
    ``dosing.weight.max_age_days`` days before infusion n's planned day, when that weight
    differs from the series weight by at least ``min_change_percent`` percent of it; otherwise
    the series weight still doses it. Both weights and the rule are kept on the preparation.
    """

    min_change_percent: Decimal = Field(gt=0, le=100, allow_inf_nan=False)

    def describe(self) -> str:
        return (
            f"re-dose when a weight measured again differs from the series weight by at least"
            f" {self.min_change_percent}%"
        )


class Dosing(_Section):
    """Per-patient dose = per-kg dose × measured weight, rounded, optionally at a capped weight."""

    rounding: Rounding
    weight_cap_kg: Decimal | None = Field(default=None, gt=0, le=MAX_WEIGHT_KG, allow_inf_nan=False)
    weight: WeightRules
    # PROTOCOL.md: one weight, measured before the first infusion, doses the whole series.
    redose_on_new_weight: RedoseOnNewWeight | None = Field(
        default=None,
        description=(
            "Re-compute a later infusion's dose from a weight measured again before it;"
            " null (the default): the first infusion's weight doses the whole series"
        ),
    )

    @model_validator(mode="after")
    def _cap_is_plausible(self) -> Dosing:
        plausible = self.weight.plausible_range_kg
        if self.weight_cap_kg is not None and self.weight_cap_kg < plausible.minimum:
            raise ValueError(
                f"weight_cap_kg {self.weight_cap_kg} is below the plausible minimum"
                f" {plausible.minimum} kg: every patient would be dosed at the cap"
            )
        return self


# --------------------------------------------------------------------------------------------
# Schedules and windows


class Window(_Section):
    """Calendar days allowed before and after a target day, both ends included."""

    before_days: int = Field(ge=0)
    after_days: int = Field(ge=0)


class InfusionRules(_Section):
    """Planned infusion days (day 1 = first infusion) and the window around each."""

    count: int = Field(ge=1)
    interval_days: int | None = Field(default=None, ge=1)
    days: tuple[int, ...] = Field(min_length=1)
    window: Window

    @model_validator(mode="after")
    def _days_match(self) -> InfusionRules:
        if len(self.days) != self.count:
            raise ValueError(f"days lists {len(self.days)} infusions but count is {self.count}")
        if self.days[0] != 1:
            raise ValueError(f"days must start at 1 (the first infusion), not {self.days[0]}")
        gaps = [later - earlier for earlier, later in itertools.pairwise(self.days)]
        if any(gap <= 0 for gap in gaps):
            raise ValueError(f"days {list(self.days)} must increase strictly")
        if self.interval_days is not None and any(gap != self.interval_days for gap in gaps):
            raise ValueError(
                f"days {list(self.days)} are not every {self.interval_days} days (interval_days)"
            )
        # Overlapping windows would make an administration date belong to two infusions.
        reach = self.window.before_days + self.window.after_days
        if any(gap <= reach for gap in gaps):
            raise ValueError(
                f"windows of -{self.window.before_days}/+{self.window.after_days} days overlap"
                f" for infusion days {list(self.days)}"
            )
        return self


class EvaluabilityRules(_Section):
    """Who counts for the 3+3 rules (PROTOCOL.md default), and what happens to the others."""

    required_infusions: int = Field(ge=1)
    requires_completed_window: bool
    confirmed_dlt_makes_evaluable: bool
    replace_non_evaluable: bool
    # The protocol is silent on a minimum dose (docs/adr/0016): these infusions count only
    # when given in full (the whole dose of the assigned level for the subject's weight); any
    # other infusion counts when any of its dose was given.
    full_dose_infusions: tuple[int, ...] = Field(default=(1,), max_length=100)

    @field_validator("full_dose_infusions")
    @classmethod
    def _listed_once(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(number < 1 for number in value):
            raise ValueError("infusion numbers start at 1")
        if len(set(value)) != len(value):
            raise ValueError(f"{list(value)} lists an infusion twice")
        return tuple(sorted(value))


class Assessment(StrEnum):
    """Scheduled outcome assessments (PROTOCOL.md, "Outcomes and when they are measured")."""

    CHEST_CT = "chest-ct"
    BLOOD_GAS = "blood-gas"
    PULMONARY_FUNCTION = "pulmonary-function"
    SIX_MINUTE_WALK = "six-minute-walk"
    SGRQ = "sgrq"


class BaselineVisit(_Section):
    """Baseline: before the first infusion, at most ``window_days_before_first_infusion`` days."""

    id: str = Field(pattern=_IDENTIFIER)
    label: str = Field(min_length=1)
    window_days_before_first_infusion: int = Field(ge=0)
    assessments: tuple[Assessment, ...] = Field(min_length=1)

    @field_validator("assessments")
    @classmethod
    def _no_repeats(cls, value: tuple[Assessment, ...]) -> tuple[Assessment, ...]:
        return _unique_assessments(value)


class FollowUpVisit(_Section):
    """A visit ``months_after_last_infusion`` calendar months after the last infusion."""

    id: str = Field(pattern=_IDENTIFIER)
    label: str = Field(min_length=1)
    months_after_last_infusion: int = Field(ge=1)
    window: Window
    assessments: tuple[Assessment, ...] = Field(min_length=1)

    @field_validator("assessments")
    @classmethod
    def _no_repeats(cls, value: tuple[Assessment, ...]) -> tuple[Assessment, ...]:
        return _unique_assessments(value)


def _unique_assessments(value: tuple[Assessment, ...]) -> tuple[Assessment, ...]:
    repeated = sorted({a.value for a in value if value.count(a) > 1})
    if repeated:
        raise ValueError(f"assessments listed twice: {', '.join(repeated)}")
    return value


class VisitSchedule(_Section):
    """Baseline and follow-up visits with their windows and assessments."""

    baseline: BaselineVisit
    follow_up: tuple[FollowUpVisit, ...] = Field(min_length=1)
    # PROTOCOL.md: adverse events are collected continuously for 1 year, not at visits.
    adverse_events_continuous_months: int = Field(ge=1)

    @model_validator(mode="after")
    def _visits_are_ordered_and_separate(self) -> VisitSchedule:
        ids = [self.baseline.id, *(visit.id for visit in self.follow_up)]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"visit ids must be unique: {', '.join(repeated)} repeated")
        months = [visit.months_after_last_infusion for visit in self.follow_up]
        if any(later <= earlier for earlier, later in itertools.pairwise(months)):
            raise ValueError(f"follow-up months {months} must increase strictly")
        first = self.follow_up[0]
        if first.window.before_days >= _shortest_span_days(0, first.months_after_last_infusion):
            raise ValueError(
                f"the {first.id} window opens on or before the last infusion day: follow-up"
                " visits come after treatment"
            )
        for earlier, later in itertools.pairwise(self.follow_up):
            span = _shortest_span_days(
                earlier.months_after_last_infusion, later.months_after_last_infusion
            )
            if earlier.window.after_days + later.window.before_days >= span:
                raise ValueError(
                    f"the windows of {earlier.id} (+{earlier.window.after_days} days) and"
                    f" {later.id} (-{later.window.before_days} days) can overlap: they may be as"
                    f" little as {span} days apart"
                )
        return self


@lru_cache(maxsize=256)
def _shortest_span_days(months_a: int, months_b: int) -> int:
    # Month lengths repeat over four years apart from century years, and the leap and common
    # Februaries of one four-year cycle already give every shortest span.
    start = date(2024, 1, 1)
    return min(
        (add_months(day, months_b) - add_months(day, months_a)).days
        for day in (start + timedelta(days=offset) for offset in range(4 * 366))
    )


# --------------------------------------------------------------------------------------------
# Eligibility criteria


class AnswerType(StrEnum):
    """How a criterion is answered at screening."""

    YES_NO = "yes-no"
    NUMBER = "number"


class DateEvidence(_Section):
    """A supporting date (e.g. of the diagnostic chest CT): never after the screening date."""

    kind: Literal["date"]
    label: str = Field(min_length=1)
    max_age_days: int | None = Field(default=None, ge=0)


class GradeEvidence(_Section):
    """A supporting CTCAE grade of a named term, within the grades the criterion accepts."""

    kind: Literal["ctcae-grade"]
    label: str = Field(min_length=1)
    term: str = Field(min_length=1)
    minimum: int = Field(default=1, ge=1, le=5)
    maximum: int = Field(default=5, ge=1, le=5)

    @model_validator(mode="after")
    def _ordered(self) -> GradeEvidence:
        if self.minimum > self.maximum:
            raise ValueError(f"minimum grade {self.minimum} is above maximum {self.maximum}")
        return self


Evidence = Annotated[DateEvidence | GradeEvidence, Field(discriminator="kind")]


class Criterion(_Section):
    """One inclusion or exclusion criterion, with its answer type and the evidence it needs."""

    id: str = Field(pattern=_IDENTIFIER)
    text: str = Field(min_length=1)
    answer: AnswerType
    minimum: Decimal | None = Field(default=None, allow_inf_nan=False)
    maximum: Decimal | None = Field(default=None, allow_inf_nan=False)
    unit: str | None = None
    evidence: Evidence | None = None

    @model_validator(mode="after")
    def _bounds_match_answer(self) -> Criterion:
        bounded = self.minimum is not None or self.maximum is not None
        if self.answer is AnswerType.NUMBER and not bounded:
            raise ValueError("a number criterion needs a minimum or a maximum")
        if self.answer is AnswerType.YES_NO and (bounded or self.unit is not None):
            raise ValueError("a yes-no criterion takes no minimum, maximum or unit")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"minimum {self.minimum} is above maximum {self.maximum}")
        return self


class EligibilityCriteria(_Section):
    """Inclusion criteria (all must be met) and exclusion criteria (none may apply)."""

    inclusion: tuple[Criterion, ...] = Field(min_length=1)
    exclusion: tuple[Criterion, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> EligibilityCriteria:
        ids = [criterion.id for criterion in self.all]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"criterion ids must be unique: {', '.join(repeated)} repeated")
        return self

    @property
    def all(self) -> tuple[Criterion, ...]:
        return (*self.inclusion, *self.exclusion)


# --------------------------------------------------------------------------------------------
# DLT rule set (data only; the safety service evaluates it)


# The models are the kit's (doseline.contracts.protocol): the document is validated with the
# same definitions the protocol event carries to safety, so the two cannot disagree.


# --------------------------------------------------------------------------------------------
# The whole document


@dataclass(frozen=True)
class ProtocolStamp:
    """What a decision records about the protocol it used: id, version, content hash."""

    protocol_id: str
    version: str
    content_hash: str

    def __str__(self) -> str:
        return f"{self.protocol_id} v{self.version} ({self.content_hash})"


class Protocol(_Section):
    """A validated protocol document. ``content_hash`` identifies exactly the rules it holds."""

    format_version: Literal[1]
    protocol: ProtocolIdentity
    trial: TrialDescription
    sites: list[Site] = Field(min_length=1)
    study_day: StudyDayConvention
    ctcae_version: Literal["5.0"]
    enrolment: Enrolment
    dose_escalation: DoseEscalation
    dosing: Dosing
    infusions: InfusionRules
    dlt_window: DltWindowRules
    evaluability: EvaluabilityRules
    visits: VisitSchedule
    eligibility: EligibilityCriteria
    dlt_rules: DltRules

    @model_validator(mode="before")
    @classmethod
    def _one_site_is_a_list_of_one(cls, data: Any) -> Any:
        # Documents written before `sites` have one `site:` section, without an id.
        if isinstance(data, dict) and "site" in data and "sites" not in data:
            data = dict(data)
            legacy = data.pop("site")
            data["sites"] = [
                {"id": LEGACY_SITE_ID, **legacy} if isinstance(legacy, dict) else legacy
            ]
        return data

    @field_validator("sites")
    @classmethod
    def _site_ids_are_unique(cls, sites: list[Site]) -> list[Site]:
        ids = [site.id for site in sites]
        duplicates = sorted({site_id for site_id in ids if ids.count(site_id) > 1})
        if duplicates:
            raise ValueError(f"the site ids {duplicates} are listed more than once")
        return sites

    @model_validator(mode="after")
    def _sections_agree(self) -> Protocol:
        if self.evaluability.required_infusions > self.infusions.count:
            raise ValueError(
                f"evaluability.required_infusions {self.evaluability.required_infusions} exceeds"
                f" infusions.count {self.infusions.count}"
            )
        beyond = [n for n in self.evaluability.full_dose_infusions if n > self.infusions.count]
        if beyond:
            raise ValueError(
                f"evaluability.full_dose_infusions names infusion(s) {beyond} beyond"
                f" infusions.count {self.infusions.count}"
            )
        if self.dlt_rules.ctcae_version != self.ctcae_version:
            raise ValueError(
                f"dlt_rules.ctcae_version {self.dlt_rules.ctcae_version} differs from the"
                f" protocol's CTCAE version {self.ctcae_version}"
            )
        self._design_fits_the_enrolment_cap()
        return self

    def _design_fits_the_enrolment_cap(self) -> None:
        most = self.dose_escalation.max_sample_size
        if most is None or most <= self.enrolment.cap:
            return
        if isinstance(self.dose_escalation.design, DesignOptions):
            raise ValueError(
                f"dose_escalation.design.max_patients {most} exceeds enrolment.cap"
                f" {self.enrolment.cap}"
            )
        raise ValueError(
            f"dose_escalation.design treats up to {most} patients (num_cohorts × cohort_size),"
            f" more than enrolment.cap {self.enrolment.cap}"
        )

    @property
    def protocol_id(self) -> str:
        return self.protocol.id

    @property
    def trial_id(self) -> str:
        """The trial code; subject ids are issued under it (``HDMSC-RP-01-001``)."""
        return self.protocol.id

    @property
    def version(self) -> str:
        return self.protocol.version

    @property
    def site(self) -> Site:
        """The default site: the first listed, where a subject registered without one goes."""
        return self.sites[0]

    def site_by_id(self, site_id: str) -> Site | None:
        return next((site for site in self.sites if site.id == site_id), None)

    @property
    def time_zone(self) -> str:
        """The default site's IANA time zone name."""
        return self.site.time_zone

    def design(self) -> DoseFindingDesign:
        """The dose-finding design this protocol's dose ladder and design section describe."""
        return self.dose_escalation.to_design()

    @property
    def content_hash(self) -> str:
        """``sha256:`` of the normalised document: comments, layout, key order and number
        spelling (``3.3e5`` or ``330000``) do not change it; any rule does.

        Computed on each call (not cached), so a copy with changed values never carries the
        hash of the original."""
        document = self.model_dump(mode="python")
        design = document["dose_escalation"]["design"]
        # An A+B design hashes as documents written before `design` named it.
        if design["design"] == Design.kind:
            del design["design"]
        for site in document["sites"]:
            # A site declaring no identifier systems hashes as documents written before the
            # field existed: their versions keep the hash they were stored under.
            if not site["identifier_systems"]:
                del site["identifier_systems"]
            # Likewise a site on the standard walk course.
            if site["walk_course_length_m"] == WALK_COURSE_LENGTH_M:
                del site["walk_course_length_m"]
        # Likewise the dosing and evaluability options at their defaults.
        if document["dosing"]["redose_on_new_weight"] is None:
            del document["dosing"]["redose_on_new_weight"]
        if document["evaluability"]["full_dose_infusions"] == (1,):
            del document["evaluability"]["full_dose_infusions"]
        canonical = json.dumps(
            document,
            default=_canonical_value,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def trial_rules(self) -> TrialRules:
        """Every rule other services apply, as the protocol event carries them."""
        visits = self.visits
        return TrialRules(
            study_day=self.study_day,
            sites=tuple(
                SiteRules(
                    id=site.id,
                    name=site.name,
                    time_zone=site.time_zone,
                    identifier_systems=site.identifier_systems,
                    walk_course_length_m=site.walk_course_length_m,
                )
                for site in self.sites
            ),
            dlt_window=self.dlt_window,
            dlt_rules=self.dlt_rules,
            ae_reporting_period=AeReportingPeriod(
                months_after_last_infusion=visits.adverse_events_continuous_months
            ),
            infusions=InfusionScheduleRules(
                days=self.infusions.days,
                window=RulesWindow(**self.infusions.window.model_dump()),
            ),
            visits=VisitRules(
                baseline_id=visits.baseline.id,
                baseline_days_before_first_infusion=visits.baseline.window_days_before_first_infusion,
                baseline_assessments=tuple(a.value for a in visits.baseline.assessments),
                follow_up=tuple(
                    FollowUpVisitRule(
                        id=visit.id,
                        months_after_last_infusion=visit.months_after_last_infusion,
                        window=RulesWindow(**visit.window.model_dump()),
                        assessments=tuple(a.value for a in visit.assessments),
                    )
                    for visit in visits.follow_up
                ),
            ),
        )

    def stamp(self) -> ProtocolStamp:
        return ProtocolStamp(
            protocol_id=self.protocol.id,
            version=self.protocol.version,
            content_hash=self.content_hash,
        )


def _canonical_value(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no canonical form in a protocol document")


# --------------------------------------------------------------------------------------------
# Loading and errors


@dataclass(frozen=True)
class ProtocolIssue:
    """One problem in a protocol document: where (field path, and line when known) and what."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line}, column {self.column})" if self.line is not None else ""
        return f"{self.path}: {self.message}{where}"


class ProtocolError(ValueError):
    """A protocol document that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[ProtocolIssue]) -> None:
        self.issues = tuple(issues)
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(f"invalid protocol document ({len(self.issues)} problem(s)):\n{lines}")


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML loading that refuses duplicate keys, which plain YAML silently overwrites."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found the key {key!r} twice",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_protocol(path_or_text: Path | str) -> Protocol:
    """Read and validate a protocol document.

    A ``Path``, or a one-line string ending in ``.yaml``/``.yml``, is read as a file; any other
    string is the YAML text itself. Raises ``ProtocolError`` listing every problem.
    """
    if isinstance(path_or_text, Path) or _looks_like_a_path(path_or_text):
        path = Path(path_or_text)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ProtocolError(
                [ProtocolIssue(str(path), f"cannot read the file: {error.strerror}")]
            ) from None
    else:
        text = path_or_text
    node, data = _parse_yaml(text)
    if not isinstance(data, dict):
        raise ProtocolError(
            [ProtocolIssue("(document)", "must be a mapping of sections (protocol, trial, ...)")]
        )
    try:
        return Protocol.model_validate(data)
    except ValidationError as error:
        raise ProtocolError(
            [_issue(list(detail["loc"]), detail["msg"], node) for detail in error.errors()]
        ) from None


def load_shipped_protocol(name: str) -> Protocol:
    """A protocol shipped in ``services/enrollment/protocols`` by file stem (``hdmsc-rp-01``)."""
    return load_protocol(PROTOCOLS_DIR / f"{name}.yaml")


def _looks_like_a_path(text: str) -> bool:
    stripped = text.strip()
    return "\n" not in stripped and stripped.endswith((".yaml", ".yml"))


def _parse_yaml(text: str) -> tuple[Node | None, object]:
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = "; ".join(part for part in (error.context, error.problem) if part)
        raise ProtocolError(
            [
                ProtocolIssue(
                    "(yaml)",
                    f"not valid YAML: {problem or 'syntax error'}",
                    line=mark.line + 1 if mark else None,
                    column=mark.column + 1 if mark else None,
                )
            ]
        ) from None
    except yaml.YAMLError as error:
        raise ProtocolError([ProtocolIssue("(yaml)", f"not valid YAML: {error}")]) from None
    finally:
        loader.dispose()
    if node is None:
        raise ProtocolError([ProtocolIssue("(document)", "the document is empty")])
    return node, data


def _issue(loc: list[int | str], message: str, root: Node | None) -> ProtocolIssue:
    path, node = _locate(loc, root)
    if loc and (
        message == "Extra inputs are not permitted"
        or message.startswith("is not a parameter of the ")
    ):
        # Point at the misspelt key itself rather than at its value.
        node = _key(_locate(loc[:-1], root)[1], loc[-1]) or node
    mark = node.start_mark if node is not None else None
    return ProtocolIssue(
        path=path or "(document)",
        message=_plain_message(message),
        line=mark.line + 1 if mark else None,
        column=mark.column + 1 if mark else None,
    )


def _locate(loc: list[int | str], root: Node | None) -> tuple[str, Node | None]:
    """The dotted field path of a pydantic error location, and the YAML node it points at.

    Pydantic puts union tags (the ``kind`` of evidence, the design's tag) into locations; they
    name no key of the document, so they are skipped. A missing key is reported at its parent
    mapping.
    """
    path = ""
    node = root
    for position, part in enumerate(loc):
        if _is_union_tag(node, part):
            continue
        child = _child(node, part)
        if child is not None:
            path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
            node = child
        elif position == len(loc) - 1:
            path += f".{part}" if path else str(part)
    return path, node


def _is_union_tag(node: Node | None, part: int | str) -> bool:
    if part in _DESIGN_TAGS:
        return True
    kind = _child(node, "kind")
    return kind is not None and kind.value == part and _child(node, part) is None


def _key(node: Node | None, part: int | str) -> Node | None:
    if isinstance(node, MappingNode):
        for key_node, _ in node.value:
            if key_node.value == part:
                found: Node = key_node
                return found
    return None


def _child(node: Node | None, part: int | str) -> Node | None:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == part:
                found: Node = value_node
                return found
    elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        child: Node = node.value[part]
        return child
    return None


def _plain_message(message: str) -> str:
    for prefix, replacement in (
        ("Value error, ", ""),
        ("Input should be ", "must be "),
        ("String should ", "must "),
        ("Tuple should ", "must "),
        ("Decimal input should ", "must "),
    ):
        if message.startswith(prefix):
            message = replacement + message.removeprefix(prefix)
    if message == "Field required":
        return "is required"
    if message == "Extra inputs are not permitted":
        return "is not a field of this section (check the spelling)"
    return message
