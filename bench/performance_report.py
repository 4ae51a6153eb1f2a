"""Benchmark: the instrument performance report counted in the database, beside the same worked out row by row.

    python bench/performance_report.py [--sizes 2000,20000] [--engines sqlite,postgresql] [--repeat 3]

For each engine (a throwaway SQLite file; a throwaway PostgreSQL server from tests/support/postgres.py), writes
a random cohort (tests/app/performance_support.py: brief screens, other instruments near them, outcomes) until
the database holds each size of screenings in turn, and times at deployment scope, best of `--repeat`:
- `measure`: the report as the app computes it (two grouped queries, figures from the counts);
- `by row`: the baseline, the same report from every screening read, classified and paired one by one in
  Python (`cells_by_row`, `pairs_by_row`, as the report did before issue 14).
Prints each time, the growth from the first size to the last, and last the ratio of the baseline's time to
`measure`'s at the largest size.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from sqlalchemy import func, text  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from app import crypto, db  # noqa: E402
from app.evaluation import performance  # noqa: E402
from app.evaluation.performance import PerformanceFilter  # noqa: E402
from app.main import loaded_instruments  # noqa: E402
from app.models import Agency, Screening, User  # noqa: E402
from app.reports.aggregate import Scope  # noqa: E402
from app.settings import get_settings  # noqa: E402
from tests.app.performance_support import BRIEF, VERSION, cells_by_row, pairs_by_row, random_cohort  # noqa: E402
from tests.support.postgres import TemporaryPostgres  # noqa: E402

REPORT = PerformanceFilter(BRIEF, VERSION, Scope.deployment)


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def measure_engine(url: str, data_dir: Path, sizes: list[int], repeat: int) -> list[tuple[int, float, float]]:
    os.environ.update(TELLONCE_DATABASE_URL=url, TELLONCE_DATA_DIR=str(data_dir), TELLONCE_ENVIRONMENT="test")
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    crypto.get_key_ring.cache_clear()
    engine = db.get_engine()
    db.upgrade_database(engine)
    registry = loaded_instruments()
    results = []
    with Session(engine, expire_on_commit=False) as session:
        kinds = ("youth_program", "probation", "shelter")
        agencies = [Agency(name=f"Agency {i}", kind=kind) for i, kind in enumerate(kinds)]
        session.add_all(agencies)
        session.flush()
        users = [
            User(agency_id=a.id, email=f"u{i}@example.org", display_name="u", role="screener", password_hash="-")  # noqa: S106 (nobody signs in)
            for i, a in enumerate(agencies)
        ]
        session.add_all(users)
        session.commit()
        seed = 0
        for size in sizes:
            while (session.exec(select(func.count()).select_from(Screening)).one()) < size:
                random_cohort(session, agencies, users, random.Random(seed), 500)
                seed += 1
            session.commit()
            session.execute(text("ANALYZE"))
            session.commit()
            screenings = session.exec(select(func.count()).select_from(Screening)).one()
            grouped = best(lambda: performance.measure(session, registry, REPORT, None), repeat)

            def by_row() -> object:
                cells = cells_by_row(session, REPORT, None, one_per_screening=True)
                return performance.figures(REPORT, True, cells, pairs_by_row(session, REPORT, None))

            baseline = best(by_row, 1)
            results.append((screenings, grouped, baseline))
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    ratio = 0.0
    print(f"{'engine':<11} {'screenings':>10} {'measure ms':>11} {'by row ms':>10} {'by row / measure':>17}")
    for name in args.engines.split(","):
        data_dir = Path(tempfile.mkdtemp(prefix="perf-report-"))
        server = TemporaryPostgres().start() if name == "postgresql" else None
        try:
            url = server.url if server else f"sqlite:///{data_dir / 'bench.sqlite3'}"
            rows = measure_engine(url, data_dir, sizes, args.repeat)
        finally:
            if server:
                server.stop()
        for screenings, grouped, baseline in rows:
            times = f"{grouped * 1000:>11.1f} {baseline * 1000:>10.1f} {baseline / grouped:>17.1f}"
            print(f"{name:<11} {screenings:>10} {times}")
        (small, g0, b0), (large, g1, b1) = rows[0], rows[-1]
        print(f"{name}: {large / small:.1f}x the screenings: measure {g1 / g0:.1f}x, by row {b1 / b0:.1f}x")
        ratio = b1 / g1
    print(f"by-row time / measure time at the largest size, last engine: {ratio:.1f}")


if __name__ == "__main__":
    main()
