"""The continual reassessment method (O'Quigley, Pepe & Fisher 1990), as R's dfcrm 0.2-2.1 runs it.

Definitions (dfcrm `crm`, `crmsim`, `getprior`; Cheung 2011, Dose Finding by the Continual
Reassessment Method):

* A skeleton s_1 < ... < s_K of prior DLT guesses, given, or computed by `getprior` (Lee & Cheung
  2009) from an indifference-interval ``skeleton_halfwidth``, the target and the ``prior_mtd``
  level.
* Working models with one parameter a: empiric (power), p_k(a) = s_k ** exp(a), dfcrm's default;
  or one-parameter logistic, p_k(a) = 1 / (1 + exp(-c - exp(a) x_k)), intercept c (``intercept``,
  default 3) and x_k = logit(s_k) - c.
* Prior a ~ Normal(0, ``prior_sd`` ** 2), default sd sqrt(1.34) (dfcrm ``scale``).
* After each cohort, the posterior mean of a by numerical integration (no Monte Carlo): the
  trapezoidal rule on a grid of step 0.02 over [-10, 10], dfcrm's range. The integrand is smooth
  and negligible at both ends, where the trapezoidal rule converges faster than any power of the
  step (the error is about exp(-2 pi^2 sd^2 / step^2) for a posterior of standard deviation sd);
  against a grid four times finer the posterior mean agrees to 1e-12 with up to 150 patients
  (tested). A first look at every tenth grid point finds the stretch where the log posterior is
  within 60 of its peak; only that stretch is summed, on every k-th grid point with k chosen to
  keep about 120 points across it.
* The recommended level is the one whose p_k(posterior mean) is closest to the target (the top
  level if all are below it, level 1 if all are above; the lower of two equally close).
* ``restrict`` (dfcrm's default TRUE): never escalate more than one level above the level just
  given, and never escalate after a cohort whose DLT rate is at least the target (coherence).
  Without it the model's recommendation is followed. De-escalation is never restricted.
* ``cohort_size`` (dfcrm ``mcohort``, default 1) patients per cohort, ``num_cohorts`` cohorts;
  the first at ``start_dose`` (``x0``). At the end, the MTD is the model's recommendation on all
  the data, without restrictions.
* Optional stopping rule (dfcrm has none; R escalation's `stop_when_too_toxic` words it): with
  ``stop_when_lowest_too_toxic`` = c, stop with no MTD once P(p_1 > target | data) > c after a
  cohort. That probability is integrated by Simpson's rule on the same grid (about 1e-7).

Not included: dfcrm's two-stage designs (``x0`` a vector), maximum-likelihood estimation
(``method = "mle"``) and the time-to-event TITE-CRM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise, repeat
from operator import add, mul, sub
from typing import Any, ClassVar, Literal

from escalation.interface import DoseFindingDesign
from escalation.interval import require_probability
from escalation.limits import MAX_COHORT_SIZE, MAX_COHORTS, MAX_DOSE_LEVELS, require_whole_number
from escalation.state import (
    Decision,
    InvalidHistoryError,
    TrialState,
    count_dlts,
    stop,
    treat,
    wait_for_cohort,
)

Model = Literal["empiric", "logistic"]

GRID_LIMIT = 10.0
GRID_STEP = 0.02
_GRID = tuple(
    -GRID_LIMIT + GRID_STEP * index for index in range(round(2 * GRID_LIMIT / GRID_STEP) + 1)
)
# Every _STRIDE-th grid point (step 0.2): a first, coarse look for where the posterior has mass.
_STRIDE = 10
# Grid points whose log density is this far below the peak weigh less than e^-60 each.
_NEGLIGIBLE = 60.0
# Points summed across the stretch where the posterior has its mass: about 22 standard
# deviations wide for a normal posterior, so the step is at most a fifth of one.
_POINTS = 120
# Posteriors remembered per design (tallies -> posterior mean); a long-lived design holds no more.
_MAX_REMEMBERED = 1 << 18


def getprior(
    halfwidth: float, target: float, prior_mtd: int, num_doses: int, model: Model = "empiric"
) -> tuple[float, ...]:
    """A skeleton calibrated to indifference intervals target +/- halfwidth (dfcrm `getprior`)."""
    return _getprior(halfwidth, target, prior_mtd, num_doses, model, 3.0)


def _getprior(
    halfwidth: float,
    target: float,
    prior_mtd: int,
    num_doses: int,
    model: Model,
    intercept: float,
) -> tuple[float, ...]:
    high, low = target + halfwidth, target - halfwidth
    scaled = [0.0] * (num_doses + 1)
    if model == "empiric":
        scaled[prior_mtd] = target
        for level in range(prior_mtd, 1, -1):
            b = math.log(math.log(high) / math.log(scaled[level]))
            scaled[level - 1] = math.exp(math.log(low) / math.exp(b))
        for level in range(prior_mtd, num_doses):
            b = math.log(math.log(low) / math.log(scaled[level]))
            scaled[level + 1] = math.exp(math.log(high) / math.exp(b))
        return tuple(scaled[1:])
    scaled[prior_mtd] = _logit(target) - intercept
    for level in range(prior_mtd, 1, -1):
        b = math.log((_logit(high) - intercept) / scaled[level])
        scaled[level - 1] = (_logit(low) - intercept) / math.exp(b)
    for level in range(prior_mtd, num_doses):
        b = math.log((_logit(low) - intercept) / scaled[level])
        scaled[level + 1] = (_logit(high) - intercept) / math.exp(b)
    return tuple(1.0 / (1.0 + math.exp(-intercept - x)) for x in scaled[1:])


@dataclass(frozen=True, kw_only=True)
class CRM(DoseFindingDesign):
    """The CRM; see the module doc for every parameter and its reference default.

    Give ``skeleton``, or ``prior_mtd`` and ``skeleton_halfwidth`` for `getprior` to compute it.
    """

    kind: ClassVar[str] = "crm"
    # At the sample size the MTD is the model's recommendation on the tallies.
    ends_on_tallies: ClassVar[bool] = True

    num_doses: int
    target: float
    num_cohorts: int
    cohort_size: int = 1
    start_dose: int = 1
    skeleton: tuple[float, ...] | None = None
    prior_mtd: int | None = None
    skeleton_halfwidth: float | None = None
    model: Model = "empiric"
    intercept: float = 3.0
    prior_sd: float = math.sqrt(1.34)
    restrict: bool = True
    stop_when_lowest_too_toxic: float | None = None

    def __post_init__(self) -> None:
        require_whole_number("num_doses", self.num_doses, minimum=1, maximum=MAX_DOSE_LEVELS)
        require_whole_number("cohort_size", self.cohort_size, minimum=1, maximum=MAX_COHORT_SIZE)
        require_whole_number("num_cohorts", self.num_cohorts, minimum=1, maximum=MAX_COHORTS)
        require_whole_number("start_dose", self.start_dose, minimum=1, maximum=self.num_doses)
        require_probability("target", self.target)
        if self.model not in ("empiric", "logistic"):
            raise ValueError(f"model must be 'empiric' or 'logistic', not {self.model!r}")
        for name in ("intercept", "prior_sd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number, not {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, not {value}")
        if not isinstance(self.restrict, bool):
            raise ValueError(f"restrict must be true or false, not {self.restrict!r}")
        if self.stop_when_lowest_too_toxic is not None:
            require_probability("stop_when_lowest_too_toxic", self.stop_when_lowest_too_toxic)
        object.__setattr__(self, "skeleton", self._resolved_skeleton())

    def _resolved_skeleton(self) -> tuple[float, ...]:
        if self.skeleton is None:
            if self.prior_mtd is None or self.skeleton_halfwidth is None:
                raise ValueError(
                    "give the skeleton, or prior_mtd and skeleton_halfwidth to calibrate one"
                    " (dfcrm getprior)"
                )
            require_whole_number("prior_mtd", self.prior_mtd, minimum=1, maximum=self.num_doses)
            halfwidth = require_probability("skeleton_halfwidth", self.skeleton_halfwidth)
            if not (self.target - halfwidth > 0 and self.target + halfwidth < 1):
                raise ValueError(
                    f"skeleton_halfwidth {halfwidth} leaves the indifference interval around"
                    f" {self.target} outside (0, 1)"
                )
            skeleton = _getprior(
                halfwidth,
                self.target,
                self.prior_mtd,
                self.num_doses,
                self.model,
                float(self.intercept),
            )
        else:
            if isinstance(self.skeleton, (str, bytes)):  # a string is a sequence too
                raise ValueError(f"skeleton must be a list of probabilities, not {self.skeleton!r}")
            skeleton = tuple(self.skeleton)
            for index, value in enumerate(skeleton, 1):
                require_probability(f"skeleton[{index}]", value)
            skeleton = tuple(float(value) for value in skeleton)
            if self.prior_mtd is not None and self.skeleton_halfwidth is not None:
                # Both given (as `to_document` writes them): they must describe one skeleton.
                calibrated = CRM(
                    num_doses=self.num_doses,
                    target=self.target,
                    num_cohorts=1,
                    prior_mtd=self.prior_mtd,
                    skeleton_halfwidth=self.skeleton_halfwidth,
                    model=self.model,
                    intercept=self.intercept,
                ).prior
                if any(abs(a - b) > 1e-9 for a, b in zip(skeleton, calibrated, strict=False)):
                    raise ValueError(
                        f"the skeleton {list(skeleton)} is not the one getprior gives for"
                        f" prior_mtd {self.prior_mtd} and skeleton_halfwidth"
                        f" {self.skeleton_halfwidth}: give one or the other"
                    )
        if len(skeleton) != self.num_doses:
            raise ValueError(
                f"the skeleton has {len(skeleton)} values for {self.num_doses} dose levels"
            )
        if any(low >= high for low, high in pairwise(skeleton)):
            raise ValueError(f"the skeleton must increase with the level: {list(skeleton)}")
        if self.model == "logistic" and any(_logit(p) >= self.intercept for p in skeleton):
            # As dfcrm refuses it: the intercept is too small when a scaled dose is not negative.
            raise ValueError(
                f"the logistic intercept {self.intercept} is too small for the skeleton: every"
                " scaled dose logit(s) - intercept must be negative"
            )
        return skeleton

    # -- the model -----------------------------------------------------------------------------

    @property
    def prior(self) -> tuple[float, ...]:
        """The skeleton (resolved: computed by `getprior` when it was not given)."""
        assert self.skeleton is not None
        return self.skeleton

    @property
    def max_sample_size(self) -> int:
        return self.num_cohorts * self.cohort_size

    def dlt_probabilities(self, a: float) -> tuple[float, ...]:
        """p_k(a) for every level."""
        if self.model == "empiric":
            return tuple(s ** math.exp(a) for s in self.prior)
        scale = math.exp(a)
        return tuple(_expit(self.intercept + scale * x) for x in self._scaled)

    @cached_property
    def _scaled(self) -> tuple[float, ...]:
        return tuple(_logit(s) - self.intercept for s in self.prior)

    @cached_property
    def _log_prior(self) -> list[float]:
        variance = self.prior_sd**2
        return [-a * a / (2.0 * variance) for a in _GRID]

    @cached_property
    def _coarse_log_prior(self) -> list[float]:
        return self._log_prior[::_STRIDE]

    @cached_property
    def _log_p(self) -> list[list[float]]:
        """log p_k(a) and log(1 - p_k(a)) on the grid, for every level: rows [2k] and [2k+1]."""
        rows: list[list[float]] = []
        for dose in range(1, self.num_doses + 1):
            pairs = [self.log_probabilities(dose, a) for a in _GRID]
            rows.extend(([log_p for log_p, _ in pairs], [log_q for _, log_q in pairs]))
        return rows

    @cached_property
    def _weighted_rows(self) -> dict[tuple[int, int, int], tuple[list[float], list[float]]]:
        # y log p_k + m log(1 - p_k) on the grid and on its coarse points, built once per
        # (level, y, m) and reused.
        return {}

    def _row(self, level: int, dlts: int, others: int) -> tuple[list[float], list[float]]:
        key = (level, dlts, others)
        rows = self._weighted_rows
        cached = rows.get(key)
        if cached is None:
            if len(rows) >= _MAX_REMEMBERED // 16:
                rows.clear()
            log_p, log_q = self._log_p[2 * level], self._log_p[2 * level + 1]
            fine = [dlts * p + others * q for p, q in zip(log_p, log_q, strict=True)]
            cached = rows[key] = (fine, fine[::_STRIDE])
        return cached

    def log_posterior(
        self,
        patients: tuple[int, ...],
        dlts: tuple[int, ...],
        start: int = 0,
        stop: int = -1,
        stride: int = 1,
    ) -> list[float]:
        """The unnormalised log posterior of a on every ``stride``-th grid point from ``start``
        to ``stop`` (the whole grid by default)."""
        end = len(_GRID) if stop < 0 else stop + 1
        log_density = self._log_prior[start:end:stride]
        for level, (treated, toxic) in enumerate(zip(patients, dlts, strict=True)):
            if treated:
                row, _ = self._row(level, toxic, treated - toxic)
                log_density = list(map(add, log_density, row[start:end:stride]))
        return log_density

    def _mass_window(self, patients: tuple[int, ...], dlts: tuple[int, ...]) -> tuple[int, int]:
        """First and last grid points where the posterior is not negligible."""
        last_index = len(_GRID) - 1
        coarse = self._coarse_log_prior
        for level, (treated, toxic) in enumerate(zip(patients, dlts, strict=True)):
            if treated:
                _, row = self._row(level, toxic, treated - toxic)
                coarse = list(map(add, coarse, row))
        peak = max(coarse)
        threshold = peak - _NEGLIGIBLE
        if self.model == "empiric":
            # The log posterior is concave: walk out from the peak to where it falls below the
            # threshold; beyond the coarse neighbours of that stretch it only falls further.
            first = last = coarse.index(peak)
            while first > 0 and coarse[first - 1] > threshold:
                first -= 1
            while last < len(coarse) - 1 and coarse[last + 1] > threshold:
                last += 1
        else:
            # Smooth, with slopes of at most a few times the number of patients: it cannot climb
            # 60 above its neighbours within a coarse step, but it need not be concave.
            inside = [index for index, value in enumerate(coarse) if value > threshold]
            first, last = inside[0], inside[-1]
        return max((first - 1) * _STRIDE, 0), min((last + 1) * _STRIDE, last_index)

    def posterior_mean(self, patients: tuple[int, ...], dlts: tuple[int, ...]) -> float:
        """E[a | data] by the trapezoidal rule on the grid (the end terms are negligible)."""
        key = (patients, dlts)
        remembered = self._posterior_means.get(key)
        if remembered is not None:
            return remembered
        start, stop = self._mass_window(patients, dlts)
        # The step the posterior's width allows (module doc): at least _POINTS points across it.
        stride = max(1, (stop - start) // _POINTS)
        log_density = self.log_posterior(patients, dlts, start, stop, stride)
        peak = max(log_density)
        weights = list(map(math.exp, map(sub, log_density, repeat(peak))))
        mean: float = sum(map(mul, weights, _GRID[start : stop + 1 : stride])) / sum(weights)
        if len(self._posterior_means) >= _MAX_REMEMBERED:
            self._posterior_means.clear()
        self._posterior_means[key] = mean
        return mean

    @cached_property
    def _posterior_means(self) -> dict[tuple[tuple[int, ...], tuple[int, ...]], float]:
        return {}

    def prob_lowest_above_target(self, patients: tuple[int, ...], dlts: tuple[int, ...]) -> float:
        """P(p_1 > target | data), by Simpson's rule on the grid below and above the cut."""
        cut = self._lowest_cut
        log_density = self.log_posterior(patients, dlts)
        peak = max(log_density)
        below = 0.0
        total = 0.0
        # p_1(a) decreases in a: p_1 > target exactly when a < cut.
        density = [math.exp(value - peak) for value in log_density]
        total = _simpson(density, GRID_STEP)
        last = math.floor((cut + GRID_LIMIT) / GRID_STEP)
        if last < 0:
            return 0.0
        if last >= len(_GRID) - 1:
            return 1.0
        below = _simpson(density[: last + 1], GRID_STEP)
        # The partial cell from the last grid point to the cut, by Simpson on its midpoint.
        start = _GRID[last]
        middle = (start + cut) / 2.0
        values = [self._density_at(a, patients, dlts) - peak for a in (start, middle, cut)]
        f0, f1, f2 = (math.exp(value) for value in values)
        below += (cut - start) / 6.0 * (f0 + 4.0 * f1 + f2)
        return min(max(below / total, 0.0), 1.0)

    @cached_property
    def _lowest_cut(self) -> float:
        """The a below which p_1(a) exceeds the target."""
        if self.model == "empiric":
            return math.log(math.log(self.target) / math.log(self.prior[0]))
        return math.log((_logit(self.target) - self.intercept) / self._scaled[0])

    def _density_at(self, a: float, patients: tuple[int, ...], dlts: tuple[int, ...]) -> float:
        value = -a * a / (2.0 * self.prior_sd**2)
        for level, (treated, toxic) in enumerate(zip(patients, dlts, strict=True)):
            if treated:
                log_p, log_q = self.log_probabilities(level + 1, a)
                value += toxic * log_p + (treated - toxic) * log_q
        return value

    def log_probabilities(self, dose: int, a: float) -> tuple[float, float]:
        """log p_dose(a) and log(1 - p_dose(a)), accurate where p is near 0 or 1."""
        if self.model == "empiric":
            log_p = math.exp(a) * math.log(self.prior[dose - 1])
            return log_p, math.log(-math.expm1(log_p))
        eta = self.intercept + math.exp(a) * self._scaled[dose - 1]
        return -_log1p_exp(-eta), -_log1p_exp(eta)

    def recommended(self, patients: tuple[int, ...], dlts: tuple[int, ...]) -> tuple[int, float]:
        """The model's level (dfcrm `crm(...)$mtd`) and the posterior mean of a."""
        estimate = self.posterior_mean(patients, dlts)
        probabilities = self.dlt_probabilities(estimate)
        target = self.target
        if all(p <= target for p in probabilities):
            return self.num_doses, estimate
        if all(p >= target for p in probabilities):
            return 1, estimate
        distances = [abs(p - target) for p in probabilities]
        return distances.index(min(distances)) + 1, estimate

    def final_mtd(self, patients: tuple[int, ...], dlts: tuple[int, ...]) -> int | None:
        return self.recommended(patients, dlts)[0]

    # -- the trial -----------------------------------------------------------------------------

    @cached_property
    def _coherence_count(self) -> int:
        """The fewest DLTs in a cohort whose DLT rate reaches the target."""
        return next(
            count
            for count in range(self.cohort_size + 1)
            if count / self.cohort_size >= self.target or count == self.cohort_size
        )

    def add_patients(self, state: TrialState, dose: int, patients: int, dlts: int) -> TrialState:
        if not self.restrict:
            return state.with_patients(dose, patients, dlts)
        # Remember the DLTs of the cohort in progress, as far as the coherence rule needs them.
        so_far = 0 if state.total_patients % self.cohort_size == 0 else state.cohort_dlts
        seen = min(so_far + dlts, self._coherence_count)
        return state.with_patients(dose, patients, dlts, cohort_dlts=seen)

    def next_cohort_size(self, state: TrialState, dose: int) -> int:
        return self.cohort_size - state.total_patients % self.cohort_size

    def step(self, state: TrialState) -> tuple[int | None, int | None]:
        kind, dose, _ = self._outcome(state)
        if kind == "stop":
            return None, dose
        return dose, None

    def _outcome(self, state: TrialState) -> tuple[str, int | None, float]:
        """("start" | "wait" | "full" | "too toxic" | "go", level, posterior mean), and for a stop
        ("stop", MTD, ...): the rules, which `decide` explains."""
        dose = state.current_dose
        if dose is None:
            return "start", self.start_dose, 0.0
        total = sum(state.patients)
        if total > self.max_sample_size:
            raise InvalidHistoryError(
                f"{total} patients treated; the design treats at most {self.max_sample_size},"
                " and no rule applies"
            )
        if total % self.cohort_size:
            return "wait", dose, 0.0
        recommended, estimate = self.recommended(state.patients, state.dlts)
        if total == self.max_sample_size:
            return "stop", recommended, estimate
        cutoff = self.stop_when_lowest_too_toxic
        if (
            cutoff is not None
            and self.prob_lowest_above_target(state.patients, state.dlts) > cutoff
        ):
            return "stop", None, estimate
        if self.restrict:
            if state.cohort_dlts >= self._coherence_count:
                recommended = min(recommended, dose)
            else:
                recommended = min(recommended, dose + 1)
        return "go", recommended, estimate

    def decide(self, state: TrialState) -> Decision:
        kind, dose, estimate = self._outcome(state)
        if kind == "start":
            assert dose is not None
            return treat(
                state,
                dose,
                f"No patients yet: treat {self.cohort_size} at level {dose}, the starting level",
            )
        current = state.current_dose
        assert current is not None
        if kind == "wait":
            waiting = state.total_patients % self.cohort_size
            return wait_for_cohort(
                state,
                current,
                f"{waiting} of {self.cohort_size} patients in the cohort at level {current}"
                " evaluated: wait for the cohort to complete",
            )
        fitted = ", ".join(f"{p:.3f}" for p in self.dlt_probabilities(estimate))
        model = f"posterior mean of a {estimate:.4f}, DLT probabilities {fitted}"
        if kind == "stop":
            if state.total_patients == self.max_sample_size:
                return stop(
                    state,
                    dose,
                    f"{state.total_patients} patients treated, the most the design treats"
                    f" ({model}): stop",
                )
            return stop(
                state,
                None,
                f"level 1 is too toxic: P(DLT rate at level 1 > {self.target:g}) >"
                f" {self.stop_when_lowest_too_toxic:g} ({model}): stop",
            )
        assert dose is not None
        unrestricted, _ = self.recommended(state.patients, state.dlts)
        seen = f"{count_dlts(state.dlts[current - 1])} in {state.patients[current - 1]} at level"
        reason = f"{seen} {current} ({model}): the model recommends level {unrestricted}"
        if dose != unrestricted:
            why = (
                "no escalation after a cohort with a DLT rate at or above the target"
                if state.cohort_dlts >= self._coherence_count
                else "no skipping a level when escalating"
            )
            reason += f"; {why}"
        return treat(state, dose, f"{reason}: treat level {dose}")

    def describe(self) -> str:
        skeleton = ", ".join(f"{s:.3f}" for s in self.prior)
        text = (
            f"CRM (O'Quigley et al. 1990, as in dfcrm) over {self.num_doses} dose levels, target"
            f" DLT rate {self.target:g}: {self.model} model, skeleton {skeleton}, prior sd of a"
            f" {self.prior_sd:.3f}; {self.num_cohorts} cohorts of {self.cohort_size} from level"
            f" {self.start_dose}"
        )
        if self.restrict:
            text += "; no skipping levels and no escalation after a toxic cohort"
        if self.stop_when_lowest_too_toxic is not None:
            text += (
                f"; stop when P(DLT rate at level 1 > {self.target:g}) >"
                f" {self.stop_when_lowest_too_toxic:g}"
            )
        return text + "."

    def to_document(self) -> dict[str, Any]:
        return {
            "design": self.kind,
            "num_doses": self.num_doses,
            "target": self.target,
            "num_cohorts": self.num_cohorts,
            "cohort_size": self.cohort_size,
            "start_dose": self.start_dose,
            "skeleton": list(self.prior),
            "prior_mtd": self.prior_mtd,
            "skeleton_halfwidth": self.skeleton_halfwidth,
            "model": self.model,
            "intercept": self.intercept,
            "prior_sd": self.prior_sd,
            "restrict": self.restrict,
            "stop_when_lowest_too_toxic": self.stop_when_lowest_too_toxic,
        }


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _expit(x: float) -> float:
    """1 / (1 + exp(-x)) without overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    small = math.exp(x)
    return small / (1.0 + small)


def _log1p_exp(x: float) -> float:
    """log(1 + exp(x)) without overflow."""
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


def _simpson(values: list[float], step: float) -> float:
    """Composite Simpson's rule over equally spaced values (3/8 rule for an odd last stretch)."""
    intervals = len(values) - 1
    if intervals < 1:
        return 0.0
    if intervals == 1:
        return step * (values[0] + values[1]) / 2.0
    end = intervals if intervals % 2 == 0 else intervals - 3
    total = 0.0
    if end >= 2:
        total += (
            step
            / 3.0
            * (
                values[0]
                + 4.0 * math.fsum(values[1:end:2])
                + 2.0 * math.fsum(values[2 : end - 1 : 2])
                + values[end]
            )
        )
    if intervals % 2:
        a, b, c, d = values[end : end + 4]
        total += 3.0 * step / 8.0 * (a + 3.0 * b + 3.0 * c + d)
    return total
