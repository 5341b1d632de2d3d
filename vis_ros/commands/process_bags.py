"""Process many rosbag2 files on Ray: the node's pipeline per bag, workers across cores or machines.

Each bag is processed as `vis-ros process-bag` would (same options, same
outputs, byte for byte) into DIR/<bag name>, by Ray actors that load the
engine once and take bag after bag. A bag whose output is complete is
skipped (--force redoes it); a bag that cannot be read is reported with its
reason and the others complete; a worker that dies mid-bag is restarted and
the bag retried. Every complete output's instances are merged into
DIR/index.parquet (one row per published instance), and DIR/fleet_summary.json
says what happened to each bag.

With no --ray-address a local Ray is started on this machine; `auto` (or
HOST:PORT) joins a cluster started with `ray start`, `ray://host:10001` a
remote one. Such a cluster uses token authentication when its head has a
token: where this machine has one too (~/.ray/auth_token, RAY_AUTH_TOKEN) and
RAY_AUTH_MODE is not set, token mode is used, as `ray start` does.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from vis_ros.commands.process_bag import DEFAULT_IMAGE_TOPIC, add_bag_arguments, node_parameters


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("bags", nargs="+", type=Path, metavar="BAG_OR_DIR",
                        help="rosbag2 directories, or folders searched for them")
    parser.add_argument("--out", required=True, type=Path, help="output folder (one output bag per input bag)")
    parser.add_argument("--workers", type=int, default=1, help="Ray workers (each loads the engine once)")
    parser.add_argument("--ray-address", default=None,
                        help="join a Ray cluster (auto, HOST:PORT, or ray://host:10001); default: a local Ray on this"
                             " machine. A cluster with token authentication needs its token here (~/.ray/auth_token"
                             " or RAY_AUTH_TOKEN)")
    parser.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs each worker asks Ray for")
    parser.add_argument("--force", action="store_true", help="redo bags whose output is complete")
    add_bag_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Process the bags; print one line per failed bag and where the index is."""
    from tqdm import tqdm

    from vis_ros.io.ray_cluster import use_cluster_auth

    if args.ray_address:
        use_cluster_auth()  # before Ray is imported: it reads the mode then
    from vis_ros.core.config.settings import node_defaults
    from vis_ros.io.bag_process import bag_cameras, image_count
    from vis_ros.io.fleet import FLEET_INDEX, FleetJob, FleetRun, find_bags, is_complete, process_bags

    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    topics = args.image_topics or [DEFAULT_IMAGE_TOPIC]
    bag_cameras(topics, args.depth_topics, args.info_topics)  # refuse bad topic lists before starting Ray
    parameters = node_parameters(args)
    node_defaults(**parameters)  # and bad values
    bags = find_bags(args.bags)
    if not bags:
        raise ValueError(f"no rosbag2 found in {[str(b) for b in args.bags]}")
    job = FleetJob(parameters, tuple(topics), tuple(args.depth_topics), tuple(args.info_topics))
    fleet = FleetRun(args.workers, args.ray_address, args.gpus_per_worker, args.force)
    total = sum(image_count(bag, topics) or 0 for bag in bags if args.force or not is_complete(args.out / bag.name))
    with tqdm(total=total, desc=f"{len(bags)} bags", unit="img") as bar:
        summary = process_bags(bags, args.out, job, fleet, progress=bar.update)
    for failure in summary.failed:
        print(f"failed: {failure.bag}: {failure.reason}")
    print(f"{summary.processed} processed, {len(summary.skipped)} already complete, {len(summary.failed)}"
          f" failed; {summary.frames} images at {summary.frames_per_second} images/s;"
          f" index: {args.out / FLEET_INDEX} ({summary.index_rows} rows)")
    return 0 if not summary.failed else 1
