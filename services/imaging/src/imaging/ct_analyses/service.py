"""CT segmentation uploads: stored, then recorded with their work order; measured by a worker.

The request stores the file as a content-addressed object first, outside any transaction, then
writes the queued analysis, its audit entry and its work order (the `imaging.ct.uploaded` event,
through the outbox) in one short transaction; if that fails, the object is removed again unless
another analysis refers to the same bytes. A worker receives the work order and measures that
one analysis: it claims it (queued → processing, a conditional update in a short transaction of
its own, so a duplicate message finds nothing to do and the progress is visible), measures the
file outside any transaction, and records the result (a CT assessment) or the error in a second
short transaction. A file that cannot be measured is deleted from storage unless another
analysis needs it; its analysis keeps the error. A slow sweeper writes the work order again for
an analysis no worker finished within the lease (settings.ct_analysis_lease_seconds): its message
was lost, or its worker died.
"""

from __future__ import annotations

import shutil
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from tempfile import TemporaryDirectory
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from doseline import audit, idempotency, outbox, pagination
from doseline.contracts.imaging import CtUploaded
from doseline.errors import DoselineError, InvalidInput, NotFound
from doseline.idempotency import StoredResponse
from imaging.assessments import derivation
from imaging.assessments import repository as assessments_repository
from imaging.assessments import service as assessments
from imaging.assessments.schemas import AssessmentOut
from imaging.ct.errors import UnreadableFileError, VolumetryError, listed, shortened
from imaging.ct.file_limits import ReadLimits
from imaging.ct.label_names import LabelNames, from_sidecar
from imaging.ct.volumetry import LesionOutsideLung, LungLesionVolumes
from imaging.ct_analyses import repository
from imaging.ct_analyses.models import CtAnalysisRow
from imaging.ct_analyses.schemas import CtAnalysisOut
from imaging.ct_analyses.storage import (
    Incoming,
    ObjectStorage,
    ObjectStorageUnavailable,
    content_key,
)
from imaging.problems import UNREADABLE_FILE
from imaging.subjects import service as subjects

log = structlog.get_logger(__name__)

# Segmentation Storage, and Label Map Segmentation Storage (DICOM 2024, one frame per slice
# holding every segment's number).
SEGMENTATION_SOP_CLASSES = frozenset(
    {"1.2.840.10008.5.1.4.1.1.66.4", "1.2.840.10008.5.1.4.1.1.66.7"}
)
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_NIFTI_HEADER_SIZES = (348, 540)
# An analysis claimed this often without finishing (the worker died on it each time) fails.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class UploadRequest:
    subject_id: str
    performed_at: datetime
    file_format: str
    parameters: dict[str, Any]


def _labels(values: list[int] | None, field: str, *, least: int = 1) -> frozenset[int] | None:
    if values is None:
        return None
    below = sorted(value for value in values if value < least)
    if below:
        raise InvalidInput.at(
            ["query", field],
            f"{below[:10]}: label values and segment numbers start at 1 (0 is background)",
        )
    return frozenset(values)


def _no_overlap(first: frozenset[int] | None, second: frozenset[int] | None, field: str) -> None:
    shared = (first or frozenset()) & (second or frozenset())
    if shared:
        raise InvalidInput.at(
            ["query", field], f"{sorted(shared)} also given in another of the label parameters"
        )


