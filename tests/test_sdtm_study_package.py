"""The SDTM study package of one trial taken through every service, checked as a reviewer would.

HDMSC-RP-01 through the in-process clients of enrollment, safety and imaging over the real
broker: screening with the subject's facts, enrolment, weights and dual-verified infusions of
three subjects, a grade 3 pneumonitis confirmed as a DLT by a signed adjudication, a serious
adverse event, lab results sent by the hospital as a FHIR Bundle with its Patient, lung
function, a six-minute walk, an SGRQ and an arterial blood gas, and the signed escalation
decision of the first cohort. Then the package at a data cut, written twice, and every file
opened: each domain the issue names is there (LB merged from safety's labs and imaging's blood
gas), each Dataset-JSON file validates against CDISC's schema, each XPT reads back with
pyreadstat to the JSON's rows, keys are unique, required variables are filled, every --DY is
the study day of its --DTC against DM.RFSTDTC, no hospital identifier, patient name or birth
date is in any byte, and the second export is the same bytes as the first.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pyreadstat
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import doseline.sdtm
from doseline.auth import Role
from doseline.manifest import ServiceManifest
from doseline.sdtm import DataCut, Domain, study_day
from doseline.sdtm.define_xml import check_define_xml
from doseline.sdtm.export import export_package
from doseline.settings import ServiceSettings
from doseline.testing.plugin import EventPump, TokenFactory
from enrollment.dlt_windows.tasks import CLOSE_DLT_WINDOWS
from enrollment.subjects.models import Subject
from imaging.sgrq.weights import ITEMS, Instrument

TRIAL = "HDMSC-RP-01"
PNEUMONITIS = "10035742"
HYPOXIA = "10021143"
SCHEMA = Path(doseline.sdtm.__file__).with_name("schemas") / "dataset.schema.json"
DOMAINS = {
    *("DM", "DS", "EX", "EC", "AE", "SUPPAE", "LB", "VS", "RE", "FT", "QS", "SV"),
    *("TA", "TE", "TV", "TI", "TS"),
}
# What the hospital knows of subject 1 and the package must never carry.
MRN = "WCH-5521-1"
PATIENT_NAME = "Zhang Xiuying"


def day(offset: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=offset)


# Born on 1 January: 54 at screening, as the age criterion answers.
BIRTH_DATE = date(day(-54).year - 54, 1, 1)


def ok(response: Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@dataclass
class Site:
    enrollment: TestClient
    safety: TestClient
    imaging: TestClient
    auth: TokenFactory
    deliver: EventPump
    sessions: Callable[[str], sessionmaker[Session]]

    def as_(self, role: Role, person: str, key: bool = False) -> dict[str, str]:
        headers = self.auth(role, subject=person, name=person, auth_time=datetime.now(UTC))
        return {**headers, "Idempotency-Key": str(uuid.uuid4())} if key else headers

    def enrol(self, mrn: str, facts: dict[str, Any]) -> str:
        coordinator = self.as_(Role.COORDINATOR, "nurse-wang", key=True)
        sid: str = ok(
            self.enrollment.post(
                f"/v1/trials/{TRIAL}/subjects",
                json={"hospital_identifier": {"system": "MRN", "value": mrn}},
                headers=coordinator,
            ),
            201,
        )["id"]
        ok(
            self.enrollment.patch(
                f"/v1/subjects/{sid}",
                json={"consent_signed_on": day(-55).isoformat()},
                headers={**self.as_(Role.COORDINATOR, "nurse-wang"), "If-Match": '"v1"'},
            )
        )
        answers = {
            "INC-01": {"value": True},
            "INC-02": {"value": True, "evidence_date": day(-60).isoformat()},
            "INC-03": {"value": True, "evidence_grade": 2},
            "INC-04": {"value": True},
            "INC-05": {"value": 54},
            "INC-06": {"value": True, "evidence_date": day(-55).isoformat()},
        }
        screened = self.enrollment.post(
            f"/v1/subjects/{sid}/screenings",
            json={"screened_on": day(-54).isoformat(), "answers": answers, "subject_facts": facts},
            headers=self.as_(Role.COORDINATOR, "nurse-wang"),
        )
        screening = ok(screened, 201)
        ok(
            self.enrollment.post(
                f"/v1/subjects/{sid}/screenings/{screening['id']}/sign-off",
                headers={
                    **self.as_(Role.INVESTIGATOR, "dr-li"),
                    "If-Match": screened.headers["ETag"],
                },
            )
        )
        ok(
            self.enrollment.post(
                f"/v1/trials/{TRIAL}/enrolments",
                json={"subject_id": sid},
                headers=self.as_(Role.COORDINATOR, "nurse-wang", key=True),
            ),
            201,
        )
        return sid

    def treat(self, sid: str, weight_kg: str) -> None:
        """A weight, then four infusions, each prepared and verified by two pharmacists."""
        ok(
            self.enrollment.post(
                f"/v1/subjects/{sid}/weights",
                json={"weight_kg": weight_kg, "measured_on": day(-47).isoformat()},
                headers=self.as_(Role.COORDINATOR, "nurse-wang", key=True),
            ),
            201,
        )
        for number, days_ago in ((1, -45), (2, -42), (3, -39), (4, -36)):
            prepared = self.enrollment.post(
                f"/v1/subjects/{sid}/dose-preparations",
                json={
                    "infusion_number": number,
                    "product_lot": "LOT-7",
                    "first_infusion_on": day(-45).isoformat(),
                },
                headers=self.as_(Role.PHARMACIST, "pharm-zhao"),
            )
            preparation = ok(prepared, 201)
            ok(
                self.enrollment.post(
                    f"/v1/dose-preparations/{preparation['id']}/verification",
                    headers={
                        **self.as_(Role.PHARMACIST, "pharm-liu"),
                        "If-Match": prepared.headers["ETag"],
                    },
                )
            )
            ok(
                self.enrollment.post(
                    f"/v1/subjects/{sid}/infusions",
                    json={
                        "started_at": f"{day(days_ago).isoformat()}T09:00:00+08:00",
                        "dose_given_cells": preparation["dose_cells"],
                        "product_lot": "LOT-7",
                    },
                    headers=self.as_(Role.PHARMACIST, "pharm-zhao"),
                ),
                201,
            )

    def report(self, sid: str, **fields: Any) -> dict[str, Any]:
        body = {
            "subject_id": sid,
            "attribution": "possible",
            "action_taken": "dose_not_changed",
            "outcome": "not_recovered_not_resolved",
            **fields,
        }
        reported: dict[str, Any] = ok(
            self.safety.post(
                "/v1/adverse-events", json=body, headers=self.as_(Role.INVESTIGATOR, "dr-li", True)
            ),
            201,
        )
        return reported

    def assess(self, sid: str, kind: str, body: dict[str, Any]) -> None:
        ok(
            self.imaging.post(
                f"/v1/subjects/{sid}/{kind}",
                json={**body, "performed_at": f"{day(-50).isoformat()}T10:00:00+08:00"},
                headers=self.as_(Role.OUTCOMES_ASSESSOR, "rt-huang", key=True),
            ),
            201,
        )


def lab_bundle() -> dict[str, Any]:
    """What the hospital's lab system sends: the Patient (name, birth date, MRN) and two results
    that name it by reference: a grade 3 neutrophil count and a normal haemoglobin."""

    def result(observation_id: str, loinc: str, value: float, unit: str) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": observation_id,
            "meta": {"versionId": "1"},
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "subject": {"reference": "Patient/pat-1"},
            "effectiveDateTime": f"{day(-1).isoformat()}T08:30:00+08:00",
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org"},
        }

    patient = {
        "resourceType": "Patient",
        "id": "pat-1",
        "identifier": [{"system": "MRN", "value": MRN}],
        "name": [{"text": PATIENT_NAME}],
        "gender": "male",
        "birthDate": BIRTH_DATE.isoformat(),
    }
    return {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": resource}
            for resource in (
                patient,
                result("lab-neut", "751-8", 0.8, "10*9/L"),
                result("lab-hgb", "718-7", 13.1, "g/dL"),
            )
        ],
    }


def sgrq_answers() -> dict[str, Any]:
    """Every SGRQ item answered with its first-ranked option (the least impaired)."""
    return {
        item.item: False
        if item.is_true_false
        else sorted(item.weights, key=lambda option: item.weights[option])[0]
        for item in ITEMS[Instrument.SGRQ]
    }


def the_trial(site: Site) -> list[str]:
    """Three subjects treated at level 1, one DLT confirmed, an SAE, labs, lung function, a walk,
    an SGRQ and a blood gas, and the first cohort's escalation decision signed."""
    facts = {"sex": "male", "birth_date": BIRTH_DATE.isoformat(), "height_cm": "170"}
    first = site.enrol(MRN, facts)
    site.treat(first, "62.5")
    site.deliver()  # subjects, infusions and the protocol reach safety and imaging

    read = site.safety.get(f"/v1/subjects/{first}", headers=site.as_(Role.INVESTIGATOR, "dr-li"))
    ok(
        site.safety.put(
            f"/v1/subjects/{first}/baseline",
            json={"pneumonitis_grade": 1, "oxygen_use": False, "conditions": []},
            headers={**site.as_(Role.INVESTIGATOR, "dr-li"), "If-Match": read.headers["ETag"]},
        )
    )
    dlt_event = site.report(
        first,
        term_code=PNEUMONITIS,
        verbatim="pneumonitis flare",
        onset_date=day(-35).isoformat(),
        grade=3,
    )
    assert dlt_event["dlt_evaluation"] == "suspected_dlt"
    physician = site.as_(Role.SAFETY_PHYSICIAN, "dr-chen")
    [case] = ok(site.safety.get("/v1/dlts", params={"status": "suspected"}, headers=physician))
    etag = site.safety.get(f"/v1/dlts/{case['id']}", headers=physician).headers["ETag"]
    confirmed = ok(
        site.safety.post(
            f"/v1/dlts/{case['id']}/adjudication",
            json={"decision": "confirm", "comment": "grade 3 pneumonitis on day 11"},
            headers={**physician, "If-Match": etag},
        )
    )
    assert confirmed["status"] == "confirmed"
    serious = site.report(
        first,
        term_code=HYPOXIA,
        verbatim="desaturation needing admission",
        onset_date=day(-5).isoformat(),
        grade=4,
        seriousness=["hospitalisation", "life_threatening"],
        aware_at=datetime.now(UTC).isoformat(),
        attribution="unlikely",
        action_taken="drug_interrupted",
        outcome="recovering_resolving",
        expected=False,
    )
    assert serious["serious"] is True

    intake = site.safety.post(
        "/v1/fhir",
        content=json.dumps(lab_bundle()),
        headers={
            **site.as_(Role.EHR_INTEGRATION, "his-gateway"),
            "Content-Type": "application/fhir+json",
        },
    )
    answered = ok(intake)
    statuses = [entry["response"]["status"] for entry in answered["entry"]]
    assert statuses[1:] == ["201 Created", "201 Created"], answered

    man_facts = {"sex": "male", "age_years": 54, "height_cm": 170}
    site.assess(first, "pulmonary-function-tests", {**man_facts, "fev1_l": 2.5, "fvc_l": 3.4})
    site.assess(
        first, "walk-tests", {**man_facts, "weight_kg": 62.5, "stops": 0, "distance_m": 442.8}
    )
    site.assess(first, "sgrq", {"responses": sgrq_answers()})
    gas = {"age_years": 54, "ph": 7.42, "pao2": 72, "paco2": 38, "fio2": 0.21}
    site.assess(first, "blood-gases", gas)

    others = [site.enrol(f"WCH-5521-{n}", {"sex": "male"}) for n in (2, 3)]
    for sid in others:
        site.treat(sid, "70.0")
    site.deliver()
    CLOSE_DLT_WINDOWS.run(site.sessions("enrollment"), datetime.now(UTC))
    site.deliver()
    investigator = site.as_(Role.INVESTIGATOR, "dr-li")
    state = ok(site.enrollment.get(f"/v1/trials/{TRIAL}/escalation", headers=investigator))
    pending = state["pending_decision"]
    assert (state["outcomes"], pending["outcome"]) == ("1TNN", "stay")
    signatures = f"/v1/trials/{TRIAL}/escalation/decisions/{pending['id']}/signatures"
    for role, headers in (("investigator", investigator), ("safety_physician", physician)):
        decision = ok(
            site.enrollment.post(
                signatures,
                json={
                    "role": role,
                    "meaning": "I approve this escalation decision",
                    "state_hash": state["state_hash"],
                },
                headers=headers,
            ),
            201,
        )
    assert decision["status"] == "decided"
    return [first, *others]


