"""Site scope, operation by operation, in every service: the access matrix.

Two sites run HDMSC-RP-01 (the shipped protocol lists West China Hospital, WCH, and Peking Union
Medical College Hospital, PUMCH). A subject of each is registered, screened, enrolled and infused
through enrollment's API; the events reach safety, imaging and notifications over the real broker;
each service then holds PUMCH data of every kind it keeps (an adverse event, a DLT case, a lab
proposal, an assessment, a CT analysis, logged events, a webhook subscription and its deliveries).

The operations are read from each app's OpenAPI document, so an endpoint added tomorrow is in the
matrix the day it exists: it is either scoped through a path or query parameter the service's
site-scope guard knows (then a WCH token gets 404 for PUMCH data), or it is listed below as a list
(PUMCH rows never appear to a WCH token), a body naming a subject or a site, or an operation that
is not about subject data, with the reason. An unclassified operation fails the test.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import nibabel as nib
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from doseline.auth import Role
from doseline.manifest import ServiceManifest
from doseline.testing.identifiers import hospital_identifier
from doseline.testing.plugin import EventPump, TokenFactory
from safety.catalogue import service as catalogue
from safety.dictionary.terms import (
    CtcaeDictionary,
    CtcaeTerm,
    GradeDefinition,
    SystemOrganClass,
)

TRIAL = "HDMSC-RP-01"
SITE_A, SITE_B = "WCH", "PUMCH"
ZONE = ZoneInfo("Asia/Shanghai")
STUDY_SYSTEM = "urn:doseline:study-subject-id"
PNEUMONITIS = "10035742"
NEUTROPHILS_DECREASED = "10029366"
ANC_LOINC = "751-8"
NOBODY = f"{TRIAL}-999"

# Two terms of CTCAE v5.0 (NCI, public domain; the grade texts as the 2017-11-27 workbook gives
# them), enough for the adverse event, the DLT and the lab proposal below.
CTCAE_TERMS = (
    CtcaeTerm(
        meddra_code=PNEUMONITIS,
        name="Pneumonitis",
        soc=SystemOrganClass("Respiratory, thoracic and mediastinal disorders"),
        grades=(
            GradeDefinition(
                1,
                "Asymptomatic; clinical or diagnostic observations only; intervention not "
                "indicated",
            ),
            GradeDefinition(
                2, "Symptomatic; medical intervention indicated; limiting instrumental ADL"
            ),
            GradeDefinition(3, "Severe symptoms; limiting self care ADL; oxygen indicated"),
            GradeDefinition(
                4,
                "Life-threatening respiratory compromise; urgent intervention indicated (e.g., "
                "tracheotomy or intubation)",
            ),
            GradeDefinition(5, "Death"),
        ),
        definition="A disorder characterized by inflammation focally or diffusely affecting "
        "the lung parenchyma.",
        navigational_note=None,
        change_note=None,
        is_other_specify=False,
    ),
    CtcaeTerm(
        meddra_code=NEUTROPHILS_DECREASED,
        name="Neutrophil count decreased",
        soc=SystemOrganClass("Investigations"),
        grades=(
            GradeDefinition(1, "<LLN - 1500/mm3; <LLN - 1.5 x 10e9 /L"),
            GradeDefinition(2, "<1500 - 1000/mm3; <1.5 - 1.0 x 10e9 /L"),
            GradeDefinition(3, "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L"),
            GradeDefinition(4, "<500/mm3; <0.5 x 10e9 /L"),
            GradeDefinition(5, None),
        ),
        definition="A finding based on laboratory test results that indicate a decrease in "
        "number of neutrophils in a blood specimen.",
        navigational_note=None,
        change_note=None,
        is_other_specify=False,
    ),
)

# --- how each operation is classified ------------------------------------------------------------

# Path and query parameters the services' site-scope guards resolve to a site (per service).
SCOPED_PARAMETERS = {
    "enrollment": {"subject_id", "preparation_id", "infusion_id"},
    "safety": {"subject_id", "ae_id", "dlt_id", "proposal_id"},
    "imaging": {"subject_id", "assessment_id", "analysis_id"},
    "notifications": {"event_id", "subscription_id"},
}

# Operations that are not about one subject's data, and why.
NOT_SUBJECT_SCOPED: dict[tuple[str, str, str], str] = {
    **{
        (service, method, path): reason
        for service in SCOPED_PARAMETERS
        for method, path, reason in (
            ("GET", "/healthz", "liveness"),
            ("GET", "/readyz", "readiness"),
            ("GET", "/problems", "the catalogue of problem types"),
            ("GET", "/problems/{slug}", "one problem type of the catalogue"),
            ("POST", "/v1/diagnostics/tracer", "plumbing check: a tracer event, no subject"),
            ("GET", "/v1/diagnostics/tracer/{event_id}", "plumbing check: a tracer event"),
        )
    },
    ("enrollment", "POST", "/v1/trials"): "trial configuration",
    ("enrollment", "GET", "/v1/trials"): "trial configuration",
    ("enrollment", "GET", "/v1/trials/{trial_id}"): "trial configuration",
    ("enrollment", "PUT", "/v1/trials/{trial_id}/protocol"): "trial configuration",
    ("enrollment", "GET", "/v1/trials/{trial_id}/cohorts"): "slot counts, no subject",
    ("enrollment", "POST", "/v1/trials/{trial_id}/cohorts"): "opens a cohort, no subject",
    # Dose escalation is decided on every site's outcomes together: counts, no subject ids.
    ("enrollment", "GET", "/v1/trials/{trial_id}/escalation"): "trial-wide dose decision",
    ("enrollment", "GET", "/v1/trials/{trial_id}/escalation/history"): "trial-wide decisions",
    ("enrollment", "GET", "/v1/trials/{trial_id}/escalation/decisions"): "trial-wide decisions",
    (
        "enrollment",
        "POST",
        "/v1/trials/{trial_id}/escalation/decisions/{decision_id}/signatures",
    ): "signs a trial-wide decision",
    # A late DLT is resolved on the trial-wide decision it contradicts (ADR 0017).
    (
        "enrollment",
        "GET",
        "/v1/trials/{trial_id}/escalation/late-dlt-resolutions",
    ): "trial-wide decisions",
    (
        "enrollment",
        "POST",
        "/v1/trials/{trial_id}/escalation/late-dlt-resolutions",
    ): "resolves a trial-wide decision",
    (
        "enrollment",
        "POST",
        "/v1/trials/{trial_id}/escalation/late-dlt-resolutions/{resolution_id}/signatures",
    ): "signs a trial-wide resolution",
    ("safety", "GET", "/v1/ctcae/versions"): "CTCAE dictionary",
    ("safety", "GET", "/v1/ctcae/versions/{version}/terms"): "CTCAE dictionary",
    ("safety", "GET", "/v1/ctcae/versions/{version}/terms/{meddra_code}"): "CTCAE dictionary",
    ("safety", "POST", "/v1/ctcae/imports"): "CTCAE dictionary",
    ("safety", "GET", "/v1/trials/{trial_id}/protocol-versions"): "the trial's protocol rules",
    # A laboratory's normal limits are no subject's data; a site named openly is a 403.
    ("safety", "GET", "/v1/trials/{trial_id}/reference-ranges"): "laboratory reference ranges",
    (
        "safety",
        "PUT",
        "/v1/trials/{trial_id}/reference-ranges/{site_id}",
    ): "laboratory reference ranges",
    ("safety", "POST", "/v1/grading/lab/agreement"): "grades a file of cases, stores nothing",
    ("safety", "GET", "/v1/grading/clinical"): "grading forms",
    ("safety", "POST", "/v1/grading/clinical/{term}"): "grades answers, stores nothing",
    ("safety", "POST", "/v1/grading/lab"): "grades a value, stores nothing",
    ("imaging", "GET", "/v1/trials/{trial_id}/visit-schedule"): "trial visit schedule",
    ("imaging", "PUT", "/v1/trials/{trial_id}/visit-schedule"): "trial visit schedule",
}

# Lists of subject data: a WCH token never sees PUMCH rows; a sponsor-wide one sees both sites'.
# The value is the query a sponsor-wide reader's answer must contain PUMCH data for.
LISTS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("enrollment", "GET", "/v1/trials/{trial_id}/subjects"): {},
    ("enrollment", "GET", "/v1/trials/{trial_id}/screen-failures"): {},
    ("enrollment", "GET", "/v1/trials/{trial_id}/waitlist"): {},
    ("enrollment", "GET", "/v1/trials/{trial_id}/reservations"): {},
    ("enrollment", "GET", "/v1/trials/{trial_id}/visits"): {},
    ("enrollment", "GET", "/v1/trials/{trial_id}/replacement-slots"): {},
    ("safety", "GET", "/v1/adverse-events"): {"trial_id": TRIAL},
    ("safety", "GET", "/v1/sae/overdue"): {},
    ("safety", "GET", "/v1/trials/{trial_id}/grade-disagreements"): {},
    ("safety", "GET", "/v1/dlts"): {"trial_id": TRIAL},
    ("safety", "GET", "/v1/trials/{trial_id}/dlt-reviews"): {},
    ("safety", "GET", "/v1/proposed-adverse-events"): {},
    ("safety", "GET", "/v1/lab-intake-conflicts"): {},
    ("imaging", "GET", "/v1/trials/{trial_id}/outcome-summary"): {"metric": "aa_gradient_mmhg"},
    ("imaging", "GET", "/v1/trials/{trial_id}/plots/{plot}"): {"format": "svg"},
    ("notifications", "GET", "/v1/events"): {"limit": 200},
    ("notifications", "GET", "/v1/subscriptions"): {},
}
# The lists that hold PUMCH data in this scenario (the others are empty for everyone here).
LISTS_WITH_SITE_B_DATA = {
    ("enrollment", "GET", "/v1/trials/{trial_id}/subjects"),
    ("enrollment", "GET", "/v1/trials/{trial_id}/screen-failures"),
    ("enrollment", "GET", "/v1/trials/{trial_id}/reservations"),
    ("enrollment", "GET", "/v1/trials/{trial_id}/visits"),
    ("safety", "GET", "/v1/adverse-events"),
    ("safety", "GET", "/v1/dlts"),
    ("safety", "GET", "/v1/proposed-adverse-events"),
    ("notifications", "GET", "/v1/events"),
    ("notifications", "GET", "/v1/subscriptions"),
}

# Writes naming a PUMCH subject in their body: 404, as for a subject that does not exist.
BODY_NAMES_A_SUBJECT: dict[tuple[str, str, str], Callable[[Scenario], dict[str, Any]]] = {
    ("enrollment", "POST", "/v1/trials/{trial_id}/enrolments"): lambda s: {
        "subject_id": s.ids["b_eligible"]
    },
    ("enrollment", "POST", "/v1/trials/{trial_id}/waitlist"): lambda s: {
        "subject_id": s.ids["b_eligible"]
    },
    ("enrollment", "POST", "/v1/trials/{trial_id}/reservations"): lambda s: {
        "subject_id": s.ids["b_eligible"]
    },
    ("safety", "POST", "/v1/adverse-events"): lambda s: ae_body(s.ids["subject_id"], grade=2),
}

# Results matched to a subject by an identifier inside a FHIR resource: a PUMCH subject is, for
# a WCH system, answered exactly like an identifier no subject has.
FHIR_INTAKES = {
    ("safety", "POST", "/v1/fhir/Observation"),
    ("safety", "POST", "/v1/fhir"),
    ("imaging", "POST", "/v1/fhir/Observation"),
    ("imaging", "POST", "/v1/fhir"),
}

# Creates that name a site openly (the site list is in the protocol, no secret): 403.
BODY_NAMES_A_SITE: dict[tuple[str, str, str], Callable[[Scenario], dict[str, Any]]] = {
    ("enrollment", "POST", "/v1/trials/{trial_id}/subjects"): lambda s: {
        "site_id": SITE_B,
        "hospital_identifier": hospital_identifier(),
    },
    ("notifications", "POST", "/v1/subscriptions"): lambda s: {
        "url": "http://127.0.0.1:9/hook",
        "event_types": ["#"],
        "sites": [SITE_B],
    },
}

# Every role but the sponsor-wide ones (monitor, safety physician by default): a site account.
SITE_ROLES = tuple(r for r in Role if r not in {Role.MONITOR, Role.SAFETY_PHYSICIAN})


def ae_body(subject_id: str, *, grade: int) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "term_code": PNEUMONITIS,
        "verbatim": "worsening radiation pneumonitis",
        "onset_date": (datetime.now(ZONE).date() - timedelta(days=1)).isoformat(),
        "grade": grade,
        "attribution": "possible",
        "action_taken": "dose_not_changed",
        "outcome": "fatal" if grade == 5 else "not_recovered_not_resolved",
    }


def anc_observation(identifier: str, observation_id: str) -> dict[str, Any]:
    """A grade 3 absolute neutrophil count (LOINC 751-8) for the subject with this study id."""
    yesterday = datetime.now(ZONE).date() - timedelta(days=1)
    return {
        "resourceType": "Observation",
        "id": observation_id,
        "meta": {"versionId": "1"},
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": ANC_LOINC}]},
        "subject": {"identifier": {"system": STUDY_SYSTEM, "value": identifier}},
        "effectiveDateTime": f"{yesterday.isoformat()}T08:30:00+08:00",
        "valueQuantity": {"value": 0.8, "unit": "10*9/L", "system": "http://unitsofmeasure.org"},
        "referenceRange": [
            {"low": {"value": 1.8, "unit": "10*9/L"}, "high": {"value": 7.5, "unit": "10*9/L"}}
        ],
    }


def pft_observation(identifier: str, observation_id: str) -> dict[str, Any]:
    """A spirometry panel (LOINC 81458-2) for the subject with this study id."""

    def quantity(code: str, value: float, unit: str) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {
                "value": value,
                "unit": unit,
                "system": "http://unitsofmeasure.org",
                "code": unit,
            },
        }

    return {
        "resourceType": "Observation",
        "id": observation_id,
        "meta": {"versionId": "1"},
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "81458-2"}]},
        "subject": {"identifier": {"system": STUDY_SYSTEM, "value": identifier}},
        "effectiveDateTime": datetime.combine(site_day(-2), time(10), ZONE).isoformat(),
        "component": [
            quantity("20150-9", 2.5, "L"),
            quantity("8302-2", 170, "cm"),
            quantity("30525-0", 60, "a"),
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "76689-9"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": "http://loinc.org", "code": "LA2-8"}]
                },
            },
        ],
    }


def label_map() -> bytes:
    """A small NIfTI label map: 1 = lung, 2 = lesion."""
    labels = np.zeros((16, 16, 3), dtype=np.uint8)
    labels[2:14, 2:14, :] = 1
    labels[6:9, 6:9, 1] = 2
    image = nib.Nifti1Image(labels, np.diag([1.0, 1.0, 2.0, 1.0]))
    image.header.set_xyzt_units("mm")
    buffer = io.BytesIO()
    image.to_file_map(image.make_file_map({"image": buffer, "header": buffer}))
    return gzip.compress(buffer.getvalue())


# --- the scenario --------------------------------------------------------------------------------


@dataclass
class Scenario:
    clients: dict[str, TestClient]
    auth: TokenFactory
    ids: dict[str, str] = field(default_factory=dict)
    a_ids: dict[str, str] = field(default_factory=dict)

    def site_a(self, **extra: str) -> dict[str, str]:
        return {
            **self.auth(
                *SITE_ROLES, subject="wch-staff", sites=(SITE_A,), auth_time=datetime.now(UTC)
            ),
            "Idempotency-Key": str(uuid.uuid4()),
            **extra,
        }

    def sponsor(self) -> dict[str, str]:
        # No `sites` claim at all: the sponsor-wide roles alone open every site.
        return self.auth(Role.MONITOR, Role.SAFETY_PHYSICIAN, Role.ADMIN, subject="cra", sites=())

    def as_(self, *roles: Role, sites: tuple[str, ...], person: str = "p") -> dict[str, str]:
        return {
            **self.auth(*roles, subject=person, sites=sites, auth_time=datetime.now(UTC)),
            "Idempotency-Key": str(uuid.uuid4()),
        }


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def site_day(offset: int) -> date:
    return (datetime.now(UTC) + timedelta(days=offset)).astimezone(ZONE).date()


def register(enrollment: TestClient, scenario: Scenario, site: str) -> str:
    body = ok(
        enrollment.post(
            f"/v1/trials/{TRIAL}/subjects",
            json={"site_id": site, "hospital_identifier": hospital_identifier()},
            headers=scenario.as_(Role.COORDINATOR, sites=(site,)),
        ),
        201,
    )
    assert body["site_id"] == site
    return str(body["id"])


def screen(
    enrollment: TestClient, scenario: Scenario, subject_id: str, site: str, *, eligible: bool
) -> str:
    read = enrollment.get(f"/v1/subjects/{subject_id}", headers=scenario.sponsor())
    ok(
        enrollment.patch(
            f"/v1/subjects/{subject_id}",
            json={"consent_signed_on": site_day(-20).isoformat()},
            headers={
                **scenario.as_(Role.COORDINATOR, sites=(site,)),
                "If-Match": read.headers["ETag"],
            },
        )
    )
    answers = {
        "INC-01": {"value": eligible},
        "INC-02": {"value": True, "evidence_date": site_day(-25).isoformat()},
        "INC-03": {"value": True, "evidence_grade": 2},
        "INC-04": {"value": True},
        "INC-05": {"value": 54},
        "INC-06": {"value": True, "evidence_date": site_day(-20).isoformat()},
    }
    response = enrollment.post(
        f"/v1/subjects/{subject_id}/screenings",
        json={"screened_on": site_day(-19).isoformat(), "answers": answers},
        headers=scenario.as_(Role.COORDINATOR, sites=(site,)),
    )
    screening = ok(response, 201)
    if eligible:
        ok(
            enrollment.post(
                f"/v1/subjects/{subject_id}/screenings/{screening['id']}/sign-off",
                headers={
                    **scenario.as_(Role.INVESTIGATOR, sites=(site,)),
                    "If-Match": response.headers["ETag"],
                },
            )
        )
    return str(screening["id"])


def enrol_and_infuse(
    enrollment: TestClient, scenario: Scenario, subject_id: str, site: str
) -> dict[str, str]:
    coordinator = scenario.as_(Role.COORDINATOR, sites=(site,))
    ok(
        enrollment.post(
            f"/v1/trials/{TRIAL}/enrolments", json={"subject_id": subject_id}, headers=coordinator
        ),
        201,
    )
    ok(
        enrollment.post(
            f"/v1/subjects/{subject_id}/weights",
            json={"weight_kg": "62.5", "measured_on": site_day(-5).isoformat()},
            headers=scenario.as_(Role.COORDINATOR, sites=(site,)),
        ),
        201,
    )
    prepared = enrollment.post(
        f"/v1/subjects/{subject_id}/dose-preparations",
        json={
            "infusion_number": 1,
            "product_lot": "LOT-7",
            "first_infusion_on": site_day(-3).isoformat(),
        },
        headers=scenario.as_(Role.PHARMACIST, sites=(site,), person="pharm-zhao"),
    )
    preparation = ok(prepared, 201)
    ok(
        enrollment.post(
            f"/v1/dose-preparations/{preparation['id']}/verification",
            headers={
                **scenario.as_(Role.PHARMACIST, sites=(site,), person="pharm-liu"),
                "If-Match": prepared.headers["ETag"],
            },
        )
    )
    infusion = ok(
        enrollment.post(
            f"/v1/subjects/{subject_id}/infusions",
            json={
                "started_at": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
                "dose_given_cells": preparation["dose_cells"],
                "product_lot": "LOT-7",
            },
            headers=scenario.as_(Role.PHARMACIST, sites=(site,), person="pharm-zhao"),
        ),
        201,
    )
    return {"preparation_id": str(preparation["id"]), "infusion_id": str(infusion["id"])}


@pytest.fixture
def scenario(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    deliver_events: EventPump,
    sessions: Callable[[str], sessionmaker[Session]],
    clean_db: Engine,
    services: dict[str, ServiceManifest],
) -> Iterator[Scenario]:
    clients = {
        "enrollment": api("enrollment"),
        "safety": api("safety"),
        "imaging": api("imaging"),
        "notifications": api("notifications", allowed_target_networks=["127.0.0.0/8"]),
    }
    scenario = Scenario(clients=clients, auth=auth)
    enrollment = clients["enrollment"]
    ok(
        enrollment.post(
            "/v1/trials", json={"shipped_protocol": "hdmsc-rp-01"}, headers=auth(Role.ADMIN)
        ),
        201,
    )
    with sessions("safety")() as session, session.begin():
        catalogue.store_dictionary(
            session,
            CtcaeDictionary(version="5.0", source="test subset", terms=CTCAE_TERMS),
            source_file="ctcae-v5-subset",
            source_sha256="0" * 64,
            replace=False,
            actor="test",
        )
    # A webhook subscription for PUMCH only, made by a sponsor-wide administrator.
    subscription = ok(
        clients["notifications"].post(
            "/v1/subscriptions",
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["#"], "sites": [SITE_B]},
            headers=scenario.as_(Role.ADMIN, sites=("*",)),
        ),
        201,
    )

    subject_a = register(enrollment, scenario, SITE_A)
    subject_b = register(enrollment, scenario, SITE_B)
    screen(enrollment, scenario, subject_a, SITE_A, eligible=True)
    scenario.ids["screening_id"] = screen(enrollment, scenario, subject_b, SITE_B, eligible=True)
    scenario.a_ids.update({"subject_id": subject_a})
    scenario.a_ids.update(enrol_and_infuse(enrollment, scenario, subject_a, SITE_A))
    scenario.ids.update({"subject_id": subject_b})
    scenario.ids.update(enrol_and_infuse(enrollment, scenario, subject_b, SITE_B))
    # PUMCH also has a screen failure and an eligible subject holding the last slot.
    failed = register(enrollment, scenario, SITE_B)
    screen(enrollment, scenario, failed, SITE_B, eligible=False)
    eligible = register(enrollment, scenario, SITE_B)
    screen(enrollment, scenario, eligible, SITE_B, eligible=True)
    ok(
        enrollment.post(
            f"/v1/trials/{TRIAL}/reservations",
            json={"subject_id": eligible},
            headers=scenario.as_(Role.COORDINATOR, sites=(SITE_B,)),
        ),
        201,
    )
    scenario.ids.update({"b_screen_failure": failed, "b_eligible": eligible})
    deliver_events()

    safety, imaging = clients["safety"], clients["imaging"]
    investigator_b = scenario.as_(Role.INVESTIGATOR, sites=(SITE_B,))
    # A serious AE, so that its E2B(R3) case safety report exists too (message 1).
    fatal = {
        **ae_body(subject_b, grade=5),
        "seriousness": ["death"],
        "aware_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    }
    ae = ok(safety.post("/v1/adverse-events", json=fatal, headers=investigator_b), 201)
    scenario.ids["ae_id"] = str(ae["id"])
    scenario.ids["number"] = "1"
    [dlt] = ok(safety.get("/v1/dlts", params={"trial_id": TRIAL}, headers=scenario.sponsor()))
    scenario.ids["dlt_id"] = str(dlt["id"])
    intake = safety.post(
        "/v1/fhir/Observation",
        content=json.dumps(anc_observation(subject_b, "anc-b")),
        headers={
            **scenario.as_(Role.EHR_INTEGRATION, sites=(SITE_B,), person="his-pumch"),
            "Content-Type": "application/fhir+json",
        },
    )
    assert ok(intake, 201)["outcome"] == "proposed", intake.text
    [proposal] = ok(safety.get("/v1/proposed-adverse-events", headers=scenario.sponsor()))
    scenario.ids["proposal_id"] = str(proposal["id"])

    assessor_b = scenario.as_(Role.OUTCOMES_ASSESSOR, sites=(SITE_B,))
    gas = ok(
        imaging.post(
            f"/v1/subjects/{subject_b}/blood-gases",
            json={
                "ph": 7.40,
                "pao2": 80,
                "paco2": 40,
                "fio2": 0.21,
                "age_years": 60,
                "performed_at": datetime.combine(site_day(-4), time(10), ZONE).isoformat(),
            },
            headers=assessor_b,
        ),
        201,
    )
    scenario.ids["assessment_id"] = str(gas["id"])
    analysis = ok(
        imaging.post(
            f"/v1/subjects/{subject_b}/ct-analyses",
            params={
                "format": "nifti",
                "performed_at": datetime.combine(site_day(-4), time(11), ZONE).isoformat(),
                "lung_labels": [1],
                "lesion_labels": [2],
            },
            content=label_map(),
            headers={
                **scenario.as_(Role.OUTCOMES_ASSESSOR, sites=(SITE_B,)),
                "Content-Type": "application/octet-stream",
            },
        ),
        202,
    )
    scenario.ids["analysis_id"] = str(analysis["id"])
    deliver_events()

    notifications = clients["notifications"]
    events = ok(notifications.get("/v1/events", params={"limit": 200}, headers=scenario.sponsor()))
    [enrolled_b] = [
        e
        for e in events["items"]
        if e["type"] == "enrollment.subject.enrolled" and e["data"]["subject_id"] == subject_b
    ]
    assert enrolled_b["data"]["site_id"] == SITE_B
    scenario.ids["event_id"] = str(enrolled_b["id"])
    scenario.ids["subscription_id"] = str(subscription["id"])
    deliveries = ok(
        notifications.get(
            f"/v1/subscriptions/{subscription['id']}/deliveries",
            headers=scenario.as_(Role.ADMIN, sites=("*",)),
        )
    )
    assert deliveries["items"], "the PUMCH subscription received PUMCH events"
    scenario.ids["delivery_id"] = str(deliveries["items"][0]["id"])
    scenario.ids.update({"trial_id": TRIAL, "plot": "lesion-fraction-change"})
    yield scenario


def operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def parameters_of(operation: dict[str, Any], where: str) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == where}


def filled(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def site_b_identifiers(scenario: Scenario) -> set[str]:
    keys = ("subject_id", "b_screen_failure", "b_eligible", "ae_id", "dlt_id", "proposal_id")
    keys += ("assessment_id", "analysis_id", "event_id", "subscription_id", "delivery_id")
    keys += ("preparation_id", "infusion_id")
    return {scenario.ids[key] for key in keys}


# --- the matrix ----------------------------------------------------------------------------------


def test_every_operation_of_every_service_keeps_site_b_data_from_a_site_a_account(
    scenario: Scenario,
) -> None:
    unclassified: list[str] = []
    checked: dict[str, int] = {}
    for service, client in scenario.clients.items():
        for method, path, operation in operations(client):
            key = (service, method, path)
            scoped = (parameters_of(operation, "path") | parameters_of(operation, "query")) & (
                SCOPED_PARAMETERS[service]
            )
            path_scoped = parameters_of(operation, "path") & SCOPED_PARAMETERS[service]
            if key in NOT_SUBJECT_SCOPED:
                continue
            if path_scoped:
                check_path_scoped(scenario, client, method, path)
            elif key in LISTS:
                check_list(scenario, client, key)
            elif key in BODY_NAMES_A_SUBJECT:
                check_body_scoped(scenario, client, key)
            elif key in BODY_NAMES_A_SITE:
                check_site_named(scenario, client, key)
            elif key in FHIR_INTAKES:
                check_fhir_intake(scenario, client, key)
            else:
                unclassified.append(f"{service} {method} {path} (scoped parameters: {scoped})")
                continue
            checked[service] = checked.get(service, 0) + 1
    assert not unclassified, (
        "operations not in the site-scope matrix: scope them by a path parameter the service's "
        "guard resolves, or list them in this test with the reason: " + "; ".join(unclassified)
    )
    assert set(checked) == set(SCOPED_PARAMETERS)


def check_path_scoped(scenario: Scenario, client: TestClient, method: str, path: str) -> None:
    values = {**scenario.ids}
    response = client.request(
        method,
        filled(path, values),
        json={} if method in {"POST", "PUT", "PATCH"} else None,
        headers=scenario.site_a(**{"If-Match": '"1"'}),
    )
    assert response.status_code == 404, f"{method} {path}: {response.status_code} {response.text}"
    problem = response.json()
    # Exactly what a nonexistent id answers: the body names no site and no other detail.
    assert SITE_B not in response.text
    assert problem["status"] == 404
    if method == "GET":
        seen = client.get(filled(path, values), headers=scenario.sponsor())
        assert seen.status_code == 200, f"sponsor-wide {path}: {seen.text}"
        if set(re.findall(r"\{(\w+)\}", path)) <= set(scenario.a_ids):
            mine = client.get(filled(path, scenario.a_ids), headers=scenario.site_a())
            assert mine.status_code == 200, f"site A reading its own {path}: {mine.text}"


def check_list(scenario: Scenario, client: TestClient, key: tuple[str, str, str]) -> None:
    _, method, path = key
    url = filled(path, scenario.ids)
    params = LISTS[key]
    mine = client.request(method, url, params=params, headers=scenario.site_a())
    assert mine.status_code == 200, f"{path}: {mine.text}"
    text = mine.text if "json" in mine.headers.get("content-type", "") else ""
    for identifier in site_b_identifiers(scenario):
        assert identifier not in text, f"{path} shows site B's {identifier} to site A"
    assert f'"site_id":"{SITE_B}"' not in text.replace(" ", "")
    if key in LISTS_WITH_SITE_B_DATA:
        seen = client.request(method, url, params=params, headers=scenario.sponsor())
        assert seen.status_code == 200, seen.text
        assert any(identifier in seen.text for identifier in site_b_identifiers(scenario)), (
            f"the sponsor-wide reader sees site B's data in {path}"
        )


def check_body_scoped(scenario: Scenario, client: TestClient, key: tuple[str, str, str]) -> None:
    _, method, path = key
    body = BODY_NAMES_A_SUBJECT[key](scenario)
    response = client.request(
        method, filled(path, scenario.ids), json=body, headers=scenario.site_a()
    )
    assert response.status_code == 404, f"{path}: {response.text}"
    assert SITE_B not in response.text


def check_site_named(scenario: Scenario, client: TestClient, key: tuple[str, str, str]) -> None:
    _, method, path = key
    body = BODY_NAMES_A_SITE[key](scenario)
    response = client.request(
        method, filled(path, scenario.ids), json=body, headers=scenario.site_a()
    )
    assert response.status_code == 403, f"{path}: {response.text}"


def check_fhir_intake(scenario: Scenario, client: TestClient, key: tuple[str, str, str]) -> None:
    service, method, path = key

    def send(identifier: str) -> Any:
        probe = f"probe-{uuid.uuid4().hex[:8]}"
        resource = (
            anc_observation(identifier, probe)
            if service == "safety"
            else pft_observation(identifier, probe)
        )
        payload: dict[str, Any] = resource
        if path == "/v1/fhir":
            payload = {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": resource}]}
        headers = {
            **scenario.as_(Role.EHR_INTEGRATION, sites=(SITE_A,), person="his-wch"),
            "Content-Type": "application/fhir+json",
        }
        return client.request(method, path, content=json.dumps(payload), headers=headers)

    for_b, for_nobody = send(scenario.ids["subject_id"]), send(NOBODY)
    assert for_b.status_code == for_nobody.status_code, (for_b.text, for_nobody.text)
    # The probe for a subject of the caller's own site is accepted: the refusal is the scope.
    for_own = send(scenario.a_ids["subject_id"])
    assert for_own.status_code in {200, 201}, for_own.text
    assert strip_ids(for_own.json()) != strip_ids(for_nobody.json())
    assert strip_ids(for_b.json()) == strip_ids(for_nobody.json())


def strip_ids(body: Any) -> Any:
    """A FHIR intake answer without what differs between two probes (ids, times, the id sent)."""
    text = json.dumps(body)
    text = re.sub(r"probe-[0-9a-f]{8}", "probe", text)
    text = re.sub(rf"{TRIAL}-\d{{3}}", "subject", text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "uuid", text)
    return json.loads(re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?", "time", text))


# --- the rules around the matrix -----------------------------------------------------------------


def test_a_site_account_registers_subjects_only_at_its_own_sites(scenario: Scenario) -> None:
    enrollment = scenario.clients["enrollment"]
    refused = enrollment.post(
        f"/v1/trials/{TRIAL}/subjects",
        json={"site_id": SITE_B, "hospital_identifier": hospital_identifier()},
        headers=scenario.site_a(),
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["site_id"] == SITE_B
    unknown = enrollment.post(
        f"/v1/trials/{TRIAL}/subjects",
        json={"site_id": "NOWHERE", "hospital_identifier": hospital_identifier()},
        headers=scenario.site_a(),
    )
    assert unknown.status_code == 422, unknown.text
    assert "WCH" in unknown.json()["detail"]
    assert "PUMCH" in unknown.json()["detail"]


def test_site_b_events_carry_their_site_and_reach_only_site_b_subscriptions(
    scenario: Scenario,
) -> None:
    notifications = scenario.clients["notifications"]
    events = ok(notifications.get("/v1/events", params={"limit": 200}, headers=scenario.sponsor()))[
        "items"
    ]
    about_subjects = [e for e in events if "subject_id" in e["data"]]
    assert about_subjects
    assert all(e["data"]["site_id"] in {SITE_A, SITE_B} for e in about_subjects)
    seen_by_a = ok(
        notifications.get("/v1/events", params={"limit": 200}, headers=scenario.site_a())
    )["items"]
    assert {e["data"].get("site_id") for e in seen_by_a} <= {SITE_A, None}
    assert any(e["data"].get("site_id") == SITE_A for e in seen_by_a)
    deliveries = ok(
        notifications.get(
            f"/v1/subscriptions/{scenario.ids['subscription_id']}/deliveries",
            params={"limit": 200},
            headers=scenario.as_(Role.ADMIN, sites=("*",)),
        )
    )["items"]
    delivered = {d["event_id"] for d in deliveries}
    sites_delivered = {e["data"].get("site_id") for e in events if e["id"] in delivered}
    assert sites_delivered <= {SITE_B, None}
    assert SITE_B in sites_delivered


def test_a_lab_proposal_is_announced_with_its_site_and_only_to_that_site(
    scenario: Scenario,
) -> None:
    notifications = scenario.clients["notifications"]
    events = ok(notifications.get("/v1/events", params={"limit": 200}, headers=scenario.sponsor()))[
        "items"
    ]
    [proposed] = [e for e in events if e["type"] == "safety.ae.proposed"]
    assert proposed["data"]["proposal_id"] == scenario.ids["proposal_id"]
    assert proposed["data"]["observation_id"] == "anc-b"
    assert proposed["data"]["site_id"] == SITE_B
    seen_by_a = ok(
        notifications.get("/v1/events", params={"limit": 200}, headers=scenario.site_a())
    )["items"]
    assert all(e["type"] != "safety.ae.proposed" for e in seen_by_a)


def test_the_sponsor_wide_roles_are_configurable(
    scenario: Scenario, api: Callable[..., TestClient]
) -> None:
    # With no sponsor-wide role configured, a monitor sees the sites their token names only.
    strict = api("safety", sponsor_wide_roles=())
    monitor_of_a = scenario.as_(Role.MONITOR, sites=(SITE_A,))
    assert (
        strict.get(f"/v1/adverse-events/{scenario.ids['ae_id']}", headers=monitor_of_a).status_code
        == 404
    )
    everywhere = scenario.as_(Role.MONITOR, sites=("*",))
    assert (
        strict.get(f"/v1/adverse-events/{scenario.ids['ae_id']}", headers=everywhere).status_code
        == 200
    )


def test_the_outcome_summary_counts_the_subjects_of_the_reader_sites_only(
    scenario: Scenario,
) -> None:
    imaging = scenario.clients["imaging"]
    url = f"/v1/trials/{TRIAL}/outcome-summary"
    params = {"metric": "aa_gradient_mmhg"}
    everyone = ok(imaging.get(url, params=params, headers=scenario.sponsor()))["groups"]
    assert sum(group["value"]["n"] for group in everyone) == 1  # PUMCH's blood gas
    assert ok(imaging.get(url, params=params, headers=scenario.site_a()))["groups"] == []
