"""Exact operating characteristics of a design for given true DLT probabilities.

The general method, for every design: the trial is a Markov chain on `TrialState` (every design
decides from the per-level tallies, the level given last and, for the CRM, the last cohort's
DLTs). Every path of cohorts is followed through the design's own `decide`, with paths that reach
the same state merged, so the work grows with the number of distinct states, not of paths. The
result is the exact distribution of the state the trial stops in; every reported quantity is an
expectation over it, computed by the same code the simulator uses.

The number of states can grow quickly with levels and patients, so the enumeration counts them as
it goes and refuses, naming the projected number and its memory, any run that would exceed its
state budget (`StateBudgetError`), rather than running out of memory or time.

A+B designs have a second, polynomial method (`escalation.a_plus_b_characteristics`), used by
default for them; the tests hold it to this enumeration to 1e-12.
"""

from __future__ import annotations

import gc
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from escalation import a_plus_b_characteristics
from escalation.design import Design
from escalation.interface import DoseFindingDesign
from escalation.limits import DEFAULT_MAX_STATES, STATE_BYTES
from escalation.state import TrialState

Method = Literal["auto", "enumeration", "dynamic-programme"]


class StateBudgetError(ValueError):
    """An exact computation that would need more trial states than its budget allows."""

    def __init__(self, projected: int, budget: int) -> None:
        megabytes = projected * STATE_BYTES / 1e6
        super().__init__(
            f"exact operating characteristics of this design would need about {projected:,}"
            f" trial states (about {megabytes:,.0f} MB), over the budget of {budget:,} states:"
            " use fewer dose levels, cohorts or patients, raise the budget if the machine has"
            " the memory, or simulate"
        )
        self.projected = projected
        self.budget = budget


@dataclass(frozen=True)
class OperatingCharacteristics:
    """Per-level tuples are indexed by level - 1.

    ``prob_stop_at`` is the probability that the trial stops while at each level (the level of
    its last cohort). ``prob_mtd_on_single_cohort`` is the probability that the declared MTD was
    given to one cohort only (CASES.md §G1). ``sample_size`` is the distribution of the number of
    patients the trial treats: (patients, probability) for every possible number, ascending.
    ``states`` is how many trial states the exact computation processed (0 for estimates).
    """

    prob_no_mtd: float
    prob_mtd: tuple[float, ...]
    prob_stop_at: tuple[float, ...]
    expected_patients: tuple[float, ...]
    expected_dlts: tuple[float, ...]
    expected_total_patients: float
    expected_total_dlts: float
    prob_mtd_on_single_cohort: float
    sample_size: tuple[tuple[int, float], ...] = ()
    states: int = field(default=0, compare=False)

    def quantities(self) -> dict[str, float]:
        """Every reported quantity by name, such as ``prob_mtd[2]`` for level 2."""
        named = {"prob_no_mtd": self.prob_no_mtd}
        for name in ("prob_mtd", "prob_stop_at", "expected_patients", "expected_dlts"):
            values: tuple[float, ...] = getattr(self, name)
            named.update({f"{name}[{dose}]": value for dose, value in enumerate(values, 1)})
        named["expected_total_patients"] = self.expected_total_patients
        named["expected_total_dlts"] = self.expected_total_dlts
        named["prob_mtd_on_single_cohort"] = self.prob_mtd_on_single_cohort
        named.update({f"prob_sample_size[{size}]": value for size, value in self.sample_size})
        return named


def operating_characteristics(
    design: DoseFindingDesign,
    true_dlt_probabilities: Sequence[float],
    *,
    method: Method = "auto",
    max_states: int = DEFAULT_MAX_STATES,
) -> OperatingCharacteristics:
    """Exact operating characteristics.

    ``method="auto"`` takes the polynomial dynamic programme for A+B designs and the enumeration
    for every other design; either can be asked for by name (the dynamic programme exists for
    A+B designs only). ``max_states`` bounds the enumeration (`StateBudgetError` beyond it).
    """
    probabilities = check_probabilities(design, true_dlt_probabilities)
    if method == "dynamic-programme" or (method == "auto" and isinstance(design, Design)):
        if not isinstance(design, Design):
            raise ValueError(
                f"the dynamic programme computes A+B designs only, not {design.kind}; use the"
                " enumeration"
            )
        means, sample_size, states = a_plus_b_characteristics.exact_quantities(
            design, probabilities
        )
        return from_vector(design.num_doses, means, sample_size, states=states)
    if method not in ("auto", "enumeration"):
        raise ValueError(
            f"method must be 'auto', 'enumeration' or 'dynamic-programme', not {method!r}"
        )
    enumeration = _Enumeration(design, probabilities)
    enumeration.run(max_states)
    return enumeration.characteristics()


