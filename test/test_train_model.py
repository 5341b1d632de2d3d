"""The embedded network's activation, and what the INT8 quantizer does with each.

The embedded model uses ReLU: the INT8 quantizer folds every activation into
its convolution's output quantization. With SiLU (as YOLOv8 / YOLO11 use,
`--activation silu`) each activation between two int8 convolutions stays two
quantized element-wise ops (QLinearSigmoid + QLinearMul, 26% of the SiLU INT8
engine's time). What each costs and buys: models/README.md.
"""
from __future__ import annotations

from collections import Counter

import onnx
import pytest

from vis_ros.core.data.model_path import default_model_path
from vis_ros.core.model_tools.quantize import decode_tail, quantize_model
from vis_ros.io.calibration_images import CalibrationSource

torch = pytest.importorskip("torch")

from vis_ros.train.export import export_onnx  # noqa: E402
from vis_ros.train.model import TinySeg  # noqa: E402
from vis_ros.train.trainer import TrainConfig  # noqa: E402

CONV_BLOCKS = 34  # ConvBN blocks in TinySeg: one activation each


def _ops(proto: onnx.ModelProto) -> Counter:
    return Counter(n.op_type for n in proto.graph.node)


def _float_activations_outside_the_tail(proto: onnx.ModelProto) -> list[str]:
    tail = set(decode_tail(proto, "output0"))
    return [n.op_type for n in proto.graph.node
            if n.op_type in ("Sigmoid", "Mul", "Relu") and n.name not in tail]


@pytest.mark.parametrize("activation, module", [("relu", torch.nn.ReLU), ("silu", torch.nn.SiLU)])
def test_every_convolution_block_uses_the_chosen_activation(activation, module):
    blocks = [m for m in TinySeg(3, 8, activation).modules() if type(m).__name__ == "ConvBN"]
    assert len(blocks) == CONV_BLOCKS and all(isinstance(b[2], module) for b in blocks)


def test_an_unknown_activation_is_refused_naming_it():
    with pytest.raises(ValueError, match="'gelu'.*relu.*silu"):
        TinySeg(3, 8, "gelu")


def test_make_train_reproduces_the_shipped_relu_network():
    config, model = TrainConfig(), onnx.load(str(default_model_path()))
    meta = {p.key: p.value for p in model.metadata_props}
    assert config.activation == "relu" and meta["train_activation"] == config.activation
    assert meta["train_iterations"] == str(config.iterations) and meta["train_seed"] == str(config.seed)
    shipped = _ops(model)
    assert shipped["Relu"] == CONV_BLOCKS and shipped["Sigmoid"] == 1  # the class scores'


@pytest.mark.parametrize("activation, left_in_int8", [
    ("relu", []),  # folded into the int8 convolutions
    ("silu", ["Sigmoid", "Mul"] * CONV_BLOCKS),  # QLinearSigmoid + QLinearMul at run time
])
def test_the_quantizer_folds_relu_into_the_convolutions_and_keeps_silu(tmp_path, activation, left_in_int8):
    torch.manual_seed(0)
    fp32 = export_onnx(TinySeg(3, 8, activation), tmp_path / "tiny.onnx", ["a", "b", "c"], (64, 96))
    report = quantize_model(fp32, tmp_path / "tiny_int8.onnx", CalibrationSource(sim_frames=2))
    proto = onnx.load(str(report.out))
    assert _ops(proto)["Conv"] == _ops(onnx.load(str(fp32)))["Conv"]
    assert sorted(_float_activations_outside_the_tail(proto)) == sorted(left_in_int8)
