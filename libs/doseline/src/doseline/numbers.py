"""One JSON representation for every decimal a response carries.

Doses in cells (2.06 × 10⁷), doses per kg, weights, lab values and their limits are exact
decimals: a float would change them, and a JSON number is read as a float by most clients. So
every decimal in a response is a JSON **string in plain notation**: no exponent, no trailing
zeros, a leading minus for negatives ("20600000", "70.5", "0.8", "-1.25"). `Decimal` keeps
whatever form a computation left (`2.06E+7`, `20600000.000000`); `DecimalText` writes them all
the same way. Precision is the field's own (whole cells for cell counts, the scale's for
weights), documented on the field; this type never rounds.

Requests accept a decimal as a JSON number or string (clients differ); responses always send
the string.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Final

from pydantic import PlainSerializer, WithJsonSchema

PLAIN_DECIMAL_PATTERN: Final = r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$"


def plain(value: Decimal) -> str:
    """`value` in plain notation without trailing zeros: 2.06E+7 → "20600000", 70.50 → "70.5"."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite decimal")
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


DecimalText = Annotated[
    Decimal,
    PlainSerializer(plain, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "decimal",
            "pattern": PLAIN_DECIMAL_PATTERN,
            "description": "An exact decimal in plain notation (no exponent, no trailing zeros)",
            "examples": ["20600000", "70.5"],
        },
        mode="serialization",
    ),
]
"""A decimal of a response model: sent as a plain-notation string (see the module)."""
