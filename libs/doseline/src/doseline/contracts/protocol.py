"""The trial rules a protocol version carries to every service, and the event that publishes them.

The protocol document (enrollment's ``protocols/*.yaml``) is the single source of every trial
rule: DLT criteria, DLT window, AE reporting period, infusion and visit schedules with their
windows, the study-day convention and the site time zones. Enrollment validates the document;
when a protocol version is activated (trial created) or amended it publishes
``enrollment.protocol.activated`` with the rules below, the version and the content hash.
Safety and imaging store every version they receive and apply the one in force at the date
of the fact they judge (``in_force_at``); nothing of these rules is a constant in their code.

The DLT section's models are the ones the protocol document itself is validated with, so the
document and the event cannot disagree on what a rule means.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import ClassVar, Literal, Protocol, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from doseline import sitetime
from doseline.contracts.registry import register
from doseline.events import EventContract
from doseline.identity import canonical_system

_IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
# ATS statement: guidelines for the six-minute walk test (2002): a 30 m walking course.
WALK_COURSE_LENGTH_M = 30.0


class RulesSection(BaseModel):
    """A part of the rules: immutable, and unknown keys are errors (typos are caught)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------
# DLT definition


class Attribution(StrEnum):
    """Relatedness of an adverse event to the product (the five-point CTCAE attribution scale)."""

    UNRELATED = "unrelated"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"


class AeCategory(StrEnum):
    ANY = "any"
    HAEMATOLOGICAL = "haematological"
    NON_HAEMATOLOGICAL = "non-haematological"


class CtcaeTerm(RulesSection):
    name: str = Field(min_length=1)
    meddra_code: str = Field(pattern=r"^\d{8}$")


class DltCriterion(RulesSection):
    """An AE matches when it is in ``category`` (and ``terms``, if listed; not ``except_terms``)
    and meets every threshold given. The criteria of a rule set combine with OR.

    ``min_increase_over_baseline`` compares the grade with the subject's baseline grade of the
    same term (0 when the condition was absent or its baseline is not recorded)."""

    id: str = Field(pattern=_IDENTIFIER)
    text: str = Field(min_length=1)
    category: AeCategory = AeCategory.ANY
    terms: tuple[CtcaeTerm, ...] = ()
    except_terms: tuple[CtcaeTerm, ...] = ()
    min_grade: int | None = Field(default=None, ge=1, le=5)
    min_increase_over_baseline: int | None = Field(default=None, ge=1, le=4)

    @model_validator(mode="after")
    def _has_threshold(self) -> DltCriterion:
        if self.min_grade is None and self.min_increase_over_baseline is None:
            raise ValueError("give min_grade, min_increase_over_baseline or both")
        if self.terms and self.except_terms:
            raise ValueError("give terms or except_terms, not both")
        return self


class Haematological(RulesSection):
    """Which AEs are haematological: every term of these SOCs, and these further terms."""

    socs: tuple[str, ...] = Field(min_length=1)
    terms: tuple[CtcaeTerm, ...] = ()


class DltRules(RulesSection):
    """Which AEs in the DLT window are DLTs (PROTOCOL.md "DLT definition", configurable)."""

    ctcae_version: str = Field(min_length=1)
    counted_attributions: tuple[Attribution, ...] = Field(min_length=1)
    haematological: Haematological
    criteria: tuple[DltCriterion, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> DltRules:
        ids = [criterion.id for criterion in self.criteria]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"DLT criterion ids must be unique: {', '.join(repeated)} repeated")
        if len(set(self.counted_attributions)) != len(self.counted_attributions):
            raise ValueError("counted_attributions lists a value twice")
        return self

    def is_haematological(self, *, meddra_code: str, soc_name: str) -> bool:
        return soc_name in self.haematological.socs or any(
            term.meddra_code == meddra_code for term in self.haematological.terms
        )


class DltWindowRules(RulesSection):
    """The DLT observation period: ``days`` calendar days, day 1 = the first infusion."""

    starts_on: Literal["first-infusion"]
    days: int = Field(ge=1)


class StudyDayConvention(RulesSection):
    """How study days are counted. CDISC SDTM: day 1 = first infusion, day before = -1, no 0."""

    convention: Literal["cdisc"]
    day_1: Literal["first-infusion"]


# --------------------------------------------------------------------------------------------
# Schedules, reporting period, sites


class Window(RulesSection):
    """Calendar days allowed before and after a target day, both ends included."""

    before_days: int = Field(ge=0)
    after_days: int = Field(ge=0)


class InfusionScheduleRules(RulesSection):
    """Planned infusion study days (day 1 = the first infusion) and the window around each."""

    days: tuple[int, ...] = Field(min_length=1)
    window: Window


