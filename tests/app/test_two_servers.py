"""Two app servers on one database, and one server with two workers (issue 14).

Sessions, CSRF secrets, rate limits and the audit chain live in the database, so a deployment can run
several `tellonce serve` processes behind one proxy: a browser or API client may reach any of them.
Here two real servers (separate processes, separate ports) share one new database, and what a user does
on one is seen, checked and counted on the other. On PostgreSQL the two servers also start together on
an empty database (one migrates, the other waits for it); SQLite is one machine's file, migrated first.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx  # the test client's HTTP library
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from app import audit, crypto, db
from app.settings import get_settings
from tests.app import conftest
from tests.app.conftest import PASSWORD, World

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 90  # imports and migrations; slow when the machine is busy
PRACTITIONER = "tellonce-practitioner-indicators"


@dataclass
class Server:
    """One `tellonce serve` process and an HTTP client for it (cookies of its own)."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False, trust_env=False)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Ctrl+C
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _environment(url: str, data_dir: Path) -> dict[str, str]:
    """The test process's settings for a server process: its database, the same keys, cheap argon2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELLONCE_")}
    env.update(
        TELLONCE_DATABASE_URL=url,
        TELLONCE_DATA_DIR=str(data_dir),
        TELLONCE_KEY_FILE=str(get_settings().resolved_key_file.resolve()),
        TELLONCE_ENVIRONMENT="test",
        TELLONCE_PASSWORD_HASH_TIME_COST=os.environ["TELLONCE_PASSWORD_HASH_TIME_COST"],
        TELLONCE_PASSWORD_HASH_MEMORY_KIB=os.environ["TELLONCE_PASSWORD_HASH_MEMORY_KIB"],
        TELLONCE_DEMO_COHORT_PEOPLE="0",
        TELLONCE_DEMO_CHECKINS="0",
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
    )
    return env


def _start(env: dict[str, str], log: Path, *args: str) -> Server:
    port = _free_port()
    command = [sys.executable, "-c", "import sys; sys.argv[0] = 'tellonce'; from app.cli import main; main()"]
    command += ["serve", "--host", "127.0.0.1", "--port", str(port), *args]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(f"http://127.0.0.1:{port}", process, log)


def _wait_until_serving(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    with server.client() as http:
        while True:
            try:
                if http.get("/login").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if server.process.poll() is not None:
                pytest.fail(f"the server exited ({server.process.returncode}):\n{server.output()}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer in {STARTUP_SECONDS}s:\n{server.output()}", pytrace=False)
            time.sleep(0.1)


@dataclass
class Shared:
    """A new database of the test engine's kind, and the settings a server needs to use it."""

    engine: Engine
    env: dict[str, str]
    folder: Path


@pytest.fixture(scope="module")
def shared(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    crypto.get_key_ring()  # the key file exists before any server reads it
    folder = tmp_path_factory.mktemp("two-servers")
    name = f"two_servers_{uuid.uuid4().hex[:8]}"
    if engine.dialect.name == "postgresql":
        server = conftest._postgres
        assert server is not None
        url = server.create_database(name)
    else:
        url = f"sqlite:///{folder / name}.sqlite3"
        db.upgrade_database(db.make_engine(url))  # one machine's file: migrated before the servers start
    new = db.make_engine(url)
    try:
        yield Shared(new, _environment(url, folder), folder)
    finally:
        new.dispose()
        if engine.dialect.name == "postgresql" and conftest._postgres is not None:
            conftest._postgres.drop_database(name)


@pytest.fixture(scope="module")
def servers(shared: Shared) -> Iterator[tuple[Server, Server]]:
    """Two servers started together on the shared database: A with two workers, B with one."""
    a = _start(shared.env, shared.folder / "a.log", "--workers", "2")
    b = _start(shared.env, shared.folder / "b.log")
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(_wait_until_serving, (a, b)))
        yield a, b
    finally:
        for server in (a, b):
            server.stop()


