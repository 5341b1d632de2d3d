"""Build small ONNX graphs in (and deliberately out of) the Ultralytics YOLO-seg layout.

The graphs are real ONNX that ONNX Runtime runs: prototypes are computed from
the input image (4x4 average pool + 1x1 conv), detections are constants with
a chosen set of confident boxes, so decoding results are known in advance.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _raw_head(input_hw, num_classes, num_protos, boxes) -> np.ndarray:
    """Return raw-head detections (1, 4 + nc + nm, A) holding `boxes` (cx, cy, w, h, class, score)."""
    h, w = input_hw
    anchors = (h // 8) * (w // 8) + (h // 16) * (w // 16) + (h // 32) * (w // 32)
    det = np.zeros((1, 4 + num_classes + num_protos, anchors), np.float32)
    det[0, 2:4] = 1.0
    for a, (cx, cy, bw, bh, cls, score) in enumerate(boxes):
        det[0, 0:4, a] = (cx, cy, bw, bh)
        det[0, 4 + cls, a] = score
        det[0, 4 + num_classes, a] = 4.0  # coefficient on prototype 0 -> mask ~ image-driven
    return det


def _prototype_weights(num_protos):
    """Return the 1x1 conv making prototypes: prototype 0 = mean(RGB) - 1.5, positive where the image is bright."""
    rng = np.random.default_rng(0)
    weight = np.zeros((num_protos, 3, 1, 1), np.float32)
    weight[0, :, 0, 0] = 1.0
    weight[1:] = rng.standard_normal((num_protos - 1, 3, 1, 1)).astype(np.float32) * 0.1
    bias = np.zeros(num_protos, np.float32)
    bias[0] = -1.5
    return weight, bias


def yolo_seg_model(path: Path, input_hw=(640, 640), num_classes=80, num_protos=32,
                   boxes=(), metadata=None, drop_output1=False, input_rank=4, opset=17) -> Path:
    """boxes: (cx, cy, w, h, class_id, score) in input pixels."""
    h, w = input_hw
    det = _raw_head(input_hw, num_classes, num_protos, boxes)
    weight, bias = _prototype_weights(num_protos)
    in_shape = [1, 3, h, w] if input_rank == 4 else [3, h, w]
    image = "images"
    nodes = [helper.make_node("Constant", [], ["output0"], value=numpy_helper.from_array(det))]
    if input_rank == 3:  # a (malformed) CHW input: add the batch axis inside the graph
        nodes.append(helper.make_node("Unsqueeze", ["images", "axis0"], ["images4"]))
        image = "images4"
    nodes += [
        helper.make_node("AveragePool", [image], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Conv", ["pooled", "proto_w", "proto_b"], ["output1"]),
    ]
    outputs = [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(det.shape))]
    if not drop_output1:
        outputs.append(helper.make_tensor_value_info("output1", TensorProto.FLOAT,
                                                     [1, num_protos, h // 4, w // 4]))
    graph = helper.make_graph(
        nodes, "yolo_seg_test",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, in_shape)], outputs,
        initializer=[numpy_helper.from_array(weight, "proto_w"), numpy_helper.from_array(bias, "proto_b"),
                     numpy_helper.from_array(np.array([0], np.int64), "axis0")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    if metadata is None:
        metadata = {"task": "segment", "stride": "32", "imgsz": repr(list(input_hw)),
                    "names": repr({i: f"class{i}" for i in range(num_classes)})}
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    path = Path(path)
    onnx.save(model, str(path))
    return path


def seg_model(path: Path, layout="raw", input_hw=(320, 320), num_classes=6, num_protos=32, boxes=(),
              metadata=None, max_det=300, dynamic_batch=False, dynamic_hw=False, symbolic_outputs=False,
              fp16=False, extra_metadata=None, extra_columns=0) -> Path:
    """Build a YOLO-seg graph in either layout, with the dynamic axes and dtype of the export options.

    layout "raw": detections (N, 4 + nc + nm, A) as yolo_seg_model; "e2e": rows (N, max_det, 6 + nm)
    of x1, y1, x2, y2, score, class, coefficients, best first, zero padding after. `boxes` are
    (cx, cy, w, h, class_id, score) in input pixels; each gets coefficient 4.0 on prototype 0, so
    its mask is where the image is bright. The batch axis (dynamic_batch) repeats the detections
    for every image; dynamic_hw leaves height and width free (prototypes follow the input, the
    detections stay as built); symbolic_outputs declares every output dimension symbolic, as a
    `dynamic=True` export does (the detections' dims then depend on the data, so no shape
    inference can know them); fp16 makes the input and both outputs float16 (`half=True`);
    extra_columns widens end-to-end rows (a head of another kind).
    """
    h, w = input_hw
    if layout == "raw":
        det = _raw_head(input_hw, num_classes, num_protos, boxes)
    elif layout == "e2e":
        det = np.zeros((1, max_det, 6 + num_protos + extra_columns), np.float32)
        for row, (cx, cy, bw, bh, cls, score) in enumerate(sorted(boxes, key=lambda b: -b[5])):
            det[0, row, :6] = (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2, score, cls)
            det[0, row, 6] = 4.0
    else:
        raise ValueError(layout)
    weight, bias = _prototype_weights(num_protos)
    float_type = TensorProto.FLOAT16 if fp16 else TensorProto.FLOAT
    image = "images"
    nodes = []
    if fp16:
        nodes.append(helper.make_node("Cast", ["images"], ["images32"], to=TensorProto.FLOAT))
        image = "images32"
    nodes += [
        helper.make_node("AveragePool", [image], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Conv", ["pooled", "proto_w", "proto_b"], ["protos32"]),
        # the detections, once per image of the batch
        helper.make_node("Shape", [image], ["image_shape"]),
        helper.make_node("Gather", ["image_shape", "zero"], ["batch"], axis=0),
        helper.make_node("Concat", ["batch", "det_tail"], ["det_shape"], axis=0),
        helper.make_node("Expand", ["det_const", "det_shape"], ["det_static"]),
        # symbolic_outputs: reshaped to dims computed from the image's data, unknown to any shape inference
        helper.make_node("ReduceMax", [image], ["image_max"], keepdims=0),
        helper.make_node("Mul", ["image_max", "zero_f"], ["nothing_f"]),
        helper.make_node("Cast", ["nothing_f"], ["nothing"], to=TensorProto.INT64),
        helper.make_node("Add", ["det_shape", "nothing"], ["det_shape_data"]),
        helper.make_node("Reshape", ["det_static", "det_shape_data" if symbolic_outputs else "det_shape"], ["det32"]),
    ]
    for name in ("det", "protos"):
        nodes.append(helper.make_node("Cast", [f"{name}32"], [{"det": "output0", "protos": "output1"}[name]],
                                      to=float_type))
    batch = "batch" if dynamic_batch else 1
    height, width = ("height", "width") if dynamic_hw else (h, w)
    det_dims = ["batch" if dynamic_batch else 1, *det.shape[1:]]
    proto_dims = [batch, num_protos, "ph" if dynamic_hw else h // 4, "pw" if dynamic_hw else w // 4]
    if symbolic_outputs:
        det_dims = [batch, "d1", "d2"]
        proto_dims = [batch, num_protos, "ph", "pw"]
    graph = helper.make_graph(
        nodes, "yolo_seg_layouts",
        [helper.make_tensor_value_info("images", float_type, [batch, 3, height, width])],
        [helper.make_tensor_value_info("output0", float_type, det_dims),
         helper.make_tensor_value_info("output1", float_type, proto_dims)],
        initializer=[numpy_helper.from_array(weight, "proto_w"), numpy_helper.from_array(bias, "proto_b"),
                     numpy_helper.from_array(det, "det_const"),
                     numpy_helper.from_array(np.array([0], np.int64), "zero"),
                     numpy_helper.from_array(np.array(0.0, np.float32), "zero_f"),
                     numpy_helper.from_array(np.array(det.shape[1:], np.int64), "det_tail")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata is None:
        metadata = {"task": "segment", "stride": "32", "imgsz": repr(list(input_hw)),
                    "names": repr({i: f"class{i}" for i in range(num_classes)})}
        if layout == "e2e":
            metadata["end2end"] = "True"
    metadata = {**metadata, **(extra_metadata or {})}
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    path = Path(path)
    onnx.save(model, str(path))
    return path
