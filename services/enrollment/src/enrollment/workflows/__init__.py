"""Use cases that span enrollment's domains, each step done by the domain that owns it.

The domain packages are ordered (pyproject.toml, the enrollment order contract): trials at the
bottom, then subjects, screening, cohorts, dose orders, dosing, deviations, DLT windows, the
escalation state and visits. A package reads and calls only the ones below it. When a change in
a lower domain must be followed by a step in a higher one (a trial's first cohort, the escalation
recompute after a withdrawal), the workflow here runs both, in the same transaction and in the
order the domains did before; endpoints, consumers and periodic jobs call it.
"""
