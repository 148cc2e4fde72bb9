"""Recording: keyframe-aligned fragmented-MP4 segments spooled locally, uploaded to object storage and indexed
by camera, time and inspection batch, with gaps, hash chains, retention and clip export."""