def validated_parameters(
    *,
    file_format: str,
    lung_labels: list[int] | None,
    lesion_labels: list[int] | None,
    other_labels: list[int] | None,
    lesion_outside_lung: str,
) -> dict[str, Any]:
    """Check the label or segment numbers before a byte of the file is stored.

    Each error names the query parameter it is about. A label map takes lung_labels and
    lesion_labels together (with other_labels), or none of them: then the names the file or its
    sidecar gives are used. A DICOM-SEG takes either, both or none: a role not numbered is
    found by the segments' coded meaning.
    """
    lung = _labels(lung_labels, "lung_labels")
    lesion = _labels(lesion_labels, "lesion_labels")
    other = _labels(other_labels, "other_labels")
    _no_overlap(lung, lesion, "lesion_labels")
    _no_overlap(lung, other, "other_labels")
    _no_overlap(lesion, other, "other_labels")
    if file_format == "nifti":
        if (lung is None) != (lesion is None):
            missing = "lesion_labels" if lesion is None else "lung_labels"
            raise InvalidInput.at(
                ["query", missing],
                "a label map takes lung_labels and lesion_labels together, or neither (then "
                "the names in the file's label table or its sidecar are used)",
            )
        if other is not None and lung is None:
            raise InvalidInput.at(
                ["query", "other_labels"], "give it with lung_labels and lesion_labels"
            )
        if lesion_outside_lung != "count_as_lung":
            raise InvalidInput.at(
                ["query", "lesion_outside_lung"],
                "a label map gives every voxel one label, so a lesion is inside the lung "
                "by construction; leave the policy at count_as_lung",
            )
    elif other is not None:
        raise InvalidInput.at(["query", "other_labels"], "applies to label maps only")
    return {
        "lung_labels": None if lung is None else sorted(lung),
        "lesion_labels": None if lesion is None else sorted(lesion),
        "other_labels": sorted(other or ()),
        "lesion_outside_lung": lesion_outside_lung,
    }


def check_file_type(file_format: str, incoming: Incoming) -> None:
    """Refuse at once a file that is plainly not what it claims to be (the worker reads it)."""
    head = incoming.head
    if incoming.size_bytes == 0:
        raise InvalidInput("the upload is empty", problem=UNREADABLE_FILE)
    if file_format == "nifti":
        plain_nifti = len(head) >= 4 and (
            int.from_bytes(head[:4], "little") in _NIFTI_HEADER_SIZES
            or int.from_bytes(head[:4], "big") in _NIFTI_HEADER_SIZES
        )
        if not (head.startswith((_GZIP_MAGIC, _ZIP_MAGIC)) or plain_nifti):
            raise InvalidInput(
                "the upload is neither a NIfTI file (.nii or .nii.gz) nor a ZIP of a label map "
                "and its CT image",
                problem=UNREADABLE_FILE,
            )
    elif not (head.startswith(_ZIP_MAGIC) or head[128:132] == b"DICM"):
        raise InvalidInput(
            "the upload is neither a DICOM file (Part 10, 'DICM' at byte 128) nor a ZIP of a "
            "DICOM-SEG and its source CT series",
            problem=UNREADABLE_FILE,
        )


def create(
    sessions: sessionmaker[Session],
    storage: ObjectStorage,
    incoming: Incoming,
    upload: UploadRequest,
    *,
    actor: str,
    principal: str,
    idempotency_key: str | None,
    path: str,
) -> StoredResponse:
    """Store the object, then record its queued analysis, audit entry and work order in one
    short transaction; if that transaction fails, the object goes again unless another
    analysis refers to the same content.

    The object is written before any transaction begins: no transaction (nor its connection,
    snapshot or locks) stays open while a gibibyte travels to storage."""
    try:
        check_file_type(upload.file_format, incoming)
        with sessions() as session, session.begin():
            _check_request(session, upload)  # before storing what would be refused anyway
        key = content_key(incoming.sha256)
        with repository.object_lock(sessions, key):
            storage.commit(incoming, key)
            try:
                return _record_upload(
                    sessions,
                    incoming,
                    upload,
                    key,
                    actor=actor,
                    principal=principal,
                    idempotency_key=idempotency_key,
                    path=path,
                )
            finally:
                # The object stays only while an analysis needs it: not after a failed
                # transaction, nor for a retried request whose analysis has since failed.
                _remove_locked(sessions, storage, key)
    finally:
        storage.discard(incoming)


def _check_request(session: Session, upload: UploadRequest) -> None:
    subjects.require_known(session, upload.subject_id)
    assessments.check_performed_at(upload.performed_at)


