"""A small prototype-coefficient instance-segmentation network (YOLACT / YOLOv8-seg idea).

Backbone with strides 4..32, a top-down feature pyramid, an anchor-free head
at strides 8/16/32 (box distances, class scores, 32 mask coefficients) and a
prototype branch at stride 4. In export mode `forward` returns exactly the
Ultralytics YOLO-seg ONNX layout, so one decoder serves this model and user
exports:
  output0 [B, 4 + nc + 32, A]: cx, cy, w, h (input pixels), class scores (sigmoid), coefficients
  output1 [B, 32, H/4, W/4]: prototypes
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NUM_PROTOS = 32
STRIDES = (8, 16, 32)


# ReLU (the embedded model), which INT8 engines fold into the convolution's output
# quantization, or SiLU (as in YOLOv8 / YOLO11), where each activation stays two
# quantized element-wise ops. What each costs and buys: models/README.md.
ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU}


class ConvBN(nn.Sequential):
    """Convolution, batch norm, activation (ReLU or SiLU: ACTIVATIONS)."""

    def __init__(self, c_in: int, c_out: int, k: int = 3, s: int = 1, *, act: str):
        super().__init__(nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False),
                         nn.BatchNorm2d(c_out), ACTIVATIONS[act](inplace=True))


class Residual(nn.Module):
    """Two ConvBN with a skip connection."""

    def __init__(self, c: int, act: str):
        super().__init__()
        self.body = nn.Sequential(ConvBN(c, c, act=act), ConvBN(c, c, act=act))

    def forward(self, x):
        """Add the block's output to its input."""
        return x + self.body(x)


def _stage(c_in: int, c_out: int, blocks: int, act: str) -> nn.Sequential:
    return nn.Sequential(ConvBN(c_in, c_out, 3, 2, act=act),
                         *[Residual(c_out, act) for _ in range(blocks)])


class Head(nn.Module):
    """Per-level prediction: 4 box distances, nc class logits, 32 coefficients."""

    def __init__(self, c: int, num_classes: int, act: str):
        super().__init__()
        self.box = nn.Sequential(ConvBN(c, c, act=act), nn.Conv2d(c, 4, 1))
        self.cls = nn.Sequential(ConvBN(c, c, act=act), nn.Conv2d(c, num_classes, 1))
        self.coef = nn.Sequential(ConvBN(c, c, act=act), nn.Conv2d(c, NUM_PROTOS, 1))
        nn.init.constant_(self.cls[-1].bias, -4.6)  # prior 0.01: stable early training

    def forward(self, x):
        """Return box distances, class logits and coefficients of one level."""
        return self.box(x), self.cls(x), self.coef(x)


class TinySeg(nn.Module):
    """A small YOLO-seg style network: backbone, FPN, three heads and prototypes."""

    def __init__(self, num_classes: int, width: int, activation: str):  # defaults: TrainConfig
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r}: expected one of {sorted(ACTIVATIONS)}")
        w, a = width, activation
        self.num_classes = num_classes
        self.stem = ConvBN(3, w // 2, 3, 2, act=a)  # /2
        self.s2 = _stage(w // 2, w, 1, a)  # /4
        self.s3 = _stage(w, 2 * w, 2, a)  # /8
        self.s4 = _stage(2 * w, 3 * w, 2, a)  # /16
        self.s5 = _stage(3 * w, 4 * w, 1, a)  # /32
        c = 2 * w
        self.lat5 = ConvBN(4 * w, c, 1, act=a)
        self.lat4 = ConvBN(3 * w, c, 1, act=a)
        self.lat3 = ConvBN(2 * w, c, 1, act=a)
        self.smooth4 = ConvBN(c, c, act=a)
        self.smooth3 = ConvBN(c, c, act=a)
        self.heads = nn.ModuleList(Head(c, num_classes, a) for _ in STRIDES)
        self.proto_in = ConvBN(c + w, c, act=a)
        self.proto = nn.Sequential(ConvBN(c, c, act=a), ConvBN(c, NUM_PROTOS, 1, act=a))
        self.export = False

    def features(self, x):
        """Return the FPN levels (strides 8, 16, 32) and the prototypes."""
        p2 = self.s2(self.stem(x))
        p3 = self.s3(p2)
        p4 = self.s4(p3)
        p5 = self.s5(p4)
        f5 = self.lat5(p5)
        f4 = self.smooth4(self.lat4(p4) + F.interpolate(f5, scale_factor=2.0, mode="nearest"))
        f3 = self.smooth3(self.lat3(p3) + F.interpolate(f4, scale_factor=2.0, mode="nearest"))
        up = F.interpolate(f3, scale_factor=2.0, mode="nearest")
        protos = self.proto(self.proto_in(torch.cat([up, p2], 1)))
        return (f3, f4, f5), protos

    def forward(self, x):
        """Return predictions: the Ultralytics export layout when exporting, else the loss's terms."""
        levels, protos = self.features(x)
        boxes, logits, coefs, points, strides = [], [], [], [], []
        for feature, head, stride in zip(levels, self.heads, STRIDES, strict=True):
            box, cls, coef = head(feature)
            b, _, h, w = box.shape
            ys = (torch.arange(h, device=x.device, dtype=x.dtype) + 0.5) * stride
            xs = (torch.arange(w, device=x.device, dtype=x.dtype) + 0.5) * stride
            gy, gx = torch.meshgrid(ys, xs, indexing="ij")
            points.append(torch.stack([gx, gy], 0).reshape(2, -1))
            strides.append(torch.full((h * w,), float(stride), device=x.device, dtype=x.dtype))
            boxes.append(box.reshape(b, 4, -1))
            logits.append(cls.reshape(b, self.num_classes, -1))
            coefs.append(coef.reshape(b, NUM_PROTOS, -1))
        points = torch.cat(points, 1)  # (2, A)
        strides = torch.cat(strides, 0)  # (A,)
        # ltrb distances in units of stride; softplus keeps them positive.
        dist = F.softplus(torch.cat(boxes, 2)) * strides
        x0y0 = points - dist[:, :2]
        x1y1 = points + dist[:, 2:]
        logits = torch.cat(logits, 2)
        coefs = torch.cat(coefs, 2)
        if self.export:
            cxcy, wh = (x0y0 + x1y1) / 2, x1y1 - x0y0
            return torch.cat([cxcy, wh, logits.sigmoid(), coefs], 1), protos
        return torch.cat([x0y0, x1y1], 1), logits, coefs, protos, points, strides
