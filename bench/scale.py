"""Benchmark: TellOnce's pages, reports and export at 10,000 and at 1,000,000 screenings on PostgreSQL.

    python bench/scale.py [--sizes 10000,1000000] [--people 100] [--requests 20] [--export-months 12]
                          [--explain FILE] [--keep]
    python bench/scale.py --attach CONNINFO DATA_DIR [--requests 20] [--export-months 12] [--explain FILE]

Starts a throwaway PostgreSQL server (tests/support/postgres.py), migrates it with the app's migrations
and seeds a template through the app's own services: the demo's four agencies and users, and a cohort of
`--people` synthetic people with completed screenings at each agency (bench/scale_load.py). The template
is then copied in bulk (COPY, every value re-encrypted for its new row, dates moved back up to three
years) until the database holds the first size, measured, grown to the next size, measured again: every
size shares everything else.

Measured at each size, in this process through FastAPI's TestClient (signed in once):
- pages: p50 of `--requests` sequential requests after two warm-ups, as a Cedar Hill screener: the
  dashboard `/`, the youth list `/youth`, one youth's record and one result page (the same template
  youth at every size), and the API cycle (start, save answers, complete) on a fresh youth;
- reports: best of two (after one warm-up), the aggregate report `/reports` and the performance report
  `/reports/performance` at deployment scope (a system admin) and agency scope (Cedar Hill's supervisor);
- export: Cedar Hill's CSV export of every category over the last `--export-months` months, and the
  csv-module baseline over the same rows, each in a process of its own (bench/scale_export.py): after one
  untimed export (so both find the same pages cached), each twice in turn; the best wall time and the
  highest peak memory it added.
The table gives each figure at both sizes, their ratio and the goal; the last line is the worst page
ratio, large size over small.

`--attach` measures a server left by `--keep` (its conninfo and the app's data directory, as printed at the end)
at the size it holds, without loading anything: the figures at that one size, the export's ratio to its baseline
last. It upgrades the database first, so a new migration is measured too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))
sys.path.append(str(_HERE))

from fastapi.testclient import TestClient  # noqa: E402
from scale_explain import slowest_plans  # noqa: E402
from scale_load import copy_template, read_template, seed_template  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from app import crypto, db  # noqa: E402
from app.demo import CHECK_IN, DEMO_PASSWORD, SELF_REPORT  # noqa: E402
from app.evaluation import rollup  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import get_settings  # noqa: E402
from instruments.loader import load  # noqa: E402
from tests.support.postgres import TemporaryPostgres  # noqa: E402

SCREENER, SUPERVISOR = "screener@cedarhill.example.org", "supervisor@cedarhill.example.org"
ADMIN = "system.admin@riverbend.example.org"
PAGE_GOAL, REPORT_GOAL, EXPORT_GOAL = 1.5, 1.0, 1.5
SERVER_SETTINGS = {  # for loading fast: a throwaway server, nothing here survives a crash anyway
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "shared_buffers": "512MB",
}


def start_server() -> TemporaryPostgres:
    """A throwaway PostgreSQL server with settings for bulk loading (restarted once for shared_buffers)."""
    server = TemporaryPostgres(timeout=120).start()
    import psycopg

    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        for name, value in SERVER_SETTINGS.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    pg_ctl = Path(str(server.bin_dir)) / "pg_ctl"
    server._run(pg_ctl, "restart", "-D", server.data_dir, "-m", "fast", "-w", "-l", server.log_file)
    return server


def configure(url: str, data_dir: Path) -> None:
    """The app's settings for this run (cheap password hashing: the benchmark signs in, it does not measure it)."""
    os.environ.update(
        {
            "TELLONCE_DATABASE_URL": url,
            "TELLONCE_DATA_DIR": str(data_dir),
            "TELLONCE_ENVIRONMENT": "development",
            "TELLONCE_DEMO_COHORT_PEOPLE": "0",
            "TELLONCE_PASSWORD_HASH_TIME_COST": "1",
            "TELLONCE_PASSWORD_HASH_MEMORY_KIB": "1024",
        }
    )
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    crypto.get_key_ring.cache_clear()


