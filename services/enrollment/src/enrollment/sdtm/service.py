"""Enrollment's SDTM datasets at a data cut, from its own schema and the trial's protocol.

Subjects appear by their study identifiers only (USUBJID = the subject id the system issued,
STUDYID-number; SUBJID = the number): never the hospital identifier, its hash or a name. Dates
and times are the site's calendar and clock (the protocol's study-day convention), without an
offset; --DY counts from RFSTDTC, the first given infusion (doseline.sdtm.study_day).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from doseline.sdtm import DataCut, Dataset, Study, Value, study_day
from doseline.sdtm.controlled_terminology import codelist, ct_version
from doseline.sdtm.visits import SCREENING, infusion_visit_number, visit_name, visit_numbers
from doseline.sitetime import site_date, site_zone
from enrollment.dosing.models import Infusion
from enrollment.protocol import AnswerType, Protocol
from enrollment.screening.models import Screening
from enrollment.sdtm import domains
from enrollment.sdtm.domains import NY, ROUTE, STYPE_CODELIST, TBLIND_CODELIST, TPHASE_CODELIST
from enrollment.sdtm.repository import TrialRows, get_trial, protocol_version_at, trial_rows
from enrollment.subjects.models import Subject
from enrollment.trials.protocols import parse_stored

TREATMENT_CODE = "HDMSC"
SDTMIG_VERSION = "3.4"
# ISO 3166-1 alpha-3 of the countries the protocol's sites name.
COUNTRIES = {
    "china": "CHN",
    "people's republic of china": "CHN",
    "united states": "USA",
    "united states of america": "USA",
    "united kingdom": "GBR",
    "germany": "DEU",
    "france": "FRA",
    "japan": "JPN",
    "south korea": "KOR",
    "republic of korea": "KOR",
    "australia": "AUS",
    "canada": "CAN",
    "singapore": "SGP",
    "hong kong": "HKG",
    "taiwan": "TWN",
}
# DS: how a withdrawal's reason reads in CDISC CT (Completion/Reason for Non-Completion).
WITHDRAWAL_TERMS = {
    "consent_withdrawn": "WITHDRAWAL BY SUBJECT",
    "investigator_decision": "PHYSICIAN DECISION",
    "lost_to_follow_up": "LOST TO FOLLOW-UP",
    "death": "DEATH",
}
_ASCII = {"×": "x", "≥": ">=", "≤": "<=", "±": "+/-", "–": "-", "—": "-", "’": "'", "µ": "u"}


def ascii_text(text: str) -> str:
    """Protocol prose as XPORT v5 takes it: one line, the usual symbols spelled in ASCII."""
    flat = " ".join(text.split())
    for symbol, spelled in _ASCII.items():
        flat = flat.replace(symbol, spelled)
    if not flat.isascii():
        raise ValueError(f"{flat!r} has characters SAS XPORT v5 cannot hold")
    return flat


def trial_not_found(trial_id: str) -> LookupError:
    return LookupError(f"no trial {trial_id} in enrollment")


def study(session: Session, cut: DataCut) -> Study:
    """The study the package describes: the trial, its title and protocol version at the cut."""
    trial = get_trial(session, cut.trial_id)
    if trial is None:
        raise trial_not_found(cut.trial_id)
    version = protocol_version_at(session, trial, cut.at)
    protocol = parse_stored(version.document)
    return Study(trial.id, ascii_text(protocol.trial.title), version.version)


@dataclass(frozen=True)
class _Subject:
    """What every domain needs of one subject: its study ids, site clock and reference days."""

    row: Subject
    zone: str  # the subject's site's IANA time zone
    infusions: list[Infusion]
    first_day: date | None
    last_day: date | None

    def local(self, moment: datetime | None) -> str | None:
        if moment is None:
            return None
        wall = moment.astimezone(site_zone(self.zone)).replace(tzinfo=None)
        return wall.isoformat(timespec="seconds")

    def day_of(self, moment: datetime) -> date:
        return site_date(moment, self.zone)

    def study_day(self, on: date | None) -> int | None:
        return None if on is None else study_day(on, self.first_day)

    def epoch(self, on: date) -> str:
        if self.first_day is None or on < self.first_day:
            return "SCREENING"
        if self.last_day is None or on <= self.last_day:
            return "TREATMENT"
        return "FOLLOW-UP"


def _infusion_day(subject_zone: str, infusion: Infusion) -> date:
    if infusion.site_date is not None:
        return infusion.site_date
    assert infusion.started_at is not None  # a given infusion has its start
    return site_date(infusion.started_at, subject_zone)


def _arm(protocol: Protocol, level: int) -> tuple[str, str]:
    dose = protocol.dose_escalation.level(level)
    unit = protocol.dose_escalation.unit
    return f"DL{level}", f"Dose level {level}: hDMSC {dose.per_kg:E} {unit}"


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _decimal_text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def datasets(session: Session, cut: DataCut) -> list[Dataset]:
    """DM, DS, EX, EC, SV, VS, TA, TE, TV, TI and TS of the trial at the cut."""
    trial = get_trial(session, cut.trial_id)
    if trial is None:
        raise trial_not_found(cut.trial_id)
    version = protocol_version_at(session, trial, cut.at)
    protocol = parse_stored(version.document)
    rows = trial_rows(session, trial.id, cut.at)
    subjects = _subjects(protocol, rows)
    return [
        _dm(trial.id, protocol, rows, subjects),
        _ds(trial.id, protocol, rows, subjects),
        *_exposure(trial.id, protocol, rows, subjects),
        _sv(trial.id, protocol, rows, subjects),
        _vs(trial.id, rows, subjects),
        _ta(trial.id, protocol),
        _te(trial.id, protocol),
        _tv(trial.id, protocol),
        _ti(trial.id, protocol, version.version),
        _ts(trial.id, protocol, rows, subjects),
    ]


def _subjects(protocol: Protocol, rows: TrialRows) -> dict[str, _Subject]:
    """The trial's consented subjects (DM's population) by id."""
    zones = {site.id: site.time_zone for site in protocol.sites}
    given: dict[str, list[Infusion]] = defaultdict(list)
    for infusion in rows.infusions:
        given[infusion.subject_id].append(infusion)
    found: dict[str, _Subject] = {}
    for row in rows.subjects:
        if row.consent_signed_on is None:
            continue
        zone = zones.get(row.site_id, zones[protocol.sites[0].id])
        infusions = sorted(given[row.id], key=lambda i: i.infusion_number)
        days = [_infusion_day(zone, i) for i in infusions]
        found[row.id] = _Subject(
            row, zone, infusions, min(days, default=None), max(days, default=None)
        )
    return found


def _base(trial_id: str, domain: str, subject: _Subject) -> dict[str, Value]:
    return {"STUDYID": trial_id, "DOMAIN": domain, "USUBJID": subject.row.id}


def _numbered(prefix: str, records: list[dict[str, Value]], *order: str) -> list[dict[str, Value]]:
    """--SEQ: 1, 2, ... within each subject, in the order of `order`'s variables."""
    by_subject: dict[Value, list[dict[str, Value]]] = defaultdict(list)
    for record in records:
        by_subject[record["USUBJID"]].append(record)
    for subject_records in by_subject.values():
        subject_records.sort(key=lambda r: tuple((r[k] is not None, r[k] or "") for k in order))
        for number, record in enumerate(subject_records, start=1):
            record[f"{prefix}SEQ"] = number
    return records


