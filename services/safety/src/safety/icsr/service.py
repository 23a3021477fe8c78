"""ICH E2B(R3) case safety reports of serious adverse events: which message each AE version
calls for, the facts it is built from, and reading the messages back.

Every version of an AE that is (or was) serious gives one message, in the transaction that
writes the version, with a `safety.icsr.ready` event in the outbox:
- the AE becomes serious (reported serious, or a follow-up adds a seriousness criterion):
  the initial report, under a new safety report id (C.1.1);
- a follow-up of a serious AE: a follow-up message under the same safety report id, with the
  new version's date (C.1.2 / C.1.5) — ICH's versioning of a case;
- a follow-up that removes every seriousness criterion: the SAE is withdrawn, the case is
  nullified (C.1.11.1 = 1) with the reason for change as C.1.11.2. Should the AE turn serious
  again, it is a new case with a new safety report id (ICH: a nullified id is never reused).
The facts of each message are stored; the bytes are built from them with the sender and
receiver settings (`safety.icsr.message.build`), so a message fetched again is the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from doseline import outbox, protocol_versions, sitetime
from doseline.contracts.protocol import in_force_at
from doseline.contracts.safety import IcsrReady
from doseline.errors import Conflict, NotFound
from safety.adverse_events.models import AdverseEventRow, AdverseEventVersionRow
from safety.icsr import repository
from safety.icsr.message import IcsrFacts, IcsrParties, Kind, build
from safety.icsr.models import IcsrMessageRow
from safety.problems import ICSR_MESSAGE_NOT_FOUND, NOT_SERIOUS
from safety.protocols import repository as protocols_repository
from safety.settings import SafetySettings
from safety.subjects.models import SubjectRow


def parties(settings: SafetySettings) -> IcsrParties:
    return IcsrParties(
        sender_id=settings.icsr_sender_id,
        receiver_id=settings.icsr_receiver_id,
        country=settings.icsr_country,
        product_name=settings.icsr_product_name,
        route=settings.icsr_route,
    )


def record_version(
    session: Session, ae: AdverseEventRow, version: AdverseEventVersionRow, subject: SubjectRow
) -> IcsrMessageRow | None:
    """The message this new AE version calls for (None: the AE has never been serious)."""
    earlier = repository.messages(session, ae.id)
    last = earlier[-1] if earlier else None
    open_case = last is not None and last.kind != "nullification"
    kind: Kind
    if ae.serious:
        kind = "follow_up" if open_case else "initial"
    elif open_case:
        kind = "nullification"
    else:
        return None
    if last is not None and open_case:
        report_id = last.safety_report_id
    else:
        report_id = _new_report_id(ae, nullified=sum(m.kind == "nullification" for m in earlier))
    number = 1 if last is None else last.number + 1
    facts = _facts(
        session,
        ae,
        version,
        subject,
        kind=kind,
        report_id=report_id,
        number=number,
        previous=last,
    )
    row = IcsrMessageRow(
        ae_id=ae.id,
        number=number,
        safety_report_id=report_id,
        kind=kind,
        ae_version=version.number,
        created_at=version.recorded_at,
        facts=facts.to_json(),
    )
    session.add(row)
    session.flush()
    outbox.record_event(
        session,
        IcsrReady(
            trial_id=ae.trial_id,
            subject_id=ae.subject_id,
            site_id=subject.site_id,
            ae_id=str(ae.id),
            ae_version=version.number,
            safety_report_id=report_id,
            message_number=number,
            kind=kind,
            href=message_path(ae.id, number),
        ),
        subject=f"subjects/{ae.subject_id}",
    )
    return row


def message_path(ae_id: uuid.UUID, number: int) -> str:
    return f"/v1/adverse-events/{ae_id}/icsr/messages/{number}"


def _new_report_id(ae: AdverseEventRow, *, nullified: int) -> str:
    """C.1.1, unique to the sender: the trial and the AE (then the case's count after a
    nullification, since a nullified id is never reused)."""
    base = f"{ae.trial_id}-{ae.id}"
    return base if nullified == 0 else f"{base}-{nullified + 1}"


def _facts(
    session: Session,
    ae: AdverseEventRow,
    version: AdverseEventVersionRow,
    subject: SubjectRow,
    *,
    kind: Kind,
    report_id: str,
    number: int,
    previous: IcsrMessageRow | None,
) -> IcsrFacts:
    protocol = in_force_at(protocols_repository.versions(session, ae.trial_id), version.onset_date)
    site_name = None
    if protocol is not None:
        rules = protocol_versions.rules_of(protocol)
        site_name = next((s.name for s in rules.sites if s.id == subject.site_id), None)
    if ae.aware_at is not None:
        # Awareness may be a few minutes ahead of the server (CLOCK_SKEW); C.1.4 is never
        # after the case's own date C.1.5 (an IG business rule).
        received = min(ae.aware_at, version.recorded_at)
    else:  # pragma: no cover - a serious AE has its awareness time, kept after a withdrawal
        assert previous is not None
        received = IcsrFacts.from_json(previous.facts).first_received_at
    last_infusion = (
        None
        if subject.last_infusion_at is None
        else sitetime.site_date(subject.last_infusion_at, subject.site_time_zone)
    )
    reason = version.reason_for_change
    if kind == "nullification":
        reason = (
            f"no longer a serious adverse event (version {version.number}): "
            f"{version.reason_for_change}"
        )
    return IcsrFacts(
        safety_report_id=report_id,
        message_number=number,
        kind=kind,
        created_at=version.recorded_at,
        first_received_at=received,
        trial_id=ae.trial_id,
        protocol_id=None if protocol is None else protocol.protocol_id,
        protocol_version=None if protocol is None else protocol.protocol_version,
        site_name=site_name,
        subject_id=ae.subject_id,
        dose_level=subject.dose_level,
        cohort_number=subject.cohort_number,
        first_infusion_on=subject.first_infusion_on,
        last_infusion_on=last_infusion,
        infusions_given=subject.last_infusion_number,
        ae_id=ae.id,
        ae_version=version.number,
        ctcae_version=version.ctcae_version,
        term_code=version.term_code,
        term=version.term_name,
        verbatim=version.verbatim,
        specification=version.specification,
        onset_date=version.onset_date,
        resolution_date=version.resolution_date,
        grade=version.grade,
        seriousness=tuple(version.seriousness),
        attribution=version.attribution,
        expected=version.expected,
        action_taken=version.action_taken,
        outcome=version.outcome,
        reason=reason if kind != "initial" else None,
    )


# ---------------------------------------------------------------------------- reading


def require_messages(session: Session, ae: AdverseEventRow) -> Sequence[IcsrMessageRow]:
    """Every message of the AE, oldest first; 409 when it has never been serious."""
    found = repository.messages(session, ae.id)
    if not found:
        raise Conflict(
            f"adverse event {ae.id} has never been serious: it has no case safety report",
            problem=NOT_SERIOUS,
        )
    return found


def require_message(session: Session, ae: AdverseEventRow, number: int) -> IcsrMessageRow:
    require_messages(session, ae)
    row = repository.message(session, ae.id, number)
    if row is None:
        raise NotFound(
            f"adverse event {ae.id} has no case safety report message {number}",
            problem=ICSR_MESSAGE_NOT_FOUND,
        )
    return row


def render(row: IcsrMessageRow, sender: IcsrParties) -> bytes:
    return build(IcsrFacts.from_json(row.facts), sender)
