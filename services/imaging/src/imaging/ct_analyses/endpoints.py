"""HTTP API of CT segmentation uploads (NIfTI label maps, DICOM-SEG) and their progress."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from doseline import pagination
from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.errors import InvalidInput, PayloadTooLarge
from doseline.http import DbSession
from doseline.idempotency import IdempotencyKeyHeader
from doseline.pagination import Page
from imaging.ct_analyses import service
from imaging.ct_analyses.schemas import CtAnalysisOut, FileFormat, LesionOutsideLungPolicy
from imaging.ct_analyses.storage import ObjectStorage, storage_from
from imaging.settings import ImagingSettings

router = APIRouter(tags=["CT analyses"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Writer = Annotated[
    Principal,
    Depends(require_roles(Role.OUTCOMES_ASSESSOR, Role.COORDINATOR, Role.INVESTIGATOR)),
]

UPLOAD_DESCRIPTION = """The request body is the file itself, streamed to storage
(`Content-Type: application/octet-stream`, `application/dicom` or `application/zip`); nothing
is measured in the request.

`format=dicom-seg`: a DICOM-SEG as segmentation tools write it (binary, fractional, or label
map SOP class 1.2.840.10008.5.1.4.1.1.66.7), alone or in a ZIP, with or without the CT images
of its source series (with them, the slice spacing is the series'). Lung and lesion segments
are found by their coded meaning (SNOMED CT Lung, Lobe of lung, Right/Left lung, a lobe;
Lesion, Neoplasm, Mass, Nodule, Ground glass opacity, Consolidation, …); `lung_labels` and
`lesion_labels` number them instead, each on its own. No lesion segment: lesion volume 0. No
lung segment: the analysis fails naming the segments found, so that they can be numbered.

`format=nifti`: a NIfTI-1/2 label map (.nii or .nii.gz), or a ZIP of `labels.nii[.gz]` with
optionally `image.nii[.gz]` (the CT it was drawn on, whose grid the label map must match) and
one JSON sidecar naming the labels (nnU-Net `dataset.json`, Decathlon, or dcmqi metadata).
Labels are given by `lung_labels`, `lesion_labels` and `other_labels` together, or found by
name in the file's own label table (TotalSegmentator writes one) or the sidecar.

The segments or labels counted are in the result (`assessment.results.voxels.segments`).
Answers 202 with the analysis, queued; poll `GET /v1/ct-analyses/{id}` for its progress."""

UPLOAD_PARAMETERS = frozenset(
    {
        "performed_at",
        "format",
        "lung_labels",
        "lesion_labels",
        "other_labels",
        "lesion_outside_lung",
    }
)


def storage_of(request: Request) -> ObjectStorage:
    # One storage per app: a boto3 client is costly to build and safe to share between threads.
    storage: ObjectStorage | None = getattr(request.app.state, "object_storage", None)
    if storage is None:
        settings: ImagingSettings = request.app.state.settings
        storage = storage_from(settings)
        request.app.state.object_storage = storage
    return storage


@router.post(
    "/v1/subjects/{subject_id}/ct-analyses",
    summary="Upload a segmentation (NIfTI label map or DICOM-SEG) to be measured by the worker",
    description=UPLOAD_DESCRIPTION,
    status_code=202,
    response_model=CtAnalysisOut,
    responses={
        202: {"description": "Stored and queued"},
        409: {"description": "Subject not known to imaging yet"},
        413: {"description": "The file exceeds the upload limit"},
        503: {"description": "Object storage refused or could not be reached; nothing stored"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def upload_segmentation(
    subject_id: str,
    request: Request,
    principal: Writer,
    performed_at: Annotated[AwareDatetime, Query(description="When the CT was acquired")],
    format: Annotated[FileFormat, Query(description="nifti or dicom-seg")],
    lung_labels: Annotated[list[int] | None, Query(min_length=1, max_length=50)] = None,
    lesion_labels: Annotated[list[int] | None, Query(min_length=1, max_length=50)] = None,
    other_labels: Annotated[list[int] | None, Query(max_length=200)] = None,
    lesion_outside_lung: LesionOutsideLungPolicy = "count_as_lung",
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    settings: ImagingSettings = request.app.state.settings
    unknown = sorted(set(request.query_params) - UPLOAD_PARAMETERS)
    if unknown:
        raise InvalidInput.at(
            ["query", unknown[0]],
            f"not a parameter of this upload ({', '.join(unknown[:5])}); it takes "
            + ", ".join(sorted(UPLOAD_PARAMETERS)),
        )
    parameters = service.validated_parameters(
        file_format=format,
        lung_labels=lung_labels,
        lesion_labels=lesion_labels,
        other_labels=other_labels,
        lesion_outside_lung=lesion_outside_lung,
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"the upload is {declared} bytes, more than the limit of "
            f"{settings.max_upload_bytes} bytes",
            extra={"max_bytes": settings.max_upload_bytes},
        )
    storage = storage_of(request)
    incoming = await storage.receive(request.stream(), max_bytes=settings.max_upload_bytes)
    stored = await run_in_threadpool(
        service.create,
        request.app.state.sessions,
        storage,
        incoming,
        service.UploadRequest(
            subject_id=subject_id,
            performed_at=performed_at,
            file_format=format,
            parameters=parameters,
        ),
        actor=principal.audit_name,
        principal=principal.subject,
        idempotency_key=key,
        path=request.url.path,
    )
    return JSONResponse(stored.body, status_code=stored.status_code, headers=stored.headers)


@router.get(
    "/v1/ct-analyses/{analysis_id}",
    summary="Progress of an uploaded segmentation: queued, processing, done (with volumes), failed",
)
def get_ct_analysis(analysis_id: uuid.UUID, session: DbSession, _: Reader) -> CtAnalysisOut:
    return service.read(session, analysis_id)


@router.get(
    "/v1/subjects/{subject_id}/ct-analyses",
    summary="A subject's uploaded segmentations and their progress, oldest first",
)
def list_ct_analyses(
    subject_id: str,
    session: DbSession,
    _: Reader,
    cursor: pagination.CursorQuery = None,
    limit: pagination.PageSize = pagination.DEFAULT_PAGE_SIZE,
) -> Page[CtAnalysisOut]:
    return service.page_of_subject(session, subject_id, cursor=cursor, limit=limit)
