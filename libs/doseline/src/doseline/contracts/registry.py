"""Registry of every event contract, keyed by (event type, version)."""

from __future__ import annotations

from typing import TypeVar

from doseline.events import Envelope, EventContract

C = TypeVar("C", bound=type[EventContract])

CONTRACTS: dict[tuple[str, int], type[EventContract]] = {}


def register(contract: C) -> C:
    key = (contract.event_type, contract.version)
    if key in CONTRACTS and CONTRACTS[key] is not contract:
        raise ValueError(f"two contracts claim {contract.event_type} v{contract.version}")
    CONTRACTS[key] = contract
    return contract


def contract_for(envelope: Envelope) -> type[EventContract]:
    """The contract that reads this envelope's data, by its type and dataschema version."""
    version_text = envelope.dataschema.rsplit(":v", 1)[-1]
    try:
        return CONTRACTS[(envelope.type, int(version_text))]
    except (KeyError, ValueError):
        raise LookupError(
            f"no contract for {envelope.type} with dataschema {envelope.dataschema}"
        ) from None
