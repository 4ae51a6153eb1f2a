"""Benchmark: TellOnce's API and pages against a bare FastAPI app on the same uvicorn, on SQLite and PostgreSQL.

    python bench/web.py [--engine sqlite|postgresql|both] [--clients 1,8,32] [--seconds S] [--rounds R]
                        [--paths api,dashboard,record,result,me] [--cohort N] [--workers N]

Both apps run as `python -m uvicorn` subprocesses with the same options (the same number of worker processes,
--log-level warning, the same interpreter and uvicorn). Each engine is served as docs/deployment.md runs it: one
worker on SQLite (its one writer would queue several), one per core on PostgreSQL; the baseline gets the same
number beside each (--workers N: N for both engines). TellOnce runs through its app factory
(`app.main:create_app`, what `tellonce serve` runs; `app.startup:worker_app` in each of several workers) in
development mode, on a fresh data directory per engine (a SQLite file, or a fresh database in a throwaway
PostgreSQL server from tests/support/postgres.py); the baseline is bench/web_bare.py, the same routes with
Pydantic models and nothing behind them.

TellOnce's data: the demo (`tellonce demo`: four agencies, a user of every role, Avery's tell-once story,
`--cohort` synthetic people at two other agencies), then, through the API as Riverbend's screener, 50 youth
each with a completed self-report and a practitioner screening in progress, so the dashboard shows its full
100 rows from the first request. Every client signs in first, once, with its own session (a bearer token from
/api/v1/auth/token, a cookie from the /login form); the argon2 cost is lowered for the demo accounts
(TELLONCE_PASSWORD_HASH_*) since sign-in is not measured. On PostgreSQL the database is then analyzed, as
autovacuum does within a minute of a load: what is measured is a server in its steady state.

What is measured, each as a unit of work repeated by every client for the round:
- api: one cycle of start a self-report screening of a youth (the 50 in turn) + save all 34 answers in one
  request + complete. Its row counts cycles per second and the cycle's latency; the rows under it give each
  request's p50 and p99. The baseline answers the same three requests with the same bodies.
- dashboard `/`, record `/youth/{id}` (Avery's record at Riverbend, with the possible match at Harbor),
  result `/screenings/{id}/result` (a completed self-report): one GET with the session cookie. The baseline
  answers a page of the same number of bytes.
- me `/api/v1/me` with the bearer token, the reference row (not in the goal): the least a signed-in request
  does (find the session, read the user, answer JSON), against the baseline answering a user of the same shape.
  Every request of the goal does this and more, so its ratio is the floor under theirs (a line of its own
  before the goal lines).

For each path and number of clients, after a short warm-up of both, TellOnce and the baseline take turns
(T B, then B T, ...) for --rounds rounds of --seconds each, so noise on this shared machine hits both; req/s is
the median over the rounds, p50 and p99 are over every request of every round. The load generator is threads
of http.client keep-alive connections in this process, on the same 2 cores: it costs the baseline most (at
32 clients it takes a core of its own, so bare FastAPI's figures are a floor and the ratio flatters TellOnce
a little); TellOnce is slower, so the load generator takes a smaller share of the CPU from it.

The default run (both engines, 1, 8 and 32 clients, 3 rounds of 2 s) took 7 min 40 s on the shared 2-core
machine, of which about a minute is starting PostgreSQL, seeding and signing in; a smoke run
(`--engine sqlite --clients 1 --seconds 1 --rounds 1`) 30 to 55 s. Progress goes to stderr, the table to stdout.

The last line is the worst ratio of TellOnce's req/s to the baseline's at 1 and 8 clients (the issue's goal:
at least 1/5; and p99 under 250 ms at 8 clients, on the line before it).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# This file is bench/web.py: drop its folder from the path so `import app` finds the package.
_HERE = Path(__file__).resolve().parent
ROOT = _HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(ROOT))
sys.path.append(str(_HERE))  # after the root, for the helper next to this file

from _load import Failed, Http, Operation, Round, Server, Unit, free_port, percentile, run_round  # noqa: E402

from instruments.loader import BUNDLED_DIR, load  # noqa: E402
from scoring import visible_only  # noqa: E402

SELF_REPORT = "tellonce-youth-self-report"
SCREENER = "screener@riverbend.example.org"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (the demo's printed password, app/demo.py)
AVERY_CASE = "RB-1001"
BENCH_YOUTH = 50
PAGES = ("dashboard", "record", "result")
PATHS = ("api", *PAGES, "me")
GOAL_PATHS = ("api", *PAGES)  # "me" is the reference row: what the least a signed-in request does costs
REQUEST_KINDS = ("start", "save", "complete")
GOAL_RATIO, GOAL_P99_MS, GOAL_CLIENTS = 5, 250, (1, 8)


def self_report_answers() -> dict[str, str]:
    """An answer to every item of the newest bundled self-report, all shown: 'yes' to about a third (seeded),
    'no' to the rest where that keeps every item shown."""
    registry = load([BUNDLED_DIR]).or_raise()
    compiled = next(c for c in registry.latest() if c.id == SELF_REPORT)
    answers = {i: "yes" for i, item in compiled.items.items() if "yes" in (compiled.codes.get(i) or ())}
    if visible_only(compiled, answers) != answers or len(answers) != len(compiled.items):
        raise SystemExit(f"{SELF_REPORT} {compiled.version} has items this bench cannot answer 'yes' to")
    rng = random.Random(14)
    for item_id in compiled.items:
        if rng.random() < 0.67:
            tried = answers | {item_id: "no"}
            if visible_only(compiled, tried) == tried:
                answers = tried
    return answers


# --- the servers -------------------------------------------------------------------------------------------


WORKERS: int | None = None  # uvicorn worker processes of each app (--workers); set by main()


def workers_for(engine: str) -> int:
    """Worker processes of both apps on `engine`: --workers, else as docs/deployment.md runs each engine (one on
    SQLite, whose one writer the workers would queue for; one per core on PostgreSQL)."""
    return WORKERS or (1 if engine == "sqlite" else os.cpu_count() or 1)


def uvicorn_argv(target: str, port: int, workers: int, *extra: str) -> list[str]:
    """The same uvicorn command line for both apps, with the same number of worker processes."""
    where = ["--host", "127.0.0.1", "--port", str(port)]
    several = ["--workers", str(workers)] if workers > 1 else []
    return [sys.executable, "-m", "uvicorn", target, *extra, *where, *several, "--log-level", "warning"]


def tellonce_env(data_dir: Path, database_url: str | None, port: int, cohort: int) -> dict[str, str]:
    """The environment of TellOnce's processes: this run's settings only (no TELLONCE_* from outside)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELLONCE_") or k == "TELLONCE_PG_BIN"}
    env |= {
        "PYTHONPATH": str(ROOT),
        "TELLONCE_ENVIRONMENT": "development",
        "TELLONCE_DATA_DIR": str(data_dir),
        "TELLONCE_BASE_URL": f"http://127.0.0.1:{port}",
        "TELLONCE_DEMO_COHORT_PEOPLE": str(cohort),
        "TELLONCE_PASSWORD_HASH_TIME_COST": "1",
        "TELLONCE_PASSWORD_HASH_MEMORY_KIB": "1024",
    }
    if database_url:
        env["TELLONCE_DATABASE_URL"] = database_url
    return env