def _record_upload(
    sessions: sessionmaker[Session],
    incoming: Incoming,
    upload: UploadRequest,
    key: str,
    *,
    actor: str,
    principal: str,
    idempotency_key: str | None,
    path: str,
) -> StoredResponse:
    with sessions() as session, session.begin():

        def make() -> StoredResponse:
            subject = subjects.require_known(session, upload.subject_id)
            assessments.check_performed_at(upload.performed_at)
            row = _queued(subject.trial_id, subject.subject_id, upload, incoming, key, actor)
            session.add(row)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="ct_analysis.upload",
                entity_type="ct_analysis",
                entity_id=str(row.id),
                after=_snapshot(row),
            )
            _announce(session, row)
            return StoredResponse(
                202,
                CtAnalysisOut.of(row, None).model_dump(mode="json"),
                {"Location": f"/v1/ct-analyses/{row.id}"},
            )

        # The file's hash stands for its content in the idempotency fingerprint.
        return idempotency.run_once(
            session,
            key=idempotency_key,
            principal=principal,
            method="POST",
            path=path,
            payload={
                "performed_at": upload.performed_at,
                "file_format": upload.file_format,
                "parameters": upload.parameters,
                "sha256": incoming.sha256,
            },
            create=make,
        )


def _queued(
    trial_id: str,
    subject_id: str,
    upload: UploadRequest,
    incoming: Incoming,
    key: str,
    actor: str,
) -> CtAnalysisRow:
    now = datetime.now(UTC)
    return CtAnalysisRow(
        id=uuid.uuid4(),
        trial_id=trial_id,
        subject_id=subject_id,
        performed_at=upload.performed_at,
        file_format=upload.file_format,
        object_key=key,
        size_bytes=incoming.size_bytes,
        sha256=incoming.sha256,
        parameters=upload.parameters,
        status="queued",
        attempts=0,
        created_by=actor,
        created_at=now,
        announced_at=now,
    )


def _announce(session: Session, row: CtAnalysisRow) -> None:
    """The analysis's work order, sent (by the relay) when this transaction commits."""
    outbox.record_event(session, CtUploaded(analysis_id=str(row.id)), subject=row.subject_id)


def _snapshot(row: CtAnalysisRow) -> dict[str, Any]:
    return {
        "subject_id": row.subject_id,
        "performed_at": row.performed_at,
        "file_format": row.file_format,
        "object_key": row.object_key,
        "size_bytes": row.size_bytes,
        "sha256": row.sha256,
        "parameters": row.parameters,
        "status": row.status,
        "error": row.error,
        "assessment_id": row.assessment_id,
    }


def read(session: Session, analysis_id: uuid.UUID) -> CtAnalysisOut:
    row = repository.analysis(session, analysis_id)
    if row is None:
        raise NotFound(f"no CT analysis {analysis_id}")
    assessment = (
        None
        if row.assessment_id is None
        else AssessmentOut.of(assessments.require(session, row.assessment_id))
    )
    return CtAnalysisOut.of(row, assessment)


CREATED_ORDER = pagination.Keyset(created_at=datetime, id=uuid.UUID)


def page_of_subject(
    session: Session, subject_id: str, *, cursor: str | None, limit: int
) -> pagination.Page[CtAnalysisOut]:
    """A subject's uploads, oldest first, with the assessments they made read at once."""
    subjects.require_known(session, subject_id, reading=True)
    rows = repository.of_subject(
        session, subject_id, after=CREATED_ORDER.read(cursor), limit=limit + 1
    )
    page = CREATED_ORDER.page(rows, limit=limit, key=lambda row: (row.created_at, row.id))
    made = assessments_repository.by_ids(
        session, [row.assessment_id for row in page.items if row.assessment_id is not None]
    )
    return page.shown_as(
        lambda row: CtAnalysisOut.of(
            row, None if row.assessment_id is None else AssessmentOut.of(made[row.assessment_id])
        )
    )


def load_measuring_libraries() -> None:
    """Import what `measure` needs (highdicom, pydicom and nibabel take seconds): a worker
    process does it before it takes a work order, so that its first measurements do not wait
    for it one behind the other; a process that only serves the API never imports them."""
    from imaging.ct import dicom_seg, label_map  # noqa: F401, PLC0415