def _age(protocol: Protocol, rows: TrialRows, subject: _Subject) -> int | None:
    screening = _latest_screening(rows, subject.row.id)
    if screening is None:
        return None
    consent = subject.row.consent_signed_on
    if screening.birth_date is not None and consent is not None:
        born = screening.birth_date
        return consent.year - born.year - ((consent.month, consent.day) < (born.month, born.day))
    for criterion in protocol.eligibility.all:
        if criterion.answer is AnswerType.NUMBER and criterion.unit == "years":
            answer: Any = (screening.answers or {}).get(criterion.id, {}).get("value")
            # A number answer is stored as JSON text ("54"), as its Decimal serialises.
            if isinstance(answer, str | int | float) and not isinstance(answer, bool):
                try:
                    return int(Decimal(str(answer)))
                except ArithmeticError:
                    return None
    return None


def _latest_screening(rows: TrialRows, subject_id: str) -> Screening | None:
    found = [s for s in rows.screenings if s.subject_id == subject_id]
    return found[-1] if found else None


def _country(protocol: Protocol, site_id: str) -> str:
    site = next((s for s in protocol.sites if s.id == site_id), protocol.sites[0])
    code = COUNTRIES.get(site.country.strip().lower())
    if code is None:
        raise ValueError(
            f"site {site.id}: no ISO 3166-1 alpha-3 code known for country {site.country!r} "
            f"(enrollment.sdtm.service.COUNTRIES)"
        )
    return code