class FollowUpVisitRule(RulesSection):
    id: str = Field(pattern=_IDENTIFIER)
    months_after_last_infusion: int = Field(ge=1)
    window: Window
    assessments: tuple[str, ...] = Field(min_length=1)


class VisitRules(RulesSection):
    """Baseline (up to ``baseline_days_before_first_infusion`` before day 1) and follow-ups."""

    baseline_id: str = Field(pattern=_IDENTIFIER)
    baseline_days_before_first_infusion: int = Field(ge=0)
    baseline_assessments: tuple[str, ...] = Field(min_length=1)
    follow_up: tuple[FollowUpVisitRule, ...] = Field(min_length=1)


class AeReportingPeriod(RulesSection):
    """Adverse events are collected from the first infusion to this many months after the last."""

    months_after_last_infusion: int = Field(ge=1)


class IdentifierSystemRules(RulesSection):
    """A hospital identifier system a site uses, and the other names it is sent under."""

    system: str = Field(
        min_length=1,
        max_length=200,
        description="The system every alias stands for (a URI or OID), e.g. the site's MRN URI",
    )
    aliases: tuple[str, ...] = Field(
        default=(),
        description=(
            "Other names of the same system (`MRN`, an OID form): compared as"
            " doseline.identity.canonical_system compares them"
        ),
    )


class SiteRules(RulesSection):
    """A site and its IANA time zone: study days and windows are counted in its calendar."""

    id: str | None = Field(
        default=None, min_length=1, description="The site id tokens and subject events carry"
    )
    name: str = Field(min_length=1)
    time_zone: str = Field(min_length=1)
    identifier_systems: tuple[IdentifierSystemRules, ...] = Field(
        default=(),
        description=(
            "The hospital identifier systems the site uses, with their aliases; a hospital"
            " identifier is hashed under the system its alias names. Empty: every system is"
            " taken as it is named"
        ),
    )
    walk_course_length_m: float = Field(
        default=WALK_COURSE_LENGTH_M,
        gt=0,
        le=100,
        description=(
            "Length of the site's six-minute walk course, m (ATS 2002 standard: a 30 m"
            " corridor); tests done there are recorded with it unless they give their own"
        ),
    )

    @field_validator("identifier_systems")
    @classmethod
    def validate_identifier_systems(
        cls, systems: tuple[IdentifierSystemRules, ...]
    ) -> tuple[IdentifierSystemRules, ...]:
        """Each name, canonically compared, stands for one declared system."""
        owner: dict[str, str] = {}
        for entry in systems:
            for name in {canonical_system(n) for n in (entry.system, *entry.aliases)}:
                if owner.setdefault(name, entry.system) != entry.system:
                    raise ValueError(
                        f"{name!r} names both {owner[name]!r} and {entry.system!r}; an alias"
                        " names one system"
                    )
        return systems

    @field_validator("time_zone")
    @classmethod
    def _known(cls, value: str) -> str:
        if not sitetime.is_known_time_zone(value):
            raise ValueError(f"{value!r} is not an IANA time zone name (e.g. 'Asia/Shanghai')")
        return value


class TrialRules(RulesSection):
    """Every rule other services apply, as one protocol version states it."""

    study_day: StudyDayConvention
    sites: tuple[SiteRules, ...] = Field(min_length=1)
    dlt_window: DltWindowRules
    dlt_rules: DltRules
    ae_reporting_period: AeReportingPeriod
    infusions: InfusionScheduleRules
    visits: VisitRules


@register
class ProtocolActivated(EventContract):
    event_type: ClassVar[str] = "enrollment.protocol.activated"
    description: ClassVar[str] = (
        "A protocol version came into force for a trial (trial created, or protocol amended); "
        "carries every trial rule other services apply, with the version and content hash."
    )

    trial_id: str = Field(description="Trial code, e.g. HDMSC-RP-01")
    protocol_id: str
    protocol_version: str
    content_hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    sequence: int = Field(
        ge=1, description="Increases with every activation of the trial: orders the versions"
    )
    activation: Literal["initial", "amendment"]
    effective_from: date | None = Field(
        description=(
            "First site date the version applies to; null for the initial version (in force "
            "from the start of the trial)"
        )
    )
    activated_at: AwareDatetime
    reason: str | None = None
    rules: TrialRules


# --------------------------------------------------------------------------------------------
# The version in force at a date


class _Activation(Protocol):  # the stored rows of a consumer, or the events themselves
    @property
    def sequence(self) -> int: ...

    @property
    def effective_from(self) -> date | None: ...


A = TypeVar("A", bound=_Activation)


def in_force_at(versions: Iterable[A], day: date) -> A | None:
    """The version that governs facts of site date ``day``: of the versions effective on or
    before ``day``, the one activated last. Arrival order does not matter."""
    applicable = [v for v in versions if v.effective_from is None or v.effective_from <= day]
    return max(applicable, key=lambda v: v.sequence, default=None)
