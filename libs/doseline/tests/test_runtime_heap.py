"""The API process settles its heap once the application is built (doseline.runtime)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from doseline.runtime import YOUNG_COLLECTION_THRESHOLD, settle_heap


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_what_is_alive_at_start_is_left_out_of_every_later_collection() -> None:
    at_start = [object()]
    settle_heap()
    assert not any(tracked is at_start for tracked in gc.get_objects())
    assert gc.get_threshold()[0] == YOUNG_COLLECTION_THRESHOLD
    later = [object()]
    assert any(tracked is later for tracked in gc.get_objects())
