"""Per-frame processing: segment + track with keyframes and flow, the stream runner, per-camera state."""
