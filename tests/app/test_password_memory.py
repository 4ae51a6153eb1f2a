"""Memory stays bounded whatever sign-ins arrive: a real server, production-strength argon2id.

The server runs in a subprocess (uvicorn, SQLite, argon2id at t=3, 64 MiB, p=4) with users made
beforehand. 40 sign-ins arrive at once, right and wrong passwords, known and unknown accounts, from
distinct addresses (X-Forwarded-For, trusted for this server) so that no rate limit stops them. Each
hash holds 64 MiB while it runs; the hashing semaphore lets `slots` run at once, so the server's
peak resident memory (VmHWM) must stay within baseline + slots x 64 MiB + a margin for the requests
themselves. Without the semaphore 40 sign-ins took a server from 113 MiB to 2.3 GB.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import argon2
import pytest
from sqlmodel import Session

from app.db import make_engine, upgrade_database
from app.models import Agency, User

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"  # noqa: S105 (synthetic test password)
MIB = 1024 * 1024
SLOTS = 2
HASH_MIB = 64
MARGIN_MIB = 48  # 40 requests in flight: their threads, sockets, parsed forms and database connections
USERS = 4


@dataclass
class Server:
    pid: int
    port: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _sep, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def _post(port: int, path: str, form: dict[str, str], address: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": address}
        connection.request("POST", path, body=urlencode(form), headers=headers)
        response = connection.getresponse()
        response.read()
        return int(response.status)
    finally:
        connection.close()


def _sign_in(port: int, index: int) -> int:
    """Sign-in number `index`: the page or the API, right or wrong, a known account or not."""
    email = f"staff{index % USERS}@example.org" if index % 5 else f"nobody{index}@example.org"
    password = PASSWORD if index % 2 else "not the right password"
    address = f"10.0.{index // 200}.{index % 200 + 1}"
    if index % 3:
        return _post(port, "/login", {"email": email, "password": password, "next": "/"}, address)
    return _post(port, "/api/v1/auth/token", {"username": email, "password": password}, address)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path / 'memory.sqlite3'}"
    engine = make_engine(url)
    upgrade_database(engine)
    stored = argon2.PasswordHasher().hash(PASSWORD)  # production strength: t=3, 64 MiB, p=4
    with Session(engine) as session:
        agency = Agency(name="Memory Test Agency", kind="youth_program")
        session.add(agency)
        session.flush()
        for n in range(USERS):
            session.add(
                User(
                    agency_id=agency.id,
                    email=f"staff{n}@example.org",
                    display_name=f"Staff {n}",
                    role="screener",
                    password_hash=stored,
                )
            )
        session.commit()
    engine.dispose()

    env = {k: v for k, v in os.environ.items() if not k.startswith("TELLONCE_")}
    env.update(
        TELLONCE_DATABASE_URL=url,
        TELLONCE_DATA_DIR=str(tmp_path),
        TELLONCE_ENVIRONMENT="development",
        TELLONCE_TRUST_PROXY_HEADERS="true",
        TELLONCE_PASSWORD_HASH_SLOTS=str(SLOTS),
        PYTHONPATH=str(ROOT),
    )
    port = _free_port()
    launch = (
        "import uvicorn; from app.main import create_app; "
        f"uvicorn.run(create_app(upgrade_database=False), host='127.0.0.1', port={port}, log_level='warning')"
    )
    process = subprocess.Popen([sys.executable, "-c", launch], env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                connection.request("GET", "/login")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            finally:
                connection.close()
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield Server(process.pid, port)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_forty_concurrent_sign_ins_stay_within_the_hashing_bound(server: Server) -> None:
    started = _memory(server.pid)
    # Start-up made no hash (the timing dummy is made on first use): its peak is near its resident size.
    startup_hash_mib = (started["VmHWM"] - started["VmRSS"]) / MIB

    # Warm up: one wrong and one right sign-in, so code paths and the dummy hash are loaded.
    assert _post(server.port, "/login", {"email": "nobody@example.org", "password": "x" * 9}, "10.9.9.1") == 401
    assert _post(server.port, "/login", {"email": "staff0@example.org", "password": PASSWORD}, "10.9.9.2") == 303
    time.sleep(0.2)
    baseline = _memory(server.pid)["VmRSS"]
    Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # reset VmHWM to the current resident size

    barrier = threading.Barrier(40)

    def at_once(index: int) -> int:
        barrier.wait()
        return _sign_in(server.port, index)

    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(at_once, range(40)))
    peak = _memory(server.pid)["VmHWM"]
    bound = baseline + (SLOTS * HASH_MIB + MARGIN_MIB) * MIB

    figures = (
        f"baseline {baseline / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB, bound {bound / MIB:.0f} MiB "
        f"(baseline + {SLOTS} slots x {HASH_MIB} MiB + {MARGIN_MIB} MiB); start-up peak above resident "
        f"{startup_hash_mib:.0f} MiB; statuses {sorted(statuses)}"
    )
    print(figures)  # the figures the report quotes (run with -s)
    assert set(statuses) <= {200, 303, 401, 503}, figures  # no server error
    assert sum(s in (200, 303, 401) for s in statuses) >= 2 * SLOTS, figures  # passwords were really checked
    assert peak <= bound, figures
    assert startup_hash_mib < HASH_MIB / 2, figures
