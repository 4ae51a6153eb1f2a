"""API: finding the caller's agency's youth by name or part of a case number."""

from __future__ import annotations

from fastapi import APIRouter

from app.db import SessionDep
from app.deps import ApiUserDep, KeysDep
from app.errors import InvalidInput, responses
from app.records import service as records
from app.records.schemas import YouthFound, YouthSearch

router = APIRouter()


@router.post("/youth/find", response_model=YouthFound, tags=["youth"], responses=responses(InvalidInput))
def find_youth(query: YouthSearch, db: SessionDep, keys: KeysDep, user: ApiUserDep) -> YouthFound:
    """The caller's agency's youth whose names or case number match every word of `q`, by name (at most 50).

    Sent in the body, so names stay out of URLs and logs. A query with no word long enough to search by
    (two letters of a name, three characters of a case number) answers 400.
    """
    return records.search(db, keys, user, query)
