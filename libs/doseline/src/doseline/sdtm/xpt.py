"""SAS XPORT version 5: one SDTM dataset as the transport file regulators still require.

Written by `pyreadstat` (imported here only when a file is written: it brings pandas). XPORT
headers carry created/modified stamps of the moment of writing; they are set to the data cut,
so the same dataset at the same cut gives the same bytes. Dataset names are at most 8
characters and labels at most 40 (the domain model enforces both for variables; the dataset's
own are checked here).
"""

from __future__ import annotations

import re
import tempfile
from datetime import UTC
from pathlib import Path

from doseline.sdtm import DataCut, Dataset
from doseline.sdtm.columns import columns, sorted_records

_STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
_RECORD = 80
_HEADERS_BEFORE_VARIABLES = 7  # library (3) and member (4) header records carry the stamps


def file_name(dataset: Dataset) -> str:
    return f"{dataset.domain.name.lower()}.xpt"


def _stamp(cut: DataCut) -> bytes:
    return cut.at.astimezone(UTC).strftime("%d%b%y:%H:%M:%S").upper().encode("ascii")


def xpt(dataset: Dataset, cut: DataCut) -> bytes:
    """The dataset as XPORT v5 bytes: numbers as doubles, text as ASCII, stamps at the cut."""
    import pandas as pd  # noqa: PLC0415 (heavy: only when a file is written)
    import pyreadstat  # noqa: PLC0415

    domain = dataset.domain
    if not (1 <= len(domain.name) <= 8 and domain.name.isalnum()):
        raise ValueError(f"{domain.name!r}: an XPORT dataset name is 1-8 letters and digits")
    if len(domain.label) > 40:
        raise ValueError(f"{domain.name}: dataset label over 40 characters")
    written = columns(dataset)
    records = sorted_records(dataset)
    frame = pd.DataFrame(
        {
            column.variable.name: pd.Series(
                [record.get(column.variable.name) for record in records],
                dtype="object"
                if column.variable.data_type in ("string", "date", "datetime")
                else "float64",
            )
            for column in written
        }
    )
    for column in written:
        if frame[column.variable.name].dtype == object:
            frame[column.variable.name] = frame[column.variable.name].fillna("")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / file_name(dataset)
        pyreadstat.write_xport(
            frame,
            path,
            file_label=domain.label,
            column_labels=[column.variable.label for column in written],
            table_name=domain.name,
            file_format_version=5,
        )
        data = bytearray(path.read_bytes())
    headers = _RECORD * _HEADERS_BEFORE_VARIABLES
    stamp = _stamp(cut)
    data[:headers] = _STAMP.sub(stamp, bytes(data[:headers]))
    return bytes(data)
