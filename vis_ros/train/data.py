"""Training samples from the simulator, pre-processed exactly as at inference.

Each sample is one frame of its own random scene (diversity beats temporal
continuity for a detector): the colour image letterboxed to the model input,
the visible objects' boxes in input pixels, their classes and soft masks at
prototype resolution (area-averaged, so thin parts are not lost).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vis_ros.core.engine.letterbox import Letterbox
from vis_ros.core.sim.ground_truth import MIN_VISIBLE_PIXELS
from vis_ros.core.sim.scene import SimOptions, random_scene
from vis_ros.core.sim.sequence import render_sim_frame


@dataclass
class Sample:
    """One training image with its boxes, classes and soft masks at prototype resolution."""

    image: np.ndarray  # (H, W, 3) uint8 RGB, letterboxed
    boxes: np.ndarray  # (G, 4) float32 xyxy, input pixels
    classes: np.ndarray  # (G,) int64
    masks: np.ndarray  # (G, H/4, W/4) float16 soft masks


def frame_to_sample(rgb: np.ndarray, instance_ids: np.ndarray, objects, input_hw) -> Sample:
    """Letterbox a sim frame and derive its targets from the instance ids."""
    letterbox = Letterbox.fit(rgb.shape[:2], input_hw)
    image = letterbox.apply(rgb)
    proto_hw = (input_hw[0] // 4, input_hw[1] // 4)
    boxes, classes, masks = [], [], []
    for obj in objects:
        if obj.visible_pixels < MIN_VISIBLE_PIXELS:
            continue
        full = (instance_ids == obj.object_id).astype(np.float32)
        ys, xs = np.nonzero(full)
        box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
        boxes.append(letterbox.boxes_to_input(box)[0])
        classes.append(obj.class_id)
        inp = letterbox.apply(full, pad_value=0.0, interpolation=cv2.INTER_AREA)
        masks.append(cv2.resize(inp, proto_hw[::-1], interpolation=cv2.INTER_AREA))
    g = len(boxes)
    return Sample(
        image=image,
        boxes=np.array(boxes, np.float32).reshape(g, 4),
        classes=np.array(classes, np.int64),
        masks=np.array(masks, np.float16).reshape(g, *proto_hw),
    )


def random_options(seed: int) -> SimOptions:
    """Vary the nuisances the node will meet: light, blur, noise, crowding."""
    rng = np.random.default_rng((seed, 7))
    return SimOptions(
        objects=int(rng.integers(1, 16)),
        lighting_change=bool(rng.random() < 0.3),
        motion_blur=bool(rng.random() < 0.15),
        rgb_noise=float(rng.uniform(1.0, 4.0)),
        object_speed=0.3,
    )


def make_sample(seed: int, input_hw=(256, 320)) -> Sample:
    """One training sample from scene `seed` at a seed-chosen time in its sequence."""
    options = random_options(seed)
    frame_index = int(np.random.default_rng((seed, 11)).integers(0, 60))
    frame = render_sim_frame(random_scene(seed, options), seed, frame_index, options)
    return frame_to_sample(frame.rgb, frame.instance_ids, frame.objects, input_hw)
