"""The audit chain verifies when untouched and names the first event an edit, deletion or reordering broke."""

from __future__ import annotations

from sqlalchemy import text

from vms.audit import AuditLog
from vms.context import CoreServices


def _fill(audit: AuditLog, n: int = 6) -> None:
    for i in range(n):
        audit.record(
            f"user{i}",
            "view",
            object_type="camera",
            object_id=i,
            client="10.0.0.5",
            detail={"camera": f"闸口{i}"},
        )


def test_untouched_chain_verifies(core: CoreServices) -> None:
    _fill(core.audit)
    result = core.audit.verify()
    assert result.ok
    assert result.events == 6


def test_edited_event_is_named(core: CoreServices) -> None:
    _fill(core.audit)
    with core.db.session() as s:
        s.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 4"))
    result = core.audit.verify()
    assert not result.ok
    assert result.first_break is not None and result.first_break.seq == 4
    assert "changed" in str(result.first_break)


def test_deleted_event_is_named(core: CoreServices) -> None:
    _fill(core.audit)
    with core.db.session() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq = 3"))
    result = core.audit.verify()
    assert result.first_break is not None and result.first_break.seq == 4
    assert "#3" in str(result.first_break) and "missing" in str(result.first_break)


def test_reordered_events_are_named(core: CoreServices) -> None:
    _fill(core.audit)
    with core.db.session() as s:  # swap the contents of events 2 and 3, keeping their sequence numbers
        s.execute(text("UPDATE audit_events SET seq = 1000 WHERE seq = 2"))
        s.execute(text("UPDATE audit_events SET seq = 2 WHERE seq = 3"))
        s.execute(text("UPDATE audit_events SET seq = 3 WHERE seq = 1000"))
    result = core.audit.verify()
    assert result.first_break is not None and result.first_break.seq == 2
    assert "reordered" in str(result.first_break)


def test_deleted_tail_is_caught(core: CoreServices) -> None:
    _fill(core.audit)
    with core.db.session() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq = 6"))
    result = core.audit.verify()
    assert result.first_break is not None and result.first_break.seq is None
    assert "#6" in str(result.first_break)


def test_chain_continues_across_instances(core: CoreServices) -> None:
    _fill(core.audit, 2)
    other_node = AuditLog(core.db)
    ev = other_node.record("admin", "login")
    assert ev.seq == 3
    assert core.audit.verify().ok
