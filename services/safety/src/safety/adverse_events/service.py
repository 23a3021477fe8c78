"""Reporting adverse events, following them up as new versions, and the SAE reporting clock.

Every version recorded is judged by the DLT rules (`safety.adjudication`), which is handed the
version's facts and returns the AE's DLT evaluation; adjudication never reads adverse events.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from doseline import audit, outbox, pagination, sitetime
from doseline.audit import canonical_json
from doseline.auth import Principal
from doseline.contracts.safety import (
    AdverseEventRecorded,
    AdverseEventUpdated,
    SaeOverdue,
    SaeReported,
)
from doseline.errors import Conflict, InvalidInput, NotFound
from doseline.etags import check_if_match
from safety.adjudication import service as adjudication
from safety.adjudication.models import DltAssessmentRow, DltCaseRow, DltSignatureRow
from safety.adverse_events import repository
from safety.adverse_events.models import AdverseEventRow, AdverseEventVersionRow
from safety.adverse_events.schemas import (
    AdverseEventContent,
    AdverseEventIn,
    AdverseEventOut,
    AdverseEventVersionOut,
    GradeDisagreementOut,
    SaeClockOut,
)
from safety.catalogue import service as catalogue
from safety.catalogue.models import CtcaeTermRow
from safety.grading.validation import require_defined_grade
from safety.icsr import service as icsr
from safety.problems import ADVERSE_EVENT_NOT_FOUND, NOT_SERIOUS, SAE_ALREADY_REPORTED
from safety.subjects import repository as subjects_repository
from safety.subjects import service as subjects
from safety.subjects.models import SubjectRow

# Protocol / EU CTR Art. 41: the investigator reports a serious AE to the sponsor within 24 hours
# of becoming aware of it (COMPLIANCE-AND-API.md §3.4; the clock starts at awareness).
SAE_REPORTING_CLOCK = timedelta(hours=24)
# Device clocks drift; an awareness time a little ahead of the server is not a future time.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ProposedGrade:
    """A grade proposed by the grading rules, stored beside the investigator's grade."""

    grade: int | None
    reason: str
    basis: dict[str, Any]


def subject_subject_uri(subject_id: str) -> str:
    return f"subjects/{subject_id}"


def site_today(subject: SubjectRow, now: datetime) -> date:
    """Today's calendar date at the subject's site (onset dates are site dates)."""
    return sitetime.site_today(subject.site_time_zone, now)


def validate_content(
    session: Session, subject: SubjectRow, content: AdverseEventContent, *, now: datetime
) -> CtcaeTermRow:
    """The CTCAE term of the report, after every check a 422 can name."""
    term = catalogue.require_term(session, content.ctcae_version, content.term_code)
    require_defined_grade(
        catalogue.as_term(term), content.grade, ctcae_version=content.ctcae_version
    )
    if term.is_other_specify and content.specification is None:
        raise InvalidInput.at(
            ["body", "specification"],
            f"{term.name!r} is an 'Other, specify' term: name the event in 'specification'",
        )
    today = site_today(subject, now)
    if content.onset_date > today:
        raise InvalidInput.at(
            ["body", "onset_date"], f"is after today's date at the site ({today.isoformat()})"
        )
    if content.resolution_date is not None and content.resolution_date > today:
        raise InvalidInput.at(
            ["body", "resolution_date"], f"is after today's date at the site ({today.isoformat()})"
        )
    if content.aware_at is not None and content.aware_at > now + CLOCK_SKEW:
        raise InvalidInput.at(["body", "aware_at"], "is in the future")
    return term


