"""The protocol's visits as SDTM numbers them: VISITNUM and VISIT, one rule for every service.

Enrollment's trial visits (TV) and subject visits (SV) and the findings other services record at
those visits (imaging's RE, FT, QS) must name a visit alike, so the numbering is read from the
protocol's rules (`TrialRules`, which every service receives) in one place: screening 1, baseline
2, infusion n 2 + n, then each follow-up visit in the protocol's order. VISIT is the protocol's
visit id in capitals (BASELINE, MONTH-1).
"""

from __future__ import annotations

from doseline.contracts.protocol import TrialRules

SCREENING = "screening"


def visit_numbers(rules: TrialRules) -> dict[str, float]:
    """VISITNUM of screening, baseline and each follow-up visit id of the protocol version."""
    numbers = {SCREENING: 1.0, rules.visits.baseline_id: 2.0}
    infusions = len(rules.infusions.days)
    for order, visit in enumerate(rules.visits.follow_up, start=1):
        numbers[visit.id] = infusion_visit_number(infusions + order)
    return numbers


def infusion_visit_number(number: int) -> float:
    """VISITNUM of infusion `number` (1, 2, ...): right after screening and baseline."""
    return float(2 + number)


def visit_name(visit_id: str) -> str:
    """VISIT of a protocol visit id: the id in capitals."""
    return visit_id.upper()
