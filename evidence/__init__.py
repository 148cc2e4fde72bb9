"""Evidence: body-cam uploads linked to inspection batches, chain of custody, legal holds and signed
evidence packages.

Not built yet: see the body-cam evidence issue."""