def report(
    session: Session,
    body: AdverseEventIn,
    *,
    actor: str,
    source: str,
    now: datetime,
    proposed: ProposedGrade | None = None,
) -> tuple[AdverseEventRow, AdverseEventVersionRow]:
    """Record a new adverse event (version 1), start its SAE clock, apply the DLT rules; the
    event and its first version."""
    subject = subjects.require_known_subject(session, body.subject_id, lock=True)
    term = validate_content(session, subject, body, now=now)
    ae = AdverseEventRow(
        id=uuid.uuid4(),
        trial_id=subject.trial_id,
        subject_id=subject.subject_id,
        current_version=1,
        source=source,
        created_at=now,
        created_by=actor,
        serious=bool(body.seriousness),
        dlt_evaluation="pending",
    )
    _start_clock(ae, body)
    session.add(ae)
    # The event and its first version reach the database in one flush.
    version = _new_version(
        session, ae, 1, body, term, actor=actor, now=now, proposed=proposed, reason=None
    )
    audit.record(
        session,
        actor=actor,
        action="adverse_event.report",
        entity_type="adverse_event",
        entity_id=str(ae.id),
        after=version_snapshot(ae, version),
    )
    outbox.record_event(
        session,
        AdverseEventRecorded(**_event_facts(ae, version, subject)),
        subject=subject_subject_uri(ae.subject_id),
    )
    if ae.serious:
        _announce_sae(session, ae, version)
        # A new AE has no earlier safety report: only a serious one calls for one (its first).
        icsr.record_version(session, ae, version, subject)
    _assess(session, ae, version, subject, actor=actor, new_event=True)
    return ae, version


def follow_up(
    session: Session,
    ae: AdverseEventRow,
    body: AdverseEventContent,
    *,
    reason: str,
    actor: str,
    now: datetime,
    proposed: ProposedGrade | None = None,
) -> AdverseEventVersionRow:
    """A follow-up: a new version with a reason; a signed adjudication is reopened."""
    subject = subjects.require_known_subject(session, ae.subject_id, lock=True)
    previous = repository.version(session, ae.id, ae.current_version)
    term = validate_content(session, subject, body, now=now)
    was_serious = ae.serious
    number = ae.current_version + 1
    version = _new_version(
        session, ae, number, body, term, actor=actor, now=now, proposed=proposed, reason=reason
    )
    ae.current_version = number
    ae.serious = bool(body.seriousness)
    if ae.serious and not was_serious:
        _start_clock(ae, body)
    elif ae.serious and body.aware_at is not None and body.aware_at != ae.aware_at:
        # A corrected awareness time moves the deadline; an announced overdue stays announced.
        _start_clock(ae, body)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="adverse_event.follow_up",
        entity_type="adverse_event",
        entity_id=str(ae.id),
        before=version_snapshot(ae, previous),
        after=version_snapshot(ae, version),
        reason=reason,
    )
    outbox.record_event(
        session,
        AdverseEventUpdated(**_event_facts(ae, version, subject), reason_for_change=reason),
        subject=subject_subject_uri(ae.subject_id),
    )
    if ae.serious and not was_serious:
        _announce_sae(session, ae, version)
    icsr.record_version(session, ae, version, subject)
    _assess(session, ae, version, subject, actor=actor)
    return version


def record_sponsor_report(
    session: Session, ae: AdverseEventRow, *, reported_at: datetime, actor: str, now: datetime
) -> None:
    """The report reached the sponsor: the SAE clock stops."""
    if not ae.serious or ae.aware_at is None:
        raise Conflict(
            "this adverse event is not serious; it has no reporting clock", problem=NOT_SERIOUS
        )
    if ae.reported_to_sponsor_at is not None:
        raise Conflict(
            "the report to the sponsor was already recorded at "
            f"{ae.reported_to_sponsor_at.isoformat()}",
            problem=SAE_ALREADY_REPORTED,
        )
    if reported_at > now + CLOCK_SKEW:
        raise InvalidInput.at(["body", "reported_at"], "is in the future")
    if reported_at < ae.aware_at:
        raise InvalidInput.at(
            ["body", "reported_at"], "is before the site became aware of the event"
        )
    before = clock_snapshot(ae)
    ae.reported_to_sponsor_at = reported_at
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="sae.reported_to_sponsor",
        entity_type="adverse_event",
        entity_id=str(ae.id),
        before=before,
        after=clock_snapshot(ae),
    )


