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


def yolo_seg_model(path: Path, input_hw=(640, 640), num_classes=80, num_protos=32,
                   boxes=(), metadata=None, drop_output1=False, input_rank=4, opset=17) -> Path:
    """boxes: (cx, cy, w, h, class_id, score) in input pixels."""
    h, w = input_hw
    anchors = (h // 8) * (w // 8) + (h // 16) * (w // 16) + (h // 32) * (w // 32)
    det = np.zeros((1, 4 + num_classes + num_protos, anchors), np.float32)
    det[0, 2:4] = 1.0
    for a, (cx, cy, bw, bh, cls, score) in enumerate(boxes):
        det[0, 0:4, a] = (cx, cy, bw, bh)
        det[0, 4 + cls, a] = score
        det[0, 4 + num_classes, a] = 4.0  # coefficient on prototype 0 -> mask ~ image-driven
    rng = np.random.default_rng(0)
    weight = np.zeros((num_protos, 3, 1, 1), np.float32)
    weight[0, :, 0, 0] = 1.0
    weight[1:] = rng.standard_normal((num_protos - 1, 3, 1, 1)).astype(np.float32) * 0.1
    bias = np.zeros(num_protos, np.float32)
    bias[0] = -1.5  # prototype 0 = mean(RGB) - 1.5: positive where the image is bright
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
