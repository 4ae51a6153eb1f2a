"""Loading for bench/scale.py: a template seeded through TellOnce's own services, then copied in bulk.

The template is the demo (agencies, users of every role, the tell-once story) plus an evaluation cohort
of synthetic people at each demo agency, stored through the real services, so encryption, stored
levels, revisions, consents and outcomes are exactly what real use leaves. `copy_template` then adds
copies of every youth and of every row a youth owns (all tables reached from `youth` by foreign keys:
links, search keys, match keys, screenings, answers, results, revisions, consents, outcomes, ...).

Nothing here names a column except through rules that hold for any column a migration adds:
- the columns are those the database has (`SELECT *`), so new stored columns are copied as they are;
- a string that is the id of a template row being copied becomes the copy's id (its first 24 hex digits
  and the copy's number in 8), whichever
  column holds it (primary keys, foreign keys, `person_id`, `carried_from`);
- encrypted columns (`app.crypto.ENCRYPTED_COLUMNS`) are decrypted and encrypted again for the copy's
  row id (the associated data binds a value to its row, so a copied ciphertext would not decrypt);
- keyed blind indexes (`*_index`, `key`) are replaced by another keyed value per copy, so copies are
  other people: they neither match nor share a case number with the template;
- dates, times and `YYYY-MM` strings move back by a whole number of months (0 to 35, by copy), so a
  stored month column stays the month of its date.
Integer keys drawn from a sequence are left to the sequence. The audit log and the report's roll-up are not copied.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import re
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import psycopg
from sqlmodel import Session, select

from app import demo
from app.crypto import ENCRYPTED_COLUMNS, KeyRing
from app.evaluation import demo_cohort
from app.models import User, metadata
from instruments.loader import Registry

# Not copied: the audit log, and the performance report's roll-up, which is derived from the copies after loading
# (`rollup.backfill`, as `tellonce serve` derives it after a migration): its half-year and day gaps are computed
# from dates, which the copies move back.
NOT_COPIED = {"audit_event", "audit_chain", "evaluation_fact", "evaluation_pair"}
MONTHS = 36
_YEAR_MONTH = re.compile(r"^\d{4}-\d{2}$")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def seed_template(db: Session, keys: KeyRing, registry: Registry, people_per_agency: int) -> None:
    """The demo, and `people_per_agency` cohort people at each demo agency, through the services."""
    demo.seed(db, keys, registry)
    db.commit()
    slugs = [slug for *_rest, slug in demo.AGENCIES + demo.EVALUATION_AGENCIES]
    for number, slug in enumerate(slugs):
        by_role = {
            role: db.exec(select(User).where(User.email == f"{role}@{slug}.example.org")).one()
            for role in ("screener", "supervisor")
        }
        staff = [(by_role["screener"], by_role["supervisor"])]
        demo_cohort.seed(db, keys, registry, staff, people_per_agency, seed_value=1000 + number)
        db.commit()


def owned_tables() -> list[str]:
    """`youth` and every table reaching it by foreign keys, parents first."""
    owned = {"youth"}
    grew = True
    while grew:
        grew = False
        for table in metadata.sorted_tables:
            if table.name in owned or table.name in NOT_COPIED:
                continue
            if any(fk.column.table.name in owned for fk in table.foreign_keys):
                owned.add(table.name)
                grew = True
    return [t.name for t in metadata.sorted_tables if t.name in owned]


def shift_months(value: Any, months: int) -> Any:
    """A date, time or YYYY-MM string `months` months earlier (the day clamped to the month's length)."""
    if months == 0:
        return value
    if isinstance(value, str):
        year, month = int(value[:4]), int(value[5:7])
        total = year * 12 + month - 1 - months
        return f"{total // 12:04d}-{total % 12 + 1:02d}"
    total = value.year * 12 + value.month - 1 - months
    year, month = total // 12, total % 12 + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    return value.replace(year=year, month=month, day=min(value.day, last))


def _text(value: Any) -> str:
    """A value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    return str(value).translate(_ESCAPES)


Rule = Callable[[tuple[Any, ...], list[str], str, int], str]  # (row, its cells as text, id suffix, months)


class TableCopier:
    """Turns a table's template rows into COPY lines of copy number k, by the rules of the module docstring.

    Each template row is rendered to text once; per copy only the cells a rule changes are made again
    (ids, ciphertexts, blind indexes and dates: none of them needs COPY escaping).
    """

    def __init__(
        self, table: str, columns: list[str], rows: list[tuple[Any, ...]], ids: set[str], keys: KeyRing
    ) -> None:
        self.table, self.columns, self.rows, self.ids, self.keys = table, columns, rows, ids, keys
        self.position = {name: i for i, name in enumerate(columns)}
        self.rendered = [[_text(value) for value in row] for row in rows]
        self._shifted: dict[tuple[str, int], str] = {}
        encrypted = {c.db_column: c for c in ENCRYPTED_COLUMNS if c.table == table}
        self.rules: list[tuple[int, Rule]] = []
        for index, name in enumerate(columns):
            if name in encrypted:
                rule: Rule | None = self._encrypted_rule(encrypted[name])
            elif name.endswith("_index") or name == "key":
                rule = self._blind_rule(index)
            else:
                rule = self._generic_rule(index)
            if rule is not None:
                self.rules.append((index, rule))

    def _shift(self, text: str, months: int) -> str:
        """A rendered date, time or YYYY-MM moved back `months` months (the date part, cached)."""
        if months == 0 or text == "\\N":
            return text
        head = text[:10]
        moved = self._shifted.get((head, months))
        if moved is None:
            value = head[:7] if len(head) == 7 else date.fromisoformat(head)
            moved = self._shifted[(head, months)] = _text(shift_months(value, months))
        return moved + text[10:]

    def _generic_rule(self, index: int) -> Rule | None:
        ids = self.ids
        values = [row[index] for row in self.rows if row[index] is not None]
        if not values:
            return None
        sample = values[0]
        dated = isinstance(sample, (datetime, date))
        if dated or (isinstance(sample, str) and all(_YEAR_MONTH.match(v) for v in values)):
            shift = self._shift
            return lambda row, cells, suffix, months: shift(cells[index], months)
        if isinstance(sample, str) and any(v in ids for v in values):
            return lambda row, cells, suffix, months: v[:24] + suffix if (v := row[index]) in ids else cells[index]
        return None

    def _blind_rule(self, index: int) -> Rule:
        def rule(row: tuple[Any, ...], cells: list[str], suffix: str, months: int) -> str:
            value = row[index]
            if value is None:
                return "\\N"
            return hashlib.sha256(f"{value}:{suffix}".encode()).hexdigest()[: len(value)]

        return rule

    def _encrypted_rule(self, column: Any) -> Rule:
        index, parts = self.position[column.db_column], [self.position[name] for name in column.row_id]
        keys, ids, table, name = self.keys, self.ids, self.table, column.column
        plain: dict[tuple[Any, ...], str] = {}

        def rule(row: tuple[Any, ...], cells: list[str], suffix: str, months: int) -> str:
            stored = row[index]
            if stored is None:
                return "\\N"
            key = tuple(row[p] for p in parts)
            text = plain.get(key)
            if text is None:
                text = plain[key] = keys.decrypt(stored, table, name, ":".join(key))
            new_id = ":".join(v[:24] + suffix if v in ids else v for v in key)
            return keys.encrypt(text, table, name, new_id)

        return rule

    def lines(self, copies: range) -> Iterator[bytes]:
        """COPY text lines of these copies, a copy at a time."""
        rules = self.rules
        for copy in copies:
            suffix, months = f"{copy:08x}", copy % MONTHS
            out = []
            for row, rendered in zip(self.rows, self.rendered, strict=True):
                cells = rendered.copy()
                for index, rule in rules:
                    cells[index] = rule(row, rendered, suffix, months)
                out.append("\t".join(cells))
            yield ("\n".join(out) + "\n").encode()


Template = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def read_template(conninfo: str) -> Template:
    """Each owned table's copied columns (sequence-drawn ones left out) and its rows: read once, before copying."""
    tables = owned_tables()
    found = {}
    with psycopg.connect(conninfo) as conn:
        for table in tables:
            drawn = {
                name
                for (name,) in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                    "AND (column_default LIKE 'nextval(%%' OR is_identity = 'YES')",
                    (table,),
                )
            }
            cursor = conn.execute(f'SELECT * FROM "{table}" WHERE true')  # noqa: S608 (names from our metadata)
            names = [d.name for d in cursor.description or ()]
            keep = [i for i, name in enumerate(names) if name not in drawn]
            rows = [tuple(row[i] for i in keep) for row in cursor.fetchall()]
            found[table] = ([names[i] for i in keep], rows)
    return found


