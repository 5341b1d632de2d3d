"""Render one frame of a Scene: RGB, metric depth, instance ids, 3D ground truth.

Rays are cast only inside each object's projected bounding rectangle, so the
cost grows with the pixels objects cover, not with their number. A z-buffer
resolves occlusion; depth is the ray parameter of unnormalised rays whose
z component is 1, i.e. optical-axis depth in metres.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vis_ros.core.sim.scene import Scene

_AMBIENT = 0.4


@dataclass(frozen=True)
class ObjectTruth:
    """Ground truth of one object in one frame, camera optical frame, metres."""

    object_id: int
    class_id: int
    class_name: str
    rotation: np.ndarray  # object frame -> camera frame
    position: np.ndarray  # object frame origin (footprint centre) in the camera frame
    box_center: np.ndarray  # centre of the object's 3D box in the camera frame
    box_size: np.ndarray  # extent along the object's x, y, z axes
    visible_pixels: int


@dataclass(frozen=True)
class RenderedFrame:
    """One rendered image with exact depth, instance ids and object truths."""

    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32 metres, exact (0 = no surface)
    instance_ids: np.ndarray  # (H, W) uint16, 0 = background
    objects: tuple[ObjectTruth, ...]


def _camera_rays(scene: Scene) -> np.ndarray:
    k = scene.intrinsics
    u = (np.arange(k.width) - k.cx) / k.fx
    v = (np.arange(k.height) - k.cy) / k.fy
    rays = np.empty((k.height, k.width, 3))
    rays[..., 0] = u[None, :]
    rays[..., 1] = v[:, None]
    rays[..., 2] = 1.0
    return rays


def _projected_rect(scene, cam_rot, cam_pos, obj_rot, obj_pos, shape):
    """Pixel rectangle (y0, y1, x0, x1) covering the object's box, or None."""
    k = scene.intrinsics
    hx, hy, _ = shape.half_extents
    corners = np.array([[sx * hx, sy * hy, z] for sx in (-1, 1) for sy in (-1, 1)
                        for z in (0.0, shape.height)])
    cam = (corners @ obj_rot.T + obj_pos - cam_pos) @ cam_rot
    if np.any(cam[:, 2] < 0.05):
        if np.all(cam[:, 2] < 0.05):
            return None
        return 0, k.height, 0, k.width
    u = cam[:, 0] / cam[:, 2] * k.fx + k.cx
    v = cam[:, 1] / cam[:, 2] * k.fy + k.cy
    x0, x1 = max(int(np.floor(u.min())) - 1, 0), min(int(np.ceil(u.max())) + 2, k.width)
    y0, y1 = max(int(np.floor(v.min())) - 1, 0), min(int(np.ceil(v.max())) + 2, k.height)
    if x0 >= x1 or y0 >= y1:
        return None
    return y0, y1, x0, x1


@dataclass(frozen=True)
class Background:
    """Table and wall seen from one camera pose, per pixel: what every frame from that pose starts from."""

    depth: np.ndarray  # (H, W) metres
    albedo: np.ndarray  # (H, W, 3)
    normals: np.ndarray  # (H, W, 3) world
    world: np.ndarray  # (H, W, 3) world points
    on_table: np.ndarray  # (H, W) bool


def static_background(scene: Scene, rays: np.ndarray) -> Background | None:
    """Return the background of a scene whose camera stands still (every frame's), else None.

    It is 40% of a frame's rendering; a still camera (the default) sees the
    same one in every frame, so a sequence computes it once.
    """
    if np.any(scene.camera_velocity) or scene.camera_sweep is not None:
        return None
    arrays = _background(scene, rays, *scene.camera_pose(0.0))
    for array in arrays:
        array.setflags(write=False)  # shared by every frame: drawn into copies only
    return Background(*arrays)


def _background(scene, rays, cam_rot, cam_pos):
    """Table and wall: depth, albedo, world normals and world points per pixel."""
    from vis_ros.core.sim.primitives import hit_plane

    h, w, _ = rays.shape
    flat = rays.reshape(-1, 3)
    origin = np.zeros_like(flat)
    table_t, _ = hit_plane(origin, flat, cam_rot.T @ np.array([0.0, 0.0, 1.0]), -cam_pos[2])
    wall_n, wall_offset = scene.wall_plane()
    wall_t, _ = hit_plane(origin, flat, cam_rot.T @ wall_n, wall_offset - wall_n @ cam_pos)
    on_table = table_t <= wall_t
    depth = np.minimum(table_t, wall_t)
    depth = np.where(np.isfinite(depth), depth, 0.0)
    world = cam_pos + (flat * depth[:, None]) @ cam_rot.T
    colour_a, colour_b = (np.asarray(c) for c in scene.table_colours)
    if scene.table_pattern == "tiles":
        pick = (np.floor(world[:, 0] / 0.15) + np.floor(world[:, 1] / 0.15)) % 2 == 0
        table = np.where(pick[:, None], colour_a, colour_b)
    else:
        grain = 0.5 + 0.5 * np.sin(world[:, 0] * 25.0 + 3.0 * np.sin(world[:, 1] * 4.0))
        table = colour_a + (colour_b - colour_a) * grain[:, None]
    albedo = np.where(on_table[:, None], table, np.asarray(scene.wall_colour))
    normals = np.where(on_table[:, None], (0.0, 0.0, 1.0), -wall_n)
    return (depth.reshape(h, w), albedo.reshape(h, w, 3), normals.reshape(h, w, 3),
            world.reshape(h, w, 3), on_table.reshape(h, w))


