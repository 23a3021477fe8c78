"""Command line: `python -m escalation` / `doseline-escalation`, JSON on stdout."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import Any

from escalation.characteristics import OperatingCharacteristics, operating_characteristics
from escalation.design import Design, Variant
from escalation.history import recommend
from escalation.paths import PathNode, dose_paths
from escalation.rules import Decision
from escalation.simulation import simulate

# Exit status for bad input (argparse uses the same for usage errors); a batch with bad lines
# still runs to the end and exits with _BATCH_HAD_ERRORS.
_BAD_INPUT = 2
_BATCH_HAD_ERRORS = 1

_DESIGN_OPTIONS = (
    "num_doses",
    "variant",
    "cohort_size",
    "expansion_size",
    "max_dlts_to_escalate",
    "max_dlts_to_expand",
    "max_dlts_in_expanded",
    "start_dose",
    "allow_below_start",
    "stop_when_any_dose_has",
    "max_patients",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "recommend" and args.batch:
            return _recommend_batch(args)
        result = _run(args)
    except ValueError as error:
        # OutcomeParseError and InvalidHistoryError are ValueErrors, as is a design that
        # validates badly: all are the caller's input, reported without a traceback.
        sys.stderr.write(f"error: {error}\n")
        return _BAD_INPUT
    sys.stdout.write(json.dumps(result, indent=None if args.command == "recommend" else 2) + "\n")
    return 0


def _run(args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "recommend":
        design = _design(_given_design_options(args))
        return decision_json(recommend(design, _outcomes(args), strict=args.strict))
    if args.command == "paths":
        design = _design(_given_design_options(args))
        tree = dose_paths(design, _outcomes(args), cohorts=args.cohorts, strict=args.strict)
        return path_json(tree)
    probabilities = _probabilities(args.probs)
    options = _given_design_options(args)
    options.setdefault("num_doses", len(probabilities))
    design = _design(options)
    report: dict[str, Any] = {
        "design": dataclasses.asdict(design),
        "true_dlt_probabilities": list(probabilities),
    }
    if args.command == "oc":
        return report | characteristics_json(operating_characteristics(design, probabilities))
    result = simulate(design, probabilities, trials=args.trials, seed=args.seed)
    return (
        report
        | {"trials": result.trials, "seed": result.seed}
        | characteristics_json(result.estimate)
        | {"standard_errors": characteristics_json(result.standard_error)}
    )


def _recommend_batch(args: argparse.Namespace) -> int:
    defaults = _given_design_options(args)
    status = 0
    for number, line in enumerate(sys.stdin, 1):
        try:
            result = decision_json(_recommend_line(line, defaults, strict=args.strict))
        except ValueError as error:
            result = {"error": str(error), "line": number}
            status = _BATCH_HAD_ERRORS
        sys.stdout.write(json.dumps(result) + "\n")
    return status


def _recommend_line(line: str, defaults: dict[str, Any], *, strict: bool) -> Decision:
    try:
        request = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not a JSON object: {error}") from None
    if not isinstance(request, dict):
        raise ValueError("each line must be a JSON object with 'outcomes', 'num_doses', 'variant'")
    unknown = set(request) - {"outcomes", "strict", *_DESIGN_OPTIONS}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    outcomes = request.pop("outcomes", None)
    if not isinstance(outcomes, str):
        raise ValueError("'outcomes' must be an outcome string such as \"1NNN 2NTN\"")
    line_strict = request.pop("strict", strict)
    if not isinstance(line_strict, bool):
        raise ValueError("'strict' must be true or false")
    return recommend(_design(defaults | request), outcomes, strict=line_strict)


def _design(options: dict[str, Any]) -> Design:
    for required in ("num_doses", "variant"):
        if required not in options:
            raise ValueError(f"{required.replace('_', '-')} is required")
    try:
        return Design(**options)
    except TypeError as error:
        raise ValueError(str(error)) from None


def _given_design_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        name: getattr(args, name) for name in _DESIGN_OPTIONS if getattr(args, name) is not None
    }


def _outcomes(args: argparse.Namespace) -> str:
    if args.outcomes is None:
        raise ValueError('an outcome string is required, such as "1NNN 2NTN" ("" for none)')
    text: str = args.outcomes
    return text


def _probabilities(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(
            f"--probs must be comma-separated numbers such as 0.05,0.15,0.30, not {text!r}"
        ) from None


def decision_json(decision: Decision) -> dict[str, Any]:
    """The JSON shape of a decision."""
    return {
        "continue": decision.continue_trial,
        "next_dose": decision.next_dose,
        "mtd": decision.mtd,
        "reason": decision.reason,
        "cohort_complete": decision.cohort_complete,
        "warnings": list(decision.warnings),
        "tallies": [tally._asdict() for tally in decision.tallies],
    }


def path_json(node: PathNode) -> dict[str, Any]:
    """The JSON shape of a dose-transition pathway tree."""
    return {
        "outcomes": node.outcomes,
        "decision": decision_json(node.decision),
        "children": [path_json(child) for child in node.children],
    }


def characteristics_json(characteristics: OperatingCharacteristics) -> dict[str, Any]:
    """The JSON shape of operating characteristics: totals, then one entry per level."""
    return {
        "prob_no_mtd": characteristics.prob_no_mtd,
        "expected_total_patients": characteristics.expected_total_patients,
        "expected_total_dlts": characteristics.expected_total_dlts,
        "prob_mtd_on_single_cohort": characteristics.prob_mtd_on_single_cohort,
        "doses": [
            {
                "dose": dose,
                "prob_mtd": characteristics.prob_mtd[dose - 1],
                "prob_stop_at": characteristics.prob_stop_at[dose - 1],
                "expected_patients": characteristics.expected_patients[dose - 1],
                "expected_dlts": characteristics.expected_dlts[dose - 1],
            }
            for dose in range(1, len(characteristics.prob_mtd) + 1)
        ],
    }


def _parser() -> argparse.ArgumentParser:
    design = argparse.ArgumentParser(add_help=False)
    group = design.add_argument_group("design")
    group.add_argument("--num-doses", type=int, help="number of dose levels")
    group.add_argument(
        "--variant",
        choices=[variant.value for variant in Variant],
        help="rule variant (CASES.md): esc, deesc or expand-top",
    )
    group.add_argument("--cohort-size", type=int, help="A: patients per cohort (3)")
    group.add_argument("--expansion-size", type=int, help="B: patients added on expansion (3)")
    group.add_argument("--max-dlts-to-escalate", type=int, help="DLTs in A that escalate (0)")
    group.add_argument("--max-dlts-to-expand", type=int, help="DLTs in A that expand (1)")
    group.add_argument("--max-dlts-in-expanded", type=int, help="DLTs in A+B tolerated (1)")
    group.add_argument("--start-dose", type=int, help="starting level (1)")
    group.add_argument(
        "--no-below-start",
        dest="allow_below_start",
        action="store_const",
        const=False,
        help="never de-escalate below the starting level",
    )
    group.add_argument(
        "--stop-when-any-dose-has", type=int, help="stop once any level has this many patients"
    )
    group.add_argument("--max-patients", type=int, help="cap on the total number of patients")

    strictness = argparse.ArgumentParser(add_help=False)
    mode = strictness.add_mutually_exclusive_group()
    mode.add_argument(
        "--strict",
        dest="strict",
        action="store_true",
        default=True,
        help="reject histories the design cannot produce (the default)",
    )
    mode.add_argument(
        "--lax", dest="strict", action="store_false", help="advise anyway, with warnings"
    )

    parser = argparse.ArgumentParser(
        prog="doseline-escalation", description="3+3 dose-escalation rules (JSON on stdout)."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser(
        "recommend", parents=[design, strictness], help="decision after an outcome string"
    )
    rec.add_argument("outcomes", nargs="?", help='outcome string, e.g. "1NNN 2NTN"')
    rec.add_argument(
        "--batch",
        action="store_true",
        help="read JSON Lines requests on stdin, one result per line on stdout",
    )
    paths = commands.add_parser(
        "paths", parents=[design, strictness], help="dose-transition pathways"
    )
    paths.add_argument("outcomes", nargs="?", help='outcome string, e.g. "1NNN 2NTN"')
    paths.add_argument("--cohorts", type=int, required=True, help="number of cohorts ahead")
    oc = commands.add_parser("oc", parents=[design], help="exact operating characteristics")
    oc.add_argument(
        "--probs", required=True, help="true DLT probability per level, comma-separated"
    )
    sim = commands.add_parser(
        "simulate", parents=[design], help="Monte Carlo operating characteristics"
    )
    sim.add_argument(
        "--probs", required=True, help="true DLT probability per level, comma-separated"
    )
    sim.add_argument("--trials", type=int, default=100_000, help="simulated trials (100000)")
    sim.add_argument("--seed", type=int, required=True, help="random seed")
    return parser
