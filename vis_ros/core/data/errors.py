"""Errors of the engine layer, specific enough for a user to act on."""


class EngineError(RuntimeError):
    """Base class: the node logs these and keeps running."""


class ModelLoadError(EngineError):
    """The model or engine file is missing, corrupt, or built for another runtime/GPU."""


class ModelLayoutError(EngineError):
    """The model loads but its inputs/outputs are not the YOLO-seg layout."""


class InputError(EngineError, ValueError):
    """An input image the engine cannot take (encoding, shape, dtype)."""
