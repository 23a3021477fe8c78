"""One domain from several services: their datasets merged into one, their metadata into one.

Two services may hold findings of the same SDTM domain (safety's lab results and imaging's
arterial blood gas are both LB). The package writes each domain once, so their datasets are
merged when their `Domain` metadata agree: the same label, class, structure and keys, and each
variable they share with the same label, type, role, core and codelist. The merged domain has
the union of the variables in the standard order (each service lists its own in the order the
SDTMIG gives; a variable only one service has keeps its place after the one it follows there),
the longer declared length of a shared string, and every service's source of a variable
(`ALSO` between them; Define-XML gives each its origin). The records are sorted by the domain's
keys without --SEQ, then by every other variable, and --SEQ is numbered again 1, 2, ... per
USUBJID in that order: the same data gives the same numbers, whichever service answered first.

A domain with supplemental qualifiers (SUPP--) is not merged: they point at --SEQ values that
renumbering would change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from doseline.sdtm import Dataset, Domain, Value, Variable
from doseline.sdtm.columns import order_key

ALSO = " || "  # between the sources of one variable that several services give


def _agreeing(first: Variable, other: Variable, domain: str) -> Variable:
    for attribute in ("label", "data_type", "role", "core", "codelist"):
        if getattr(first, attribute) != getattr(other, attribute):
            raise ValueError(
                f"{domain}.{first.name} is declared with different {attribute} by two services "
                f"({getattr(first, attribute)!r}, {getattr(other, attribute)!r}): the datasets "
                "cannot be merged"
            )
    lengths = [length for length in (first.length, other.length) if length is not None]
    sources = first.source.split(ALSO)
    source = ALSO.join([*sources, *(s for s in other.source.split(ALSO) if s not in sources)])
    return replace(first, length=max(lengths) if lengths else None, source=source)


def merge_domains(domains: Sequence[Domain]) -> Domain:
    """One domain of the metadata of `domains` (all of one name); ValueError when they do not
    agree."""
    first, *others = domains
    variables = {variable.name: variable for variable in first.variables}
    order = [variable.name for variable in first.variables]
    for other in others:
        for attribute in ("name", "label", "observation_class", "structure", "keys"):
            if getattr(first, attribute) != getattr(other, attribute):
                raise ValueError(
                    f"{first.name}: two services declare the domain with different {attribute} "
                    f"({getattr(first, attribute)!r}, {getattr(other, attribute)!r}): the "
                    "datasets cannot be merged"
                )
        previous: str | None = None
        for variable in other.variables:
            if variable.name in variables:
                variables[variable.name] = _agreeing(variables[variable.name], variable, first.name)
            else:
                variables[variable.name] = variable
                order.insert(order.index(previous) + 1 if previous else 0, variable.name)
            previous = variable.name
    sequence = f"{first.name}SEQ"
    if sequence in variables:
        variables[sequence] = replace(
            variables[sequence],
            source=f"derived: 1, 2, ... per subject over every service's records, in the order of "
            f"the keys without {sequence}, then of every other variable (doseline.sdtm.merge)",
        )
    return replace(first, variables=tuple(variables[name] for name in order))


def one_per_domain(domains: Iterable[Domain]) -> list[Domain]:
    """The domains with those of one name merged, in the order their names first appear."""
    groups: dict[str, list[Domain]] = {}
    for domain in domains:
        groups.setdefault(domain.name, []).append(domain)
    return [group[0] if len(group) == 1 else merge_domains(group) for group in groups.values()]


def merge_datasets(datasets: Sequence[Dataset]) -> list[Dataset]:
    """The datasets with those of one domain merged (module docstring), in the order their
    domains first appear; ValueError when two of a domain cannot be merged."""
    groups: dict[str, list[Dataset]] = {}
    for dataset in datasets:
        groups.setdefault(dataset.domain.name, []).append(dataset)
    merged: list[Dataset] = []
    for name, group in groups.items():
        if len(group) == 1:
            merged.append(group[0])
            continue
        if f"SUPP{name}" in groups:
            raise ValueError(
                f"{name} comes from more than one service and has supplemental qualifiers "
                f"(SUPP{name}) pointing at its {name}SEQ: the datasets cannot be merged"
            )
        domain = merge_domains([dataset.domain for dataset in group])
        merged.append(Dataset(domain, _renumbered(domain, [r for d in group for r in d.records])))
    return merged


def _renumbered(domain: Domain, records: list[Mapping[str, Value]]) -> tuple[dict[str, Value], ...]:
    sequence = f"{domain.name}SEQ"
    names = [key for key in domain.keys if key != sequence]
    names += [v.name for v in domain.variables if v.name not in names and v.name != sequence]
    ordered = sorted(
        (dict(record) for record in records),
        key=lambda record: [order_key(record.get(name)) for name in names],
    )
    if sequence not in {variable.name for variable in domain.variables}:
        return tuple(ordered)
    counts: dict[Value, int] = {}
    for record in ordered:
        subject = record.get("USUBJID")
        counts[subject] = counts.get(subject, 0) + 1
        record[sequence] = counts[subject]
    return tuple(ordered)
