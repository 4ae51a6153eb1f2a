"""The bare FastAPI app bench/web.py measures TellOnce against: the same routes and request and response
shapes, validated by Pydantic models, with no database, no session, no template and no middleware.

    python -m uvicorn web_bare:app --app-dir bench --port 8001

The screening routes answer what TellOnce's would (a screening with an id, a version and, once saved, the
answers echoed back) from memory, and `/api/v1/me` a user of the same shape. The page routes answer a fixed
HTML page of `bytes` bytes, so the bench asks for as many bytes as TellOnce's page has and the baseline moves
the same amount of data.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

app = FastAPI(title="bare", docs_url=None, redoc_url=None)
_ids = itertools.count(1)


class ScreeningCreate(BaseModel):
    youth_id: str = Field(min_length=1, max_length=64)
    instrument_id: str = Field(min_length=1, max_length=100)
    instrument_version: str | None = None
    mode: Literal["practitioner", "interview", "self"]
    language: str = "en"


class AnswersSave(BaseModel):
    version: int
    answers: dict[str, str | list[str] | int | None] = Field(default_factory=dict, max_length=500)
    notes: str | None = Field(default=None, max_length=20000)


class Complete(BaseModel):
    version: int


class ScreeningPublic(BaseModel):
    id: str
    youth_id: str
    instrument_id: str
    mode: str
    language: str
    status: str
    started_at: datetime
    completed_at: datetime | None = None
    overall_level: str | None = None
    version: int
    answers: dict[str, Any] = Field(default_factory=dict)


def _screening(screening_id: str, version: int, **fields: Any) -> ScreeningPublic:
    base: dict[str, Any] = {
        "youth_id": "y",
        "instrument_id": "tellonce-youth-self-report",
        "mode": "interview",
        "language": "en",
        "status": "in_progress",
    }
    return ScreeningPublic(id=screening_id, version=version, started_at=datetime.now(UTC), **(base | fields))


@app.post("/api/v1/screenings", response_model=ScreeningPublic, status_code=201)
def start(data: ScreeningCreate) -> ScreeningPublic:
    return _screening(f"s{next(_ids)}", 1, youth_id=data.youth_id, instrument_id=data.instrument_id, mode=data.mode)


@app.put("/api/v1/screenings/{screening_id}/answers", response_model=ScreeningPublic)
def save(screening_id: str, data: AnswersSave) -> ScreeningPublic:
    answers = {key: {"value": value, "source": "given"} for key, value in data.answers.items()}
    return _screening(screening_id, data.version + 1, answers=answers)


@app.post("/api/v1/screenings/{screening_id}/complete", response_model=ScreeningPublic)
def complete(screening_id: str, data: Complete) -> ScreeningPublic:
    now = datetime.now(UTC)
    return _screening(screening_id, data.version + 1, status="completed", completed_at=now, overall_level="none")


class UserPublic(BaseModel):
    id: str
    agency_id: str
    email: str
    display_name: str
    role: str
    is_active: bool
    last_login_at: datetime | None
    version: int
    language: str


@app.get("/api/v1/me", response_model=UserPublic)
def me() -> UserPublic:
    return UserPublic(
        id="u",
        agency_id="a",
        email="screener@riverbend.example.org",
        display_name="Screener",
        role="screener",
        is_active=True,
        last_login_at=datetime.now(UTC),
        version=1,
        language="en",
    )


@lru_cache(maxsize=64)
def _page(size: int) -> str:
    head = "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>bare</title></head><body><p>"
    tail = "</p></body></html>"
    return head + "x" * max(0, size - len(head) - len(tail)) + tail


@app.get("/", response_class=HTMLResponse)
def dashboard(bytes: int = 2000) -> HTMLResponse:
    return HTMLResponse(_page(bytes))


@app.get("/youth/{youth_id}", response_class=HTMLResponse)
def record(youth_id: str, bytes: int = 2000) -> HTMLResponse:
    return HTMLResponse(_page(bytes))


@app.get("/screenings/{screening_id}/result", response_class=HTMLResponse)
def result(screening_id: str, bytes: int = 2000) -> HTMLResponse:
    return HTMLResponse(_page(bytes))
