"""A savepoint that holds on both engines: part of a request's work that can fail alone, leaving the rest.

On SQLite, Python's sqlite3 driver opens a transaction only before an INSERT, UPDATE or DELETE. A request
that has only read when it sets a savepoint would have SQLite open the transaction with the SAVEPOINT
itself, and then releasing that savepoint commits it: its writes would survive a later rollback of the
request. So on SQLite the request's transaction is opened first (BEGIN) when the driver has none open.
"""

from __future__ import annotations

from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session


def savepoint(db: Session) -> SessionTransaction:
    """A nested transaction (`with savepoint(db): ...`): rolled back alone when its block raises."""
    connection = db.connection()
    if connection.dialect.name == "sqlite":
        driver = connection.connection.dbapi_connection
        if not getattr(driver, "in_transaction", True):
            connection.exec_driver_sql("BEGIN")
    return db.begin_nested()
