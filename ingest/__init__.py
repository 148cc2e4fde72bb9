"""Camera ingest: one RTSP source per camera stream, read without decoding (by the lean RTSP client in
``ingest.rtsp``, one reader thread for all cameras, or by FFmpeg through PyAV for the streams it declines),
and the stream hub that fans its packets out to the recorder, live viewers and analytics through bounded
queues."""
