"""Re-export a raw-head YOLO-seg ONNX model end to end: NMS and top-k inside the graph.

What Ultralytics writes for `nms=True` (YOLO11) and what YOLO26 / YOLOE heads
give by default: rows [N, K, 6 + nm] of x1, y1, x2, y2, score, class index,
mask coefficients, best first, with zero-score padding. vis_ros makes one
from its embedded model so the end-to-end path runs on weights that detect
the simulated objects (tests, `vis-ros demo --model`, the figures), without
Ultralytics. The tail computes what the raw-head decoder does: per anchor
the best class and its score, greedy NMS (ONNX NonMaxSuppression, by
default class-agnostic at the node's default IoU 0.5), then the K best kept
anchors. Greedy NMS keeps a box only against higher-scoring ones, so the
rows above any score threshold are the boxes the decoder's own NMS keeps at
that threshold.

    python -m vis_ros.core.model_tools.end_to_end IN.onnx OUT.onnx [--max-det 300] [--iou 0.5]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from vis_ros.core.data.files import replaced_when_done

NMS_SCORE_FLOOR = 0.01  # rows below this are padding (score 0), as in Ultralytics' exports
CLASS_OFFSET = 8192.0  # class-aware NMS: each class's boxes shifted apart so they never overlap


def make_end_to_end(model: onnx.ModelProto, num_classes: int, max_det: int = 300, iou: float = 0.5,
                    class_agnostic: bool = True) -> onnx.ModelProto:
    """Return a copy of a raw-head model whose detection output is end-to-end rows.

    The tail, in three parts: the raw head split into boxes (x1, y1, x2, y2),
    best class and its score, coefficients; ONNX NonMaxSuppression, whose
    suppressed anchors get score 0; the top K anchors' rows gathered.
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset < 13:
        raise ValueError(f"opset {opset}: the end-to-end tail needs opset 13 or later")
    raw = next((o for o in graph.output if len(o.type.tensor_type.shape.dim) == 3), None)
    if raw is None or raw.type.tensor_type.elem_type != TensorProto.FLOAT:
        raise ValueError("no float32 rank-3 detection output [N, 4 + nc + nm, A] to re-export")
    channels = raw.type.tensor_type.shape.dim[1].dim_value
    num_protos = channels - 4 - num_classes
    if num_protos <= 0:
        raise ValueError(f"detection output has {channels} channels: not 4 + {num_classes} classes + coefficients")
    name, width = raw.name, 6 + num_protos
    inner = f"{name}_raw_head"
    for node in graph.node:
        node.output[:] = [inner if out == name else out for out in node.output]
    const = _Constants(graph)
    anchors = raw.type.tensor_type.shape.dim[2].dim_value  # 0: dynamic (a model of dynamic size)
    graph.node.extend(_split_head(inner, num_classes, channels, opset, const)
                      + _suppress(class_agnostic, max_det, iou, const)
                      + _top_rows(name, width, anchors, max_det, const))
    batch = raw.type.tensor_type.shape.dim[0]
    rows = min(max_det, anchors) if anchors else "rows"
    out = helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch.dim_param or batch.dim_value, rows, width])
    graph.output.remove(raw)
    graph.output.insert(0, out)
    _mark_end_to_end(model, max_det, iou, class_agnostic)
    onnx.checker.check_model(model)
    return model


