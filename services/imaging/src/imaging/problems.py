"""The problem types imaging answers besides the kit's (docs/problems.md)."""

from __future__ import annotations

from doseline.problems import KIT, ProblemCatalogue

PROBLEMS = ProblemCatalogue("imaging", includes=[KIT])

SUBJECT_NOT_KNOWN_YET = PROBLEMS.declare(
    "subject-not-known-yet",
    409,
    "Subject not known to imaging yet",
    "Imaging has not received this subject's enrolment from enrollment; check the study "
    "subject id (or FHIR identifier), or resend once the enrolment has arrived.",
)
SUBJECT_FACT_DISAGREES = PROBLEMS.declare(
    "subject-fact-disagrees",
    422,
    "A fact about the subject disagrees with screening",
    "The sex, age or height sent differs from what screening recorded (`errors` names it); "
    "send the recorded value, or leave it out to use it.",
)
IMPLAUSIBLE_MEASUREMENT = PROBLEMS.declare(
    "implausible-measurement",
    422,
    "Implausible measurement",
    "A measurement is outside what the reference equations or the instrument can mean; check "
    "the value and its unit.",
)
UNREADABLE_FILE = PROBLEMS.declare(
    "unreadable-file",
    422,
    "Unreadable file",
    "The upload is empty or not the file type the operation takes (NIfTI, DICOM or a ZIP of "
    "them); send the label map and its CT as the detail says.",
)
UNUSABLE_OBSERVATION = PROBLEMS.declare(
    "unusable-observation",
    422,
    "Unusable FHIR Observation",
    "The FHIR Observation lacks what an imaging assessment needs (a known code, subject, time "
    "or value in a known unit); the detail names what to add.",
)
OBSERVATION_VERSION_CONFLICT = PROBLEMS.declare(
    "observation-version-conflict",
    409,
    "Another version of a recorded Observation",
    "A new version of an Observation already recorded must be amended, corrected or "
    "entered-in-error; resend it with one of those statuses.",
)
OBJECT_STORAGE_UNAVAILABLE = PROBLEMS.declare(
    "object-storage-unavailable",
    503,
    "Object storage is unavailable",
    "The object store refused or did not answer (bucket, credentials, network); nothing was "
    "recorded: retry later, or have an administrator check the IMAGING_S3_* settings.",
)
