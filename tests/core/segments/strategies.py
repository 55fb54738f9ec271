"""Hypothesis strategies for the export tests: random rules and visitor frames.

Column names and category values are chosen to stress quoting (quotes,
backslashes, ``--``, ``;``, ``?``, unicode, case variants). Float columns
tell a missing value (NULL) from a NaN so the DuckDB side can hold both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import strategies as st

from pytyche_core.contracts import BetweenRule, ComparisonRule, EqRule, InRule, SegmentRule

ROW = "__row"
NULL = None
NAN = math.nan

CATEGORIES = [
    "mobile", "MOBILE", " mobile", "", "it's", 'say "hi"', "back\\slash", "naïve 😀",
    "--", "x'; DROP TABLE t; --", "?", "$1", "a\nb", "%", "_",
]

FLOAT_FEATURES = ("age", 'spend "eur"')
INT_FEATURES = ("n; orders",)
NULLABLE_INT_FEATURES = ("visits",)
BOOL_FEATURES = ("is member",)
NULLABLE_BOOL_FEATURES = ("opted-in",)
NUMERIC_FEATURES = (FLOAT_FEATURES + INT_FEATURES + NULLABLE_INT_FEATURES
                    + BOOL_FEATURES + NULLABLE_BOOL_FEATURES)
# pandas 3 default str dtype, categorical, and the NA-based "string" dtype.
TEXT_FEATURES = ("device -- type", "país", "Note")

# Shared by data and thresholds so that ties (x == threshold) are common.
NUMBERS = [-3.5, -1.0, -0.0, 0.0, 0.1, 0.30000000000000004, 0.5, 1.0, 2.5, 30.0, 1e-300,
           float(2**53), float(2**53 + 2)]
BIG_INTS = [2**53, 2**53 + 1, 2**53 + 3, -(2**53) - 1]

thresholds = st.one_of(
    st.sampled_from(NUMBERS),
    st.floats(-100, 100, allow_nan=False, allow_infinity=False),
)

clauses = st.one_of(
    st.builds(EqRule, st.sampled_from(TEXT_FEATURES), st.sampled_from([*CATEGORIES, "absent"])),
    st.builds(InRule, st.sampled_from(TEXT_FEATURES),
              st.lists(st.sampled_from([*CATEGORIES, "absent"]), min_size=1, max_size=4).map(tuple)),
    st.builds(ComparisonRule, st.sampled_from(NUMERIC_FEATURES),
              st.sampled_from(["gt", "gte", "lt", "lte"]), thresholds),
    st.builds(lambda f, pair: BetweenRule(f, *sorted(pair)),
              st.sampled_from(NUMERIC_FEATURES), st.tuples(thresholds, thresholds)),
)

# Empty lists give the catch-all.
rules = st.builds(SegmentRule, st.text(max_size=8), st.lists(clauses, max_size=4).map(tuple))


@dataclass(frozen=True)
class Visitors:
    """One random visitor table in two encodings of the same rows.

    ``frame`` is what ``apply_rule`` sees (NaN and NULL both NaN).
    ``arrow`` keeps NaN apart from NULL in float columns, as a DuckDB or
    Parquet table can.
    """

    frame: pd.DataFrame
    arrow: pa.Table


_float_cells = st.one_of(st.sampled_from([*NUMBERS, math.inf, -math.inf, NULL, NAN]),
                         st.floats(-100, 100))
_text_cells = st.one_of(st.sampled_from(CATEGORIES), st.none())


@st.composite
def visitors(draw) -> Visitors:
    n = draw(st.integers(0, 20))
    col = lambda cells: draw(st.lists(cells, min_size=n, max_size=n))  # noqa: E731
    floats = {name: col(_float_cells) for name in FLOAT_FEATURES}
    data = {name: pd.Series(values, dtype="float64") for name, values in floats.items()}
    data[INT_FEATURES[0]] = pd.Series(col(st.one_of(st.integers(-5, 5), st.sampled_from(BIG_INTS))),
                                      dtype="int64")
    data[NULLABLE_INT_FEATURES[0]] = pd.Series(col(st.one_of(st.integers(-5, 5), st.none())),
                                               dtype="Int64")
    data[BOOL_FEATURES[0]] = pd.Series(col(st.booleans()), dtype="bool")
    data[NULLABLE_BOOL_FEATURES[0]] = pd.Series(col(st.one_of(st.booleans(), st.none())),
                                                dtype="boolean")
    data[TEXT_FEATURES[0]] = pd.Series(col(_text_cells), dtype="str")
    data[TEXT_FEATURES[1]] = pd.Series(pd.Categorical(col(_text_cells)))
    data[TEXT_FEATURES[2]] = pd.Series(col(_text_cells), dtype="string")
    data[ROW] = pd.Series(np.arange(n), dtype="int64")
    frame = pd.DataFrame(data)
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    for name, values in floats.items():
        # A Python list keeps NaN as a value and None as null.
        arrow = arrow.set_column(arrow.schema.get_field_index(name), name,
                                 pa.array(values, type=pa.float64()))
    return Visitors(frame, arrow)
