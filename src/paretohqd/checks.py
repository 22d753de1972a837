"""Validation helpers shared by every module (numpy-free): messages name the argument and the offending rows."""

from __future__ import annotations

from collections.abc import Sequence

_MAX_ROWS_SHOWN = 5


def describe_rows(rows: Sequence[int]) -> str:
    """'rows [i, j, ...]' naming the first few offending row indices, then how many more."""
    shown = ", ".join(str(int(r)) for r in rows[:_MAX_ROWS_SHOWN])
    more = f" and {len(rows) - _MAX_ROWS_SHOWN} more" if len(rows) > _MAX_ROWS_SHOWN else ""
    return f"rows [{shown}]{more}"


def check_positive_int(value, name: str) -> int:
    """Return `value` as an int if it is a positive integer (bool excluded); else a ValueError naming `name`."""
    if isinstance(value, bool) or not hasattr(value, "__index__") or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)