def derive_rollup() -> None:
    """The performance report's roll-up for the rows COPY loaded, as `tellonce serve` derives it at start."""
    began = time.perf_counter()
    with Session(db.get_engine()) as s:
        people = rollup.backfill(s)
        s.commit()
    print(f"derived the report's roll-up of {people:,} people in {time.perf_counter() - began:.0f} s", flush=True)
    with db.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE evaluation_fact, evaluation_pair"))


def count_screenings() -> int:
    with Session(db.get_engine()) as s:
        return int(s.execute(text("SELECT count(*) FROM screening")).scalar_one())


def fixed_subjects() -> tuple[str, str]:
    """A Cedar Hill template youth with several completed screenings, and its latest completed screening."""
    query = text(
        'SELECT s.youth_id, max(s.id) FROM screening s JOIN "user" u ON u.id = s.started_by '
        "WHERE u.email = :email AND s.status = 'completed' "
        "GROUP BY s.youth_id ORDER BY count(*) DESC, s.youth_id LIMIT 1"
    )
    with Session(db.get_engine()) as s:
        youth_id, screening_id = s.execute(query, {"email": SCREENER}).one()
    return str(youth_id), str(screening_id)


def expect(condition: bool, message: str) -> None:
    """Stop the benchmark when the app answers otherwise than it should (a figure of a failing page means nothing)."""
    if not condition:
        raise SystemExit(message)


def signed_in(email: str) -> TestClient:
    client = TestClient(create_app(upgrade_database=False), base_url="http://testserver")
    client.__enter__()
    response = client.post(
        "/login", data={"email": email, "password": DEMO_PASSWORD, "next": "/"}, follow_redirects=False
    )
    expect(response.status_code == 303, f"sign-in as {email}: {response.status_code}")
    return client


def timed(call: Callable[[], Any], requests: int, warm: int = 2) -> list[float]:
    for _ in range(warm):
        call()
    times = []
    for _ in range(requests):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return times


def get_ok(client: TestClient, path: str) -> Callable[[], Any]:
    def call() -> None:
        response = client.get(path)
        expect(response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}")

    return call


