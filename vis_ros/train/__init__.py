"""Training of the embedded default model (PyTorch; not needed at run time)."""
