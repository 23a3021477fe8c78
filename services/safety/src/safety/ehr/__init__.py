"""EHR lab intake: FHIR R4 Observations graded into proposed adverse events."""
