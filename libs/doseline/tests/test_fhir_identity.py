"""Which FHIR version is older: counted versions and lastUpdated order, content hashes do not."""

from __future__ import annotations

import pytest

from doseline.fhir.identity import identity, is_older


@pytest.mark.parametrize(
    ("offered", "recorded", "older"),
    [
        ("2", "10", True),  # counted as numbers, not as text
        ("10", "2", False),
        ("lastUpdated 2026-11-30T08:00:00Z", "lastUpdated 2026-12-01T08:00:00+00:00", True),
        ("lastUpdated 2026-12-02T08:00:00Z", "lastUpdated 2026-12-01T08:00:00Z", False),
        ("lastUpdated 2026-12-01T08:00:00", "lastUpdated 2026-12-01T09:00:00Z", False),
        ("lastUpdated not-a-time", "lastUpdated 2026-12-01T09:00:00Z", False),
        ("sha256:aaaa", "sha256:bbbb", False),
        ("1", "lastUpdated 2026-12-01T08:00:00Z", False),
    ],
)
def test_only_versions_that_can_be_ordered_are_ever_older(
    offered: str, recorded: str, older: bool
) -> None:
    assert is_older(offered, recorded) is older


def test_a_resource_without_id_or_version_is_identified_by_its_content() -> None:
    resource = {"resourceType": "Observation", "status": "final"}
    first, again = identity(resource), identity({**resource, "meta": {"source": "x"}})
    assert first == again
    assert first[0].startswith("sha256:")
    assert identity({**resource, "meta": {"versionId": "3"}}, full_url="urn:uuid:1") == (
        "urn:uuid:1",
        "3",
    )
