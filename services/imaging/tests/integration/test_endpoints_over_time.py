"""Endpoints over time: per-subject series with change from baseline, per-dose statistics, plots."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from doseline.auth import Role

from .conftest import DAY_1, LAST_INFUSION_DAY, Desk, at_site

MONTH_1 = LAST_INFUSION_DAY + timedelta(days=31)


def ct(desk: Desk, subject: str, day: date, lesion_ml: float) -> None:
    desk.post(
        f"/v1/subjects/{subject}/ct-measurements",
        {"lung_ml": 4000, "lesion_ml": lesion_ml, "performed_at": at_site(day)},
    )


@pytest.fixture
def cohort(desk: Desk) -> Desk:
    """Two subjects at dose level 1, one at dose level 2, CT at baseline and month 1."""
    for subject, dose, baseline_ml, month_1_ml in (
        ("HDMSC-RP-01-001", 1, 400.0, 200.0),
        ("HDMSC-RP-01-002", 1, 200.0, 160.0),
        ("HDMSC-RP-01-003", 2, 0.0, 40.0),
    ):
        desk.enrol(subject, dose_level=dose)
        desk.treat(subject)
        ct(desk, subject, DAY_1 - timedelta(days=2), baseline_ml)
        ct(desk, subject, MONTH_1, month_1_ml)
    return desk


def test_a_subjects_lesion_fraction_series_has_its_change_from_baseline(cohort: Desk) -> None:
    response = cohort.client.get(
        "/v1/subjects/HDMSC-RP-01-001/outcomes", headers=cohort.as_(Role.MONITOR)
    )
    assert response.status_code == 200, response.text
    series = {s["metric"]: s for s in response.json()["series"]}
    lesion = series["lesion_fraction"]
    assert lesion["baseline"] == pytest.approx(0.1)
    month_1 = lesion["points"][1]
    assert month_1["visit"] == "month_1"
    assert month_1["value"] == pytest.approx(0.05)
    assert month_1["change_from_baseline"] == pytest.approx(-0.05)
    assert month_1["relative_change_from_baseline"] == pytest.approx(-0.5)


def test_the_relative_change_is_undefined_when_the_baseline_fraction_is_0(cohort: Desk) -> None:
    response = cohort.client.get("/v1/subjects/HDMSC-RP-01-003/outcomes", headers=cohort.as_())
    lesion = {s["metric"]: s for s in response.json()["series"]}["lesion_fraction"]
    month_1 = lesion["points"][1]
    assert month_1["change_from_baseline"] == pytest.approx(0.01)
    assert month_1["relative_change_from_baseline"] is None
    assert month_1["relative_change_undefined_reason"] == "baseline lesion fraction p0 is 0"


def test_per_dose_statistics_give_n_mean_sd_median_and_iqr_by_visit(cohort: Desk) -> None:
    response = cohort.client.get(
        "/v1/trials/HDMSC-RP-01/outcome-summary",
        params={"metric": "lesion_fraction"},
        headers=cohort.as_(Role.MONITOR),
    )
    assert response.status_code == 200, response.text
    groups = {(g["dose_level"], g["visit"]): g for g in response.json()["groups"]}
    assert list(groups) == [(1, "baseline"), (1, "month_1"), (2, "baseline"), (2, "month_1")]
    dose_1_month_1 = groups[(1, "month_1")]
    assert dose_1_month_1["value"]["n"] == 2
    assert dose_1_month_1["value"]["mean"] == pytest.approx(0.045)
    # changes: 0.05 - 0.10 = -0.05 and 0.04 - 0.05 = -0.01
    change = dose_1_month_1["change_from_baseline"]
    assert change["mean"] == pytest.approx(-0.03)
    assert change["sd"] == pytest.approx(0.0282843, abs=1e-6)
    assert change["median"] == pytest.approx(-0.03)
    assert change["iqr"] == pytest.approx(0.02)
    assert groups[(2, "month_1")]["value"]["sd"] is None


def test_a_voided_assessment_leaves_the_statistics(cohort: Desk) -> None:
    listed = cohort.client.get(
        "/v1/subjects/HDMSC-RP-01-002/assessments", headers=cohort.as_()
    ).json()["items"]
    month_1 = next(item for item in listed if item["visit"] == "month_1")
    voided = cohort.client.post(
        f"/v1/assessments/{month_1['id']}/void",
        json={"reason": "measured on the wrong series"},
        headers={**cohort.as_(), "If-Match": '"v1"'},
    )
    assert voided.status_code == 200, voided.text
    response = cohort.client.get(
        "/v1/trials/HDMSC-RP-01/outcome-summary",
        params={"metric": "lesion_fraction"},
        headers=cohort.as_(),
    )
    groups = {(g["dose_level"], g["visit"]): g for g in response.json()["groups"]}
    assert groups[(1, "month_1")]["value"]["n"] == 1


@pytest.mark.parametrize(
    ("image_format", "media_type", "magic"),
    [
        ("png", "image/png", b"\x89PNG"),
        ("svg", "image/svg+xml", b"<?xml"),
    ],
)
def test_plots_of_lesion_fraction_change_and_lung_function_are_served(
    cohort: Desk, image_format: str, media_type: str, magic: bytes
) -> None:
    for plot in ("lesion-fraction-change", "fev1-percent-predicted"):
        response = cohort.client.get(
            f"/v1/trials/HDMSC-RP-01/plots/{plot}",
            params={"format": image_format},
            headers=cohort.as_(Role.MONITOR),
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(media_type)
        assert response.content.startswith(magic)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/trials/HDMSC-RP-01/outcome-summary", {"metric": "happiness"}),
        ("/v1/trials/HDMSC-RP-01/outcome-summary", {}),
        ("/v1/trials/HDMSC-RP-01/plots/lesion-fraction-change", {"format": "gif"}),
        ("/v1/trials/HDMSC-RP-01/plots/tumour-size", {}),
    ],
)
def test_unknown_metrics_plots_and_formats_are_422(
    cohort: Desk, path: str, params: dict[str, str]
) -> None:
    response = cohort.client.get(path, params=params, headers=cohort.as_())
    assert response.status_code == 422, response.text


def test_out_of_window_assessments_can_be_left_out_of_the_statistics(cohort: Desk) -> None:
    cohort.enrol("HDMSC-RP-01-004", dose_level=1)
    cohort.treat("HDMSC-RP-01-004")
    ct(cohort, "HDMSC-RP-01-004", DAY_1 - timedelta(days=2), 400.0)
    ct(cohort, "HDMSC-RP-01-004", MONTH_1 + timedelta(days=12), 100.0)  # 15 days late

    def n_at_month_1(include: bool) -> int:
        response = cohort.client.get(
            "/v1/trials/HDMSC-RP-01/outcome-summary",
            params={"metric": "lesion_fraction", "include_out_of_window": include},
            headers=cohort.as_(),
        )
        groups = {(g["dose_level"], g["visit"]): g for g in response.json()["groups"]}
        count: int = groups[(1, "month_1")]["value"]["n"]
        return count

    assert n_at_month_1(True) == 3
    assert n_at_month_1(False) == 2
