"""CDISC Dataset-JSON v1.1: one SDTM dataset as the JSON file CDISC specifies.

Deterministic: the same dataset at the same data cut gives the same bytes. The creation and
last-modified times are the data cut (an export describes the data as it stood then, not when
the command ran); records are in key order; keys are written in the order the standard lists
them. `schemas/dataset.schema.json` (CDISC's published schema) validates the result.
"""

from __future__ import annotations

import json
from datetime import UTC
from importlib.metadata import version

from doseline.sdtm import DataCut, Dataset, Study, Value
from doseline.sdtm.columns import Column, columns, sorted_records

DATASET_JSON_VERSION = "1.1.0"
METADATA_VERSION_OID = "MDV.DOSELINE.SDTMIG.3.4"
ORIGINATOR = "Doseline"


def timestamp(cut: DataCut) -> str:
    """The data cut as ISO 8601 in UTC, to the second (every file's creation time)."""
    return cut.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def item_group_oid(name: str) -> str:
    return f"IG.{name}"


def item_oid(domain: str, variable: str) -> str:
    return f"IT.{domain}.{variable}"


def _column(domain: str, column: Column) -> dict[str, object]:
    variable = column.variable
    described: dict[str, object] = {
        "itemOID": item_oid(domain, variable.name),
        "name": variable.name,
        "label": variable.label,
        "dataType": variable.data_type,
    }
    if variable.data_type == "string":
        described["length"] = column.length
    if column.key_sequence is not None:
        described["keySequence"] = column.key_sequence
    return described


def _cell(column: Column, value: Value) -> Value:
    if value is None:
        return None
    if column.variable.data_type == "integer":
        return int(value)
    if column.variable.data_type == "float":
        return float(value)
    return value


def dataset_json(dataset: Dataset, study: Study, cut: DataCut) -> bytes:
    """The dataset as Dataset-JSON v1.1 bytes (UTF-8, one trailing newline)."""
    name = dataset.domain.name
    written = columns(dataset)
    records = sorted_records(dataset)
    document = {
        "datasetJSONCreationDateTime": timestamp(cut),
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"{study.study_id}.{timestamp(cut)}.{name}",
        "dbLastModifiedDateTime": timestamp(cut),
        "originator": ORIGINATOR,
        "sourceSystem": {"name": ORIGINATOR, "version": version("doseline")},
        "studyOID": study.study_id,
        "metaDataVersionOID": METADATA_VERSION_OID,
        "metaDataRef": "../define.xml",
        "itemGroupOID": item_group_oid(name),
        "records": len(records),
        "name": name,
        "label": dataset.domain.label,
        "columns": [_column(name, column) for column in written],
        "rows": [
            [_cell(column, record.get(column.variable.name)) for column in written]
            for record in records
        ],
    }
    return (json.dumps(document, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
