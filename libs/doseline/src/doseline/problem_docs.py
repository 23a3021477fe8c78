"""docs/problems.md: every problem type of every installed service, from their catalogues."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from doseline.manifest import ServiceManifest
from doseline.problems import KIT, ProblemType

COMMAND = "uv run doseline problems-catalogue --output docs/problems.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(entries: Iterable[ProblemType]) -> list[str]:
    return [
        "| `type` | status | title | what it means and what to do |",
        "|---|---|---|---|",
        *(
            f"| `{entry.uri}` | {entry.status} | {_cell(entry.title)} | {_cell(entry.meaning)} |"
            for entry in sorted(entries, key=lambda entry: (entry.status, entry.slug))
        ),
    ]


def render_problem_catalogue(services: Mapping[str, ServiceManifest]) -> str:
    """The Markdown of docs/problems.md: the kit's problem types, then each service's own."""
    lines = [
        "# Problem types",
        "",
        "Generated from the problem catalogues (`libs/doseline/src/doseline/problems.py` and",
        f"each service's `problems.py`) by `{COMMAND}`;",
        "do not edit.",
        "",
        "Every error of every Doseline API is an RFC 9457 `application/problem+json` body whose",
        "`type` is `/problems/{slug}`, relative to the API's base URL: `GET /problems/{slug}` on",
        "the service that answered resolves it to the entry below as JSON, and `GET /problems`",
        "lists every problem type the service answers (no token needed). `type`, `status` and",
        "`title` are the same at every occurrence; `detail` says what happened this time and what",
        "to fix, and some problems carry further members (`errors`, `current_etag`, `checks`...).",
        "",
        "## Every service",
        "",
        "Answered by every service: request validation, authentication, ETags, idempotency,",
        "availability and the kit's shared rules.",
        "",
        *_table(KIT.own),
    ]
    for name, manifest in services.items():
        lines += [
            "",
            f"## {name}",
            "",
            f"Answered by {name} (port {manifest.port}) besides those of every service.",
            "",
            *_table(manifest.problems.own),
        ]
    return "\n".join(lines) + "\n"