def measure(
    path: Path, file_format: str, parameters: dict[str, Any], limits: ReadLimits
) -> LungLesionVolumes:
    """Volumes of a stored upload (pure computation on the file; no database)."""
    # Imported here, not at the top: see load_measuring_libraries.
    from imaging.ct.dicom_seg import SegmentChoice, dicom_seg_volumes  # noqa: PLC0415
    from imaging.ct.label_map import LabelMapLabels, label_map_volumes  # noqa: PLC0415

    lung = _numbers(parameters["lung_labels"])
    lesion = _numbers(parameters["lesion_labels"])
    if file_format == "nifti":
        labels = None
        if lung is not None and lesion is not None:
            labels = LabelMapLabels(
                lung=lung, lesion=lesion, other=frozenset(parameters["other_labels"])
            )
        if not zipfile.is_zipfile(path):
            return label_map_volumes(path, labels, limits=limits)
        with TemporaryDirectory(prefix="ct-label-map-") as folder:
            label_map, image, sidecar = _label_map_members(_extract(path, Path(folder), limits))
            return label_map_volumes(
                label_map, labels, sidecar=sidecar, reference_image=image, limits=limits
            )
    choice = SegmentChoice(lung=lung, lesion=lesion)
    policy = LesionOutsideLung(parameters["lesion_outside_lung"])
    if not zipfile.is_zipfile(path):
        return dicom_seg_volumes(path, choice, lesion_outside_lung=policy, limits=limits)
    with TemporaryDirectory(prefix="ct-series-") as folder:
        segmentation, sources = _segmentation_and_series(_extract(path, Path(folder), limits))
        return dicom_seg_volumes(
            segmentation,
            choice,
            source_images=sources or None,
            lesion_outside_lung=policy,
            limits=limits,
        )


def _numbers(values: list[int] | None) -> frozenset[int] | None:
    """Numbers the caller gave for a role; None when the file's own names or codes decide."""
    return None if values is None else frozenset(values)


