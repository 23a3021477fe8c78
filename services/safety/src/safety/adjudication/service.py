"""DLT rule sets per trial, assessment of each AE version, and signed adjudication.

PROTOCOL.md: the software flags *suspected* DLTs; a safety physician confirms or rules them out
with a signature, and every confirmation is an event. An AE edited after adjudication reopens it:
the signature is voided (21 CFR 11.70 binds it to the signed version) and the rules run again.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from doseline import audit, outbox
from doseline.audit import canonical_json
from doseline.auth import Principal
from doseline.contracts.safety import DltConfirmed, DltRuledOut, DltSuspected
from doseline.errors import Conflict, DoselineError, NotFound
from safety.adjudication import evaluation, repository
from safety.adjudication.models import (
    DltAssessmentRow,
    DltCaseRow,
    DltRuleSetRow,
    DltSignatureRow,
)
from safety.adverse_events import repository as adverse_events
from safety.adverse_events.models import AdverseEventRow, AdverseEventVersionRow
from safety.catalogue import service as catalogue
from safety.subjects import repository as subjects_repository
from safety.subjects.models import SubjectRow

Decision = Literal["confirm", "rule_out"]
_REAUTHENTICATE = 'Bearer realm="doseline", error="insufficient_user_authentication"'

# 21 CFR 11.200: a signing outside a continuous session uses all components; the signer must have
# entered their credentials within this window.
REAUTHENTICATION_WINDOW = timedelta(minutes=5)

# 21 CFR 11.50(b): the meaning of each signature, shown wherever the signature is shown.
MEANINGS: dict[Decision, str] = {
    "confirm": "I confirm this event is a dose-limiting toxicity",
    "rule_out": "I confirm this event is not a dose-limiting toxicity",
}


# ---------------------------------------------------------------------------- rule sets


def current_rule_set(session: Session, trial_id: str, *, actor: str) -> DltRuleSetRow:
    """The trial's newest rule set; the protocol's defaults become version 1 if none exists."""
    row = repository.latest_rule_set(session, trial_id)
    if row is not None:
        return row
    return register_rule_set(
        session,
        trial_id,
        evaluation.default_rules(),
        actor=actor,
        reason="protocol default DLT definition (PROTOCOL.md)",
    )


def register_rule_set(
    session: Session, trial_id: str, rules: dict[str, Any], *, actor: str, reason: str
) -> DltRuleSetRow:
    """A new version of the trial's rules; identical rules to the current version change nothing."""
    normalised = evaluation.normalise_rules(rules)
    repository.lock_trial_rules(session, trial_id)
    latest = repository.latest_rule_set(session, trial_id)
    if latest is not None and canonical_json(latest.rules) == canonical_json(normalised):
        return latest
    row = DltRuleSetRow(
        trial_id=trial_id,
        number=1 if latest is None else latest.number + 1,
        rules=normalised,
        created_at=datetime.now(UTC),
        created_by=actor,
        reason=reason,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dlt_rules.register",
        entity_type="dlt_rule_set",
        entity_id=f"{trial_id}/{row.number}",
        before=latest.rules if latest is not None else None,
        after=row.rules,
        reason=reason,
    )
    return row


# ---------------------------------------------------------------------------- assessment


def assess(
    session: Session,
    ae: AdverseEventRow,
    version: AdverseEventVersionRow,
    subject: SubjectRow,
    *,
    actor: str,
) -> DltAssessmentRow | None:
    """Apply the trial's DLT rules to this version; raise, reopen or withdraw a DLT case."""
    if subject.first_infusion_on is None or subject.dlt_window_end is None:
        # Enrollment's infusion event has not arrived: keep the AE, assess when it does.
        ae.dlt_evaluation = "awaiting_dlt_window"
        session.flush()
        return None
    rule_set = current_rule_set(session, ae.trial_id, actor=actor)
    term = catalogue.require_term(session, version.ctcae_version, version.term_code)
    verdict = evaluation.evaluate(
        rule_set.rules,
        term=catalogue.as_term(term),
        grade=version.grade,
        attribution=version.attribution,
        onset_date=version.onset_date,
        ctcae_version=version.ctcae_version,
        subject=subject,
    )
    now = datetime.now(UTC)
    assessment = DltAssessmentRow(
        id=uuid.uuid4(),
        ae_id=ae.id,
        ae_version=version.number,
        rule_set_number=rule_set.number,
        is_suspected_dlt=verdict.is_suspected_dlt,
        study_day=verdict.study_day,
        matched_rules=list(verdict.matched_rules),
        reasons=list(verdict.reasons),
        assessed_at=now,
    )
    session.add(assessment)
    ae.dlt_evaluation = "suspected_dlt" if verdict.is_suspected_dlt else "not_dlt"
    session.flush()
    existing = repository.case_of_ae(session, ae.id, lock=True)
    if verdict.is_suspected_dlt:
        _suspect(session, ae, version, rule_set, verdict, existing, actor=actor, now=now)
    elif existing is not None and existing.status in {"suspected", "confirmed", "ruled_out"}:
        _withdraw(session, ae, version, existing, actor=actor, now=now)
    return assessment


