"""Many bags on Ray: each bag one unit of work, processed in order by one worker, as `process-bag` does.

Workers are Ray actors that load the engine once and take bag after bag
(the next bag goes to whichever worker finishes first). A bag is the unit:
tracking needs its frames in order, so a bag is never split. With no Ray
address a local Ray is started, sized to this machine; `auto` or
`ray://host:10001` joins a running cluster (`ray start --head` on one
machine, `ray start --address HEAD:6379` on the others; KubeRay on
Kubernetes; token authentication: vis_ros.io.ray_cluster). The cores are divided between the workers and each worker's
engine runs on its share (ONNX Runtime intra-op threads); with
`gpus_per_worker`, each worker asks Ray for that many GPUs and its engine
runs there.

Resumable and fault-isolated: a bag whose output is complete (process-bag
renames a finished output into place, with its summary inside) is skipped
unless `force`; a bag that cannot be read is recorded as failed with its
reason and the others go on; a worker process that dies mid-bag is restarted
by Ray and the bag retried (bounded), and since a bag's output only appears
when finished, the retry writes the same complete output. The index of
every complete output is merged into one Parquet table.

Ray is this command's dependency only: nothing else in vis_ros imports it.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import ray

from vis_ros.core.data.files import write_json
from vis_ros.io.bag_index import merge_indexes
from vis_ros.io.bag_process import INDEX_NAME, SUMMARY_NAME
from vis_ros.io.ray_cluster import cannot_join
from vis_ros.io.stop_signals import STOP_SIGNALS, interruption
from vis_ros.io.summaries import BagResult, FleetSummary

FLEET_INDEX = "index.parquet"
FLEET_SUMMARY = "fleet_summary.json"
MAX_RETRIES = 2  # a worker that dies mid-bag: restarted and the bag retried this many times
PROGRESS_EVERY = 10  # frames a worker reports at once
QUEUED_PER_WORKER = 2  # bags given to a worker at a time: it never waits for the next


def find_bags(paths: Sequence[Path]) -> list[Path]:
    """Every rosbag2 among `paths`: a path holding metadata.yaml is a bag, a folder is searched below it."""
    bags = []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        if (path / "metadata.yaml").is_file():
            bags.append(path)
        elif path.is_dir():
            bags += sorted(p.parent for p in path.rglob("metadata.yaml"))
        else:
            raise ValueError(f"{path} is not a rosbag2 (no metadata.yaml) nor a folder of them")
    names = [b.name for b in bags]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise ValueError(f"bags with the same name would write the same output: {clashes}")
    return bags


def is_complete(output: Path) -> bool:
    """Whether `output` is a finished process-bag output (its summary is written last, then it is renamed in)."""
    return (output / SUMMARY_NAME).is_file()


@dataclass(frozen=True)
class FleetJob:
    """What every worker runs: the node's parameters and the bag's topics (as for process-bag)."""

    parameters: dict = field(default_factory=dict)
    image_topics: tuple[str, ...] = ("/camera/color/image_raw",)
    depth_topics: tuple[str, ...] = ()
    info_topics: tuple[str, ...] = ()


@ray.remote(max_restarts=MAX_RETRIES, max_task_retries=MAX_RETRIES)
class BagWorker:
    """A Ray actor: loads the engine once, then processes the bags it is given, one at a time."""

    def __init__(self, job: FleetJob, threads: int, progress: str = ""):
        """Load the engine; `progress` names the ProgressCounter actor to report to ("": none).

        The counter is found by name, not handed over: an actor handle among
        the arguments of an actor that Ray may restart has Ray log an error
        line on every run ("constructor arguments in the object store").
        """
        from vis_ros.io.bag_process import BagRun, bag_cameras

        parameters = {"threads": threads, **job.parameters, "use_depth": any(job.depth_topics)}
        self.run = BagRun.build(parameters, "vis-ros process-bags", index=True)
        self.cameras = bag_cameras(list(job.image_topics), list(job.depth_topics), list(job.info_topics))
        self._progress, self._pending = ray.get_actor(progress) if progress else None, 0

    def pid(self) -> int:
        """Return the worker's process id (tests kill it to see the bag retried)."""
        return os.getpid()

    def process(self, bag: str, output: str) -> BagResult:
        """Process one bag into `output`; a bag that cannot be processed is a failed result, not an error."""
        from vis_ros.core.data.errors import EngineError
        from vis_ros.io.bag_process import process_bag

        try:
            result = BagResult(bag, output, process_bag(self.run, self.cameras, Path(bag), Path(output), self._count))
        except (ValueError, OSError, EngineError) as exc:
            result = BagResult(bag, output, reason=" ".join(str(exc).split()))
        self._flush()
        return result

    def _count(self, frames: int) -> None:
        self._pending += frames
        if self._pending >= PROGRESS_EVERY:
            self._flush()

    def _flush(self) -> None:
        if self._progress is not None and self._pending:
            self._progress.add.remote(self._pending)  # fire and forget
        self._pending = 0


