"""Finding an agency's own youth by name or part of a case number, without decrypting every record.

Each agency link of a record stores keyed blind indexes (HMAC, so they reveal only equality) of its
search tokens: every prefix of at least two letters of each name part (given and family alike, split at
spaces, hyphens and apostrophes; case and accents removed), and every run of at least three characters
of the case number written without punctuation ("RB-1001" -> "rb1001"). The agency's id is inside each
key, so the same name at two agencies gives different keys: a search can never match another agency's
record, even one linked to the same person.

A query is split into words; each word matches as name parts, or as part of a case number; a record
matches when every word does. The whole query without spaces also counts as part of a case number, so
"RB 1001" finds "RB-1001".
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, insert, or_
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from app.crypto import KeyRing
from app.errors import InvalidInput
from app.i18n import _
from app.models import Youth, YouthLink, YouthSearchKey

MIN_NAME = 2
"""The shortest name prefix indexed and searched ("Av" finds "Avery")."""
MIN_CASE = 3
"""The shortest part of a case number indexed and searched ("100" finds "RB-1001")."""
MAX_CASE = 20
"""The longest part of a case number indexed (beside the whole number), to bound the keys per record."""


def normalize(text: str) -> str:
    """Lowercase, accents removed, punctuation and spaces collapsed: for blind indexes."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in letters).split())


def _compact(text: str) -> str:
    """Normalized with no spaces or punctuation at all: how case numbers are compared."""
    return normalize(text).replace(" ", "")


def name_tokens(name: str) -> set[str]:
    """A name's searchable parts: each part between spaces and punctuation, and each hyphenated or
    apostrophed word written solid ("O'Brien" gives "o", "brien" and "obrien")."""
    tokens: set[str] = set()
    for word in name.split():
        parts = normalize(word).split()
        tokens.update(parts)
        if len(parts) > 1:
            tokens.add("".join(parts))
    return tokens


def record_tokens(given_name: str, family_name: str, case_number: str) -> set[tuple[str, str]]:
    """(kind, token) for everything a record can be found by."""
    tokens: set[tuple[str, str]] = set()
    for token in name_tokens(given_name) | name_tokens(family_name):
        tokens.update(("name", token[:end]) for end in range(min(MIN_NAME, len(token)), len(token) + 1))
    case = _compact(case_number)
    if case:
        tokens.add(("case", case))
    for length in range(MIN_CASE, min(MAX_CASE, len(case)) + 1):
        tokens.update(("case", case[start : start + length]) for start in range(len(case) - length + 1))
    return tokens


def _key(keys: KeyRing, agency_id: str, kind: str, token: str) -> str:
    return keys.blind_index("search", f"{agency_id}|{kind}|{token}")


def index_link(
    db: Session, keys: KeyRing, link: YouthLink, given_name: str, family_name: str, case_number: str
) -> None:
    """Write the search keys of one agency's link that has none: a new link, or one from before search existed
    (`reindex_missing`). Nothing rewrites them: a record's name and case number are not edited."""
    tokens = sorted(record_tokens(given_name, family_name, case_number))
    rows = [{"link_id": link.id, "key": _key(keys, link.agency_id, kind, token)} for kind, token in tokens]
    if rows:  # plain rows in one INSERT: nothing reads them back as objects
        db.execute(insert(YouthSearchKey), rows)


def reindex_missing(db: Session, keys: KeyRing) -> int:
    """Index every link that has no search keys yet (records from before search existed); idempotent."""
    unindexed = ~select(YouthSearchKey.link_id).where(col(YouthSearchKey.link_id) == col(YouthLink.id)).exists()
    rows = db.exec(
        select(Youth, YouthLink).join(YouthLink, col(YouthLink.youth_id) == col(Youth.id)).where(unindexed)
    ).all()
    for youth, link in rows:
        index_link(
            db,
            keys,
            link,
            keys.decrypt(youth.given_name_enc, "youth", "given_name", youth.id),
            keys.decrypt(youth.family_name_enc, "youth", "family_name", youth.id),
            keys.decrypt(link.case_number_enc, "youth_link", "case_number", link.id),
        )
    return len(rows)


@dataclass(frozen=True)
class Query:
    """A parsed search: per word, the sets of keys any one of which matches it; and the whole query as a case number."""

    words: tuple[tuple[frozenset[str], ...], ...]
    whole_case: str | None


def parse(keys: KeyRing, agency_id: str, text: str) -> Query:
    """The query's keys for one agency; InvalidInput when no word is long enough to search by."""

    def keyed(kind: str, *tokens: str) -> frozenset[str]:
        return frozenset(_key(keys, agency_id, kind, token) for token in tokens)

    words = []
    for word in text.split():
        parts = normalize(word).split()
        named = [p for p in parts if len(p) >= MIN_NAME]
        solid = "".join(parts)
        ways = []
        if named:
            ways.append(keyed("name", *named))
        if len(parts) > 1 and len(solid) >= MIN_NAME:
            ways.append(keyed("name", solid))
        if len(solid) >= MIN_CASE:
            ways.append(keyed("case", solid))
        if ways:
            words.append(tuple(ways))
    whole = _compact(text)
    whole_case = _key(keys, agency_id, "case", whole) if len(text.split()) > 1 and len(whole) >= MIN_CASE else None
    if not words and whole_case is None:
        raise InvalidInput(
            _("Type at least two letters of a name, or three characters of a case number."), {"field": "q"}
        )
    return Query(tuple(words), whole_case)


def _has_all(link_id: Mapped[str], wanted: frozenset[str]) -> ColumnElement[bool]:
    """The link holds every one of these keys."""
    holders = select(YouthSearchKey.link_id).where(col(YouthSearchKey.key).in_(sorted(wanted)))
    if len(wanted) > 1:
        holders = holders.group_by(col(YouthSearchKey.link_id)).having(func.count() == len(wanted))
    return link_id.in_(holders)


def matches(query: Query, link_id: Mapped[str]) -> ColumnElement[bool]:
    """A WHERE clause on a link's id: every word matches (or the whole query is part of its case number)."""
    every_word = and_(*(or_(*(_has_all(link_id, way) for way in ways)) for ways in query.words))
    if query.whole_case is None:
        return every_word
    whole = _has_all(link_id, frozenset({query.whole_case}))
    return or_(every_word, whole) if query.words else whole
