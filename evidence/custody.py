"""Chain of custody of an item: its events in the hash-chained audit log, as JSON or a printable page.

Custody is not kept separately: every action on an item is an audit event with ``object_type="evidence"``
and ``object_id=str(item.id)``, so the log's hash chain proves that none was changed or removed.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from evidence.items import ItemRecord
from evidence.models import CUSTODY_OBJECT_TYPE
from evidence.views import CustodyEventView, CustodyView
from vms.context import CoreServices
from vms.db.models import AuditEvent

ACTION_LABELS = {
    "evidence.upload": "上传 Upload",
    "evidence.upload_duplicate": "重复上传 Uploaded again (same file)",
    "evidence.view": "查看 Viewed",
    "evidence.download": "下载 Downloaded",
    "evidence.preview": "预览 Preview watched",
    "evidence.relink": "改挂批次 Relinked",
    "evidence.hold": "法律保全 Legal hold",
    "evidence.release": "解除保全 Hold released",
    "evidence.retime": "校正时间 Re-timed",
    "evidence.retention_extend": "延长保留 Retention extended",
    "evidence.export": "导出 Exported",
    "evidence.delete": "删除 Deleted",
}


def custody_of(core: CoreServices, record: ItemRecord) -> CustodyView:
    with core.db.sessions() as s:
        events = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == CUSTODY_OBJECT_TYPE, AuditEvent.object_id == str(record.item.id))
            .order_by(AuditEvent.seq)
        ).all()
        views = [
            CustodyEventView(
                seq=e.seq,
                at=e.at,
                actor=e.actor,
                action=e.action,
                client=e.client,
                detail=e.detail,
                hash=e.hash,
            )
            for e in events
        ]
    return CustodyView(item=record.view, events=views, audit_chain_ok=core.audit.verify().ok)


def custody_html(custody: CustodyView, zone: ZoneInfo) -> str:
    """A self-contained printable page, labels in Chinese and English, times in the yard's time zone."""
    item = custody.item
    e = html.escape

    def when(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") if value else "—"

    facts = [
        ("证据编号 Item", str(item.id)),
        ("批次 Batch", item.batch_number),
        ("文件名 File name", item.original_filename),
        ("类型 Kind", f"{item.kind.value} ({item.content_type})"),
        ("大小 Size", f"{item.size_bytes:,} bytes"),
        ("SHA-256", item.sha256),
        ("存储 Stored as", f"s3://{item.bucket}/{item.object_key} (version {item.version_id or '—'})"),
        ("上传人 Uploaded by", item.uploaded_by),
        ("上传时间 Uploaded at", when(item.uploaded_at)),
        ("设备序列号 Device serial", item.device_serial or "—"),
        (
            "录制开始 Recorded from",
            f"{when(item.recorded_start)} (source: {item.time_source.value}, "
            f"clock offset {item.clock_offset_s:+.1f} s)",
        ),
        ("录制结束 Recorded to", when(item.recorded_end)),
        ("保留至 Retained until", when(item.retention_until)),
        ("法律保全 Legal hold", "是 yes" if item.legal_hold else "否 no"),
        ("审计链 Audit chain", "完整 intact" if custody.audit_chain_ok else "已损坏 BROKEN"),
    ]
    rows = "\n".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts)
    events = "\n".join(
        "<tr>"
        f"<td>{ev.seq}</td><td>{e(when(ev.at))}</td><td>{e(ACTION_LABELS.get(ev.action, ev.action))}</td>"
        f"<td>{e(ev.actor)}</td><td>{e(ev.client)}</td>"
        f"<td><code>{e(json.dumps(ev.detail, ensure_ascii=False, sort_keys=True, default=str))}</code></td>"
        f"<td><code>{e(ev.hash[:16])}…</code></td>"
        "</tr>"
        for ev in custody.events
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>证据保管链 Chain of custody — {e(str(item.id))}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2em; }}
th, td {{ border: 1px solid #999; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 12px; }}
th {{ background: #eee; white-space: nowrap; }}
code {{ word-break: break-all; }}
</style></head><body>
<h1>证据保管链 Chain of custody</h1>
<p>时区 Time zone: {e(str(zone))}</p>
<table>{rows}</table>
<h2>事件 Events</h2>
<table>
<tr><th>#</th><th>时间 Time</th><th>操作 Action</th><th>操作人 Actor</th><th>来源 Client</th>
<th>详情 Detail</th><th>哈希 Hash</th></tr>
{events}
</table>
</body></html>
"""
