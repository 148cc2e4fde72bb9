"""Demo helpers: simulated RTSP cameras for tests, the ``vms demo`` command and benchmarks."""
