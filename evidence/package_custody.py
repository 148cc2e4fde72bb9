"""The chain-of-custody files of a package: the audit events about the batch and its body-cam items.

``custody.json`` keeps each event exactly as the hash-chained audit log holds it (``at`` in UTC with
microseconds, ``prev_hash``, ``hash``), so every event's hash can be recomputed offline
(:func:`vms.audit.log.canonical_event`); ``custody.csv`` is the same in a table for people (UTF-8 with BOM so
that spreadsheet programs show Chinese correctly).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, tzinfo
from typing import Any

from vms.db.models import AuditEvent

NOTE = (
    "Audit events about this batch (object_type 'batch') and its body-cam items (object_type 'evidence'). "
    "hash = sha256(prev_hash + canonical event JSON); prev_hash is the previous event of the whole "
    "audit log, which may concern other objects."
)
_CSV_COLUMNS = ("seq", "time", "actor", "action", "object_type", "object_id", "client", "detail", "hash")


def event_json(event: AuditEvent, zone: tzinfo) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "at_local": event.at.astimezone(zone).isoformat(timespec="seconds"),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "client": event.client,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def custody_json(batch_id: int, number: str, events: list[AuditEvent], zone: tzinfo) -> bytes:
    document = {
        "batch_id": batch_id,
        "batch_number": number,
        "note": NOTE,
        "events": [event_json(e, zone) for e in events],
    }
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def custody_csv(events: list[AuditEvent], zone: tzinfo) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_CSV_COLUMNS)
    for e in events:
        writer.writerow(
            [
                e.seq,
                e.at.astimezone(zone).isoformat(timespec="seconds"),
                e.actor,
                e.action,
                e.object_type,
                e.object_id,
                e.client,
                json.dumps(e.detail, ensure_ascii=False, sort_keys=True),
                e.hash,
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
