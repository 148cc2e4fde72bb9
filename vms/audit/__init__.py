"""The tamper-evident audit log: append-only events, each hash-chained to the one before."""

from vms.audit.log import GENESIS_HASH, AuditLog, ChainBreak, event_hash

__all__ = ["GENESIS_HASH", "AuditLog", "ChainBreak", "event_hash"]
