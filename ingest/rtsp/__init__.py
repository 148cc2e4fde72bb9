"""A lean RTSP/TCP client for recording: SDP, auth, RTP depacketizing and RTCP, read in large chunks."""
