"""Benchmark: exact operating characteristics of A+B designs, polynomial programme vs enumeration
vs simulating 10,000 trials (Doseline's simulator, and clintrials when it is available).

Run: `uv run --frozen python bench/escalation_oc.py` (also part of `make bench`). Prints markdown
tables (best of several repetitions, time.perf_counter) and the machine it ran on.

The clintrials column: clintrials (PyPI, 0.1.4, 2016) needs numpy and scipy and is no dependency
of Doseline. Point CLINTRIALS_PYTHON at an interpreter that has it, e.g. a throw-away venv:
`python3 -m venv /tmp/ct && /tmp/ct/bin/pip install clintrials numpy scipy`, then
`CLINTRIALS_PYTHON=/tmp/ct/bin/python uv run --frozen python bench/escalation_oc.py`. Without it
the column is skipped with the reason printed. clintrials imports `Iterable` from `collections`,
which Python 3.10 removed; the measuring process aliases it from `collections.abc` first.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from escalation import Design, StateBudgetError, Variant, operating_characteristics, simulate

PROBABILITIES = (0.05, 0.10, 0.20, 0.30, 0.45, 0.60)
TRIALS = 10_000
SEED = 2024
LEVELS = 30
# Thresholds (escalate on, expand on, tolerate in A+B) of each A+B design timed at 30 levels.
A_PLUS_B = {
    "3+3": (3, 3, 0, 1, 1),
    "4+4": (4, 4, 0, 1, 1),
    "5+5": (5, 5, 0, 1, 2),
    "6+6": (6, 6, 1, 2, 2),
}

CLINTRIALS_RUN = """
import collections, collections.abc, json, sys, time
collections.Iterable = collections.abc.Iterable
from clintrials.dosefinding import ThreePlusThree, simulate_dose_finding_trial
probabilities, trials, repetitions = json.loads(sys.argv[1])
best = None
for _ in range(repetitions):
    design = ThreePlusThree(len(probabilities))
    started = time.perf_counter()
    for _ in range(trials):
        simulate_dose_finding_trial(
            design, probabilities, cohort_size=3, calculate_optimal_decision=0
        )
    elapsed = time.perf_counter() - started
    best = elapsed if best is None else min(best, elapsed)
import clintrials
print(json.dumps({"seconds": best, "version": getattr(clintrials, "__version__", "0.1.4")}))
"""


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


def clintrials_seconds() -> tuple[float | None, str]:
    """clintrials' 3+3 simulating TRIALS trials (best of 3), or None and why not."""
    python = os.environ.get("CLINTRIALS_PYTHON")
    if not python:
        return None, "CLINTRIALS_PYTHON is not set (see the module doc)"
    argument = json.dumps([list(PROBABILITIES), TRIALS, 3])
    done = subprocess.run(
        [python, "-c", CLINTRIALS_RUN, argument],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"clintrials could not run under {python}: {last}"
    answer = json.loads(done.stdout)
    return float(answer["seconds"]), f"clintrials {answer['version']} under {python}"


def largest_difference(first: dict[str, float], second: dict[str, float]) -> float:
    return max(abs(first[name] - second.get(name, 0.0)) for name in first)


def six_levels(out: Callable[[str], object]) -> None:
    peer, peer_note = clintrials_seconds()
    out(f"Peer: {peer_note}\n\n")
    out(
        "| variant | programme (ms) | programme states | enumeration (ms) | enumeration states"
        " | simulate 10,000 (ms) | simulation / programme | clintrials 10,000 (ms)"
        " | clintrials / programme | largest difference, programme vs enumeration |\n"
    )
    out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for variant in Variant:
        design = Design(num_doses=len(PROBABILITIES), variant=variant)
        programme = partial(operating_characteristics, design, PROBABILITIES)
        enumeration = partial(programme, method="enumeration")
        programme_seconds = best_seconds(programme, 20)
        enumeration_seconds = best_seconds(enumeration, 5)
        simulation_seconds = best_seconds(
            partial(simulate, design, PROBABILITIES, trials=TRIALS, seed=SEED), 3
        )
        exact, enumerated = programme(), enumeration()
        difference = largest_difference(exact.quantities(), enumerated.quantities())
        # clintrials' ThreePlusThree is the escalation-only 3+3.
        if variant is Variant.ESC and peer is not None:
            peer_ms, peer_ratio = f"{peer * 1000:.0f}", f"{peer / programme_seconds:,.0f}x"
        else:
            peer_ms = peer_ratio = "n/a"
        out(
            f"| {variant.value} | {programme_seconds * 1000:.2f} | {exact.states:,} |"
            f" {enumeration_seconds * 1000:.1f} | {enumerated.states:,} |"
            f" {simulation_seconds * 1000:.0f} | {simulation_seconds / programme_seconds:,.0f}x |"
            f" {peer_ms} | {peer_ratio} | {difference:.1e} |\n"
        )


def thirty_levels(out: Callable[[str], object]) -> None:
    probabilities = [0.01 * level for level in range(1, LEVELS + 1)]
    out(
        f"\n{LEVELS} levels, true DLT probabilities 0.01, 0.02, ..., 0.30 (the programme; the"
        " enumeration refuses these designs at its default budget):\n\n"
    )
    out("| design | variant | programme (ms) | programme states | enumeration |\n")
    out("|---|---|---:|---:|---|\n")
    for name, (a, b, c, d, e) in A_PLUS_B.items():
        for variant in Variant:
            design = Design(
                num_doses=LEVELS,
                variant=variant,
                cohort_size=a,
                expansion_size=b,
                max_dlts_to_escalate=c,
                max_dlts_to_expand=d,
                max_dlts_in_expanded=e,
            )
            seconds = best_seconds(partial(operating_characteristics, design, probabilities), 5)
            oc = operating_characteristics(design, probabilities)
            assert math.isclose(oc.prob_no_mtd + sum(oc.prob_mtd), 1.0, abs_tol=1e-12)
            started = time.perf_counter()
            try:
                operating_characteristics(design, probabilities, method="enumeration")
                refusal = "ran"
            except StateBudgetError as error:
                refusal = (
                    f"refused after {(time.perf_counter() - started) * 1000:.0f} ms"
                    f" (projected {error.projected:.1e} states)"
                )
            out(
                f"| {name} | {variant.value} | {seconds * 1000:.1f} | {oc.states:,} | {refusal} |\n"
            )


def main() -> None:
    out = sys.stdout.write
    out(
        f"Machine: {os.cpu_count()} CPUs (nproc), {cpu_model()}, Python {platform.python_version()}"
    )
    if hasattr(os, "getloadavg"):
        out(f", load average {os.getloadavg()[0]:.1f} at the start")
    out(f"\nTrue DLT probabilities: {', '.join(f'{p:.2f}' for p in PROBABILITIES)}; seed {SEED}\n")
    six_levels(out)
    thirty_levels(out)


if __name__ == "__main__":
    main()
