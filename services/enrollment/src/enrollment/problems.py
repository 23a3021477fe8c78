"""The problem types enrollment answers besides the kit's (docs/problems.md)."""

from __future__ import annotations

from doseline.problems import KIT, ProblemCatalogue

PROBLEMS = ProblemCatalogue("enrollment", includes=[KIT])

# Trials and protocols.
PROTOCOL_NOT_FOUND = PROBLEMS.declare(
    "protocol-not-found",
    404,
    "Shipped protocol not found",
    "No protocol ships under this name; send the document itself as `protocol_yaml`.",
)
INVALID_PROTOCOL = PROBLEMS.declare(
    "invalid-protocol",
    422,
    "Invalid protocol",
    "The protocol document breaks a rule of the protocol format; `errors` says where, so correct "
    "the document and send it again.",
)
TRIAL_EXISTS = PROBLEMS.declare(
    "trial-exists",
    409,
    "Trial exists",
    "A trial with this protocol id exists already; amend its protocol (PUT "
    "/v1/trials/{trial_id}/protocol) instead.",
)
NO_CHANGE = PROBLEMS.declare(
    "no-change",
    409,
    "Protocol unchanged",
    "The document is the protocol version already in force; there is nothing to amend.",
)
SITE_HAS_SUBJECTS = PROBLEMS.declare(
    "site-has-subjects",
    409,
    "Site has subjects",
    "An amendment may not drop a site that has subjects; keep the sites named in `sites` listed.",
)
SITE_NOT_IN_PROTOCOL = PROBLEMS.declare(
    "site-not-in-protocol",
    409,
    "Site not in the protocol",
    "The subject's site is not listed in the protocol version in force; amend the protocol to list"
    " it.",
)
TRIAL_COMPLETED = PROBLEMS.declare(
    "trial-completed",
    409,
    "Trial not open",
    "The trial is completed or stopped; nothing more is registered, enrolled, opened or resolved "
    "in it.",
)

# Subjects, consent and screening.
DUPLICATE_SUBJECT = PROBLEMS.declare(
    "duplicate-subject",
    409,
    "Duplicate subject",
    "This hospital identifier already belongs to a subject of the trial (`subject_id`); continue "
    "with that subject.",
)
CONSENT_AFTER_ENROLMENT = PROBLEMS.declare(
    "consent-after-enrolment",
    409,
    "Consent after enrolment",
    "A consent date cannot follow the subject's enrolment; check the date on the signed consent "
    "form.",
)
WITHDRAWAL_NEEDS_INVESTIGATOR = PROBLEMS.declare(
    "withdrawal-needs-investigator",
    403,
    "Withdrawal needs an investigator",
    "Only an investigator withdraws a subject (a coordinator may record lost_to_follow_up only); "
    "ask an investigator.",
)
ALREADY_WITHDRAWN = PROBLEMS.declare(
    "already-withdrawn",
    409,
    "Already withdrawn",
    "The subject was withdrawn already; the withdrawal recorded stands.",
)
NOT_ENROLLED = PROBLEMS.declare(
    "not-enrolled",
    409,
    "Subject not enrolled",
    "Only an enrolled subject is dosed or withdrawn; enrol the subject first, or remove a waiting "
    "subject from the waitlist.",
)
ALREADY_ENROLLED = PROBLEMS.declare(
    "already-enrolled",
    409,
    "Already enrolled",
    "The subject is enrolled already, so screening is closed and no second slot is taken.",
)
SCREENING_SUPERSEDED = PROBLEMS.declare(
    "screening-superseded",
    409,
    "Screening superseded",
    "A later screening of the subject exists; sign off that one.",
)
SCREENING_INCOMPLETE = PROBLEMS.declare(
    "screening-incomplete",
    409,
    "Screening incomplete",
    "The screening has unanswered criteria; answer every criterion before signing it off.",
)
ALREADY_SIGNED_OFF = PROBLEMS.declare(
    "already-signed-off",
    409,
    "Already signed off",
    "This screening is signed off already; nothing needs doing.",
)

