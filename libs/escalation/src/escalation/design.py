"""The A+B dose-escalation design: rule variant, cohort sizes, DLT thresholds, protocol limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from escalation import rules
from escalation.interface import DoseFindingDesign
from escalation.limits import MAX_COHORT_SIZE, MAX_DOSE_LEVELS, require_whole_number
from escalation.rules import Variant
from escalation.state import Decision, TrialState

__all__ = ["Design", "Variant"]


@dataclass(frozen=True, kw_only=True)
class Design(DoseFindingDesign):
    """An A+B design (Lin & Shih 2001) with the 3+3 numbers as defaults.

    After ``cohort_size`` (A) patients at a level: at most ``max_dlts_to_escalate`` DLTs escalate;
    at most ``max_dlts_to_expand`` DLTs add ``expansion_size`` (B) patients at the same level; more
    make the level too toxic. After A+B patients: at most ``max_dlts_in_expanded`` DLTs escalate,
    more make the level too toxic. The 3+3 design is A = B = 3 with thresholds 0, 1 and 1.
    """

    kind: ClassVar[str] = "a+b"

    num_doses: int
    variant: Variant
    cohort_size: int = 3
    expansion_size: int = 3
    max_dlts_to_escalate: int = 0
    max_dlts_to_expand: int = 1
    max_dlts_in_expanded: int = 1
    start_dose: int = 1
    allow_below_start: bool = True
    stop_when_any_dose_has: int | None = None
    max_patients: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "num_doses",
            "cohort_size",
            "expansion_size",
            "max_dlts_to_escalate",
            "max_dlts_to_expand",
            "max_dlts_in_expanded",
            "start_dose",
        ):
            _require_int(name, getattr(self, name))
        if not isinstance(self.variant, Variant):
            try:
                object.__setattr__(self, "variant", Variant(self.variant))
            except ValueError:
                allowed = ", ".join(repr(v.value) for v in Variant)
                raise ValueError(
                    f"variant {self.variant!r} is not one of {allowed}; a 3+3 trial must name its"
                    " variant explicitly"
                ) from None
        if not isinstance(self.allow_below_start, bool):
            raise ValueError(
                f"allow_below_start must be True or False, not {self.allow_below_start!r}"
            )
        require_whole_number("num_doses", self.num_doses, minimum=1, maximum=MAX_DOSE_LEVELS)
        for name in ("cohort_size", "expansion_size"):
            require_whole_number(name, getattr(self, name), minimum=1, maximum=MAX_COHORT_SIZE)
        self._check_thresholds()
        if not 1 <= self.start_dose <= self.num_doses:
            raise ValueError(
                f"start_dose {self.start_dose} is not a dose level of this design"
                f" (1 to {self.num_doses})"
            )
        if self.stop_when_any_dose_has is not None:
            _require_int("stop_when_any_dose_has", self.stop_when_any_dose_has)
            if self.stop_when_any_dose_has < 1:
                raise ValueError(
                    f"stop_when_any_dose_has must be at least 1, not {self.stop_when_any_dose_has}"
                )
        if self.max_patients is not None:
            _require_int("max_patients", self.max_patients)
            if self.max_patients < self.cohort_size:
                raise ValueError(
                    f"max_patients {self.max_patients} is smaller than one cohort"
                    f" ({self.cohort_size}): the trial could not treat anyone"
                )

    def _check_thresholds(self) -> None:
        # Lin & Shih (2001) require C <= D and C <= E; D <= E as well keeps expansion meaningful
        # (with E < D an expanded level could never be tolerated, whatever the extra B patients
        # show). A cohort in which every patient has a DLT must always rule the level out.
        if not (
            0 <= self.max_dlts_to_escalate <= self.max_dlts_to_expand <= self.max_dlts_in_expanded
        ):
            raise ValueError(
                "DLT thresholds must satisfy 0 <= max_dlts_to_escalate <= max_dlts_to_expand"
                f" <= max_dlts_in_expanded, not {self.max_dlts_to_escalate}, "
                f"{self.max_dlts_to_expand}, {self.max_dlts_in_expanded}"
            )
        if self.max_dlts_to_expand >= self.cohort_size:
            raise ValueError(
                f"max_dlts_to_expand {self.max_dlts_to_expand} must be below cohort_size"
                f" {self.cohort_size}: a cohort with a DLT in every patient must rule the level out"
            )
        if self.max_dlts_in_expanded >= self.full_cohort:
            raise ValueError(
                f"max_dlts_in_expanded {self.max_dlts_in_expanded} must be below"
                f" cohort_size + expansion_size ({self.full_cohort})"
            )

    @property
    def full_cohort(self) -> int:
        """A+B: the most patients the design ever treats at one level."""
        return self.cohort_size + self.expansion_size

    @property
    def lowest_dose(self) -> int:
        """The lowest level the design may treat at (the start level when it may not go below)."""
        return 1 if self.allow_below_start else self.start_dose

    @property
    def max_sample_size(self) -> int:
        """A+B patients at every level at the most, or the protocol's cap if it is lower."""
        most = self.num_doses * self.full_cohort
        return most if self.max_patients is None else min(most, self.max_patients)

    def decide(self, state: TrialState) -> Decision:
        return rules.decide(self, state)

    def next_cohort_size(self, state: TrialState, dose: int) -> int:
        return rules.patients_for_next_cohort(self, state.tally(dose))

    def describe(self) -> str:
        name = f"{self.cohort_size}+{self.expansion_size}"
        variant = {
            Variant.ESC: "escalation only (a level with too many DLTs stops the trial)",
            Variant.DEESC: "with de-escalation to confirm the level below (Korn et al. 1994)",
            Variant.EXPAND_TOP: (
                "with de-escalation, and the top level expanded before it is declared"
            ),
        }[self.variant]
        text = (
            f"{name} design over {self.num_doses} dose levels, {variant}, starting at level"
            f" {self.start_dose}: escalate on at most {self.max_dlts_to_escalate} DLT(s) in"
            f" {self.cohort_size}, expand by {self.expansion_size} on at most"
            f" {self.max_dlts_to_expand}, tolerate at most {self.max_dlts_in_expanded} in"
            f" {self.full_cohort}"
        )
        if self.stop_when_any_dose_has is not None:
            text += f"; stop once any level has {self.stop_when_any_dose_has} patients"
        if self.max_patients is not None:
            text += f"; at most {self.max_patients} patients"
        return text + "."

    def to_document(self) -> dict[str, Any]:
        return {
            "design": self.kind,
            "num_doses": self.num_doses,
            "variant": self.variant.value,
            "cohort_size": self.cohort_size,
            "expansion_size": self.expansion_size,
            "max_dlts_to_escalate": self.max_dlts_to_escalate,
            "max_dlts_to_expand": self.max_dlts_to_expand,
            "max_dlts_in_expanded": self.max_dlts_in_expanded,
            "start_dose": self.start_dose,
            "allow_below_start": self.allow_below_start,
            "stop_when_any_dose_has": self.stop_when_any_dose_has,
            "max_patients": self.max_patients,
        }


def _require_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