@contextlib.contextmanager
def tellonce_server(engine: str, cohort: int, stack: contextlib.ExitStack) -> Iterator[tuple[Server, str | None]]:
    """A fresh TellOnce with the demo data, on `engine`, served by uvicorn until the block ends; with its PostgreSQL
    database's URL (None on SQLite)."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"tellonce-bench-web-{engine}-"))
    stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
    database_url = None
    if engine == "postgresql":
        from tests.support.postgres import TemporaryPostgres

        database_url = stack.enter_context(TemporaryPostgres(dbname="tellonce_bench")).url
    port = free_port()
    env = tellonce_env(data_dir, database_url, port, cohort)
    started = time.perf_counter()
    seeded = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo"], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if seeded.returncode:
        raise RuntimeError(f"tellonce demo failed:\n{seeded.stdout}{seeded.stderr}")
    note(f"{engine}: demo data (cohort {cohort}) in {time.perf_counter() - started:.1f} s")
    # Several workers: as `tellonce serve --workers N` does, the start-up work ran once (`tellonce demo` migrated
    # the database) and each worker's app only checks (app.startup.worker_app).
    workers = workers_for(engine)
    target = "app.startup:worker_app" if workers > 1 else "app.main:create_app"
    argv = uvicorn_argv(target, port, workers, "--factory")
    server = Server(f"TellOnce ({engine})", argv, env, ROOT, data_dir / "server.log", port)
    stack.callback(server.stop)
    server.wait_ready("/login")
    yield server, database_url


def bare_server(stack: contextlib.ExitStack, workers: int) -> Server:
    """The baseline, served by the same uvicorn with the same number of workers."""
    log_dir = Path(tempfile.mkdtemp(prefix="tellonce-bench-web-bare-"))
    stack.callback(shutil.rmtree, log_dir, ignore_errors=True)
    port = free_port()
    argv = uvicorn_argv("web_bare:app", port, workers, "--app-dir", str(_HERE))
    server = Server("bare FastAPI", argv, dict(os.environ), ROOT, log_dir / "server.log", port)
    stack.callback(server.stop)
    server.wait_ready("/")
    return server


# --- set-up through the public interface ----------------------------------------------------------------------


def form(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """An urlencoded form body and its header."""
    return urllib.parse.urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"}


def sign_in_api(port: int) -> dict[str, str]:
    """A bearer token of its own for one client."""
    body, headers = form({"username": SCREENER, "password": DEMO_PASSWORD})
    status, _msg, data = Http(port).request("POST", "/api/v1/auth/token", body, headers)
    if status != 200:
        raise Failed(f"API sign-in answered {status}: {data[:200]!r}")
    return {"Authorization": f"Bearer {json.loads(data)['access_token']}"}


def sign_in_web(port: int) -> dict[str, str]:
    """A browser session of its own for one client (the sign-in form; its cookies)."""
    body, headers = form({"email": SCREENER, "password": DEMO_PASSWORD, "next": "/"})
    status, msg, data = Http(port).request("POST", "/login", body, headers)
    cookies = [c.split(";", 1)[0] for c in msg.get_all("Set-Cookie") or []]
    if status != 303 or not cookies:
        raise Failed(f"sign-in form answered {status}: {data[:200]!r}")
    return {"Cookie": "; ".join(cookies)}


@dataclass
class Scene:
    """What the measured paths act on, and who acts."""

    api_auth: list[dict[str, str]]
    web_auth: list[dict[str, str]]
    pool: list[str]  # youth the API cycle screens, in turn
    record: str  # the youth whose record page is measured
    result: str  # the completed screening whose result page is measured
    sizes: dict[str, int]  # bytes of each measured page, for the baseline


def complete_cycle(conn: Http, youth_id: str, answers: dict[str, str]) -> tuple[str, list[float]]:
    """Start, save and complete one self-report screening of a youth; its id and each request's latency."""
    times = [time.perf_counter()]
    started = conn.json(
        "POST", "/api/v1/screenings", {"youth_id": youth_id, "instrument_id": SELF_REPORT, "mode": "interview"}, 201
    )
    times.append(time.perf_counter())
    saved = conn.json(
        "PUT", f"/api/v1/screenings/{started['id']}/answers", {"version": started["version"], "answers": answers}, 200
    )
    times.append(time.perf_counter())
    conn.json("POST", f"/api/v1/screenings/{started['id']}/complete", {"version": saved["version"]}, 200)
    times.append(time.perf_counter())
    return started["id"], [b - a for a, b in itertools.pairwise(times)]


