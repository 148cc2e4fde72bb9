"""Camera ingest: one RTSP source per camera stream, pulled with PyAV without decoding, and the stream hub
that fans its packets out to the recorder, live viewers and analytics through bounded queues."""