def api_cycle(client: TestClient, size: int) -> Callable[[], Any]:
    """Start, save answers, complete: on a youth of its own, so the record page's youth stays the same."""
    token = client.post("/api/v1/auth/token", data={"username": SCREENER, "password": DEMO_PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    youth = {"given_name": "Bench", "family_name": f"Cycle{size}", "birth_date": "2010-01-01"}
    created = client.post("/api/v1/youth", headers=headers, json=youth | {"case_number": f"BENCH-{size}"})
    expect(created.status_code == 201, created.text)
    youth_id = created.json()["id"]

    def call() -> None:
        body = {"youth_id": youth_id, "instrument_id": SELF_REPORT, "mode": "interview"}
        started = client.post("/api/v1/screenings", headers=headers, json=body).json()
        saved = client.put(
            f"/api/v1/screenings/{started['id']}/answers",
            headers=headers,
            json={"version": started["version"], "answers": CHECK_IN},
        ).json()
        done = client.post(
            f"/api/v1/screenings/{started['id']}/complete", headers=headers, json={"version": saved["version"]}
        )
        expect(done.status_code == 200, done.text)

    return call


def export(which: str, months: int) -> dict[str, Any]:
    today = date.today()
    since = today - timedelta(days=round(months * 30.44))
    argv = [sys.executable, str(_HERE / "scale_export.py"), which, SUPERVISOR, since.isoformat(), today.isoformat()]
    done = subprocess.run(  # noqa: S603 (our own script, with this interpreter)
        argv, capture_output=True, text=True, check=False, env=os.environ | {"PYTHONPATH": str(_HERE.parent)}
    )
    if done.returncode != 0:
        raise SystemExit(f"export ({which}) failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(size: int, args: argparse.Namespace, youth_id: str, screening_id: str) -> dict[str, float]:
    """Every figure at the database's current size (seconds, or MiB for memory)."""
    found: dict[str, float] = {}
    screener = signed_in(SCREENER)
    pages = {
        "page /": "/",
        "page /youth": "/youth",
        "page /youth/{id}": f"/youth/{youth_id}",
        "page result": f"/screenings/{screening_id}/result",
    }
    for name, path in pages.items():
        found[name] = statistics.median(timed(get_ok(screener, path), args.requests))
    found["page API cycle"] = statistics.median(timed(api_cycle(screener, size), args.requests))
    for who, scope in ((ADMIN, "deployment"), (SUPERVISOR, "agency")):
        client = signed_in(who)
        for name, path in (("aggregate", "/reports"), ("performance", "/reports/performance")):
            found[f"report {name} {scope}"] = min(timed(get_ok(client, f"{path}?scope={scope}"), 2, warm=1))
    # At 1,000,000 screenings the database is larger than memory: whichever export ran first paid the disk reads
    # and the other found the pages cached. So one untimed export warms the cache, then both run twice, in turn.
    export("baseline", args.export_months)
    runs: dict[str, list[dict[str, Any]]] = {"tellonce": [], "baseline": []}
    for _round in range(2):
        for which, results in runs.items():
            results.append(export(which, args.export_months))
    for which, results in runs.items():
        found[f"export {which} s"] = min(r["seconds"] for r in results)
        found[f"export {which} MiB"] = max(r["peak_kib"] for r in results) / 1024
        found[f"export {which} rows"] = results[0]["rows"]
    return found


def explain_all(youth_id: str, screening_id: str, months: int) -> str:
    """The plans of the slowest SELECTs of every measured page, report and the export's first batches."""
    engine, plans = db.get_engine(), []
    screener = signed_in(SCREENER)
    for path in ("/", "/youth", f"/youth/{youth_id}", f"/screenings/{screening_id}/result"):
        plans.append(slowest_plans(engine, f"page {path}", get_ok(screener, path)))
    for who, scope in ((ADMIN, "deployment"), (SUPERVISOR, "agency")):
        client = signed_in(who)
        for path in ("/reports", "/reports/performance"):
            plans.append(slowest_plans(engine, f"{path}?scope={scope}", get_ok(client, f"{path}?scope={scope}")))

    def first_batches() -> None:
        from scale_export import CATEGORIES

        from app.exports import tabular
        from app.models import User

        today = date.today()
        with Session(engine) as s:
            exporter = s.exec(select(User).where(User.email == SUPERVISOR)).one()
            terms = (exporter.agency_id, today - timedelta(days=round(months * 30.44)), today, CATEGORIES)
            registry = load().or_raise()
            planned = tabular.prepare(s, registry, exporter, *terms, "care_coordination")
            lines = tabular.stream(s, crypto.get_key_ring(), registry, planned, "csv")
            for _line, _ in zip(lines, range(1501), strict=False):
                pass

    plans.append(slowest_plans(engine, "export (first three batches)", first_batches, top=3))
    return "\n".join(plans)


def goal_of(name: str) -> str:
    if name.startswith("page"):
        return f"ratio <= {PAGE_GOAL}"
    if name.startswith("report") and "deployment" in name:
        return f"< {REPORT_GOAL:g} s"
    if name == "export tellonce s":
        return f"<= {EXPORT_GOAL}x baseline"
    if name == "export tellonce MiB":
        return "flat"
    return ""


def print_table(sizes: list[int], counts: list[int], figures: list[dict[str, float]]) -> tuple[float, str]:
    small, large = figures[0], figures[-1]
    head = f"{'what':32} {counts[0]:>12,} {counts[-1]:>12,} {'ratio':>7}  goal"
    print(head)
    print("-" * len(head))
    for name in small:
        unit = "" if name.endswith("rows") or name.endswith("MiB") else " ms"
        scale = 1000 if unit else 1
        ratio = large[name] / small[name] if small[name] else float("nan")
        at_small, at_large = f"{small[name] * scale:>9,.1f}{unit:3}", f"{large[name] * scale:>9,.1f}{unit:3}"
        print(f"{name:32} {at_small} {at_large} {ratio:>7.2f}  {goal_of(name)}")
    for figures_at, count in ((small, counts[0]), (large, counts[-1])):
        export_ratio = figures_at["export tellonce s"] / figures_at["export baseline s"]
        print(f"export tellonce/baseline at {count:,}: {export_ratio:.2f} (goal <= {EXPORT_GOAL})")
    ratios = {name: large[name] / small[name] for name in small if name.startswith("page")}
    worst = max(ratios, key=lambda n: ratios[n])
    return ratios[worst], worst


def attach(args: argparse.Namespace) -> None:
    """Measure a server kept by an earlier run at the size it holds (see the module docstring)."""
    import psycopg

    conninfo, data_dir = args.attach
    configure(conninfo.replace("postgresql://", "postgresql+psycopg://", 1), Path(data_dir))
    db.upgrade_database(db.get_engine())
    derive_rollup()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    youth_id, screening_id = fixed_subjects()
    count = count_screenings()
    print(f"measuring the kept server at {count:,} screenings...", flush=True)
    found = measure(count, args, youth_id, screening_id)
    Path(args.explain).write_text(explain_all(youth_id, screening_id, args.export_months), encoding="utf-8")
    print(f"EXPLAIN (ANALYZE, BUFFERS) of the slowest statements at {count:,}: {args.explain}")
    for name, value in found.items():
        unit, scale = ("", 1) if name.endswith("rows") or name.endswith("MiB") else (" ms", 1000)
        print(f"{name:32} {value * scale:>12,.1f}{unit:3}  {goal_of(name)}")
    ratio = found["export tellonce s"] / found["export baseline s"]
    print(f"export tellonce/baseline at {count:,}: {ratio:.2f} (goal <= {EXPORT_GOAL})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000", help="screening counts, comma-separated, smallest first")
    parser.add_argument("--people", type=int, default=100, help="template people per agency (4 agencies)")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--export-months", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2, help="loader processes")
    parser.add_argument(
        "--explain",
        default=str(Path(tempfile.gettempdir()) / "tellonce-scale-explain.txt"),
        help="where to write the plans at the largest size",
    )
    parser.add_argument("--keep", action="store_true", help="leave the server running at the end, for inspection")
    parser.add_argument(
        "--attach", nargs=2, metavar=("CONNINFO", "DATA_DIR"), help="measure a kept server as it is (no loading)"
    )
    args = parser.parse_args()
    if args.attach:
        attach(args)
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    server = start_server()
    data_dir = Path(tempfile.mkdtemp(prefix="tellonce-scale-"))
    configure(server.url, data_dir)
    began = time.perf_counter()
    db.upgrade_database(db.get_engine())
    with Session(db.get_engine()) as s:
        seed_template(s, crypto.get_key_ring(), load().or_raise(), args.people)
    template = count_screenings()
    print(f"template: {template:,} screenings through the services in {time.perf_counter() - began:.0f} s")
    youth_id, screening_id = fixed_subjects()
    rows = read_template(server.conninfo)
    done, counts, figures = 0, [], []
    for size in sizes:
        copies = max(0, round(size / template) - 1)
        if copies > done:
            added, seconds = copy_template(
                server.conninfo, crypto.get_key_ring(), rows, range(done + 1, copies + 1), args.workers
            )
            done = copies
            print(f"loaded {added.get('screening', 0):,} screenings ({sum(added.values()):,} rows) in {seconds:.0f} s")
            derive_rollup()
        counts.append(count_screenings())
        print(f"measuring at {counts[-1]:,} screenings...", flush=True)
        figures.append(measure(size, args, youth_id, screening_id))
    Path(args.explain).write_text(explain_all(youth_id, screening_id, args.export_months), encoding="utf-8")
    print(f"EXPLAIN (ANALYZE, BUFFERS) of the slowest statements at {counts[-1]:,}: {args.explain}")
    worst, name = print_table(sizes, counts, figures)
    if args.keep:
        print(
            f"kept: psql '{server.conninfo}'  (data dir {server.base_dir}; "
            f"stop with pg_ctl -D {server.data_dir} stop)\n"
            f"measure it again: python bench/scale.py --attach '{server.conninfo}' {data_dir}"
        )
        import atexit

        atexit.unregister(server.stop)
    else:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"worst page ratio {counts[-1]:,}/{counts[0]:,} ({name}): {worst:.2f} (goal <= {PAGE_GOAL})")


if __name__ == "__main__":
    main()
