"""Evaluation against simulator ground truth with standard metric libraries."""
