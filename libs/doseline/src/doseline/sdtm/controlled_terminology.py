"""CDISC Controlled Terminology: the codelists whose submission values the datasets carry.

The one source of CT for every service's domains and the Define-XML document. Each codelist is
a small JSON file in `terminology/`, named by its NCI codelist code (`C66742.json`, No Yes
Response), with the CT package it was taken from and its terms (NCI term code, submission value,
NCI preferred term). A file marked `subset` holds only the terms Doseline's data can produce
(LBTESTCD has thousands); the others are whole. Every file comes from one CT package,
`CT_PACKAGE`, the version manifest.json and define.xml record. `terminology/SOURCE.md` says
where they come from and under which terms.

A value outside a codelist is a sponsor-extended value when the codelist is extensible
(define.xml marks it `ExtendedValue="Yes"`) and is refused when it is not (`check_values`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType

CT_PACKAGE = "SDTM CT 2025-03-28"


@dataclass(frozen=True)
class Codelist:
    """One CDISC codelist: its code, names, CT package and terms by NCI term code."""

    code: str
    name: str
    short_name: str
    extensible: bool
    ct_package: str
    subset: bool
    # NCI term code (C-code) -> CDISC submission value.
    terms: Mapping[str, str]

    def value(self, term_code: str) -> str:
        """The submission value of the term `term_code` (a KeyError names the codelist)."""
        try:
            return self.terms[term_code]
        except KeyError:
            raise KeyError(f"{self.code} ({self.short_name}) has no term {term_code}") from None

    @property
    def values(self) -> frozenset[str]:
        return frozenset(self.terms.values())

    def code_of(self, value: str) -> str | None:
        """The NCI term code of `value`, None for a value outside the codelist (extended)."""
        for code, submission_value in self.terms.items():
            if submission_value == value:
                return code
        return None

    def check_values(self, values: set[str], where: str) -> None:
        """Refuse values outside a non-extensible codelist (ValueError naming `where`)."""
        if self.extensible:
            return
        if outside := sorted(values - self.values):
            raise ValueError(
                f"{where}: {outside} are not terms of the non-extensible CDISC codelist "
                f"{self.code} ({self.name})"
            )

    def term_code(self, value: str) -> str:
        """The NCI term code of the submission value `value`."""
        if (code := self.code_of(value)) is not None:
            return code
        raise KeyError(f"{value!r} is not a submission value of {self.code} ({self.short_name})")


@cache
def codelist(code: str) -> Codelist:
    """The codelist `code` from its committed file (FileNotFoundError if none is committed)."""
    resource = files("doseline.sdtm") / "terminology" / f"{code}.json"
    data = json.loads(resource.read_text(encoding="utf-8"))
    if data["codelist"] != code:
        raise ValueError(f"terminology/{code}.json holds codelist {data['codelist']}")
    if data["ct_package"] != CT_PACKAGE:
        raise ValueError(f"terminology/{code}.json is from {data['ct_package']}, not {CT_PACKAGE}")
    return Codelist(
        code=code,
        name=data["name"],
        short_name=data["short_name"],
        extensible=data["extensible"],
        ct_package=data["ct_package"],
        subset=data["subset"],
        terms=MappingProxyType({term["code"]: term["submission_value"] for term in data["terms"]}),
    )


def paired_value(test_code_list: str, test_name_list: str, test_code: str) -> str:
    """The --TEST submission value paired with the --TESTCD value `test_code`: CDISC pairs a
    test code codelist with a test name codelist through their shared NCI term codes."""
    return codelist(test_name_list).value(codelist(test_code_list).term_code(test_code))


def ct_version() -> str:
    """The CT package every codelist comes from, e.g. "SDTM CT 2025-03-28"."""
    return CT_PACKAGE