def _extract(archive: Path, folder: Path, limits: ReadLimits) -> dict[str, Path]:
    """Every file of a ZIP, extracted under our own names; keyed by its name in the ZIP."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [info for info in bundle.infolist() if not info.is_dir()]
            # A ZIP can declare a small size and expand hugely: check before extracting.
            expanded = sum(info.file_size for info in members)
            if expanded > limits.max_file_bytes:
                raise UnreadableFileError(
                    f"the ZIP expands to {expanded} bytes, more than the limit of "
                    f"{limits.max_file_bytes} bytes"
                )
            extracted: dict[str, Path] = {}
            for index, info in enumerate(members):
                target = folder / f"{index:05d}"
                with bundle.open(info) as source, target.open("wb") as output:
                    shutil.copyfileobj(source, output)
                extracted[info.filename] = target
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise UnreadableFileError(f"the ZIP cannot be read: {error}") from error
    return extracted


def _label_map_members(files: dict[str, Path]) -> tuple[Path, Path | None, LabelNames | None]:
    """A ZIP of a label map (`labels.nii[.gz]`), optionally the CT it was drawn on
    (`image.nii[.gz]`) and one JSON sidecar naming its labels."""
    by_stem: dict[str, Path] = {}
    sidecars: list[tuple[str, Path]] = []
    for name, target in files.items():
        base = PurePosixPath(name).name
        if base.lower().endswith(".json"):
            sidecars.append((base, target))
            continue
        by_stem[base.removesuffix(".gz").removesuffix(".nii")] = target
    if "labels" not in by_stem or set(by_stem) - {"labels", "image"} or len(sidecars) > 1:
        raise UnreadableFileError(
            "a ZIP for format=nifti must hold labels.nii[.gz] (the label map), and may hold "
            "image.nii[.gz] (the CT it was drawn on) and one .json sidecar naming the labels; "
            f"it holds {listed(sorted(files))}"
        )
    sidecar = None
    if sidecars:
        name, target = sidecars[0]
        sidecar = from_sidecar(target.read_bytes(), name)
    return by_stem["labels"], by_stem.get("image"), sidecar


def _segmentation_and_series(files: dict[str, Path]) -> tuple[Path, list[Path]]:
    """The one DICOM-SEG of a ZIP (binary, fractional or label map) and any CT images beside it."""
    import pydicom  # noqa: PLC0415 (see measure)
    from pydicom.errors import InvalidDicomError  # noqa: PLC0415

    segmentations: list[Path] = []
    images: list[Path] = []
    for target in files.values():
        try:
            dataset = pydicom.dcmread(target, stop_before_pixels=True)
        except (InvalidDicomError, OSError, EOFError, ValueError) as error:
            raise UnreadableFileError(
                f"a file in the ZIP is not a DICOM file: {type(error).__name__}: {error}"
            ) from error
        sop_class = str(getattr(dataset, "SOPClassUID", ""))
        (segmentations if sop_class in SEGMENTATION_SOP_CLASSES else images).append(target)
    if len(segmentations) != 1:
        raise UnreadableFileError(
            f"the ZIP holds {len(segmentations)} DICOM-SEG objects; it must hold exactly one, "
            "with or without the CT images of its source series"
        )
    return segmentations[0], images


def _claim(
    sessions: sessionmaker[Session],
    storage: ObjectStorage,
    now: datetime,
    lease: timedelta,
    analysis_id: uuid.UUID | None = None,
) -> CtAnalysisRow | None:
    """Mark one analysis processing in a short transaction of its own, so that the progress is
    visible and a duplicate work order finds nothing to do."""
    while True:
        with sessions() as session, session.begin():
            row = repository.claim_next(session, stale_before=now - lease, analysis_id=analysis_id)
            if row is None:
                return None
            if row.attempts < MAX_ATTEMPTS:
                return _start(session, row, now)
            _give_up(session, row, now)
            abandoned = row.object_key
        _remove_if_unreferenced(sessions, storage, abandoned)
        if analysis_id is not None:
            return None


def _give_up(session: Session, row: CtAnalysisRow, now: datetime) -> None:
    """A file whose measurement stopped the worker MAX_ATTEMPTS times is not tried again."""
    before = _snapshot(row)
    row.status = "failed"
    row.error = (
        f"the worker stopped {row.attempts} times while measuring this file; upload it again "
        "or ask an administrator to look at the worker's logs"
    )
    row.finished_at = now
    session.flush()
    audit.record(
        session,
        actor=f"worker <ct-analysis {row.id}>",
        action="ct_analysis.failed",
        entity_type="ct_analysis",
        entity_id=str(row.id),
        before=before,
        after=_snapshot(row),
    )


def _start(session: Session, row: CtAnalysisRow, now: datetime) -> CtAnalysisRow:
    row.status = "processing"
    row.attempts += 1
    row.claimed_at = now
    session.flush()
    session.expunge(row)
    return row


def _finish(
    sessions: sessionmaker[Session],
    storage: ObjectStorage,
    claimed: CtAnalysisRow,
    outcome: LungLesionVolumes | str,
    seconds: float,
) -> None:
    actor = f"worker <ct-analysis {claimed.id}>"
    with sessions() as session, session.begin():
        row = repository.analysis(session, claimed.id, lock=True)
        if row is None or row.status != "processing" or row.claimed_at != claimed.claimed_at:
            return  # another worker took it over after the lease; its result stands
        before = _snapshot(row)
        if isinstance(outcome, str):
            row.status = "failed"
            row.error = shortened(outcome)
        else:
            row.status = "done"
            row.assessment_id = _record_assessment(session, row, outcome, actor)
        row.finished_at = datetime.now(UTC)
        row.processing_seconds = seconds
        session.flush()
        audit.record(
            session,
            actor=actor,
            action=f"ct_analysis.{row.status}",
            entity_type="ct_analysis",
            entity_id=str(row.id),
            before=before,
            after=_snapshot(row),
        )
        failed = row.status == "failed"
    if failed:
        # Nothing half-stored: the file that could not be measured does not stay in storage
        # (unless another analysis of the same bytes still needs it).
        _remove_if_unreferenced(sessions, storage, claimed.object_key)


def _record_assessment(
    session: Session, row: CtAnalysisRow, volumes: LungLesionVolumes, actor: str
) -> uuid.UUID:
    derived = derivation.ct_from_volumes(
        volumes,
        {
            "file_format": row.file_format,
            "sha256": row.sha256,
            "parameters": row.parameters,
            "ct_analysis_id": str(row.id),
            "uploaded_by": row.created_by,
        },
    )
    assessment = assessments.record(
        session,
        subject_id=row.subject_id,
        performed_at=row.performed_at,
        derived=derived,
        source=row.file_format,
        actor=actor,
    )
    return assessment.id


def _remove_if_unreferenced(
    sessions: sessionmaker[Session], storage: ObjectStorage, key: str
) -> None:
    """Delete an object no analysis needs any more (none refers to it, or only failed ones),
    under the object's lock, so that a concurrent upload of the same bytes keeps it. The lock
    is re-entrant within one connection only, so the upload path calls `_remove_locked`."""
    with repository.object_lock(sessions, key):
        _remove_locked(sessions, storage, key)


def _remove_locked(sessions: sessionmaker[Session], storage: ObjectStorage, key: str) -> None:
    with sessions() as session:
        if repository.live_references(session, key):
            return
    # If the store refuses, the object stays orphaned (no live row refers to it) and the failure
    # is logged for an administrator; the outcome that led here is not hidden behind it.
    try:
        storage.delete(key)
    except ObjectStorageUnavailable:
        log.exception("ct_analysis.object_not_deleted", object_key=key)


def measure_analysis(
    sessions: sessionmaker[Session],
    storage: ObjectStorage,
    analysis_id: uuid.UUID | None,
    *,
    limits: ReadLimits,
    lease: timedelta,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> uuid.UUID | None:
    """Claim, measure and record one analysis (`analysis_id`, or the oldest waiting); returns
    its id, or None when it is not waiting (done, failed, or being measured by another worker:
    a duplicate work order changes nothing).

    Three steps, no transaction open across the slow one: claim (short transaction), read and
    measure the file (no transaction), record the result, its audit entry and events (short
    transaction)."""
    claimed = _claim(sessions, storage, now(), lease, analysis_id)
    if claimed is None:
        return None
    started = time.perf_counter()
    outcome: LungLesionVolumes | str
    try:
        # A temporary download on S3, removed when the measurement ends.
        with storage.open_local(claimed.object_key) as path:
            outcome = measure(path, claimed.file_format, claimed.parameters, limits)
    except ObjectStorageUnavailable as error:
        outcome = f"{error.title}: {error.detail}"
    except VolumetryError as error:
        outcome = f"{type(error).__name__}: {error}"
    except Exception as error:  # a library's unexpected failure on a strange file
        log.exception("ct_analysis.unexpected_error", analysis_id=str(claimed.id))
        outcome = f"the file could not be measured ({type(error).__name__}: {error})"
    seconds = time.perf_counter() - started
    try:
        _finish(sessions, storage, claimed, outcome, seconds)
    except DoselineError as error:
        # Recording the result was refused (e.g. the volumes are implausible): fail the analysis.
        _finish(sessions, storage, claimed, f"{error.title}: {error.detail}", seconds)
    return claimed.id


def process_next(
    sessions: sessionmaker[Session],
    storage: ObjectStorage,
    *,
    limits: ReadLimits,
    lease: timedelta,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> uuid.UUID | None:
    """Claim, measure and record the oldest waiting analysis; None when none is waiting."""
    return measure_analysis(sessions, storage, None, limits=limits, lease=lease, now=now)


def process_pending(
    sessions: sessionmaker[Session],
    storage: ObjectStorage,
    *,
    limits: ReadLimits,
    lease: timedelta,
    max_analyses: int = 20,
) -> int:
    """Measure waiting analyses one after another in this thread (a drain, without the broker)."""
    processed = 0
    while processed < max_analyses:
        if process_next(sessions, storage, limits=limits, lease=lease) is None:
            break
        processed += 1
    return processed


def announce_lost(session: Session, now: datetime, *, lease: timedelta, limit: int = 100) -> int:
    """The sweeper: write the work order again for every analysis no worker finished within a
    lease of its last one (the message was lost, or its worker died); returns how many. Only
    database rows: nothing is measured, and no file is touched, in the sweeper's transaction."""
    rows = repository.unannounced_since(session, stale_before=now - lease, limit=limit)
    for row in rows:
        row.announced_at = now
        _announce(session, row)
    if rows:
        log.warning("ct_analysis.announced_again", analyses=[str(row.id) for row in rows])
    return len(rows)
