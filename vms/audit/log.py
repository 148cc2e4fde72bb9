"""Append and verify the hash-chained audit log.

Each event's hash is SHA-256 over the previous event's hash and the event's canonical JSON form
(sorted keys, UTC time in ISO 8601 with microseconds). A single head row holds the last sequence number and
hash; appending locks it (``SELECT ... FOR UPDATE`` on PostgreSQL, the write lock on SQLite) so that several
nodes append to one chain. Verification recomputes every hash and names the first event that breaks the chain:
an edited event no longer matches its hash, a deleted one leaves a hole in the sequence, reordered ones no
longer link to their predecessor, a truncated tail no longer matches the head.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from vms.db import Database, utcnow
from vms.db.models import AuditEvent, AuditHead

GENESIS_HASH = "0" * 64
_HEAD_ID = 1


def canonical_event(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    client: str,
    detail: dict[str, Any],
) -> bytes:
    record = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "client": client,
        "detail": detail,
    }
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def event_hash(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical).hexdigest()


def _hash_of(ev: AuditEvent, prev_hash: str) -> str:
    return event_hash(
        prev_hash,
        canonical_event(
            ev.seq, ev.at, ev.actor, ev.action, ev.object_type, ev.object_id, ev.client, ev.detail
        ),
    )


@dataclass(frozen=True)
class ChainBreak:
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"event #{self.seq}" if self.seq is not None else "the chain head"
        return f"audit chain broken at {where}: {self.reason}"


@dataclass(frozen=True)
class VerifyResult:
    events: int
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()  # one appender per process; the head row lock covers other nodes

    def record(
        self,
        actor: str,
        action: str,
        *,
        object_type: str = "",
        object_id: str | int = "",
        client: str = "",
        detail: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Append one event in its own transaction and return it."""
        detail = json.loads(json.dumps(detail or {}, default=str, ensure_ascii=False))
        with self._lock, self._db.session() as s:
            head = s.execute(
                select(AuditHead).where(AuditHead.id == _HEAD_ID).with_for_update()
            ).scalar_one_or_none()
            if head is None:
                head = AuditHead(id=_HEAD_ID, seq=0, hash=GENESIS_HASH)
                s.add(head)
                s.flush()
            ev = AuditEvent(
                seq=head.seq + 1,
                at=utcnow(),
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=str(object_id),
                client=client or "",
                detail=detail,
                prev_hash=head.hash,
            )
            ev.hash = _hash_of(ev, head.hash)
            s.add(ev)
            head.seq, head.hash = ev.seq, ev.hash
        return ev

    def verify(self, batch_size: int = 5000) -> VerifyResult:
        expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
        with self._db.sessions() as s:
            for ev in _iter_events(s, batch_size):
                count += 1
                if ev.seq != expected_seq:
                    missing = (
                        f"#{expected_seq}"
                        if ev.seq == expected_seq + 1
                        else f"#{expected_seq}..#{ev.seq - 1}"
                    )
                    return VerifyResult(count, ChainBreak(ev.seq, f"event {missing} before it is missing"))
                if ev.prev_hash != expected_prev:
                    return VerifyResult(
                        count,
                        ChainBreak(ev.seq, "does not link to the event before it (reordered or replaced)"),
                    )
                if _hash_of(ev, ev.prev_hash) != ev.hash:
                    return VerifyResult(
                        count, ChainBreak(ev.seq, "its content was changed after it was written")
                    )
                expected_prev, expected_seq = ev.hash, ev.seq + 1
            head = s.get(AuditHead, _HEAD_ID)
            head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
            if head_seq != expected_seq - 1 or head_hash != expected_prev:
                return VerifyResult(
                    count,
                    ChainBreak(
                        None,
                        f"the head says the last event is #{head_seq}, the log ends at #{expected_seq - 1} "
                        "(events at the end were deleted or the head was edited)",
                    ),
                )
        return VerifyResult(count, None)


def _iter_events(s: Any, batch_size: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = (
            s.execute(
                select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch_size)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        s.expunge_all()