@dataclass(frozen=True)
class Package:
    root: Path
    second: Path
    subjects: list[str]
    hospital_hashes: list[str]
    domains: dict[str, Domain]

    def json(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(
            (self.root / "json" / f"{name.lower()}.json").read_text(encoding="utf-8")
        )
        return found

    def rows(self, name: str) -> list[dict[str, Any]]:
        described = self.json(name)
        names = [column["name"] for column in described["columns"]]
        return [dict(zip(names, row, strict=True)) for row in described["rows"]]


@pytest.fixture
def package(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    deliver_events: EventPump,
    sessions: Callable[[str], sessionmaker[Session]],
    services: dict[str, ServiceManifest],
    settings_for: Callable[..., ServiceSettings],
    tmp_path: Path,
) -> Package:
    """The trial worked through the services, then its package written twice at one cut."""
    for name in ("enrollment", "safety", "imaging"):
        bootstrap = services[name].bootstrap
        assert bootstrap is not None, name
        with sessions(name)() as session, session.begin():
            bootstrap(settings_for(name), session)
    site = Site(api("enrollment"), api("safety"), api("imaging"), auth, deliver_events, sessions)
    subjects = the_trial(site)

    @contextmanager
    def opened(manifest: ServiceManifest) -> Iterator[Session]:
        with sessions(manifest.name)() as session:
            yield session

    cut = DataCut(TRIAL, datetime.now(UTC) + timedelta(seconds=1))
    export_package(services, cut, tmp_path / "one", opened)
    export_package(services, cut, tmp_path / "two", opened)
    with sessions("enrollment")() as session:
        hashes = [h for h in session.scalars(select(Subject.hospital_id_hash)) if h]
    domains = {
        domain.name: domain for manifest in services.values() for domain in manifest.sdtm_domains
    }
    return Package(tmp_path / "one", tmp_path / "two", subjects, hashes, domains)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _same(json_value: Any, xpt_value: Any) -> bool:
    if json_value is None:
        return xpt_value == "" or (isinstance(xpt_value, float) and math.isnan(xpt_value))
    if isinstance(json_value, (int, float)):
        return math.isclose(float(xpt_value), float(json_value), rel_tol=1e-12)
    return bool(xpt_value == json_value)


def _dtc_of(name: str, columns: set[str]) -> str | None:
    """The --DTC a --DY variable counts: xxSTDY from xxSTDTC, xxENDY from xxENDTC, xxDY from
    xxDTC (VISITDY is a planned day, not counted from a date)."""
    if name == "VISITDY" or not name.endswith("DY"):
        return None
    dtc = f"{name[:-2]}DTC"
    return dtc if dtc in columns else None


def test_one_trial_through_every_service_gives_a_whole_valid_reproducible_package(
    package: Package,
) -> None:
    root = package.root
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["datasets"]) == DOMAINS
    assert manifest["controlled_terminology"] == "SDTM CT 2025-03-28"
    counts = manifest["datasets"]
    for name in ("DM", "EX", "EC", "AE", "SUPPAE", "LB", "VS", "RE", "FT", "QS", "SV", "DS"):
        assert counts[name] > 0, name
    assert counts["DM"] == 3
    assert counts["EX"] == counts["EC"] == 12

    # Export twice: the same bytes, the manifest's digests included.
    assert _files(root) == _files(package.second)
    for path in _files(root):
        assert (root / path).read_bytes() == (package.second / path).read_bytes(), path
    listed = sorted(entry["path"] for entry in manifest["files"])
    assert listed == [path for path in _files(root) if path != "manifest.json"]

    schema = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    check_define_xml(root / "define.xml")
    define = (root / "define.xml").read_text(encoding="utf-8")
    assert define.count('Version="2025-03-28"') == 1
    # Sponsor-extended units of an extensible codelist are marked; CT terms carry their NCI code.
    assert (
        '<EnumeratedItem CodedValue="cells/kg" OrderNumber="1" def:ExtendedValue="Yes" />' in define
    )
    assert '<Alias Context="nci:ExtCodeID" Name="C202487" />' in define  # EPOCH SCREENING

    dm = {row["USUBJID"]: row for row in package.rows("DM")}
    assert sorted(dm) == sorted(package.subjects)
    starts = {sid: date.fromisoformat(row["RFSTDTC"][:10]) for sid, row in dm.items()}
    counted: dict[str, int] = {}
    for name in sorted(DOMAINS):
        described = package.json(name)
        schema.validate(described)
        rows = package.rows(name)
        columns = [column["name"] for column in described["columns"]]

        frame, meta = pyreadstat.read_xport(root / f"{name.lower()}.xpt")
        assert meta.table_name == name
        assert meta.column_names == columns
        assert len(frame) == len(rows) == counts[name]
        for number, row in enumerate(rows):
            read_back = frame.iloc[number]
            for column in columns:
                assert _same(row[column], read_back[column]), (name, number, column)

        domain = package.domains[name]
        keys = [tuple(row.get(key) for key in domain.keys) for row in rows]
        assert len(set(keys)) == len(keys), f"{name}: keys {domain.keys} repeat"
        for variable in domain.variables:
            if variable.core == "Req":
                assert variable.name in columns, (name, variable.name)
                assert all(row[variable.name] not in (None, "") for row in rows), (
                    name,
                    variable.name,
                )

        for column in columns:
            dtc = _dtc_of(column, set(columns))
            if dtc is None or "USUBJID" not in columns:
                continue
            for row in rows:
                on = row[dtc]
                expected = (
                    study_day(date.fromisoformat(on[:10]), starts.get(row["USUBJID"]))
                    if on and len(on) >= 10
                    else None
                )
                assert row[column] == expected, (name, column, row[dtc], row[column])
                counted[name] = counted.get(name, 0) + (expected is not None)
    for name in ("AE", "LB", "EX", "EC", "RE", "FT", "QS", "SV", "VS"):
        assert counted.get(name, 0) > 0, f"no --DY of {name} was checked"

    ae = package.rows("AE")
    assert {row["AESER"] for row in ae} == {"Y", "N"}
    flags = {
        (row["IDVARVAL"], row["QVAL"])
        for row in package.rows("SUPPAE")
        if row["QNAM"] == "AEDLT" and row["USUBJID"] == package.subjects[0]
    }
    assert ("1", "Y") in flags
    labs = package.rows("LB")  # safety's lab results and imaging's blood gas, one LBSEQ
    assert {(row["LBTESTCD"], row["LBCAT"], row["LBSPEC"]) for row in labs} == {
        ("NEUT", "HEMATOLOGY", None),
        ("HGB", "HEMATOLOGY", None),
        ("PH", "BLOOD GAS", "ARTERIAL BLOOD"),
        ("PO2", "BLOOD GAS", "ARTERIAL BLOOD"),
        ("PCO2", "BLOOD GAS", "ARTERIAL BLOOD"),
    }
    assert sorted(row["LBSEQ"] for row in labs) == [1, 2, 3, 4, 5]
    assert {row["RETESTCD"] for row in package.rows("RE")} >= {"FEV1", "FVC"}
    assert [row["FTTESTCD"] for row in package.rows("FT")] == ["SIXMW106"]

    everything = b"".join((root / path).read_bytes() for path in _files(root))
    never = [
        MRN,
        "WCH-5521",
        PATIENT_NAME,
        "Zhang",
        BIRTH_DATE.isoformat(),
        BIRTH_DATE.strftime("%Y%m%d"),
        *package.hospital_hashes,
    ]
    for text in never:
        assert text.encode() not in everything, f"{text!r} is in the package"
