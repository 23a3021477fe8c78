"""The catalogue of public event types (docs/events.md), generated from the contract registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from doseline.contracts import CONTRACTS
from doseline.events import EventContract
from doseline.routing import EVENT_LOG_ROUTE, routes_for
from notifications.event_log.cloudevent import cloudevent

EXAMPLE_TIME = "2026-03-02T09:30:00Z"
EXAMPLE_DATE = "2026-03-02"
# Values that make an example read like the trial rather than like a schema.
EXAMPLE_STRINGS = {
    "trial_id": "HDMSC-RP-01",
    "subject_id": "HDMSC-RP-01-004",
    "ctcae_version": "5.0",
    "term_code": "10038695",
    "term": "Respiratory failure",
    "protocol_version": "1.0",
    "site_time_zone": "Europe/Berlin",
    "time_zone": "Asia/Shanghai",
    "protocol_id": "HDMSC-RP-01",
    "content_hash": "sha256:" + "5e0c" * 16,
    "dose_cells": "100000000",
    "outcomes": "1NNN 2NTN",
    "target_host": "hooks.pharmacy.example",
    "service": "enrollment",
    "mac": "3f9c" * 16,
    "algorithm": "hmac-sha256",
    "key_id": "2027-01",
    "safety_report_id": "HDMSC-RP-01-ae-id-1",
    "href": "/v1/adverse-events/ae-id-1/icsr/messages/1",
    "loinc": "751-8",
    "value": "0.4",
    "unit": "10*9/L",
    "observation_id": "anc-20260302-004",
    "observation_version_id": "1",
}


def public_contracts() -> list[type[EventContract]]:
    """Every contract delivered to subscribers, by type then version."""
    return [
        contract
        for (_type, _version), contract in sorted(CONTRACTS.items())
        if contract.public and EVENT_LOG_ROUTE in routes_for(contract.event_type)
    ]


def _example_value(schema: dict[str, Any], defs: dict[str, Any], name: str) -> Any:
    if "$ref" in schema:
        return _example_value(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name)
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        options = [option for option in schema["anyOf"] if option.get("type") != "null"]
        return _example_value(options[0], defs, name) if options else None
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date-time":
            return EXAMPLE_TIME
        if schema.get("format") == "date":
            return EXAMPLE_DATE
        return EXAMPLE_STRINGS.get(name, f"{name.replace('_', '-')}-1")
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return 0.25
    if kind == "boolean":
        return True
    if kind == "array":
        return [_example_value(schema.get("items", {}), defs, name.rstrip("s"))]
    if kind == "object":
        properties: dict[str, Any] = schema.get("properties", {})
        return {key: _example_value(value, defs, key) for key, value in properties.items()}
    raise ValueError(f"no example for the schema of {name}: {schema}")


def example_data(contract: type[EventContract]) -> dict[str, Any]:
    """An example payload built from the contract's JSON Schema (and valid against it)."""
    schema = contract.model_json_schema()
    data = _example_value(schema, schema.get("$defs", {}), contract.__name__)
    return contract.model_validate(data).model_dump(mode="json")


def example_event(contract: type[EventContract]) -> dict[str, Any]:
    """The CloudEvent a subscriber would receive for the example payload."""
    producer = contract.event_type.split(".", 1)[0]
    envelope = contract.model_validate(example_data(contract)).envelope(
        source=f"urn:doseline:{producer}",
        subject="subjects/HDMSC-RP-01-004" if "subject_id" in contract.model_fields else None,
        correlation_id="5f0c2a7e0d9b4a64a1b2c3d4e5f60718",
        event_id="01970a3c-5d2e-7f00-8a1b-2c3d4e5f6071",
    )
    event = cloudevent(envelope.model_dump(mode="json"), position=123)
    event["time"] = EXAMPLE_TIME
    return event


def render_catalogue() -> str:
    contracts = public_contracts()
    lines = [
        "# Event catalogue",
        "",
        "Generated from the contracts in `libs/doseline/src/doseline/contracts/` by",
        "`uv run python -m notifications events-catalogue --output docs/events.md`; do not edit.",
        "",
        "Every event below is appended to the notifications log, readable as a feed",
        "(`GET /v1/events`), delivered to matching webhook subscriptions as a CloudEvents 1.0",
        "structured JSON body with Standard Webhooks signatures, and, with RabbitMQ, published to",
        "the topic exchange `doseline.events` with the event type as routing key. `data` carries",
        "study ids only, never a hospital identifier. Every event about one subject carries",
        "the subject's `site_id` (one of the protocol's `sites`): the feed, the webhooks and the",
        "other services show it only to callers whose token names that site (`sites` claim) or",
        "who act sponsor-wide; events about the whole trial (cohorts, escalation) have no site",
        "and reach every reader.",
        "",
        "| event type | version | description |",
        "|---|---|---|",
    ]
    lines += [
        f"| [`{c.event_type}`](#{c.event_type.replace('.', '')}-v{c.version}) | {c.version} "
        f"| {c.description} |"
        for c in contracts
    ]
    for contract in contracts:
        lines += [
            "",
            f"## {contract.event_type} v{contract.version}",
            "",
            contract.description,
            "",
            f"- `dataschema`: `{contract.dataschema()}`",
            f"- AMQP routing key: `{contract.event_type}`",
            "",
            "JSON Schema of `data`:",
            "",
            "```json",
            json.dumps(contract.model_json_schema(), indent=2, sort_keys=True),
            "```",
            "",
            "Example delivery body:",
            "",
            "```json",
            json.dumps(example_event(contract), indent=2),
            "```",
        ]
    return "\n".join(lines) + "\n"


def add_catalogue_command(app: typer.Typer) -> None:
    @app.command("events-catalogue")
    def events_catalogue(
        output: Annotated[
            Path | None, typer.Option(help="Write to this file instead of standard output")
        ] = None,
    ) -> None:
        """Print the catalogue of public event types (Markdown, for docs/events.md)."""
        text = render_catalogue()
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            typer.echo(f"wrote {output}")