class _Enumeration:
    """One enumeration of the trial states of a design for one set of DLT probabilities."""

    def __init__(self, design: DoseFindingDesign, probabilities: Sequence[float]) -> None:
        self.design = design
        self.probabilities = probabilities
        # (final state, its MTD or None, its probability)
        self.final: list[tuple[TrialState, int | None, float]] = []
        # Trials ended by their last cohort, not kept as states (see `_last_cohort`): their
        # probabilities by (MTD or None, level of the last cohort, MTD given to one cohort only).
        self.ended: defaultdict[tuple[int | None, int, bool], list[float]] = defaultdict(list)
        self.final_mtds: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[int | None, bool]] = {}
        self.states = 0
        # Expected patients and DLTs per level, added up cohort by cohort as the mass flows.
        self.patients: list[list[float]] = [[] for _ in probabilities]
        self.dlts: list[list[float]] = [[] for _ in probabilities]

    def run(self, max_states: int) -> None:
        # Millions of short-lived states and no reference cycles: the cyclic garbage collector
        # would only rescan them, so it waits until the enumeration is over.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._run(max_states)
        finally:
            if collecting:
                gc.enable()

    def _run(self, max_states: int) -> None:
        design = self.design
        # A cohort that brings a design that ends on its tallies to its sample size ends the
        # trial: its outcomes are summed up at once instead of being kept as states.
        shortcut = design.ends_on_tallies
        last = design.max_sample_size
        # Every cohort adds patients, so taking states in order of total patients processes each
        # state once, after all the paths into it have been merged.
        pending: dict[int, dict[TrialState, float]] = {0: {TrialState.empty(design.num_doses): 1.0}}
        binomials: dict[tuple[int, int], list[float]] = {}
        # Designs that keep the default `add_patients` get their successors built here at once:
        # all of a state's successors share the new patient counts.
        plain = type(design).add_patients is DoseFindingDesign.add_patients
        step = design.step
        final = self.final
        # The mass of every cohort given, by (level, cohort size): expected patients and DLTs.
        treated: defaultdict[tuple[int, int], list[float]] = defaultdict(list)
        previous_layer = 1
        while pending:
            total = min(pending)
            layer = pending.pop(total)
            self.states += len(layer)
            for state, mass in layer.items():
                dose, mtd = step(state)
                if dose is None:
                    final.append((state, mtd, mass))
                    continue
                size = design.next_cohort_size(state, dose)
                chances = binomials.get((size, dose))
                if chances is None:
                    chances = binomials[size, dose] = binomial(size, self.probabilities[dose - 1])
                treated[dose, size].append(mass)
                if shortcut and total + size == last:
                    self._last_cohort(state, dose, size, chances, mass)
                    continue
                successors = pending.setdefault(total + size, {})
                if plain:
                    index = dose - 1
                    patients = (
                        *state.patients[:index],
                        state.patients[index] + size,
                        *state.patients[dose:],
                    )
                    before, seen, after = state.dlts[:index], state.dlts[index], state.dlts[dose:]
                    for dlts, chance in enumerate(chances):
                        if chance > 0.0:
                            successor = TrialState(
                                patients, (*before, seen + dlts, *after), dose, 0
                            )
                            successors[successor] = successors.get(successor, 0.0) + mass * chance
                    continue
                for dlts, chance in enumerate(chances):
                    if chance > 0.0:
                        successor = design.add_patients(state, dose, size, dlts)
                        successors[successor] = successors.get(successor, 0.0) + mass * chance
            seen = self.states + len(self.final_mtds)
            _check_budget(design, pending, seen, len(layer), previous_layer, max_states)
            previous_layer = max(len(layer), 1)
        self.states += len(self.final_mtds)
        for (dose, size), masses in treated.items():
            mass = math.fsum(masses)
            self.patients[dose - 1].append(mass * size)
            self.dlts[dose - 1].append(mass * size * self.probabilities[dose - 1])

    def _last_cohort(
        self, state: TrialState, dose: int, size: int, chances: list[float], mass: float
    ) -> None:
        """The trials that end after this cohort, one per number of DLTs in it.

        The design declares (`DoseFindingDesign.ends_on_tallies`) that a trial reaching its
        sample size stops with an MTD from the tallies alone, so each distinct tally is decided
        once, by the design's own `final_mtd`, whatever the paths into it.
        """
        index = dose - 1
        patients = (*state.patients[:index], state.patients[index] + size, *state.patients[dose:])
        before, seen, after = state.dlts[:index], state.dlts[index], state.dlts[dose:]
        known = self.final_mtds
        ended = self.ended
        for dlts, chance in enumerate(chances):
            if chance > 0.0:
                tallies = (patients, (*before, seen + dlts, *after))
                outcome = known.get(tallies)
                if outcome is None:
                    mtd = self.design.final_mtd(*tallies)
                    single = mtd is not None and patients[mtd - 1] <= self.design.cohort_size
                    outcome = known[tallies] = (mtd, single)
                ended[outcome[0], dose, outcome[1]].append(mass * chance)

    def characteristics(self) -> OperatingCharacteristics:
        """The expectations over the final states, each sum taken with `math.fsum`."""
        n = self.design.num_doses
        no_mtd: list[float] = []
        mtd: list[list[float]] = [[] for _ in range(n)]
        stop_at: list[list[float]] = [[] for _ in range(n)]
        single: list[float] = []
        sizes: dict[int, list[float]] = {}
        cohort = self.design.cohort_size
        for state, selected, weight in self.final:
            if selected is None:
                no_mtd.append(weight)
            else:
                mtd[selected - 1].append(weight)
                if state.patients[selected - 1] <= cohort:
                    single.append(weight)
            if state.current_dose is not None:
                stop_at[state.current_dose - 1].append(weight)
            sizes.setdefault(state.total_patients, []).append(weight)
        if self.ended:
            ended = sizes.setdefault(self.design.max_sample_size, [])
            for (selected, dose, one_cohort), weights in self.ended.items():
                weight = math.fsum(weights)
                (no_mtd if selected is None else mtd[selected - 1]).append(weight)
                if one_cohort:
                    single.append(weight)
                stop_at[dose - 1].append(weight)
                ended.append(weight)
        patients = [math.fsum(terms) for terms in self.patients]
        dlts = [math.fsum(terms) for terms in self.dlts]
        return OperatingCharacteristics(
            prob_no_mtd=math.fsum(no_mtd),
            prob_mtd=tuple(math.fsum(terms) for terms in mtd),
            prob_stop_at=tuple(math.fsum(terms) for terms in stop_at),
            expected_patients=tuple(patients),
            expected_dlts=tuple(dlts),
            expected_total_patients=math.fsum(patients),
            expected_total_dlts=math.fsum(dlts),
            prob_mtd_on_single_cohort=math.fsum(single),
            sample_size=tuple(
                (size, share)
                for size, share in sorted((size, math.fsum(w)) for size, w in sizes.items())
                if share > 0.0
            ),
            states=self.states,
        )


