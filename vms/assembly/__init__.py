"""App assembly: wires the core and the parts (ingest, recorder, viewer) into one running node."""
