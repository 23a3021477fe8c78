"""Designs as documents: a plain dict per design, discriminated by ``"design"``, validated on read.

`DoseFindingDesign.to_document` writes every parameter by name; `design_from_document` reads
such a dict back (from JSON, YAML or a protocol document) and refuses, with the key at fault,
anything that is not exactly a design: an unknown ``"design"``, an unknown or missing key, a value
of the wrong type (``true`` is not a number, ``"3"`` is not a whole number), or a combination the
design itself refuses. The error's ``key`` lets a protocol parser point at the line and column.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any

from escalation.boin import BOIN
from escalation.crm import CRM
from escalation.design import Design
from escalation.i3plus3 import I3Plus3
from escalation.interface import DoseFindingDesign
from escalation.mtpi2 import MTPI2

DESIGNS: dict[str, type[DoseFindingDesign]] = {
    design.kind: design for design in (Design, BOIN, I3Plus3, MTPI2, CRM)
}


class DesignDocumentError(ValueError):
    """A design document that is not a valid design; ``key`` names the entry at fault."""

    def __init__(self, key: str, problem: str) -> None:
        named = not key or problem.startswith(key)
        super().__init__(problem if named else f"{key}: {problem}")
        self.key = key
        self.problem = problem


def design_from_document(document: object) -> DoseFindingDesign:
    """The design a document describes (see the module doc for what is refused)."""
    if not isinstance(document, Mapping):
        raise DesignDocumentError(
            "", f"a design must be an object of named values, not {document!r}"
        )
    kind = document.get("design")
    if kind is None:
        raise DesignDocumentError("design", f"is required: one of {', '.join(DESIGNS)}")
    design = DESIGNS.get(kind) if isinstance(kind, str) else None
    if design is None:
        raise DesignDocumentError("design", f"{kind!r} is not one of {', '.join(DESIGNS)}")
    # Every design is a dataclass; its init fields are the document's keys.
    dataclass = typing.cast(Any, design)
    fields = {field.name: field for field in dataclasses.fields(dataclass) if field.init}
    hints = typing.get_type_hints(design)
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key == "design":
            continue
        if key not in fields:
            raise DesignDocumentError(
                str(key), f"is not a parameter of the {kind} design ({', '.join(fields)})"
            )
        values[key] = _checked(key, value, hints[key])
    missing = [
        name
        for name, field in fields.items()
        if field.default is dataclasses.MISSING
        and field.default_factory is dataclasses.MISSING
        and name not in values
    ]
    if missing:
        raise DesignDocumentError(missing[0], f"is required by the {kind} design")
    try:
        return design(**values)
    except ValueError as error:
        message = str(error)
        raise DesignDocumentError(_key_named_in(message, fields), message) from None


def _key_named_in(message: str, fields: Mapping[str, object]) -> str:
    """The parameter a design's own message names first ("design" if none)."""
    found = [
        (match.start(), name)
        for name in fields
        if (match := re.search(rf"\b{re.escape(name)}\b", message)) is not None
    ]
    return min(found)[1] if found else "design"


def _checked(key: str, value: object, hint: object) -> object:
    """``value`` if it has the type ``hint`` describes (tuples arrive as lists)."""
    options = _options(hint)
    if value is None:
        if type(None) in options:
            return None
        raise DesignDocumentError(key, "must have a value, not null")
    for option in options:
        if option is type(None):
            continue
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and _is_number(value):
            return float(typing.cast(float, value))
        if isinstance(option, type) and issubclass(option, Enum) and isinstance(value, str):
            allowed = [member.value for member in option]
            if value in allowed:
                return option(value)
            raise DesignDocumentError(
                key, f"{value!r} is not one of {', '.join(map(repr, allowed))}"
            )
        if typing.get_origin(option) is typing.Literal and value in typing.get_args(option):
            return value
        if typing.get_origin(option) is tuple and isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                if not _is_number(item):
                    raise DesignDocumentError(f"{key}[{index}]", f"must be a number, not {item!r}")
            return tuple(float(item) for item in value)
    raise DesignDocumentError(key, f"must be {_describe(options)}, not {value!r}")


def _options(hint: object) -> tuple[object, ...]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _describe(options: tuple[object, ...]) -> str:
    words = []
    for option in options:
        if option is type(None):
            words.append("null")
        elif option is bool:
            words.append("true or false")
        elif option is int:
            words.append("a whole number")
        elif option is float:
            words.append("a number")
        elif typing.get_origin(option) is typing.Literal:
            words.append(" or ".join(map(repr, typing.get_args(option))))
        elif typing.get_origin(option) is tuple:
            words.append("a list of numbers")
        elif isinstance(option, type) and issubclass(option, Enum):
            words.append(" or ".join(repr(member.value) for member in option))
        else:
            words.append(str(option))
    return " or ".join(words)