def raise_overdue(session: Session, now: datetime) -> int:
    """Periodic job: announce each serious AE whose 24-hour clock ran out, once."""
    raised = 0
    for ae in repository.overdue_unraised(session, now):
        if ae.aware_at is None or ae.report_due_at is None:  # pragma: no cover - set together
            continue
        before = clock_snapshot(ae)
        ae.overdue_raised_at = now
        session.flush()
        audit.record(
            session,
            actor="system <sae-clock>",
            action="sae.overdue",
            entity_type="adverse_event",
            entity_id=str(ae.id),
            before=before,
            after=clock_snapshot(ae),
        )
        outbox.record_event(
            session,
            SaeOverdue(
                trial_id=ae.trial_id,
                subject_id=ae.subject_id,
                site_id=site_of(session, ae.subject_id),
                ae_id=str(ae.id),
                aware_at=ae.aware_at,
                due_at=ae.report_due_at,
            ),
            subject=subject_subject_uri(ae.subject_id),
        )
        raised += 1
    return raised


def clock_status(ae: AdverseEventRow, now: datetime) -> str | None:
    if not ae.serious or ae.aware_at is None or ae.report_due_at is None:
        return None
    if ae.reported_to_sponsor_at is not None:
        return "reported" if ae.reported_to_sponsor_at <= ae.report_due_at else "reported_late"
    return "overdue" if now >= ae.report_due_at else "running"


def clock_snapshot(ae: AdverseEventRow) -> dict[str, Any]:
    return {
        "serious": ae.serious,
        "aware_at": ae.aware_at,
        "report_due_at": ae.report_due_at,
        "reported_to_sponsor_at": ae.reported_to_sponsor_at,
        "overdue_raised_at": ae.overdue_raised_at,
    }


REPORTED_ORDER = pagination.Keyset(created_at=datetime, id=uuid.UUID)


def adverse_event_page(
    session: Session,
    *,
    trial_id: str | None,
    subject_id: str | None,
    cursor: str | None,
    limit: int,
    principal: Principal,
    now: datetime,
) -> pagination.Page[AdverseEventOut]:
    """A page of adverse events in the order reported, each with its current version."""
    rows = repository.page(
        session,
        trial_id=trial_id,
        subject_id=subject_id,
        after=REPORTED_ORDER.read(cursor),
        limit=limit + 1,
        principal=principal,
    )
    page = REPORTED_ORDER.page(rows, limit=limit, key=lambda row: (row.created_at, row.id))
    current = repository.current_versions(session, page.items)
    return page.shown_as(lambda row: view(session, row, now=now, current=current[row.id]))


def require_adverse_event(
    session: Session, ae_id: uuid.UUID, *, lock: bool = False
) -> AdverseEventRow:
    row = repository.adverse_event(session, ae_id, lock=lock)
    if row is None:
        raise NotFound(f"no adverse event {ae_id}", problem=ADVERSE_EVENT_NOT_FOUND)
    return row


def version_snapshot(ae: AdverseEventRow, version: AdverseEventVersionRow) -> dict[str, Any]:
    return version.content(ae)


def _start_clock(ae: AdverseEventRow, content: AdverseEventContent) -> None:
    if content.seriousness and content.aware_at is not None:
        ae.aware_at = content.aware_at.astimezone(UTC)
        ae.report_due_at = ae.aware_at + SAE_REPORTING_CLOCK


def _announce_sae(session: Session, ae: AdverseEventRow, version: AdverseEventVersionRow) -> None:
    if ae.aware_at is None or ae.report_due_at is None:  # pragma: no cover - set with serious
        return
    outbox.record_event(
        session,
        SaeReported(
            trial_id=ae.trial_id,
            subject_id=ae.subject_id,
            site_id=site_of(session, ae.subject_id),
            ae_id=str(ae.id),
            criteria=list(version.seriousness),
            aware_at=ae.aware_at,
            due_at=ae.report_due_at,
        ),
        subject=subject_subject_uri(ae.subject_id),
    )


def _new_version(
    session: Session,
    ae: AdverseEventRow,
    number: int,
    content: AdverseEventContent,
    term: CtcaeTermRow,
    *,
    actor: str,
    now: datetime,
    proposed: ProposedGrade | None,
    reason: str | None,
) -> AdverseEventVersionRow:
    version = AdverseEventVersionRow(
        ae_id=ae.id,
        number=number,
        ctcae_version=content.ctcae_version,
        term_code=term.meddra_code,
        term_name=term.name,
        verbatim=content.verbatim,
        specification=content.specification,
        onset_date=content.onset_date,
        resolution_date=content.resolution_date,
        grade=content.grade,
        proposed_grade=proposed.grade if proposed is not None else None,
        proposed_grade_reason=proposed.reason if proposed is not None else None,
        grading_basis=proposed.basis if proposed is not None else None,
        seriousness=list(content.seriousness),
        attribution=content.attribution,
        expected=content.expected,
        action_taken=content.action_taken,
        outcome=content.outcome,
        reason_for_change=reason,
        recorded_at=now,
        recorded_by=actor,
    )
    session.add(version)
    session.flush()
    return version


