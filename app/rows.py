"""`select_rows`: SQLModel's `select` for queries of more columns than its typed overloads list."""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql._typing import _ColumnsClauseArgument
from sqlmodel.sql.expression import Select

ColumnArgument = _ColumnsClauseArgument[Any]  # what a SELECT may list: a column, an expression, a label, an entity


def select_rows(*columns: ColumnArgument) -> Select[*tuple[Any, ...]]:
    """A SELECT of several columns whose rows are tuples of Any, built exactly as `sqlmodel.select` builds it.

    SQLModel types `select` for one to four columns only; past four, mypy finds no overload. The statement
    is the same `Select` either way, so `Session.exec` returns rows, not scalars.
    """
    return Select(*columns)
