"""A random scene: camera over a table, lights, and objects with trajectories.

World frame: table plane z = 0, +z up. Camera poses are given as the rotation
whose columns are the optical axes (x right, y down, z forward) in world
coordinates, plus the optical centre.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vis_ros.core.fusion.camera import PinholeCamera
from vis_ros.core.sim.shapes import CLASS_NAMES, Shape, random_shape

# A cluttered table: the dense case the pipeline's stages are measured at (vis-ros bench --stages).
# Past about 20 objects the later ones may overlap where they start (50 tries at a free spot, then the last).
MAX_OBJECTS = 30


def default_camera(width: int, height: int) -> PinholeCamera:
    """Return a 525-px-at-VGA camera (RGB-D sensor class, ~63 degrees horizontal FOV)."""
    f = 525.0 * width / 640.0
    return PinholeCamera(f, f, (width - 1) / 2.0, (height - 1) / 2.0, width, height)


@dataclass(frozen=True)
class SimOptions:
    """What varies in a sequence; all ranges are sampled per seed."""

    width: int = 640
    height: int = 480
    fps: float = 30.0
    objects: int | None = None  # None: 3..10 at random
    classes: tuple[int, ...] = tuple(range(len(CLASS_NAMES)))
    object_speed: float = 0.15  # max m/s on the table
    lighting_change: bool = False
    motion_blur: bool = False
    camera_motion: float = 0.0  # m/s of camera translation (0: static)
    rgb_noise: float = 2.0  # std of additive noise, 8-bit levels
    depth_defects: bool = True

    def __post_init__(self) -> None:
        """Refuse options that cannot make a scene, naming the value."""
        if not 16 <= self.width <= 4096 or not 16 <= self.height <= 4096:
            raise ValueError(f"image size must be 16..4096 px, got {self.width}x{self.height}")
        if self.objects is not None and not 1 <= self.objects <= MAX_OBJECTS:
            raise ValueError(f"objects must be in 1..{MAX_OBJECTS}, got {self.objects}")
        if self.fps <= 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")
        bad = [c for c in self.classes if not 0 <= c < len(CLASS_NAMES)]
        if bad or not self.classes:
            raise ValueError(f"classes must be ids in 0..{len(CLASS_NAMES) - 1}, got {self.classes}")


@dataclass(frozen=True)
class SimObject:
    """An object with a constant-velocity, constant-spin trajectory on the table."""

    object_id: int
    shape: Shape
    start_xy: np.ndarray
    velocity_xy: np.ndarray
    yaw0: float
    yaw_rate: float
    present_s: tuple[float, float] = (-np.inf, np.inf)  # on the table from, until (s): taken away, put down

    def present(self, t: float) -> bool:
        """Tell whether the object is in the scene at time t (s)."""
        return self.present_s[0] <= t < self.present_s[1]

    def pose(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """World rotation and position of the object's local frame at time t (s)."""
        yaw = self.yaw0 + self.yaw_rate * t
        c, s = np.cos(yaw), np.sin(yaw)
        rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        xy = self.start_xy + self.velocity_xy * t
        return rotation, np.array([xy[0], xy[1], 0.0])


@dataclass(frozen=True)
class CameraSweep:
    """The camera slides `distance` metres sideways, stays there `away_s` seconds, and slides back.

    It leaves at `start_s` and each slide takes `slide_s`: a robot turning
    its head or driving down an aisle and back, for the object memory.
    """

    distance: float
    start_s: float
    slide_s: float
    away_s: float

    def offset(self, t: float) -> float:
        """Return how far the camera is from where it started at time t (s)."""
        back = self.start_s + self.slide_s + self.away_s
        if t < self.start_s or t >= back + self.slide_s:
            return 0.0
        if t < self.start_s + self.slide_s:
            return self.distance * (t - self.start_s) / self.slide_s
        if t < back:
            return self.distance
        return self.distance * (1.0 - (t - back) / self.slide_s)

    @property
    def end_s(self) -> float:
        """Return when the camera is back."""
        return self.start_s + 2 * self.slide_s + self.away_s