def render_frame(scene: Scene, t: float, rays: np.ndarray | None = None,
                 background: Background | None = None) -> RenderedFrame:
    """Render the scene at time t (seconds) without sensor noise.

    `background`: the scene's `static_background`, if its camera stands still.
    """
    if rays is None:
        rays = _camera_rays(scene)
    cam_rot, cam_pos = scene.camera_pose(t)
    if background is None:
        depth, albedo, normals, world, on_table = _background(scene, rays, cam_rot, cam_pos)
    else:  # objects are drawn into copies; world points and the table mask are only read
        depth, albedo, normals = background.depth.copy(), background.albedo.copy(), background.normals.copy()
        world, on_table = background.world, background.on_table
    ids = np.zeros(depth.shape, np.uint16)
    # Shadows are smooth: evaluate them on a 4x coarser grid, then upsample.
    coarse_world, coarse_table = world[::4, ::4, :2], on_table[::4, ::4]
    shadow = np.ones(coarse_table.shape)
    truths = []
    present = [obj for obj in scene.objects if obj.present(t)]
    for obj in present:
        obj_rot, obj_pos = obj.pose(t)
        # Soft contact shadow on the table around the footprint.
        dist = np.linalg.norm(coarse_world - obj_pos[:2], axis=-1) / (obj.shape.footprint_radius * 1.25)
        shadow *= np.where(coarse_table, 1.0 - 0.45 * np.exp(-dist ** 4), 1.0)
        rect = _projected_rect(scene, cam_rot, cam_pos, obj_rot, obj_pos, obj.shape)
        if rect is not None:
            y0, y1, x0, x1 = rect
            d_cam = rays[y0:y1, x0:x1].reshape(-1, 3)
            to_local = obj_rot.T @ cam_rot  # camera direction -> object frame
            o_local = np.broadcast_to(obj_rot.T @ (cam_pos - obj_pos), d_cam.shape)
            t_hit, n_local, p_local = obj.shape.hit(o_local, d_cam @ to_local.T)
            region_depth = depth[y0:y1, x0:x1].reshape(-1)
            nearer = t_hit < np.where(region_depth > 0, region_depth, np.inf)
            if nearer.any():
                idx = np.flatnonzero(nearer)
                rows, cols = idx // (x1 - x0) + y0, idx % (x1 - x0) + x0
                depth[rows, cols] = t_hit[idx]
                ids[rows, cols] = obj.object_id
                albedo[rows, cols] = obj.shape.albedo(p_local[idx])
                normals[rows, cols] = n_local[idx] @ obj_rot.T
        rotation = cam_rot.T @ obj_rot
        position = cam_rot.T @ (obj_pos - cam_pos)
        truths.append((obj, rotation, position))

    import cv2

    shadow = cv2.resize(shadow, (depth.shape[1], depth.shape[0]), interpolation=cv2.INTER_LINEAR)
    light = scene.light_direction
    lambert = np.clip(normals @ light, 0.0, 1.0)
    shade = (_AMBIENT + (1 - _AMBIENT) * lambert) * np.where(ids == 0, shadow, 1.0)
    rgb = np.clip(albedo * shade[..., None] * scene.light_scale(t), 0.0, 1.0)
    visible = np.bincount(ids.ravel(), minlength=max((o.object_id for o in scene.objects), default=0) + 1)
    objects = tuple(
        ObjectTruth(
            object_id=obj.object_id, class_id=obj.shape.class_id, class_name=obj.shape.class_name,
            rotation=rotation, position=position,
            box_center=position + rotation @ np.array([0.0, 0.0, obj.shape.height / 2]),
            box_size=np.array([2 * obj.shape.half_extents[0], 2 * obj.shape.half_extents[1],
                               obj.shape.height]),
            visible_pixels=int(visible[obj.object_id]),
        )
        for obj, rotation, position in truths
    )
    return RenderedFrame(rgb=(rgb * 255.0 + 0.5).astype(np.uint8),
                         depth=depth.astype(np.float32), instance_ids=ids, objects=objects)
