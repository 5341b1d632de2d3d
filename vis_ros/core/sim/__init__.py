"""Procedural RGB-D world: analytic ray casting of 3D primitives on a table.

Masks, depth and 3D boxes come from the same ray hits, so they agree by
construction. Camera frame is REP-103 optical: x right, y down, z forward.
"""
