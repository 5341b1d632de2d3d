"""A stand-in for bondpy where it cannot be installed (here), holding its contract.

What the node relies on, from bondpy (bond_core, `ros2` branch) and what
Nav2's lifecycle manager expects of the other end:
- the package `bondpy` is empty: `Bond` lives in the module `bondpy.bondpy`,
  imported as `from bondpy import bondpy` (`modules()` lays it out so);
- `Bond(node, topic, bond_id, on_broken=None, on_formed=None)` creates the
  Status publisher (depth 1) on the node at once; `start()` subscribes to the
  same topic and starts a thread that publishes `active` Status messages
  every `heartbeat_period` seconds until the bond dies;
- `heartbeat_period`, `heartbeat_timeout`, `connect_timeout` and
  `disconnect_timeout` may only be set before `start()` (bondpy asserts so);
  the Status message carries the first two as float32, so they must be
  seconds as floats;
- a bond forms when a Status with the same id from another instance arrives;
  it breaks on the sister's `active: false`, on a heartbeat timeout, or
  through `break_bond()` / `shutdown()`, which publish `active: false` at
  once; `shutdown()` then destroys the subscription and the publisher with
  their own `destroy()` (not the node's `destroy_*`), so the node still
  lists them; the publishing thread ends on its own, shortly after;
- `start()` first sets the connect timer going (`connect_timer`, a thread
  until it is cancelled), then subscribes and starts the publishing thread;
- `wait_until_formed(timeout)` / `wait_until_broken(timeout)` take an rclpy
  Duration (bondpy reads its nanoseconds) and return whether it happened;
- the state machine is bond's BondSM.sm, transcribed below.
The messages are the real bond/msg definitions (test/interfaces/bond).
Where bondpy is importable (robots), tests use the real package instead.
"""
from __future__ import annotations

import threading
import time
import types
import uuid

from bond.msg import Constants, Status
from rclpy.duration import Duration

# bond/BondSM.sm: (state, event) -> (next state, actions); any other pair leaves the state as it is
TRANSITIONS = {
    ("WaitingForSister", "SisterAlive"): ("Alive", ("connected",)),
    ("WaitingForSister", "SisterDead"): ("Dead", ("connected", "sister_died", "death")),
    ("WaitingForSister", "ConnectTimeout"): ("Dead", ("death",)),
    ("WaitingForSister", "Die"): ("Dead", ("death",)),
    ("Alive", "SisterAlive"): ("Alive", ("heartbeat",)),
    ("Alive", "SisterDead"): ("Dead", ("sister_died", "death")),
    ("Alive", "HeartbeatTimeout"): ("Dead", ("death",)),
    ("Alive", "Die"): ("AwaitSisterDeath", ("start_dying",)),
    ("AwaitSisterDeath", "SisterDead"): ("Dead", ("death",)),
    ("AwaitSisterDeath", "DisconnectTimeout"): ("Dead", ("death",)),
}


class _Timeout:
    def __init__(self, seconds: float, on_timeout):
        self.seconds, self.on_timeout, self.timer = seconds, on_timeout, None

    def reset(self) -> None:
        self.cancel()
        self.timer = threading.Timer(self.seconds, self.on_timeout)
        self.timer.daemon = True
        self.timer.start()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


