"""The SDTM study package: every dataset in Dataset-JSON and XPT, define.xml, manifest.json.

    <out>/
      define.xml                  Define-XML 2.1 of every dataset (its def:leaf links the XPTs)
      <domain>.xpt                SAS XPORT v5, beside define.xml as a submission lays them out
      json/<domain>.json          Dataset-JSON v1.1 (metaDataRef ../define.xml)
      manifest.json               each file with its sha256 and size; the study, the data cut,
                                  the protocol version, the CDISC CT and SDTMIG versions

Same data, same bytes: every file (the manifest too) is a function of the datasets, the study
and the data cut. The package is written into a fresh directory next to `out` and moved into
place whole, so a failed export leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from doseline.sdtm import DataCut, Dataset, Study
from doseline.sdtm.controlled_terminology import ct_version
from doseline.sdtm.dataset_json import dataset_json, timestamp
from doseline.sdtm.define_xml import SDTMIG_VERSION, define_xml
from doseline.sdtm.merge import merge_datasets
from doseline.sdtm.xpt import file_name, xpt

MANIFEST = "manifest.json"


def package_files(datasets: Sequence[Dataset], study: Study, cut: DataCut) -> dict[str, bytes]:
    """Every file of the package by its relative path (manifest.json last). Datasets of one
    domain from two services are written as one (doseline.sdtm.merge)."""
    datasets = merge_datasets(datasets)
    files: dict[str, bytes] = {}
    for dataset in sorted(datasets, key=lambda found: found.domain.name):
        stem = dataset.domain.name.lower()
        files[f"json/{stem}.json"] = dataset_json(dataset, study, cut)
        files[file_name(dataset)] = xpt(dataset, cut)
    files["define.xml"] = define_xml(datasets, study, cut)
    manifest = {
        "study_id": study.study_id,
        "title": study.title,
        "protocol_version": study.protocol_version,
        "data_cut": timestamp(cut),
        "controlled_terminology": ct_version(),
        "sdtmig_version": SDTMIG_VERSION,
        "datasets": {
            dataset.domain.name: len(dataset.records)
            for dataset in sorted(datasets, key=lambda found: found.domain.name)
        },
        "files": [
            {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for path, data in sorted(files.items())
        ],
    }
    files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return files


def write_package(datasets: Sequence[Dataset], study: Study, cut: DataCut, out: Path) -> Path:
    """Write the package into `out` (absent or empty); returns the manifest's path."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty directory")
    files = package_files(datasets, study, cut)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for path, data in files.items():
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out / MANIFEST
