"""Hot reads compiled once per shape and run as SQL text with parameters.

A Core statement built and compiled for every request costs CPU before the database sees it: the
constructs, the cache key and the compiled-cache lookup (for a projection read about as much as the
database spends on it). A hot read is instead built once per shape with named bind parameters
(``param``), compiled once (``compiled``, cached by the caller per shape), and bound per request
(``bound``) into SQL text and a parameter tuple for ``conn.exec_driver_sql``.
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.mysql import asyncmy
from sqlalchemy.sql.compiler import SQLCompiler

Template = tuple[str, tuple[tuple[str, Any], ...]]  # SQL text, parameters in order: (name, fixed value or None)
Prepared = tuple[str, tuple[Any, ...]]  # SQL text of the services' driver and its parameters
DIALECT = asyncmy.dialect()  # the services' driver ("format" parameters)


def compiled(statement: sa.ClauseElement) -> Template:
    """A statement of named parameters compiled once: its SQL and its parameters in order (name, and the
    fixed value of a literal or None)."""
    result = cast(SQLCompiler, statement.compile(dialect=DIALECT))
    return result.string, tuple((name, result.binds[name].value) for name in result.positiontup or [])


def bound(template: Template, values: dict[str, Any]) -> Prepared:
    """The template's SQL with its parameters taken from ``values`` by name."""
    sql, names = template
    return sql, tuple(values[name] if fixed is None else fixed for name, fixed in names)


def param(name: str, type_: sa.types.TypeEngine[Any] | None = None) -> sa.BindParameter[Any]:
    """A named parameter (an integer unless typed)."""
    return sa.bindparam(name, type_=type_ or sa.Integer())
