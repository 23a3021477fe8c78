"""Reporting adverse events, following them up as new versions, and the SAE reporting clock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from doseline import audit, outbox, pagination, sitetime
from doseline.auth import Principal
from doseline.contracts.safety import (
    AdverseEventRecorded,
    AdverseEventUpdated,
    SaeOverdue,
    SaeReported,
)
from doseline.errors import Conflict, InvalidInput, NotFound
from safety.adjudication import service as adjudication
from safety.adverse_events import repository
from safety.adverse_events.models import AdverseEventRow, AdverseEventVersionRow
from safety.adverse_events.schemas import AdverseEventContent, AdverseEventIn
from safety.catalogue import service as catalogue
from safety.catalogue.models import CtcaeTermRow
from safety.grading.validation import require_defined_grade
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
) -> AdverseEventRow:
    """Record a new adverse event (version 1), start its SAE clock, apply the DLT rules."""
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
    session.flush()
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
        AdverseEventRecorded(**_event_facts(session, ae, version)),
        subject=subject_subject_uri(ae.subject_id),
    )
    if ae.serious:
        _announce_sae(session, ae, version)
    adjudication.assess(session, ae, version, subject, actor=actor)
    return ae


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
        AdverseEventUpdated(**_event_facts(session, ae, version), reason_for_change=reason),
        subject=subject_subject_uri(ae.subject_id),
    )
    if ae.serious and not was_serious:
        _announce_sae(session, ae, version)
    adjudication.assess(session, ae, version, subject, actor=actor)
    return version


def record_sponsor_report(
    session: Session, ae: AdverseEventRow, *, reported_at: datetime, actor: str, now: datetime
) -> None:
    """The report reached the sponsor: the SAE clock stops."""
    if not ae.serious or ae.aware_at is None:
        raise Conflict(
            "this adverse event is not serious; it has no reporting clock", slug="not-serious"
        )
    if ae.reported_to_sponsor_at is not None:
        raise Conflict(
            "the report to the sponsor was already recorded at "
            f"{ae.reported_to_sponsor_at.isoformat()}",
            slug="sae-already-reported",
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
) -> pagination.Rows[tuple[AdverseEventRow, AdverseEventVersionRow]]:
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
    return pagination.Rows(
        items=[(row, current[row.id]) for row in page.items], next_cursor=page.next_cursor
    )


def require_adverse_event(
    session: Session, ae_id: uuid.UUID, *, lock: bool = False
) -> AdverseEventRow:
    row = repository.adverse_event(session, ae_id, lock=lock)
    if row is None:
        raise NotFound(f"no adverse event {ae_id}", slug="adverse-event-not-found")
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
    session: Session, ae: AdverseEventRow, version: AdverseEventVersionRow
) -> dict[str, Any]:
    return {
        "trial_id": ae.trial_id,
        "subject_id": ae.subject_id,
        "site_id": site_of(session, ae.subject_id),
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
