"""The problem types safety answers besides the kit's (docs/problems.md)."""

from __future__ import annotations

from doseline.problems import KIT, ProblemCatalogue

PROBLEMS = ProblemCatalogue("safety", includes=[KIT])

# Subjects, trials and protocols as safety has received them from enrollment.
SUBJECT_NOT_FOUND = PROBLEMS.declare(
    "subject-not-found",
    404,
    "Subject not found",
    "Safety knows no subject of this id in your sites; check the study subject id.",
)
SUBJECT_UNKNOWN_TO_SAFETY = PROBLEMS.declare(
    "subject-unknown-to-safety",
    409,
    "Subject unknown to safety",
    "Enrollment's 'subject enrolled' event has not reached safety; check the study subject id, "
    "and if it is right retry shortly.",
)
TRIAL_NOT_FOUND = PROBLEMS.declare(
    "trial-not-found",
    404,
    "Trial not found",
    "No protocol of this trial has reached safety, so the id is most likely mistyped; check it.",
)
PROTOCOL_NOT_RECEIVED = PROBLEMS.declare(
    "protocol-not-received",
    404,
    "Protocol not received",
    "No protocol version of the trial has reached safety yet (its DLT rules come with "
    "enrollment's protocol activation); activate the protocol in enrollment or retry shortly.",
)

# The CTCAE dictionary.
CTCAE_VERSION_NOT_LOADED = PROBLEMS.declare(
    "ctcae-version-not-loaded",
    404,
    "CTCAE version not loaded",
    "This CTCAE version has not been imported; use a loaded version, or have an administrator "
    "import it with `doseline safety ctcae-import PATH`.",
)
CTCAE_TERM_NOT_FOUND = PROBLEMS.declare(
    "ctcae-term-not-found",
    404,
    "CTCAE term not found",
    "The CTCAE version has no term with this MedDRA code; search its terms for the right code.",
)
CTCAE_GRADE_NOT_DEFINED = PROBLEMS.declare(
    "ctcae-grade-not-defined",
    422,
    "The CTCAE term does not define this grade",
    "The reported grade is not one the CTCAE term defines; report one of the grades named.",
)
CTCAE_VERSION_EXISTS = PROBLEMS.declare(
    "ctcae-version-exists",
    409,
    "CTCAE version already loaded",
    "This CTCAE version is loaded from a different file; import with replace (CLI --replace, "
    "API ?replace=true) only if the new file is meant to supersede it.",
)
CTCAE_IMPORT_FAILED = PROBLEMS.declare(
    "ctcae-import-failed",
    422,
    "The CTCAE dictionary file cannot be imported",
    "The file is not a CTCAE dictionary this reader can import; the detail names the sheet and "
    "row to fix.",
)

# Adverse events, SAE reporting and DLT adjudication.
ADVERSE_EVENT_NOT_FOUND = PROBLEMS.declare(
    "adverse-event-not-found",
    404,
    "Adverse event not found",
    "No adverse event of this id exists in your sites; check the id.",
)
NOT_SERIOUS = PROBLEMS.declare(
    "not-serious",
    409,
    "Not a serious adverse event",
    "Only a serious adverse event has a reporting clock and a case safety report; mark the event "
    "serious first if it is.",
)
SAE_ALREADY_REPORTED = PROBLEMS.declare(
    "sae-already-reported",
    409,
    "SAE already reported",
    "The report of this SAE to the sponsor is already recorded; nothing needs doing.",
)
ICSR_MESSAGE_NOT_FOUND = PROBLEMS.declare(
    "icsr-message-not-found",
    404,
    "Case safety report message not found",
    "The adverse event has no case safety report message of this number; list them at "
    "/v1/adverse-events/{ae_id}/icsr/messages.",
)
DLT_NOT_FOUND = PROBLEMS.declare(
    "dlt-not-found",
    404,
    "DLT not found",
    "No DLT case of this id exists in your sites; check the id.",
)
DLT_NOT_SUSPECTED = PROBLEMS.declare(
    "dlt-not-suspected",
    409,
    "DLT not suspected",
    "Only a suspected DLT can be adjudicated and this one already was; read the DLT again.",
)
DLT_STALE = PROBLEMS.declare(
    "dlt-stale",
    409,
    "DLT stale",
    "The adverse event behind the DLT changed since the DLT was assessed; read the DLT again.",
)

# Lab results from the hospital (FHIR) and the adverse events they propose.
PROPOSAL_NOT_FOUND = PROBLEMS.declare(
    "proposal-not-found",
    404,
    "Proposed adverse event not found",
    "No proposed adverse event of this id exists in your sites; check the id.",
)
PROPOSAL_NOT_OPEN = PROBLEMS.declare(
    "proposal-not-open",
    409,
    "Proposal not open",
    "The proposed adverse event was already accepted or rejected; read it again.",
)
SUBJECT_NOT_MATCHED = PROBLEMS.declare(
    "subject-not-matched",
    404,
    "Subject not matched",
    "No enrolled subject of your sites matches the Observation's subject; give "
    "Observation.subject.identifier, or resend after the enrolment has reached safety.",
)
OBSERVATION_VERSION_CONFLICT = PROBLEMS.declare(
    "observation-version-conflict",
    409,
    "Another content under a received version",
    "This Observation version was received before with different content; it is kept for "
    "review and changes nothing, so send a new version with status amended or corrected.",
)
NOT_A_GRADED_LAB_RESULT = PROBLEMS.declare(
    "not-a-graded-lab-result",
    422,
    "Not graded",
    "The resource is not a lab result CTCAE grades (no LOINC code, or a code no term is graded "
    "from); nothing was recorded, and the detail says why.",
)
UNUSABLE_OBSERVATION = PROBLEMS.declare(
    "unusable-observation",
    422,
    "Unusable FHIR Observation",
    "The Observation (or every result of a report) lacks what grading needs: a subject, a time, "
    "a value in a known unit or reference range; the detail names what to add.",
)
