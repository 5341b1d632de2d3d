"""The batch axis of ONNX models: dynamic for the node, pinned to 1 where a tool needs static shapes.

A dynamic batch axis lets one engine call segment the frames of several
cameras (the multi-camera node); ONNX Runtime's quantization pre-processing
(symbolic shape inference) cannot follow it through the heads' reshapes, so
the quantizer pins it to 1 while it works and makes it dynamic again after.
"""
from __future__ import annotations

import onnx
import onnx.numpy_helper

BATCH_AXIS = "batch"


def make_batch_dynamic(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Give the graph a dynamic batch axis, in place: one engine call can segment several cameras.

    The tracer writes the batch size it saw (1) into the input and output
    shapes and into the heads' Reshape targets ([1, C, -1]); a Reshape target
    of 0 copies that dimension from its input instead (ONNX, allowzero=0), so
    the same weights and ops serve any batch, and batch 1 computes exactly
    what it did. Idempotent: `make train` applies it to every export, and the
    embedded models were converted with it.
    """
    constants = {n.output[0]: n for n in proto.graph.node if n.op_type == "Constant"}
    users: dict[str, int] = {}
    for node in proto.graph.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    for node in proto.graph.node:
        if node.op_type != "Reshape" or node.input[1] not in constants:
            continue
        tensor = constants[node.input[1]].attribute[0].t
        target = onnx.numpy_helper.to_array(tensor)
        if target.ndim == 1 and len(target) == 3 and target[0] == 1:
            if users[node.input[1]] != 1:
                raise ValueError(f"Reshape target {node.input[1]} is shared; cannot rewrite it alone")
            target = target.copy()
            target[0] = 0
            tensor.CopyFrom(onnx.numpy_helper.from_array(target, tensor.name))
    return set_io_batch(proto, BATCH_AXIS)


def set_io_batch(proto: onnx.ModelProto, batch: int | str) -> onnx.ModelProto:
    """Set dimension 0 of every graph input and output, in place: an int pins it, a string names it."""
    for value in list(proto.graph.input) + list(proto.graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        if isinstance(batch, int):
            dim.dim_value = batch  # clears dim_param
        else:
            dim.dim_param = batch  # clears dim_value
    del proto.graph.value_info[:]  # shapes inferred for the old batch; ONNX Runtime infers them again
    return proto


def has_dynamic_batch(proto: onnx.ModelProto) -> bool:
    """Whether the image input's first dimension is not a fixed size."""
    dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    return not dim.HasField("dim_value") or dim.dim_value <= 0