# Enrolment, cohorts and the waitlist.
CONSENT_REQUIRED = PROBLEMS.declare(
    "consent-required",
    409,
    "Consent required",
    "The subject has no consent date; record the signed consent (PATCH the subject with "
    "consent_signed_on) before enrolment.",
)
CONSENT_IN_FUTURE = PROBLEMS.declare(
    "consent-in-future",
    409,
    "Consent date in the future",
    "The consent date is after today at the site; correct the consent date.",
)
SCREENING_REQUIRED = PROBLEMS.declare(
    "screening-required",
    409,
    "Screening required",
    "The subject has not been screened; record the screening before enrolment.",
)
NOT_ELIGIBLE = PROBLEMS.declare(
    "not-eligible",
    409,
    "Subject not eligible",
    "The latest screening found the subject not eligible (`reasons` says why); the subject cannot "
    "be enrolled.",
)
ELIGIBILITY_NOT_SIGNED_OFF = PROBLEMS.declare(
    "eligibility-not-signed-off",
    409,
    "Eligibility not signed off",
    "An investigator signs off the subject's screening before enrolment; have it signed off.",
)
NO_OPEN_COHORT = PROBLEMS.declare(
    "no-open-cohort",
    409,
    "No open cohort",
    "The trial has no cohort taking subjects; wait for the next cohort to open.",
)
COHORT_FULL = PROBLEMS.declare(
    "cohort-full",
    409,
    "Cohort full",
    "Every slot of the open cohort is taken or reserved; the subject can join the waitlist until "
    "the next cohort opens.",
)
ENROLMENT_CAP_REACHED = PROBLEMS.declare(
    "enrolment-cap-reached",
    409,
    "Enrolment cap reached",
    "The trial's enrolment cap would be passed; amend the protocol or stop the trial.",
)
WAITLIST_ORDER = PROBLEMS.declare(
    "waitlist-order",
    409,
    "Waitlist first",
    "Free slots go to the head of the waitlist first (the detail names them); enrol those subjects"
    " first.",
)
ALREADY_RESERVED = PROBLEMS.declare(
    "already-reserved",
    409,
    "Slot already reserved",
    "The subject already holds a slot reservation; enrol the subject into it.",
)
ALREADY_WAITING = PROBLEMS.declare(
    "already-waiting",
    409,
    "Already on the waitlist",
    "The subject is on the waitlist already; nothing needs doing.",
)
NOT_WAITING = PROBLEMS.declare(
    "not-waiting",
    409,
    "Not waiting",
    "The subject is no longer waiting (enrolled or removed); there is nothing to remove.",
)

# Escalation decisions and late DLTs.
ESCALATION_GATE_CLOSED = PROBLEMS.declare(
    "escalation-gate-closed",
    409,
    "Escalation gate closed",
    "The escalation decision on the last cohort is not yet signed by both signing roles; the next "
    "cohort opens only after both signatures.",
)
COHORT_ALREADY_OPEN = PROBLEMS.declare(
    "cohort-already-open",
    409,
    "Next cohort already open",
    "The cohort after the last decided one is open already; nothing needs doing.",
)
DECISION_NOT_PENDING = PROBLEMS.declare(
    "decision-not-pending",
    409,
    "Decision not pending",
    "Only a pending escalation decision is signed and this one is not; read the escalation state "
    "again.",
)
STATE_CHANGED = PROBLEMS.declare(
    "state-changed",
    409,
    "Escalation state changed",
    "The escalation state changed since you read it; review the new state and sign its hash "
    "(`current_state_hash`).",
)
SIGNING_ROLE_MISSING = PROBLEMS.declare(
    "signing-role-missing",
    403,
    "Signing role missing",
    "Your token does not carry the role you sign as; sign with a token holding that role.",
)
SAME_SIGNER = PROBLEMS.declare(
    "same-signer",
    409,
    "Same signer",
    "You have signed this already; the second signature must come from a different person.",
)
ALREADY_SIGNED = PROBLEMS.declare(
    "already-signed",
    409,
    "Role already signed",
    "The role you sign as has signed this already; the other signing role signs next.",
)
RESOLUTION_NOT_PENDING = PROBLEMS.declare(
    "resolution-not-pending",
    409,
    "Resolution not pending",
    "Only a pending late-DLT resolution is signed and this one is not; read the resolutions again.",
)
LATE_DLT_ALREADY_RESOLVED = PROBLEMS.declare(
    "late-dlt-already-resolved",
    409,
    "Late DLT already resolved",
    "A late DLT is resolved once and this one was (`resolution_id`); nothing needs doing.",
)
NOTHING_TO_RESOLVE = PROBLEMS.declare(
    "nothing-to-resolve",
    409,
    "Nothing to resolve",
    "The DLT is not a late DLT awaiting resolution; resolve one of those listed in `late_dlts`.",
)
RESOLUTION_PENDING = PROBLEMS.declare(
    "resolution-pending",
    409,
    "Resolution pending",
    "A resolution of this DLT awaits signatures (`resolution_id`); sign it, or wait for the state "
    "to change.",
)
COHORT_NOT_COMPLETE = PROBLEMS.declare(
    "cohort-not-complete",
    409,
    "Cohort not complete",
    "A revised decision needs the last cohort complete (DLT windows closed, DLTs adjudicated); "
    "record it then, or record that the decision stands.",
)
NO_SUCH_DOSE_LEVEL = PROBLEMS.declare(
    "no-such-dose-level",
    409,
    "No such dose level",
    "The dose level named is not one of the protocol's; name a level it lists.",
)
NO_SUCH_COHORT = PROBLEMS.declare(
    "no-such-cohort",
    409,
    "No such cohort",
    "The cohort named does not exist in the trial; name one of its cohorts.",
)
COHORT_STILL_OPEN = PROBLEMS.declare(
    "cohort-still-open",
    409,
    "Cohort still open",
    "The last cohort still takes patients and one cohort takes patients at a time; expand once it "
    "is full.",
)

