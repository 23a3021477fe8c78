"""Benchmark: exact operating characteristics of a 6-level 3+3 design vs simulating 10,000 trials.

Run: `uv run --frozen python bench/escalation_oc.py` (also part of `make bench`). Prints a markdown
table (best of several repetitions, time.perf_counter) and the machine it ran on.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from escalation import Design, Variant, operating_characteristics, simulate
from escalation.characteristics import final_state_distribution

PROBABILITIES = (0.05, 0.10, 0.20, 0.30, 0.45, 0.60)
TRIALS = 10_000
SEED = 2024
EXACT_REPETITIONS = 7
SIMULATION_REPETITIONS = 3


def best_seconds(run: Callable[[], object], repetitions: int) -> float:
    timings = []
    for _ in range(repetitions):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    out = sys.stdout.write
    python = platform.python_version()
    out(f"Machine: {os.cpu_count()} CPUs (nproc), {cpu_model()}, Python {python}\n")
    out(f"True DLT probabilities: {', '.join(f'{p:.2f}' for p in PROBABILITIES)}\n\n")
    out(
        "| variant | final states | exact OC (ms) | simulate 10,000 trials (ms) |"
        " simulation / exact | largest deviation of simulated from exact (standard errors) |\n"
    )
    out("|---|---:|---:|---:|---:|---:|\n")
    for variant in Variant:
        design = Design(num_doses=len(PROBABILITIES), variant=variant)
        exact_seconds = best_seconds(
            partial(operating_characteristics, design, PROBABILITIES), EXACT_REPETITIONS
        )
        simulation_seconds = best_seconds(
            partial(simulate, design, PROBABILITIES, trials=TRIALS, seed=SEED),
            SIMULATION_REPETITIONS,
        )
        exact = operating_characteristics(design, PROBABILITIES).quantities()
        result = simulate(design, PROBABILITIES, trials=TRIALS, seed=SEED)
        estimate = result.estimate.quantities()
        errors = result.standard_error.quantities()
        worst = max(
            abs(estimate[name] - value) / errors[name]
            for name, value in exact.items()
            if errors[name]
        )
        states = len(final_state_distribution(design, PROBABILITIES))
        out(
            f"| {variant.value} | {states} | {exact_seconds * 1000:.1f} |"
            f" {simulation_seconds * 1000:.0f} | {simulation_seconds / exact_seconds:.0f}x |"
            f" {worst:.2f} |\n"
        )


if __name__ == "__main__":
    main()
