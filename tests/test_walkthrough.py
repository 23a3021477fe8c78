"""docs/walkthrough.md as a test: the same requests in the same order, the same outcomes.

HDMSC-RP-01 from screening to a signed escalation decision, through the in-process clients of
every service over the real broker: the coordinator, the investigator, the pharmacists, the
safety physician, the hospital integration engineer, the outcomes assessor and a webhook
subscriber. When the API changes under the walkthrough, this test fails and the page is fixed.
It runs in seconds, in process, with precise assertions on each answer; tests/test_docs_executed.py
runs the page itself, block by block, against a real `make run`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from doseline.auth import Role
from doseline.manifest import PeriodicJob, ServiceManifest
from doseline.settings import ServiceSettings
from doseline.testing.plugin import EventPump, TokenFactory
from enrollment.dlt_windows.tasks import CLOSE_DLT_WINDOWS

TRIAL = "HDMSC-RP-01"
PNEUMONITIS = "10035742"
NEUTROPHILS_LOINC = "751-8"
REPOSITORY = Path(__file__).resolve().parents[1]


def day(offset: int) -> date:
    """`day -45` of the walkthrough: `date -u -d "-45 days" +%F`."""
    return datetime.now(UTC).date() + timedelta(days=offset)


def ok(response: Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def sent(response: object) -> Response:
    """The response of a TestClient call, typed."""
    assert isinstance(response, Response)
    return response


def problem(response: Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}", body
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    return body


ANSWERS: dict[str, Any] = {
    "INC-01": {"value": True},
    "INC-02": {"value": True, "evidence_date": day(-60).isoformat()},
    "INC-03": {"value": True, "evidence_grade": 2},
    "INC-04": {"value": True},
    "INC-05": {"value": 54},
    "INC-06": {"value": True, "evidence_date": day(-55).isoformat()},
}


@dataclass
class Receiver:
    """The walkthrough's webhook receiver on 127.0.0.1."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with holder["receiver"].lock:
                holder["receiver"].received.append(
                    ({k.lower(): v for k, v in self.headers.items()}, body)
                )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    holder["receiver"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield holder["receiver"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """`NOTIFICATIONS_ALLOWED_TARGET_NETWORKS='["127.0.0.1/32"]' make run` of section 8."""
    monkeypatch.setenv("NOTIFICATIONS_ALLOWED_TARGET_NETWORKS", '["127.0.0.1/32"]')


@dataclass
class Walkthrough:
    """The shell of the walkthrough: the four services and a token per person."""

    enrollment: TestClient
    safety: TestClient
    imaging: TestClient
    notifications: TestClient
    webhook_sweep: PeriodicJob
    auth: TokenFactory
    deliver: EventPump
    sessions: Callable[[str], sessionmaker[Session]]

    def token(self, role: Role, person: str, name: str) -> dict[str, str]:
        """`doseline token mint --role ROLE --subject PERSON --name NAME`: signed in now."""
        return self.auth(role, subject=person, name=name, auth_time=datetime.now(UTC))

    @property
    def coordinator(self) -> dict[str, str]:
        return self.token(Role.COORDINATOR, "nurse-wang", "Nurse Wang")

    @property
    def investigator(self) -> dict[str, str]:
        return self.token(Role.INVESTIGATOR, "dr-li", "Dr Li")

    @property
    def preparer(self) -> dict[str, str]:
        return self.token(Role.PHARMACIST, "pharm-zhao", "Pharmacist Zhao")

    @property
    def verifier(self) -> dict[str, str]:
        return self.token(Role.PHARMACIST, "pharm-liu", "Pharmacist Liu")

    @property
    def safety_physician(self) -> dict[str, str]:
        return self.token(Role.SAFETY_PHYSICIAN, "dr-chen", "Dr Chen")

    def register(self, mrn: str) -> Response:
        return sent(
            self.enrollment.post(
                f"/v1/trials/{TRIAL}/subjects",
                json={"hospital_identifier": {"system": "MRN", "value": mrn}},
                headers={**self.coordinator, "Idempotency-Key": str(uuid.uuid4())},
            )
        )

    def enrol(self, subject_id: str, key: str) -> Response:
        return sent(
            self.enrollment.post(
                f"/v1/trials/{TRIAL}/enrolments",
                json={"subject_id": subject_id},
                headers={**self.coordinator, "Idempotency-Key": key},
            )
        )

    def register_and_enrol(self, mrn: str) -> Response:
        """`register_and_enrol MRN` of section 4: consent, screening and sign-off in between."""
        sid = ok(self.register(mrn), 201)["id"]
        ok(
            self.enrollment.patch(
                f"/v1/subjects/{sid}",
                json={"consent_signed_on": day(-55).isoformat()},
                headers={**self.coordinator, "If-Match": '"v1"'},
            )
        )
        screening = ok(self.screen(sid), 201)
        ok(self.sign_off(sid, screening["id"], '"v1"'))
        return self.enrol(sid, str(uuid.uuid4()))

    def screen(self, subject_id: str) -> Response:
        return sent(
            self.enrollment.post(
                f"/v1/subjects/{subject_id}/screenings",
                json={"screened_on": day(-54).isoformat(), "answers": ANSWERS},
                headers=self.coordinator,
            )
        )

    def sign_off(self, subject_id: str, screening_id: str, screening_etag: str) -> Response:
        return sent(
            self.enrollment.post(
                f"/v1/subjects/{subject_id}/screenings/{screening_id}/sign-off",
                headers={**self.investigator, "If-Match": screening_etag},
            )
        )

    def weigh(self, subject_id: str, kg: str) -> Response:
        return sent(
            self.enrollment.post(
                f"/v1/subjects/{subject_id}/weights",
                json={"weight_kg": kg, "measured_on": day(-47).isoformat()},
                headers={**self.coordinator, "Idempotency-Key": str(uuid.uuid4())},
            )
        )

    def prepare(self, subject_id: str, number: int) -> Response:
        return sent(
            self.enrollment.post(
                f"/v1/subjects/{subject_id}/dose-preparations",
                json={
                    "infusion_number": number,
                    "product_lot": "LOT-7",
                    "first_infusion_on": day(-45).isoformat(),
                },
                headers=self.preparer,
            )
        )

    def infusion(self, subject_id: str, days_ago: int, dose_cells: str) -> Response:
        return sent(
            self.enrollment.post(
                f"/v1/subjects/{subject_id}/infusions",
                json={
                    "started_at": f"{day(days_ago).isoformat()}T09:00:00+08:00",
                    "dose_given_cells": dose_cells,
                    "product_lot": "LOT-7",
                },
                headers=self.preparer,
            )
        )

    def infuse(self, subject_id: str, number: int, days_ago: int) -> None:
        """`infuse SUBJECT NUMBER DAYS_AGO`: prepare, verify by the second pharmacist, record."""
        prepared = self.prepare(subject_id, number)
        preparation = ok(prepared, 201)
        ok(
            self.enrollment.post(
                f"/v1/dose-preparations/{preparation['id']}/verification",
                headers={**self.verifier, "If-Match": prepared.headers["ETag"]},
            )
        )
        ok(self.infusion(subject_id, days_ago, preparation["dose_cells"]), 201)

    def treat(self, subject_id: str) -> None:
        """`treat SUBJECT` of section 4: a weight, then four dual-verified infusions."""
        ok(self.weigh(subject_id, "70.0"), 201)
        for number, days_ago in ((1, -45), (2, -42), (3, -39), (4, -36)):
            self.infuse(subject_id, number, days_ago)

    def escalation(self) -> dict[str, Any]:
        state: dict[str, Any] = ok(
            self.enrollment.get(f"/v1/trials/{TRIAL}/escalation", headers=self.investigator)
        )
        return state

    def fhir(self, resource: dict[str, Any], headers: dict[str, str]) -> Response:
        return sent(
            self.safety.post(
                "/v1/fhir/Observation",
                json=resource,
                headers={**headers, "Content-Type": "application/fhir+json"},
            )
        )


def neutrophil_observation(observation_id: str, mrn: str) -> dict[str, Any]:
    """Section 6's `$LAB`: a neutrophil count of 0.8 x 10^9/L yesterday morning at the site."""
    return {
        "resourceType": "Observation",
        "id": observation_id,
        "meta": {"versionId": "1"},
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": NEUTROPHILS_LOINC}]},
        "subject": {"identifier": {"system": "MRN", "value": mrn}},
        "effectiveDateTime": f"{day(-1).isoformat()}T08:30:00+08:00",
        "valueQuantity": {"value": 0.8, "unit": "10*9/L", "system": "http://unitsofmeasure.org"},
        "referenceRange": [
            {"low": {"value": 1.8, "unit": "10*9/L"}, "high": {"value": 7.5, "unit": "10*9/L"}}
        ],
    }


@pytest.fixture
def walkthrough(
    loopback_allowed: None,
    api: Callable[..., TestClient],
    auth: TokenFactory,
    deliver_events: EventPump,
    sessions: Callable[[str], sessionmaker[Session]],
    services: dict[str, ServiceManifest],
    settings_for: Callable[..., ServiceSettings],
) -> Walkthrough:
    """What `make run` does before "ready": each service's bootstrap (the trial, CTCAE v5.0
    and the DLT rules, the visit schedule)."""
    for name in ("enrollment", "safety", "imaging"):
        bootstrap = services[name].bootstrap
        assert bootstrap is not None, name
        with sessions(name)() as session, session.begin():
            bootstrap(settings_for(name), session)
    notifications = services["notifications"]
    [sweep] = [
        job
        for job in notifications.periodic_jobs(settings_for("notifications"))
        if job.name == "deliver-webhooks"
    ]
    return Walkthrough(
        enrollment=api("enrollment"),
        safety=api("safety"),
        imaging=api("imaging"),
        notifications=api("notifications"),
        webhook_sweep=sweep,
        auth=auth,
        deliver=deliver_events,
        sessions=sessions,
    )


def coordinator_registers_consents_screens_and_enrols(w: Walkthrough, mrn: str) -> str:
    """Section 1."""
    [trial] = ok(w.enrollment.get("/v1/trials", headers=w.coordinator))
    assert (trial["id"], trial["status"], trial["design_variant"]) == (TRIAL, "open", "expand-top")
    assert (trial["dose_levels"], trial["enrolment_cap"]) == (2, 15)

    subject = ok(w.register(mrn), 201)
    sid: str = subject["id"]
    assert (sid, subject["status"], subject["consent_signed_on"]) == (
        f"{TRIAL}-001",
        "registered",
        None,
    )
    assert mrn not in str(subject)
    duplicate = problem(w.register(mrn), 409, "duplicate-subject")
    assert duplicate["subject_id"] == sid

    read = w.enrollment.get(f"/v1/subjects/{sid}", headers=w.coordinator)
    etag = read.headers["ETag"]
    assert etag == '"v1"'
    consent = {"consent_signed_on": day(-55).isoformat()}
    headers = {**w.coordinator, "If-Match": etag}
    consented = ok(w.enrollment.patch(f"/v1/subjects/{sid}", json=consent, headers=headers))
    assert consented["consent_signed_on"] == day(-55).isoformat()
    stale = w.enrollment.patch(f"/v1/subjects/{sid}", json=consent, headers=headers)
    assert problem(stale, 412, "stale-etag")["current_etag"] == '"v2"'

    screened = w.screen(sid)
    screening = ok(screened, 201)
    assert (screening["status"], screening["eligible"], screening["reasons"]) == (
        "eligible",
        True,
        [],
    )
    signed = ok(w.sign_off(sid, screening["id"], screened.headers["ETag"]))
    assert signed["signed_off_by"] == "Dr Li <dr-li>"
    assert signed["recorded_by"] == "Nurse Wang <nurse-wang>"

    key = str(uuid.uuid4())
    first, retry = w.enrol(sid, key), w.enrol(sid, key)
    enrolment = ok(first, 201)
    assert (enrolment["cohort_number"], enrolment["dose_level"], enrolment["slot_number"]) == (
        1,
        1,
        1,
    )
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["idempotent-replayed"] == "true"
    assert ok(retry, 201) == enrolment
    return sid


def pharmacists_prepare_verify_and_infuse(w: Walkthrough, sid: str) -> None:
    """Section 2."""
    weight = ok(w.weigh(sid, "62.5"), 201)
    assert (weight["weight_kg"], weight["measured_on"]) == ("62.5", day(-47).isoformat())

    prepared = w.prepare(sid, 1)
    preparation = ok(prepared, 201)
    # Dose level 1 is 3.3 x 10^5 cells/kg: 62.5 kg x 330000 = 20625000 cells, rounded to three
    # significant figures: 2.06 x 10^7. Every decimal is a plain-notation string.
    assert (preparation["per_kg_dose"], preparation["weight_kg"]) == ("330000", "62.5")
    assert (preparation["unrounded_cells"], preparation["dose_cells"]) == ("20625000", "20600000")
    assert preparation["verified_by"] is None
    verify = f"/v1/dose-preparations/{preparation['id']}/verification"
    own = w.enrollment.post(verify, headers={**w.preparer, "If-Match": prepared.headers["ETag"]})
    problem(own, 403, "verifier-is-preparer")
    verified = ok(
        w.enrollment.post(verify, headers={**w.verifier, "If-Match": prepared.headers["ETag"]})
    )
    assert verified["verified_by"] == "Pharmacist Liu <pharm-liu>"
    assert verified["dose_cells"] == preparation["dose_cells"]

    infusion = ok(w.infusion(sid, -45, preparation["dose_cells"]), 201)
    assert (infusion["infusion_number"], infusion["timing"], infusion["site_date"]) == (
        1,
        "on-time",
        day(-45).isoformat(),
    )
    assert infusion["dose_given_cells"] == "20600000"

    for number, days_ago in ((2, -42), (3, -39), (4, -36)):
        w.infuse(sid, number, days_ago)
    plan = ok(w.enrollment.get(f"/v1/subjects/{sid}/infusions", headers=w.coordinator))
    # The DLT window is 30 days from the first infusion (day 1) through day 30.
    assert (plan["dlt_window_start"], plan["dlt_window_end"]) == (
        day(-45).isoformat(),
        day(-16).isoformat(),
    )
    assert [(i["number"], i["study_day"], i["state"]) for i in plan["infusions"]] == [
        (1, 1, "given"),
        (2, 4, "given"),
        (3, 7, "given"),
        (4, 10, "given"),
    ]


def safety_physician_confirms_a_dlt(w: Walkthrough, sid: str) -> None:
    """Section 3."""
    w.deliver()  # enrollment's subject and infusion events reach safety over the broker
    read = w.safety.get(f"/v1/subjects/{sid}", headers=w.investigator)
    baseline = ok(
        w.safety.put(
            f"/v1/subjects/{sid}/baseline",
            json={"pneumonitis_grade": 1, "oxygen_use": False, "conditions": []},
            headers={**w.investigator, "If-Match": read.headers["ETag"]},
        )
    )
    assert (baseline["known_to_safety"], baseline["cohort_number"], baseline["dose_level"]) == (
        True,
        1,
        1,
    )
    assert baseline["dlt_window_end"] == day(-16).isoformat()
    assert baseline["baseline_pneumonitis_grade"] == 1

    reported = ok(
        w.safety.post(
            "/v1/adverse-events",
            json={
                "subject_id": sid,
                "term_code": PNEUMONITIS,
                "verbatim": "radiation pneumonitis flare, needs oxygen",
                "onset_date": day(-35).isoformat(),
                "grade": 3,
                "attribution": "possible",
                "action_taken": "dose_not_changed",
                "outcome": "not_recovered_not_resolved",
            },
            headers={**w.investigator, "Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
    )
    assert (reported["dlt_evaluation"], reported["serious"]) == ("suspected_dlt", False)
    assert (reported["current"]["term"], reported["current"]["grade"]) == ("Pneumonitis", 3)

    [dlt] = ok(
        w.safety.get(
            "/v1/dlts", params={"status": "suspected", "subject_id": sid}, headers=w.investigator
        )
    )
    # Pneumonitis two grades over the baseline of 1, day 11: the protocol's DLT-04 (pneumonitis
    # is judged against its baseline only, never by the general grade >= 3 rule).
    assert dlt["matched_rules"] == ["DLT-04"]
    assert dlt["protocol_version"] == "1.0"
    assert (dlt["study_day"], dlt["baseline_grade"], dlt["signatures"]) == (11, 1, [])

    signer = w.safety_physician
    etag = w.safety.get(f"/v1/dlts/{dlt['id']}", headers=signer).headers["ETag"]
    confirmed = ok(
        w.safety.post(
            f"/v1/dlts/{dlt['id']}/adjudication",
            json={
                "decision": "confirm",
                "comment": "grade 3 pneumonitis on day 11, two grades over baseline",
            },
            headers={**signer, "If-Match": etag},
        )
    )
    assert (confirmed["status"], confirmed["adjudication_sequence"]) == ("confirmed", 2)
    [signature] = confirmed["signatures"]
    assert (signature["decision"], signature["signer"], signature["ae_version"]) == (
        "confirm",
        "dr-chen",
        1,
    )
    assert len(signature["record_sha256"]) == 64

    w.deliver()  # safety.dlt.confirmed reaches enrollment
    level_1 = w.escalation()["dose_levels"][0]
    assert (level_1["patients"], level_1["dlts"], level_1["open_slots"]) == (1, 1, 2)


def the_cohort_fills(w: Walkthrough, mrn_of: Callable[[int], str]) -> list[str]:
    """Section 4: two more subjects treated; the fourth finds the cohort full."""
    subjects = [ok(w.register_and_enrol(mrn_of(n)), 201)["subject_id"] for n in (2, 3)]
    assert subjects == [f"{TRIAL}-002", f"{TRIAL}-003"]
    for sid in subjects:
        w.treat(sid)
    full = problem(w.register_and_enrol(mrn_of(4)), 409, "cohort-full")
    assert (full["cohort_number"], full["slots"], full["enrolled"]) == (1, 3, 3)
    assert "waitlist" in full["detail"]
    return subjects


def investigator_and_safety_physician_sign_the_decision(w: Walkthrough) -> None:
    """Section 5."""
    w.deliver()
    # What the enrollment worker does once a minute: close the windows that have ended.
    CLOSE_DLT_WINDOWS.run(w.sessions("enrollment"), datetime.now(UTC))
    w.deliver()

    state = w.escalation()
    assert (state["trial_status"], state["outcomes"]) == ("open", "1TNN")
    level_1 = state["dose_levels"][0]
    assert (level_1["patients"], level_1["evaluable_patients"], level_1["dlts"]) == (3, 3, 1)
    assert state["recommendation"]["reason"] == "1 DLT in 3 at level 1: treat 3 more at level 1"
    pending = state["pending_decision"]
    assert (pending["outcome"], pending["next_dose"], pending["next_cohort_size"]) == ("stay", 1, 3)
    assert pending["missing_signatures"] == ["investigator", "safety_physician"]

    cohorts = f"/v1/trials/{TRIAL}/cohorts"
    problem(w.enrollment.post(cohorts, headers=w.investigator), 409, "escalation-gate-closed")

    signatures = f"/v1/trials/{TRIAL}/escalation/decisions/{pending['id']}/signatures"
    meaning = "I approve this escalation decision"
    for role, headers in (
        ("investigator", w.investigator),
        ("safety_physician", w.safety_physician),
    ):
        decision = ok(
            w.enrollment.post(
                signatures,
                json={"role": role, "meaning": meaning, "state_hash": state["state_hash"]},
                headers=headers,
            ),
            201,
        )
    assert (decision["status"], decision["missing_signatures"]) == ("decided", [])
    assert [s["signer"] for s in decision["signatures"]] == ["dr-li", "dr-chen"]

    opened = ok(w.enrollment.post(cohorts, headers=w.investigator), 201)
    assert (opened["number"], opened["dose_level"], opened["open_slots"]) == (2, 1, 3)


def integration_engineer_posts_a_lab_result(w: Walkthrough, mrn: str, sid: str) -> None:
    """Section 6."""
    ehr = w.token(Role.EHR_INTEGRATION, "his-gateway", "HIS gateway")
    lab = neutrophil_observation("lab-0800", mrn)
    entry = ok(w.fhir(lab, ehr), 201)
    assert (entry["outcome"], entry["status"], entry["grade"]) == ("proposed", "201 Created", 3)
    assert entry["term"] == "Neutrophil count decreased"

    [proposal] = ok(
        w.safety.get(
            "/v1/proposed-adverse-events",
            params={"subject_id": sid, "status": "proposed"},
            headers=w.investigator,
        )
    )
    assert (proposal["id"], proposal["observation_id"]) == (entry["proposal_id"], "lab-0800")
    assert (proposal["term_code"], proposal["proposed_grade"]) == ("10029366", 3)
    assert proposal["grading_basis"]["assumptions"] == []
    assert proposal["onset_date"] == day(-1).isoformat()

    again = ok(w.fhir(lab, ehr))
    assert (again["outcome"], again["status"], again["proposal_id"]) == (
        "duplicate",
        "200 OK",
        None,
    )

    as_text = w.safety.post(
        "/v1/fhir/Observation", content=b"x", headers={**ehr, "Content-Type": "text/plain"}
    )
    assert "text/plain" in problem(as_text, 415, "unsupported-media-type")["detail"]
    refused = w.fhir(neutrophil_observation("lab-0800-b", "WCH-0000000"), ehr)
    assert refused.status_code == 404, refused.text
    assert refused.headers["content-type"] == "application/fhir+json"
    [issue] = refused.json()["issue"]
    assert (issue["code"], issue["details"]["coding"][0]["code"]) == (
        "not-found",
        "subject-not-matched",
    )
    assert "no enrolled subject has the identifier" in issue["diagnostics"]
    problem(w.fhir(lab, {}), 401, "unauthorized")


def outcomes_assessor_records_spirometry_and_a_blood_gas(w: Walkthrough, sid: str) -> None:
    """Section 7: the acceptance example, a man of 60 years, 170 cm, FEV1 2.5 L."""
    assessor = w.token(Role.OUTCOMES_ASSESSOR, "rt-huang", "RT Huang")
    pft = ok(
        w.imaging.post(
            f"/v1/subjects/{sid}/pulmonary-function-tests",
            json={
                "performed_at": f"{day(-50).isoformat()}T10:00:00+08:00",
                "sex": "male",
                "age_years": 60,
                "height_cm": 170,
                "fev1_l": 2.5,
            },
            headers={**assessor, "Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
    )
    fev1 = pft["results"]["fev1"]
    assert (pft["visit"], fev1["equation"], fev1["severity"]) == (
        "baseline",
        "GLI Global 2022",
        "normal",
    )
    # The figures the walkthrough prints, to the digits it prints them.
    assert round(fev1["lms_m"], 2) == 3.03
    assert round(fev1["percent_predicted"], 1) == 82.4
    assert round(fev1["z_score"], 2) == -1.13
    assert round(fev1["lln"], 2) == 2.25

    gas = ok(
        w.imaging.post(
            f"/v1/subjects/{sid}/blood-gases",
            json={
                "performed_at": f"{day(-50).isoformat()}T10:30:00+08:00",
                "age_years": 60,
                "ph": 7.42,
                "pao2": 72,
                "paco2": 38,
                "fio2": 0.21,
                "oxygen_device": "room_air",
            },
            headers={**assessor, "Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
    )["results"]
    assert round(gas["pf_ratio_mmhg"], 1) == 342.9  # 72 / 0.21
    assert round(gas["aa_gradient_mmhg"], 2) == 30.23  # 0.21 x (760 - 47) - 38 / 0.8 - 72
    assert (gas["expected_aa_gradient_mmhg"], gas["aa_gradient_above_expected"]) == (19.0, True)


def subscribers_read_the_feed_and_receive_a_webhook(
    w: Walkthrough, sid: str, receiver: Receiver
) -> None:
    """Section 8."""
    monitor = w.token(Role.MONITOR, "cra-zhou", "CRA Zhou")
    feed = ok(
        w.notifications.get(
            "/v1/events",
            params={"type": "safety.dlt.*", "subject": sid},
            headers=monitor,
        )
    )
    assert [(e["type"], e["data"]["grade"]) for e in feed["items"]] == [
        ("safety.dlt.suspected", 3),
        ("safety.dlt.confirmed", 3),
    ]
    assert feed["next_cursor"]

    admin = w.token(Role.ADMIN, "admin-kim", "Admin Kim")
    subscription = {
        "url": receiver.url,
        "event_types": ["safety.dlt.*"],
        "description": "pharmacy hold",
    }
    refused = w.notifications.post(
        "/v1/subscriptions",
        json={**subscription, "url": "http://192.168.1.20/hooks"},
        headers={**admin, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert "allow-listed" in problem(refused, 422, "webhook-target-refused")["detail"]

    created = ok(
        w.notifications.post(
            "/v1/subscriptions",
            json=subscription,
            headers={**admin, "Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
    )
    assert created["secret"].startswith("whsec_")
    now = datetime.now(UTC)
    replayed = ok(
        w.notifications.post(
            f"/v1/subscriptions/{created['id']}/replays",
            json={
                "from_time": (now - timedelta(hours=1)).isoformat(),
                "to_time": (now + timedelta(minutes=1)).isoformat(),
            },
            headers=admin,
        ),
        202,
    )
    assert sorted(replayed["event_ids"]) == sorted(e["id"] for e in feed["items"])
    # What the notifications worker does every second: attempt the deliveries that are due.
    w.webhook_sweep.run(w.sessions("notifications"), datetime.now(UTC))
    with receiver.lock:
        received = list(receiver.received)
    assert sorted(headers["webhook-id"] for headers, _ in received) == sorted(replayed["event_ids"])
    for headers, body in received:
        event = Webhook(created["secret"]).verify(body, headers)
        assert event["subject"] == f"subjects/{sid}"
        assert event["type"] in {"safety.dlt.suspected", "safety.dlt.confirmed"}
    deliveries = ok(
        w.notifications.get(f"/v1/subscriptions/{created['id']}/deliveries", headers=admin)
    )["items"]
    assert sorted(
        (d["event_id"], d["status"], d["last_status_code"]) for d in deliveries
    ) == sorted((event_id, "delivered", 204) for event_id in replayed["event_ids"])


def test_hdmsc_rp_01_day_one_from_screening_to_a_signed_escalation_decision(
    walkthrough: Walkthrough, receiver: Receiver
) -> None:
    def mrn_of(n: int) -> str:
        return f"WCH-083312-{n}"

    sid1 = coordinator_registers_consents_screens_and_enrols(walkthrough, mrn_of(1))
    pharmacists_prepare_verify_and_infuse(walkthrough, sid1)
    safety_physician_confirms_a_dlt(walkthrough, sid1)
    sid2, _ = the_cohort_fills(walkthrough, mrn_of)
    investigator_and_safety_physician_sign_the_decision(walkthrough)
    integration_engineer_posts_a_lab_result(walkthrough, mrn_of(2), sid2)
    outcomes_assessor_records_spirometry_and_a_blood_gas(walkthrough, sid1)
    subscribers_read_the_feed_and_receive_a_webhook(walkthrough, sid1, receiver)