def reassess_subject(session: Session, subject: SubjectRow, *, actor: str) -> int:
    """Re-apply the rules to every AE of a subject (new DLT window or baseline)."""
    count = 0
    for ae in adverse_events.of_subject(session, subject.subject_id):
        version = adverse_events.version(session, ae.id, ae.current_version)
        assess(session, ae, version, subject, actor=actor)
        count += 1
    return count


def _suspect(
    session: Session,
    ae: AdverseEventRow,
    version: AdverseEventVersionRow,
    rule_set: DltRuleSetRow,
    verdict: evaluation.Verdict,
    existing: DltCaseRow | None,
    *,
    actor: str,
    now: datetime,
) -> None:
    study_day = verdict.study_day if verdict.study_day is not None else 0
    if existing is None:
        case = DltCaseRow(
            id=uuid.uuid4(),
            ae_id=ae.id,
            trial_id=ae.trial_id,
            subject_id=ae.subject_id,
            status="suspected",
            ae_version=version.number,
            rule_set_number=rule_set.number,
            matched_rules=list(verdict.matched_rules),
            study_day=study_day,
            baseline_grade=verdict.baseline_grade,
            adjudication_sequence=1,
            updated_at=now,
        )
        session.add(case)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="dlt.suspected",
            entity_type="dlt",
            entity_id=str(case.id),
            after=case_snapshot(case),
        )
        _publish(session, DltSuspected, case, version)
        return
    if existing.ae_version == version.number and existing.status in {"confirmed", "ruled_out"}:
        # The same version assessed again (a new window or baseline that does not change the
        # verdict): the signature on that version stays valid.
        return
    facts = (rule_set.number, list(verdict.matched_rules), study_day, verdict.baseline_grade)
    if (
        existing.ae_version == version.number
        and existing.status == "suspected"
        and facts
        == (
            existing.rule_set_number,
            list(existing.matched_rules),
            existing.study_day,
            existing.baseline_grade,
        )
    ):
        return
    before = case_snapshot(existing)
    if existing.status in {"confirmed", "ruled_out"}:
        repository.void_signatures(
            session, existing.id, at=now, reason=f"adverse event changed (version {version.number})"
        )
    existing.status = "suspected"
    existing.ae_version = version.number
    existing.rule_set_number = rule_set.number
    existing.matched_rules = list(verdict.matched_rules)
    existing.study_day = study_day
    existing.baseline_grade = verdict.baseline_grade
    existing.adjudication_sequence += 1
    existing.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dlt.reopened",
        entity_type="dlt",
        entity_id=str(existing.id),
        before=before,
        after=case_snapshot(existing),
        reason=f"adverse event version {version.number} meets the DLT rules (reassessed)",
    )
    _publish(session, DltSuspected, existing, version)


def _withdraw(
    session: Session,
    ae: AdverseEventRow,
    version: AdverseEventVersionRow,
    case: DltCaseRow,
    *,
    actor: str,
    now: datetime,
) -> None:
    """The AE no longer meets the rules: a confirmed or suspected DLT is withdrawn."""
    before = case_snapshot(case)
    was = case.status
    repository.void_signatures(
        session, case.id, at=now, reason=f"adverse event changed (version {version.number})"
    )
    case.status = "withdrawn"
    case.ae_version = version.number
    case.adjudication_sequence += 1
    case.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dlt.withdrawn",
        entity_type="dlt",
        entity_id=str(case.id),
        before=before,
        after=case_snapshot(case),
        reason=f"adverse event version {version.number} no longer meets the DLT rules",
    )
    if was in {"confirmed", "suspected"}:
        _publish(session, DltRuledOut, case, version, adjudicated_at=now, signature_hash=None)


# ---------------------------------------------------------------------------- adjudication