def prepare(port: int, clients: int, answers: dict[str, str]) -> Scene:
    """Sign every client in, add the bench's youth and screenings, and find the pages' subjects."""
    api_auth = [sign_in_api(port) for _ in range(clients)]
    web_auth = [sign_in_web(port) for _ in range(clients)]

    def add_youth(number: int) -> tuple[str, str]:
        conn = Http(port, api_auth[0])
        person = {"given_name": f"Bench{number}", "family_name": "Youth", "birth_date": "2010-05-06"}
        youth = conn.json("POST", "/api/v1/youth", person | {"case_number": f"BENCH-{number:04d}"}, 201)
        screening, _times = complete_cycle(conn, youth["id"], answers)
        conn.json(
            "POST", "/api/v1/screenings", {"youth_id": youth["id"], "instrument_id": SELF_REPORT, "mode": "self"}, 201
        )
        conn.close()
        return youth["id"], screening

    with ThreadPoolExecutor(4) as pool:
        added = list(pool.map(add_youth, range(BENCH_YOUTH)))
    conn = Http(port, api_auth[0])
    avery = conn.json("POST", "/api/v1/youth/search", {"case_number": AVERY_CASE}, 200)["id"]
    scene = Scene(api_auth, web_auth, [y for y, _s in added], avery, added[0][1], {})
    page = Http(port, web_auth[0])
    for name in PAGES:
        status, _msg, data = page.request("GET", page_path(scene, name))
        if status != 200:
            raise Failed(f"{name} page answered {status}: {data[:200]!r}")
        scene.sizes[name] = len(data)
    return scene


