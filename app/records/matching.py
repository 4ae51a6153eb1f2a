"""Finding possible duplicate youth records without decrypting every record.

Two steps. Blocking: each record gets a small set (about 12) of keyed blind indexes (HMAC, so they
reveal only equality, and nothing across deployments with different index keys) of coarse,
normalized forms of its identifiers: the phonetic code of each name part (given and family alike,
so swapped names agree) or of the full name a nickname stands for, with the date of birth or its
day/month swap; the first letter of a name part with the date; a name part with two of the three
date fields. Only records sharing a key with a new youth are decrypted, server-side, and compared
precisely: name parts with Jaro-Winkler and edit distance, nicknames, accents, double family names,
swapped names, and agreement of the dates. A pair scoring at least MATCH_THRESHOLD is a *possible*
match for a person to review; nothing here merges records.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import jellyfish
from nicknames import NickNamer

from app.crypto import KeyRing

MATCH_THRESHOLD = 0.82
"""Similarity from which two identities are proposed as a possible match (see `similarity`)."""

# Common Spanish hypocorisms, which the English nickname dataset lacks (full name -> nicknames).
_SPANISH_NICKNAMES: dict[str, set[str]] = {
    "alberto": {"beto"},
    "alejandra": {"ale", "alejandrina"},
    "alejandro": {"alex", "ale"},
    "antonio": {"tono", "toni"},
    "concepcion": {"concha", "conchita"},
    "consuelo": {"chelo"},
    "dolores": {"lola", "lolita"},
    "eduardo": {"lalo"},
    "enrique": {"quique"},
    "francisca": {"paca", "paquita", "pancha"},
    "francisco": {"paco", "pancho", "curro", "kiko"},
    "guadalupe": {"lupe", "lupita"},
    "guillermo": {"memo"},
    "ignacio": {"nacho"},
    "jesus": {"chuy", "chucho"},
    "jose": {"pepe", "chepe"},
    "manuel": {"manolo", "manu"},
    "mercedes": {"meche"},
    "pilar": {"pili"},
    "rafael": {"rafa"},
    "roberto": {"beto"},
    "rosario": {"charo"},
    "santiago": {"santi"},
    "javier": {"javi"},
    "daniel": {"dani"},
}

# Masculine names whose feminine form adds an "a" (Juan/Juana), beside the nickname dataset's names.
_MASCULINE_SPANISH = frozenset({"juan", "luis", "raul", "ismael", "joel", "noel", "german", "fermin", "agustin"})

# Particles of family (and compound given) names that carry no identity on their own.
_FAMILY_PARTICLES = frozenset(
    {"de", "del", "la", "las", "los", "da", "das", "do", "dos", "di", "du", "van", "von", "der", "den", "y", "e"}
    | {"bin", "ibn", "bint", "al", "el", "le", "ben", "ter", "ten"}
)
_GIVEN_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y"})
# Letters that Unicode decomposition does not fold to ASCII.
_TRANSLITERATE = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ı": "i", "þ": "th", "ð": "d"})

_MAX_GIVEN_PARTS = 2
_MAX_NICKNAME_CODES = 2


@dataclass(frozen=True)
class Identity:
    """The identifiers compared to find the same youth."""

    given_name: str
    family_name: str
    birth_date: date


@lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    lookup = NickNamer.default_lookup()
    for full, nicks in _SPANISH_NICKNAMES.items():
        lookup.setdefault(full, set()).update(nicks)
    return NickNamer(nickname_lookup=lookup)


def fold(text: str) -> str:
    """Like `normalize()`, letters only: lowercase, accents and apostrophes removed, the rest as spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_TRANSLITERATE))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    letters = letters.replace("'", "").replace("’", "").replace("`", "")
    return " ".join("".join(c if c.isalpha() else " " for c in letters).split())


def name_parts(text: str, *, family: bool) -> list[str]:
    """The folded parts of a name, hyphens and spaces alike, without particles unless nothing else is left."""
    parts = fold(text).split()
    particles = _FAMILY_PARTICLES if family else _GIVEN_PARTICLES
    kept = [p for p in parts if p not in particles]
    return kept or parts


