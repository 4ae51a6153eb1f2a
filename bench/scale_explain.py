"""EXPLAIN (ANALYZE, BUFFERS) of the slowest SELECTs a request actually sent, for bench/scale.py.

The statements are caught on the engine while a page is served (whatever query the page runs today),
then explained with the same parameters; nothing here repeats the app's SQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def caught(engine: Engine) -> Iterator[list[tuple[float, str, Any]]]:
    """(seconds, statement, parameters) of every statement the engine runs inside the block."""
    found: list[tuple[float, str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        conn.info.setdefault("bench_began", []).append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        began = conn.info["bench_began"].pop()
        if not executemany:
            found.append((time.perf_counter() - began, statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def explain(engine: Engine, statement: str, parameters: Any) -> str:
    """The plan of one statement as it ran (in a transaction rolled back afterwards)."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).all()
        conn.rollback()
    return "\n".join(str(row[0]) for row in rows)


def slowest_plans(engine: Engine, what: str, call: Callable[[], Any], top: int = 2) -> str:
    """Run `call` once, and explain its `top` slowest SELECT statements."""
    with caught(engine) as found:
        call()
    selects = sorted((s for s in found if s[1].lstrip().upper().startswith("SELECT")), key=lambda s: -s[0])
    parts = []
    for seconds, statement, parameters in selects[:top]:
        parts.append(
            f"=== {what}: {seconds * 1000:.1f} ms in the request\n{statement}\n-- parameters: {parameters!r}\n"
            f"{explain(engine, statement, parameters)}\n"
        )
    return "\n".join(parts)
