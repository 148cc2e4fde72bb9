"""Evidence: body-cam videos and photos uploaded (tus, resumable) to inspection batches, inspected, stored
retention-locked in the object-lock evidence bucket, held while their batch is disputed, with a chain of
custody from the hash-chained audit log; signed evidence packages build on these items.

Entry points for the assembly: :func:`evidence.api.evidence_routers`, :func:`evidence.holds.register`,
:func:`evidence.retention.sweep` and ``evidence.uploads.upload_service(core).sweep_expired()`` (periodic).
See docs/evidence.md.
"""