def _split_head(inner: str, num_classes: int, channels: int, opset: int, const: _Constants) -> list:
    """Raw head (N, C, A) -> e2e_xyxy (N, A, 4), e2e_score / e2e_class (N, A, 1), e2e_coef (N, A, nm)."""
    reduce_max = (helper.make_node("ReduceMax", ["e2e_cls"], ["e2e_score"], axes=[2], keepdims=1) if opset < 18
                  else helper.make_node("ReduceMax", ["e2e_cls", const.ints([2])], ["e2e_score"], keepdims=1))
    return [
        helper.make_node("Transpose", [inner], ["e2e_anchors"], perm=[0, 2, 1]),  # (N, A, C)
        _slice("e2e_anchors", 0, 4, "e2e_cxcywh", const),
        _slice("e2e_anchors", 4, 4 + num_classes, "e2e_cls", const),
        _slice("e2e_anchors", 4 + num_classes, channels, "e2e_coef", const),
        reduce_max,  # (N, A, 1)
        helper.make_node("ArgMax", ["e2e_cls"], ["e2e_class_i"], axis=2, keepdims=1),
        helper.make_node("Cast", ["e2e_class_i"], ["e2e_class"], to=TensorProto.FLOAT),
        _slice("e2e_cxcywh", 0, 2, "e2e_xy", const),
        _slice("e2e_cxcywh", 2, 4, "e2e_wh", const),
        helper.make_node("Mul", ["e2e_wh", const.floats(0.5)], ["e2e_half"]),
        helper.make_node("Sub", ["e2e_xy", "e2e_half"], ["e2e_x1y1"]),
        helper.make_node("Add", ["e2e_xy", "e2e_half"], ["e2e_x2y2"]),
        helper.make_node("Concat", ["e2e_x1y1", "e2e_x2y2"], ["e2e_xyxy"], axis=2),
    ]


def _suppress(class_agnostic: bool, max_det: int, iou: float, const: _Constants) -> list:
    """NonMaxSuppression over e2e_xyxy -> e2e_kept_score (N, A): the best score, 0 where suppressed."""
    nodes, nms_boxes = [], "e2e_xyxy"
    if not class_agnostic:  # boxes of different classes apart, so they never suppress each other
        nodes += [helper.make_node("Mul", ["e2e_class", const.floats(CLASS_OFFSET)], ["e2e_shift"]),
                  helper.make_node("Add", ["e2e_xyxy", "e2e_shift"], ["e2e_nms_boxes"])]
        nms_boxes = "e2e_nms_boxes"
    return nodes + [
        helper.make_node("Transpose", ["e2e_score"], ["e2e_nms_scores"], perm=[0, 2, 1]),  # (N, 1, A)
        helper.make_node("NonMaxSuppression", [nms_boxes, "e2e_nms_scores", const.ints([max_det]),
                                               const.floats([iou]), const.floats([NMS_SCORE_FLOOR])],
                         ["e2e_selected"]),  # (S, 3): image, class (0), anchor
        helper.make_node("Gather", ["e2e_selected", const.ints([0, 2])], ["e2e_pairs"], axis=1),
        helper.make_node("Shape", ["e2e_selected"], ["e2e_selected_shape"]),
        helper.make_node("Gather", ["e2e_selected_shape", const.ints([0])], ["e2e_count"], axis=0),
        helper.make_node("ConstantOfShape", ["e2e_count"], ["e2e_ones"],
                         value=numpy_helper.from_array(np.array([1.0], np.float32))),
        helper.make_node("Squeeze", ["e2e_score", const.ints([2])], ["e2e_best"]),  # (N, A)
        helper.make_node("Mul", ["e2e_best", const.floats(0.0)], ["e2e_zeros"]),
        helper.make_node("ScatterND", ["e2e_zeros", "e2e_pairs", "e2e_ones"], ["e2e_kept"]),
        helper.make_node("Mul", ["e2e_best", "e2e_kept"], ["e2e_kept_score"]),  # suppressed: 0
    ]


