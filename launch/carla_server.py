"""One CARLA server process: start it, wait until it answers, stop it.

    server = CarlaServer(carla_root, rpc_port=20000, gpu=0, config=launch.server,
                         groups=groups, log_path=out / "server.log")
    server.start()
    server.wait_ready()          # raises ServerStartError with the log tail
    ...
    server.stop()

"Answers" means a TCP connect on the RPC port and then, where the carla client
imports and `probe='world'`, a real `carla.Client(host, port).get_world()`: a
server that accepts connections while it is still loading its first map answers
the connect long before it can serve a world.
"""

from __future__ import annotations

import importlib
import os
import shlex
import time
from collections.abc import Callable
from pathlib import Path

from launch.launch_config import ServerConfig
from launch.ports import port_accepts
from launch.process_groups import ProcessGroups

SERVER_SCRIPT = "CarlaUE4.sh"


class ServerStartError(RuntimeError):
    """The server died or did not answer in time; the message quotes its log."""


def server_command(carla_root: Path, rpc_port: int, gpu: int, extra_args: tuple[str, ...] = ()) -> list[str]:
    """The command line Bench2Drive's evaluator uses, as an argv list."""
    return [
        str(Path(carla_root) / SERVER_SCRIPT),
        "-RenderOffScreen",
        "-nosound",
        f"-carla-rpc-port={rpc_port}",
        f"-graphicsadapter={gpu}",
        *extra_args,
    ]


def rpc_port_argument(rpc_port: int) -> str:
    """The exact argument that identifies a server on this port in a process list."""
    return f"-carla-rpc-port={rpc_port}"


def _carla_module():
    try:
        return importlib.import_module("carla")
    except ImportError:
        return None


def probe_world(host: str, port: int, timeout_s: float) -> tuple[bool, str]:
    """(True, server version) when carla.Client(host, port).get_world() works, else (False, why).

    A server that is still loading, or anything that is not a CARLA server, makes the
    client raise RuntimeError after `timeout_s`: that is an answer ("not ready"), not a crash.
    """
    carla = _carla_module()
    if carla is None:
        return True, "carla client not importable: TCP probe only"
    try:
        client = carla.Client(host, port)
        client.set_timeout(timeout_s)
        client.get_world()
        return True, client.get_server_version()
    except RuntimeError as exc:
        return False, f"get_world() failed: {exc}"


def log_tail(path: Path, lines: int) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


class CarlaServer:
    def __init__(self, carla_root: Path, rpc_port: int, gpu: int, config: ServerConfig,
                 groups: ProcessGroups, log_path: Path, label: str = "server",
                 env: dict[str, str] | None = None) -> None:
        self.carla_root = Path(carla_root)
        self.rpc_port = rpc_port
        self.gpu = gpu
        self.config = config
        self.groups = groups
        self.log_path = Path(log_path)
        self.label = label
        self.env = env
        self.process = None
        self.started_at: float | None = None  # time.monotonic() of the last start

    @property
    def argv(self) -> list[str]:
        return server_command(self.carla_root, self.rpc_port, self.gpu, self.config.extra_args)

    def start(self) -> None:
        script = self.carla_root / SERVER_SCRIPT
        if not script.is_file():
            raise ServerStartError(f"{script} not found: set paths.carla_root (or CARLA_ROOT) to the CARLA folder")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {shlex.join(self.argv)}\n")
        env = dict(os.environ if self.env is None else self.env)
        self.process = self.groups.spawn(self.argv, label=self.label, log_path=self.log_path, env=env)
        self.started_at = time.monotonic()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def answers(self) -> tuple[bool, str]:
        """One readiness probe (see the module doc)."""
        if not port_accepts(self.config.host, self.rpc_port):
            return False, f"nothing accepts connections on {self.config.host}:{self.rpc_port}"
        if self.config.probe == "tcp":
            return True, "TCP connect"
        return probe_world(self.config.host, self.rpc_port, self.config.probe_timeout_s)

    def wait_ready(self, timeout_s: float | None = None, tail_lines: int = 20,
                   should_stop: Callable[[], bool] | None = None) -> str:
        """Block until the server answers; returns the probe's detail (server version).

        `should_stop` is checked between probes: when it returns True the wait ends
        quietly with '' (the caller is shutting down)."""
        timeout_s = self.config.start_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        why = "not probed yet"
        while True:
            if should_stop is not None and should_stop():
                return ""
            if not self.running():
                code = None if self.process is None else self.process.returncode
                raise ServerStartError(
                    f"CARLA server on port {self.rpc_port} exited (code {code}) before answering.\n"
                    f"--- {self.log_path} ---\n{log_tail(self.log_path, tail_lines)}"
                )
            ok, why = self.answers()
            if ok:
                return why
            if time.monotonic() >= deadline:
                raise ServerStartError(
                    f"CARLA server on port {self.rpc_port} did not answer within {timeout_s:.0f} s ({why}).\n"
                    f"--- {self.log_path} ---\n{log_tail(self.log_path, tail_lines)}"
                )
            time.sleep(self.config.poll_interval_s)

    def stop(self) -> None:
        """Kill the server's process group (only this one); safe to call twice."""
        if self.process is not None:
            self.groups.kill(self.process.pid, self.config.stop_grace_s)
            try:
                self.process.wait(timeout=5)
            except Exception:  # a process we cannot reap must not block shutdown
                pass
        self.process = None
