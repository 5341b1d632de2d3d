"""Training loop for the embedded model.

Training loop for the embedded model: sim samples in memory, AdamW, cosine
schedule, weight EMA, ONNX export of the EMA weights.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch

from vis_ros.core.sim.shapes import CLASS_NAMES
from vis_ros.train.data import Sample, make_sample
from vis_ros.train.export import export_onnx
from vis_ros.train.loss import image_loss
from vis_ros.train.model import TinySeg


@dataclass(frozen=True)
class TrainConfig:
    """Training run settings: data size, schedule and seed."""

    seed: int = 0
    samples: int = 4000  # scenes 0..samples-1; evaluation uses seeds >= 1_000_000
    iterations: int = 3400
    batch: int = 16
    lr: float = 2e-3
    weight_decay: float = 5e-4
    warmup: int = 200
    input_hw: tuple[int, int] = (256, 320)
    width: int = 32
    activation: str = "relu"  # model.ACTIVATIONS; relu folds into int8 convolutions (models/README.md)
    workers: int = 2
    ema_decay: float = 0.999
    cache_dir: Path | None = None  # keep generated samples here across runs


class ModelEMA:
    """Exponential moving average of weights; its warm-up lets early steps count."""

    def __init__(self, model: torch.nn.Module, decay: float):
        import copy

        self.model = copy.deepcopy(model).eval()
        self.decay, self.updates = decay, 0
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Move the averaged weights towards the model's."""
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / 500))
        source = model.state_dict()
        for name, value in self.model.state_dict().items():
            if value.dtype.is_floating_point:
                value.mul_(d).add_(source[name].detach(), alpha=1 - d)
            else:
                value.copy_(source[name])


def _generate(config: TrainConfig, log) -> list[Sample]:
    import pickle

    cache = None
    if config.cache_dir is not None:
        h, w = config.input_hw
        cache = Path(config.cache_dir) / f"samples-{config.samples}-{h}x{w}.pkl"
        if cache.is_file():
            log(f"loading samples from {cache}")
            return pickle.loads(cache.read_bytes())
    start = time.perf_counter()
    with Pool(config.workers) as pool:
        samples = pool.starmap(make_sample, [(s, config.input_hw) for s in range(config.samples)],
                               chunksize=16)
    log(f"generated {len(samples)} samples in {time.perf_counter() - start:.0f} s")
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(samples, protocol=pickle.HIGHEST_PROTOCOL))
    return samples


def _batch(samples: list[Sample], indices: np.ndarray, rng: np.random.Generator):
    images, targets = [], []
    for i in indices:
        s = samples[i]
        image, boxes, masks = s.image, s.boxes.copy(), s.masks
        if rng.random() < 0.5:  # horizontal flip
            width = image.shape[1]
            image, masks = image[:, ::-1], masks[:, :, ::-1]
            boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
        images.append(np.ascontiguousarray(image))
        # .copy(): a flipped view has negative strides, which torch refuses
        # (np.ascontiguousarray keeps them for zero-size arrays).
        targets.append((torch.from_numpy(boxes), torch.from_numpy(s.classes),
                        torch.from_numpy(masks.copy())))
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255.0)
    return x, targets


def train(config: TrainConfig, out: Path, log=print) -> dict:
    """Train on sim samples and export the EMA weights; return the run's summary."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.workers)
    rng = np.random.default_rng(config.seed)
    t0 = time.perf_counter()
    samples = _generate(config, log)
    model = TinySeg(len(CLASS_NAMES), config.width, config.activation)
    ema = ModelEMA(model, config.ema_decay)
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    optimiser = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)
    model.train()
    order = rng.permutation(len(samples))
    cursor, running = 0, {}
    for it in range(config.iterations):
        lr = config.lr * (min(1.0, (it + 1) / config.warmup)
                          * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * it / config.iterations))))
        for group in optimiser.param_groups:
            group["lr"] = lr
        if cursor + config.batch > len(order):
            order, cursor = rng.permutation(len(samples)), 0
        x, targets = _batch(samples, order[cursor:cursor + config.batch], rng)
        cursor += config.batch
        boxes, logits, coefs, protos, points, _ = model(x)
        total = 0.0
        for b, (gt_boxes, gt_classes, gt_masks) in enumerate(targets):
            loss, parts = image_loss(boxes[b].T, logits[b].T, coefs[b].T, protos[b], points.T,
                                     gt_boxes, gt_classes, gt_masks)
            total = total + loss
            for k, v in parts.items():
                running[k] = running.get(k, 0.0) + v / config.batch
        optimiser.zero_grad(set_to_none=True)
        (total / config.batch).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimiser.step()
        ema.update(model)
        if (it + 1) % 50 == 0 or it == 0:
            n = 1 if it == 0 else 50
            parts = " ".join(f"{k} {v / n:.4f}" for k, v in running.items())
            log(f"iter {it + 1}/{config.iterations} lr {lr:.5f} {parts}"
                f" elapsed {time.perf_counter() - t0:.0f} s")
            running = {}
    minutes = (time.perf_counter() - t0) / 60
    onnx_path = export_onnx(ema.model, out, list(CLASS_NAMES), config.input_hw,
                            {"train_seed": str(config.seed), "train_samples": str(config.samples),
                             "train_iterations": str(config.iterations),
                             "train_activation": config.activation})
    torch.save(ema.model.state_dict(), out.with_suffix(".pt"))
    log(f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB) after {minutes:.1f} min")
    return {"minutes": minutes, "onnx": str(onnx_path)}
