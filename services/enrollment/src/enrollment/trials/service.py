"""Trial use cases: create a trial from a protocol document, amend its protocol, publish the
rules in force. What follows in other domains (the first cohort, the escalation state, a
recompute) is started by `enrollment.workflows.trials`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from doseline import audit, outbox, pagination, sitetime
from doseline.contracts.protocol import ProtocolActivated
from doseline.errors import Conflict, InvalidInput, NotFound
from doseline.schema import ServiceSchema
from enrollment.problems import (
    INVALID_PROTOCOL,
    NO_CHANGE,
    PROTOCOL_NOT_FOUND,
    SITE_HAS_SUBJECTS,
    TRIAL_EXISTS,
)
from enrollment.protocol import Protocol, ProtocolError, load_protocol
from enrollment.trials import repository
from enrollment.trials.models import ProtocolVersionRow, Trial
from enrollment.trials.protocols import parse_stored, protocol_of, shipped_protocol_path


def site_today(trial: Trial, now: datetime) -> date:
    """The calendar day at the site (the trial's IANA zone) at `now`."""
    return sitetime.site_today(trial.time_zone, now)


def read_shipped_protocol(name: str) -> str:
    path = shipped_protocol_path(name)
    if not path.is_file():
        raise NotFound(
            f"no shipped protocol {name!r}; send the document as protocol_yaml instead",
            problem=PROTOCOL_NOT_FOUND,
        )
    return path.read_text(encoding="utf-8")


def parse_protocol(document: str) -> Protocol:
    """The protocol, or a 422 that lists every offending field."""
    if "\n" not in document.strip():
        # load_protocol reads a one-line `*.yaml` string as a file name: never from a request.
        raise InvalidInput.at(
            ["body", "protocol_yaml"], "must be the YAML document itself, not a file name"
        )
    try:
        return load_protocol(document)
    except ProtocolError as error:
        raise InvalidInput(
            f"the protocol document is not valid: {error}",
            problem=INVALID_PROTOCOL,
            extra={
                "errors": [
                    {
                        "loc": ["body", "protocol_yaml", *issue.path.split(".")],
                        "msg": issue.message,
                        "line": issue.line,
                        "column": issue.column,
                    }
                    for issue in error.issues
                ]
            },
        ) from None


def _store_version(
    session: Session, protocol: Protocol, document: str, actor: str, now: datetime
) -> ProtocolVersionRow:
    existing = repository.find_protocol_version(
        session, protocol_id=protocol.protocol.id, content_hash=protocol.content_hash
    )
    if existing is not None:
        return existing
    row = ProtocolVersionRow(
        protocol_id=protocol.protocol.id,
        version=protocol.protocol.version,
        content_hash=protocol.content_hash,
        document=document,
        loaded_by=actor,
        loaded_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="protocol.load",
        entity_type="protocol_version",
        entity_id=f"{protocol.protocol.id}@{protocol.protocol.version}",
        after={"content_hash": protocol.content_hash, "version": protocol.protocol.version},
    )
    return row


def publish_activation(
    session: Session,
    *,
    trial: Trial,
    protocol: Protocol,
    activation: Literal["initial", "amendment"],
    effective_from: date | None,
    reason: str | None,
    now: datetime,
) -> None:
    """Tell every service the rules now in force: the protocol's rules, version and hash.

    The trial row's version (bumped by every activation, under the trial's row lock) orders the
    activations, so consumers can take them in any order."""
    session.flush()
    outbox.record_event(
        session,
        ProtocolActivated(
            trial_id=trial.id,
            protocol_id=protocol.protocol.id,
            protocol_version=protocol.protocol.version,
            content_hash=protocol.content_hash,
            sequence=trial.version,
            activation=activation,
            effective_from=effective_from,
            activated_at=now,
            reason=reason,
            rules=protocol.trial_rules(),
        ),
        subject=f"trials/{trial.id}/protocol",
    )


def create_trial(
    session: Session, *, protocol: Protocol, document: str, actor: str, now: datetime
) -> Trial:
    """A trial under `protocol` (parsed from `document`); no cohort is open yet."""
    trial_id = protocol.protocol.id
    if repository.get_trial(session, trial_id) is not None:
        raise Conflict(
            f"trial {trial_id} already exists; amend its protocol instead",
            problem=TRIAL_EXISTS,
        )
    version = _store_version(session, protocol, document, actor, now)
    trial = Trial(
        id=trial_id,
        protocol_version_id=version.id,
        site=protocol.site.name,
        time_zone=protocol.site.time_zone,
        status="open",
        last_subject_number=0,
        created_at=now,
    )
    session.add(trial)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="trial.create",
        entity_type="trial",
        entity_id=trial_id,
        after={
            "protocol_version": protocol.protocol.version,
            "protocol_hash": protocol.content_hash,
            "site": trial.site,
            "time_zone": trial.time_zone,
        },
    )
    return trial


def _effective_from(trial: Trial, effective_from: date | None, now: datetime) -> date:
    """The first site date an amendment governs: today at the site unless an earlier day is
    named; never a later one."""
    today = sitetime.site_today(trial.time_zone, now)
    if effective_from is None:
        return today
    if effective_from > today:
        raise InvalidInput.at(
            ["body", "effective_from"],
            f"is after today's date at the site ({today.isoformat()}); amend the protocol on the"
            " day it comes into force",
        )
    return effective_from