def page_path(scene: Scene, name: str) -> str:
    """The measured page's path at TellOnce."""
    return {"dashboard": "/", "record": f"/youth/{scene.record}", "result": f"/screenings/{scene.result}/result"}[name]


# --- the measured operations ----------------------------------------------------------------------------------


def api_operation(scene: Scene, clients: int, answers: dict[str, str]) -> Operation:
    """One API cycle per unit; client n takes youth n, n + clients, ... of the pool."""

    def cycle(conn: Http, number: int, iteration: int) -> Unit:
        youth = scene.pool[(iteration * clients + number) % len(scene.pool)]
        _id, times = complete_cycle(conn, youth, answers)
        return sum(times), list(zip(REQUEST_KINDS, times, strict=True))

    return cycle


def page_operation(path: str) -> Operation:
    """One GET of a page per unit."""

    def get(conn: Http, _number: int, _iteration: int) -> Unit:
        started = time.perf_counter()
        status, _msg, data = conn.request("GET", path)
        took = time.perf_counter() - started
        if status != 200:
            raise Failed(f"GET {path} answered {status}: {data[:120]!r}")
        return took, ()

    return get


# --- measuring and reporting ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One path at one number of clients on one engine, TellOnce beside the baseline."""

    engine: str
    path: str
    clients: int
    tellonce: list[Round]
    bare: list[Round]

    @staticmethod
    def rate(rounds: list[Round]) -> float:
        return statistics.median(r.rate for r in rounds)

    @staticmethod
    def pooled(rounds: list[Round], kind: str | None = None) -> list[float]:
        return [t for r in rounds for t in (r.units if kind is None else r.requests.get(kind, []))]

    @property
    def ratio(self) -> float:
        """Baseline req/s over TellOnce's (N in 1/N)."""
        mine = self.rate(self.tellonce)
        return self.rate(self.bare) / mine if mine else float("inf")

    def errors(self) -> int:
        return sum(len(r.errors) for r in self.tellonce + self.bare)


def measure(
    label: tuple[str, str, int],
    tellonce: tuple[int, Operation, Sequence[dict[str, str]]],
    bare: tuple[int, Operation, Sequence[dict[str, str]]],
    seconds: float,
    rounds: int,
) -> Row:
    """Warm both up, then alternate timed rounds."""
    engine, path, clients = label
    turns = {"tellonce": tellonce, "bare": bare}
    found: dict[str, list[Round]] = {"tellonce": [], "bare": []}
    for port, operation, headers in turns.values():
        run_round(port, clients, min(0.5, seconds / 2), operation, headers)
    for number in range(rounds):
        for name in ("tellonce", "bare") if number % 2 == 0 else ("bare", "tellonce"):
            port, operation, headers = turns[name]
            found[name].append(run_round(port, clients, seconds, operation, headers))
    return Row(engine, path, clients, found["tellonce"], found["bare"])


def ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:.1f}"  # NaN: nothing measured


def ratio_text(ratio: float) -> str:
    return f"1/{ratio:.0f}" if ratio >= 9.95 else f"1/{ratio:.1f}"


HEADER = (
    f"{'engine':10} {'workers':>7} {'path':14} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}   "
    f"{'bare req/s':>10} {'bare p50':>8} {'bare p99':>8}   {'ratio':>6}"
)


def print_row(row: Row) -> None:
    """The row, and for the API cycle a row per request under it."""
    t, b = row.pooled(row.tellonce), row.pooled(row.bare)
    name = {"api": "api cycle", "me": "me (floor)"}.get(row.path, row.path)
    print(
        f"{row.engine:10} {workers_for(row.engine):>7} {name:14} {row.clients:>7} {row.rate(row.tellonce):>8.1f} "
        f"{ms(percentile(t, 0.5)):>8} "
        f"{ms(percentile(t, 0.99)):>8} {row.errors():>6}   {row.rate(row.bare):>10.1f} {ms(percentile(b, 0.5)):>8} "
        f"{ms(percentile(b, 0.99)):>8}   {ratio_text(row.ratio):>6}",
        flush=True,
    )
    if row.path == "api":
        for kind in REQUEST_KINDS:
            t, b = row.pooled(row.tellonce, kind), row.pooled(row.bare, kind)
            print(
                f"{'':10} {'':>7} {'  ' + kind:14} {'':>7} {'':>8} {ms(percentile(t, 0.5)):>8} "
                f"{ms(percentile(t, 0.99)):>8} "
                f"{'':>6}   {'':>10} {ms(percentile(b, 0.5)):>8} {ms(percentile(b, 0.99)):>8}",
                flush=True,
            )
    for message in sorted({e[:160] for r in row.tellonce + row.bare for e in r.errors})[:3]:
        print(f"{'':10}   error: {message}", flush=True)


def worst_p99(rows: list[Row]) -> tuple[float, str] | None:
    """The highest per-request p99 at 8 clients, and where."""
    found = []
    for row in rows:
        if row.clients != 8:
            continue
        kinds: Sequence[str | None] = REQUEST_KINDS if row.path == "api" else (None,)
        for kind in kinds:
            where = f"{engine_text(row.engine)} {row.path}" + (f" {kind}" if kind else "")
            p99 = percentile(row.pooled(row.tellonce, kind), 0.99)
            if p99 == p99:  # not NaN: something was measured
                found.append((p99, where))
    return max(found) if found else None


