"""The CloudEvents 1.0 structured JSON a subscriber receives, built from a logged envelope."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

CLOUDEVENTS_JSON = "application/cloudevents+json"
# CloudEvents `sequence` extension: a string that orders lexically, so the position is padded.
SEQUENCE_DIGITS = 20


def sequence_of(position: int) -> str:
    return f"{position:0{SEQUENCE_DIGITS}d}"


def cloudevent(envelope: Mapping[str, Any], *, position: int) -> dict[str, Any]:
    """The envelope as a structured CloudEvent, with the log position as `sequence`.

    CloudEvents 1.0: `id` + `source` identify the event; `sequence` (extension) is the order of
    the notifications log; `correlationid` (extension) ties it to the request that caused it.
    """
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": envelope["id"],
        "source": envelope["source"],
        "type": envelope["type"],
        "time": envelope["time"],
    }
    if envelope.get("subject") is not None:
        event["subject"] = envelope["subject"]
    event["datacontenttype"] = envelope.get("datacontenttype", "application/json")
    event["dataschema"] = envelope["dataschema"]
    event["sequence"] = sequence_of(position)
    event["correlationid"] = envelope["correlationid"]
    event["data"] = envelope["data"]
    return event


def body_bytes(event: Mapping[str, Any]) -> bytes:
    """The exact bytes sent and signed (re-serialising JSON would break a signature)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=True).encode("ascii")
