"""Offline model tools: INT8 quantization, calibration data, TensorRT engine builds, the batch axis rewrite."""