def _load_part(args: tuple[str, list[str], dict[str, Any], str, int, int]) -> dict[str, int]:
    """One worker: copies [first, last) of every owned table, streamed with COPY."""
    conninfo, tables, template, keys_json, first, last = args
    keys = KeyRing(**{k: v if k == "current" else _unhex(v) for k, v in json.loads(keys_json).items()})
    ids = {row[template[t][0].index("id")] for t in tables if "id" in template[t][0] for row in template[t][1]}
    counts = {}
    with psycopg.connect(conninfo) as conn:
        conn.execute("SET session_replication_role = replica")  # foreign keys hold by construction
        conn.execute("SET synchronous_commit = off")
        for table in tables:
            columns, rows = template[table]
            if not rows:
                continue
            copier = TableCopier(table, columns, rows, ids, keys)
            names = ", ".join(f'"{c}"' for c in columns)
            with conn.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for chunk in copier.lines(range(first, last)):
                    copy.write(chunk)
            counts[table] = len(rows) * (last - first)
            conn.commit()
    return counts


def _unhex(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: bytes.fromhex(v) for k, v in value.items()}
    return bytes.fromhex(value)


def _keys_json(keys: KeyRing) -> str:
    """The key ring for the workers (they run in fresh processes)."""
    return json.dumps(
        {"keys": {k: v.hex() for k, v in keys.keys.items()}, "current": keys.current, "index_key": keys.index_key.hex()}
    )


def _plain_indexes(conn: psycopg.Connection[Any], tables: list[str]) -> list[tuple[str, str]]:
    """(name, definition) of the owned tables' indexes that back no constraint (dropped while loading)."""
    return list(
        conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            (tables,),
        )
    )


def copy_template(
    conninfo: str, keys: KeyRing, template: Template, copies: range, workers: int = 2
) -> tuple[dict[str, int], float]:
    """Add copies `copies` (1 and up) of the template; returns rows added per table and the seconds it took."""
    began = time.perf_counter()
    tables = list(template)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        indexes = _plain_indexes(conn, tables)
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{name}"')
    bounds = [copies.start + (len(copies) * n) // workers for n in range(workers + 1)]
    parts = [(conninfo, tables, template, _keys_json(keys), bounds[n], bounds[n + 1]) for n in range(workers)]
    counts: dict[str, int] = {}
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for part in pool.map(_load_part, parts):
            for table, added in part.items():
                counts[table] = counts.get(table, 0) + added
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            conn.execute(definition)
        conn.execute("VACUUM (ANALYZE)")
    return counts, time.perf_counter() - began