class Bond:
    def __init__(self, node, topic, bond_id, on_broken=None, on_formed=None):
        self._started = False
        self.node, self.topic, self.id = node, topic, bond_id
        self.on_broken, self.on_formed = on_broken, on_formed
        self.instance_id = str(uuid.uuid4())
        self.sister_instance_id = None
        self.sister_died_first = False
        self.is_shutdown = False
        self.state = "WaitingForSister"
        self.lock = threading.RLock()
        self.condition = threading.Condition(self.lock)
        self.connect_timeout = Constants.DEFAULT_CONNECT_TIMEOUT
        self.heartbeat_timeout = Constants.DEFAULT_HEARTBEAT_TIMEOUT
        self.disconnect_timeout = Constants.DEFAULT_DISCONNECT_TIMEOUT
        self.heartbeat_period = Constants.DEFAULT_HEARTBEAT_PERIOD
        self.pub = node.create_publisher(Status, topic, 1)

    def _setting(name, event):  # noqa: N805 (builds the properties below)
        def get(self):
            return self.__dict__["_" + name]

        def set_(self, seconds):
            assert not self._started, f"bondpy: {name} can only be set before start()"
            self.__dict__["_" + name] = seconds
            if event is not None:
                # bondpy's names: connect_timer, heartbeat_timer, disconnect_timer
                timer = name.replace("_timeout", "_timer")
                self.__dict__[timer] = _Timeout(float(seconds), lambda: self._event(event))
        return property(get, set_)

    connect_timeout = _setting("connect_timeout", "ConnectTimeout")
    heartbeat_timeout = _setting("heartbeat_timeout", "HeartbeatTimeout")
    disconnect_timeout = _setting("disconnect_timeout", "DisconnectTimeout")
    heartbeat_period = _setting("heartbeat_period", None)
    del _setting

    def start(self) -> None:
        assert not self._started, "bondpy: start() once"
        with self.lock:
            self.connect_timer.reset()
            self.sub = self.node.create_subscription(Status, self.topic, self._on_status, 1)
            self.thread = threading.Thread(target=self._publishing_thread, daemon=True)
            self.thread.start()
            self._started = True

    def shutdown(self) -> None:
        if self.is_shutdown:
            return
        self.sub.destroy()  # as bondpy: the entity goes, but the node still lists it
        with self.lock:
            self.is_shutdown = True
            if self.state != "Dead":
                self.break_bond()
            self.pub.destroy()
            self.condition.notify_all()
            self.connect_timer.cancel()

    def break_bond(self) -> None:
        with self.lock:
            callbacks = self._transition("Die")
            self._publish(False)
        self._call(callbacks)

    def is_broken(self) -> bool:
        with self.lock:
            return self.state == "Dead"

    def wait_until_formed(self, timeout=None) -> bool:
        return self._wait(lambda: self.state != "WaitingForSister", timeout)

    def wait_until_broken(self, timeout=None) -> bool:
        return self._wait(lambda: self.state == "Dead", timeout)

    # -- internals -------------------------------------------------------------
    def _wait(self, done, timeout) -> bool:
        assert timeout is None or isinstance(timeout, Duration), "bondpy waits take an rclpy Duration"
        seconds = None if timeout is None else timeout.nanoseconds / 1e9
        end = None if seconds is None else time.monotonic() + seconds
        with self.lock:
            while not done() and (end is None or time.monotonic() < end):
                self.condition.wait(0.1 if end is None else max(0.0, min(0.1, end - time.monotonic())))
            return done()

    def _on_status(self, msg) -> None:
        if msg.id != self.id or msg.instance_id == self.instance_id:
            return
        with self.lock:
            if self.sister_instance_id is None:
                self.sister_instance_id = msg.instance_id
            if msg.instance_id != self.sister_instance_id:
                raise AssertionError(f"more than two instances on bond {self.topic}/{self.id}")
            callbacks = self._transition("SisterAlive" if msg.active else "SisterDead")
            if not msg.active and self.sister_died_first:
                self._publish(False)
        self._call(callbacks)

    def _event(self, event: str) -> None:
        with self.lock:
            callbacks = self._transition(event)
        self._call(callbacks)

    def _transition(self, event: str) -> list:
        self.state, actions = TRANSITIONS.get((self.state, event), (self.state, ()))
        callbacks = []
        for action in actions:
            if action == "connected":
                self.connect_timer.cancel()
                self.condition.notify_all()
                callbacks.append(self.on_formed)
            elif action == "heartbeat":
                self.heartbeat_timer.reset()
            elif action == "sister_died":
                self.sister_died_first = True
            elif action == "death":
                self.condition.notify_all()
                self.heartbeat_timer.cancel()
                self.disconnect_timer.cancel()
                callbacks.append(self.on_broken)
            elif action == "start_dying":
                self.heartbeat_timer.cancel()
                self.disconnect_timer.reset()
        return [c for c in callbacks if c is not None]

    @staticmethod
    def _call(callbacks) -> None:
        for callback in callbacks:
            callback()

    def _publish(self, active: bool) -> None:
        msg = Status(id=self.id, instance_id=self.instance_id, active=active,
                     heartbeat_timeout=self.heartbeat_timeout, heartbeat_period=self.heartbeat_period)
        msg.header.stamp = self.node.get_clock().now().to_msg()
        self.pub.publish(msg)

    def _publishing_thread(self) -> None:
        with self.lock:
            while not self.is_shutdown and self.state in ("WaitingForSister", "Alive"):
                self._publish(True)
                self.condition.wait(self.heartbeat_period)
            while not self.is_shutdown and self.state == "AwaitSisterDeath":
                self._publish(False)
                self.condition.wait(Constants.DEAD_PUBLISH_PERIOD)


def modules() -> dict[str, types.ModuleType]:
    """Return the stand-in's modules by name, for sys.modules: the empty package `bondpy` and `bondpy.bondpy`."""
    package = types.ModuleType("bondpy")
    package.__path__ = []  # a package, as the real one
    module = types.ModuleType("bondpy.bondpy")
    module.Bond = Bond
    package.bondpy = module  # what `from bondpy import bondpy` reads once the submodule is imported
    return {"bondpy": package, "bondpy.bondpy": module}
