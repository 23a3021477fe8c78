"""Benchmark: exact operating characteristics of BOIN, i3+3, mTPI-2 and CRM designs (enumeration
of trial states) beside simulating 10,000 trials of the same design, in one run.

Run: `uv run --frozen python bench/dose_finding_designs_oc.py` (also part of `make bench`).
Prints a markdown table and the machine. Each figure is the best of 5 repetitions, exact and
simulation taking turns so that both meet the same load; each repetition builds its design afresh,
so that nothing one run remembered helps the next. Wall-clock time (time.perf_counter) and the
process's CPU time (time.process_time) are both given: on a shared machine the CPU time is the
steadier measure of the work done.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from functools import partial

from escalation import (
    BOIN,
    CRM,
    MTPI2,
    DoseFindingDesign,
    I3Plus3,
    operating_characteristics,
    simulate,
)

TRIALS = 10_000
SEED = 2024
REPETITIONS = 5

# Five levels, cohorts of 3, 36 patients.
DESIGNS: dict[str, tuple[Callable[[], DoseFindingDesign], tuple[float, ...]]] = {
    "BOIN, target 0.3": (
        lambda: BOIN(num_doses=5, target=0.3, num_cohorts=12),
        (0.05, 0.10, 0.20, 0.30, 0.45),
    ),
    "i3+3, target 0.3": (
        lambda: I3Plus3(num_doses=5, target=0.3, num_cohorts=12),
        (0.05, 0.10, 0.20, 0.30, 0.45),
    ),
    "mTPI-2, target 0.3": (
        lambda: MTPI2(num_doses=5, target=0.3, num_cohorts=12),
        (0.05, 0.10, 0.20, 0.30, 0.45),
    ),
    "CRM, target 0.25, empiric, getprior(0.05, 0.25, 3, 5)": (
        lambda: CRM(
            num_doses=5,
            target=0.25,
            num_cohorts=12,
            cohort_size=3,
            prior_mtd=3,
            skeleton_halfwidth=0.05,
        ),
        (0.05, 0.10, 0.25, 0.40, 0.55),
    ),
}


def best_of_turns(
    first: Callable[[], object], second: Callable[[], object]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(wall, CPU) seconds of each, best of REPETITIONS, the two taking turns."""
    timings: list[list[tuple[float, float]]] = [[], []]
    for _ in range(REPETITIONS):
        for index, run in enumerate((first, second)):
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            timings[index].append((time.perf_counter() - wall, time.process_time() - cpu))
    best = [(min(wall for wall, _ in runs), min(cpu for _, cpu in runs)) for runs in timings]
    return best[0], best[1]


def exact_afresh(build: Callable[[], DoseFindingDesign], probabilities: tuple[float, ...]) -> None:
    operating_characteristics(build(), probabilities)


def simulation_afresh(
    build: Callable[[], DoseFindingDesign], probabilities: tuple[float, ...]
) -> None:
    simulate(build(), probabilities, trials=TRIALS, seed=SEED)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    out = sys.stdout.write
    out(
        f"Machine: {os.cpu_count()} CPUs (nproc), {cpu_model()}, Python {platform.python_version()}"
    )
    if hasattr(os, "getloadavg"):
        out(f", load average {os.getloadavg()[0]:.1f} at the start")
    out(f"\nFive levels, cohorts of 3, 36 patients; {TRIALS:,} simulated trials, seed {SEED}\n\n")
    out(
        "| design | true DLT probabilities | states | exact OC, wall (CPU) ms"
        " | simulate 10,000, wall (CPU) ms | simulation / exact, wall (CPU)"
        " | largest deviation of simulated from exact (standard errors) |\n"
    )
    out("|---|---|---:|---:|---:|---:|---:|\n")
    for name, (build, probabilities) in DESIGNS.items():
        (exact_wall, exact_cpu), (simulation_wall, simulation_cpu) = best_of_turns(
            partial(exact_afresh, build, probabilities),
            partial(simulation_afresh, build, probabilities),
        )
        exact = operating_characteristics(build(), probabilities)
        result = simulate(build(), probabilities, trials=TRIALS, seed=SEED)
        estimate = result.estimate.quantities()
        errors = result.standard_error.quantities()
        worst = max(
            abs(estimate.get(quantity, 0.0) - value) / errors[quantity]
            for quantity, value in exact.quantities().items()
            if errors.get(quantity)
        )
        shown = ", ".join(f"{p:.2f}" for p in probabilities)
        out(
            f"| {name} | {shown} | {exact.states:,} |"
            f" {exact_wall * 1000:.0f} ({exact_cpu * 1000:.0f}) |"
            f" {simulation_wall * 1000:.0f} ({simulation_cpu * 1000:.0f}) |"
            f" {simulation_wall / exact_wall:.2f}x ({simulation_cpu / exact_cpu:.2f}x) |"
            f" {worst:.2f} |\n"
        )


if __name__ == "__main__":
    main()
