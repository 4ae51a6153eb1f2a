"""A savepoint is part of the request's transaction on both engines: released, its writes still go when the
request rolls back (on SQLite, releasing a savepoint that opened the transaction would have committed them)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from app.models import Agency
from app.savepoint import savepoint


def _names(engine: Engine) -> list[str]:
    with Session(engine) as fresh:
        return sorted(a.name for a in fresh.exec(select(Agency)))


def test_a_released_savepoint_is_rolled_back_with_the_request(engine: Engine, session: Session) -> None:
    """(`session`: the tables are emptied after the test.)"""
    with Session(engine) as request:
        request.exec(select(Agency)).all()  # the request has only read so far
        with savepoint(request):
            request.add(Agency(name="Kept in the savepoint", kind="shelter"))
            request.flush()
        try:
            with savepoint(request):
                request.add(Agency(name="Failed alone", kind="shelter"))
                request.flush()
                raise RuntimeError("this part fails")
        except RuntimeError:
            pass
        assert [a.name for a in request.exec(select(Agency))] == ["Kept in the savepoint"]
        request.rollback()  # the request fails after all
    assert _names(engine) == []

    with Session(engine) as request:
        with savepoint(request):
            request.add(Agency(name="Committed with the request", kind="shelter"))
        request.commit()
    assert _names(engine) == ["Committed with the request"]
