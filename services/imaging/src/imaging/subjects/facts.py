"""The person's sex, age and height for the reference equations: given, or recorded at screening.

Enrollment records the subject's sex, birth date and height at screening and announces them with
the enrolment. A lung function or walk test may omit them (the recorded ones are used, the age
computed at the day of the test from the birth date) or repeat them; a repeated value must agree
with the recorded one:

- sex: exactly;
- height: within ``HEIGHT_TOLERANCE_CM`` (3 cm: stadiometer readings of one adult taken on
  different days differ by a centimetre or two, and a lung disease trial runs for a year; a
  larger difference is a typing error or another person);
- age: within ``AGE_TOLERANCE_YEARS`` (1 year) of the age computed from the birth date, which
  allows the age in whole years as well as the decimal age the GLI equations take.

The given value is the one used when it agrees (it is the measurement of the day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

HEIGHT_TOLERANCE_CM = 3.0
AGE_TOLERANCE_YEARS = 1.0
# Mean length of a Gregorian year, for decimal ages as the GLI equations take them.
_DAYS_PER_YEAR = 365.25

GIVEN = "request"
RECORDED = "screening"
GIVEN_AND_CHECKED = "request, agrees with screening"


@dataclass(frozen=True)
class RecordedFacts:
    """What enrollment recorded at screening (each may be absent)."""

    sex: str | None = None
    birth_date: date | None = None
    height_cm: float | None = None


@dataclass(frozen=True)
class PersonFacts:
    """The facts a test is computed with, each with where it came from; absent ones are None."""

    sex: str | None
    age_years: float | None
    height_cm: float | None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return [
            name
            for name, value in (
                ("sex", self.sex),
                ("age_years", self.age_years),
                ("height_cm", self.height_cm),
            )
            if value is None
        ]


class FactDisagreement(ValueError):
    """A given fact contradicts the one recorded at screening; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def age_on(birth_date: date, day: date) -> float:
    """Decimal age in years on ``day`` (two decimals, as the GLI equations take it)."""
    return round((day - birth_date).days / _DAYS_PER_YEAR, 2)


def resolve(
    recorded: RecordedFacts,
    *,
    sex: str | None,
    age_years: float | None,
    height_cm: float | None,
    performed_on: date,
) -> PersonFacts:
    """The facts to use: the given ones checked against the recorded ones, else the recorded."""
    sources: dict[str, str] = {}
    if sex is not None and recorded.sex is not None and sex != recorded.sex:
        raise FactDisagreement(
            "sex", f"{sex} differs from {recorded.sex}, the sex recorded at screening"
        )
    recorded_age = None
    if recorded.birth_date is not None:
        if recorded.birth_date > performed_on:
            raise FactDisagreement(
                "age_years",
                f"the test day {performed_on} is before the birth date {recorded.birth_date} "
                "recorded at screening",
            )
        recorded_age = age_on(recorded.birth_date, performed_on)
    if (
        age_years is not None
        and recorded_age is not None
        and abs(age_years - recorded_age) > AGE_TOLERANCE_YEARS
    ):
        raise FactDisagreement(
            "age_years",
            f"{age_years:g} differs from {recorded_age:g}, the age on {performed_on} from the "
            f"birth date recorded at screening, by more than {AGE_TOLERANCE_YEARS:g} year",
        )
    if (
        height_cm is not None
        and recorded.height_cm is not None
        and abs(height_cm - recorded.height_cm) > HEIGHT_TOLERANCE_CM
    ):
        raise FactDisagreement(
            "height_cm",
            f"{height_cm:g} cm differs from {recorded.height_cm:g} cm, the height recorded at "
            f"screening, by more than {HEIGHT_TOLERANCE_CM:g} cm",
        )
    chosen: dict[str, str | float | None] = {}
    for name, given, stored in (
        ("sex", sex, recorded.sex),
        ("age_years", age_years, recorded_age),
        ("height_cm", height_cm, recorded.height_cm),
    ):
        if given is not None:
            chosen[name] = given
            sources[name] = GIVEN if stored is None else GIVEN_AND_CHECKED
        elif stored is not None:
            chosen[name] = stored
            sources[name] = RECORDED
        else:
            chosen[name] = None
    chosen_sex, chosen_age, chosen_height = chosen["sex"], chosen["age_years"], chosen["height_cm"]
    return PersonFacts(
        sex=None if chosen_sex is None else str(chosen_sex),
        age_years=None if chosen_age is None else float(chosen_age),
        height_cm=None if chosen_height is None else float(chosen_height),
        sources=sources,
    )