def _dm(
    trial_id: str, protocol: Protocol, rows: TrialRows, subjects: dict[str, _Subject]
) -> Dataset:
    enrolments = {e.subject_id: e for e in rows.enrolments}
    withdrawals = {w.subject_id: w for w in rows.withdrawals}
    records = []
    for subject in subjects.values():
        row = subject.row
        screening = _latest_screening(rows, row.id)
        enrolment = enrolments.get(row.id)
        first = subject.infusions[0] if subject.infusions else None
        last = subject.infusions[-1] if subject.infusions else None
        armcd = arm = actarmcd = actarm = armnrs = None
        if enrolment is not None:
            armcd, arm = _arm(protocol, enrolment.dose_level)
        if first is not None and first.preparation_id in rows.preparations:
            actarmcd, actarm = _arm(protocol, rows.preparations[first.preparation_id].dose_level)
        if enrolment is None:
            failed = screening is not None and screening.status == "ineligible"
            armnrs = "SCREEN FAILURE" if failed else "NOT ASSIGNED"
        elif first is None:
            armnrs = "ASSIGNED, NOT TREATED"
        withdrawal = withdrawals.get(row.id)
        died = withdrawal is not None and withdrawal.reason == "death"
        age = _age(protocol, rows, subject)
        known_days = [
            row.consent_signed_on,
            screening.screened_on if screening is not None else None,
            subject.last_day,
            *(w.measured_on for w in rows.weights if w.subject_id == row.id),
            *(v.visit_date for v in rows.visits if v.subject_id == row.id),
            withdrawal.effective_on if withdrawal is not None else None,
        ]
        last_end = None if last is None else (last.ended_at or last.started_at)
        records.append(
            {
                **_base(trial_id, "DM", subject),
                "SUBJID": f"{row.number:03d}",
                "RFSTDTC": subject.local(first.started_at) if first else None,
                "RFENDTC": subject.local(last_end),
                "RFXSTDTC": subject.local(first.started_at) if first else None,
                "RFXENDTC": subject.local(last_end),
                "RFICDTC": row.consent_signed_on.isoformat() if row.consent_signed_on else None,
                "RFPENDTC": max(d for d in known_days if d is not None).isoformat(),
                "DTHDTC": withdrawal.effective_on.isoformat() if died and withdrawal else None,
                "DTHFL": "Y" if died else None,
                "SITEID": row.site_id,
                "AGE": age,
                "AGEU": "YEARS" if age is not None else None,
                "SEX": {"female": "F", "male": "M"}.get(
                    (screening.sex if screening is not None else None) or "", "U"
                ),
                "RACE": None,
                "ARMCD": armcd,
                "ARM": arm,
                "ACTARMCD": actarmcd,
                "ACTARM": actarm,
                "ARMNRS": armnrs,
                "COUNTRY": _country(protocol, row.site_id),
                "DMDTC": screening.screened_on.isoformat() if screening is not None else None,
                "DMDY": subject.study_day(screening.screened_on) if screening is not None else None,
            }
        )
    return Dataset(domains.DM, tuple(records))