def site_of(session: Session, subject_id: str) -> str:
    """The site of a subject safety holds adverse events for (its events name the site)."""
    site_id = subjects_repository.site_of_subject(session, subject_id)
    assert site_id is not None, subject_id  # AEs are only recorded for known subjects
    return site_id


def _event_facts(
    ae: AdverseEventRow, version: AdverseEventVersionRow, subject: SubjectRow
) -> dict[str, Any]:
    return {
        "trial_id": ae.trial_id,
        "subject_id": ae.subject_id,
        "site_id": subject.site_id,
        "ae_id": str(ae.id),
        "ae_version": version.number,
        "ctcae_version": version.ctcae_version,
        "term_code": version.term_code,
        "term": version.term_name,
        "grade": version.grade,
        "serious": ae.serious,
        "attribution": version.attribution,
        "onset_date": version.onset_date,
    }


# ---------------------------------------------------------------------------- DLT judgement


def version_facts(
    ae: AdverseEventRow, version: AdverseEventVersionRow
) -> adjudication.VersionFacts:
    """A version as the DLT rules judge it, with the hash of the content a signature covers."""
    content = canonical_json(version.content(ae)).encode()
    return adjudication.VersionFacts(
        ae_id=ae.id,
        trial_id=ae.trial_id,
        subject_id=ae.subject_id,
        number=version.number,
        ctcae_version=version.ctcae_version,
        term_code=version.term_code,
        term_name=version.term_name,
        grade=version.grade,
        attribution=version.attribution,
        onset_date=version.onset_date,
        record_sha256=hashlib.sha256(content).hexdigest(),
    )


def _assess(
    session: Session,
    ae: AdverseEventRow,
    version: AdverseEventVersionRow,
    subject: SubjectRow,
    *,
    actor: str,
    new_event: bool = False,
) -> None:
    ae.dlt_evaluation = adjudication.assess(
        session, version_facts(ae, version), subject, actor=actor, new_event=new_event
    )
    session.flush()


def reassess_subject(session: Session, subject: SubjectRow, *, actor: str) -> int:
    """Re-apply the DLT rules to every AE of a subject (new DLT window or baseline)."""
    count = 0
    for ae in repository.of_subject(session, subject.subject_id):
        version = repository.version(session, ae.id, ae.current_version)
        _assess(session, ae, version, subject, actor=actor)
        count += 1
    return count


@dataclass(frozen=True)
class AmendmentOutcome:
    reassessed: int
    listed_for_review: int


def apply_protocol_version(
    session: Session, *, trial_id: str, sequence: int, protocol_version: str
) -> AmendmentOutcome:
    """A protocol version arrived: every AE it now governs is judged by it (see
    `adjudication.apply_protocol_version`: signed adjudications are listed, never changed)."""
    actor = f"event <enrollment.protocol.activated> ({protocol_version})"
    reassessed = listed = 0
    # The trial's subjects were locked (in id order) before the version was stored, so no AE
    # of theirs is being written meanwhile.
    for ae_id in repository.ids_of_trial(session, trial_id):
        ae = repository.adverse_event(session, ae_id, lock=True)
        if ae is None:  # pragma: no cover - listed above in this transaction
            continue
        version = repository.version(session, ae.id, ae.current_version)
        subject = subjects.require_known_subject(session, ae.subject_id)
        verdict = adjudication.apply_protocol_version(
            session, version_facts(ae, version), subject, sequence=sequence, actor=actor
        )
        if verdict.dlt_evaluation is not None:
            ae.dlt_evaluation = verdict.dlt_evaluation
            session.flush()
            reassessed += 1
        if verdict.listed_for_review:
            listed += 1
    return AmendmentOutcome(reassessed=reassessed, listed_for_review=listed)


