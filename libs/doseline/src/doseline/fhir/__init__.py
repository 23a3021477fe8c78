"""FHIR R4 at the door: Bundles as EHRs send them, resource identity, answers in FHIR's terms.

Safety (lab results) and imaging (lung function, blood gas, walk tests) receive the same shapes
from hospital systems; what a Bundle entry is, how a reference resolves, how an Observation is
identified when its feed omits `meta.versionId`, and how an answer is written back
(OperationOutcome, batch-response) are decided here once.
"""
