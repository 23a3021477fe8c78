"""HTTP API of the CTCAE dictionary: versions, typeahead search, one term, admin import."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from doseline.auth import READ_ROLES, Principal, Role, require_roles
from doseline.errors import InvalidInput
from doseline.http import DbSession
from safety.catalogue import service
from safety.catalogue.schemas import CtcaeTermOut, CtcaeVersionOut, ImportResult

router = APIRouter(prefix="/v1/ctcae", tags=["ctcae dictionary"])
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@router.get("/versions", summary="CTCAE versions loaded, with their source file")
def list_versions(session: DbSession, _: Reader) -> list[CtcaeVersionOut]:
    return [CtcaeVersionOut.of(row) for row in service.loaded_versions(session)]


@router.get(
    "/versions/{version}/terms",
    summary="Search terms by name fragment, MedDRA code or SOC (typeahead)",
)
def search_terms(
    version: str,
    session: DbSession,
    _: Reader,
    q: Annotated[str | None, Query(max_length=200, description="name, code or SOC")] = None,
    soc: Annotated[str | None, Query(max_length=200, description="SOC name fragment")] = None,
    limit: Annotated[int, Query(ge=1, le=900)] = 20,
) -> list[CtcaeTermOut]:
    rows = service.search_terms(session, version, text=q, soc=soc, limit=limit)
    return [CtcaeTermOut.of(row) for row in rows]


@router.get("/versions/{version}/terms/{meddra_code}", summary="One term with its grades")
def get_term(version: str, meddra_code: str, session: DbSession, _: Reader) -> CtcaeTermOut:
    return CtcaeTermOut.of(service.require_term(session, version, meddra_code))


@router.post(
    "/imports",
    summary="Import NCI's CTCAE workbook (.xlsx) or its CSV export (request body is the file)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                "text/csv": {},
            },
        }
    },
)
async def import_dictionary(
    request: Request,
    session: DbSession,
    principal: Admin,
    filename: Annotated[
        str, Query(max_length=200, description="Original file name; its suffix picks the reader")
    ],
    version: Annotated[str | None, Query(pattern=r"^\d+\.\d+$")] = None,
    replace: bool = False,
) -> ImportResult:
    body = await request.body()
    if not body:
        raise InvalidInput.at(["body"], "send the workbook or CSV file as the request body")
    if len(body) > MAX_UPLOAD_BYTES:
        raise InvalidInput.at(["body"], f"the file is larger than {MAX_UPLOAD_BYTES} bytes")
    name = Path(filename).name or "upload"
    with tempfile.TemporaryDirectory(prefix="ctcae-import-") as folder:
        path = Path(folder) / name
        path.write_bytes(body)
        # Reading and storing the workbook runs on a worker thread, off the event loop.
        outcome = await run_in_threadpool(
            service.import_file,
            session,
            path,
            version=version,
            replace=replace,
            actor=principal.audit_name,
            source_name=name,
        )
    return ImportResult(
        version=outcome.version,
        status=outcome.status,
        term_count=outcome.term_count,
        soc_count=outcome.soc_count,
        source_sha256=outcome.source_sha256,
    )