def analyze(database_url: str) -> None:
    """Statistics for the loaded data, as autovacuum gathers them within a minute of a load: a server in its steady
    state is measured, not the planner's first minute of guesses (the record page's possible-match query read every
    match key, 2.4 ms, until statistics told PostgreSQL to use the index, 0.15 ms)."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def note(message: str) -> None:
    """Progress, on stderr (stdout is the table)."""
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> list[Row]:
    """Every engine in turn, beside a baseline served by as many workers as TellOnce on that engine."""
    answers = self_report_answers()
    rows: list[Row] = []
    print(HEADER, flush=True)
    for engine in args.engines:
        with contextlib.ExitStack() as stack:
            bare = bare_server(stack, workers_for(engine))
            with tellonce_server(engine, args.cohort, stack) as (server, database_url):
                note(f"{engine}: {workers_for(engine)} worker process(es) for each app")
                started = time.perf_counter()
                scene = prepare(server.port, max(args.clients), answers)
                if database_url is not None:
                    analyze(database_url)
                note(
                    f"{engine}: {len(scene.api_auth)} clients signed in and {BENCH_YOUTH} youth added "
                    f"in {time.perf_counter() - started:.1f} s; page bytes {scene.sizes}"
                )
                for path in args.paths:
                    for clients in args.clients:
                        if path == "api":
                            op = api_operation(scene, clients, answers)
                            mine, theirs = (server.port, op, scene.api_auth), (bare.port, op, scene.api_auth)
                        elif path == "me":
                            op = page_operation("/api/v1/me")
                            mine, theirs = (server.port, op, scene.api_auth), (bare.port, op, scene.api_auth)
                        else:
                            at = page_path(scene, path)
                            query = f"?bytes={scene.sizes[path]}"
                            mine = (server.port, page_operation(at), scene.web_auth)
                            theirs = (bare.port, page_operation(at + query), scene.web_auth)
                        row = measure((engine, path, clients), mine, theirs, args.seconds, args.rounds)
                        rows.append(row)
                        print_row(row)
    return rows


def summary(rows: list[Row]) -> None:
    """The goal lines; the last ends with the worst ratio. Before them, the reference row's worst ratio: the floor
    under every row of the goal, since each of those requests also signs in and reads the database."""
    floor = [r for r in rows if r.path == "me" and r.clients in GOAL_CLIENTS]
    if floor:
        low = max(floor, key=lambda r: r.ratio)
        print(
            f"floor, GET /api/v1/me (session, user, JSON) at {clients_text(low.clients)} on "
            f"{engine_text(low.engine)}: {ratio_text(low.ratio)} of bare FastAPI"
        )
    rows = [r for r in rows if r.path in GOAL_PATHS]
    p99 = worst_p99(rows)
    if p99 is not None:
        print(f"worst p99 at 8 clients: {p99[0] * 1000:.0f} ms ({p99[1]}; goal < {GOAL_P99_MS} ms)")
    in_goal = [r for r in rows if r.clients in GOAL_CLIENTS] or rows
    if not in_goal:
        return
    worst = max(in_goal, key=lambda r: r.ratio)
    scope = " and ".join(str(c) for c in sorted({r.clients for r in in_goal}))
    scope += " client" if scope == "1" else " clients"
    where = f"{engine_text(worst.engine)} {worst.path}, {clients_text(worst.clients)}"
    print(f"worst ratio tellonce/bare req/s at {scope} ({where}; goal >= 1/{GOAL_RATIO}): {ratio_text(worst.ratio)}")


def engine_text(engine: str) -> str:
    workers = workers_for(engine)
    return f"{engine} ({workers} worker{'s' if workers > 1 else ''})"


def clients_text(clients: int) -> str:
    return "1 client" if clients == 1 else f"{clients} clients"


def number_list(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of whole numbers >= 1")
    return values


def path_list(text: str) -> list[str]:
    values = [part.strip() for part in text.split(",") if part.strip()]
    if not values or set(values) - set(PATHS):
        raise argparse.ArgumentTypeError(f"a comma-separated list of {', '.join(PATHS)}")
    return values


def _stop_on_sigterm(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # so the servers and temp dirs are cleaned up as on Ctrl-C


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=number_list, default=[1, 8, 32], help="comma-separated, e.g. 1,8,32")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one timed round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each app per path and clients")
    parser.add_argument("--paths", type=path_list, default=list(PATHS), help="comma-separated: " + ",".join(PATHS))
    parser.add_argument("--cohort", type=int, default=50, help="synthetic people the demo adds at other agencies")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="uvicorn worker processes of both apps (default: as docs/deployment.md runs each engine, one on "
        "SQLite and one per core on PostgreSQL)",
    )
    args = parser.parse_args()
    global WORKERS
    WORKERS = args.workers
    args.engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.perf_counter()
    try:
        rows = run(args)
    except KeyboardInterrupt:
        note("interrupted: servers stopped, temporary files removed")
        raise SystemExit(130) from None
    note(f"measured in {time.perf_counter() - started:.0f} s (on a shared machine: compare the ratios, not req/s)")
    summary(rows)


if __name__ == "__main__":
    main()
