"""Benchmark: TellOnce's CSV and NDJSON export writers on 100,000 synthetic screenings.

    python bench/export.py [--rows N] [--repeats R] [--seed S]

The rows are built in memory, shaped exactly like `app.exports.tabular.export_rows` yields them
(result with domains, indicators and evidence; answers to every item; notes), over the three bundled
instruments. No database is touched: there is no query, decryption or ledger write here, only the
writers. Answers are random but valid, and each distinct answer set is scored by the real engine
(a pool of 500 scored sets is reused across rows; each row has its own ids, person key and times).

For each writer it prints rows per second (best of R interleaved timed runs) and the peak memory the writer
allocated while writing every row (tracemalloc, measured in a separate run, since tracing slows
it down). Output goes to os.devnull. The baseline writes the same rows with the standard library's
csv module: the same columns flattened the obvious way, with no formula escaping and no
'not_asked_in_version' codes. The last line is the ratio of TellOnce's CSV time to the baseline's.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from app.exports import writers  # noqa: E402
from app.exports.plan import BASE_COLUMNS, RESULT_COLUMNS, ExportRequest, Plan, plan_for  # noqa: E402
from instruments.compiled import CompiledInstrument  # noqa: E402
from instruments.loader import BUNDLED_DIR, load  # noqa: E402
from scoring import answer_problem, score, visible_only  # noqa: E402

POOL = 500
TEXTS = ("Acme Farms", '=HYPERLINK("http://x.example")', "-2 days ago", "@home", "a cousin's friend", "")


def _answer(instrument: CompiledInstrument, item_id: str, rng: random.Random) -> Any:
    item = instrument.items[item_id]
    if rng.random() < 0.1:
        return None
    codes = sorted(instrument.codes.get(item_id) or ())
    if item.type == "multiple_choice":
        return rng.sample(codes, k=rng.randint(1, min(2, len(codes)))) if codes else None
    if codes:
        return rng.choice(codes)
    if item.type == "number":
        return rng.randint(int(getattr(item, "minimum", 0) or 0), int(getattr(item, "maximum", 40) or 40))
    if item.type == "date":
        return (date(2024, 1, 1) + timedelta(days=rng.randint(0, 365))).isoformat()
    return rng.choice(TEXTS) or None


def _scored(instrument: CompiledInstrument, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """Random valid answers to a version, and its stored result (as the database holds it)."""
    answers = {}
    for item_id in instrument.visibility_order:
        value = _answer(instrument, item_id, rng)
        if value is not None and answer_problem(instrument, item_id, value) is None:
            answers[item_id] = value
    answers = visible_only(instrument, answers)
    return answers, score(instrument, answers).to_dict()


def synthetic_rows(count: int, seed: int) -> tuple[Plan, list[dict[str, Any]]]:
    """The plan of an export of every bundled instrument, and `count` rows like `export_rows` yields."""
    loaded_result = load([BUNDLED_DIR])
    registry, problems = loaded_result.registry, loaded_result.problems
    if problems:
        raise SystemExit("\n".join(str(p) for p in problems))
    instruments = registry.all()
    rng = random.Random(seed)
    pool = []
    for n in range(POOL):
        instrument = instruments[n % len(instruments)]
        answers, result = _scored(instrument, rng)
        items = {i: answers.get(i, "unanswered") for i in instrument.visibility_order}
        pool.append((instrument, items, result))
    today = date(2025, 6, 30)
    request = ExportRequest(
        "u" * 32,
        "a" * 32,
        "b" * 32,
        today - timedelta(days=365),
        today,
        ("result_summary", "item_answers", "notes"),
        "care_coordination",
    )
    plan = plan_for(
        registry,
        request,
        {c.id for c in instruments},
        agency_name="Northside Youth Services",
        recipient_name="Eastside Child Welfare",
        with_items=True,
        with_notes=True,
    )
    start = datetime(2024, 7, 1, tzinfo=UTC)
    rows = []
    for n in range(count):
        instrument, items, result = pool[rng.randrange(POOL)]
        began = start + timedelta(minutes=5 * n)
        rows.append(
            {
                "person_key": f"{rng.getrandbits(128):032x}",
                "screening_id": f"{n:032x}",
                "agency": plan.agency_name,
                "instrument_id": instrument.id,
                "instrument_version": instrument.version,
                "content_hash": instrument.content_hash,
                "mode": "practitioner",
                "language": "en",
                "started_at": began.isoformat(),
                "completed_at": (began + timedelta(minutes=20)).isoformat(),
                "overall_level": result["overall"],
                "domains": {d["id"]: d["level"] for d in result["domains"]},
                "result": result,
                "answers": items,
                "notes": rng.choice(("", "Seen at intake.", "Follow up next week; school counselor aware.")),
                "categories": ["result_summary", "item_answers", "notes"],
            }
        )
    return plan, rows


def plain_csv(plan: Plan, rows: Iterable[dict[str, Any]], out: Any) -> None:
    """The baseline: the same columns with the csv module, flattened the obvious way."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(plan.columns)
    for row in rows:
        answers, domains, own = row["answers"], row["domains"], row["instrument_id"]
        items = [
            (";".join(v) if isinstance(v := answers.get(item, ""), list) else v) if owner == own else ""
            for owner, item in plan.items
        ]
        result = [row.get(c, "") for c in RESULT_COLUMNS]
        writer.writerow(
            [row[c] for c in BASE_COLUMNS]
            + result
            + [domains.get(d, "") for d in plan.domains]
            + [row["notes"]]
            + items
        )


