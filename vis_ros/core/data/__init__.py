"""Plain data that crosses seams: instances, detections, stamps."""
