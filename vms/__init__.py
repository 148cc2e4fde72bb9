"""yard-vms core: configuration, database, object storage, auth and roles, audit log, API and CLI.

Every other part (ingest, recorder, evidence, viewer) builds on this package; only the app assembly
(`vms.app` and `vms.cli`) wires those parts together.
"""

__version__ = "0.1.0"
