"""Live inputs: newest-frame slots, camera batching, depth pairing, input health, rolling statistics, notices."""
