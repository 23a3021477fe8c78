"""CT analyses as work orders: measured on their message, duplicates harmless, lost ones sent
again by the sweeper, and the object stored before (and never inside) the audited transaction."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from doseline import audit
from doseline.contracts.imaging import CtUploaded
from doseline.events import Envelope
from doseline.schema import ServiceSchema
from doseline.testing.plugin import EventPump
from imaging.ct.file_limits import ReadLimits
from imaging.ct_analyses import service as ct_service
from imaging.ct_analyses import tasks as ct_tasks
from imaging.ct_analyses.models import CtAnalysisRow
from imaging.ct_analyses.storage import Incoming, LocalObjectStorage
from imaging.db import schema

from .conftest import DAY_1, SUBJECT, Desk, at_site
from .test_ct_uploads import (
    _assert_acceptance_volumes,
    acceptance_masks,
    analysis,
    label_map_bytes,
    stored_objects,
    upload,
)

BLOOD_GAS = {"ph": 7.40, "pao2": 80, "paco2": 40, "fio2": 0.21}


@pytest.fixture
def enrolled(desk: Desk) -> Desk:
    desk.enrol()
    desk.treat()
    return desk


def work_orders(desk: Desk) -> list[Envelope]:
    with desk.db() as session:
        outbox = ServiceSchema.of(session).kit.outbox
        rows = session.scalars(
            select(outbox.c.envelope)
            .where(outbox.c.event_type == CtUploaded.event_type)
            .order_by(outbox.c.id)
        ).all()
    return [Envelope.model_validate(row) for row in rows]


def receive(desk: Desk, content: bytes) -> Incoming:
    storage = LocalObjectStorage(desk.settings.storage_dir)

    async def chunks() -> AsyncIterator[bytes]:
        yield content

    return asyncio.run(storage.receive(chunks(), max_bytes=len(content)))


def upload_request() -> ct_service.UploadRequest:
    return ct_service.UploadRequest(
        subject_id=SUBJECT,
        performed_at=datetime.fromisoformat(at_site(DAY_1 - timedelta(days=5))),
        file_format="nifti",
        parameters=ct_service.validated_parameters(
            file_format="nifti",
            lung_labels=[1],
            lesion_labels=[2],
            other_labels=None,
            lesion_outside_lung="count_as_lung",
        ),
    )


def create(desk: Desk, sessions: sessionmaker[Session], storage: Any, content: bytes) -> Any:
    return ct_service.create(
        sessions,
        storage,
        receive(desk, content),
        upload_request(),
        actor="rn-wang",
        principal="rn-wang",
        idempotency_key=None,
        path=f"/v1/subjects/{SUBJECT}/ct-analyses",
    )


def test_an_upload_writes_its_work_order_and_a_worker_measures_it_over_the_broker(
    enrolled: Desk, deliver_events: EventPump
) -> None:
    created = upload(enrolled, label_map_bytes(acceptance_masks()), file_format="nifti")
    (order,) = work_orders(enrolled)
    assert CtUploaded.from_envelope(order).analysis_id == created["id"]
    assert order.subject == SUBJECT
    assert deliver_events() >= 1
    done = analysis(enrolled, created["id"])
    _assert_acceptance_volumes(done)
    assert done["attempts"] == 1


def test_a_work_order_delivered_twice_measures_once(
    enrolled: Desk, deliver_events: EventPump
) -> None:
    created = upload(enrolled, label_map_bytes(acceptance_masks()), file_format="nifti")
    deliver_events()
    # The relay died after the broker took the message: it publishes the same event again.
    with enrolled.db() as session, session.begin():
        outbox = ServiceSchema.of(session).kit.outbox
        session.execute(
            update(outbox)
            .where(outbox.c.event_type == CtUploaded.event_type)
            .values(published_at=None)
        )
    assert deliver_events() >= 1
    ct_tasks.measure_uploaded(  # and once more, straight to the handler
        enrolled.settings,
        LocalObjectStorage(enrolled.settings.storage_dir),
        enrolled.db,
        work_orders(enrolled)[0],
    )
    done = analysis(enrolled, created["id"])
    assert done["status"] == "done"
    assert done["attempts"] == 1
    with enrolled.db() as session:
        history = audit.entity_history(session, entity_type="ct_analysis", entity_id=created["id"])
    assert [entry["action"] for entry in history] == ["ct_analysis.upload", "ct_analysis.done"]


def test_the_sweeper_sends_again_only_the_work_orders_no_worker_finished_within_the_lease(
    enrolled: Desk,
) -> None:
    content = label_map_bytes(acceptance_masks())
    measured = upload(enrolled, content, file_format="nifti")
    waiting = upload(enrolled, content, file_format="nifti")  # the same bytes: one object
    storage = LocalObjectStorage(enrolled.settings.storage_dir)
    lease = timedelta(seconds=enrolled.settings.ct_analysis_lease_seconds)
    ct_tasks.measure_uploaded(enrolled.settings, storage, enrolled.db, work_orders(enrolled)[0])
    assert analysis(enrolled, measured["id"])["status"] == "done"

    def sweep(at: datetime) -> int:
        with enrolled.db() as session, session.begin():
            return ct_service.announce_lost(session, at, lease=lease)

    now = datetime.now(UTC)
    assert sweep(now) == 0  # within the lease: its message may still be on its way
    later = now + lease + timedelta(seconds=1)
    assert sweep(later) == 1
    assert sweep(later) == 0  # ordered again just now
    orders = work_orders(enrolled)
    assert [CtUploaded.from_envelope(order).analysis_id for order in orders] == [
        measured["id"],
        waiting["id"],
        waiting["id"],
    ]

    def claimed(ago: timedelta) -> None:
        with enrolled.db() as session, session.begin():
            row = session.get(CtAnalysisRow, uuid.UUID(waiting["id"]))
            assert row is not None
            row.status, row.attempts = "processing", 1
            row.claimed_at = datetime.now(UTC) - ago
            row.announced_at = datetime.now(UTC) - lease - timedelta(seconds=5)

    claimed(lease / 2)  # a worker is measuring it
    assert sweep(datetime.now(UTC)) == 0
    claimed(lease + timedelta(seconds=2))  # the worker died a lease ago
    assert sweep(datetime.now(UTC)) == 1
    ct_tasks.measure_uploaded(enrolled.settings, storage, enrolled.db, work_orders(enrolled)[-1])
    again = analysis(enrolled, waiting["id"])
    _assert_acceptance_volumes(again)
    assert again["attempts"] == 2


def test_a_failed_transaction_leaves_no_orphan_object_but_keeps_one_another_analysis_uses(
    enrolled: Desk, clean_db: Engine
) -> None:
    storage = LocalObjectStorage(enrolled.settings.storage_dir)
    # Sessions without the audit keys: the audit entry cannot be written, the transaction fails
    # after the object was stored.
    unaudited = schema.session_factory(clean_db)
    content = label_map_bytes(acceptance_masks())
    with pytest.raises(RuntimeError, match="audit keys"):
        create(enrolled, unaudited, storage, content)
    assert stored_objects(enrolled) == []
    with enrolled.db() as session:
        assert session.scalar(select(func.count()).select_from(CtAnalysisRow)) == 0
    # The same bytes already belong to a queued analysis: the failed upload leaves them be.
    kept = upload(enrolled, content, file_format="nifti")
    with pytest.raises(RuntimeError, match="audit keys"):
        create(enrolled, unaudited, storage, content)
    assert [path.name for path in stored_objects(enrolled)] == [kept["sha256"]]
    ct_service.measure_analysis(
        enrolled.db,
        storage,
        uuid.UUID(kept["id"]),
        limits=ReadLimits(),
        lease=timedelta(minutes=10),
    )
    _assert_acceptance_volumes(analysis(enrolled, kept["id"]))


class GatedStorage(LocalObjectStorage):
    """The filesystem storage, whose commit waits until the test opens the gate: a slow upload."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.storing = threading.Event()
        self.gate = threading.Event()

    def commit(self, incoming: Incoming, key: str) -> None:
        self.storing.set()
        if not self.gate.wait(timeout=60):
            raise TimeoutError("the test never opened the gate")
        super().commit(incoming, key)