@ray.remote(num_cpus=0)
class ProgressCounter:
    """Images the workers have read, told without waiting (a worker never blocks on the progress bar)."""

    def __init__(self):
        self.count = 0

    def add(self, images: int) -> None:
        """Count `images` more."""
        self.count += images

    def take(self) -> int:
        """Return the images counted since the last take."""
        count, self.count = self.count, 0
        return count


@dataclass(frozen=True)
class FleetRun:
    """How to run the fleet: workers, where Ray is, GPUs per worker, whether to redo complete outputs."""

    workers: int = 1
    ray_address: str | None = None  # None: a local Ray on this machine
    gpus_per_worker: float = 0.0
    force: bool = False


def process_bags(bags: Sequence[Path], out_dir: Path, job: FleetJob, fleet: FleetRun = FleetRun(),
                 progress: Callable[[int], None] | None = None, started: Callable[[list], None] | None = None
                 ) -> FleetSummary:
    """Process `bags` into `out_dir` on Ray; return the fleet summary (also written to out_dir)."""
    out_dir = Path(out_dir).resolve()  # workers run in a folder of their own: absolute paths only
    out_dir.mkdir(parents=True, exist_ok=True)
    bags = [Path(bag).resolve() for bag in bags]
    outputs = {bag: out_dir / bag.name for bag in bags}
    skipped = [bag for bag in bags if is_complete(outputs[bag]) and not fleet.force]
    todo = [bag for bag in bags if bag not in skipped]
    began = time.monotonic()
    results, timing = [], {}
    if todo:
        with tempfile.TemporaryDirectory(prefix="vis_ros_ray_") as working_dir:
            _init_ray(fleet, working_dir)
            try:
                results = _run_workers(todo, outputs, job, fleet, progress, started, timing)
            finally:
                ray.shutdown()
                _remove_partials(out_dir)
    seconds = time.monotonic() - began
    indexes = [outputs[b] / INDEX_NAME for b in bags if is_complete(outputs[b]) and (outputs[b] / INDEX_NAME).is_file()]
    summary = FleetSummary(
        len(bags), {str(b): str(outputs[b]) for b in bags}, tuple(str(b) for b in skipped), tuple(results),
        round(seconds, 2), ray_start_seconds=round(timing.get("workers_ready", began) - began, 2),
        processing_seconds=round(timing.get("done", began) - timing.get("workers_ready", began), 2),
        index_rows=merge_indexes(indexes, out_dir / FLEET_INDEX))
    write_json(out_dir / FLEET_SUMMARY, summary.to_json())
    return summary


