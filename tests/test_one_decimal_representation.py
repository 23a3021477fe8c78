"""Every decimal in every response is written one way: a plain-notation string."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, PlainSerializer

from doseline.manifest import ServiceManifest
from doseline.numbers import plain


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def _is_decimal(annotation: Any) -> bool:
    if annotation is Decimal:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_decimal(argument) for argument in typing.get_args(annotation))
    return False


def _decimal_fields(root: type[BaseModel]) -> Iterator[tuple[str, Any]]:
    """(model.field, field info) of every decimal reachable from a response model."""
    seen: set[type[BaseModel]] = set()
    waiting = [root]
    while waiting:
        model = waiting.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            if _is_decimal(info.annotation):
                yield f"{model.__name__}.{name}", info
            waiting.extend(_models(info.annotation))


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every operation, also those of included routers (FastAPI keeps them as sub-routers)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from _api_routes(included.routes)


def test_every_decimal_of_every_response_model_is_written_in_plain_notation(
    api: Callable[..., TestClient], services: dict[str, ServiceManifest]
) -> None:
    checked: dict[str, bool] = {}
    for name in services:
        for route in _api_routes(api(name).app.routes):
            if route.response_model is None:
                continue
            for model in _models(route.response_model):
                for where, info in _decimal_fields(model):
                    serializers = [m for m in info.metadata if isinstance(m, PlainSerializer)]
                    checked[f"{name}: {where}"] = any(s.func is plain for s in serializers)
    assert "enrollment: PreparationOut.dose_cells" in checked, sorted(checked)
    assert [where for where, ok in checked.items() if not ok] == []


def test_the_plain_notation_has_no_exponent_and_no_trailing_zeros() -> None:
    written = {text: plain(Decimal(text)) for text in ("2.06E+7", "20600000.000000", "62.50")}
    assert written == {"2.06E+7": "20600000", "20600000.000000": "20600000", "62.50": "62.5"}
