"""One export for bench/scale.py, in a process of its own: TellOnce's CSV export, or the csv-module baseline.

    python bench/scale_export.py {tellonce,baseline} EMAIL DATE_FROM DATE_TO

Configured by the same TELLONCE_* environment as the app (bench/scale.py passes it). `tellonce` runs
`app.exports.tabular.stream` (batches, ledger entries, consents, formula-safe CSV) of every category
of the exporter's own agency; `baseline` reads the same rows with one plain server-side cursor, fetches
their answers per 500 rows, decrypts the same cells and writes the same columns with the csv module
(`plain_csv` of bench/export.py). Output goes to os.devnull. Prints one JSON line: rows, seconds, and the
peak resident memory the export added to the process (the peak, reset just before the export, minus
the resident size before it).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, date, datetime
from datetime import time as day_time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent))
sys.path.append(str(_HERE))

import psycopg  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from app.crypto import get_key_ring  # noqa: E402
from app.db import get_engine  # noqa: E402
from app.exports import tabular  # noqa: E402
from app.exports.plan import Plan  # noqa: E402
from app.models import User  # noqa: E402
from app.models_sharing import Category, Purpose  # noqa: E402
from app.screenings.disclosed import result_summary  # noqa: E402
from app.settings import get_settings  # noqa: E402
from instruments.loader import Registry, load  # noqa: E402

CATEGORIES = [c.value for c in (Category.result_summary, Category.item_answers, Category.notes)]
BASELINE_QUERY = """
SELECT s.id, y.person_id, s.instrument_id, s.instrument_version, s.content_hash, s.mode, s.language,
       s.started_at, s.completed_at, s.notes_enc, r.result_enc
FROM screening s JOIN screening_result r ON r.screening_id = s.id JOIN youth y ON y.id = s.youth_id
WHERE s.agency_id = %s AND s.status = 'completed' AND s.completed_at >= %s AND s.completed_at <= %s
ORDER BY s.completed_at, s.id
"""


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    """Forget the peak so far (Linux: clear_refs 5), so start-up's peak (argon2's dummy hash) is not counted."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")


def tellonce(db: Session, registry: Registry, exporter: User, date_from: date, date_to: date, out: Any) -> int:
    """TellOnce's own CSV export; returns the rows written."""
    keys = get_key_ring()
    planned = tabular.prepare(
        db, registry, exporter, exporter.agency_id, date_from, date_to, CATEGORIES, Purpose.care_coordination
    )
    lines = tabular.stream(db, keys, registry, planned, "csv")
    written = -1  # the header
    for line in lines:
        out.write(line)
        written += 1
    return written


def _baseline_rows(plan: Plan, date_from: date, date_to: date) -> Any:
    keys = get_key_ring()
    url = get_settings().resolved_database_url.replace("+psycopg", "", 1)
    start, end = datetime.combine(date_from, day_time.min, UTC), datetime.combine(date_to, day_time.max, UTC)
    with psycopg.connect(url) as conn, conn.cursor(name="export") as cursor:
        cursor.itersize = 500
        cursor.execute(BASELINE_QUERY, (plan.request.agency_id, start, end))
        while batch := cursor.fetchmany(500):
            answers: dict[str, dict[str, Any]] = {}
            ids = [row[0] for row in batch]
            for sid, item, enc in conn.execute(
                "SELECT screening_id, item_id, value_enc FROM answer WHERE screening_id = ANY(%s)", (ids,)
            ):
                answers.setdefault(sid, {})[item] = keys.decrypt_json(enc, "answer", "value", f"{sid}:{item}")
            for sid, person, instrument, version, content, mode, language, began, done, notes, result in batch:
                summary = result_summary(keys.decrypt_json(result, "screening_result", "result", sid), True)
                yield {
                    "person_key": tabular.person_key(keys, plan.request.recipient_agency_id, person),
                    "screening_id": sid,
                    "agency": plan.agency_name,
                    "instrument_id": instrument,
                    "instrument_version": version,
                    "content_hash": content,
                    "mode": mode,
                    "language": language,
                    "started_at": began.isoformat(),
                    "completed_at": done.isoformat(),
                    "overall_level": summary["overall"],
                    "domains": {d["id"]: d["level"] for d in summary["domains"]},
                    "total": summary.get("total"),
                    "answers": answers.get(sid, {}),
                    "notes": keys.decrypt(notes, "screening", "notes", sid) if notes else "",
                }


def baseline(db: Session, registry: Registry, exporter: User, date_from: date, date_to: date, out: Any) -> int:
    """The same rows and columns through a plain cursor and the csv module; returns the rows written."""
    from export import plain_csv  # bench/export.py

    plan = tabular.prepare(
        db, registry, exporter, exporter.agency_id, date_from, date_to, CATEGORIES, Purpose.care_coordination
    )
    counted: list[None] = []

    def counting(rows: Any) -> Any:
        for row in rows:
            counted.append(None)
            yield row

    plain_csv(plan, counting(_baseline_rows(plan, date_from, date_to)), out)
    return len(counted)


def main() -> None:
    which, email, date_from, date_to = sys.argv[1:5]
    with Session(get_engine()) as db:
        exporter = db.exec(select(User).where(User.email == email)).one()
        registry = load().or_raise()
        get_key_ring()
        _reset_peak()
        before = _status_kib("VmRSS")
        began = time.perf_counter()
        with open(os.devnull, "w", encoding="utf-8", newline="") as out:
            run = tellonce if which == "tellonce" else baseline
            rows = run(db, registry, exporter, date.fromisoformat(date_from), date.fromisoformat(date_to), out)
        seconds = time.perf_counter() - began
        peak = _status_kib("VmHWM")
        db.commit()
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_kib": max(0, peak - before)}))


if __name__ == "__main__":
    main()