@dataclass(frozen=True)
class Scene:
    """A table-top or floor scene: camera, lights, support and moving objects."""

    intrinsics: PinholeCamera
    camera_position: np.ndarray
    camera_target: np.ndarray
    camera_velocity: np.ndarray
    wall_distance: float  # from the look-at point to a wall facing the camera (m)
    table_colours: tuple[tuple[float, float, float], tuple[float, float, float]]
    table_pattern: str  # "wood" | "tiles"
    wall_colour: tuple[float, float, float]
    light_direction: np.ndarray  # unit vector towards the light, world frame
    light_intensity: float
    light_change: float  # relative amplitude of a slow intensity change
    objects: tuple[SimObject, ...] = field(default_factory=tuple)
    camera_sweep: CameraSweep | None = None  # the camera moves sideways out of its view and back

    def camera_pose(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Rotation (columns = optical x, y, z in world) and optical centre at time t."""
        shift = self.camera_velocity * t
        if self.camera_sweep is not None:
            heading = self.camera_target[:2] - self.camera_position[:2]
            side = np.array([-heading[1], heading[0], 0.0]) / np.linalg.norm(heading)
            shift = shift + side * self.camera_sweep.offset(t)
        position = self.camera_position + shift
        target = self.camera_target + shift
        forward = target - position
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, (0.0, 0.0, 1.0))
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        return np.stack([right, down, forward], axis=1), position

    def wall_plane(self) -> tuple[np.ndarray, float]:
        """World normal and offset of the back wall (normal . x = offset)."""
        heading = self.camera_target - self.camera_position
        heading[2] = 0.0
        heading /= np.linalg.norm(heading)
        return heading, float(heading @ self.camera_target + self.wall_distance)

    def light_scale(self, t: float) -> float:
        """Return the light's brightness factor at time `t` (slow flicker tests exposure changes)."""
        return self.light_intensity * (1.0 + self.light_change * np.sin(2 * np.pi * t / 4.0))


def random_scene(seed: int, options: SimOptions) -> Scene:
    """Sample a scene deterministically from `seed`."""
    import colorsys

    rng = np.random.default_rng(seed)
    intrinsics = default_camera(options.width, options.height)
    height = rng.uniform(0.55, 1.4)
    pitch = np.deg2rad(rng.uniform(28, 60))  # below the horizon
    distance = height / np.tan(pitch)
    yaw = rng.uniform(-np.pi, np.pi)
    position = np.array([0.0, 0.0, height])
    target = np.array([distance * np.cos(yaw), distance * np.sin(yaw), 0.0])
    heading = target[:2] / np.linalg.norm(target[:2])
    camera_velocity = np.zeros(3)
    if options.camera_motion > 0:
        side = np.array([-heading[1], heading[0], 0.0])
        camera_velocity = side * options.camera_motion * rng.choice([-1.0, 1.0])

    # The visible stretch of table: around the look-at point, sized by the view.
    view_half_width = distance / np.cos(pitch) * (intrinsics.width / 2) / intrinsics.fx
    count = options.objects if options.objects is not None else int(rng.integers(3, 11))
    objects: list[SimObject] = []
    placed: list[tuple[np.ndarray, float]] = []
    for object_id in range(1, count + 1):
        shape = random_shape(int(rng.choice(options.classes)), rng)
        for _ in range(50):  # reject starting positions that overlap another object
            along = rng.uniform(-0.6, 0.9) * view_half_width
            across = rng.uniform(-1.25, 1.25) * view_half_width
            xy = target[:2] + heading * along + np.array([-heading[1], heading[0]]) * across
            if all(np.linalg.norm(xy - p) > r + shape.footprint_radius for p, r in placed):
                break
        placed.append((xy, shape.footprint_radius))
        speed = rng.uniform(0.0, options.object_speed)
        angle = rng.uniform(-np.pi, np.pi)
        objects.append(SimObject(
            object_id=object_id, shape=shape, start_xy=xy,
            velocity_xy=speed * np.array([np.cos(angle), np.sin(angle)]),
            yaw0=rng.uniform(-np.pi, np.pi), yaw_rate=rng.uniform(-1.0, 1.0),
        ))

    light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), 1.0])
    hue = rng.random()
    return Scene(
        intrinsics=intrinsics,
        camera_position=position,
        camera_target=target,
        camera_velocity=camera_velocity,
        wall_distance=float(rng.uniform(1.0, 3.0)),
        table_colours=(colorsys.hsv_to_rgb(hue, rng.uniform(0.1, 0.6), rng.uniform(0.3, 0.8)),
                       colorsys.hsv_to_rgb(hue + rng.uniform(-0.1, 0.1), rng.uniform(0.1, 0.6),
                                           rng.uniform(0.3, 0.8))),
        table_pattern=str(rng.choice(["wood", "tiles"])),
        wall_colour=colorsys.hsv_to_rgb(rng.random(), rng.uniform(0, 0.3), rng.uniform(0.5, 0.9)),
        light_direction=light / np.linalg.norm(light),
        light_intensity=rng.uniform(0.8, 1.15),
        light_change=0.35 if options.lighting_change else 0.0,
        objects=tuple(objects),
    )
