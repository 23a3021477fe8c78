"""The audit trail is append-only in the database, and its keyed chain and the checkpoints kept
outside the database expose tampering, even by a superuser who bypasses the triggers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import alembic.command
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from doseline import audit, audit_checkpoints, migrations
from doseline.manifest import ServiceManifest
from doseline.schema import ServiceSchema
from doseline.testing.plugin import EventPump
from enrollment.__main__ import app
from enrollment.settings import EnrollmentSettings


def _write_entries(factory: sessionmaker[Session], count: int) -> list[audit.AuditEntry]:
    """`count` entries, each in its own transaction; the entries as chained at commit."""
    for number in range(1, count + 1):
        with factory() as session, session.begin():
            audit.record(
                session,
                actor="Dr Li <dr-li>",
                action="subject.update",
                entity_type="subject",
                entity_id=f"HDMSC-RP-01-00{number}",
                before={"weight_kg": 60.0 + number},
                after={"weight_kg": 61.5 + number},
                reason="transcription error corrected from source",
            )
            assert audit.pending_entries(session) == 1
    with factory() as session:
        table = ServiceSchema.of(session).kit.audit_log
        rows = session.execute(
            select(table.c.seq, table.c.occurred_at, table.c.hash, table.c.key_id)
            .order_by(table.c.seq.desc())
            .limit(count)
        ).all()
    return [
        audit.AuditEntry(seq=row.seq, occurred_at=row.occurred_at, hash=row.hash, key_id=row.key_id)
        for row in reversed(rows)
    ]


def _texts(report: audit.VerifyReport) -> list[str]:
    return [str(problem) for problem in report.problems]


@pytest.fixture
def enrollment_sessions(sessions: Callable[[str], sessionmaker[Session]]) -> sessionmaker[Session]:
    return sessions("enrollment")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE enrollment.audit_log SET reason = 'rewritten' WHERE seq = 1",
        "DELETE FROM enrollment.audit_log WHERE seq = 1",
        "TRUNCATE enrollment.audit_log",
    ],
)
def test_the_database_refuses_to_change_or_remove_audit_entries(
    enrollment_sessions: sessionmaker[Session], clean_db: Engine, statement: str
) -> None:
    _write_entries(enrollment_sessions, 1)
    with pytest.raises(DBAPIError, match="append-only"), clean_db.begin() as connection:
        connection.execute(text(statement))
    with clean_db.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM enrollment.audit_log")) == 1


def test_entries_chain_each_to_the_one_before(enrollment_sessions: sessionmaker[Session]) -> None:
    entries = _write_entries(enrollment_sessions, 3)
    assert [entry.seq for entry in entries] == [1, 2, 3]
    with enrollment_sessions() as session:
        report = audit.verify(session)
    assert report.intact, report.problems
    assert report.entries == 3
    assert report.head_hash == entries[-1].hash


def _as_superuser_bypassing_triggers(engine: Engine, statement: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(statement))


def test_verify_reports_an_entry_changed_by_hand(
    enrollment_sessions: sessionmaker[Session], clean_db: Engine
) -> None:
    _write_entries(enrollment_sessions, 3)
    _as_superuser_bypassing_triggers(
        clean_db,
        """UPDATE enrollment.audit_log SET after = '{"weight_kg": 99.0}' WHERE seq = 2""",
    )
    with enrollment_sessions() as session:
        report = audit.verify(session)
    assert not report.intact
    assert [str(problem) for problem in report.problems] == [
        "entry 2 (position 2): column(s) after differ from the signed record"
    ]


def test_verify_reports_a_rewritten_record(
    enrollment_sessions: sessionmaker[Session], clean_db: Engine
) -> None:
    _write_entries(enrollment_sessions, 3)
    _as_superuser_bypassing_triggers(
        clean_db,
        "UPDATE enrollment.audit_log SET record = replace(record, 'Dr Li', 'Dr Wu') WHERE seq = 1",
    )
    with enrollment_sessions() as session:
        report = audit.verify(session)
    assert "entry 1 (position 1): its record does not match its MAC" in _texts(report)


def test_verify_reports_a_mac_overwritten_with_any_text(
    enrollment_sessions: sessionmaker[Session], clean_db: Engine
) -> None:
    _write_entries(enrollment_sessions, 2)
    _as_superuser_bypassing_triggers(
        clean_db, "UPDATE enrollment.audit_log SET hash = repeat('é', 64) WHERE seq = 2"
    )
    with enrollment_sessions() as session:
        report = audit.verify(session)
    assert _texts(report) == ["entry 2 (position 2): its record does not match its MAC"]


def test_verify_reports_a_missing_entry(
    enrollment_sessions: sessionmaker[Session], clean_db: Engine
) -> None:
    _write_entries(enrollment_sessions, 3)
    _as_superuser_bypassing_triggers(clean_db, "DELETE FROM enrollment.audit_log WHERE seq = 2")
    with enrollment_sessions() as session:
        report = audit.verify(session)
    assert "entry 3 (position 2): expected entry 2 here; 1 entry missing" in _texts(report)
    assert "entry 3 (position 2): does not link to the entry before it" in _texts(report)


def test_verify_with_a_recorded_head_detects_a_cut_tail(
    enrollment_sessions: sessionmaker[Session], clean_db: Engine
) -> None:
    entries = _write_entries(enrollment_sessions, 3)
    _as_superuser_bypassing_triggers(clean_db, "DELETE FROM enrollment.audit_log WHERE seq = 3")
    with enrollment_sessions() as session:
        assert audit.verify(session).intact  # the chain alone cannot see a cut tail
        report = audit.verify(session, expected_head=entries[-1].hash)
    assert not report.intact


def test_an_entry_rolls_back_with_the_change_it_describes(
    enrollment_sessions: sessionmaker[Session], clean_db: Engine
) -> None:
    with enrollment_sessions() as session, session.begin():
        audit.record(
            session, actor="a", action="x.create", entity_type="x", entity_id="1", after={"a": 1}
        )
        session.rollback()
    with clean_db.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM enrollment.audit_log")) == 0


def test_audit_verify_command_exits_non_zero_on_tampering(
    enrollment_sessions: sessionmaker[Session],
    clean_db: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _write_entries(enrollment_sessions, 2)
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", database_url)
    monkeypatch.setenv("ENROLLMENT_AUDIT_CHECKPOINT_DIR", str(tmp_path))
    runner = CliRunner()
    intact = runner.invoke(app, ["audit-verify"])
    assert intact.exit_code == 0, intact.output
    assert "2 audit entries" in intact.output
    _as_superuser_bypassing_triggers(
        clean_db, "UPDATE enrollment.audit_log SET actor = 'someone else' WHERE seq = 1"
    )
    tampered = runner.invoke(app, ["audit-verify"])
    assert tampered.exit_code == 1
    assert "TAMPERED: entry 1 (position 1)" in tampered.output


# --- keyed chain: the superuser's rewrite, legacy entries, key rotation --------------------------


def _rewrite_entry_and_recompute_plain_hashes(
    engine: Engine, *, seq: int, mark_as_sha256: bool
) -> None:
    """The attack: triggers off (replica mode), entry `seq` rewritten, the plain sha256 links of
    it and every later entry recomputed so that each links to the one before it again."""
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        rows = connection.execute(
            text("SELECT seq, record, prev_hash FROM enrollment.audit_log ORDER BY seq")
        ).all()
        prev_hash = next(row.prev_hash for row in rows if row.seq == seq)
        for row in rows:
            if row.seq < seq:
                continue
            record = row.record
            if row.seq == seq:
                record = record.replace("Dr Li <dr-li>", "Dr Wu <dr-wu>")
            new_hash = audit.chain_hash(prev_hash, record)
            connection.execute(
                text(
                    "UPDATE enrollment.audit_log SET record = :record, prev_hash = :prev, "
                    "hash = :hash, actor = :actor, algorithm = "
                    "CASE WHEN CAST(:downgrade AS boolean) THEN 'sha256' ELSE algorithm END "
                    "WHERE seq = :seq"
                ),
                {
                    "record": record,
                    "actor": json.loads(record)["actor"],
                    "prev": prev_hash,
                    "hash": new_hash,
                    "seq": row.seq,
                    "downgrade": mark_as_sha256,
                },
            )
            prev_hash = new_hash


@pytest.mark.parametrize("mark_as_sha256", [False, True], ids=["keyed", "marked-as-plain"])
def test_a_superuser_who_rewrites_entry_6_and_recomputes_the_hashes_is_caught_at_entry_6(
    enrollment_sessions: sessionmaker[Session],
    clean_db: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    mark_as_sha256: bool,
) -> None:
    _write_entries(enrollment_sessions, 9)
    _rewrite_entry_and_recompute_plain_hashes(clean_db, seq=6, mark_as_sha256=mark_as_sha256)

    with enrollment_sessions() as session:
        report = audit.verify(session)
    first = report.first_problem
    assert first is not None
    assert (first.entry, first.position) == (6, 6)
    assert {problem.entry for problem in report.problems} == {6, 7, 8, 9}

    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", database_url)
    monkeypatch.setenv("ENROLLMENT_AUDIT_CHECKPOINT_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["audit-verify"])
    assert result.exit_code == 1
    assert "enrollment: first entry that differs: 6 (position 6)" in result.output


def _insert_plain_entries(engine: Engine, count: int) -> None:
    """Entries as the trail held them before keyed MACs: no algorithm, no key id."""
    prev_hash = audit.GENESIS_HASH
    with engine.begin() as connection:
        for seq in range(1, count + 1):
            occurred_at = datetime(2026, 11, 30, 9, seq, tzinfo=UTC)
            fields = {
                "seq": seq,
                "occurred_at": occurred_at.isoformat(),
                "actor": "Dr Li <dr-li>",
                "action": "subject.update",
                "entity_type": "subject",
                "entity_id": "HDMSC-RP-01-001",
                "before": None,
                "after": {"weight_kg": 60 + seq},
                "reason": None,
                "correlation_id": None,
            }
            record = audit.canonical_json(fields)
            digest = audit.chain_hash(prev_hash, record)
            connection.execute(
                text(
                    "INSERT INTO enrollment.audit_log (seq, occurred_at, actor, action, "
                    "entity_type, entity_id, after, record, prev_hash, hash) VALUES "
                    "(:seq, :at, 'Dr Li <dr-li>', 'subject.update', 'subject', "
                    "'HDMSC-RP-01-001', CAST(:after AS jsonb), :record, :prev, :hash)"
                ),
                {
                    "seq": seq,
                    "at": occurred_at,
                    "after": json.dumps(fields["after"]),
                    "record": record,
                    "prev": prev_hash,
                    "hash": digest,
                },
            )
            prev_hash = digest


def test_entries_chained_before_the_upgrade_are_marked_sha256_and_still_verify(
    enrollment_sessions: sessionmaker[Session],
    clean_db: Engine,
    database_url: str,
    services: dict[str, ServiceManifest],
) -> None:
    enrollment = services["enrollment"]
    config = migrations.alembic_config(
        migrations=enrollment.migrations, schema=enrollment.schema, database_url=database_url
    )
    alembic.command.downgrade(config, "0005_sites")
    try:
        _insert_plain_entries(clean_db, 2)
    finally:
        alembic.command.upgrade(config, "head")
    with clean_db.connect() as connection:
        marks = connection.execute(
            text("SELECT algorithm, key_id FROM enrollment.audit_log ORDER BY seq")
        ).all()
    assert [tuple(mark) for mark in marks] == [("sha256", None), ("sha256", None)]

    entries = _write_entries(enrollment_sessions, 1)
    assert (entries[0].seq, entries[0].key_id) == (3, audit.DEVELOPMENT_AUDIT_KEY_ID)
    with enrollment_sessions() as session:
        report = audit.verify(session)
    assert report.intact, _texts(report)
    assert report.entries == 3


def test_a_rotated_key_takes_over_from_the_next_entry_and_both_keys_verify(
    clean_db: Engine, services: dict[str, ServiceManifest]
) -> None:
    first_key = b"first-audit-key-kept-in-the-vault-0001"
    second_key = b"second-audit-key-kept-in-the-vault-0002"
    before = audit.AuditKeys(current="2026-11", keys={"2026-11": first_key})
    rotated = audit.AuditKeys(current="2026-12", keys={"2026-11": first_key, "2026-12": second_key})
    schema = services["enrollment"].schema
    _write_entries(schema.session_factory(clean_db, audit_keys=before), 2)
    after = _write_entries(schema.session_factory(clean_db, audit_keys=rotated), 2)
    assert [entry.key_id for entry in after] == ["2026-12", "2026-12"]

    with schema.session_factory(clean_db, audit_keys=rotated)() as session:
        assert audit.verify(session).intact
    only_new = audit.AuditKeys(current="2026-12", keys={"2026-12": second_key})
    with schema.session_factory(clean_db, audit_keys=only_new)() as session:
        report = audit.verify(session)
    assert [str(problem) for problem in report.problems] == [
        f"entry {seq} (position {seq}): chained with key id '2026-11', "
        "which is not configured (AUDIT_KEYS)"
        for seq in (1, 2)
    ]
    stolen = audit.AuditKeys(current="2026-12", keys={"2026-11": b"x" * 40, "2026-12": second_key})
    with schema.session_factory(clean_db, audit_keys=stolen)() as session:
        report = audit.verify(session)
    assert report.first_problem == audit.Problem(1, 1, "its record does not match its MAC")


def test_the_audit_keys_come_from_the_environment_and_the_current_id_must_be_one_of_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = {"2026-11": "a" * 64, "2026-12": "b" * 64}
    monkeypatch.setenv("ENROLLMENT_AUDIT_KEYS", json.dumps(keys))
    monkeypatch.setenv("ENROLLMENT_AUDIT_KEY_ID", "2026-12")
    keyring = EnrollmentSettings().audit_keyring
    assert keyring.current == "2026-12"
    assert keyring.keys == {"2026-11": b"a" * 64, "2026-12": b"b" * 64}

    monkeypatch.setenv("ENROLLMENT_AUDIT_KEY_ID", "2027-01")
    with pytest.raises(ValidationError, match="AUDIT_KEY_ID '2027-01' is not among"):
        EnrollmentSettings()


def test_production_refuses_the_development_audit_key() -> None:
    with pytest.raises(ValidationError, match="production requires its own AUDIT_KEYS"):
        EnrollmentSettings(
            environment="production",
            jwks_url="https://idp.example.org/jwks",
            identifier_hash_key="a-production-identifier-key-from-the-vault",
        )


# --- checkpoints outside the database ----------------------------------------------------------


def test_audit_checkpoint_appends_the_head_to_the_file_and_publishes_it_to_the_event_log(
    enrollment_sessions: sessionmaker[Session],
    clean_db: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    deliver_events: EventPump,
) -> None:
    entries = _write_entries(enrollment_sessions, 3)
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", database_url)
    monkeypatch.setenv("ENROLLMENT_AUDIT_CHECKPOINT_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["audit-checkpoint"])
    assert result.exit_code == 0, result.output

    lines = (tmp_path / "enrollment.jsonl").read_text().splitlines()
    assert len(lines) == 1
    written = json.loads(lines[0])
    assert (written["service"], written["entry"], written["count"]) == ("enrollment", 3, 3)
    assert written["mac"] == entries[-1].hash

    deliver_events()
    with clean_db.connect() as connection:
        logged = connection.execute(
            text(
                "SELECT envelope FROM notifications.event_log WHERE event_type = 'audit.checkpoint'"
            )
        ).scalar_one()
    assert logged["source"] == "urn:doseline:enrollment"
    assert logged["data"]["mac"] == entries[-1].hash
    assert logged["data"]["entry"] == 3


def test_verify_compares_the_chain_with_the_checkpoint_file_and_sees_a_cut_tail(
    enrollment_sessions: sessionmaker[Session],
    clean_db: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _write_entries(enrollment_sessions, 4)
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", database_url)
    monkeypatch.setenv("ENROLLMENT_AUDIT_CHECKPOINT_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(app, ["audit-checkpoint"]).exit_code == 0
    _write_entries(enrollment_sessions, 2)
    intact = runner.invoke(app, ["audit-verify"])
    assert intact.exit_code == 0, intact.output
    assert "6 audit entries, head entry 6" in intact.output
    assert "1 checkpoint(s) compared, intact" in intact.output

    # Removing entries 4 to 6 leaves a chain that links perfectly: only the checkpoint sees it.
    _as_superuser_bypassing_triggers(clean_db, "DELETE FROM enrollment.audit_log WHERE seq >= 4")
    cut = runner.invoke(app, ["audit-verify"])
    assert cut.exit_code == 1
    assert (
        "enrollment: first entry that differs: 4 (position 4): missing: "
        "checkpoint enrollment.jsonl line 1" in cut.output
    )


def test_verify_compares_with_a_checkpoint_given_on_the_command_line(
    enrollment_sessions: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    entries = _write_entries(enrollment_sessions, 3)
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", database_url)
    monkeypatch.setenv("ENROLLMENT_AUDIT_CHECKPOINT_DIR", str(tmp_path))
    runner = CliRunner()
    agreeing = runner.invoke(app, ["audit-verify", "--checkpoint", f"2:{entries[1].hash}"])
    assert agreeing.exit_code == 0, agreeing.output
    assert "1 checkpoint(s) compared, intact" in agreeing.output

    other = runner.invoke(app, ["audit-verify", "--checkpoint", f"2:{'ab' * 32}"])
    assert other.exit_code == 1
    assert "first entry that differs: 2 (position 2): its MAC differs" in other.output

    typo = runner.invoke(app, ["audit-verify", "--checkpoint", "two:abc"])
    assert typo.exit_code == 2
    assert "write ENTRY:MAC or ENTRY:COUNT:MAC" in typo.output


def test_a_chain_replaced_whole_disagrees_with_an_earlier_checkpoint(
    enrollment_sessions: sessionmaker[Session],
    clean_db: Engine,
    tmp_path: Path,
) -> None:
    _write_entries(enrollment_sessions, 3)
    path = tmp_path / "enrollment.jsonl"
    with enrollment_sessions() as session, session.begin():
        audit_checkpoints.write(session, path, now=datetime.now(UTC))
    # Every entry rewritten as a plain chain from the first: internally consistent.
    _rewrite_entry_and_recompute_plain_hashes(clean_db, seq=1, mark_as_sha256=True)
    with enrollment_sessions() as session:
        chain_only = audit.verify(session)
        report = audit.verify(
            session, checkpoints=audit_checkpoints.read(path, service="enrollment")
        )
    assert chain_only.intact  # nothing inside the database contradicts it
    assert report.first_problem is not None
    assert report.first_problem.entry == 3
    assert "its MAC differs from the one in checkpoint enrollment.jsonl line 1" in (
        report.first_problem.what
    )


def test_the_periodic_checkpoint_writes_only_when_the_head_moved(
    enrollment_sessions: sessionmaker[Session],
    settings_for: Callable[..., EnrollmentSettings],
) -> None:
    settings = settings_for("enrollment")
    job = audit_checkpoints.checkpoint_job(settings)
    path = settings.audit_checkpoint_file

    def run_job() -> None:
        job.run(enrollment_sessions, datetime.now(UTC))

    run_job()
    assert not path.exists()  # an empty trail has no head to attest
    _write_entries(enrollment_sessions, 2)
    run_job()
    run_job()
    _write_entries(enrollment_sessions, 1)
    run_job()
    heads = [json.loads(line)["entry"] for line in path.read_text().splitlines()]
    assert heads == [2, 3]


def _record(session: Session, entity_id: str) -> None:
    audit.record(
        session,
        actor="Nurse Wang <nurse-wang>",
        action="subject.update",
        entity_type="subject",
        entity_id=entity_id,
        after={"note": entity_id},
    )


def _chained_ids(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        table = ServiceSchema.of(session).kit.audit_log
        return list(session.scalars(select(table.c.entity_id).order_by(table.c.seq)))


def test_an_entry_in_a_savepoint_that_rolls_back_goes_with_it(
    enrollment_sessions: sessionmaker[Session],
) -> None:
    with enrollment_sessions() as session, session.begin():
        _record(session, "kept-before")
        try:
            with session.begin_nested():
                _record(session, "rolled-back")
                raise ValueError("this entry of the batch failed")
        except ValueError:
            pass
        with session.begin_nested():
            _record(session, "kept-savepoint")
        _record(session, "kept-after")
    assert _chained_ids(enrollment_sessions) == ["kept-before", "kept-savepoint", "kept-after"]
    with enrollment_sessions() as session:
        assert audit.verify(session).intact


def test_a_rolled_back_transaction_leaves_no_entry_and_the_next_one_chains_on(
    enrollment_sessions: sessionmaker[Session],
) -> None:
    with enrollment_sessions() as session:
        session.begin()
        _record(session, "abandoned")
        session.rollback()
        assert audit.pending_entries(session) == 0
        with session.begin():
            _record(session, "committed")
    assert _chained_ids(enrollment_sessions) == ["committed"]


def test_an_open_transaction_with_an_entry_does_not_hold_the_chain(
    enrollment_sessions: sessionmaker[Session],
) -> None:
    """The chain's lock is taken at commit: a slow transaction does not stall other writers."""
    slow = enrollment_sessions()
    slow.begin()
    _record(slow, "slow")
    with enrollment_sessions() as other, other.begin():
        other.execute(text("SET LOCAL lock_timeout = '2s'"))
        _record(other, "quick")
    slow.commit()
    slow.close()
    assert _chained_ids(enrollment_sessions) == ["quick", "slow"]
    with enrollment_sessions() as session:
        assert audit.verify(session).intact
