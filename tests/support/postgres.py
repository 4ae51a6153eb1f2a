"""Throwaway PostgreSQL server for tests, living in a temp dir on 127.0.0.1."""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import LiteralString, Self

import psycopg
from psycopg import sql

Arg = str | Path
_BINARIES = ("initdb", "pg_ctl", "postgres")


def _version_key(bin_dir: str) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<version>/bin directories."""
    return tuple(int(n) for n in re.findall(r"\d+", Path(bin_dir).parent.name))


def find_postgres_bin_dir() -> Path:
    """Dir with initdb/pg_ctl/postgres: $TELLONCE_PG_BIN, PATH, else newest /usr/lib."""
    candidates = [os.environ.get("TELLONCE_PG_BIN", "")]
    if on_path := shutil.which("initdb"):
        candidates.append(os.path.dirname(os.path.realpath(on_path)))
    lib_dirs = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(lib_dirs, key=_version_key, reverse=True)
    for cand in filter(None, candidates):
        if all(os.access(f"{cand}/{b}", os.X_OK) for b in _BINARIES):
            return Path(cand)
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in "
        "/usr/lib/postgresql/*/bin; run scripts/ensure-system-packages postgres"
    )


def _free_port() -> int:
    """Ask the kernel for a currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unprivileged_user() -> str:
    """Account to run the server as when we are root: postgres, else nobody."""
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        return "nobody"


def memory_dir() -> str | None:
    """/dev/shm when it is a writable, world-traversable memory file system, else None.

    Test databases live there (this server's cluster, the SQLite file of tests/app/conftest.py): they keep
    their durability settings (PostgreSQL's fsync, synchronous_commit and full_page_writes on, SQLite's
    synchronous=FULL; tests/app/test_security_data.py checks them), but a sync of a file in memory returns at
    once. On disk a PostgreSQL commit waited ~7 ms and each per-test TRUNCATE of every table ~0.6 s on a busy
    machine; in memory 0.1 ms and 32 ms.
    """
    shm = Path("/dev/shm")
    try:
        mode = shm.stat().st_mode
    except OSError:
        return None
    sticky_and_open = mode & 0o1777 == 0o1777
    return str(shm) if sticky_and_open and os.access(shm, os.W_OK | os.X_OK) else None


