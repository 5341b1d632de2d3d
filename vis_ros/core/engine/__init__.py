"""Segmentation engine: pre-processing, backends and the prototype-head decoder."""
