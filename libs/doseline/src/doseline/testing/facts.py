"""Enrollment's facts about a subject as the other services receive them, for tests and benches
that need an enrolled, infused subject of HDMSC-RP-01 without running enrollment.

The values follow the shipped protocol: site WCH in Asia/Shanghai, protocol 1.0, four
infusions, dose level 1 of 2.00E+7 cells, and the DLT window enrollment announces from day 1.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from doseline.contracts.enrollment import InfusionAdministered, SubjectEnrolled

TRIAL = "HDMSC-RP-01"
SITE = "WCH"
SITE_TIME_ZONE = "Asia/Shanghai"
INFUSIONS_PLANNED = 4
# The last day of the DLT window, counted from day 1 (as enrollment's InfusionAdministered says).
DLT_WINDOW_LAST_DAY_OFFSET = timedelta(days=29)


def enrolled(
    subject_id: str,
    *,
    enrolled_at: datetime,
    trial_id: str = TRIAL,
    dose_level: int = 1,
    site_time_zone: str = SITE_TIME_ZONE,
) -> SubjectEnrolled:
    """The subject took a slot of cohort 1 under protocol 1.0."""
    return SubjectEnrolled(
        trial_id=trial_id,
        subject_id=subject_id,
        site_id=SITE,
        cohort_number=1,
        dose_level=dose_level,
        enrolled_at=enrolled_at,
        protocol_version="1.0",
        site_time_zone=site_time_zone,
    )


def infused(
    subject_id: str,
    *,
    day1: date,
    number: int = 1,
    administered_at: datetime | None = None,
    trial_id: str = TRIAL,
    dose_level: int = 1,
    dose_cells: str = "2.00E+7",
) -> InfusionAdministered:
    """Infusion `number` of the subject whose first infusion was on `day1` (at midnight UTC of
    that day unless `administered_at` says otherwise), with its DLT window."""
    return InfusionAdministered(
        trial_id=trial_id,
        subject_id=subject_id,
        site_id=SITE,
        infusion_number=number,
        infusions_planned=INFUSIONS_PLANNED,
        is_last=number == INFUSIONS_PLANNED,
        administered_at=administered_at or datetime.combine(day1, datetime.min.time(), UTC),
        dose_level=dose_level,
        dose_cells=dose_cells,
        first_infusion_on=day1,
        dlt_window_start=day1,
        dlt_window_end=day1 + DLT_WINDOW_LAST_DAY_OFFSET,
    )
