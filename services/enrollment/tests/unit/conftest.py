"""Fixtures for the enrollment unit tests: the shipped HDMSC-RP-01 protocol and variants of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from enrollment.protocol import PROTOCOLS_DIR, Protocol, load_protocol

HDMSC_RP_01 = PROTOCOLS_DIR / "hdmsc-rp-01.yaml"

Document = dict[str, Any]
Amend = Callable[[Callable[[Document], None]], Protocol]


@pytest.fixture(scope="session")
def hdmsc_text() -> str:
    return Path(HDMSC_RP_01).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def hdmsc(hdmsc_text: str) -> Protocol:
    return load_protocol(hdmsc_text)


@pytest.fixture
def hdmsc_document(hdmsc_text: str) -> Document:
    """The shipped document as plain data, to change one rule and dump it again."""
    document: Document = yaml.safe_load(hdmsc_text)
    return document


@pytest.fixture
def amended(hdmsc_text: str) -> Amend:
    """A protocol equal to HDMSC-RP-01 except for what ``change`` does to its data."""

    def amend(change: Callable[[Document], None]) -> Protocol:
        document: Document = yaml.safe_load(hdmsc_text)
        change(document)
        return load_protocol(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))

    return amend
