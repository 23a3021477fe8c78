"""The escalation state shown is always the 3+3 rules applied to the facts as stored.

Whatever arrives, in whatever order, duplicated or late (enrolments, infusions, DLTs suspected,
confirmed or ruled out of any grade on any study day, consent and weight corrections, the
DLT-window job), after each step the stored state, the history entry it points at and what
`GET /v1/trials/{id}/escalation` serves equal `escalation.recommend` applied to the outcome
string derived from the stored facts (enrolments, DLT windows, DLT adjudications).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from doseline.auth import Role
from doseline.contracts.safety import DltConfirmed, DltRuledOut, DltSuspected
from doseline.events import Envelope
from doseline.manifest import ServiceManifest
from doseline.testing.plugin import truncate_everything
from enrollment.dlt_windows.tasks import CLOSE_DLT_WINDOWS
from enrollment.escalation_state.models import DltFact, EscalationHistory, EscalationState
from enrollment.escalation_state.outcomes import derive_outcomes, state_document, state_hash
from enrollment.escalation_state.service import gather_facts
from enrollment.trials import repository as trials_repository
from enrollment.trials.protocols import protocol_of
from escalation import InvalidHistoryError, recommend

from .conftest import TRIAL, Site
from .test_dlt_adjudications import deliver
from .test_late_facts import enrolled, infuse, register_and_enrol

STATUSES = ("suspected", "confirmed", "ruled_out")


def dlt_message(
    subject_id: str, *, status: str, dlt_id: str, sequence: int, grade: int, study_day: int
) -> Envelope:
    """What safety publishes about one DLT of `subject_id` (a fuzzed report: any grade, day)."""
    facts: dict[str, Any] = {
        "trial_id": TRIAL,
        "subject_id": subject_id,
        "site_id": "WCH",
        "dlt_id": dlt_id,
        "ae_id": f"AE-{dlt_id}",
        "ae_version": sequence,
        "term_code": "10038695",
        "term": "Respiratory failure",
        "grade": grade,
        "baseline_grade": 0,
        "attribution": "probable",
        "study_day": study_day,
        "rules": ["DLT-03"],
        "adjudication_sequence": sequence,
    }
    if status == "suspected":
        contract: DltSuspected | DltConfirmed | DltRuledOut = DltSuspected(**facts)
    else:
        facts |= {"adjudicated_at": datetime.now(UTC), "signature_hash": "b" * 64}
        contract = DltConfirmed(**facts) if status == "confirmed" else DltRuledOut(**facts)
    return contract.envelope(
        source="urn:doseline:safety", subject=f"subjects/{subject_id}", correlation_id="prop"
    )


@dataclass
class Trial:
    """The subjects enrolled so far and how many infusions each has received."""

    site: Site
    subjects: list[str] = field(default_factory=list)
    infusions: dict[str, int] = field(default_factory=dict)
    sent: list[Envelope] = field(default_factory=list)

    def subject(self, index: int) -> str:
        # An index past the enrolled subjects names a study id not enrolled (yet).
        if index < len(self.subjects):
            return self.subjects[index]
        return f"{TRIAL}-{index + 1:03d}"


def apply(trial: Trial, step: tuple[Any, ...]) -> None:
    site = trial.site
    kind = step[0]
    if kind == "enrol":
        if len(trial.subjects) < 4:
            subject_id = enrolled_or_none(site)
            if subject_id is not None:
                trial.subjects.append(subject_id)
                trial.infusions[subject_id] = 0
    elif kind == "infuse" and trial.subjects:
        subject_id = trial.subjects[step[1] % len(trial.subjects)]
        number = trial.infusions[subject_id] + 1
        if number <= 4:
            response = infuse(site, subject_id, number)
            assert response.status_code in {201, 409, 422}, response.text
            if response.status_code == 201:
                trial.infusions[subject_id] = number
    elif kind == "dlt":
        _, index, status, grade, study_day, sequence, dlt_id = step
        envelope = dlt_message(
            trial.subject(index),
            status=status,
            dlt_id=dlt_id,
            sequence=sequence,
            grade=grade,
            study_day=study_day,
        )
        trial.sent.append(envelope)
        deliver(site, envelope)
    elif kind == "redeliver" and trial.sent:
        deliver(site, trial.sent[step[1] % len(trial.sent)])
    elif kind == "job":
        CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC) + timedelta(days=step[1]))
    elif kind == "consent" and trial.subjects:
        subject_id = trial.subjects[step[1] % len(trial.subjects)]
        read = site.api.get(f"/v1/subjects/{subject_id}", headers=site.as_(Role.MONITOR, "cra"))
        response = site.api.patch(
            f"/v1/subjects/{subject_id}",
            json={
                "consent_signed_on": site.site_day(step[2]).isoformat(),
                "reason": "date transcribed wrongly from the signed form",
            },
            headers=site.as_(Role.COORDINATOR, "nurse", **{"If-Match": read.headers["ETag"]}),
        )
        assert response.status_code in {200, 409}, response.text
    elif kind == "weight" and trial.subjects:
        subject_id = trial.subjects[step[1] % len(trial.subjects)]
        response = site.weigh(subject_id, kg=step[2], offset_days=-46)
        assert response.status_code in {201, 409, 422}, response.text


def enrolled_or_none(site: Site) -> str | None:
    """A newly enrolled subject, or None when the cohort is full (the trial waits)."""
    response = register_and_enrol(site)
    if response.status_code == 409:
        return None
    return str(site.ok(response, 201)["subject_id"])


def derived_from_stored_facts(site: Site) -> dict[str, Any]:
    """What the rules say about the facts as stored now, and the state stored beside them."""
    with site.sessions() as session, session.begin():
        trial = trials_repository.get_trial(session, TRIAL)
        assert trial is not None
        protocol = protocol_of(session, trial)
        cohorts = gather_facts(session, TRIAL).cohorts
        derived = derive_outcomes(cohorts)
        try:
            decision = recommend(protocol.design(), derived.outcomes)
            verdict = (decision.continue_trial, decision.next_dose, decision.mtd, decision.reason)
        except InvalidHistoryError as error:
            verdict = (
                True,
                None,
                None,
                f"the stored outcomes are not a history the design allows: {error}",
            )
        continue_trial, next_dose, mtd, reason = verdict
        document = state_document(
            trial_id=TRIAL,
            outcomes=derived.outcomes,
            complete_cohorts=derived.complete_cohorts,
            continue_trial=continue_trial,
            next_dose=next_dose,
            mtd=mtd,
            reason=reason,
            protocol_version=protocol.protocol.version,
            protocol_hash=protocol.content_hash,
        )
        enrolled_ids = {s.subject_id for cohort in cohorts for s in cohort.subjects}
        unmatched = session.scalar(
            select(func.count())
            .select_from(DltFact)
            .where(DltFact.subject_id.not_in(enrolled_ids or {""}))
        )
        state = session.get(EscalationState, TRIAL)
        assert state is not None
        latest = session.scalars(
            select(EscalationHistory)
            .where(EscalationHistory.trial_id == TRIAL)
            .order_by(EscalationHistory.seq.desc())
            .limit(1)
        ).one()
        return {
            "outcomes": derived.outcomes,
            "reason": reason,
            "state_hash": state_hash(document),
            "unmatched": unmatched,
            "stored": (state.outcomes, state.state_hash, state.history_seq),
            "history": (latest.outcomes, latest.state_hash, latest.seq),
        }


def assert_state_is_derived(site: Site) -> None:
    """The stored state, its latest history entry and the served state are the rules applied
    to the stored facts (the whole state document, by its hash)."""
    expected = derived_from_stored_facts(site)
    assert expected["stored"] == expected["history"]
    assert expected["stored"][:2] == (expected["outcomes"], expected["state_hash"])
    served = site.escalation()
    assert served["outcomes"] == expected["outcomes"]
    assert served["recommendation"]["reason"] == expected["reason"]
    assert served["state_hash"] == expected["state_hash"]
    assert served["unmatched_dlt_events"] == expected["unmatched"]


def test_a_grade_5_dlt_for_002_reported_before_its_enrolment_arrived_counts_once_enrolled(
    site: Site,
) -> None:
    # The reported case: subject 002's grade-5 DLT reached enrollment while 002 was registered
    # but not yet enrolled; once 001-003 were enrolled the dose level showed 3 patients and
    # 1 DLT while the stored state was still the one of the empty trial.
    first = enrolled(site)
    second = site.eligible_subject()
    assert second == f"{TRIAL}-002"
    for status, sequence in (("suspected", 1), ("confirmed", 2)):
        deliver(
            site,
            dlt_message(
                second, status=status, dlt_id="DLT-G5", sequence=sequence, grade=5, study_day=9
            ),
        )
    assert site.escalation()["unmatched_dlt_events"] == 1
    site.ok(site.enrol(second), 201)
    third = enrolled(site)
    state = site.escalation()
    assert state["dose_levels"][0]["patients"] == 3
    assert state["dose_levels"][0]["dlts"] == 1
    assert state["unmatched_dlt_events"] == 0
    assert_state_is_derived(site)
    for subject_id in (first, second, third):
        for number in range(1, 5):
            site.ok(infuse(site, subject_id, number), 201)
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC))
    state = site.escalation()
    assert state["outcomes"] == "1NTN"
    assert state["recommendation"]["reason"] == "1 DLT in 3 at level 1: treat 3 more at level 1"
    assert_state_is_derived(site)


def test_a_late_grade_5_dlt_after_the_windows_closed_moves_the_state_at_once(
    site: Site,
) -> None:
    subjects = [enrolled(site) for _ in range(3)]
    for subject_id in subjects:
        for number in range(1, 5):
            site.ok(infuse(site, subject_id, number), 201)
    CLOSE_DLT_WINDOWS.run(site.sessions, datetime.now(UTC))
    assert site.escalation()["outcomes"] == "1NNN"
    late = dlt_message(
        subjects[1], status="suspected", dlt_id="DLT-G5", sequence=1, grade=5, study_day=40
    )
    deliver(site, late)
    held = site.escalation()
    assert held["outcomes"] == ""
    assert held["pending_decision"] is None
    assert_state_is_derived(site)
    confirmed = dlt_message(
        subjects[1], status="confirmed", dlt_id="DLT-G5", sequence=2, grade=5, study_day=40
    )
    deliver(site, confirmed)
    deliver(site, late)  # a redelivery of the older message changes nothing
    state = site.escalation()
    assert state["outcomes"] == "1NTN"
    assert state["pending_decision"]["outcomes"] == "1NTN"
    assert_state_is_derived(site)


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("enrol")),
        st.tuples(st.just("infuse"), st.integers(0, 3)),
        st.tuples(
            st.just("dlt"),
            st.integers(0, 4),
            st.sampled_from(STATUSES),
            st.integers(1, 5),
            st.integers(-10, 60),
            st.integers(1, 4),
            st.sampled_from(("DLT-A", "DLT-B")),
        ),
        st.tuples(st.just("redeliver"), st.integers(0, 20)),
        st.tuples(st.just("job"), st.integers(0, 40)),
        st.tuples(st.just("consent"), st.integers(0, 3), st.integers(-70, -50)),
        st.tuples(st.just("weight"), st.integers(0, 3), st.sampled_from(("70.0", "64.2"))),
    ),
    min_size=4,
    max_size=14,
)


def fresh_trial(site: Site, services: dict[str, ServiceManifest]) -> Trial:
    truncate_everything(site.engine, services)
    created = site.api.post(
        "/v1/trials", json={"shipped_protocol": "hdmsc-rp-01"}, headers=site.auth(Role.ADMIN)
    )
    assert created.status_code == 201, created.text
    return Trial(site)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.tuples(st.just(("enrol",)), st.just(("enrol",)), st.just(("enrol",)), STEPS).map(
        lambda t: [*t[:3], *t[3]]
    )
)
def test_the_state_served_is_the_rules_applied_to_the_stored_facts_after_every_step(
    site: Site, services: dict[str, ServiceManifest], steps: list[tuple[Any, ...]]
) -> None:
    trial = fresh_trial(site, services)
    assert_state_is_derived(site)
    for step in steps:
        apply(trial, step)
        assert_state_is_derived(site)