def _ds(
    trial_id: str, protocol: Protocol, rows: TrialRows, subjects: dict[str, _Subject]
) -> Dataset:
    enrolments = {e.subject_id: e for e in rows.enrolments}
    withdrawals = {w.subject_id: w for w in rows.withdrawals}
    last_visit = protocol.visits.follow_up[-1].id if protocol.visits.follow_up else None
    records: list[dict[str, Value]] = []

    def event(subject: _Subject, term: str, decod: str, category: str, on: date) -> None:
        records.append(
            {
                **_base(trial_id, "DS", subject),
                "DSTERM": term,
                "DSDECOD": decod,
                "DSCAT": category,
                "EPOCH": subject.epoch(on),
                "DSSTDTC": on.isoformat(),
                "DSSTDY": subject.study_day(on),
            }
        )

    for subject in subjects.values():
        row = subject.row
        assert row.consent_signed_on is not None  # DM's population: consented subjects
        consent = "INFORMED CONSENT OBTAINED"
        event(subject, consent, consent, "PROTOCOL MILESTONE", row.consent_signed_on)
        screening = _latest_screening(rows, row.id)
        if screening is not None and screening.eligible and screening.signed_off_at is not None:
            met = "ELIGIBILITY CRITERIA MET"
            event(subject, met, met, "PROTOCOL MILESTONE", subject.day_of(screening.signed_off_at))
        enrolment = enrolments.get(row.id)
        if enrolment is not None:
            event(
                subject,
                f"ENROLLED AT DOSE LEVEL {enrolment.dose_level}",
                "ENROLLED",
                "PROTOCOL MILESTONE",
                subject.day_of(enrolment.enrolled_at),
            )
        elif screening is not None and screening.status == "ineligible":
            failed = "SCREEN FAILURE"
            event(subject, failed, failed, "DISPOSITION EVENT", screening.screened_on)
        withdrawal = withdrawals.get(row.id)
        if withdrawal is not None:
            term = WITHDRAWAL_TERMS[withdrawal.reason]
            event(subject, term, term, "DISPOSITION EVENT", withdrawal.effective_on)
        elif last_visit is not None:
            done = next(
                (v for v in rows.visits if v.subject_id == row.id and v.visit == last_visit), None
            )
            if done is not None:
                event(subject, "COMPLETED", "COMPLETED", "DISPOSITION EVENT", done.visit_date)
    return Dataset(domains.DS, tuple(_numbered("DS", records, "DSSTDTC", "DSDECOD")))


def _route(protocol: Protocol) -> str:
    route = protocol.trial.route.strip().lower()
    if not route.startswith("intravenous"):
        raise ValueError(
            f"route {protocol.trial.route!r} has no CDISC CT term in Doseline's codelists"
        )
    return "INTRAVENOUS"


def _exposure(
    trial_id: str, protocol: Protocol, rows: TrialRows, subjects: dict[str, _Subject]
) -> tuple[Dataset, Dataset]:
    route = _route(protocol)
    per_kg: list[dict[str, Value]] = []
    as_given: list[dict[str, Value]] = []
    for subject in subjects.values():
        for infusion in subject.infusions:
            preparation = (
                rows.preparations.get(infusion.preparation_id)
                if infusion.preparation_id is not None
                else None
            )
            adjustment = None
            if preparation is not None and preparation.percent_of_dose < 100:
                adjustment = f"DOSE REDUCED TO {preparation.percent_of_dose}% BY A DOSE ORDER"
            elif not infusion.full_dose:
                adjustment = "INFUSION INTERRUPTED BEFORE THE FULL DOSE"
            day = _infusion_day(subject.zone, infusion)
            end_day = subject.day_of(infusion.ended_at) if infusion.ended_at else None
            for prefix, dose, unit, records in (
                ("EX", infusion.dose_given_per_kg, "cells/kg", per_kg),
                ("EC", infusion.dose_given_cells, "cells", as_given),
            ):
                records.append(
                    {
                        **_base(trial_id, prefix, subject),
                        f"{prefix}SEQ": infusion.infusion_number,
                        f"{prefix}TRT": TREATMENT_CODE,
                        f"{prefix}DOSE": _number(dose),
                        f"{prefix}DOSU": unit if dose is not None else None,
                        f"{prefix}ROUTE": route,
                        f"{prefix}LOT": infusion.product_lot,
                        f"{prefix}ADJ": adjustment,
                        "VISITNUM": infusion_visit_number(infusion.infusion_number),
                        "VISIT": f"INFUSION {infusion.infusion_number}",
                        "EPOCH": "TREATMENT",
                        f"{prefix}STDTC": subject.local(infusion.started_at),
                        f"{prefix}ENDTC": subject.local(infusion.ended_at),
                        f"{prefix}STDY": subject.study_day(day),
                        f"{prefix}ENDY": subject.study_day(end_day),
                    }
                )
    return Dataset(domains.EX, tuple(per_kg)), Dataset(domains.EC, tuple(as_given))


