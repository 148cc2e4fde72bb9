"""The yard model's domain services (sites, bays, cameras, batches, accounts), shared by the API and the CLI.

Each service runs its own transaction, writes the audit event after the commit and then calls the hooks
other parts registered in ``core.providers`` (see :mod:`vms.yard.hooks`).
"""
