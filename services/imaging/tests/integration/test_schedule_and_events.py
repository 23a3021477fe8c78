"""Visit schedules per trial, enrollment's events over the broker, missed visits, the worker."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from doseline import outbox
from doseline.auth import Role
from doseline.contracts.enrollment import SubjectEnrolled
from doseline.schema import ServiceSchema
from doseline.testing import facts
from doseline.testing.plugin import EventPump
from imaging.ct_analyses import repository as ct_repository
from imaging.manifest import SERVICE
from imaging.subjects import tasks

from .conftest import DAY_1, LAST_INFUSION_DAY, SITE_ZONE, SUBJECT, TRIAL, Desk, at_site
from .test_ct_uploads import acceptance_masks, analysis, label_map_bytes, upload

ROOM_AIR_GAS = {"ph": 7.40, "pao2": 80, "paco2": 40, "fio2": 0.21}
SCHEDULE_PATH = f"/v1/trials/{TRIAL}/visit-schedule"


def schedule_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "follow_up": [
            {"code": "month_1", "months_after_last_infusion": 1, "window_days": 3},
            {"code": "month_6", "months_after_last_infusion": 6, "window_days": 14},
        ],
        "reason": "protocol amendment 2: narrower month-1 window",
    }
    body.update(overrides)
    return body


def test_bootstrap_registers_hdmsc_rp_01_defaults(desk: Desk) -> None:
    response = desk.client.get(SCHEDULE_PATH, headers=desk.auth(Role.MONITOR))
    assert response.status_code == 200, response.text
    visits = {v["code"]: v for v in response.json()["follow_up"]}
    assert [v["months_after_last_infusion"] for v in visits.values()] == [1, 2, 3, 6, 12]
    assert visits["month_3"]["window_days"] == 7
    assert visits["month_12"]["window_days"] == 14
    assert response.json()["spirometry_equation"] == "GLI Global 2022"
    assert response.headers["ETag"] == '"v1"'


def test_changing_the_schedule_needs_an_admin_if_match_and_a_reason_and_reassigns_visits(
    desk: Desk,
) -> None:
    desk.enrol()
    desk.treat()
    late = desk.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        {**ROOM_AIR_GAS, "performed_at": at_site(LAST_INFUSION_DAY + timedelta(days=36))},
    )
    assert late["out_of_window"] is False  # month 1 target + 5 days, window ±7
    admin = desk.auth(Role.ADMIN)
    assert desk.client.put(SCHEDULE_PATH, json=schedule_body(), headers=admin).status_code == 428
    coordinator = {**desk.auth(Role.COORDINATOR), "If-Match": '"v1"'}
    assert (
        desk.client.put(SCHEDULE_PATH, json=schedule_body(), headers=coordinator).status_code == 403
    )
    no_reason = desk.client.put(
        SCHEDULE_PATH, json=schedule_body(reason=None), headers={**admin, "If-Match": '"v1"'}
    )
    assert no_reason.status_code == 422
    changed = desk.client.put(
        SCHEDULE_PATH, json=schedule_body(), headers={**admin, "If-Match": '"v1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"v2"'
    again = desk.client.get(f"/v1/assessments/{late['id']}", headers=admin)
    assert again.json()["visit"] == "month_1"
    assert again.json()["out_of_window"] is True


@pytest.mark.parametrize(
    "body",
    [
        schedule_body(follow_up=[]),
        schedule_body(
            follow_up=[
                {"code": "month_1", "months_after_last_infusion": 1, "window_days": 7},
                {"code": "month_1", "months_after_last_infusion": 2, "window_days": 7},
            ]
        ),
        schedule_body(
            follow_up=[{"code": "baseline", "months_after_last_infusion": 1, "window_days": 7}]
        ),
        schedule_body(
            follow_up=[{"code": "Month 1", "months_after_last_infusion": 1, "window_days": 7}]
        ),
        schedule_body(spirometry_equation="GLI-2012"),
        schedule_body(gli_2012_ethnicity="NORTH_EAST_ASIAN"),
        schedule_body(spirometry_equation="Knudson 1983"),
    ],
)
def test_incoherent_schedules_and_equation_choices_are_422(
    desk: Desk, body: dict[str, Any]
) -> None:
    response = desk.client.put(
        SCHEDULE_PATH, json=body, headers={**desk.auth(Role.ADMIN), "If-Match": '"v1"'}
    )
    assert response.status_code == 422, response.text


def test_a_trial_that_chose_gli_2012_north_east_asian_gets_that_reference(desk: Desk) -> None:
    changed = desk.client.put(
        SCHEDULE_PATH,
        json=schedule_body(spirometry_equation="GLI-2012", gli_2012_ethnicity="NORTH_EAST_ASIAN"),
        headers={**desk.auth(Role.ADMIN), "If-Match": '"v1"'},
    )
    assert changed.status_code == 200, changed.text
    desk.enrol()
    body = desk.post(
        f"/v1/subjects/{SUBJECT}/pulmonary-function-tests",
        {
            "sex": "male",
            "age_years": 60,
            "height_cm": 170,
            "fev1_l": 2.5,
            "performed_at": at_site(DAY_1 - timedelta(days=1)),
        },
    )
    # OUTCOMES.md §2.3: GLI-2012 North-East Asian, FEV1 2.5 L → 79.71 %, z −2.0336.
    assert body["results"]["fev1"]["percent_predicted"] == pytest.approx(79.71, abs=5e-3)
    assert body["results"]["fev1"]["z_score"] == pytest.approx(-2.0336, abs=5e-4)


def test_a_new_trial_without_a_schedule_keeps_follow_ups_pending(desk: Desk) -> None:
    desk.deliver(
        SubjectEnrolled(
            trial_id="OTHER-01",
            subject_id="OTHER-01-001",
            site_id="WCH",
            cohort_number=1,
            dose_level=1,
            enrolled_at=datetime(2025, 12, 20, tzinfo=UTC),
            protocol_version="1",
            site_time_zone=SITE_ZONE,
        ),
        tasks.on_subject_enrolled,
    )
    desk.treat("OTHER-01-001")
    body = desk.post(
        "/v1/subjects/OTHER-01-001/blood-gases",
        {**ROOM_AIR_GAS, "performed_at": at_site(LAST_INFUSION_DAY + timedelta(days=31))},
    )
    assert body["visit_pending_reason"] == "the trial has no visit schedule registered"
    created = desk.client.put(
        "/v1/trials/OTHER-01/visit-schedule",
        json=schedule_body(reason=None),
        headers=desk.auth(Role.ADMIN),
    )
    assert created.status_code == 200, created.text
    again = desk.client.get(f"/v1/assessments/{body['id']}", headers=desk.as_())
    assert again.json()["visit"] == "month_1"


def test_a_visit_whose_window_closed_empty_is_reported_missed_once(desk: Desk) -> None:
    desk.enrol()
    desk.treat()
    desk.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        {**ROOM_AIR_GAS, "performed_at": at_site(LAST_INFUSION_DAY + timedelta(days=31))},
    )
    # Month 2's window ends on 21 March at the site; the sweep runs on 22 March, 00:30 there.
    now = datetime.combine(date(2026, 3, 22), time(0, 30), ZoneInfo(SITE_ZONE))
    with desk.db() as session, session.begin():
        assert tasks.report_missed_visits(session, now) == 1
    with desk.db() as session, session.begin():
        assert tasks.report_missed_visits(session, now + timedelta(hours=1)) == 0
        table = ServiceSchema.of(session).kit.outbox
        missed = [
            row.envelope["data"]
            for row in session.execute(select(table.c.envelope, table.c.event_type))
            if row.event_type == "imaging.visit.missed"
        ]
    assert missed == [
        {
            "trial_id": TRIAL,
            "subject_id": SUBJECT,
            "site_id": "WCH",
            "visit": "month_2",
            "target_on": "2026-03-14",
            "window_end": "2026-03-21",
        }
    ]
    calendar = desk.client.get(f"/v1/subjects/{SUBJECT}", headers=desk.as_()).json()["calendar"]
    assert {v["visit"]: v["missed"] for v in calendar}["month_2"] is True
    assert {v["visit"]: v["assessments"] for v in calendar}["month_1"] == ["blood_gas"]


def test_enrollments_events_reach_imaging_over_the_real_broker(
    desk: Desk, sessions: Any, deliver_events: EventPump
) -> None:
    enrollment = sessions("enrollment")
    given = datetime.combine(LAST_INFUSION_DAY, time(9), ZoneInfo(SITE_ZONE))
    with enrollment() as session, session.begin():
        outbox.record_event(
            session,
            SubjectEnrolled(
                trial_id=TRIAL,
                subject_id=SUBJECT,
                site_id="WCH",
                cohort_number=1,
                dose_level=2,
                enrolled_at=datetime(2025, 12, 20, tzinfo=UTC),
                protocol_version="1.0",
                site_time_zone=SITE_ZONE,
            ),
            subject=f"subjects/{SUBJECT}",
        )
        outbox.record_event(
            session,
            facts.infused(
                SUBJECT,
                day1=DAY_1,
                number=4,
                administered_at=given,
                trial_id=TRIAL,
                dose_level=2,
                dose_cells="6.00E+7",
            ),
            subject=f"subjects/{SUBJECT}",
        )
    assert deliver_events() >= 2
    subject = desk.client.get(f"/v1/subjects/{SUBJECT}", headers=desk.as_())
    assert subject.status_code == 200, subject.text
    assert subject.json()["dose_level"] == 2
    assert subject.json()["last_infusion_on"] == LAST_INFUSION_DAY.isoformat()


def test_the_worker_measures_an_upload_when_its_work_order_arrives(
    desk: Desk, deliver_events: EventPump
) -> None:
    desk.enrol()
    created = upload(desk, label_map_bytes(acceptance_masks()), file_format="nifti")
    assert deliver_events() >= 1
    assert analysis(desk, created["id"])["status"] == "done"


def test_the_worker_job_only_sends_lost_work_orders_again(desk: Desk) -> None:
    desk.enrol()
    created = upload(desk, label_map_bytes(acceptance_masks()), file_format="nifti")
    (job,) = [
        j
        for j in SERVICE.periodic_jobs(desk.settings)
        if j.name == "imaging.ct_analyses.lost_work_orders"
    ]
    lease = timedelta(seconds=desk.settings.ct_analysis_lease_seconds)
    for now in (datetime.now(UTC), datetime.now(UTC) + lease + timedelta(seconds=1)):
        job.run(desk.db, now)
    # The job measures nothing itself; the second sweep, a lease later, ordered it again.
    assert analysis(desk, created["id"])["status"] == "queued"
    with desk.db() as session:
        outbox_table = ServiceSchema.of(session).kit.outbox
        orders = session.scalars(
            select(outbox_table.c.event_type).where(
                outbox_table.c.event_type == "imaging.ct.uploaded"
            )
        ).all()
    assert len(orders) == 2


def test_a_claimed_analysis_is_skipped_by_a_second_worker(desk: Desk) -> None:
    desk.enrol()
    upload(desk, label_map_bytes(acceptance_masks()), file_format="nifti")
    stale_before = datetime.now(UTC) - timedelta(minutes=10)
    with desk.db() as first, first.begin():
        claimed = ct_repository.claim_next(first, stale_before=stale_before)
        assert claimed is not None
        with desk.db() as second, second.begin():
            assert ct_repository.claim_next(second, stale_before=stale_before) is None


def _activation(
    sequence: int, version: str, month_1_window: int, effective_from: date | None
) -> Any:
    from doseline.contracts.protocol import ProtocolActivated
    from enrollment.protocol import load_protocol, load_shipped_protocol

    shipped = load_shipped_protocol("hdmsc-rp-01")
    document = shipped.model_dump(mode="json")
    document["protocol"]["version"] = version
    document["visits"]["follow_up"][0]["window"] = {
        "before_days": month_1_window,
        "after_days": month_1_window,
    }
    import yaml

    protocol = load_protocol(yaml.safe_dump(document, allow_unicode=True))
    return ProtocolActivated(
        trial_id=TRIAL,
        protocol_id=protocol.protocol.id,
        protocol_version=version,
        content_hash=protocol.content_hash,
        sequence=sequence,
        activation="initial" if sequence == 1 else "amendment",
        effective_from=effective_from,
        activated_at=datetime.now(UTC),
        rules=protocol.trial_rules(),
    )


def test_the_visit_schedule_of_the_protocol_version_in_force_places_each_assessment(
    desk: Desk,
) -> None:
    from imaging.protocols import tasks as protocol_tasks

    desk.enrol()
    desk.treat()
    late = desk.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        {**ROOM_AIR_GAS, "performed_at": at_site(LAST_INFUSION_DAY + timedelta(days=36))},
    )
    assert (late["visit"], late["out_of_window"]) == ("month_1", False)  # registered schedule
    # The protocol arrives (its visit ids are the document's): it now places the assessment.
    initial = _activation(1, "1.0", 7, None)
    desk.deliver(initial, protocol_tasks.on_protocol_activated)
    desk.deliver(initial, protocol_tasks.on_protocol_activated)  # redelivered: no change
    placed = desk.client.get(f"/v1/assessments/{late['id']}", headers=desk.auth(Role.MONITOR))
    assert (placed.json()["visit"], placed.json()["out_of_window"]) == ("month-1", False)
    # Amendment 1.1 narrows the month-1 window to ±3 days from the day of this assessment on.
    performed_on = LAST_INFUSION_DAY + timedelta(days=36)
    amendment = _activation(2, "1.1", 3, performed_on)
    desk.deliver(amendment, protocol_tasks.on_protocol_activated)
    again = desk.client.get(f"/v1/assessments/{late['id']}", headers=desk.auth(Role.MONITOR))
    assert (again.json()["visit"], again.json()["out_of_window"]) == ("month-1", True)
    # An assessment from before the amendment's effective date keeps version 1.0's window.
    earlier = desk.post(
        f"/v1/subjects/{SUBJECT}/blood-gases",
        {**ROOM_AIR_GAS, "performed_at": at_site(LAST_INFUSION_DAY + timedelta(days=35))},
    )
    assert (earlier["visit"], earlier["out_of_window"]) == ("month-1", False)
