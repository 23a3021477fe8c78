"""Exact operating characteristics of a design for given true DLT probabilities.

The trial is a Markov chain on `TrialState`: the rules look only at the per-level tallies and the
level given last. Every path of cohorts is enumerated through `decide`, with paths that reach the
same state merged (memoisation on the state), so the work grows with the number of distinct
states, not of paths. The result is the exact distribution of the state the trial stops in; every
reported quantity is an expectation over it, computed by the same code the simulator uses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from escalation.design import Design
from escalation.rules import Decision, TrialState, decide, patients_for_next_cohort


@dataclass(frozen=True)
class OperatingCharacteristics:
    """Per-level tuples are indexed by level - 1.

    ``prob_stop_at`` is the probability that the trial stops while at each level (the level of
    its last cohort). ``prob_mtd_on_single_cohort`` is the probability that the declared MTD was
    given to one cohort only (CASES.md §G1).
    """

    prob_no_mtd: float
    prob_mtd: tuple[float, ...]
    prob_stop_at: tuple[float, ...]
    expected_patients: tuple[float, ...]
    expected_dlts: tuple[float, ...]
    expected_total_patients: float
    expected_total_dlts: float
    prob_mtd_on_single_cohort: float

    def quantities(self) -> dict[str, float]:
        """Every reported quantity by name, such as ``prob_mtd[2]`` for level 2."""
        named = {"prob_no_mtd": self.prob_no_mtd}
        for name in ("prob_mtd", "prob_stop_at", "expected_patients", "expected_dlts"):
            values: tuple[float, ...] = getattr(self, name)
            named.update({f"{name}[{dose}]": value for dose, value in enumerate(values, 1)})
        named["expected_total_patients"] = self.expected_total_patients
        named["expected_total_dlts"] = self.expected_total_dlts
        named["prob_mtd_on_single_cohort"] = self.prob_mtd_on_single_cohort
        return named


def operating_characteristics(
    design: Design, true_dlt_probabilities: Sequence[float]
) -> OperatingCharacteristics:
    """Exact operating characteristics by enumerating every path of the trial."""
    probabilities = check_probabilities(design, true_dlt_probabilities)
    means, _ = trial_moments(design, final_state_distribution(design, probabilities))
    return from_quantity_vector(design, means)


def final_state_distribution(
    design: Design, probabilities: Sequence[float]
) -> list[tuple[TrialState, Decision, float]]:
    """Each state in which the trial can stop, the decision there, and its exact probability."""
    # Every cohort adds patients, so taking states in order of total patients processes each
    # state once, after all the paths into it have been merged.
    pending: dict[int, dict[TrialState, float]] = {0: {TrialState.empty(design.num_doses): 1.0}}
    final: list[tuple[TrialState, Decision, float]] = []
    while pending:
        layer = pending.pop(min(pending))
        for state, mass in layer.items():
            decision = decide(design, state)
            if not decision.continue_trial:
                final.append((state, decision, mass))
                continue
            assert decision.next_dose is not None
            dose = decision.next_dose
            size = patients_for_next_cohort(design, state.tally(dose))
            successors = pending.setdefault(state.total_patients + size, {})
            for dlts, chance in enumerate(_binomial(size, probabilities[dose - 1])):
                if chance > 0.0:
                    successor = state.with_patients(dose, size, dlts)
                    successors[successor] = successors.get(successor, 0.0) + mass * chance
    return final


def trial_quantities(design: Design, state: TrialState, decision: Decision) -> list[float]:
    """One finished trial's value of every reported quantity, in `from_quantity_vector` order."""
    doses = range(1, design.num_doses + 1)
    mtd = decision.mtd
    patients = [float(tally.patients) for tally in state.tallies]
    dlts = [float(tally.dlts) for tally in state.tallies]
    single_cohort = mtd is not None and state.tally(mtd).patients < design.full_cohort
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
    design: Design, final_states: Iterable[tuple[TrialState, Decision, float]]
) -> tuple[list[float], list[float]]:
    """First and second moments of every quantity over weighted final states."""
    terms: list[list[float]] = []
    square_terms: list[list[float]] = []
    for state, decision, weight in final_states:
        values = trial_quantities(design, state, decision)
        terms.append([weight * value for value in values])
        square_terms.append([weight * value * value for value in values])
    return _column_sums(terms), _column_sums(square_terms)


def from_quantity_vector(design: Design, values: Sequence[float]) -> OperatingCharacteristics:
    """Rebuild `OperatingCharacteristics` from the flat order of `trial_quantities`."""
    n = design.num_doses
    return OperatingCharacteristics(
        prob_no_mtd=values[0],
        prob_mtd=tuple(values[1 : 1 + n]),
        prob_stop_at=tuple(values[1 + n : 1 + 2 * n]),
        expected_patients=tuple(values[1 + 2 * n : 1 + 3 * n]),
        expected_dlts=tuple(values[1 + 3 * n : 1 + 4 * n]),
        expected_total_patients=values[1 + 4 * n],
        expected_total_dlts=values[2 + 4 * n],
        prob_mtd_on_single_cohort=values[3 + 4 * n],
    )


def check_probabilities(design: Design, probabilities: Sequence[float]) -> tuple[float, ...]:
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


def _binomial(size: int, probability: float) -> list[float]:
    return [
        math.comb(size, k) * probability**k * (1.0 - probability) ** (size - k)
        for k in range(size + 1)
    ]


def _column_sums(rows: list[list[float]]) -> list[float]:
    # fsum keeps the probabilities summing to 1 to within rounding of the final result.
    return [math.fsum(column) for column in zip(*rows, strict=True)]