# Dosing, dose orders and infusions.
SUBJECT_WITHDRAWN = PROBLEMS.declare(
    "subject-withdrawn",
    409,
    "Subject withdrawn",
    "The subject was withdrawn and receives no further dose.",
)
WEIGHT_REQUIRED = PROBLEMS.declare(
    "weight-required",
    409,
    "Weight required",
    "The subject has no body weight recorded; record one before the dose is prepared.",
)
WEIGHT_NOT_USABLE = PROBLEMS.declare(
    "weight-not-usable",
    422,
    "Weight cannot be used for dosing",
    "The body weight cannot dose the infusion under the protocol's rule (`errors` names it); "
    "record a usable weight.",
)
DOSING_STOPPED = PROBLEMS.declare(
    "dosing-stopped",
    409,
    "Dosing stopped",
    "The investigator stopped dosing this subject for good; no further dose is prepared or given.",
)
DOSE_HELD = PROBLEMS.declare(
    "dose-held",
    409,
    "Dose held",
    "A dose hold is in force; an investigator releases it (POST /v1/subjects/{subject_id}/dose-"
    "hold/resolution) before dosing goes on.",
)
INFUSION_COUNT_EXCEEDED = PROBLEMS.declare(
    "infusion-count-exceeded",
    409,
    "No such infusion",
    "The protocol plans fewer infusions than this one; there is no dose left to prepare or give.",
)
ALREADY_PREPARED = PROBLEMS.declare(
    "already-prepared",
    409,
    "Already prepared",
    "This infusion's dose is prepared already; verify or use that preparation.",
)
PREPARATION_CANCELLED = PROBLEMS.declare(
    "preparation-cancelled",
    409,
    "Preparation cancelled",
    "The dose preparation was cancelled; prepare the dose again.",
)
ALREADY_VERIFIED = PROBLEMS.declare(
    "already-verified",
    409,
    "Already verified",
    "This dose preparation is verified already; nothing needs doing.",
)
VERIFIER_IS_PREPARER = PROBLEMS.declare(
    "verifier-is-preparer",
    403,
    "Dual verification needs a second person",
    "The person who prepared a dose cannot verify it; a different pharmacist or an investigator "
    "verifies it.",
)
DOSE_NOT_VERIFIED = PROBLEMS.declare(
    "dose-not-verified",
    409,
    "Dose not verified",
    "An infusion needs a dose prepared by a pharmacist and verified by a second person before it "
    "is recorded.",
)
NO_DOSE_LEFT = PROBLEMS.declare(
    "no-dose-left",
    409,
    "No dose left",
    "The subject has received every planned infusion; there is no dose left to hold or reduce.",
)
REDUCTION_NOT_LOWER = PROBLEMS.declare(
    "reduction-not-lower",
    409,
    "Reduction not lower",
    "The dose is already reduced; a further reduction must be to a lower percentage.",
)
NO_ACTIVE_HOLD = PROBLEMS.declare(
    "no-active-hold",
    409,
    "No active dose hold",
    "The subject has no dose hold in force; there is nothing to resolve.",
)

# Visits.
NO_VISIT_SCHEDULE = PROBLEMS.declare(
    "no-visit-schedule",
    409,
    "No visit schedule",
    "The subject has no infusion yet, so no visit schedule; record the first infusion before its "
    "visits.",
)
VISIT_ALREADY_RECORDED = PROBLEMS.declare(
    "visit-already-recorded",
    409,
    "Visit already recorded",
    "This visit is recorded already; nothing needs doing.",
)
VISIT_CANCELLED = PROBLEMS.declare(
    "visit-cancelled",
    409,
    "Visit cancelled",
    "The visit was cancelled because the subject was withdrawn without continued safety follow-up.",
)