def phonetic(part: str) -> str:
    """A coarse phonetic code of one name part: Soundex with a spelling-normalized first letter."""
    if not part.isascii():
        return part
    lead = _first_sound(part)
    return lead + jellyfish.soundex(part)[1:]


def _first_sound(part: str) -> str:
    for prefix, sound in (("ph", "f"), ("kn", "n"), ("wr", "r"), ("wh", "w"), ("ps", "s"), ("gn", "n"), ("chr", "k")):
        if part.startswith(prefix):
            return sound
    head, nxt = part[0], part[1:2]
    if head == "c":
        return "s" if nxt in ("e", "i", "y") else "k"
    if head == "g" and nxt in ("e", "i"):
        return "j"
    if head == "q":
        return "k"
    return head


@lru_cache(maxsize=4096)
def _canonicals(part: str) -> frozenset[str]:
    return frozenset(_nicknamer().canonicals_of(part))


def nickname_equivalent(a: str, b: str) -> bool:
    """Whether one name part is a nickname of the other, or both are nicknames of one name."""
    ca, cb = _canonicals(a), _canonicals(b)
    return b in ca or a in cb or bool(ca & cb)


def _swap_day_month(value: date) -> date | None:
    if value.day == value.month or value.day > 12:
        return None
    return date(value.year, value.day, value.month)


def blocking_keys(keys: KeyRing, person: Identity) -> frozenset[str]:
    """The blind-index blocking keys of one person (12 on average, at most 22), shared by its variants."""
    given = name_parts(person.given_name, family=False)[:_MAX_GIVEN_PARTS]
    family = name_parts(person.family_name, family=True)
    family = family[:1] + family[1:][-1:]  # the first and last parts of a double family name
    dob = person.birth_date
    swapped = _swap_day_month(dob)
    dates = [dob] if swapped is None else [dob, swapped]

    # Phonetic codes of the name parts, given and family alike (so that swapped names share them),
    # with the date of birth and with its day/month swap.
    main_codes = {phonetic(p) for p in (*given[:1], *family)}
    codes = main_codes | {phonetic(p) for p in given[1:]}
    values = {("name-dob", f"{code}|{d.isoformat()}") for code in codes for d in dates}
    # The full names a first given name is a nickname of (Kate: Katherine), unless too ambiguous (Al, Chris).
    for part in given[:1]:
        nick_codes = {phonetic(c) for c in _canonicals(part)} - codes
        if len(nick_codes) <= _MAX_NICKNAME_CODES:
            values |= {("name-dob", f"{code}|{dob.isoformat()}") for code in nick_codes}
    # The first letter of a main name part with the date, for when both names have a typo.
    values |= {("initial-dob", f"{code[0]}|{dob.isoformat()}") for code in main_codes}
    # A main name part with two of the three date fields, for when one digit of the date is wrong.
    for code in main_codes:
        values.add(("name-year-month", f"{code}|{dob.year}-{dob.month:02d}"))
        values.add(("name-year-day", f"{code}|{dob.year}-{dob.day:02d}"))
        values.add(("name-month-day", f"{code}|{dob.month:02d}-{dob.day:02d}"))
    return frozenset(keys.blind_index(f"match-{kind}", value) for kind, value in values)


@lru_cache(maxsize=1)
def _known_names() -> frozenset[str]:
    namer = _nicknamer()
    return frozenset(namer.nickname_lookup) | frozenset(namer.canonical_lookup) | _MASCULINE_SPANISH


def _gendered_pair(a: str, b: str) -> bool:
    """Daniel/Daniela, Mario/Maria, Paul/Paula: forms of a name for different sexes, not a typo."""
    short, long_ = sorted((a, b), key=len)
    if long_ == short + "a":
        return short in _known_names()  # not Layl/Layla, which is a typo
    return len(a) == len(b) >= 4 and a[:-1] == b[:-1] and {a[-1], b[-1]} == {"a", "o"}


def _distance(a: str, b: str) -> int:
    return int(jellyfish.damerau_levenshtein_distance(a, b))


