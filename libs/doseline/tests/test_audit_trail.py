"""The audit trail is append-only in the database and its hash chain exposes tampering."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from doseline import audit


def _write_entries(factory: sessionmaker[Session], count: int) -> list[audit.AuditEntry]:
    entries = []
    for number in range(1, count + 1):
        with factory() as session, session.begin():
            entries.append(
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
            )
    return entries


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
    assert report.problems == ["entry 2: column(s) after differ from the signed record"]


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
    assert "entry 1: its record does not match its hash" in report.problems


def test_verify_reports_a_missing_entry(
    enrollment_sessions: sessionmaker[Session], clean_db: Engine
) -> None:
    _write_entries(enrollment_sessions, 3)
    _as_superuser_bypassing_triggers(clean_db, "DELETE FROM enrollment.audit_log WHERE seq = 2")
    with enrollment_sessions() as session:
        report = audit.verify(session)
    assert "entry 3: expected entry 2 here; 1 entry missing" in report.problems
    assert "entry 3: does not link to the entry before it" in report.problems


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
) -> None:
    from typer.testing import CliRunner

    from enrollment.__main__ import app

    _write_entries(enrollment_sessions, 2)
    monkeypatch.setenv("ENROLLMENT_DATABASE_URL", database_url)
    runner = CliRunner()
    intact = runner.invoke(app, ["audit-verify"])
    assert intact.exit_code == 0, intact.output
    assert "2 audit entries" in intact.output
    _as_superuser_bypassing_triggers(
        clean_db, "UPDATE enrollment.audit_log SET actor = 'someone else' WHERE seq = 1"
    )
    tampered = runner.invoke(app, ["audit-verify"])
    assert tampered.exit_code == 1
    assert "TAMPERED: entry 1" in tampered.output