def adjudicate(
    session: Session,
    case: DltCaseRow,
    *,
    decision: Decision,
    principal: Principal,
    comment: str | None,
    now: datetime,
) -> DltSignatureRow:
    """A safety physician's signed decision on a suspected DLT (21 CFR 11.50, 11.70, 11.200)."""
    if not principal.authenticated_within(REAUTHENTICATION_WINDOW, now=now):
        raise DoselineError(
            "signing needs a fresh authentication: sign in again (within the last "
            f"{int(REAUTHENTICATION_WINDOW.total_seconds() // 60)} minutes) and resend",
            status=401,
            slug="reauthentication-required",
            title="Re-authentication required to sign",
            headers={"WWW-Authenticate": _REAUTHENTICATE},
        )
    if case.status != "suspected":
        raise Conflict(
            f"this DLT is {case.status.replace('_', ' ')}; only a suspected DLT can be adjudicated",
            slug="dlt-not-suspected",
            extra={"dlt_status": case.status},
        )
    ae = adverse_events.adverse_event(session, case.ae_id, lock=True)
    if ae is None:  # pragma: no cover - foreign key
        raise NotFound(f"adverse event {case.ae_id} of DLT {case.id} is missing")
    if ae.current_version != case.ae_version:  # pragma: no cover - edits reassess first
        raise Conflict("the adverse event changed; read the DLT again", slug="dlt-stale")
    version = adverse_events.version(session, ae.id, ae.current_version)
    record_hash = hashlib.sha256(canonical_json(version.content(ae)).encode()).hexdigest()
    signature = DltSignatureRow(
        id=uuid.uuid4(),
        dlt_id=case.id,
        ae_id=ae.id,
        ae_version=version.number,
        decision=decision,
        meaning=MEANINGS[decision],
        signer_subject=principal.subject,
        signer_name=principal.name,
        signed_at=now,
        record_sha256=record_hash,
        comment=comment,
    )
    session.add(signature)
    before = case_snapshot(case)
    case.status = "confirmed" if decision == "confirm" else "ruled_out"
    case.adjudication_sequence += 1
    case.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=principal.audit_name,
        action=f"dlt.{case.status}",
        entity_type="dlt",
        entity_id=str(case.id),
        before=before,
        after={**case_snapshot(case), "signature": signature_snapshot(signature)},
        reason=comment,
    )
    contract = DltConfirmed if decision == "confirm" else DltRuledOut
    _publish(session, contract, case, version, adjudicated_at=now, signature_hash=record_hash)
    return signature


def require_case(session: Session, dlt_id: uuid.UUID, *, lock: bool = False) -> DltCaseRow:
    row = repository.case(session, dlt_id, lock=lock)
    if row is None:
        raise NotFound(f"no DLT {dlt_id}", slug="dlt-not-found")
    return row


def case_snapshot(case: DltCaseRow) -> dict[str, Any]:
    return {
        "dlt_id": str(case.id),
        "ae_id": str(case.ae_id),
        "status": case.status,
        "ae_version": case.ae_version,
        "rule_set_number": case.rule_set_number,
        "matched_rules": list(case.matched_rules),
        "study_day": case.study_day,
        "baseline_grade": case.baseline_grade,
        "adjudication_sequence": case.adjudication_sequence,
    }


def signature_snapshot(signature: DltSignatureRow) -> dict[str, Any]:
    return {
        "signer": signature.signer_subject,
        "signer_name": signature.signer_name,
        "meaning": signature.meaning,
        "signed_at": signature.signed_at,
        "ae_version": signature.ae_version,
        "record_sha256": signature.record_sha256,
    }


def _publish(
    session: Session,
    contract: type[DltSuspected] | type[DltConfirmed] | type[DltRuledOut],
    case: DltCaseRow,
    version: AdverseEventVersionRow,
    **extra: Any,
) -> None:
    facts: dict[str, Any] = {
        "trial_id": case.trial_id,
        "subject_id": case.subject_id,
        "site_id": subjects_repository.site_of_subject(session, case.subject_id),
        "dlt_id": str(case.id),
        "ae_id": str(case.ae_id),
        "ae_version": version.number,
        "term_code": version.term_code,
        "term": version.term_name,
        "grade": version.grade,
        "baseline_grade": case.baseline_grade,
        "attribution": version.attribution,
        "study_day": case.study_day,
        "rules": list(case.matched_rules),
        "adjudication_sequence": case.adjudication_sequence,
    }
    outbox.record_event(session, contract(**facts, **extra), subject=f"subjects/{case.subject_id}")
