"""Command line: `python -m escalation` / `doseline-escalation`, JSON on stdout.

Inputs are bounded (`escalation.limits`): at most 100 dose levels, 12 patients per cohort, 100
cohorts, 1,000 patients in a history, 10,000,000 simulated trials, and a node budget for pathways
and a state budget for exact operating characteristics. A reader that closes the pipe early
(`recommend --batch | head -1`) ends the command quietly with status 141, as a shell expects of a
command stopped by SIGPIPE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from escalation.boin import BOIN
from escalation.characteristics import OperatingCharacteristics, operating_characteristics
from escalation.cli_options import (
    add_design_options,
    build_design,
    design_document,
    join_list_values,
    parse_numbers,
)
from escalation.documents import DESIGNS
from escalation.history import recommend
from escalation.limits import (
    DEFAULT_MAX_PATH_NODES,
    DEFAULT_MAX_STATES,
    MAX_COHORT_SIZE,
    MAX_COHORTS,
    MAX_DOSE_LEVELS,
    MAX_HISTORY_PATIENTS,
    MAX_PATH_NODES,
    MAX_SIMULATED_TRIALS,
    require_whole_number,
)
from escalation.paths import PathNode, dose_paths
from escalation.simulation import simulate
from escalation.state import Decision

# Exit status for bad input (argparse uses the same for usage errors); a batch with bad lines
# still runs to the end and exits with _BATCH_HAD_ERRORS.
_BAD_INPUT = 2
_BATCH_HAD_ERRORS = 1
# 128 + SIGPIPE: what a shell reports for a command stopped by a closed pipe.
_CLOSED_PIPE = 141
# A batch line longer than this is refused unread (a request is a few hundred bytes).
_MAX_BATCH_LINE = 65_536
# The longest outcome string read: far more than the 1,000 patients a history may have.
_MAX_OUTCOME_CHARACTERS = 20_000


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    arguments = join_list_values(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(arguments)
    try:
        return _run(args)
    except BrokenPipeError:
        # The reader is gone: say nothing more, and let no later flush complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return _CLOSED_PIPE


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "recommend" and args.batch:
            return _recommend_batch(args)
        result = _result(args)
    except ValueError as error:
        # OutcomeParseError, InvalidHistoryError, budget errors and designs that validate badly
        # are ValueErrors: all are the caller's input, reported without a traceback.
        sys.stderr.write(f"error: {error}\n")
        return _BAD_INPUT
    sys.stdout.write(json.dumps(result, indent=None if args.command == "recommend" else 2) + "\n")
    sys.stdout.flush()
    return 0


def _result(args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "boundaries":
        return boundaries_json(args)
    if args.command == "recommend":
        design = build_design(design_document(args))
        return decision_json(recommend(design, _outcomes(args), strict=args.strict))
    if args.command == "paths":
        design = build_design(design_document(args))
        budget = require_whole_number(
            "--max-nodes", args.max_nodes, minimum=1, maximum=MAX_PATH_NODES
        )
        tree = dose_paths(
            design, _outcomes(args), cohorts=args.cohorts, strict=args.strict, max_nodes=budget
        )
        return path_json(tree)
    probabilities = parse_numbers(args.probs, "--probs")
    design = build_design(design_document(args, num_doses=len(probabilities)))
    report: dict[str, Any] = {
        "design": design.to_document(),
        "description": design.describe(),
        "true_dlt_probabilities": list(probabilities),
    }
    if args.command == "oc":
        budget = require_whole_number("--max-states", args.max_states, minimum=1, maximum=10**9)
        characteristics = operating_characteristics(
            design, probabilities, method=args.method, max_states=budget
        )
        return report | {"states": characteristics.states} | characteristics_json(characteristics)
    result = simulate(design, probabilities, trials=args.trials, seed=args.seed)
    return (
        report
        | {"trials": result.trials, "seed": result.seed}
        | characteristics_json(result.estimate)
        | {"standard_errors": characteristics_json(result.standard_error)}
    )


def _recommend_batch(args: argparse.Namespace) -> int:
    defaults = design_document(args)
    status = 0
    for number, line in enumerate(_batch_lines(), 1):
        try:
            result = decision_json(_recommend_line(line, defaults, strict=args.strict))
        except ValueError as error:
            result = {"error": str(error), "line": number}
            status = _BATCH_HAD_ERRORS
        sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return status


def _batch_lines() -> Iterator[str | None]:
    """Lines of stdin; None for a line over _MAX_BATCH_LINE characters, which is never held."""
    while True:
        line = sys.stdin.readline(_MAX_BATCH_LINE + 1)
        if not line:
            return
        if len(line) > _MAX_BATCH_LINE and not line.endswith("\n"):
            while (rest := sys.stdin.readline(_MAX_BATCH_LINE)) and not rest.endswith("\n"):
                pass
            yield None
            continue
        yield line


def _recommend_line(line: str | None, defaults: dict[str, Any], *, strict: bool) -> Decision:
    if line is None:
        raise ValueError(f"the line is over {_MAX_BATCH_LINE} characters, more than any request")
    try:
        request = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not a JSON object: {error}") from None
    if not isinstance(request, dict):
        raise ValueError("each line must be a JSON object with 'outcomes', 'num_doses', 'variant'")
    outcomes = request.pop("outcomes", None)
    if not isinstance(outcomes, str):
        raise ValueError("'outcomes' must be an outcome string such as \"1NNN 2NTN\"")
    line_strict = request.pop("strict", strict)
    if not isinstance(line_strict, bool):
        raise ValueError("'strict' must be true or false")
    kind = request.get("design", defaults.get("design", "a+b"))
    if kind not in DESIGNS:
        raise ValueError(f"design {kind!r} is not one of {', '.join(DESIGNS)}")
    # The command line's design options apply to lines of the same design.
    base = defaults if defaults.get("design", "a+b") == kind else {}
    document = base | request | {"design": kind}
    return recommend(build_design(document), _bounded(outcomes), strict=line_strict)


def _outcomes(args: argparse.Namespace) -> str:
    if args.outcomes is None:
        raise ValueError('an outcome string is required, such as "1NNN 2NTN" ("" for none)')
    return _bounded(args.outcomes)


def _bounded(outcomes: str) -> str:
    if len(outcomes) > _MAX_OUTCOME_CHARACTERS:
        raise ValueError(
            f"the outcome string has {len(outcomes):,} characters, more than the"
            f" {_MAX_OUTCOME_CHARACTERS:,} a history of at most 1,000 patients needs"
        )
    return outcomes


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
        "sample_size": [
            {"patients": size, "probability": share} for size, share in characteristics.sample_size
        ],
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


def boundaries_json(args: argparse.Namespace) -> dict[str, Any]:
    """BOIN's decision table for n = 1..N, as `BOIN::get.boundary` prints it."""
    if args.design not in (None, "boin"):
        raise ValueError(f"boundaries are BOIN's: --design {args.design} has none")
    args.design = "boin"
    # The table does not depend on the number of levels; one stands for any.
    document = design_document(args, num_doses=1)
    design = build_design(document)
    assert isinstance(design, BOIN)
    shown = min(design.max_sample_size, design.early_stop_patients)
    rows = [row for row in design.boundaries if row.patients <= shown]
    table: list[dict[str, int | None]] = [
        {
            "patients": row.patients,
            "escalate_if_dlts_at_most": row.escalate_at_most,
            "deescalate_if_dlts_at_least": row.deescalate_at_least,
            "eliminate_if_dlts_at_least": row.eliminate_at_least,
        }
        for row in rows
    ]
    cohort_ends = range(design.cohort_size, shown + 1, design.cohort_size)
    result: dict[str, Any] = {
        "target": design.target,
        "lambda_e": design.lambda_e,
        "lambda_d": design.lambda_d,
        "full_boundary_table": table,
        "boundary_table": [row for row in table if row["patients"] in cohort_ends],
    }
    if design.extra_safe:
        result["extra_safe_cutoff"] = design.elimination_cutoff - design.extra_safe_offset
        result["stop_boundary_at_level_1"] = [
            {"patients": patients, "stop_if_dlts_at_least": stop_at}
            for patients, stop_at in design.stop_boundaries
            if patients <= shown
        ]
    return result


