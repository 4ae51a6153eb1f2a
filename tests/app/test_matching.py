"""Record matching: blocking keys (blind indexes), similarity, and precision/recall on synthetic people."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date

import pytest

from app.crypto import KeyRing
from app.records.matching import (
    MATCH_THRESHOLD,
    Identity,
    blocking_keys,
    ranked,
    similarity,
)
from tests.support.synthetic_people import LOOKALIKE_KINDS, VARIANT_KINDS, generate

KEYS = KeyRing({"k1": bytes(range(32))}, "k1", bytes(range(32, 64)))
OTHER_DEPLOYMENT = KeyRing({"k1": bytes(range(32))}, "k1", bytes(range(64, 96)))


def person(given: str, family: str, born: str) -> Identity:
    return Identity(given, family, date.fromisoformat(born))


def build_index(keys: KeyRing, identities: Iterable[tuple[str, Identity]]) -> dict[str, set[str]]:
    """An in-memory blocking index (key -> record ids), as the match_key table holds it."""
    index: dict[str, set[str]] = {}
    for record_id, identity in identities:
        for key in blocking_keys(keys, identity):
            index.setdefault(key, set()).add(record_id)
    return index


def find_candidates(
    keys: KeyRing, new: Identity, index: Mapping[str, set[str]], identities: Mapping[str, Identity]
) -> list[str]:
    """What `app.sharing.links.candidates` does against the table: the records sharing a blocking key, ranked."""
    blocked = {record_id for key in blocking_keys(keys, new) for record_id in index.get(key, set())}
    return ranked(new, {record_id: identities[record_id] for record_id in blocked if record_id in identities})


def is_possible_match(a: Identity, b: Identity) -> bool:
    return ranked(a, {"other": b}) == ["other"]


def found(record: Identity, query: Identity) -> bool:
    """Whether a query finds the record through the blind-index blocking and the threshold."""
    index = build_index(KEYS, [("r1", record)])
    return find_candidates(KEYS, query, index, {"r1": record}) == ["r1"]


SAME_PERSON = {
    "typo-substitution": (person("Jennifer", "Martin", "2010-05-14"), person("Jennifer", "Marton", "2010-05-14")),
    "typo-transposition": (person("Guillermo", "Reyes", "2009-11-02"), person("Guillremo", "Reyes", "2009-11-02")),
    "typo-deletion": (person("Katherine", "Okafor", "2011-01-30"), person("Katherine", "Okfor", "2011-01-30")),
    "nickname-bill": (person("William", "Turner", "2008-06-21"), person("Bill", "Turner", "2008-06-21")),
    "nickname-kate": (person("Katherine", "Nowak", "2012-03-09"), person("Kate", "Nowak", "2012-03-09")),
    "nickname-spanish": (person("José", "Medina", "2007-12-25"), person("Pepe", "Medina", "2007-12-25")),
    "accents-dropped": (person("José Ángel", "Núñez", "2010-04-04"), person("Jose Angel", "Nunez", "2010-04-04")),
    "accents-added": (person("Ines", "Ibanez", "2006-08-19"), person("Inés", "Ibáñez", "2006-08-19")),
    "family-hyphen-vs-space": (
        person("Lucía", "García-López", "2009-02-17"),
        person("Lucia", "Garcia Lopez", "2009-02-17"),
    ),
    "family-second-part-only": (person("Lucía", "García López", "2009-02-17"), person("Lucía", "López", "2009-02-17")),
    "family-first-part-only": (person("Lucía", "García López", "2009-02-17"), person("Lucía", "García", "2009-02-17")),
    "family-particles": (person("Mateo", "de la Cruz", "2013-07-08"), person("Mateo", "Delacruz", "2013-07-08")),
    "names-swapped": (person("Linh", "Nguyen", "2008-10-03"), person("Nguyen", "Linh", "2008-10-03")),
    "day-month-swapped": (person("Omar", "Haddad", "2010-03-07"), person("Omar", "Haddad", "2010-07-03")),
    "date-day-digit": (person("Abena", "Mensah", "2011-09-17"), person("Abena", "Mensah", "2011-09-18")),
    "date-year-off-by-one": (person("Jakub", "Kowalski", "2009-05-30"), person("Jakub", "Kowalski", "2010-05-30")),
    "second-given-missing": (person("María José", "Torres", "2012-01-15"), person("María", "Torres", "2012-01-15")),
    "nickname-and-typo": (person("Robert", "Henderson", "2007-04-11"), person("Bob", "Hendersen", "2007-04-11")),
    "swapped-and-date-swapped": (
        person("Ximena", "Ortiz", "2012-05-09"),
        person("Ortiz", "Ximena", "2012-09-05"),
    ),
}


@pytest.mark.parametrize(("record", "query"), SAME_PERSON.values(), ids=SAME_PERSON.keys())
def test_variants_of_one_person_are_found(record: Identity, query: Identity) -> None:
    assert is_possible_match(record, query)
    assert is_possible_match(query, record)
    assert found(record, query)
    assert found(query, record)


DIFFERENT_PEOPLE = {
    "twins-different-names": (person("Sofía", "Ramírez", "2010-06-01"), person("Valeria", "Ramírez", "2010-06-01")),
    "twins-gendered-names": (person("Daniel", "Ortega", "2011-02-20"), person("Daniela", "Ortega", "2011-02-20")),
    "twins-alike-names": (person("Mariana", "Castro", "2009-09-09"), person("Maria", "Castro", "2009-09-09")),
    "same-name-years-apart": (person("Michael", "Johnson", "2006-03-14"), person("Michael", "Johnson", "2012-03-14")),
    "same-name-other-date-same-year": (
        person("Ashley", "Williams", "2008-02-11"),
        person("Ashley", "Williams", "2008-10-27"),
    ),
    "siblings-same-year": (person("Kwame", "Owusu", "2010-01-05"), person("Kofi", "Owusu", "2010-11-23")),
    "nothing-in-common": (person("Priya", "Patel", "2007-07-07"), person("Connor", "Sullivan", "2013-12-01")),
}


@pytest.mark.parametrize(("record", "query"), DIFFERENT_PEOPLE.values(), ids=DIFFERENT_PEOPLE.keys())
def test_distinct_people_are_not_matched(record: Identity, query: Identity) -> None:
    assert not is_possible_match(record, query)
    assert not found(record, query)


def test_similarity_is_bounded_symmetric_and_one_for_the_same_identity() -> None:
    a, b = SAME_PERSON["family-second-part-only"]
    assert similarity(a, a) == 1.0
    assert 0.0 <= similarity(a, b) <= 1.0
    assert similarity(a, b) == pytest.approx(similarity(b, a))
    assert 0.0 < MATCH_THRESHOLD < 1.0


def test_blind_index_keys_differ_between_deployments() -> None:
    someone = person("Guadalupe", "Hernández Flores", "2009-04-12")
    here, there = blocking_keys(KEYS, someone), blocking_keys(OTHER_DEPLOYMENT, someone)
    assert here and there
    assert not here & there
    assert blocking_keys(KEYS, someone) == here  # deterministic under one key
    for key in here:
        assert len(key) == 64 and int(key, 16) >= 0  # a bare HMAC: no name or date in clear
        assert "2009" not in key


def test_candidates_come_best_first_and_skip_unknown_records() -> None:
    records = {
        "exact": person("Camila", "Rojas Vega", "2010-10-10"),
        "typo": person("Camila", "Rojas Vega", "2010-10-11"),
        "twin": person("Emiliano", "Rojas Vega", "2010-10-10"),
    }
    index = build_index(KEYS, records.items())
    index.setdefault(next(iter(blocking_keys(KEYS, records["exact"]))), set()).add("deleted")
    assert find_candidates(KEYS, person("Camila", "Rojas-Vega", "2010-10-10"), index, records) == ["exact", "typo"]


def test_keys_are_few_and_rarely_shared() -> None:
    population = generate()
    counts = [len(blocking_keys(KEYS, p.identity)) for p in population.people]
    index = build_index(KEYS, ((p.record_id, p.identity) for p in population.people))
    assert max(counts) <= 20
    assert max(len(ids) for ids in index.values()) <= 8


def _measure(population_seed: int) -> dict[str, float]:
    population = generate(seed=population_seed)
    identities = {p.record_id: p.identity for p in population.people}
    index = build_index(KEYS, identities.items())
    missed: Counter[str] = Counter()
    hits = returned = true_returned = 0
    for variant in population.variants:
        candidates = find_candidates(KEYS, variant.identity, index, identities)
        returned += len(candidates)
        if variant.record_id in candidates:
            hits += 1
            true_returned += 1
        else:
            missed.update(variant.kinds)
    false_lookalikes = 0
    for lookalike in population.lookalikes:
        false_lookalikes += len(find_candidates(KEYS, lookalike.identity, index, identities))
    returned += false_lookalikes
    return {
        "people": len(population.people),
        "variants": len(population.variants),
        "lookalikes": len(population.lookalikes),
        "recall": hits / len(population.variants),
        "precision": true_returned / returned,
        "lookalikes_matched": false_lookalikes / len(population.lookalikes),
        "missed": missed,  # type: ignore[dict-item]
    }


def test_precision_and_recall_on_synthetic_people(record_property: Callable[[str, object], None]) -> None:
    started = time.perf_counter()
    result = _measure(population_seed=20250101)
    elapsed = time.perf_counter() - started
    summary = (
        f"matching: recall={result['recall']:.3f} precision={result['precision']:.3f} "
        f"({result['people']} records, {result['variants']} variant queries, {result['lookalikes']} look-alike "
        f"queries, {result['lookalikes_matched']:.1%} of look-alikes proposed; {elapsed:.2f} s)"
    )
    print("\n" + summary)
    print(f"matching: misses by variant kind: {dict(result['missed'])}")  # type: ignore[call-overload]
    record_property("matching_recall", round(result["recall"], 4))
    record_property("matching_precision", round(result["precision"], 4))
    assert result["people"] >= 1000
    assert result["recall"] >= 0.95, summary
    assert result["precision"] >= 0.95, summary


def test_synthetic_population_covers_every_variant_and_lookalike_kind() -> None:
    population = generate()
    seen = {kind for v in population.variants for kind in v.kinds}
    assert seen == set(VARIANT_KINDS)
    assert {other.kind for other in population.lookalikes} == set(LOOKALIKE_KINDS)
    assert len({p.record_id for p in population.people}) == len(population.people) >= 1000
    assert all(date(1999, 1, 1) < p.identity.birth_date < date(2016, 1, 1) for p in population.people)
    assert generate() == population  # seeded: the same every run
