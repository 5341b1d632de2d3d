"""Export a simulated sequence as a rosbag2 with standard RGB-D camera topics.

Uses `rosbags` (pure Python, no ROS install needed), so bags are written the
same way on a workstation and on CI. Topics follow the realsense2_camera
convention, which most RGB-D pipelines already remap from.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from vis_ros.core.data.stamps import ns_to_sec_nanosec
from vis_ros.core.fusion.transform import Rigid
from vis_ros.core.sim.dataset import SimDataset
from vis_ros.io.output_messages import ROSBAG2_VERSION

COLOR_TOPIC = "/camera/color/image_raw"
INFO_TOPIC = "/camera/color/camera_info"
DEPTH_TOPIC = "/camera/aligned_depth_to_color/image_raw"
_STORAGE = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


def typestore():
    """Return the rosbags type store of ROS 2 kilted's standard messages."""
    return get_typestore(Stores.ROS2_KILTED)


def _header(types, stamp_ns: int, frame_id: str):
    sec, nanosec = ns_to_sec_nanosec(stamp_ns)
    return types["std_msgs/msg/Header"](
        stamp=types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec), frame_id=frame_id)


def image_message(types, stamp_ns: int, frame_id: str, pixels: np.ndarray, encoding: str):
    """sensor_msgs/Image for a C-contiguous (H, W[, C]) array; step = bytes per row."""
    pixels = np.ascontiguousarray(pixels)
    return types["sensor_msgs/msg/Image"](
        header=_header(types, stamp_ns, frame_id), height=pixels.shape[0], width=pixels.shape[1],
        encoding=encoding, is_bigendian=0, step=pixels.strides[0],
        data=pixels.view(np.uint8).reshape(-1))


def camera_info_message(types, stamp_ns: int, frame_id: str, dataset: SimDataset):
    """Build the CameraInfo of the dataset's intrinsics (rectified: zero plumb_bob distortion)."""
    k = dataset.intrinsics
    return types["sensor_msgs/msg/CameraInfo"](
        header=_header(types, stamp_ns, frame_id), height=k.height, width=k.width,
        distortion_model="plumb_bob", d=np.zeros(5),
        k=np.array([k.fx, 0, k.cx, 0, k.fy, k.cy, 0, 0, 1.0]),
        r=np.eye(3).reshape(-1),
        p=np.array([k.fx, 0, k.cx, 0, 0, k.fy, k.cy, 0, 0, 0, 1.0, 0]),
        binning_x=0, binning_y=0,
        roi=types["sensor_msgs/msg/RegionOfInterest"](
            x_offset=0, y_offset=0, height=0, width=0, do_rectify=False))


@dataclass(frozen=True)
class TransformRecord:
    """One transform for /tf (or /tf_static): the pose of `child` in `parent` at `stamp_ns`."""

    parent: str
    child: str
    stamp_ns: int
    pose: Rigid
    static: bool = False


def tf_message(types, records: Sequence[TransformRecord]):
    """Build the tf2_msgs/TFMessage of `records`."""
    def vector(values):
        return types["geometry_msgs/msg/Vector3"](x=values[0], y=values[1], z=values[2])

    return types["tf2_msgs/msg/TFMessage"](transforms=[types["geometry_msgs/msg/TransformStamped"](
        header=_header(types, r.stamp_ns, r.parent), child_frame_id=r.child,
        transform=types["geometry_msgs/msg/Transform"](
            translation=vector(r.pose.translation),
            rotation=types["geometry_msgs/msg/Quaternion"](x=r.pose.rotation[0], y=r.pose.rotation[1],
                                                           z=r.pose.rotation[2], w=r.pose.rotation[3])))
        for r in records])


