"""Typed helpers where SQLModel's own types fall short: SELECTs of many columns, a table model's Core table; and a
column compared in a form no index serves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, inspect, literal_column
from sqlalchemy.sql._typing import _ColumnsClauseArgument
from sqlmodel import SQLModel
from sqlmodel.sql.expression import Select

ColumnArgument = _ColumnsClauseArgument[Any]  # what a SELECT may list: a column, an expression, a label, an entity


def select_rows(*columns: ColumnArgument) -> Select[*tuple[Any, ...]]:
    """A SELECT of several columns whose rows are tuples of Any, built exactly as `sqlmodel.select` builds it.

    SQLModel types `select` for one to four columns only; past four, mypy finds no overload. The statement
    is the same `Select` either way, so `Session.exec` returns rows, not scalars.
    """
    return Select(*columns)


def table_of(model: type[SQLModel]) -> Table:
    """The Core `Table` a table model maps (SQLModel sets `__table__` on each but does not declare it)."""
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


def unindexed(column: Any) -> Any:
    """The column as `column || ''`: the same value, which no index serves. In a condition, it keeps the database
    from reaching rows through that column's index when another way in is the one that scales (SQLite has no
    statistics, TellOnce never runs ANALYZE there, and otherwise picks the index matching the most terms)."""
    return column.op("||")(literal_column("''"))
