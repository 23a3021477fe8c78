"""Enrollment's lists page with cursors: subjects, escalation history and trials."""

from __future__ import annotations

import pytest

from doseline.auth import Role
from doseline.pagination import encode_cursor

from .conftest import TRIAL, Site


def test_the_subject_list_resumes_after_its_cursor_in_study_id_order(site: Site) -> None:
    registered = [site.register() for _ in range(3)]
    reader = site.as_(Role.MONITOR, "cra")
    first = site.ok(site.api.get(f"/v1/trials/{TRIAL}/subjects?limit=2", headers=reader))
    assert [s["id"] for s in first["items"]] == registered[:2]
    second = site.ok(
        site.api.get(
            f"/v1/trials/{TRIAL}/subjects",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=reader,
        )
    )
    assert [s["id"] for s in second["items"]] == registered[2:]
    assert second["next_cursor"] is None


def test_the_trial_list_shows_every_trial_with_no_next_link_on_the_last_page(site: Site) -> None:
    response = site.api.get("/v1/trials", headers=site.as_(Role.MONITOR, "cra"))
    assert [trial["id"] for trial in site.ok(response)] == [TRIAL]
    assert "Link" not in response.headers
    assert (
        site.ok(
            site.api.get(
                "/v1/trials",
                params={"cursor": encode_cursor({"id": TRIAL})},
                headers=site.as_(Role.MONITOR, "cra"),
            )
        )
        == []
    )


@pytest.mark.parametrize(
    "path",
    [f"/v1/trials/{TRIAL}/subjects", f"/v1/trials/{TRIAL}/escalation/history", "/v1/trials"],
)
@pytest.mark.parametrize(
    "cursor", [encode_cursor({"number": "1"}), encode_cursor({"p": 1}), "a cursor?"]
)
def test_a_cursor_the_list_did_not_issue_is_a_422_not_a_first_page(
    site: Site, path: str, cursor: str
) -> None:
    response = site.api.get(path, params={"cursor": cursor}, headers=site.as_(Role.MONITOR, "cra"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["loc"] == ["query", "cursor"]
