"""Whether a result falls in the subject's AE reporting period, and on which site day it falls.

Only a result dated within the protocol's AE reporting period (from the first infusion to
`ae_reporting_period.months_after_last_infusion` months after the last) can propose an adverse
event; an earlier or later one is kept as history (and an earlier one may be the baseline).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from doseline import sitetime
from safety.ehr.reading import EntryRejected
from safety.protocols.service import RulesInForce
from safety.subjects.models import SubjectRow


def outside_reporting_period(
    subject: SubjectRow, onset: date, rules_in_force: Callable[[str, date], RulesInForce | None]
) -> str | None:
    """Why a result dated `onset` cannot propose an AE for the subject; None when it can."""
    first = subject.first_infusion_on
    if first is None:
        return (
            f"history: dated {onset.isoformat()}, before the subject's first infusion (none "
            "recorded yet); kept for the baseline, no adverse event proposed"
        )
    if onset < first:
        return (
            f"history: dated {onset.isoformat()}, before the first infusion on "
            f"{first.isoformat()} (the start of the AE reporting period); kept for the "
            "baseline, no adverse event proposed"
        )
    if subject.last_infusion_at is None:
        return None
    rules = rules_in_force(subject.trial_id, onset)
    if rules is None:
        return None
    months = rules.rules.ae_reporting_period.months_after_last_infusion
    last = sitetime.site_date(subject.last_infusion_at, subject.site_time_zone)
    end = sitetime.add_months(last, months)
    if onset > end:
        return (
            f"history: dated {onset.isoformat()}, after the AE reporting period ended on "
            f"{end.isoformat()} ({months} months after the last infusion); no adverse event "
            "proposed"
        )
    return None


def site_date(effective: datetime | date, subject: SubjectRow) -> date:
    if not isinstance(effective, datetime):
        return effective
    if effective.tzinfo is None:
        raise EntryRejected("Observation.effectiveDateTime needs a time-zone offset")
    return sitetime.site_date(effective, subject.site_time_zone)
