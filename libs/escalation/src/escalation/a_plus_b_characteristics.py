"""Exact operating characteristics of A+B designs in polynomial time.

Lin & Shih (2001) give closed forms for A+B designs because the trial factorises by level: a
level's outcomes are independent of the others, and the rules look at them in a fixed order. This
module generalises their closed forms to every variant and option of `Design` (escalation only,
Korn de-escalation, the expanded top level, any A, B and thresholds, a start above level 1 with or
without going below it, "stop once any level has N", a cap on patients) with a dynamic programme
over "the current level, and what the levels below can still do":

* Climbing, every level below the current one has passed, on its first cohort (A patients) or
  after expansion (A+B). If the trial later de-escalates, it walks down confirming each level
  passed on A until one passes again, or it reaches ``h``, the highest level passed on A+B, where
  it stops with the MTD. Nothing below ``h`` can change the trial any more, so the climbing state
  is (level, h), not the whole history.
* The number of DLTs of a level passed on A matters only to its confirmation (A+B with at most E
  DLTs); given that the level passed, it is independent of everything else, so the programme
  carries the level's pass/fail probability and draws those DLTs only when confirming.
* Each node carries the distribution of the number of patients treated so far, so that the
  sample-size distribution, the cap on patients and the protocol stops are exact.

The nodes are O(levels^2) and each carries at most levels x (A+B) patient counts: 30 levels take
milliseconds where the enumeration of trial states (`escalation.characteristics`) would need more
states than any machine holds. The tests hold the two to 1e-12 on random designs and probabilities.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from escalation.design import Design, Variant

# The distribution of patients treated so far: {patients: probability}.
Counts = dict[int, float]


@dataclass
class _Totals:
    """What the finished trials add up to, in the flat order of `trial_quantities`."""

    num_doses: int
    no_mtd: float = 0.0
    single_cohort: float = 0.0
    mtd: list[float] = field(default_factory=list)
    stop_at: list[float] = field(default_factory=list)
    patients: list[float] = field(default_factory=list)
    dlts: list[float] = field(default_factory=list)
    sample_size: defaultdict[int, float] = field(default_factory=lambda: defaultdict(float))
    states: int = 0

    def __post_init__(self) -> None:
        for name in ("mtd", "stop_at", "patients", "dlts"):
            setattr(self, name, [0.0] * self.num_doses)

    def finish(
        self,
        counts: Counts,
        mtd: int | None,
        stopped_at: int,
        *,
        single: bool,
        factor: float = 1.0,
    ) -> None:
        """Trials that stop here: ``counts`` times ``factor`` by patients treated."""
        if not counts or factor == 0.0:
            return
        sizes = self.sample_size
        mass = 0.0
        for patients, share in counts.items():
            weight = share * factor
            sizes[patients] += weight
            mass += weight
        if mtd is None:
            self.no_mtd += mass
        else:
            self.mtd[mtd - 1] += mass
            if single:
                self.single_cohort += mass
        self.stop_at[stopped_at - 1] += mass

    def vector(self) -> list[float]:
        return [
            self.no_mtd,
            *self.mtd,
            *self.stop_at,
            *self.patients,
            *self.dlts,
            math.fsum(self.patients),
            math.fsum(self.dlts),
            self.single_cohort,
        ]


def exact_quantities(
    design: Design, probabilities: Sequence[float]
) -> tuple[list[float], dict[int, float], int]:
    """The quantities of `trial_quantities` in expectation, the sample-size distribution, and the
    number of (node, patients) states the programme went through."""
    programme = _Programme(design, probabilities)
    programme.run()
    totals = programme.totals
    return totals.vector(), dict(totals.sample_size), totals.states


class _Programme:
    """One run of the dynamic programme for one design and one set of DLT probabilities."""

    def __init__(self, design: Design, probabilities: Sequence[float]) -> None:
        self.design = design
        self.p = [0.0, *probabilities]
        self.totals = _Totals(design.num_doses)
        a, b = design.cohort_size, design.expansion_size
        self.first = [[0.0]] + [_binomial(a, p) for p in probabilities]
        self.second = [[0.0]] + [_binomial(b, p) for p in probabilities]
        # Climbing nodes (level -> h -> counts), expansions (level -> (h, DLTs in A) -> counts),
        # confirmations of a level passed on A (level -> h -> counts), and levels below the start
        # reached going down (level -> counts; their expansions keyed by DLTs in A).
        self.climb: defaultdict[int, defaultdict[int, Counts]] = defaultdict(_counts_by_key)
        self.expand: defaultdict[int, defaultdict[tuple[int, int], Counts]] = defaultdict(
            _counts_by_pair
        )
        self.confirm: defaultdict[int, defaultdict[int, Counts]] = defaultdict(_counts_by_key)
        self.fresh: defaultdict[int, Counts] = defaultdict(dict)
        self.fresh_expand: defaultdict[int, defaultdict[int, Counts]] = defaultdict(_counts_by_key)

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> None:
        design = self.design
        self.climb[design.start_dose][0] = {0: 1.0}
        for level in range(design.start_dose, design.num_doses + 1):
            for h, counts in sorted(self.climb[level].items()):
                self._first_cohort(level, h, counts)
            for (h, first_dlts), counts in sorted(self.expand[level].items()):
                self._expansion(level, h, first_dlts, counts)
        # Going down, every node sends mass only to lower levels.
        for level in range(design.num_doses, 0, -1):
            for h, counts in sorted(self.confirm[level].items()):
                self._confirmation(level, h, counts)
            if level in self.fresh:
                self._fresh_level(level, self.fresh[level])
            for first_dlts, counts in sorted(self.fresh_expand[level].items()):
                self._fresh_expansion(level, first_dlts, counts)

    def _first_cohort(self, level: int, h: int, counts: Counts) -> None:
        """A patients at a level never given before, climbing; ``h`` as in the module doc."""
        design = self.design
        a = design.cohort_size
        treated = self._treat(level, a, counts)
        chances = self.first[level]
        escalation_only = design.variant is Variant.ESC
        passed = sum(chances[: design.max_dlts_to_escalate + 1])
        if level == design.num_doses:
            if design.variant is Variant.EXPAND_TOP:
                for dlts in range(design.max_dlts_to_escalate + 1):
                    self._go_on(
                        self.expand[level][h, dlts],
                        treated,
                        chances[dlts],
                        size=design.expansion_size,
                        at=level,
                        mtd=h or None,
                        single=False,
                        has_full=h > 0,
                    )
            else:
                self.totals.finish(treated, level, level, single=True, factor=passed)
        else:
            mtd = level if escalation_only else (h or None)
            self._go_on(
                self.climb[level + 1][h],
                treated,
                passed,
                size=a,
                at=level,
                mtd=mtd,
                single=escalation_only,
                has_full=h > 0,
            )
        below = level - 1 if level - 1 >= design.start_dose else None
        for dlts in range(design.max_dlts_to_escalate + 1, design.max_dlts_to_expand + 1):
            self._go_on(
                self.expand[level][h, dlts],
                treated,
                chances[dlts],
                size=design.expansion_size,
                at=level,
                mtd=below if escalation_only else (h or None),
                single=escalation_only and below is not None and h != below,
                has_full=h > 0,
            )
        failed = sum(chances[design.max_dlts_to_expand + 1 :])
        self._too_toxic(level, h, treated, failed, full=False)

    def _expansion(self, level: int, h: int, first_dlts: int, counts: Counts) -> None:
        """B more at a level whose first cohort had ``first_dlts`` DLTs, climbing."""
        design = self.design
        treated = self._treat(level, design.expansion_size, counts)
        passed, failed = self._expanded_outcomes(level, first_dlts)
        if level == design.num_doses:
            self.totals.finish(treated, level, level, single=False, factor=passed)
        else:
            self._go_on(
                self.climb[level + 1][level],
                treated,
                passed,
                size=design.cohort_size,
                at=level,
                mtd=level,
                single=False,
                has_full=True,
            )
        self._too_toxic(level, h, treated, failed, full=True)

    def _too_toxic(self, level: int, h: int, counts: Counts, factor: float, *, full: bool) -> None:
        """The level just treated has more DLTs than the design tolerates."""
        design = self.design
        if design.variant is Variant.ESC:
            below = level - 1
            given = below >= max(design.start_dose, 1)
            self.totals.finish(
                counts, below if given else None, level, single=given and h != below, factor=factor
            )
            return
        self._arrive(level - 1, h, counts, factor, came_from=level, has_full=full or h > 0)

    def _arrive(
        self,
        level: int,
        h: int,
        counts: Counts,
        factor: float,
        *,
        came_from: int,
        has_full: bool,
    ) -> None:
        """De-escalation reaches ``level``: the one above it is too toxic."""
        design = self.design
        if level < design.lowest_dose:
            self.totals.finish(counts, None, came_from, single=False, factor=factor)
        elif level >= design.start_dose and level == h:
            self.totals.finish(counts, level, came_from, single=False, factor=factor)
        elif level >= design.start_dose:
            self._go_on(
                self.confirm[level][h],
                counts,
                factor,
                size=design.expansion_size,
                at=came_from,
                mtd=h or None,
                single=False,
                has_full=has_full,
            )
        else:
            self._go_on(
                self.fresh[level],
                counts,
                factor,
                size=design.cohort_size,
                at=came_from,
                mtd=None,
                single=False,
                has_full=has_full,
            )

    def _confirmation(self, level: int, h: int, counts: Counts) -> None:
        """B more at a level passed on A while climbing, to confirm it on A+B."""
        design = self.design
        treated = self._treat(level, design.expansion_size, counts)
        first, second = self.first[level], self.second[level]
        passed_first = sum(first[: design.max_dlts_to_escalate + 1])
        # Given that the level passed on A, its DLTs there follow the binomial restricted to
        # 0..max_dlts_to_escalate; they were not drawn while climbing, so they are drawn here.
        confirmed = 0.0
        if passed_first > 0.0:
            confirmed = (
                sum(
                    first[k] * sum(second[: design.max_dlts_in_expanded - k + 1])
                    for k in range(design.max_dlts_to_escalate + 1)
                )
                / passed_first
            )
        refuted = (
            sum(
                first[k] * sum(second[design.max_dlts_in_expanded - k + 1 :])
                for k in range(design.max_dlts_to_escalate + 1)
            )
            / passed_first
            if passed_first > 0.0
            else 0.0
        )
        self.totals.finish(treated, level, level, single=False, factor=confirmed)
        self._arrive(level - 1, h, treated, refuted, came_from=level, has_full=True)

    def _fresh_level(self, level: int, counts: Counts) -> None:
        """A patients at a level below the start, reached going down."""
        design = self.design
        treated = self._treat(level, design.cohort_size, counts)
        chances = self.first[level]
        passed = sum(chances[: design.max_dlts_to_escalate + 1])
        # The level above is too toxic, so passing here stops the trial with this level.
        self.totals.finish(treated, level, level, single=True, factor=passed)
        for dlts in range(design.max_dlts_to_escalate + 1, design.max_dlts_to_expand + 1):
            self._go_on(
                self.fresh_expand[level][dlts],
                treated,
                chances[dlts],
                size=design.expansion_size,
                at=level,
                mtd=None,
                single=False,
                has_full=False,
            )
        failed = sum(chances[design.max_dlts_to_expand + 1 :])
        self._arrive(level - 1, 0, treated, failed, came_from=level, has_full=False)

    def _fresh_expansion(self, level: int, first_dlts: int, counts: Counts) -> None:
        design = self.design
        treated = self._treat(level, design.expansion_size, counts)
        passed, failed = self._expanded_outcomes(level, first_dlts)
        self.totals.finish(treated, level, level, single=False, factor=passed)
        self._arrive(level - 1, 0, treated, failed, came_from=level, has_full=True)

    # -- shared steps --------------------------------------------------------------------------

    def _expanded_outcomes(self, level: int, first_dlts: int) -> tuple[float, float]:
        """P(A+B at ``level`` pass, fail) given ``first_dlts`` DLTs among the first A."""
        chances = self.second[level]
        allowed = self.design.max_dlts_in_expanded - first_dlts
        passed = sum(chances[: allowed + 1]) if allowed >= 0 else 0.0
        return passed, sum(chances[max(allowed + 1, 0) :])

    def _treat(self, level: int, size: int, counts: Counts) -> Counts:
        """Give ``size`` patients ``level``: their expected patients and DLTs, and the shift."""
        self.totals.states += len(counts)
        mass = math.fsum(counts.values())
        self.totals.patients[level - 1] += mass * size
        self.totals.dlts[level - 1] += mass * size * self.p[level]
        return {patients + size: share for patients, share in counts.items()}

    def _go_on(
        self,
        into: Counts,
        counts: Counts,
        factor: float,
        *,
        size: int,
        at: int,
        mtd: int | None,
        single: bool,
        has_full: bool,
    ) -> None:
        """A decision to give ``size`` more patients: ``counts`` times ``factor`` go ``into``.

        First the protocol stops of `rules._apply_protocol_limits`: ``at`` is the level just
        treated, ``mtd`` what `rules._early_stop_mtd` declares there, ``has_full`` whether some
        level has A+B patients.
        """
        if not counts or factor == 0.0:
            return
        design = self.design
        limit = design.stop_when_any_dose_has
        if limit is not None and (
            limit <= design.cohort_size or (limit <= design.full_cohort and has_full)
        ):
            self.totals.finish(counts, mtd, at, single=single and mtd is not None, factor=factor)
            return
        cap = design.max_patients
        if cap is not None:
            over = {patients: share for patients, share in counts.items() if patients + size > cap}
            self.totals.finish(over, mtd, at, single=single and mtd is not None, factor=factor)
            counts = {
                patients: share for patients, share in counts.items() if patients + size <= cap
            }
        for patients, share in counts.items():
            into[patients] = into.get(patients, 0.0) + share * factor


def _binomial(size: int, probability: float) -> list[float]:
    return [
        math.comb(size, k) * probability**k * (1.0 - probability) ** (size - k)
        for k in range(size + 1)
    ]


def _counts_by_key() -> defaultdict[int, Counts]:
    return defaultdict(dict)


def _counts_by_pair() -> defaultdict[tuple[int, int], Counts]:
    return defaultdict(dict)