def current_version_facts(session: Session, ae_id: uuid.UUID) -> adjudication.VersionFacts:
    """The AE's current version, the AE locked until the transaction ends."""
    ae = require_adverse_event(session, ae_id, lock=True)
    return version_facts(ae, repository.version(session, ae.id, ae.current_version))


def adjudicate_dlt(
    session: Session,
    dlt_id: uuid.UUID,
    *,
    if_match: str | None,
    decision: adjudication.Decision,
    principal: Principal,
    comment: str | None,
    now: datetime,
) -> tuple[DltCaseRow, list[DltSignatureRow]]:
    """A safety physician's signed decision on the DLT, over the AE version it was raised on."""
    case = adjudication.require_case(session, dlt_id, lock=True)
    check_if_match(if_match, current_version=case.version)
    adjudication.adjudicate(
        session,
        case,
        current_version=lambda ae_id: current_version_facts(session, ae_id),
        decision=decision,
        principal=principal,
        comment=comment,
        now=now,
    )
    return case, adjudication.signatures_of(session, case)


def dlt_assessments(session: Session, ae_id: uuid.UUID) -> Sequence[DltAssessmentRow]:
    require_adverse_event(session, ae_id)
    return adjudication.assessments(session, ae_id)


# ---------------------------------------------------------------------------- reading


def overdue(
    session: Session, *, trial_id: str | None, principal: Principal, now: datetime
) -> list[AdverseEventOut]:
    return [
        view(session, ae, now=now)
        for ae in repository.overdue(session, trial_id=trial_id, now=now, principal=principal)
    ]


def disagreements(
    session: Session, trial_id: str, principal: Principal
) -> list[GradeDisagreementOut]:
    return [
        GradeDisagreementOut(
            ae_id=ae.id,
            subject_id=ae.subject_id,
            ae_version=version.number,
            term=version.term_name,
            grade=version.grade,
            proposed_grade=version.proposed_grade or 0,
            proposed_grade_reason=version.proposed_grade_reason,
        )
        for ae, version in repository.disagreements(session, trial_id, principal)
    ]


def view(
    session: Session,
    ae: AdverseEventRow,
    *,
    now: datetime,
    with_versions: bool = False,
    current: AdverseEventVersionRow | None = None,
) -> AdverseEventOut:
    """The adverse event as the API shows it: current version (read unless given), SAE clock,
    maybe every version."""
    if current is None:
        current = repository.version(session, ae.id, ae.current_version)
    clock = clock_status(ae, now)
    sae_clock = None
    if clock is not None and ae.aware_at is not None and ae.report_due_at is not None:
        sae_clock = SaeClockOut(
            aware_at=ae.aware_at,
            due_at=ae.report_due_at,
            reported_to_sponsor_at=ae.reported_to_sponsor_at,
            status=clock,
        )
    return AdverseEventOut(
        id=ae.id,
        trial_id=ae.trial_id,
        subject_id=ae.subject_id,
        source=ae.source,
        serious=ae.serious,
        dlt_evaluation=ae.dlt_evaluation,
        sae_clock=sae_clock,
        current=version_view(current),
        versions=[version_view(v) for v in repository.versions(session, ae.id)]
        if with_versions
        else None,
    )


def version_view(version: AdverseEventVersionRow) -> AdverseEventVersionOut:
    values: dict[str, Any] = {
        "number": version.number,
        "ctcae_version": version.ctcae_version,
        "term_code": version.term_code,
        "term": version.term_name,
        "verbatim": version.verbatim,
        "specification": version.specification,
        "onset_date": version.onset_date,
        "resolution_date": version.resolution_date,
        "grade": version.grade,
        "proposed_grade": version.proposed_grade,
        "proposed_grade_reason": version.proposed_grade_reason,
        "grading_basis": version.grading_basis,
        "seriousness": list(version.seriousness),
        "attribution": version.attribution,
        "expected": version.expected,
        "action_taken": version.action_taken,
        "outcome": version.outcome,
        "reason_for_change": version.reason_for_change,
        "recorded_at": version.recorded_at,
        "recorded_by": version.recorded_by,
    }
    return AdverseEventVersionOut(**values)