def _init_ray(fleet: FleetRun, working_dir: str) -> None:
    """Start (or join) Ray; the workers run in an empty working folder.

    Ray puts the driver's working folder first on every worker's sys.path:
    started from a vis_ros source checkout, the workers would import the
    source tree (no compiled kernels) instead of the installed package, and
    their 3D would differ from process-bag's in the last bits.
    """
    runtime_env = {"working_dir": working_dir}
    if fleet.ray_address:
        try:
            ray.init(address=fleet.ray_address, log_to_driver=False, runtime_env=runtime_env)
        except (ConnectionError, RuntimeError, ray.exceptions.RayError) as exc:
            raise ConnectionError(cannot_join(fleet.ray_address, exc, os.environ)) from exc
    else:
        # "local": a new Ray of this run's own, never a cluster a `ray start` left (or left recorded) here
        ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
                 runtime_env=runtime_env)


def _run_workers(todo: list[Path], outputs: dict, job: FleetJob, fleet: FleetRun, progress, started,
                 timing: dict) -> list[dict]:
    cpus = max(int(ray.available_resources().get("CPU", 1)), 1)
    per_worker = max(cpus // fleet.workers, 1)
    counter_name = f"vis_ros_progress_{uuid.uuid4().hex}" if progress is not None else ""
    counter = ProgressCounter.options(name=counter_name).remote() if counter_name else None
    workers = [BagWorker.options(num_cpus=per_worker, num_gpus=fleet.gpus_per_worker).remote(job, per_worker,
                                                                                           counter_name)
               for _ in range(min(fleet.workers, len(todo)))]
    ray.get([w.pid.remote() for w in workers])  # every worker up, its engine loaded
    timing["workers_ready"] = time.monotonic()
    if started is not None:
        started(workers)
    with _stop_recorded() as stopped:
        results = _collect(todo, workers, outputs, fleet, progress, counter, stopped)
    timing["done"] = time.monotonic()
    if counter is not None:
        progress(ray.get(counter.take.remote()))
    return results


def _collect(todo: list[Path], workers: list, outputs: dict, fleet: FleetRun, progress, counter,
             stopped: list[int]) -> list[BagResult]:
    waiting, results, pending = list(todo), [], {}
    for _ in range(QUEUED_PER_WORKER):  # the next bag already waits at the worker when one is done
        for worker in workers:
            _submit(worker, waiting, outputs, fleet, pending)
    while pending:
        if stopped:
            raise interruption(stopped[0])
        done, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
        if counter is not None:
            progress(ray.get(counter.take.remote()))
        for ref in done:
            worker, bag = pending.pop(ref)
            try:
                results.append(ray.get(ref))
            except ray.exceptions.RayError as exc:  # the worker died more often than it is restarted
                results.append(BagResult(str(bag), str(outputs[bag]),
                                         reason=f"worker lost: {' '.join(str(exc).split())[:300]}"))
            _submit(worker, waiting, outputs, fleet, pending)
    return results


@contextmanager
def _stop_recorded() -> Iterator[list[int]]:
    """Yield a list that Ctrl-C or SIGTERM appends its signal to, for the driver loop to stop on.

    Ray's blocking calls look for signals themselves, and a KeyboardInterrupt
    raised inside one can be consumed there: a test run once had its Ctrl-C
    ignored and the bag finished. A handler that only records the signal
    cannot be lost; the loop raises it itself. Signal handlers belong to the
    main thread: run from another thread, nothing is installed.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {signum: signal.signal(signum, lambda signum, _: received.append(signum)) for signum in STOP_SIGNALS}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _submit(worker, waiting: list[Path], outputs: dict, fleet: FleetRun, pending: dict) -> None:
    if not waiting:
        return
    bag = waiting.pop(0)
    if fleet.force and outputs[bag].exists():
        shutil.rmtree(outputs[bag])  # asked to redo it
    pending[worker.process.remote(str(bag), str(outputs[bag]))] = (worker, bag)


def _remove_partials(out_dir: Path) -> None:
    """Remove what an interrupted worker left (never a complete-looking output, removed all the same)."""
    for partial in out_dir.glob(".*.partial"):
        shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink(missing_ok=True)