def _sv(
    trial_id: str, protocol: Protocol, rows: TrialRows, subjects: dict[str, _Subject]
) -> Dataset:
    numbers = visit_numbers(protocol.trial_rules())
    records: list[dict[str, Value]] = []

    def visit(subject: _Subject, number: float, name: str, on: date, planned: int | None) -> None:
        records.append(
            {
                **_base(trial_id, "SV", subject),
                "VISITNUM": number,
                "VISIT": name,
                "VISITDY": planned,
                "EPOCH": subject.epoch(on),
                "SVSTDTC": on.isoformat(),
                "SVENDTC": on.isoformat(),
                "SVSTDY": subject.study_day(on),
                "SVENDY": subject.study_day(on),
            }
        )

    for subject in subjects.values():
        screening = _latest_screening(rows, subject.row.id)
        if screening is not None:
            visit(subject, numbers[SCREENING], visit_name(SCREENING), screening.screened_on, None)
        for infusion in subject.infusions:
            number = infusion.infusion_number
            planned = (
                protocol.infusions.days[number - 1] if number <= protocol.infusions.count else None
            )
            visit(
                subject,
                infusion_visit_number(number),
                f"INFUSION {number}",
                _infusion_day(subject.zone, infusion),
                planned,
            )
        for record in rows.visits:
            if record.subject_id == subject.row.id and record.visit in numbers:
                visit(
                    subject,
                    numbers[record.visit],
                    visit_name(record.visit),
                    record.visit_date,
                    None,
                )
    return Dataset(domains.SV, tuple(records))


def _vs(trial_id: str, rows: TrialRows, subjects: dict[str, _Subject]) -> Dataset:
    records: list[dict[str, Value]] = []
    for subject in subjects.values():
        weights = [w for w in rows.weights if w.subject_id == subject.row.id]
        before = [
            w
            for w in weights
            if subject.first_day is not None and w.measured_on <= subject.first_day
        ]
        baseline = before[-1] if before else None
        for weight in weights:
            text = _decimal_text(weight.weight_kg)
            records.append(
                {
                    **_base(trial_id, "VS", subject),
                    "VSTESTCD": "WEIGHT",
                    "VSTEST": "Weight",
                    "VSORRES": text,
                    "VSORRESU": "kg",
                    "VSSTRESC": text,
                    "VSSTRESN": float(weight.weight_kg),
                    "VSSTRESU": "kg",
                    "VSBLFL": "Y" if weight is baseline else None,
                    "EPOCH": subject.epoch(weight.measured_on),
                    "VSDTC": weight.measured_on.isoformat(),
                    "VSDY": subject.study_day(weight.measured_on),
                }
            )
    return Dataset(domains.VS, tuple(_numbered("VS", records, "VSDTC")))


def _elements(protocol: Protocol) -> list[dict[str, Value]]:
    infusions = protocol.infusions
    last_day = infusions.days[-1]
    follow_up = protocol.visits.follow_up
    found: list[dict[str, Value]] = [
        {
            "ETCD": "SCRN",
            "ELEMENT": "Screening",
            "TESTRL": "Informed consent signed",
            "TEENRL": "First infusion (study day 1)",
            "TEDUR": None,
        }
    ]
    for level in protocol.dose_escalation.dose_levels:
        _code, arm = _arm(protocol, level.level)
        found.append(
            {
                "ETCD": f"DL{level.level}",
                "ELEMENT": ascii_text(
                    f"{arm}, {infusions.count} infusions on study days "
                    f"{', '.join(str(d) for d in infusions.days)}"
                ),
                "TESTRL": "First infusion (study day 1)",
                "TEENRL": f"End of the last infusion (planned study day {last_day})",
                "TEDUR": f"P{last_day}D",
            }
        )
    months = follow_up[-1].months_after_last_infusion if follow_up else None
    found.append(
        {
            "ETCD": "FU",
            "ELEMENT": "Follow-up",
            "TESTRL": "Day after the last infusion",
            "TEENRL": (
                f"{months} months after the last infusion" if months else "End of participation"
            ),
            "TEDUR": f"P{months}M" if months else None,
        }
    )
    return found


def _ta(trial_id: str, protocol: Protocol) -> Dataset:
    records: list[dict[str, Value]] = []
    for level in protocol.dose_escalation.dose_levels:
        armcd, arm = _arm(protocol, level.level)
        for order, (etcd, epoch) in enumerate(
            (("SCRN", "SCREENING"), (armcd, "TREATMENT"), ("FU", "FOLLOW-UP")), start=1
        ):
            element = next(e for e in _elements(protocol) if e["ETCD"] == etcd)
            records.append(
                {
                    "STUDYID": trial_id,
                    "DOMAIN": "TA",
                    "ARMCD": armcd,
                    "ARM": arm,
                    "TAETORD": order,
                    "ETCD": etcd,
                    "ELEMENT": element["ELEMENT"],
                    "TABRANCH": None,
                    "TATRANS": None,
                    "EPOCH": epoch,
                }
            )
    return Dataset(domains.TA, tuple(records))


