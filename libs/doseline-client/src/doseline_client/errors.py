"""The error a client call raises when the API answers with a problem (RFC 9457)."""

from __future__ import annotations

from typing import Any


class DoselineApiError(Exception):
    """A 4xx or 5xx answer; `problem` is the problem+json body (`detail` says what to fix)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{status}: {problem.get('detail') or problem.get('title') or problem}")

    @property
    def type(self) -> str:
        return str(self.problem.get("type", ""))
