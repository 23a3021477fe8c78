"""The protocol a trial runs under: parsed once per version from the stored document."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from enrollment.protocol import PROTOCOLS_DIR, Protocol, load_protocol
from enrollment.trials.models import Trial
from enrollment.trials.repository import get_protocol_version


def shipped_protocol_path(name: str) -> Path:
    """A protocol shipped with the service: `hdmsc-rp-01` → protocols/hdmsc-rp-01.yaml."""
    return PROTOCOLS_DIR / f"{name}.yaml"


@lru_cache(maxsize=64)
def parse_stored(document: str) -> Protocol:
    """A stored document was valid when it was stored; parse it once per process."""
    return load_protocol(document)


def protocol_of(session: Session, trial: Trial) -> Protocol:
    """The protocol version now in force for `trial`."""
    return parse_stored(get_protocol_version(session, trial.protocol_version_id).document)