def _te(trial_id: str, protocol: Protocol) -> Dataset:
    return Dataset(
        domains.TE,
        tuple({"STUDYID": trial_id, "DOMAIN": "TE", **e} for e in _elements(protocol)),
    )


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _window(before: int, after: int) -> str:
    return f"Within {_days(before)} before to {_days(after)} after the planned day"


def _tv(trial_id: str, protocol: Protocol) -> Dataset:
    numbers = visit_numbers(protocol.trial_rules())
    baseline = protocol.visits.baseline
    window = protocol.infusions.window
    planned: list[tuple[float, str, int | None, str, str | None]] = [
        (numbers[SCREENING], visit_name(SCREENING), None, "Informed consent signed", None),
        (
            numbers[baseline.id],
            visit_name(baseline.id),
            None,
            ascii_text(baseline.label),
            f"Up to {baseline.window_days_before_first_infusion} days before the first infusion, "
            "or its day before it is given",
        ),
    ]
    for number, day in enumerate(protocol.infusions.days, start=1):
        planned.append(
            (
                infusion_visit_number(number),
                f"INFUSION {number}",
                day,
                f"Infusion {number} on study day {day}",
                _window(window.before_days, window.after_days),
            )
        )
    for visit in protocol.visits.follow_up:
        planned.append(
            (
                numbers[visit.id],
                visit_name(visit.id),
                None,
                ascii_text(visit.label),
                _window(visit.window.before_days, visit.window.after_days),
            )
        )
    return Dataset(
        domains.TV,
        tuple(
            {
                "STUDYID": trial_id,
                "DOMAIN": "TV",
                "VISITNUM": number,
                "VISIT": name,
                "VISITDY": day,
                "ARMCD": None,
                "TVSTRL": start,
                "TVENRL": end,
            }
            for number, name, day, start, end in planned
        ),
    )


def _criterion_text(text: str, minimum: Any, maximum: Any, unit: str | None) -> str:
    bounds = []
    if minimum is not None:
        bounds.append(f"at least {_decimal_text(Decimal(minimum))}")
    if maximum is not None:
        bounds.append(f"at most {_decimal_text(Decimal(maximum))}")
    suffix = f": {' and '.join(bounds)}{f' {unit}' if unit else ''}" if bounds else ""
    return ascii_text(f"{text}{suffix}")


def _ti(trial_id: str, protocol: Protocol, version: str) -> Dataset:
    records = []
    for category, criteria in (
        ("INCLUSION", protocol.eligibility.inclusion),
        ("EXCLUSION", protocol.eligibility.exclusion),
    ):
        for criterion in criteria:
            code = re.sub(r"[^A-Z0-9]", "", criterion.id.upper())[:8]
            records.append(
                {
                    "STUDYID": trial_id,
                    "DOMAIN": "TI",
                    "IETESTCD": code,
                    "IETEST": _criterion_text(
                        criterion.text, criterion.minimum, criterion.maximum, criterion.unit
                    ),
                    "IECAT": category,
                    "TIVERS": version,
                }
            )
    codes = [r["IETESTCD"] for r in records]
    if len(set(codes)) != len(codes):
        raise ValueError(f"eligibility criterion ids give repeated IETESTCD values: {codes}")
    return Dataset(domains.TI, tuple(records))


_PHASES = {"I": "PHASE I TRIAL", "1": "PHASE I TRIAL"}


def _ct_code(code: str, value: str) -> str | None:
    """TSVALCD of a TSVAL from a CT codelist: its NCI term code, None for a sponsor-extended
    value of an extensible codelist; a value outside a non-extensible one is refused."""
    found = codelist(code)
    found.check_values({value}, f"TS.TSVAL {value!r}")
    return found.code_of(value)