def _check_budget(
    design: DoseFindingDesign,
    pending: dict[int, dict[TrialState, float]],
    processed: int,
    layer: int,
    previous_layer: int,
    max_states: int,
) -> None:
    held = processed + sum(len(states) for states in pending.values())
    if held > max_states:
        raise StateBudgetError(_project(design, pending, held, layer, previous_layer), max_states)
    # Extrapolate only once the run is large enough for its growth to say something; small runs
    # finish sooner than any projection.
    if held > max_states // 100:
        projected = _project(design, pending, held, layer, previous_layer)
        if projected > max_states:
            raise StateBudgetError(projected, max_states)


def _project(
    design: DoseFindingDesign,
    pending: dict[int, dict[TrialState, float]],
    held: int,
    layer: int,
    previous_layer: int,
) -> int:
    """States seen plus the next layers grown at the rate of the last one, up to the last one."""
    if not pending:
        return held
    growth = max(layer / previous_layer, 1.0)
    nearest = min(pending)
    remaining = max((design.max_sample_size - nearest) // max(design.cohort_size, 1), 0)
    size = float(len(pending[nearest]))
    projected = float(held)
    for _ in range(remaining):
        size *= growth
        projected += size
        if projected > 1e15:
            break
    return int(projected)


def trial_quantities(design: DoseFindingDesign, state: TrialState, mtd: int | None) -> list[float]:
    """One finished trial's value of every per-level and total quantity (`from_vector` order)."""
    doses = range(1, design.num_doses + 1)
    patients = [float(count) for count in state.patients]
    dlts = [float(count) for count in state.dlts]
    single_cohort = mtd is not None and state.patients[mtd - 1] <= design.cohort_size
    return [
        float(mtd is None),
        *(float(mtd == dose) for dose in doses),
        *(float(state.current_dose == dose) for dose in doses),
        *patients,
        *dlts,
        sum(patients),
        sum(dlts),
        float(single_cohort),
    ]


def trial_moments(
    design: DoseFindingDesign, final_states: Iterable[tuple[TrialState, int | None, float]]
) -> tuple[list[float], list[float], dict[int, float]]:
    """First and second moments of every quantity over weighted final states (state, MTD,
    weight), and the weight of each total number of patients."""
    terms: list[list[float]] = []
    square_terms: list[list[float]] = []
    sizes: dict[int, list[float]] = {}
    for state, mtd, weight in final_states:
        values = trial_quantities(design, state, mtd)
        terms.append([weight * value for value in values])
        square_terms.append([weight * value * value for value in values])
        sizes.setdefault(state.total_patients, []).append(weight)
    sample_size = {size: math.fsum(weights) for size, weights in sizes.items()}
    return _column_sums(terms), _column_sums(square_terms), sample_size


def from_vector(
    num_doses: int, values: Sequence[float], sample_size: dict[int, float], *, states: int = 0
) -> OperatingCharacteristics:
    """Rebuild `OperatingCharacteristics` from the flat order of `trial_quantities`."""
    n = num_doses
    return OperatingCharacteristics(
        prob_no_mtd=values[0],
        prob_mtd=tuple(values[1 : 1 + n]),
        prob_stop_at=tuple(values[1 + n : 1 + 2 * n]),
        expected_patients=tuple(values[1 + 2 * n : 1 + 3 * n]),
        expected_dlts=tuple(values[1 + 3 * n : 1 + 4 * n]),
        expected_total_patients=values[1 + 4 * n],
        expected_total_dlts=values[2 + 4 * n],
        prob_mtd_on_single_cohort=values[3 + 4 * n],
        sample_size=tuple(sorted((size, p) for size, p in sample_size.items() if p > 0.0)),
        states=states,
    )


def check_probabilities(
    design: DoseFindingDesign, probabilities: Sequence[float]
) -> tuple[float, ...]:
    """The true DLT probabilities as floats, one per level, each in [0, 1]."""
    values = tuple(probabilities)
    if len(values) != design.num_doses:
        raise ValueError(
            f"{len(values)} true DLT probabilities given for a design with {design.num_doses}"
            " dose levels"
        )
    checked: list[float] = []
    for dose, value in enumerate(values, 1):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"the DLT probability of level {dose} is not a number: {value!r}")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"the DLT probability of level {dose} must be in [0, 1], not {value}")
        checked.append(float(value))
    return tuple(checked)


def binomial(size: int, probability: float) -> list[float]:
    """P(k DLTs among ``size`` patients) for k = 0..size."""
    return [
        math.comb(size, k) * probability**k * (1.0 - probability) ** (size - k)
        for k in range(size + 1)
    ]


def _column_sums(rows: list[list[float]]) -> list[float]:
    # fsum keeps the probabilities summing to 1 to within rounding of the final result.
    return [math.fsum(column) for column in zip(*rows, strict=True)]