def tellonce_csv(plan: Plan, rows: Iterable[dict[str, Any]], out: Any) -> None:
    for line in writers.csv_lines(plan, rows):
        out.write(line)


def tellonce_ndjson(plan: Plan, rows: Iterable[dict[str, Any]], out: Any) -> None:
    for line in writers.json_lines(rows, ndjson=True):
        out.write(line)


def best_times(
    writers_: dict[str, Callable[[Plan, list[dict[str, Any]], Any], None]],
    plan: Plan,
    rows: list[dict[str, Any]],
    repeats: int,
) -> dict[str, float]:
    """Best wall time of each writer over `repeats` rounds (interleaved, so load drifts hit all alike)."""
    best = dict.fromkeys(writers_, float("inf"))
    for _ in range(repeats):
        for name, write in writers_.items():
            with open(os.devnull, "w", encoding="utf-8", newline="") as out:
                began = time.perf_counter()
                write(plan, rows, out)
                best[name] = min(best[name], time.perf_counter() - began)
    return best


def peak_memory(
    write: Callable[[Plan, list[dict[str, Any]], Any], None], plan: Plan, rows: list[dict[str, Any]]
) -> int:
    """The peak memory one traced run allocated beyond the rows themselves."""
    with open(os.devnull, "w", encoding="utf-8", newline="") as out:
        tracemalloc.start()
        write(plan, rows, out)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20250630)
    args = parser.parse_args()
    built = time.perf_counter()
    plan, rows = synthetic_rows(args.rows, args.seed)
    print(
        f"{len(rows):,} synthetic screenings in memory (no database), {len(plan.columns)} CSV columns, "
        f"built in {time.perf_counter() - built:.1f} s"
    )
    chosen = {"tellonce-csv": tellonce_csv, "tellonce-ndjson": tellonce_ndjson, "plain-csv": plain_csv}
    times = best_times(chosen, plan, rows, args.repeats)
    for name, write in chosen.items():
        seconds, peak = times[name], peak_memory(write, plan, rows)
        print(f"{name:16} {len(rows) / seconds:>12,.0f} rows/s   {seconds:6.2f} s   peak {peak / 1024:8.1f} KiB")
    print(f"ratio tellonce-csv/plain-csv: {times['tellonce-csv'] / times['plain-csv']:.2f}")


if __name__ == "__main__":
    main()
