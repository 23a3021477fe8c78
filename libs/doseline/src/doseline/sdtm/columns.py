"""What every format writes alike: the records in key order and each column's written length.

The writers agree on both, so a dataset's Dataset-JSON, XPT and Define-XML describe the same
table: records sorted by the domain's keys, a string column as wide as its longest value (at
least 1, never more than the variable's declared length), a number as many digits as its
widest value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from doseline.sdtm import Dataset, Value, Variable


@dataclass(frozen=True)
class Column:
    variable: Variable
    length: int
    significant_digits: int | None  # floats only: the most decimals any value has
    key_sequence: int | None


def order_key(value: Value) -> tuple[int, str | int | float]:
    """A value's place in a sort: nulls first."""
    return (0, "") if value is None else (1, value)


def sorted_records(dataset: Dataset) -> list[Mapping[str, Value]]:
    """The records in key order (then in every other variable's order: a total order)."""
    order = [*dataset.domain.keys]
    order += [v.name for v in dataset.domain.variables if v.name not in dataset.domain.keys]
    return sorted(
        dataset.records, key=lambda record: [order_key(record.get(name)) for name in order]
    )


def _decimals(value: float) -> int:
    text = repr(float(value))
    return len(text.split(".")[1].rstrip("0")) if "." in text and "e" not in text else 0


def columns(dataset: Dataset) -> list[Column]:
    """Each variable's column; raises ValueError when a value does not fit its variable."""
    found: list[Column] = []
    for variable in dataset.domain.variables:
        values = [r.get(variable.name) for r in dataset.records]
        present = [v for v in values if v is not None]
        decimals: int | None = None
        if variable.data_type in ("string", "date", "datetime"):
            if wrong := [v for v in present if not isinstance(v, str)]:
                raise ValueError(f"{dataset.domain.name}.{variable.name}: not text: {wrong[0]!r}")
            texts = [str(v) for v in present]
            if non_ascii := [t for t in texts if not t.isascii()]:
                raise ValueError(
                    f"{dataset.domain.name}.{variable.name}: SAS XPORT v5 takes ASCII only, "
                    f"not {non_ascii[0]!r}"
                )
            length = max((len(t) for t in texts), default=1) or 1
            if variable.length is not None and length > variable.length:
                raise ValueError(
                    f"{dataset.domain.name}.{variable.name}: a value is {length} characters, "
                    f"over the declared {variable.length}"
                )
        else:
            numbers: list[int | float] = []
            for value in present:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(
                        f"{dataset.domain.name}.{variable.name}: not a number: {value!r}"
                    )
                numbers.append(value)
            if variable.data_type == "integer":
                if fractions := [v for v in numbers if not float(v).is_integer()]:
                    raise ValueError(
                        f"{dataset.domain.name}.{variable.name}: not an integer: {fractions[0]!r}"
                    )
                length = max((len(str(int(v))) for v in numbers), default=1)
            else:
                decimals = max((_decimals(float(v)) for v in numbers), default=0)
                whole = max((len(str(abs(int(v)))) for v in numbers), default=1)
                length = whole + decimals
        key = variable.name in dataset.domain.keys
        found.append(
            Column(
                variable,
                length,
                decimals,
                dataset.domain.keys.index(variable.name) + 1 if key else None,
            )
        )
    return found