class TemporaryPostgres:
    """Private PostgreSQL server in a temp dir; a context manager, or start()/stop()."""

    def __init__(
        self,
        dbname: str = "tellonce",
        user: str = "tellonce",
        timeout: float = 30.0,
        in_memory: bool = False,
        autovacuum: bool = True,
    ) -> None:
        """Configure (but do not start) the server. `in_memory`: the cluster in /dev/shm when there is one (the
        test suite's small databases); otherwise on disk (benchmarks load tens of GB, more than the memory).
        `autovacuum=False`: statistics change only when a test runs ANALYZE. The suite's tests load rows in a
        transaction and query them before committing: an autovacuum ANALYZE in between (of an earlier test's
        writes) counts none of them, records a table of many pages and no rows, and the planner, taking every
        table for one row, ran a report's statements for minutes instead of seconds."""
        self.dbname, self.user, self.timeout, self.in_memory = dbname, user, timeout, in_memory
        self.autovacuum = autovacuum
        self.bin_dir: Path | None = None
        self.base_dir: Path | None = None
        self.port: int | None = None
        self.run_as: str | None = None

    @property
    def data_dir(self) -> Path:
        """Cluster data directory (inside the temp dir)."""
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        """Server log file (inside the temp dir)."""
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "server.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the main database."""
        return self.url_for(self.dbname)

    @property
    def conninfo(self) -> str:
        """Plain libpq URI of the main database, for psycopg.connect()."""
        return self.conninfo_for(self.dbname)

    def url_for(self, dbname: str) -> str:
        """SQLAlchemy URL of any database on this server."""
        assert self.port is not None, "server not started"
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def conninfo_for(self, dbname: str) -> str:
        """Plain libpq URI of any database on this server."""
        return self.url_for(dbname).replace("+psycopg", "", 1)

    def _run(self, *args: Arg, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a server tool (as run_as when set); raise with its output on failure."""
        argv = [str(a) for a in args]
        if self.run_as and shutil.which("runuser"):
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        elif self.run_as:
            argv = ["su", "-s", "/bin/sh", self.run_as, "-c", shlex.join(argv)]
        proc = subprocess.run(
            argv,
            cwd=self.base_dir,
            env={k: v for k, v in os.environ.items() if not k.startswith("PG")},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=self.timeout + 30,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(argv)} exited with {proc.returncode}:\n{proc.stdout}{self.log_tail()}")
        return proc

    def log_tail(self, lines: int = 30) -> str:
        """Last lines of the server log, for error messages."""
        try:
            tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except (OSError, AssertionError):
            return ""
        return "\n--- server log tail ---\n" + "\n".join(tail)

    def start(self) -> Self:
        """initdb, start on a free port, wait until ready, create the main database."""
        if self.port is not None:
            return self
        self.bin_dir = find_postgres_bin_dir()
        self.run_as = _unprivileged_user() if os.geteuid() == 0 else None
        memory = memory_dir() if self.in_memory else None
        parent = memory or ("/tmp" if self.run_as else None)  # both traversable by run_as
        self.base_dir = Path(tempfile.mkdtemp(prefix="tellonce-pg-", dir=parent))
        atexit.register(self.stop)
        try:
            if self.run_as:
                pw = pwd.getpwnam(self.run_as)
                os.chown(self.base_dir, pw.pw_uid, pw.pw_gid)
            flags = ["--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"]
            self._run(self.bin_dir / "initdb", "-D", self.data_dir, "-U", self.user, *flags)
            self._start_server()
            self._wait_ready()
            self.create_database(self.dbname)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_server(self) -> None:
        """pg_ctl start on a free port; retry if someone else grabbed the port."""
        assert self.bin_dir is not None and self.base_dir is not None
        for tries_left in (2, 1, 0):
            self.port = _free_port()
            sock_dir = shlex.quote(str(self.base_dir))
            opts = f"-c port={self.port} -c listen_addresses=127.0.0.1"
            opts += f" -c max_connections=100 -c unix_socket_directories={sock_dir}"
            opts += "" if self.autovacuum else " -c autovacuum=off"
            pg_ctl: list[Arg] = [self.bin_dir / "pg_ctl", "start", "-D", self.data_dir]
            wait = ["-w", "-t", str(int(self.timeout))]
            proc = self._run(*pg_ctl, *wait, "-l", self.log_file, "-o", opts, check=False)
            if proc.returncode == 0:
                return
            if tries_left and "could not bind" in self.log_tail():
                continue
            raise RuntimeError(f"PostgreSQL failed to start:\n{proc.stdout}{self.log_tail()}")

    def _wait_ready(self) -> None:
        """Poll until the server accepts TCP connections, or raise with the log tail."""
        deadline, error = time.monotonic() + self.timeout, None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.conninfo_for("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                error = exc
                time.sleep(0.05)
        raise RuntimeError(f"PostgreSQL not ready after {self.timeout}s: {error}{self.log_tail()}")

    def _admin(self, statement: LiteralString, dbname: str) -> None:
        """Run a statement about one database from the maintenance db (autocommit)."""
        query = sql.SQL(statement).format(sql.Identifier(dbname))
        with psycopg.connect(self.conninfo_for("postgres"), autocommit=True) as conn:
            conn.execute(query)

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        self._admin("CREATE DATABASE {}", name)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting any sessions still using it."""
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)

    def stop(self) -> None:
        """Stop the server immediately and delete its temp dir (idempotent)."""
        atexit.unregister(self.stop)
        if self.base_dir is None:
            return
        try:
            if self.bin_dir and (self.data_dir / "postmaster.pid").exists():
                stop: list[Arg] = [self.bin_dir / "pg_ctl", "stop", "-m", "immediate"]
                self._run(*stop, "-D", self.data_dir, check=False)
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = self.port = None

    def __enter__(self) -> Self:
        """Start the server."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server."""
        self.stop()