def _csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def _login(http: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return http.post("/login", data={"email": email, "password": password, "next": "/"})


def test_two_servers_on_one_database_serve_one_user_as_one(shared: Shared, servers: tuple[Server, Server]) -> None:
    """A browser and an API client may reach either server: they see one application."""
    a, b = servers
    with Session(shared.engine, expire_on_commit=False) as setup:
        world = World(setup)
        north = world.agency("North")
        screener, targeted = world.user(north, "screener"), world.user(north, "supervisor")

    with a.client() as on_a, b.client() as on_b:
        # A session started on A is a session on B.
        assert _login(on_a, screener.email).status_code == 303
        signed_in = dict(on_a.cookies)
        on_b.cookies.update(signed_in)
        assert on_b.get("/youth").status_code == 200
        with b.client() as stranger:
            assert stranger.get("/youth").headers["location"].startswith("/login")

        # A form's CSRF token issued by A is checked, and accepted, by B.
        token = _csrf(on_a.get("/youth"))
        assert on_b.post("/logout", data={"csrf_token": "not-" + token}).status_code == 403
        assert on_b.post("/logout", data={"csrf_token": token}).headers["location"] == "/login"
        with a.client() as same_browser:  # the session's cookie again, on A: B ended the session
            same_browser.cookies.update(signed_in)
            assert same_browser.get("/youth").headers["location"].startswith("/login")

        # Sign-in attempts on both servers count together (5 per account and address).
        for attempt in range(5):
            failed = _login(on_a if attempt % 2 else on_b, targeted.email, "wrong " + PASSWORD)
            assert failed.status_code == 401, failed.text
        assert _login(on_a, targeted.email, "wrong " + PASSWORD).status_code == 429
        assert _login(on_b, targeted.email).status_code == 429  # even the right password, until the window ends

        # A screening started through A's API is completed through B's and read on A.
        token_a = on_a.post("/api/v1/auth/token", data={"username": screener.email, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {token_a.json()['access_token']}"}
        youth = on_a.post(
            "/api/v1/youth",
            headers=auth,
            json={"given_name": "Avery", "family_name": "Twoserver", "birth_date": "2010-04-02", "case_number": "T-1"},
        )
        assert youth.status_code == 201, youth.text
        started = on_a.post(
            "/api/v1/screenings",
            headers=auth,
            json={"youth_id": youth.json()["id"], "instrument_id": PRACTITIONER, "mode": "practitioner"},
        )
        assert started.status_code == 201, started.text
        screening = started.json()
        saved = on_b.put(
            f"/api/v1/screenings/{screening['id']}/answers",
            headers=auth,
            json={"version": screening["version"], "answers": {"rate_coercion_debt": "clear_concern"}},
        )
        assert saved.status_code == 200, saved.text
        stale = on_a.put(  # B's save moved the version on; A sees it
            f"/api/v1/screenings/{screening['id']}/answers",
            headers=auth,
            json={"version": screening["version"], "answers": {"rate_coercion_debt": "no_concern"}},
        )
        assert stale.status_code == 409
        done = on_b.post(
            f"/api/v1/screenings/{screening['id']}/complete", headers=auth, json={"version": saved.json()["version"]}
        )
        assert done.status_code == 200, done.text
        result = on_a.get(f"/api/v1/screenings/{screening['id']}/result", headers=auth)
        assert result.status_code == 200 and result.json()["overall"] == "clear_concern"

    with Session(shared.engine) as check:
        found = audit.check(check)
    assert found.breaks == [] and found.events >= 8  # sign-ins, refusals, the youth, the screening's steps


def test_serve_with_two_workers_serves_from_both_and_stops_cleanly(
    shared: Shared, servers: tuple[Server, Server]
) -> None:
    a, b = servers
    assert f"TellOnce is running at {a.url}/ with 2 workers" in a.output()
    assert f"TellOnce is running at {b.url}/  (press Ctrl+C to stop)" in b.output()
    # On SQLite the operator is told that more workers only queue for its one writer; on PostgreSQL nothing.
    assert ("SQLite lets one process write at a time" in a.output()) == (shared.engine.dialect.name == "sqlite")
    workers = _workers(a.process.pid)
    assert len(workers) == 2, a.output()
    served_by: set[int] = set()
    with ThreadPoolExecutor(8) as pool:
        for _round in range(20):  # the kernel hands each new connection to whichever worker accepts it
            served_by |= set(pool.map(lambda _: _serving_process(a, workers), range(8)))
            if served_by == workers:
                break
    assert served_by == workers
    if shared.engine.dialect.name == "postgresql":  # each process's connections carry its id
        assert set(_connected_pids(shared.engine)) - {os.getpid(), b.process.pid} <= workers

    for server in servers:
        assert server.stop() == 0, server.output()  # Ctrl+C: a clean stop
    assert not any(_alive(pid) for pid in workers), "the workers stop with the server"


def _serving_process(server: Server, workers: set[int]) -> int:
    """Which worker process holds the server end of a new connection that was just answered."""
    port = int(server.url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/login")
        assert connection.getresponse().read() and connection.sock is not None
        mine = connection.sock.getsockname()[1]
        inode = _socket_inode(local_port=port, remote_port=mine)
        owners = [pid for pid in workers if f"socket:[{inode}]" in _open_files(pid)]
        assert len(owners) == 1, (inode, owners)
        return owners[0]
    finally:
        connection.close()


def _socket_inode(local_port: int, remote_port: int) -> str:
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == remote_port:
            return inode
    raise AssertionError(f"no server socket for 127.0.0.1:{remote_port} -> {local_port}")


def _open_files(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            found.add(os.readlink(fd))
    return found


def _connected_pids(engine: Engine) -> list[int]:
    """The app processes holding connections, by the application name each gives its connections."""
    with engine.connect() as connection:
        names = connection.execute(text("SELECT application_name FROM pg_stat_activity")).scalars()
        return [int(n.rsplit(" ", 1)[1]) for n in names if n and n.startswith("tellonce pid ")]


def _workers(pid: int) -> set[int]:
    """uvicorn's worker processes: the server's children started by multiprocessing's spawn."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return {c for c in found if b"spawn_main" in _command_line(c)}


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
