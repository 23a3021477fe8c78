"""The CTCAE v5.0 workbook that ships inside the safety package, verified before use."""

from __future__ import annotations

import hashlib
from importlib.resources import as_file, files
from pathlib import Path

WORKBOOK_NAME = "CTCAE_v5.0_2017-11-27.xlsx"
WORKBOOK_SHA256 = "e0b04ae9e88a47d7ae27f43d3a7e38632830a61dd349521e0627fb91e1b001a3"
VERSION = "5.0"


class ShippedDictionaryError(RuntimeError):
    """The packaged workbook is missing or is not the file NCI published."""


def workbook() -> Path:
    """The packaged NCI workbook on disk, after checking its SHA-256 against NCI's file."""
    resource = files("safety") / "data" / "ctcae" / WORKBOOK_NAME
    with as_file(resource) as path:
        if not path.is_file():
            raise ShippedDictionaryError(f"the safety package has no {WORKBOOK_NAME}; reinstall it")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != WORKBOOK_SHA256:
            raise ShippedDictionaryError(
                f"{path} has SHA-256 {digest}, not NCI's {WORKBOOK_SHA256}; reinstall the package"
            )
        return path