def part_similarity(a: str, b: str) -> float:
    """Similarity of two folded name parts: equal, nickname, typo or shortened form, else Jaro-Winkler."""
    if a == b:
        return 1.0
    if nickname_equivalent(a, b):
        return 0.95
    if _gendered_pair(a, b):
        return 0.6
    jw = jellyfish.jaro_winkler_similarity(a, b)
    distance = _distance(a, b)
    shortest = min(len(a), len(b))
    score = min(jw, 0.8)  # different names, however alike (Maria/Mariana, Alexis/Alexa)
    if distance == 1 and shortest >= 4:
        score = max(jw, 0.92)  # one typo
    elif distance == 1 and shortest == 3:
        score = max(jw, 0.88)
    elif distance == 2 and shortest >= 8:
        score = max(jw, 0.9)  # two typos in a long name
    if 3 <= shortest <= 4 and max(len(a), len(b)) >= shortest + 2 and (a.startswith(b) or b.startswith(a)):
        score = max(score, 0.88)  # a shortened form: Nat/Natalie, Kat/Katherine (not Maria/Mariana)
    return score


def parts_similarity(a: list[str], b: list[str]) -> float:
    """Similarity of two multi-part names: best pairing of parts, with one name's missing parts tolerated."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if "".join(a) == "".join(b):
        return 0.98
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    best = 0.0
    for chosen in itertools.permutations(long_, len(short)):
        score = sum(part_similarity(x, y) for x, y in zip(short, chosen, strict=True)) / len(short)
        if list(chosen) != long_[: len(short)]:
            score *= 0.99  # parts in another order
        best = max(best, score)
    if len(short) < len(long_):
        best *= 0.95  # a part missing (one of a double family name, a second given name)
    joined_a, joined_b = "".join(a), "".join(b)
    if len(a) != len(b) and min(len(joined_a), len(joined_b)) >= 5 and _distance(joined_a, joined_b) == 1:
        best = max(best, 0.93)  # parts run together, with a typo: Mariajse/Maria Jose
    return best


def date_similarity(a: date, b: date) -> float:
    """Agreement of two dates of birth: exact, day/month swapped, one digit off, a year off, same month."""
    if a == b:
        return 1.0
    if _swap_day_month(a) == b:
        return 0.95
    sa, sb = a.isoformat(), b.isoformat()
    differing = [i for i in range(len(sa)) if sa[i] != sb[i]]
    if len(differing) == 1:
        return 0.9
    if len(differing) == 2 and differing[1] == differing[0] + 1:
        i, j = differing
        if sa[i] == sb[j] and sa[j] == sb[i]:
            return 0.9  # two adjacent digits transposed
    if (a.month, a.day) == (b.month, b.day) and abs(a.year - b.year) == 1:
        return 0.88
    if (a.year, a.month) == (b.year, b.month):
        return 0.85
    return 0.0


def _name_similarity(a: str, b: str, *, family: bool) -> float:
    if fold(a).replace(" ", "") == fold(b).replace(" ", "") != "":
        return 1.0 if fold(a) == fold(b) else 0.98  # only spaces, hyphens, accents or case differ: De la Cruz/Delacruz
    return parts_similarity(name_parts(a, family=family), name_parts(b, family=family))


def similarity(a: Identity, b: Identity) -> float:
    """How alike two identities are, in [0, 1]: the product of the given-name, family-name and date scores."""
    straight = (
        _name_similarity(a.given_name, b.given_name, family=False),
        _name_similarity(a.family_name, b.family_name, family=True),
    )
    crossed = (
        _name_similarity(a.given_name, b.family_name, family=True) * 0.98,
        _name_similarity(a.family_name, b.given_name, family=True) * 0.98,
    )
    given, family = max(straight, crossed, key=lambda pair: pair[0] * pair[1])
    return given * family * date_similarity(a.birth_date, b.birth_date)


def ranked(new: Identity, identities: Mapping[str, Identity]) -> list[str]:
    """Ids of the identities alike enough to `new` to propose as the same youth, best first (ties by id)."""
    scored = [(similarity(new, other), record_id) for record_id, other in identities.items()]
    return [record_id for score, record_id in sorted(scored, key=lambda s: (-s[0], s[1])) if score >= MATCH_THRESHOLD]