def _ts(
    trial_id: str, protocol: Protocol, rows: TrialRows, subjects: dict[str, _Subject]
) -> Dataset:
    trial = protocol.trial
    names = {
        "TITLE": "Trial Title",
        "TPHASE": "Trial Phase Classification",
        "STYPE": "Study Type",
        "TTYPE": "Trial Type",
        "TBLIND": "Trial Blinding Schema",
        "TCNTRL": "Control Type",
        "RANDOM": "Trial is Randomized",
        "TRT": "Investigational Therapy or Treatment",
        "ROUTE": "Route of Administration",
        "DOSE": "Dose per Administration",
        "DOSU": "Dose Units",
        "INDIC": "Trial Disease/Condition Indication",
        "HLTSUBJI": "Healthy Subject Indicator",
        "AGEMIN": "Planned Minimum Age of Subjects",
        "AGEMAX": "Planned Maximum Age of Subjects",
        "SEXPOP": "Sex of Participants",
        "PLANSUB": "Planned Number of Subjects",
        "NARMS": "Planned Number of Arms",
        "SPONSOR": "Clinical Study Sponsor",
        "SSTDTC": "Study Start Date",
        "ACTSUB": "Actual Number of Subjects",
        "SDTIGVER": "SDTM IG Version",
    }
    phase = _PHASES.get(trial.phase.strip().upper())
    if phase is None:
        raise ValueError(
            f"trial phase {trial.phase!r} has no CDISC CT term in Doseline's codelists"
        )
    ages = [
        c for c in protocol.eligibility.all if c.answer is AnswerType.NUMBER and c.unit == "years"
    ]
    age_min = next((c.minimum for c in ages if c.minimum is not None), None)
    age_max = next((c.maximum for c in ages if c.maximum is not None), None)
    enrolled = {e.subject_id for e in rows.enrolments}
    consents = [
        s.row.consent_signed_on
        for s in subjects.values()
        if s.row.id in enrolled and s.row.consent_signed_on is not None
    ]
    randomised = "randomi" in trial.allocation.lower() and "non" not in trial.allocation.lower()
    values: list[tuple[str, str | None, str | None, str | None]] = [
        # (TSPARMCD, TSVAL, TSVALNF, codelist of TSVAL or a reference terminology)
        ("TITLE", ascii_text(trial.title), None, None),
        ("TPHASE", phase, None, TPHASE_CODELIST),
        ("STYPE", trial.study_type.strip().upper(), None, STYPE_CODELIST),
        ("TTYPE", "SAFETY", None, "C66739"),
        (
            "TBLIND",
            "OPEN LABEL" if trial.masking.lower().startswith("none") else None,
            None if trial.masking.lower().startswith("none") else "UNK",
            TBLIND_CODELIST,
        ),
        ("TCNTRL", "NONE", None, None),
        ("RANDOM", "Y" if randomised else "N", None, NY),
        ("TRT", ascii_text(trial.product), None, None),
        ("ROUTE", _route(protocol), None, ROUTE),
        *(
            ("DOSE", _decimal_text(level.per_kg), None, None)
            for level in protocol.dose_escalation.dose_levels
        ),
        ("DOSU", protocol.dose_escalation.unit, None, None),
        ("INDIC", ascii_text(trial.indication), None, None),
        ("HLTSUBJI", "N", None, NY),
        (
            "AGEMIN",
            f"P{_decimal_text(Decimal(age_min))}Y" if age_min is not None else None,
            None if age_min is not None else "NI",
            "ISO 8601",
        ),
        (
            "AGEMAX",
            f"P{_decimal_text(Decimal(age_max))}Y" if age_max is not None else None,
            None if age_max is not None else "PINF",
            "ISO 8601",
        ),
        ("SEXPOP", "BOTH", None, None),
        ("PLANSUB", str(protocol.enrolment.cap), None, None),
        ("NARMS", str(len(protocol.dose_escalation.dose_levels)), None, None),
        ("SPONSOR", None, "UNK", None),
        (
            "SSTDTC",
            min(consents).isoformat() if consents else None,
            None if consents else "NI",
            "ISO 8601",
        ),
        ("ACTSUB", str(len(enrolled)), None, None),
        ("SDTIGVER", SDTMIG_VERSION, None, None),
    ]
    ct = ct_version().removeprefix("SDTM CT ")
    counts: dict[str, int] = defaultdict(int)
    records: list[dict[str, Value]] = []
    for code, value, null_flavour, reference in values:
        counts[code] += 1
        term = _ct_code(reference, value) if reference and value and reference[0] == "C" else None
        records.append(
            {
                "STUDYID": trial_id,
                "DOMAIN": "TS",
                "TSSEQ": counts[code],
                "TSPARMCD": code,
                "TSPARM": names[code],
                "TSVAL": value,
                "TSVALNF": null_flavour,
                "TSVALCD": term,
                "TSVCDREF": "CDISC CT"
                if term
                else (reference if reference == "ISO 8601" and value else None),
                "TSVCDVER": ct if term else None,
            }
        )
    return Dataset(domains.TS, tuple(records))
