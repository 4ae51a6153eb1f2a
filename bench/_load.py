"""Load generation and server processes for bench/web.py: lean keep-alive HTTP clients in threads, timed
rounds, and uvicorn servers started as subprocesses that are always stopped."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Failed(Exception):
    """A request answered something other than what the path expects."""


class Http:
    """One keep-alive connection (the standard library's http.client: the cheapest client in Python, so the
    load generator takes as little as it can of the CPU the servers share with it)."""

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port = port
        self.headers = {"Host": f"127.0.0.1:{port}", **(headers or {})}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """Send one request and read the whole answer; a dropped keep-alive connection is reopened once."""
        sent = self.headers | (headers or {})
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body, sent)
                response = self.conn.getresponse()
                return response.status, response.msg, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, payload: Any, expect: int, headers: dict[str, str] | None = None) -> Any:
        """Send JSON, check the status, and return the decoded answer."""
        status, _msg, data = self.request(
            method, path, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})}
        )
        if status != expect:
            raise Failed(f"{method} {path} answered {status}: {data[:200]!r}")
        return json.loads(data)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


# One unit of work of one client: (its latency in seconds, [(request kind, latency), ...]).
Unit = tuple[float, Sequence[tuple[str, float]]]
Operation = Callable[[Http, int, int], Unit]  # (connection, client number, iteration) -> Unit


@dataclass
class Round:
    """What one timed round measured."""

    seconds: float
    units: list[float] = field(default_factory=list)
    requests: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Units completed per second of the round's wall time."""
        return len(self.units) / self.seconds if self.seconds else 0.0


def run_round(
    port: int, clients: int, seconds: float, operation: Operation, headers: Sequence[dict[str, str]]
) -> Round:
    """`clients` threads each repeat `operation` on their own connection for `seconds`, all starting together; the
    round lasts until the last one's last unit is answered (a unit started in time is counted, however long)."""
    barrier = threading.Barrier(clients + 1)
    per_client: list[Round] = [Round(0.0) for _ in range(clients)]

    def client(number: int) -> None:
        conn = Http(port, headers[number % len(headers)])
        found = per_client[number]
        try:
            barrier.wait()
            deadline = time.perf_counter() + seconds
            iteration = 0
            while time.perf_counter() < deadline:
                try:
                    latency, parts = operation(conn, number, iteration)
                except (Failed, OSError, http.client.HTTPException) as exc:
                    found.errors.append(str(exc) or type(exc).__name__)
                    conn.close()
                    time.sleep(0.01)
                else:
                    found.units.append(latency)
                    for kind, took in parts:
                        found.requests.setdefault(kind, []).append(took)
                iteration += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    merged = Round(time.perf_counter() - started)
    for found in per_client:
        merged.units += found.units
        merged.errors += found.errors
        for kind, took in found.requests.items():
            merged.requests.setdefault(kind, []).extend(took)
    return merged


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of `values`; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A subprocess serving HTTP on 127.0.0.1:port; stop() ends it (and only it), however the bench ends."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], cwd: Path, log: Path, port: int) -> None:
        self.name, self.port, self.log = name, port, log
        with log.open("wb") as out:
            # a session of its own: a Ctrl-C at the terminal reaches the bench, which stops the server itself
            self.process = subprocess.Popen(  # noqa: S603 (the bench's own command line)
                list(argv), env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, path: str = "/", timeout: float = 60.0) -> None:
        """Poll until the server answers `path`, or raise with its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                conn = Http(self.port)
                conn.request("GET", path)
                conn.close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's output."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; idempotent."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only what it started
            self.process.wait()