def open_transactions(engine: Engine) -> int:
    """Sessions of the test database in a transaction, other than the one asking."""
    with engine.connect() as connection:
        return (
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                )
            )
            or 0
        )


def test_an_upload_holds_no_transaction_while_its_object_is_stored(
    enrolled: Desk, clean_db: Engine
) -> None:
    storage = GatedStorage(enrolled.settings.storage_dir)
    outcome: dict[str, Any] = {}

    def slow_upload() -> None:
        outcome["upload"] = create(
            enrolled, enrolled.db, storage, label_map_bytes(acceptance_masks())
        )

    uploading = threading.Thread(target=slow_upload)
    uploading.start()
    try:
        assert storage.storing.wait(timeout=30)
        # No transaction is open (nor any lock of one held) while the object is being stored.
        assert open_transactions(clean_db) == 0

        def blood_gas() -> None:
            outcome["blood_gas"] = enrolled.client.post(
                f"/v1/subjects/{SUBJECT}/blood-gases",
                json={**BLOOD_GAS, "performed_at": at_site(DAY_1 + timedelta(days=30))},
                headers=enrolled.as_(),
            )

        writing = threading.Thread(target=blood_gas)
        writing.start()
        writing.join(timeout=30)
        # The audited write went through while the upload's object was still being stored.
        assert not writing.is_alive()
        assert not storage.gate.is_set()
        assert outcome["blood_gas"].status_code == 201, outcome["blood_gas"].text
    finally:
        storage.gate.set()
        uploading.join(timeout=60)
    assert outcome["upload"].status_code == 202
    with enrolled.db() as session:
        actions = session.scalars(
            select(ServiceSchema.of(session).kit.audit_log.c.action).order_by(
                ServiceSchema.of(session).kit.audit_log.c.seq
            )
        ).all()
    # The blood gas's entries precede the upload's: the upload wrote its rows after the store.
    assert actions.index("ct_analysis.upload") > max(
        index for index, action in enumerate(actions) if action != "ct_analysis.upload"
    )


def test_a_retried_upload_whose_analysis_failed_leaves_no_object(enrolled: Desk) -> None:
    headers = enrolled.as_()
    content = label_map_bytes(acceptance_masks())
    truncated = content[: len(content) // 2]
    first = upload(enrolled, truncated, file_format="nifti", headers=headers)
    ct_tasks.measure_uploaded(
        enrolled.settings,
        LocalObjectStorage(enrolled.settings.storage_dir),
        enrolled.db,
        work_orders(enrolled)[0],
    )
    assert analysis(enrolled, first["id"])["status"] == "failed"
    assert stored_objects(enrolled) == []
    # The client retries (its answer was lost): the same analysis, and the file is not kept.
    again = upload(enrolled, truncated, file_format="nifti", headers=headers)
    assert again["id"] == first["id"]
    assert stored_objects(enrolled) == []
    assert len(work_orders(enrolled)) == 1
