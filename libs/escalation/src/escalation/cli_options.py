"""The command line's design options: flags for every design's parameters, read into a document.

Each design option is a flag named after its document key (``--num-doses`` for ``num_doses``).
A command builds a design document from ``--design`` and the flags given, or reads one whole from
``--design-file``, and `escalation.documents` validates it, so the command line, batch lines and
protocol documents accept exactly the same designs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from escalation.design import Variant
from escalation.documents import DESIGNS, design_from_document
from escalation.interface import DoseFindingDesign
from escalation.limits import MAX_COHORT_SIZE, MAX_COHORTS, MAX_DOSE_LEVELS

# Values that may start with "-" (a negative number is still a number to refuse with a reason).
LIST_OPTIONS = ("--probs", "--skeleton")
# The longest design file read: a design is a few hundred bytes.
_MAX_DESIGN_FILE_BYTES = 65_536


@dataclasses.dataclass(frozen=True)
class _Option:
    flag: str
    key: str
    kind: Callable[[str], Any] | None
    help: str
    constant: object = None


def _numbers(text: str) -> tuple[float, ...]:
    return parse_numbers(text, "--skeleton")


_OPTIONS = (
    _Option("--num-doses", "num_doses", int, f"number of dose levels (at most {MAX_DOSE_LEVELS})"),
    _Option("--start-dose", "start_dose", int, "starting level (1)"),
    _Option(
        "--cohort-size",
        "cohort_size",
        int,
        f"patients per cohort (A+B: A, 3; CRM: 1; at most {MAX_COHORT_SIZE})",
    ),
    _Option("--variant", "variant", str, "A+B rule variant: esc, deesc or expand-top"),
    _Option(
        "--expansion-size",
        "expansion_size",
        int,
        f"A+B: B, patients added (3; at most {MAX_COHORT_SIZE})",
    ),
    _Option("--max-dlts-to-escalate", "max_dlts_to_escalate", int, "A+B: DLTs in A to escalate"),
    _Option("--max-dlts-to-expand", "max_dlts_to_expand", int, "A+B: DLTs in A to expand (1)"),
    _Option("--max-dlts-in-expanded", "max_dlts_in_expanded", int, "A+B: DLTs tolerated (1)"),
    _Option("--no-below-start", "allow_below_start", None, "A+B: never below the start", False),
    _Option("--stop-when-any-dose-has", "stop_when_any_dose_has", int, "A+B: stop at N on a level"),
    _Option("--max-patients", "max_patients", int, "A+B: cap on the total number of patients"),
    _Option("--target", "target", float, "BOIN, i3+3, mTPI-2, CRM: target DLT rate"),
    _Option(
        "--num-cohorts",
        "num_cohorts",
        int,
        f"BOIN, i3+3, mTPI-2, CRM: number of cohorts (at most {MAX_COHORTS})",
    ),
    _Option("--elimination-cutoff", "elimination_cutoff", float, "interval designs (0.95)"),
    _Option("--early-stop-patients", "early_stop_patients", int, "n.earlystop (100)"),
    _Option("--p-saf", "p_saf", float, "BOIN: phi1 (0.6 x target)"),
    _Option("--p-tox", "p_tox", float, "BOIN: phi2 (1.4 x target)"),
    _Option("--extra-safe", "extra_safe", None, "BOIN, i3+3: the extra-safe rule", True),
    _Option("--extra-safe-offset", "extra_safe_offset", float, "BOIN: extra-safe offset (0.05)"),
    _Option("--bound-mtd", "bound_mtd", None, "BOIN: the MTD's estimate <= lambda_d", True),
    _Option("--ei-lower", "ei_lower", float, "i3+3, mTPI-2: equivalence interval (target-0.05)"),
    _Option("--ei-upper", "ei_upper", float, "i3+3, mTPI-2: equivalence interval (target+0.05)"),
    _Option("--skeleton", "skeleton", _numbers, "CRM: prior DLT guesses, comma-separated"),
    _Option("--prior-mtd", "prior_mtd", int, "CRM: prior MTD level, for getprior"),
    _Option("--skeleton-halfwidth", "skeleton_halfwidth", float, "CRM: getprior halfwidth"),
    _Option("--model", "model", str, "CRM: empiric (default) or logistic"),
    _Option("--intercept", "intercept", float, "CRM: logistic intercept (3)"),
    _Option("--prior-sd", "prior_sd", float, "CRM: prior standard deviation (sqrt(1.34))"),
    _Option("--no-restrict", "restrict", None, "CRM: follow the model unrestricted", False),
    _Option(
        "--stop-when-lowest-too-toxic",
        "stop_when_lowest_too_toxic",
        float,
        "CRM: stop when P(level 1 above target) exceeds this",
    ),
)


def add_design_options(parser: argparse.ArgumentParser) -> None:
    """``--design``, ``--design-file`` and every design's parameters."""
    group = parser.add_argument_group("design")
    group.add_argument(
        "--design",
        choices=list(DESIGNS),
        default=None,
        help="the design (a+b: 3+3 and its A+B generalisations, the default)",
    )
    group.add_argument("--design-file", type=Path, help="a design document (JSON)")
    for option in _OPTIONS:
        if option.kind is None:
            group.add_argument(
                option.flag,
                dest=option.key,
                action="store_const",
                const=option.constant,
                default=None,
                help=option.help,
            )
        else:
            group.add_argument(option.flag, dest=option.key, type=option.kind, help=option.help)


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The design parameters given on the command line, by document key."""
    return {
        option.key: getattr(args, option.key)
        for option in _OPTIONS
        if getattr(args, option.key, None) is not None
    }


def design_document(args: argparse.Namespace, **defaults: Any) -> dict[str, Any]:
    """The design document the arguments describe (``defaults`` fill keys not given)."""
    options = given_options(args)
    if args.design_file is not None:
        if options or args.design is not None:
            raise ValueError(
                "--design-file describes the whole design: give no other design option"
            )
        return read_design_file(args.design_file)
    kind = args.design or "a+b"
    # Every design is a dataclass; its fields are the options it takes.
    allowed = {field.name for field in dataclasses.fields(typing.cast(Any, DESIGNS[kind]))}
    for option in _OPTIONS:
        if option.key in options and option.key not in allowed:
            raise ValueError(f"{option.flag} is not an option of the {kind} design")
    for key, value in defaults.items():
        if key in allowed:
            options.setdefault(key, value)
    return {"design": kind, **options}


def build_design(document: dict[str, Any]) -> DoseFindingDesign:
    """The design of a document; A+B designs say first which of their two required flags lacks."""
    if document.get("design", "a+b") == "a+b":
        for required in ("num_doses", "variant"):
            if required not in document:
                raise ValueError(f"{required.replace('_', '-')} is required")
        if isinstance(document["variant"], Variant):
            document = document | {"variant": document["variant"].value}
    return design_from_document({"design": "a+b"} | document)


def read_design_file(path: Path) -> dict[str, Any]:
    """A JSON design document from a file, refused if it is not one or is too large."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_DESIGN_FILE_BYTES + 1)
    except OSError as error:
        raise ValueError(f"cannot read the design file {path}: {error.strerror}") from None
    if len(raw) > _MAX_DESIGN_FILE_BYTES:
        raise ValueError(f"the design file {path} is over {_MAX_DESIGN_FILE_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"the design file {path} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError(f"the design file {path} must hold one JSON object")
    return document


def parse_numbers(text: str, flag: str) -> tuple[float, ...]:
    """Comma-separated numbers, at most one per possible dose level."""
    if text.count(",") >= MAX_DOSE_LEVELS:
        raise ValueError(f"{flag} has more than {MAX_DOSE_LEVELS} values, one per dose level")
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(
            f"{flag} must be comma-separated numbers such as 0.05,0.15,0.30, not {text!r}"
        ) from None


def join_list_values(argv: Sequence[str]) -> list[str]:
    """``--probs -0.1,0.2`` as ``--probs=-0.1,0.2``: argparse would read a leading "-" as a flag
    and answer "expected one argument"; read as the value, it is refused with its reason."""
    joined: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        following = argv[index + 1] if index + 1 < len(argv) else None
        if (
            token in LIST_OPTIONS
            and following is not None
            and following.startswith("-")
            and not following.startswith("--")
        ):
            joined.append(f"{token}={following}")
            index += 2
            continue
        joined.append(token)
        index += 1
    return joined