def _check_amendment(
    session: Session, trial: Trial, protocol: Protocol, sites_with_subjects: Collection[str]
) -> ProtocolVersionRow:
    """The version in force, if `protocol` may replace it: the same trial, a new document and
    version string, and every site with subjects still listed."""
    if protocol.protocol.id != trial.id:
        raise InvalidInput.at(
            ["body", "protocol_yaml"],
            f"the document is for trial {protocol.protocol.id}, not {trial.id}",
        )
    current = repository.get_protocol_version(session, trial.protocol_version_id)
    if protocol.content_hash == current.content_hash:
        raise Conflict("the document is the protocol version already in force", problem=NO_CHANGE)
    if protocol.protocol.version == current.version:
        raise InvalidInput.at(
            ["body", "protocol_yaml"],
            f"an amendment needs a new version string (version {current.version} is in force)",
        )
    kept = {site.id for site in protocol.sites}
    dropped = sorted(site_id for site_id in set(sites_with_subjects) if site_id not in kept)
    if dropped:
        raise Conflict(
            f"the amendment drops the sites {dropped}, which have subjects; keep them listed",
            problem=SITE_HAS_SUBJECTS,
            extra={"sites": dropped},
        )
    return current


def amend_protocol(
    session: Session,
    *,
    trial: Trial,
    protocol: Protocol,
    document: str,
    sites_with_subjects: Collection[str],
    reason: str,
    actor: str,
    now: datetime,
    effective_from: date | None = None,
) -> Trial:
    """A new protocol version for the trial (`protocol`, parsed from `document`); decisions
    already taken keep the version they used. `sites_with_subjects` are the sites the trial's
    subjects belong to: an amendment may not drop one.

    ``effective_from`` is the first site date the version governs (default: today at the site).
    It may lie in the past (an amendment that applies to events already reported, which safety
    then re-assesses); it may not lie in the future, because enrollment applies the new version
    from now on."""
    effective_from = _effective_from(trial, effective_from, now)
    current = _check_amendment(session, trial, protocol, sites_with_subjects)
    version = _store_version(session, protocol, document, actor, now)
    before = {"protocol_version": current.version, "protocol_hash": current.content_hash}
    trial.protocol_version_id = version.id
    trial.time_zone = protocol.site.time_zone
    trial.site = protocol.site.name
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="trial.amend_protocol",
        entity_type="trial",
        entity_id=trial.id,
        before=before,
        after={
            "protocol_version": protocol.protocol.version,
            "protocol_hash": protocol.content_hash,
            "effective_from": effective_from.isoformat(),
        },
        reason=reason,
    )
    publish_activation(
        session,
        trial=trial,
        protocol=protocol,
        activation="amendment",
        effective_from=effective_from,
        reason=reason,
        now=now,
    )
    return trial


def publish_if_unpublished(session: Session, trial: Trial) -> list[str]:
    """Publish the version in force of a trial created before protocol versions were published:
    its consumers (safety, imaging) have no rules until it is published once."""
    if _activation_published(session, trial.id):
        return []
    current = protocol_of(session, trial)
    publish_activation(
        session,
        trial=trial,
        protocol=current,
        activation="initial",
        effective_from=None,
        reason="version in force published for a trial that predates protocol events",
        now=datetime.now(UTC),
    )
    return [f"protocol {current.protocol.version} of {trial.id} published"]


def _activation_published(session: Session, trial_id: str) -> bool:
    table = ServiceSchema.of(session).kit.outbox
    found = session.execute(
        select(table.c.id)
        .where(
            table.c.event_type == ProtocolActivated.event_type,
            table.c.envelope["data"]["trial_id"].astext == trial_id,
        )
        .limit(1)
    ).first()
    return found is not None


@dataclass(frozen=True)
class TrialView:
    trial: Trial
    protocol: Protocol
    version: ProtocolVersionRow


def get_trial(session: Session, trial_id: str, *, for_update: bool = False) -> Trial:
    trial = repository.get_trial(session, trial_id, for_update=for_update)
    if trial is None:
        raise NotFound(f"no trial {trial_id}")
    return trial


def view(session: Session, trial: Trial) -> TrialView:
    return TrialView(
        trial=trial,
        protocol=protocol_of(session, trial),
        version=repository.get_protocol_version(session, trial.protocol_version_id),
    )


TRIAL_ORDER = pagination.Keyset(id=str)


def trial_page(session: Session, *, cursor: str | None, limit: int) -> pagination.Rows[TrialView]:
    """Trials in id order, `limit` after the cursor, with their protocol versions read at once."""
    (after,) = TRIAL_ORDER.read(cursor) or (None,)
    rows = repository.trials_after(session, after=after, limit=limit + 1)
    page = TRIAL_ORDER.page(rows, limit=limit, key=lambda trial: (trial.id,))
    versions = repository.protocol_versions(
        session, [trial.protocol_version_id for trial in page.items]
    )
    views = [
        TrialView(
            trial=trial,
            protocol=parse_stored(versions[trial.protocol_version_id].document),
            version=versions[trial.protocol_version_id],
        )
        for trial in page.items
    ]
    return pagination.Rows(items=views, next_cursor=page.next_cursor)