def _top_rows(name: str, width: int, anchors: int, max_det: int, const: _Constants) -> list:
    """Gather the top K anchors by kept score into `name` (N, K, 6 + nm): box, score, class, coefficients."""
    nodes = []
    if anchors:  # a constant K, as TensorRT's parser wants it
        k = const.ints([min(max_det, anchors)])
    else:
        k = "e2e_k"
        nodes += [helper.make_node("Shape", ["e2e_best"], ["e2e_best_shape"]),
                  helper.make_node("Gather", ["e2e_best_shape", const.ints([1])], ["e2e_anchor_count"], axis=0),
                  helper.make_node("Min", ["e2e_anchor_count", const.ints([max_det])], [k])]
    return nodes + [
        helper.make_node("TopK", ["e2e_kept_score", k], ["e2e_top_scores", "e2e_top"], axis=1),
        helper.make_node("Unsqueeze", ["e2e_kept_score", const.ints([2])], ["e2e_score_column"]),
        helper.make_node("Concat", ["e2e_xyxy", "e2e_score_column", "e2e_class", "e2e_coef"], ["e2e_rows"],
                         axis=2),  # (N, A, 6 + nm)
        helper.make_node("Unsqueeze", ["e2e_top", const.ints([2])], ["e2e_top3"]),
        helper.make_node("Shape", ["e2e_top"], ["e2e_top_shape"]),
        helper.make_node("Concat", ["e2e_top_shape", const.ints([width])], ["e2e_gather_shape"], axis=0),
        helper.make_node("Expand", ["e2e_top3", "e2e_gather_shape"], ["e2e_gather"]),
        helper.make_node("GatherElements", ["e2e_rows", "e2e_gather"], [name], axis=1),  # (N, K, 6 + nm)
    ]


def _mark_end_to_end(model: onnx.ModelProto, max_det: int, iou: float, class_agnostic: bool) -> None:
    """Say in the metadata what the node reads: end2end rows, at most max_det, and how they were selected."""
    metadata = {p.key: p.value for p in model.metadata_props}
    metadata.update(end2end="True", max_det=str(max_det),
                    vis_ros_end_to_end=f"NMS IoU {iou:g}, {'class-agnostic' if class_agnostic else 'per class'},"
                                       f" top {max_det} rows, made by vis_ros.core.model_tools.end_to_end")
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)


class _Constants:
    """Initializers of the tail, named in order."""

    def __init__(self, graph):
        self.graph, self.count = graph, 0

    def _add(self, array: np.ndarray) -> str:
        self.count += 1
        name = f"e2e_const_{self.count}"
        self.graph.initializer.append(numpy_helper.from_array(array, name))
        return name

    def ints(self, values) -> str:
        return self._add(np.array(values, np.int64))

    def floats(self, value) -> str:
        return self._add(np.array(value, np.float32))


def _slice(source: str, start: int, end: int, out: str, const: _Constants):
    return helper.make_node("Slice", [source, const.ints([start]), const.ints([end]), const.ints([2])], [out])


def write_end_to_end(onnx_in: Path, onnx_out: Path, max_det: int = 300, iou: float = 0.5,
                     class_agnostic: bool = True) -> Path:
    """Re-export `onnx_in` end to end into `onnx_out` (a temporary file renamed when complete)."""
    import ast

    onnx_in, onnx_out = Path(onnx_in), Path(onnx_out)
    if onnx_out.resolve() == onnx_in.resolve():
        raise ValueError(f"{onnx_out} is the input model; write the end-to-end copy elsewhere")
    model = onnx.load(str(onnx_in))
    names = ast.literal_eval({p.key: p.value for p in model.metadata_props}.get("names", "None"))
    if not names:
        raise ValueError(f"{onnx_in} has no 'names' metadata: the class count is not known")
    converted = make_end_to_end(model, len(names), max_det, iou, class_agnostic)
    with replaced_when_done(onnx_out) as partial:
        onnx.save(converted, str(partial))
    return onnx_out


def main(argv=None) -> int:
    """Command line: IN OUT [--max-det] [--iou] [--per-class]."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("onnx_in", type=Path)
    parser.add_argument("onnx_out", type=Path)
    parser.add_argument("--max-det", type=int, default=300)
    parser.add_argument("--iou", type=float, default=0.5)
    parser.add_argument("--per-class", action="store_true", help="NMS within each class (default: across classes)")
    args = parser.parse_args(argv)
    print(write_end_to_end(args.onnx_in, args.onnx_out, args.max_det, args.iou, not args.per_class))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
