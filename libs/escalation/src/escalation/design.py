"""The A+B dose-escalation design: rule variant, cohort sizes, DLT thresholds, protocol limits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Variant(StrEnum):
    """The three 3+3 rule variants of CASES.md ("Rule variants"); a trial must name one."""

    # Escalation only: a dose with too many DLTs stops the trial and the dose below is the MTD,
    # even if it has only one cohort (R escalation default, clintrials, bcrm esc-only).
    ESC = "esc"
    # Korn et al. (1994): a dose with too many DLTs sends the trial one level down to confirm
    # the level below on a full A+B cohort (R `allow_deescalate = TRUE`, bcrm default).
    DEESC = "deesc"
    # DEESC, and the top dose passed on one cohort is first expanded to A+B before it can be
    # declared (simFastBOIN `mtd_rule = "expand"`; the HDMSC-RP-01 default).
    EXPAND_TOP = "expand-top"


@dataclass(frozen=True, kw_only=True)
class Design:
    """An A+B design (Lin & Shih 2001) with the 3+3 numbers as defaults.

    After ``cohort_size`` (A) patients at a level: at most ``max_dlts_to_escalate`` DLTs escalate;
    at most ``max_dlts_to_expand`` DLTs add ``expansion_size`` (B) patients at the same level; more
    make the level too toxic. After A+B patients: at most ``max_dlts_in_expanded`` DLTs escalate,
    more make the level too toxic. The 3+3 design is A = B = 3 with thresholds 0, 1 and 1.
    """

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
        if self.num_doses < 1:
            raise ValueError(f"num_doses must be at least 1, not {self.num_doses}")
        if self.cohort_size < 1 or self.expansion_size < 1:
            raise ValueError(
                f"cohort_size and expansion_size must be at least 1, not {self.cohort_size}"
                f" and {self.expansion_size}"
            )
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


def _require_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
