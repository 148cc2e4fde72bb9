"""The HTTP API: FastAPI app factory, error handling, auth dependencies and one router per domain."""
