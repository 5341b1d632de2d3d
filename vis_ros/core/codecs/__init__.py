"""Payloads <-> numpy: image messages' pixels, mask run lengths."""
