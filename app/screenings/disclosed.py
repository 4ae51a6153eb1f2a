"""What a stored result shows a reader: the same keys whatever the engine version that scored it, and
nothing that quotes an answer unless the reader may see the answers.

An indicator's evidence quotes answers; so do the members of a clause over items, weights or the
total (they name the questions behind a count or sum). Without the item-answers category both go.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from app import levels

# Clauses over these collections name the questions behind a count or sum: they quote answers.
ANSWER_COLLECTIONS = frozenset({"items", "weights", "total"})


def _reason(reason: dict[str, Any], with_answers: bool) -> dict[str, Any]:
    clauses = [
        c if with_answers or c.get("collection") not in ANSWER_COLLECTIONS else {**c, "members": []}
        for c in reason.get("clauses") or ()
    ]
    return {**reason, "clauses": clauses}


def result_summary(result: dict[str, Any], with_answers: bool) -> dict[str, Any]:
    """The stored result with the levels every page shows, and the same keys whatever its engine version.

    Without item answers, the indicators lose their evidence and the clauses over items, weights or
    the total their members: both quote answers.
    """
    domains = [
        {**d, "level": levels.shown(d["level"], domain=True), "reason": _reason(d.get("reason") or {}, with_answers)}
        for d in result.get("domains", ())
    ]
    out = {
        **result,
        "overall": levels.shown(result["overall"]),
        "reason": _reason(result.get("reason") or {}, with_answers),
        "domains": domains,
        "skipped_sections": list(result.get("skipped_sections") or ()),
        "total": result.get("total"),
    }
    if not with_answers:
        out["indicators"] = [{k: v for k, v in i.items() if k != "evidence"} for i in result.get("indicators", ())]
    return out


def without_items(result: dict[str, Any], hidden: Collection[str]) -> dict[str, Any]:
    """The stored result without the evidence and clause members of the `hidden` items: answers given at
    an agency that has not consented to the reader (they reached the owner under its own consent)."""
    if not hidden:
        return result

    def reason(r: dict[str, Any]) -> dict[str, Any]:
        clauses = [
            {**c, "members": [m for m in c.get("members") or () if m not in hidden]}
            if c.get("collection") in ANSWER_COLLECTIONS
            else c
            for c in r.get("clauses") or ()
        ]
        return {**r, "clauses": clauses}

    return {
        **result,
        "reason": reason(result.get("reason") or {}),
        "domains": [{**d, "reason": reason(d.get("reason") or {})} for d in result.get("domains", ())],
        "indicators": [
            {**i, "evidence": [e for e in i.get("evidence") or () if e.get("item_id") not in hidden]}
            for i in result.get("indicators", ())
        ],
    }
