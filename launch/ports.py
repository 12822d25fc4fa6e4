"""Free-port picking for CARLA servers (RPC + the ports after it) and traffic managers.

A port counts as free when nothing accepts a connection on it and it can be bound
on the loopback address. Ports handed out in this process are remembered, so two
workers started one after the other never get the same block even before their
servers have bound anything.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

from launch.launch_config import PortsConfig


@dataclass(frozen=True)
class WorkerPorts:
    rpc: int  # CARLA RPC port (-carla-rpc-port / --port); the server also binds rpc+1 .. rpc+span-1
    traffic_manager: int  # --traffic-manager-port


def port_accepts(host: str, port: int, timeout_s: float = 0.2) -> bool:
    """True when something listens on host:port (a TCP connect succeeds)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def port_bindable(host: str, port: int) -> bool:
    """True when host:port can be bound now (no SO_REUSEADDR: a port in TIME_WAIT counts as taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_free(host: str, port: int) -> bool:
    return 0 < port <= 65535 and not port_accepts(host, port) and port_bindable(host, port)


class PortAllocator:
    """Hands out non-overlapping, currently free port blocks; thread-safe."""

    def __init__(self, config: PortsConfig, host: str = "127.0.0.1") -> None:
        self.config = config
        self.host = host
        self._taken: set[int] = set()
        self._lock = threading.Lock()

    def _block_free(self, first: int, span: int) -> bool:
        ports = range(first, first + span)
        return all(p not in self._taken for p in ports) and all(port_free(self.host, p) for p in ports)

    def _pick(self, base: int, span: int, start_slot: int) -> int:
        for k in range(self.config.search_limit):
            first = base + (start_slot + k) * self.config.stride
            if first + span - 1 > 65535:
                break
            if self._block_free(first, span):
                self._taken.update(range(first, first + span))
                return first
        raise RuntimeError(
            f"no free block of {span} port(s) from {base} in {self.config.search_limit} tries "
            f"(stride {self.config.stride}); set ports.rpc_base / ports.tm_base elsewhere"
        )

    def allocate(self, worker_index: int) -> WorkerPorts:
        """Ports for worker `worker_index`, starting the search at its own slot."""
        with self._lock:
            rpc = self._pick(self.config.rpc_base, self.config.rpc_span, worker_index)
            tm = self._pick(self.config.tm_base, 1, worker_index)
        return WorkerPorts(rpc=rpc, traffic_manager=tm)

    def release(self, ports: WorkerPorts) -> None:
        with self._lock:
            self._taken.difference_update(range(ports.rpc, ports.rpc + self.config.rpc_span))
            self._taken.discard(ports.traffic_manager)

    def still_free(self, ports: WorkerPorts) -> bool:
        """Whether a block handed out earlier can be reused for a restart (nothing else took it)."""
        rpc_ok = all(port_free(self.host, p) for p in range(ports.rpc, ports.rpc + self.config.rpc_span))
        return rpc_ok and port_free(self.host, ports.traffic_manager)
