"""CT segmentation uploads stored in an S3-compatible bucket (moto's S3 server over HTTP)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from doseline import idempotency
from doseline.testing.plugin import TokenFactory
from imaging.ct.file_limits import ReadLimits
from imaging.ct_analyses import service as ct_service
from imaging.ct_analyses.models import CtAnalysisRow
from imaging.ct_analyses.storage import S3ObjectStorage, storage_from
from imaging.manifest import bootstrap
from imaging.settings import ImagingSettings

from .conftest import DAY_1, SUBJECT, Desk, at_site
from .test_ct_uploads import (
    _assert_acceptance_volumes,
    acceptance_masks,
    analysis,
    ct_series,
    label_map_bytes,
    seg_bytes,
    upload,
)

PREFIX = "trial-a/"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> Any:
    """A new, empty bucket for each test, as a boto3 resource."""
    s3 = boto3.resource(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    created = s3.create_bucket(Bucket=f"ct-{uuid.uuid4().hex[:12]}")
    yield created
    created.objects.all().delete()
    created.delete()


def s3_settings(endpoint: str, bucket_name: str) -> dict[str, Any]:
    return {
        "storage_backend": "s3",
        "s3_bucket": bucket_name,
        "s3_prefix": PREFIX,
        "s3_endpoint_url": endpoint,
        "s3_region": "us-east-1",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
    }


def s3_desk(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    sessions: Callable[[str], sessionmaker[Session]],
    settings_for: Callable[..., ImagingSettings],
    overrides: dict[str, Any],
) -> Desk:
    factory = sessions("imaging")
    settings = settings_for("imaging", **overrides)
    with factory() as session, session.begin():
        bootstrap(settings, session)
    desk = Desk(client=api("imaging", **overrides), auth=auth, db=factory, settings=settings)
    desk.enrol()
    desk.treat()
    return desk


@pytest.fixture
def s3_enrolled(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    sessions: Callable[[str], sessionmaker[Session]],
    settings_for: Callable[..., ImagingSettings],
    s3_endpoint: str,
    bucket: Any,
) -> Desk:
    return s3_desk(api, auth, sessions, settings_for, s3_settings(s3_endpoint, bucket.name))


def run_worker(desk: Desk) -> int:
    return ct_service.process_pending(
        desk.db, storage_from(desk.settings), limits=ReadLimits(), lease=timedelta(minutes=10)
    )


def object_names(bucket: Any) -> list[str]:
    return sorted(item.key for item in bucket.objects.all())


def spooled_files(desk: Desk) -> list[str]:
    spool = desk.settings.storage_dir / ".incoming"
    return sorted(path.name for path in spool.iterdir()) if spool.exists() else []


def analyses(desk: Desk) -> int:
    with desk.db() as session:
        return session.scalar(select(func.count()).select_from(CtAnalysisRow)) or 0


async def chunks_of(content: bytes, size: int = 1024**2) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


def test_an_upload_is_stored_under_the_prefix_and_measured_to_the_acceptance_volumes(
    s3_enrolled: Desk, bucket: Any
) -> None:
    created = upload(
        s3_enrolled, seg_bytes(ct_series(), acceptance_masks()), file_format="dicom-seg"
    )
    # Content-addressed: the object is named by the upload's SHA-256.
    assert object_names(bucket) == [f"{PREFIX}ct/sha256/{created['sha256']}"]
    assert run_worker(s3_enrolled) == 1
    _assert_acceptance_volumes(analysis(s3_enrolled, created["id"]))
    # The measured object stays; the upload's spool file and the worker's download do not.
    assert object_names(bucket) == [f"{PREFIX}ct/sha256/{created['sha256']}"]
    assert spooled_files(s3_enrolled) == []


def test_the_stored_object_is_the_uploaded_file_byte_for_byte(
    s3_enrolled: Desk, bucket: Any
) -> None:
    content = label_map_bytes(acceptance_masks())
    created = upload(s3_enrolled, content, file_format="nifti")
    stored = bucket.Object(f"{PREFIX}ct/sha256/{created['sha256']}").get()["Body"].read()
    assert stored == content


def test_a_file_that_cannot_be_measured_fails_and_is_deleted_from_the_bucket(
    s3_enrolled: Desk, bucket: Any
) -> None:
    content = label_map_bytes(acceptance_masks(lung=False))
    created = upload(s3_enrolled, content, file_format="nifti")
    assert run_worker(s3_enrolled) == 1
    assert analysis(s3_enrolled, created["id"])["status"] == "failed"
    assert object_names(bucket) == []


def test_a_failed_transaction_leaves_no_object_in_the_bucket(
    s3_enrolled: Desk, bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_once = idempotency.run_once

    def stored_then_refused(*args: Any, **kwargs: Any) -> Any:
        run_once(*args, **kwargs)  # the object is in the bucket by now
        assert len(object_names(bucket)) == 1
        raise RuntimeError("the database refused the commit")

    monkeypatch.setattr(idempotency, "run_once", stored_then_refused)
    storage = storage_from(s3_enrolled.settings)
    content = seg_bytes(ct_series(), acceptance_masks())
    incoming = asyncio.run(storage.receive(chunks_of(content), max_bytes=len(content)))
    with pytest.raises(RuntimeError, match="refused the commit"):
        ct_service.create(
            s3_enrolled.db,
            storage,
            incoming,
            ct_service.UploadRequest(
                subject_id=SUBJECT,
                performed_at=datetime.fromisoformat(at_site(DAY_1 - timedelta(days=5))),
                file_format="dicom-seg",
                parameters=ct_service.validated_parameters(
                    file_format="dicom-seg",
                    lung_labels=[1],
                    lesion_labels=[2],
                    other_labels=None,
                    lesion_outside_lung="count_as_lung",
                ),
            ),
            actor="rn-wang",
            principal="rn-wang",
            idempotency_key=None,
            path=f"/v1/subjects/{SUBJECT}/ct-analyses",
        )
    assert object_names(bucket) == []
    assert analyses(s3_enrolled) == 0
    assert spooled_files(s3_enrolled) == []


def test_an_upload_to_a_missing_bucket_is_503_and_stores_nothing(
    api: Callable[..., TestClient],
    auth: TokenFactory,
    sessions: Callable[[str], sessionmaker[Session]],
    settings_for: Callable[..., ImagingSettings],
    s3_endpoint: str,
) -> None:
    desk = s3_desk(api, auth, sessions, settings_for, s3_settings(s3_endpoint, "no-such-bucket"))
    response = desk.client.post(
        f"/v1/subjects/{SUBJECT}/ct-analyses",
        params={
            "format": "dicom-seg",
            "performed_at": at_site(DAY_1 - timedelta(days=5)),
            "lung_labels": [1],
            "lesion_labels": [2],
        },
        content=seg_bytes(ct_series(), acceptance_masks()),
        headers={**desk.as_(), "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 503, response.text
    problem = response.json()
    assert problem["title"] == "Object storage is unavailable"
    assert "s3://no-such-bucket/" in problem["detail"]
    assert "NoSuchBucket" in problem["detail"]
    assert "check that the bucket exists" in problem["detail"]
    assert analyses(desk) == 0
    assert spooled_files(desk) == []


def test_an_analysis_whose_object_is_gone_fails_saying_object_storage_could_not_read_it(
    s3_enrolled: Desk, bucket: Any
) -> None:
    created = upload(s3_enrolled, label_map_bytes(acceptance_masks()), file_format="nifti")
    bucket.objects.all().delete()
    assert run_worker(s3_enrolled) == 1
    failed = analysis(s3_enrolled, created["id"])
    assert failed["status"] == "failed"
    assert failed["error"].startswith("Object storage is unavailable: could not read s3://")
    assert spooled_files(s3_enrolled) == []


def test_a_file_above_the_multipart_threshold_is_uploaded_in_parts_and_reads_back_whole(
    s3_endpoint: str, bucket: Any, tmp_path: Path
) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    storage = S3ObjectStorage(client, bucket=bucket.name, prefix=PREFIX, spool_dir=tmp_path)
    content = bytes(range(256)) * (20 * 1024**2 // 256)  # 20 MiB: three parts of 8 MiB
    incoming = asyncio.run(storage.receive(chunks_of(content), max_bytes=len(content)))
    storage.commit(incoming, "ct/large")
    # S3: the ETag of a multipart upload ends in "-<number of parts>".
    assert bucket.Object(f"{PREFIX}ct/large").e_tag.strip('"').endswith("-3")
    with storage.open_local("ct/large") as path:
        assert path.read_bytes() == content
    assert list(tmp_path.iterdir()) == []
    storage.delete("ct/large")
    assert object_names(bucket) == []


def test_the_s3_backend_without_a_bucket_is_refused_when_the_settings_load(
    settings_for: Callable[..., ImagingSettings],
) -> None:
    with pytest.raises(ValidationError, match="IMAGING_S3_BUCKET is required"):
        settings_for("imaging", storage_backend="s3")
