"""Which enrolled subject a lab result is about, as EHRs name subjects.

Through `subject.identifier` (the study subject id, or a hospital identifier through its keyed
hash); or, for a `Patient/<id>` reference, through the identifiers of that Patient sent in the
same Bundle or contained; or through the same reference from the same sender, matched before
(remembered as a keyed hash beside the hospital identifiers, so no reference is stored in the
clear). A subject of another site than the sender's is, for the sender, no subject at all.
The Patient also gives the sex and age that select a reference range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from sqlalchemy.orm import Session

from doseline.fhir.bundles import resolve
from doseline.identity import hospital_id_hash, hospital_id_hashes
from safety.ehr.reading import STUDY_SUBJECT_SYSTEM, EntryRejected, LabResult
from safety.protocols import repository as protocols
from safety.subjects import repository as subjects
from safety.subjects.models import SubjectRow

# The keyed hash of "sender + Patient reference" is kept beside the hospital identifier hashes.
REFERENCE_SYSTEM: Final = "urn:doseline:fhir-patient-reference"
SEXES: Final = frozenset({"male", "female"})


@dataclass(frozen=True)
class Person:
    """What the Patient resource says that reference ranges depend on."""

    sex: str | None = None
    birth_date: date | None = None

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday


@dataclass(frozen=True)
class Matched:
    subject: SubjectRow
    person: Person


@dataclass
class Matcher:
    """Matches subjects for one request, remembering what it found."""

    session: Session
    identifier_key: str
    sender: str
    index: dict[str, dict[str, Any]]
    can_access_site: Callable[[str], bool]
    _cache: dict[tuple[str | None, str | None, str | None], Matched] = field(default_factory=dict)
    _known: dict[str, SubjectRow] = field(default_factory=dict)

    def read_subjects(self, resources: list[dict[str, Any]]) -> None:
        """Read at once every subject these Observations name by study subject id."""
        wanted = {
            str(identifier["value"])
            for resource in resources
            if isinstance(subject := resource.get("subject"), dict)
            and isinstance(identifier := subject.get("identifier"), dict)
            and identifier.get("system") == STUDY_SUBJECT_SYSTEM
            and isinstance(identifier.get("value"), str)
        }
        for row in subjects.subjects(self.session, wanted):
            self._known[row.subject_id] = row

    def known_subjects(self) -> list[SubjectRow]:
        """The subjects read so far (those a baseline may be read for with the others)."""
        return list(self._known.values())

    def learn_patients(self, patients: list[tuple[tuple[str, ...], dict[str, Any]]]) -> None:
        """Remember how this sender names each Patient of the Bundle that is an enrolled subject,
        so that its later results naming only `Patient/<id>` are matched (a Bundle of Patients
        alone is how some feeds introduce them)."""
        for references, patient in patients:
            subject = next(
                (
                    found
                    for system, value in _identifiers(patient)
                    if (found := self._by_identifier(system, value)) is not None
                ),
                None,
            )
            if subject is not None and references:
                hashes = [self._remembered(reference) for reference in references]
                subjects.add_hospital_hashes(self.session, subject.subject_id, hashes)

    def _remembered(self, reference: str) -> str:
        return hospital_id_hash(
            self.identifier_key, system=f"{REFERENCE_SYSTEM}:{self.sender}", value=reference
        )

    def match(self, result: LabResult) -> Matched:
        ref = result.subject
        key = (ref.system, ref.value, ref.reference)
        if key not in self._cache:
            matched = self._match(result)
            self._known.setdefault(matched.subject.subject_id, matched.subject)
            self._cache[key] = matched
        return self._cache[key]

    def _match(self, result: LabResult) -> Matched:
        ref = result.subject
        if ref.system is not None and ref.value is not None:
            subject = self._by_identifier(ref.system, ref.value)
            if subject is None:
                raise _unknown(f"the identifier (system {ref.system!r})")
            return Matched(subject, Person())
        if ref.reference is None:
            raise EntryRejected(
                "Observation.subject is missing: give subject.identifier (system and value), or "
                "a reference to a Patient sent in the same Bundle"
            )
        remembered = self._remembered(ref.reference)
        patient = resolve(ref.reference, self.index, result.contained)
        if patient is not None and patient.get("resourceType") == "Patient":
            return self._by_patient(patient, ref.reference, remembered)
        subject = self._visible(subjects.subject_by_hospital_hash(self.session, remembered))
        if subject is not None:
            return Matched(subject, Person())
        raise EntryRejected(
            f"the subject {ref.reference} cannot be matched: give Observation.subject.identifier, "
            "or send the Patient with its identifiers in the same Bundle",
            status=404,
        )

    def _visible(self, subject: SubjectRow | None) -> SubjectRow | None:
        if subject is None or subject.enrolled_at is None:
            return None
        return subject if self.can_access_site(subject.site_id) else None

    def _by_identifier(self, system: str, value: str) -> SubjectRow | None:
        if system == STUDY_SUBJECT_SYSTEM:
            if value not in self._known:
                found = subjects.subject(self.session, value)
                if found is None:
                    return None
                self._known[value] = found
            return self._visible(self._known[value])
        # The systems each site declares: an alias finds the subject its site registered.
        id_hashes = hospital_id_hashes(
            self.identifier_key,
            system=system,
            value=value,
            sites=protocols.sites_received(self.session),
        )
        return self._visible(subjects.subject_by_hospital_hashes(self.session, id_hashes))

    def _by_patient(self, patient: dict[str, Any], reference: str, remembered: str) -> Matched:
        identifiers = _identifiers(patient)
        if not identifiers:
            raise EntryRejected(
                f"the subject {reference} is a Patient without an identifier (system and value), "
                "so no enrolled subject can be matched; give Observation.subject.identifier",
                status=404,
            )
        for system, value in identifiers:
            subject = self._by_identifier(system, value)
            if subject is not None:
                subjects.add_hospital_hashes(self.session, subject.subject_id, [remembered])
                return Matched(subject, _person(patient))
        systems = ", ".join(sorted({system for system, _ in identifiers})[:5])
        raise _unknown(f"any identifier of {reference} (systems {systems})")


def _identifiers(patient: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (str(item["system"]), str(item["value"]))
        for item in patient.get("identifier") or []
        if isinstance(item, dict) and item.get("system") and item.get("value")
    ]


def _unknown(what: str) -> EntryRejected:
    return EntryRejected(
        f"no enrolled subject has {what}; check the identifier, or resend after the enrolment "
        "has reached safety",
        status=404,
    )


def _person(patient: dict[str, Any]) -> Person:
    gender = patient.get("gender")
    birth = patient.get("birthDate")
    birth_date = None
    if isinstance(birth, str) and len(birth) == 10:
        try:
            birth_date = date.fromisoformat(birth)
        except ValueError:
            birth_date = None
    return Person(sex=gender if gender in SEXES else None, birth_date=birth_date)