def export_bag(dataset: SimDataset, out: Path, storage: str = "mcap", frames: int | None = None,
               transforms: Callable[[int, int], Sequence[TransformRecord]] | None = None) -> Path:
    """Write colour, aligned depth and camera info of every frame to a new bag at `out`.

    `frames` longer than the sequence plays it again and again, stamps going
    on at its frame period (a long bag for the memory benchmark).
    `transforms(k, stamp_ns)` gives the transforms recorded just before frame
    k: static ones go to /tf_static, the others to /tf.
    """
    if storage not in _STORAGE:
        raise ValueError(f"unknown storage {storage!r}; valid: {sorted(_STORAGE)}")
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; rosbag2 writes a new directory")
    store = typestore()
    types = store.types
    frame_id = dataset.manifest["frame_id"]
    with Writer(out, version=ROSBAG2_VERSION, storage_plugin=_STORAGE[storage]) as writer:
        color = writer.add_connection(COLOR_TOPIC, "sensor_msgs/msg/Image", typestore=store)
        depth = writer.add_connection(DEPTH_TOPIC, "sensor_msgs/msg/Image", typestore=store)
        info = writer.add_connection(INFO_TOPIC, "sensor_msgs/msg/CameraInfo", typestore=store)
        tf = {static: writer.add_connection(topic, "tf2_msgs/msg/TFMessage", typestore=store)
              for topic, static in (("/tf", False), ("/tf_static", True))} if transforms else {}
        count = len(dataset) if frames is None else frames
        period_ns = (dataset[1].stamp_ns - dataset[0].stamp_ns) if len(dataset) > 1 else 33_333_333
        for k in range(count):
            frame = dataset[k % len(dataset)]
            stamp = frame.stamp_ns + (k // len(dataset)) * len(dataset) * period_ns
            records = transforms(k, stamp) if transforms else ()
            for static in (True, False):
                chosen = [r for r in records if r.static == static]
                if chosen:
                    writer.write(tf[static], stamp, store.serialize_cdr(tf_message(types, chosen),
                                                                        "tf2_msgs/msg/TFMessage"))
            for connection, msg, name in (
                (color, image_message(types, stamp, frame_id, frame.rgb, "rgb8"), "sensor_msgs/msg/Image"),
                (depth, image_message(types, stamp, frame_id, frame.depth_mm, "16UC1"), "sensor_msgs/msg/Image"),
                (info, camera_info_message(types, stamp, frame_id, dataset), "sensor_msgs/msg/CameraInfo"),
            ):
                writer.write(connection, stamp, store.serialize_cdr(msg, name))
    return out


@dataclass(frozen=True)
class CameraTopics:
    """Where one camera of a several-camera bag is recorded: colour, and depth + CameraInfo ("" for none)."""

    image: str
    depth: str = ""
    info: str = ""


def export_cameras_bag(datasets: dict[str, SimDataset], out: Path, with_depth: frozenset[str] = frozenset(),
                       compressed: frozenset[str] = frozenset(), depth_after_ns: int = 0) -> dict[str, CameraTopics]:
    """Write several sequences as cameras' topics, frame by frame; return each camera's topics.

    Colour on /<name>/color/image_raw (Image), or /<name>/color/image_raw/compressed
    (a JPEG CompressedImage, what robots record) for cameras in `compressed`;
    for cameras in `with_depth` also /<name>/aligned_depth/image_raw (16UC1)
    and /<name>/color/camera_info, recorded `depth_after_ns` after the colour
    of the same stamp (aligned depth is often computed after colour). For
    process-bag runs, tests and benchmarks.
    """
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; rosbag2 writes a new directory")
    store = typestore()
    topics = {name: CameraTopics(f"/{name}/color/image_raw" + ("/compressed" if name in compressed else ""),
                                 f"/{name}/aligned_depth/image_raw" if name in with_depth else "",
                                 f"/{name}/color/camera_info" if name in with_depth else "")
              for name in datasets}
    with Writer(out, version=ROSBAG2_VERSION, storage_plugin=_STORAGE["mcap"]) as writer:
        def connection(topic, msgtype):
            return writer.add_connection(topic, msgtype, typestore=store) if topic else None

        colour = {name: connection(t.image, "sensor_msgs/msg/CompressedImage" if name in compressed else
                                   "sensor_msgs/msg/Image") for name, t in topics.items()}
        depth = {name: connection(t.depth, "sensor_msgs/msg/Image") for name, t in topics.items()}
        info = {name: connection(t.info, "sensor_msgs/msg/CameraInfo") for name, t in topics.items()}
        records = []
        for index in range(max(len(d) for d in datasets.values())):
            for name, dataset in datasets.items():
                if index >= len(dataset):
                    continue
                frame, frame_id = dataset[index], f"{name}_optical"
                if name in compressed:
                    records.append((frame.stamp_ns, colour[name], compressed_image_message(
                        store.types, frame.stamp_ns, frame_id, frame.rgb), "sensor_msgs/msg/CompressedImage"))
                else:
                    records.append((frame.stamp_ns, colour[name], image_message(
                        store.types, frame.stamp_ns, frame_id, frame.rgb, "rgb8"), "sensor_msgs/msg/Image"))
                if name in with_depth:
                    at = frame.stamp_ns + depth_after_ns
                    records.append((at, depth[name], image_message(store.types, frame.stamp_ns, frame_id,
                                                                   frame.depth_mm, "16UC1"), "sensor_msgs/msg/Image"))
                    records.append((at, info[name], camera_info_message(store.types, frame.stamp_ns, frame_id,
                                                                        dataset), "sensor_msgs/msg/CameraInfo"))
        for record_ns, conn, msg, msgtype in sorted(records, key=lambda r: r[0]):
            writer.write(conn, record_ns, store.serialize_cdr(msg, msgtype))
    return topics


def compressed_image_message(types, stamp_ns: int, frame_id: str, rgb: np.ndarray, quality: int = 95):
    """sensor_msgs/CompressedImage of an RGB image as JPEG (format "rgb8; jpeg compressed bgr8", as image_transport)."""
    import cv2

    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return types["sensor_msgs/msg/CompressedImage"](header=_header(types, stamp_ns, frame_id),
                                                     format="rgb8; jpeg compressed bgr8", data=data.reshape(-1))
