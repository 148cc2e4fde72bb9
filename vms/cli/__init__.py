"""The ``vms`` command line: administration directly on the database (users, cameras, batches, audit)."""
