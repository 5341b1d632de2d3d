"""Warnings that say something once: a condition that holds for every frame is news only once."""
from __future__ import annotations


class WarnOnce:
    """Logs each distinct warning (by key, default its text) the first time only."""

    def __init__(self, logger):
        self._logger = logger
        self._said: set[str] = set()

    def __call__(self, text: str, key: str | None = None) -> None:
        """Warn with `text` unless `key` (or `text`) was warned about before."""
        key = text if key is None else key
        if key not in self._said:
            self._said.add(key)
            self._logger.warning(text)
