"""SQL identifiers: the only text we ever splice into a statement.

Values always travel as statement parameters. Table and column names cannot,
so they are quoted here: wrapped in double quotes with embedded double quotes
doubled, which DuckDB reads back as exactly the original name.
"""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """``name`` as a quoted DuckDB identifier, e.g. ``a"b`` -> ``"a""b"``.

    Rejects non-strings, empty names and names holding a NUL character,
    which no SQL identifier can carry.
    """
    if not isinstance(name, str):
        raise TypeError(f"SQL identifier must be a str, got {type(name).__name__} ({name!r}). "
                        "Fix: name tables and columns with strings.")
    if not name:
        raise ValueError("SQL identifier is empty. Fix: give the table or column a name.")
    if "\x00" in name:
        raise ValueError(f"SQL identifier {name!r} contains a NUL character. Fix: rename it.")
    return '"' + name.replace('"', '""') + '"'


def quote_list(names: list[str] | tuple[str, ...]) -> str:
    """Comma-separated quoted identifiers, for column lists."""
    return ", ".join(quote_identifier(n) for n in names)
