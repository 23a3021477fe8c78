"""The CTCAE dictionary as plain values: versioned terms, their SOC and the text of grades 1–5."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

GRADES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class SystemOrganClass:
    """A MedDRA System Organ Class as the CTCAE sheet names it (v5.0 gives no SOC code)."""

    name: str
    meddra_code: str | None = None


@dataclass(frozen=True)
class GradeDefinition:
    """One grade cell of a term; `text is None` means NCI marked the grade "-" (not defined)."""

    grade: int
    text: str | None

    @property
    def is_defined(self) -> bool:
        return self.text is not None


@dataclass(frozen=True)
class CtcaeTerm:
    """One CTCAE term: MedDRA code and name, SOC, definition, notes and grades 1–5."""

    meddra_code: str
    name: str
    soc: SystemOrganClass
    grades: tuple[GradeDefinition, ...]
    definition: str | None
    navigational_note: str | None
    change_note: str | None
    # CTCAE: "<SOC> - Other, specify" terms are graded on the generic scale and the reporter must
    # name the event, so the AE needs a free-text specification.
    is_other_specify: bool

    def __post_init__(self) -> None:
        if tuple(g.grade for g in self.grades) != GRADES:
            raise ValueError(f"{self.name}: grades must be exactly 1..5 in order")

    @property
    def defined_grades(self) -> tuple[int, ...]:
        return tuple(g.grade for g in self.grades if g.is_defined)

    def grade_text(self, grade: int) -> str | None:
        """The NCI text of `grade`, or None when the grade does not exist for this term."""
        if grade not in GRADES:
            raise ValueError(f"CTCAE grades are 1 to 5, not {grade}")
        return self.grades[grade - 1].text

    def defines(self, grade: int) -> bool:
        return grade in self.defined_grades


@dataclass(frozen=True)
class CtcaeDictionary:
    """One version of CTCAE ("5.0", "6.0"): its terms, unique by MedDRA code and by name."""

    version: str
    source: str
    terms: tuple[CtcaeTerm, ...]
    _by_code: Mapping[str, CtcaeTerm] = field(init=False, repr=False, compare=False)
    _by_name: Mapping[str, CtcaeTerm] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code: dict[str, CtcaeTerm] = {}
        by_name: dict[str, CtcaeTerm] = {}
        for term in self.terms:
            if term.meddra_code in by_code:
                raise ValueError(f"MedDRA code {term.meddra_code} appears twice")
            key = term.name.casefold()
            if key in by_name:
                raise ValueError(f"term {term.name!r} appears twice")
            by_code[term.meddra_code] = term
            by_name[key] = term
        object.__setattr__(self, "_by_code", MappingProxyType(by_code))
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))

    def __len__(self) -> int:
        return len(self.terms)

    def __iter__(self) -> Iterator[CtcaeTerm]:
        return iter(self.terms)

    def term(self, meddra_code: str) -> CtcaeTerm:
        """The term with this MedDRA code; KeyError names the code and version when absent."""
        try:
            return self._by_code[meddra_code]
        except KeyError:
            raise KeyError(
                f"no term with MedDRA code {meddra_code} in CTCAE v{self.version}"
            ) from None

    def term_named(self, name: str) -> CtcaeTerm:
        """The term with this name (case-insensitive)."""
        try:
            return self._by_name[name.casefold()]
        except KeyError:
            raise KeyError(f"no term named {name!r} in CTCAE v{self.version}") from None

    @property
    def system_organ_classes(self) -> tuple[SystemOrganClass, ...]:
        """The SOCs in the order of their first term in the sheet."""
        return tuple(dict.fromkeys(term.soc for term in self.terms))