LIMITS_HELP = (
    f"Maximums (anything beyond is refused with the limit named): {MAX_DOSE_LEVELS} dose levels,"
    f" {MAX_COHORT_SIZE} patients per cohort, {MAX_COHORTS} cohorts, {MAX_HISTORY_PATIENTS:,}"
    f" patients in a history, {MAX_SIMULATED_TRIALS:,} simulated trials. A value that starts"
    " with '-' may be written --probs=-0.1,0.2."
)


def _parser() -> argparse.ArgumentParser:
    design = argparse.ArgumentParser(add_help=False)
    add_design_options(design)

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
        prog="doseline-escalation",
        description="Dose-finding rules: 3+3 and A+B, BOIN, i3+3, mTPI-2, CRM (JSON on stdout).",
        epilog=LIMITS_HELP,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser(
        "recommend",
        parents=[design, strictness],
        help="decision after an outcome string",
        epilog=LIMITS_HELP,
    )
    rec.add_argument("outcomes", nargs="?", help='outcome string, e.g. "1NNN 2NTN"')
    rec.add_argument(
        "--batch",
        action="store_true",
        help="read JSON Lines requests on stdin, one result per line on stdout",
    )
    paths = commands.add_parser(
        "paths", parents=[design, strictness], help="dose-transition pathways", epilog=LIMITS_HELP
    )
    paths.add_argument("outcomes", nargs="?", help='outcome string, e.g. "1NNN 2NTN"')
    paths.add_argument(
        "--cohorts",
        type=int,
        required=True,
        help=f"number of cohorts ahead (at most {MAX_COHORTS})",
    )
    paths.add_argument(
        "--max-nodes",
        type=int,
        default=DEFAULT_MAX_PATH_NODES,
        help=f"refuse a tree of more nodes ({DEFAULT_MAX_PATH_NODES}; at most {MAX_PATH_NODES})",
    )
    oc = commands.add_parser(
        "oc", parents=[design], help="exact operating characteristics", epilog=LIMITS_HELP
    )
    oc.add_argument(
        "--probs", required=True, help="true DLT probability per level, comma-separated"
    )
    oc.add_argument(
        "--method",
        choices=["auto", "enumeration", "dynamic-programme"],
        default="auto",
        help="auto: the dynamic programme for A+B designs, the enumeration otherwise",
    )
    oc.add_argument(
        "--max-states",
        type=int,
        default=DEFAULT_MAX_STATES,
        help=f"refuse an enumeration of more trial states ({DEFAULT_MAX_STATES})",
    )
    sim = commands.add_parser(
        "simulate",
        parents=[design],
        help="Monte Carlo operating characteristics",
        epilog=LIMITS_HELP,
    )
    sim.add_argument(
        "--probs", required=True, help="true DLT probability per level, comma-separated"
    )
    sim.add_argument(
        "--trials",
        type=int,
        default=100_000,
        help=f"simulated trials (100000; at most {MAX_SIMULATED_TRIALS})",
    )
    sim.add_argument("--seed", type=int, required=True, help="random seed")
    commands.add_parser(
        "boundaries",
        parents=[design],
        help="BOIN's escalation, de-escalation and elimination boundaries (BOIN::get.boundary)",
        epilog=LIMITS_HELP,
    )
    return parser
