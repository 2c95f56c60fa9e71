"""Bad-input catalogue: bad and edge inputs x the four generators x fit / score_samples / sample.

Every case hands one input to one method of one model and classifies what comes back:

* ``correct``: it returned, and the result is right: scores of shape ``(n,)``, no NaN, no
  ``+inf`` (``-inf`` only where the case says it is the right answer, e.g. a fractional
  value in an integer column); samples of the fitted kind and shape (a DataFrame with the
  training columns, a 3-D array, strings, token lists or simple undirected graphs), finite,
  and ``score_samples`` of them finite. For ``fit`` the fitted model must sample that way,
  and score the first rows it was fitted on without NaN or ``+inf``;
* ``clear``: a documented error (``ValueError``, ``TypeError``, ``skbridge.TrainingError``,
  ``sklearn.exceptions.NotFittedError``) whose message matches the case's keywords (the
  column's name, "NaN", "self-loop", ...);
* ``obscure``: a documented error whose message lacks the keywords, or a result that is
  dubious without being wrong (``-inf`` where a finite score is due), or a bad result that
  a warning announced;
* ``garbage``: a silent wrong result: NaN or ``+inf`` scores, non-finite or malformed
  samples, or an input that must be refused (a directed graph, a complex number) accepted
  as something else;
* ``crash``: any other exception (``RuntimeError``, ``IndexError``, ``KeyError``, torch
  errors, ...), also when raised by the sample/score check after a fit that returned.

Score-time and sample-time cases use one model per (model, data kind) fitted on good data.
Fits are tiny (20-30 iterations, 16 hidden units, 4-8 steps): the catalogue tests the
handling of inputs, not the quality of models.

Usage::

    python benchmarks/bad_inputs.py                    # all cases, benchmarks/results/bad_inputs.json
    python benchmarks/bad_inputs.py --quick            # a subset, results/bad_inputs_quick.json
    python benchmarks/bad_inputs.py --models VAE --cases nan 1e20
    python benchmarks/bad_inputs.py --list             # the cases, without running them

The script prints the counts per class (overall, per model, per method) and every case that
is neither correct nor clear with its message. Rows are merged into the results file by
(case, model), as in the other benchmarks.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import save_rows  # noqa: E402

MODELS = ("ScoreSDE", "SBVAE", "VAE", "FlowMatching")
CLASSES = ("correct", "clear", "obscure", "garbage", "crash")
KINDS = ("table", "frame", "series", "tokens", "tokenlists", "graphs")

_DIFF = dict(max_iter=30, n_steps=8, hidden_layer_sizes=(16,), batch_size=32, n_elbo_samples=1)
PARAMS = {
    "ScoreSDE": _DIFF,
    # the Gaussian-KL criterion instead of the MMD: the MMD's noise floor costs seconds per fit
    "SBVAE": dict(
        _DIFF,
        encoder_min_iter=1,
        encoder_max_iter=2,
        validation_interval=1,
        n_decoder_steps=1,
        encoder_criterion="gaussian_kl",
    ),
    "VAE": dict(max_iter=30, hidden_layer_sizes=(16,), batch_size=32, n_importance_samples=4),
    "FlowMatching": dict(
        max_iter=30, n_steps=4, solver="euler", hidden_layer_sizes=(16,), batch_size=32
    ),
}
# Graph diffusion models diverge when sampled after a few dozen steps (all-NaN model
# vectors, a ConvergenceWarning at fit); 500 steps of a 32x32 network sample finite vectors
_GRAPH_DIFF = dict(max_iter=500, hidden_layer_sizes=(32, 32))
KIND_PARAMS = {("ScoreSDE", "graphs"): _GRAPH_DIFF, ("SBVAE", "graphs"): _GRAPH_DIFF}
# the package's informational warning of every tiny SBVAE fit: not about the input
_IGNORED_WARNINGS = ("EncoderNotKeptWarning",)


def make_model(name: str, seed: int = 0, **params):
    import skbridge

    return getattr(skbridge, name)(random_state=seed, **{**PARAMS[name], **params})


def documented_errors() -> tuple[type, ...]:
    from sklearn.exceptions import NotFittedError

    from skbridge import TrainingError

    return (ValueError, TypeError, TrainingError, NotFittedError)


# ------------------------------------------------------------------------------ data
def _rng(seed=0):
    return np.random.default_rng(seed)


def _small(kind):
    """``skbridge.testing.small_data`` for one kind: ``maker(n=None, seed=0, **options)``."""

    def maker(n=None, seed=0, **options):
        from skbridge.testing import small_data

        return small_data(kind, n, seed, **options)

    return maker


table, frame, series, tokens, tokenlists, graphs = map(
    _small, ("table", "frame", "series", "tokens", "tokenlists", "graphs")
)


def token_ids(n=30, seed=0, equal=False):
    """Lists of integer token ids 0-3, lengths 2-5 (or all 4)."""
    rng = _rng(seed)
    return [
        [int(v) for v in rng.integers(0, 4, 4 if equal else int(rng.integers(2, 6)))]
        for _ in range(n)
    ]


def _nx():
    import networkx as nx

    return nx


def _pd():
    import pandas as pd

    return pd


GOOD = {
    "table": table,
    "frame": frame,
    "series": series,
    "tokens": tokens,
    "tokenlists": tokenlists,
    "graphs": graphs,
}


def _with(X, i, j, value):
    X = np.array(X, dtype=np.float64)
    X[i, j] = value
    return X


def _frame_with(column, values, n=40, seed=0, **cols):
    df = frame(n, seed)
    df[column] = values(df) if callable(values) else values
    for k, v in cols.items():
        df[k] = v
    return df


def _set(df, column, row, value):
    df = df.copy()
    if df[column].dtype == np.int64 and not float(value).is_integer():
        df[column] = df[column].astype(np.float64)
    df.loc[row, column] = value
    return df


# ----------------------------------------------------------------------------- cases
@dataclass
class Case:
    """One input for one method.

    ``make()`` builds the input (for ``sample``: the keyword arguments). ``keys`` are
    regular expressions that a clear error message matches, all of them (case-insensitive).
    ``expect``: ``"ok"`` (a valid input, must give a correct result), ``"error"`` (must be
    refused: a returned result is garbage, ``why`` says why) or ``"either"``. ``kind`` is the
    data the reference model was fitted on (score/sample) or the kind of the input (fit).
    ``check(model, output)`` may return a problem with a result that looks right.
    """

    method: str
    kind: str
    name: str
    make: Callable[[], Any]
    keys: tuple = ()
    expect: str = "either"
    why: str = ""
    params: dict | None = None
    neginf: bool = False
    check: Callable | None = None
    quick: bool = False

    @property
    def id(self):
        return f"{self.method}:{self.kind}:{self.name}"


def _round_trip(model, _):
    """The fitted codec decodes the encoded training data back to it (a token taken for the
    padding is lost)."""
    X = _with_end(tokenlists()) if model.codec_.variable_length_ else _END_EQUAL
    P, _ = model.codec_.encode(X)
    back = model.codec_.decode(P)
    if back != X:
        i = next(i for i, (a, b) in enumerate(zip(back, X, strict=False)) if a != b)
        return f"the codec's round trip changes training sequence {i}: {X[i]} -> {back[i]}"
    return None


_END_EQUAL = [["A", "<end>", "B"], ["B", "A", "<end>"]] * 10


def _token_ids_kept(model, samples):
    codec = model.codec_
    if codec.modality != "sequence" or codec.kind_ != "tokens":
        return f"integer token ids were modelled as {codec.modality} data ({getattr(codec, 'kind_', '')})"
    if not all(isinstance(t, (int, np.integer)) for s in samples for t in s):
        return "samples are not lists of integer token ids"
    return None


NAN_KEYS = ("nan|missing|not a number",)
INF_KEYS = ("inf",)


def fit_cases():
    pd, nx = _pd, _nx
    C = []

    def add(kind, name, make, keys=(), expect="either", **kw):
        C.append(Case("fit", kind, name, make, tuple(keys), expect, **kw))

    # --------------------------------------------------------------- numeric arrays
    add("table", "NaN", lambda: _with(table(), 3, 1, np.nan), NAN_KEYS, "error", quick=True)
    add("table", "inf", lambda: _with(table(), 3, 1, np.inf), INF_KEYS, "error")
    add("table", "-inf", lambda: _with(table(), 3, 1, -np.inf), INF_KEYS, "error")
    add("table", "huge 1e154", lambda: table() * 1e154, ("scale|large|overflow",), "ok", quick=True)
    add("table", "huge 1e300", lambda: table() * 1e300, ("scale|large|overflow",), "ok")
    add(
        "table",
        "near the float maximum (1.7e308)",
        lambda: np.c_[table()[:, :2], _rng().uniform(-1.0, 1.0, 40) * 1.7e308],
        ("scale|large|overflow",),
        "ok",
    )
    add("table", "one column at 1e300", lambda: table() * [1.0, 1e300, 1.0], ("scale|large",), "ok")
    add("table", "tiny 1e-300", lambda: table() * 1e-300, ("scale|small|tiny",), "ok")
    add("table", "subnormal 1e-310", lambda: table() * 1e-310, ("scale|small|subnormal",), "either")
    add("table", "tiny scale 1e-13", lambda: table() * 1e-13, ("scale|small|tiny",), "ok")
    add(
        "table",
        "1 + 1e-13 spread",
        lambda: 1.0 + table() * 1e-13,
        ("precision|relative|resolution|spread",),
        "ok",
        quick=True,
    )
    add(
        "table",
        "constant column",
        lambda: _with(table(), slice(None), 1, 3.0),
        ("constant",),
        "error",
    )
    add("table", "all constant", lambda: np.ones((20, 3)), ("constant",), "error")
    add("table", "1 row", lambda: table(1), ("1 sample|minimum",), "error")
    add("table", "2 rows", lambda: table(2), ("sample|minimum",), "either")
    add("table", "0 rows", lambda: table(0), ("0 sample|minimum|empty",), "error")
    add("table", "0 columns", lambda: np.empty((10, 0)), ("0 feature",), "error")
    add("table", "1 column", lambda: table()[:, :1], expect="ok")
    add("table", "1-D array", lambda: table()[:, 0], ("2d|reshape",), "error")
    add(
        "table",
        "3-D array, data='tabular'",
        lambda: series(),
        ("dim|3",),
        "error",
        params=dict(data="tabular"),
    )
    add(
        "table",
        "numeric strings",
        lambda: table().astype(str),
        ("numeric|string|dataframe",),
        "either",
    )
    add(
        "table",
        "letters in a numeric array",
        lambda: np.array([["1.5", "a"], ["2", "b"], ["3", "c"]]),
        ("numeric|string|dataframe",),
        "error",
    )
    add("table", "object array of floats", lambda: table().astype(object), expect="ok")
    add(
        "table",
        "object array with None",
        lambda: _obj_with(table(), 3, 1, None),
        ("none|nan|missing",),
        "error",
    )
    add(
        "table",
        "object array with a string",
        lambda: _obj_with(table(), 3, 1, "x"),
        ("numeric|string|dataframe",),
        "error",
    )
    add("table", "bool array", lambda: _rng().normal(size=(40, 3)) > 0, expect="either")
    add("table", "int array", lambda: np.rint(table() * 3).astype(np.int64), expect="ok")
    add(
        "table",
        "int64 beyond 2**53",
        lambda: _rng().integers(2**53, 2**62, (40, 2)),
        ("2\\*\\*5|exact|large",),
        "either",
    )
    add(
        "table",
        "complex",
        lambda: table() + 1j,
        ("complex",),
        "error",
        why="the imaginary part is dropped",
    )
    add("table", "float16", lambda: table().astype(np.float16), expect="ok")
    add("table", "float32", lambda: table().astype(np.float32), expect="ok")
    add("table", "list of lists", lambda: table().tolist(), expect="ok")
    add("table", "scipy sparse", lambda: _sparse(table()), ("sparse|dense",), "error")
    add("table", "None", lambda: None, ("none|array|expected",), "error")
    add("table", "scalar", lambda: 3.0, ("scalar|2d|array",), "error")
    add("table", "dict", lambda: {"a": [1.0, 2.0]}, ("dict|array|expected",), "error")
    add(
        "table",
        "data='graph' on an array",
        lambda: table(),
        ("graph",),
        "error",
        params=dict(data="graph"),
    )
    add(
        "table",
        "data='sequence' on a 2-D array",
        lambda: table(),
        ("sequence|3-d|token",),
        "either",
        params=dict(data="sequence"),
    )

    # --------------------------------------------------------------- DataFrames
    add("frame", "mixed frame", lambda: frame(), expect="ok", quick=True)
    add(
        "frame",
        "NaN in a float column",
        lambda: _set(frame(), "x", 3, np.nan),
        ("'x'", "missing"),
        "error",
        quick=True,
    )
    add(
        "frame",
        "inf in a float column",
        lambda: _set(frame(), "x", 3, np.inf),
        ("'x'", "inf"),
        "error",
    )
    add(
        "frame",
        "NaN in a category column",
        lambda: _set(frame(), "c", 3, np.nan),
        ("'c'", "missing"),
        "error",
    )
    add(
        "frame",
        "None in a string column",
        lambda: _set(frame(), "s", 3, None),
        ("'s'", "missing"),
        "error",
    )
    add(
        "frame",
        "pd.NA in an Int64 column",
        lambda: _frame_with("k", lambda d: d["k"].astype("Int64").mask(d.index == 3)),
        ("'k'", "missing"),
        "error",
    )
    add(
        "frame",
        "nullable Int64",
        lambda: _frame_with("k", lambda d: d["k"].astype("Int64")),
        expect="ok",
    )
    add(
        "frame",
        "nullable Float64",
        lambda: _frame_with("x", lambda d: d["x"].astype("Float64")),
        expect="ok",
    )
    add(
        "frame",
        "nullable Float32",
        lambda: _frame_with("x", lambda d: d["x"].astype("Float32")),
        expect="ok",
    )
    add(
        "frame",
        "nullable boolean",
        lambda: _frame_with("b", lambda d: d["b"].astype("boolean")),
        expect="ok",
    )
    add(
        "frame",
        "pandas string dtype",
        lambda: _frame_with("s", lambda d: d["s"].astype("string")),
        expect="ok",
    )
    add(
        "frame",
        "double[pyarrow]",
        lambda: _frame_with("x", lambda d: d["x"].astype("double[pyarrow]")),
        expect="ok",
        quick=True,
    )
    add(
        "frame",
        "int64[pyarrow]",
        lambda: _frame_with("k", lambda d: d["k"].astype("int64[pyarrow]")),
        expect="ok",
    )
    add(
        "frame",
        "string[pyarrow]",
        lambda: _frame_with("s", lambda d: d["s"].astype("string[pyarrow]")),
        expect="ok",
    )
    add(
        "frame",
        "bool[pyarrow]",
        lambda: _frame_with("b", lambda d: d["b"].astype("bool[pyarrow]")),
        expect="ok",
    )
    add(
        "frame",
        "datetime column",
        lambda: _frame_with("t", lambda d: pd().date_range("2020-01-01", periods=len(d))),
        ("'t'", "dtype|date"),
        "error",
        why="dates modelled as something else",
        quick=True,
    )
    add(
        "frame",
        "tz-aware datetime column",
        lambda: _frame_with("t", lambda d: pd().date_range("2020-01-01", periods=len(d), tz="UTC")),
        ("'t'", "dtype|date"),
        "error",
        why="dates modelled as something else",
    )
    add(
        "frame",
        "timestamp[pyarrow] column",
        lambda: _frame_with(
            "t",
            lambda d: (
                pd()
                .Series(pd().date_range("2020-01-01", periods=len(d)))
                .astype("timestamp[ns][pyarrow]")
            ),
        ),
        ("'t'", "dtype|date|timestamp"),
        "error",
        why="dates modelled as something else",
    )
    add(
        "frame",
        "timedelta column",
        lambda: _frame_with("t", lambda d: pd().to_timedelta(np.arange(len(d)), unit="h")),
        ("'t'", "dtype|timedelta"),
        "error",
        why="durations modelled as something else",
    )
    add(
        "frame",
        "period column",
        lambda: _frame_with("t", lambda d: pd().period_range("2020-01", periods=len(d), freq="M")),
        ("'t'", "dtype|period"),
        "either",
    )
    add(
        "frame",
        "complex column",
        lambda: _frame_with("z", lambda d: d["x"] + 1j),
        ("'z'", "complex|dtype"),
        "error",
        why="complex values modelled as categories or reals",
    )
    add(
        "frame",
        "int64 beyond 2**53",
        lambda: _frame_with("k", lambda d: d["k"] + 2**60),
        ("'k'", "2\\*\\*5|beyond|exact"),
        "error",
        why="integers beyond 2**53 are not exact in float64",
        quick=True,
    )
    add(
        "frame",
        "uint64 beyond 2**63",
        lambda: _frame_with("k", lambda d: d["k"].astype(np.uint64) + np.uint64(2**63)),
        ("'k'", "2\\*\\*5|beyond|exact"),
        "error",
        why="integers beyond 2**53 are not exact in float64",
    )
    add(
        "frame",
        "constant float column",
        lambda: _frame_with("x", 1.5),
        ("'x'", "constant"),
        "error",
    )
    add("frame", "constant int column", lambda: _frame_with("k", 7), ("'k'", "constant"), "error")
    add(
        "frame",
        "single-category column",
        lambda: _frame_with("c", "a"),
        ("'c'", "categor|constant"),
        "either",
    )
    add(
        "frame",
        "huge 1e154 float column",
        lambda: _frame_with("x", lambda d: d["x"] * 1e154),
        ("'x'", "scale|large|overflow"),
        "ok",
    )
    add(
        "frame",
        "huge 1e300 float column",
        lambda: _frame_with("x", lambda d: d["x"] * 1e300),
        ("'x'", "scale|large|overflow"),
        "ok",
    )
    add(
        "frame",
        "1 + 1e-13 spread float column",
        lambda: _frame_with("x", lambda d: 1.0 + d["x"] * 1e-13),
        ("'x'", "precision|relative|resolution|spread"),
        "ok",
    )
    add(
        "frame",
        "only bool columns",
        lambda: frame()[["b"]].assign(b2=lambda d: ~d["b"] ^ (d.index % 3 == 0)),
        expect="ok",
    )
    add(
        "frame",
        "object column of floats",
        lambda: _frame_with("s", lambda d: d["x"].round(1).astype(object)),
        expect="either",
    )
    add(
        "frame",
        "object column of numbers and strings",
        lambda: _frame_with("s", lambda d: [1, "a", 2.5] * 13 + [1]),
        expect="either",
    )
    add(
        "frame",
        "object column of lists",
        lambda: _frame_with("s", lambda d: [[1, 2]] * len(d)),
        ("'s'", "hashable|list"),
        "error",
    )
    add(
        "frame",
        "80 categories",
        lambda: _frame_with("s", lambda d: [f"v{i % 80}" for i in range(len(d))], n=160),
        expect="ok",
    )
    add(
        "frame",
        "category with unused categories",
        lambda: _frame_with("c", lambda d: d["c"].cat.add_categories(["z"])),
        expect="ok",
    )
    add(
        "frame",
        "duplicated column names",
        lambda: frame().set_axis(["x", "k", "c", "b", "x"], axis=1),
        ("duplicat",),
        "error",
    )
    add("frame", "integer column names", lambda: frame().set_axis(range(5), axis=1), expect="ok")
    add(
        "frame",
        "mixed column-name types",
        lambda: frame().set_axis(["x", 1, "c", "b", "s"], axis=1),
        ("string|name",),
        "either",
    )
    add("frame", "1 row", lambda: frame(1), ("1 sample|minimum",), "error")
    add("frame", "0 rows", lambda: frame().iloc[:0], ("0 sample|minimum|empty",), "error")
    add("frame", "0 columns", lambda: frame().iloc[:, :0], ("0 feature",), "error")

    # --------------------------------------------------------------- real series
    add("series", "3-D with NaN", lambda: _with3(series(), np.nan), ("nan",), "error", quick=True)
    add("series", "3-D with inf", lambda: _with3(series(), np.inf), ("inf",), "error")
    add("series", "3-D at 1e6", lambda: series() * 1e6, ("scale|large",), "ok", quick=True)
    add("series", "3-D at 1e154", lambda: series() * 1e154, ("scale|large|overflow",), "ok")
    add("series", "3-D at 1e300", lambda: series() * 1e300, ("scale|large|overflow",), "ok")
    add(
        "series",
        "3-D near the float maximum (1.7e308)",
        lambda: np.clip(series(), -1.0, 1.0) * 1.7e308,
        ("scale|large|overflow",),
        "ok",
    )
    add("series", "3-D at 1e-13 scale", lambda: series() * 1e-13, ("scale|small",), "ok")
    add("series", "3-D at 1e-300 scale", lambda: series() * 1e-300, ("scale|small",), "ok")
    add(
        "series",
        "3-D with a constant channel",
        lambda: _const_channel(series()),
        ("constant",),
        "error",
    )
    add("series", "length-1 series", lambda: series(length=1), ("length",), "either")
    add("series", "one channel", lambda: series(channels=1), expect="ok")
    add("series", "one sequence", lambda: series(n=1), ("sequence|sample|minimum",), "either")
    add("series", "0 sequences", lambda: series(n=0), ("empty|0",), "error")
    add("series", "0 channels", lambda: series()[:, :, :0], ("empty|0",), "error")
    add(
        "series",
        "variable-length real series",
        lambda: [series(1, length=L)[0] for L in (6, 7, 8) * 10],
        ("pad|length|shape",),
        "error",
        quick=True,
    )
    add("series", "list of equal-length 2-D arrays", lambda: list(series()), expect="ok")
    add(
        "series",
        "list of equal-length 1-D arrays",
        lambda: list(series(channels=1)[:, :, 0]),
        expect="ok",
    )
    add(
        "series",
        "3-D complex",
        lambda: series() + 1j,
        ("complex",),
        "error",
        why="the imaginary part is dropped",
    )
    add("series", "3-D int", lambda: np.rint(series() * 5).astype(np.int64), expect="ok")
    add("series", "3-D bool", lambda: series() > 0, expect="either")
    add("series", "3-D object array of floats", lambda: series().astype(object), expect="either")
    add("series", "3-D strings", lambda: series().astype(str), ("numeric|string|float",), "either")
    add("series", "4-D array", lambda: series()[..., None], ("dim|shape",), "error")
    add(
        "series",
        "3-D with data='graph'",
        lambda: series(),
        ("graph",),
        "error",
        params=dict(data="graph"),
    )

    # --------------------------------------------------------------- tokens
    add("tokens", "strings", lambda: tokens(), expect="ok", quick=True)
    add("tokens", "an empty string", lambda: tokens()[:29] + [""], ("empty", "29"), "error")
    add("tokens", "only empty strings", lambda: [""] * 10, ("empty",), "error")
    add(
        "tokens",
        "an empty token list",
        lambda: tokenlists()[:29] + [[]],
        ("empty", "29"),
        "error",
        quick=True,
    )
    add(
        "tokens",
        "'<end>' token, variable lengths",
        lambda: _with_end(tokenlists()),
        ("<end>",),
        "ok",
        check=_round_trip,
        quick=True,
    )
    add(
        "tokens",
        "'<end>' token, equal lengths",
        lambda: _END_EQUAL,
        ("<end>",),
        "ok",
        check=_round_trip,
    )
    add(
        "tokens",
        "'<pad>', '' and ' ' tokens",
        lambda: [["<pad>", "", " "][: 1 + i % 3] + ["A"] for i in range(30)],
        expect="ok",
    )
    add(
        "tokens",
        "None token inside lists",
        lambda: [["A", None, "B"][: 2 + i % 2] for i in range(30)],
        ("none",),
        "either",
    )
    add(
        "tokens",
        "unicode and emoji",
        lambda: ["ä😀b"[: 1 + i % 3] + "é" for i in range(30)],
        expect="ok",
    )
    add("tokens", "one-token alphabet", lambda: ["aaa"] * 10, ("nothing to model",), "error")
    add("tokens", "one string", lambda: ["abcab"], ("sequence|sample|minimum",), "either")
    add("tokens", "one-character strings", lambda: list("abcabcabca"), expect="ok")
    add(
        "tokens",
        "strings and token lists mixed",
        lambda: tokens()[:15] + tokenlists()[15:],
        expect="either",
    )
    add(
        "tokens",
        "a None item",
        lambda: tokens()[:10] + [None] + tokens()[11:],
        ("none", "10"),
        "error",
        quick=True,
    )
    add(
        "tokens",
        "a number among strings",
        lambda: tokens()[:10] + [3] + tokens()[11:],
        ("int", "10"),
        "error",
    )
    add(
        "tokens",
        "integer ids, data='sequence', variable lengths",
        lambda: token_ids(),
        ("token|kind",),
        "ok",
        params=dict(data="sequence"),
        check=_token_ids_kept,
        quick=True,
    )
    add(
        "tokens",
        "integer ids, data='sequence', equal lengths",
        lambda: token_ids(equal=True),
        ("token|kind",),
        "ok",
        params=dict(data="sequence"),
        check=_token_ids_kept,
    )
    add(
        "tokens",
        "integer ids, data='auto', variable lengths",
        lambda: token_ids(),
        ("sequence",),
        "error",
    )
    add(
        "tokens",
        "integer ids, data='auto', equal lengths (a table)",
        lambda: token_ids(equal=True),
        expect="either",
    )
    add(
        "tokens",
        "numpy array of strings",
        lambda: np.array(tokens()),
        ("sequence|list|string|numeric",),
        "either",
    )
    add("tokens", "tuple of strings", lambda: tuple(tokens()), expect="ok")
    add("tokens", "bytes items", lambda: [s.encode() for s in tokens()], ("bytes|str",), "either")
    add(
        "tokens",
        "strings with data='graph'",
        lambda: tokens(),
        ("graph",),
        "error",
        params=dict(data="graph"),
    )
    add(
        "tokens",
        "strings with data='tabular'",
        lambda: tokens(),
        ("numeric|string|dataframe|sequence",),
        "error",
        params=dict(data="tabular"),
    )

    # --------------------------------------------------------------- graphs
    add("graphs", "graphs", lambda: graphs(), expect="ok", quick=True)
    add(
        "graphs",
        "graphs, 30 training steps",
        lambda: graphs(),
        expect="ok",
        params=dict(max_iter=30),
    )
    add("graphs", "one graph without nodes", lambda: graphs()[:19] + [nx().Graph()], expect="ok")
    add(
        "graphs",
        "only graphs without nodes",
        lambda: [nx().Graph() for _ in range(5)],
        ("node|empty|nothing",),
        "either",
    )
    add(
        "graphs",
        "a self-loop",
        lambda: _graph_edit(graphs(), 4, lambda G: G.add_edge(0, 0)),
        ("self-loop", "4"),
        "error",
        quick=True,
    )
    add(
        "graphs",
        "a directed graph",
        lambda: _graph_edit(graphs(), 4, None, nx().DiGraph),
        ("directed", "4"),
        "error",
        why="a directed graph modelled as undirected",
    )
    add(
        "graphs",
        "a multigraph",
        lambda: _graph_edit(graphs(), 4, lambda G: G.add_edge(0, 1), nx().MultiGraph),
        ("multigraph", "4"),
        "error",
    )
    add(
        "graphs",
        "a None item",
        lambda: graphs()[:4] + [None] + graphs()[5:],
        ("none", "4"),
        "error",
        quick=True,
    )
    add(
        "graphs",
        "a graph and a string",
        lambda: graphs()[:4] + ["abc"] + graphs()[5:],
        ("str", "4"),
        "error",
    )
    add("graphs", "one graph", lambda: graphs()[:1], ("graph|sample|minimum",), "either")
    add(
        "graphs",
        "one-node graphs",
        lambda: [nx().empty_graph(1) for _ in range(5)],
        ("node|nothing",),
        "either",
    )
    add(
        "graphs",
        "string node labels",
        lambda: [nx().relabel_nodes(G, str) for G in graphs()],
        expect="ok",
    )
    add(
        "graphs",
        "unsortable node labels",
        lambda: [nx().relabel_nodes(G, {0: "a"}) for G in graphs()],
        expect="ok",
    )
    add("graphs", "attributes (ignored)", lambda: _attributed(graphs()), expect="ok")
    add("graphs", "an empty list", lambda: [], ("empty",), "error")
    add("graphs", "a single graph, not a list", lambda: graphs()[0], ("list",), "error")
    add("graphs", "tuple of graphs", lambda: tuple(graphs()), expect="ok")
    add(
        "graphs",
        "graphs with data='sequence'",
        lambda: graphs(),
        ("graph|sequence|token",),
        "error",
        params=dict(data="sequence"),
    )
    add(
        "graphs",
        "graphs with data='tabular'",
        lambda: graphs(),
        ("graph|numeric|table",),
        "error",
        params=dict(data="tabular"),
    )
    return C


def score_cases():
    pd, nx = _pd, _nx
    C = []

    def add(kind, name, make, keys=(), expect="either", **kw):
        C.append(Case("score_samples", kind, name, make, tuple(keys), expect, **kw))

    T = lambda n=10: table(n, seed=1)  # noqa: E731
    add("table", "held-out rows", lambda: T(), expect="ok", quick=True)
    add("table", "NaN", lambda: _with(T(), 3, 1, np.nan), NAN_KEYS, "error", quick=True)
    add("table", "inf", lambda: _with(T(), 3, 1, np.inf), INF_KEYS, "error")
    add("table", "-inf", lambda: _with(T(), 3, 1, -np.inf), INF_KEYS, "error")
    # far rows may score -inf (score_samples' docstring): their log-density is beyond float32
    far = dict(expect="ok", neginf=True)
    add("table", "row at 1e3", lambda: _with(T(), 3, slice(None), 1e3), expect="ok")
    add("table", "row at 1e20", lambda: _with(T(), 3, slice(None), 1e20), **far, quick=True)
    add("table", "row at -1e20", lambda: _with(T(), 3, slice(None), -1e20), **far)
    add("table", "row at 1e154", lambda: _with(T(), 3, slice(None), 1e154), **far)
    add("table", "row at 1e300", lambda: _with(T(), 3, slice(None), 1e300), **far)
    add("table", "row at 1e-300", lambda: _with(T(), 3, slice(None), 1e-300), expect="ok")
    add("table", "4 columns", lambda: np.c_[T(), T()[:, :1]], ("feature",), "error", quick=True)
    add("table", "2 columns", lambda: T()[:, :2], ("feature",), "error")
    add("table", "0 rows", lambda: T(0), ("0 sample|minimum|empty",), "error")
    add("table", "1 row", lambda: T(1), expect="ok")
    add("table", "1-D array", lambda: T()[0], ("2d|reshape",), "error")
    add(
        "table",
        "letters",
        lambda: np.array([["a", "b", "c"]]),
        ("numeric|string|dataframe",),
        "error",
    )
    add(
        "table",
        "complex",
        lambda: T() + 1j,
        ("complex",),
        "error",
        why="the imaginary part is dropped",
    )
    add("table", "bool array", lambda: T() > 0, expect="either")
    add("table", "int array", lambda: np.rint(T()).astype(np.int64), expect="ok")
    add("table", "float32", lambda: T().astype(np.float32), expect="ok")
    add("table", "list of lists", lambda: T().tolist(), expect="ok")
    add(
        "table",
        "object array with None",
        lambda: _obj_with(T(), 3, 1, None),
        ("none|nan|missing",),
        "error",
    )
    add("table", "a DataFrame", lambda: pd().DataFrame(T(), columns=["a", "b", "c"]), expect="ok")
    add(
        "table",
        "a DataFrame with NaN",
        lambda: pd().DataFrame(_with(T(), 3, 1, np.nan), columns=["a", "b", "c"]),
        NAN_KEYS,
        "error",
        why="NaN in a DataFrame is not checked",
    )
    add(
        "table",
        "a DataFrame with inf",
        lambda: pd().DataFrame(_with(T(), 3, 1, np.inf), columns=["a", "b", "c"]),
        INF_KEYS,
        "error",
        why="inf in a DataFrame is not checked",
    )
    add("table", "scipy sparse", lambda: _sparse(T()), ("sparse|dense",), "error")
    add("table", "None", lambda: None, ("none|array|expected",), "error")
    add("table", "3-D series", lambda: series(), ("dim|3",), "error")
    add(
        "table",
        "list of strings",
        lambda: tokens(),
        ("numeric|string|dataframe|sequence",),
        "error",
    )
    add("table", "list of graphs", lambda: graphs(), ("graph|numeric|table",), "error")

    F = lambda n=10: frame(n, seed=1)  # noqa: E731
    add("frame", "held-out rows", lambda: F(), expect="ok", quick=True)
    add(
        "frame",
        "fractional value in the int column",
        lambda: _set(F(), "k", 3, 2.5),
        expect="ok",
        neginf=True,
        quick=True,
    )
    add(
        "frame", "int value outside the training range", lambda: _set(F(), "k", 3, 100), expect="ok"
    )
    add("frame", "int column as whole floats", lambda: F().astype({"k": float}), expect="ok")
    add(
        "frame",
        "unseen category",
        lambda: _set(F().astype({"c": object}), "c", 3, "zz"),
        ("'c'", "zz"),
        "error",
        quick=True,
    )
    add("frame", "unseen string", lambda: _set(F(), "s", 3, "zz"), ("'s'", "zz"), "error")
    add(
        "frame",
        "NaN in the float column",
        lambda: _set(F(), "x", 3, np.nan),
        ("'x'", "missing"),
        "error",
    )
    add(
        "frame",
        "inf in the float column",
        lambda: _set(F(), "x", 3, np.inf),
        ("'x'", "inf"),
        "error",
    )
    add(
        "frame",
        "None in the category column",
        lambda: _set(F().astype({"c": object}), "c", 3, None),
        ("'c'", "missing"),
        "error",
    )
    add("frame", "float column at 1e3", lambda: _set(F(), "x", 3, 1e3), expect="ok")
    add("frame", "int column at -150", lambda: _set(F(), "k", 3, -150), expect="ok")
    add("frame", "float column at 1e20", lambda: _set(F(), "x", 3, 1e20), **far)
    add("frame", "float column at 1e300", lambda: _set(F(), "x", 3, 1e300), **far)
    add("frame", "a column missing", lambda: F().drop(columns="b"), ("'?b'?|feature",), "error")
    add("frame", "an extra column", lambda: F().assign(extra=1.0), ("extra|feature",), "error")
    add(
        "frame",
        "columns reordered",
        lambda: F()[["s", "b", "c", "k", "x"]],
        ("order|feature",),
        "either",
    )
    add(
        "frame",
        "category column given as numbers",
        lambda: F().assign(c=np.arange(10.0)),
        ("'c'", "numeric|categor"),
        "error",
    )
    add(
        "frame",
        "float column given as strings",
        lambda: F().assign(x="a"),
        ("'x'", "numeric|categor"),
        "error",
    )
    add(
        "frame",
        "bool column given as 0/1",
        lambda: F().assign(b=lambda d: d["b"].astype(int)),
        ("'b'", "numeric|categor"),
        "either",
    )
    add(
        "frame",
        "nullable dtypes",
        lambda: F().astype({"k": "Int64", "x": "Float64", "b": "boolean"}),
        expect="ok",
    )
    add(
        "frame",
        "pyarrow dtypes",
        lambda: F().astype({"k": "int64[pyarrow]", "x": "double[pyarrow]", "s": "string[pyarrow]"}),
        expect="ok",
    )
    add("frame", "category column as plain strings", lambda: F().astype({"c": object}), expect="ok")
    add(
        "frame",
        "datetime instead of the float column",
        lambda: F().assign(x=pd().date_range("2020", periods=10)),
        ("'x'", "dtype|date"),
        "error",
    )
    add("frame", "0 rows", lambda: F().iloc[:0], ("0 sample|minimum|empty",), "error")
    add("frame", "1 row", lambda: F(1), expect="ok")
    add("frame", "a numpy object array", lambda: F().to_numpy(dtype=object), expect="either")

    S = lambda n=5: series(n, seed=1)  # noqa: E731
    add("series", "held-out series", lambda: S(), expect="ok", quick=True)
    add("series", "NaN", lambda: _with3(S(), np.nan), ("nan",), "error")
    add("series", "inf", lambda: _with3(S(), np.inf), ("inf",), "error")
    add("series", "values at 1e3", lambda: S() * 1e3, expect="ok")
    add("series", "values at 1e6", lambda: S() * 1e6, **far, quick=True)
    add("series", "values at 1e20", lambda: S() * 1e20, **far)
    add("series", "values at 1e154", lambda: S() * 1e154, **far)
    add(
        "series",
        "complex",
        lambda: S() + 1j,
        ("complex",),
        "error",
        why="the imaginary part is dropped",
    )
    add("series", "wrong length", lambda: series(5, length=9, seed=1), ("shape|length",), "error")
    add(
        "series",
        "wrong channel count",
        lambda: series(5, channels=3, seed=1),
        ("shape|channel",),
        "error",
    )
    add("series", "2-D array", lambda: S()[:, :, 0], ("shape|dim|channel",), "error")
    add("series", "strings", lambda: tokens(), ("token|real|string",), "error")
    add("series", "0 sequences", lambda: S(0), ("empty|0",), "error")
    add("series", "1 sequence", lambda: S(1), expect="ok")
    add("series", "float32", lambda: S().astype(np.float32), expect="ok")
    add("series", "list of 2-D arrays", lambda: list(S()), expect="ok")
    add(
        "series",
        "variable-length list",
        lambda: [series(1, length=L, seed=1)[0] for L in (7, 8)],
        ("shape|pad|length",),
        "error",
    )

    add("tokens", "held-out strings", lambda: tokens(8, seed=1), expect="ok", quick=True)
    add(
        "tokens",
        "an unseen character",
        lambda: ["abz", "ab"],
        ("'z'", "not seen"),
        "error",
        quick=True,
    )
    add("tokens", "longer than in fit", lambda: ["abcabcabc"], ("length",), "error")
    add("tokens", "an empty string", lambda: ["ab", ""], ("empty",), "error")
    add("tokens", "token lists for a string model", lambda: [list("abc")], expect="either")
    add("tokens", "a None item", lambda: ["ab", None], ("none",), "error")
    add("tokens", "a 3-D array", lambda: series(), ("real|token",), "error")
    add("tokens", "an empty list", lambda: [], ("empty",), "error")
    add("tokens", "one string", lambda: ["abc"], expect="ok")
    add("tokens", "integer ids", lambda: [[0, 1], [1, 2]], ("not seen|token",), "error")
    add("tokenlists", "held-out token lists", lambda: tokenlists(8, seed=1), expect="ok")
    add(
        "tokenlists",
        "an '<end>' token",
        lambda: [["A", "<end>", "B"], ["A", "B"]],
        ("<end>",),
        "error",
        why="'<end>' is dropped from the sequence",
    )
    add("tokenlists", "an unseen token", lambda: [["A", "Q"]], ("'Q'",), "error")
    add(
        "tokenlists",
        "an unhashable token",
        lambda: [["A", ["B"]]],
        ("not seen|hashable|token",),
        "error",
    )

    add("graphs", "held-out graphs", lambda: graphs(5, seed=1), expect="ok", quick=True)
    add(
        "graphs", "larger than in fit", lambda: [nx().path_graph(9)], ("node",), "error", quick=True
    )
    add("graphs", "a graph without nodes", lambda: [nx().Graph()] + graphs(2, seed=1), expect="ok")
    add("graphs", "isolated nodes", lambda: [nx().empty_graph(4)], expect="ok")
    add("graphs", "a self-loop", lambda: [nx().Graph([(0, 0), (0, 1)])], ("self-loop",), "error")
    add(
        "graphs",
        "a directed graph",
        lambda: [nx().DiGraph([(0, 1)])],
        ("directed",),
        "error",
        why="a directed graph scored as undirected",
    )
    add(
        "graphs",
        "a multigraph",
        lambda: [nx().MultiGraph([(0, 1), (0, 1)])],
        ("multigraph",),
        "error",
    )
    add("graphs", "a None item", lambda: graphs(2, seed=1) + [None], ("none", "2"), "error")
    add("graphs", "an empty list", lambda: [], ("empty",), "error")
    add("graphs", "a single graph, not a list", lambda: graphs(1, seed=1)[0], ("list",), "error")
    add("graphs", "an array", lambda: table(), ("graph",), "error")
    add(
        "graphs",
        "string node labels",
        lambda: [nx().relabel_nodes(G, str) for G in graphs(3, seed=1)],
        expect="ok",
    )
    return C


def sample_cases():
    C = []

    def add(kind, name, kwargs, keys=(), expect="either", **kw):
        C.append(
            Case(
                "sample", kind, name, lambda kwargs=kwargs: dict(kwargs), tuple(keys), expect, **kw
            )
        )

    for kind in KINDS:
        add(kind, "n_samples=8", dict(n_samples=8, random_state=0), expect="ok", quick=True)
        add(kind, "n_samples=1", dict(n_samples=1, random_state=0), expect="ok")
    for name, n in [
        ("0", 0),
        ("-1", -1),
        ("1.5", 1.5),
        ("True", True),
        ("'3'", "3"),
        ("None", None),
    ]:
        add(
            "table",
            f"n_samples={name}",
            dict(n_samples=n),
            ("n_samples",),
            "error",
            quick=name == "0",
        )
    add("table", "n_samples=np.int64(3)", dict(n_samples=np.int64(3)), expect="ok")
    add("table", "n_samples=3.0", dict(n_samples=3.0), ("n_samples",), "either")
    add("graphs", "n_samples=0", dict(n_samples=0), ("n_samples",), "error")
    add("tokens", "n_samples=-1", dict(n_samples=-1), ("n_samples",), "error")
    for name, rs in [
        ("None", None),
        ("np.int64(7)", np.int64(7)),
        ("2**32 - 1", 2**32 - 1),
        ("RandomState(0)", "RandomState"),
    ]:
        add("table", f"random_state={name}", dict(n_samples=4, random_state=rs), expect="ok")
    for name, rs, expect in [
        ("-1", -1, "error"),
        ("2**32", 2**32, "error"),
        ("1.5", 1.5, "error"),
        ("'abc'", "abc", "error"),
        ("default_rng(0)", "default_rng", "either"),
        ("True", True, "either"),
    ]:
        add(
            "table",
            f"random_state={name}",
            dict(n_samples=4, random_state=rs),
            ("seed|random_state",),
            expect,
        )
    return C


def unfitted_cases():
    return [
        Case(
            "sample", "unfitted", "sample before fit", lambda: dict(n_samples=3), ("fit",), "error"
        ),
        Case(
            "score_samples",
            "unfitted",
            "score_samples before fit",
            lambda: table(3),
            ("fit",),
            "error",
        ),
    ]


def all_cases():
    cases = fit_cases() + score_cases() + sample_cases() + unfitted_cases()
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, dup
    return cases


# ------------------------------------------------------------------- input helpers
def _obj_with(X, i, j, value):
    X = np.array(X, dtype=object)
    X[i, j] = value
    return X


def _sparse(X):
    from scipy import sparse

    return sparse.csr_matrix(X)


def _with3(X, value):
    X = np.array(X, dtype=np.float64)
    X[2, 3, 1] = value
    return X


def _const_channel(X):
    X = np.array(X)
    X[:, :, 1] = 0.5
    return X


def _with_end(seqs):
    seqs = [list(s) for s in seqs]
    for i in range(0, len(seqs), 3):
        seqs[i].insert(1, "<end>")
    return seqs


def _graph_edit(gs, i, edit=None, cls=None):
    gs = list(gs)
    G = gs[i] if cls is None else cls(gs[i])
    if edit is not None:
        edit(G)
    gs[i] = G
    return gs


def _attributed(gs):
    out = []
    for G in gs:
        G = G.copy()
        G.graph["name"] = "g"
        for v in G.nodes:
            G.nodes[v]["label"] = v % 2
        for u, v in G.edges:
            G.edges[u, v]["weight"] = 0.5
        out.append(G)
    return out


# ----------------------------------------------------------------------- judging
def _n_items(X):
    if hasattr(X, "shape") and len(getattr(X, "shape", ())) > 0:
        return X.shape[0]
    return len(X)


def check_scores(s, n, neginf=False):
    """``(class, detail)`` of scores returned for ``n`` items."""
    s = np.asarray(s)
    if s.shape != (n,):
        return "garbage", f"scores of shape {s.shape}, expected ({n},)"
    if not np.issubdtype(s.dtype, np.floating):
        return "garbage", f"scores of dtype {s.dtype}"
    if np.isnan(s).any():
        return "garbage", f"NaN scores (items {np.nonzero(np.isnan(s))[0][:5].tolist()})"
    if np.isposinf(s).any():
        return "garbage", f"+inf scores (items {np.nonzero(np.isposinf(s))[0][:5].tolist()})"
    if np.isneginf(s).any() and not neginf:
        return "obscure", f"-inf scores (items {np.nonzero(np.isneginf(s))[0][:5].tolist()})"
    return "correct", ""


def check_samples(model, S, n, dtypes=None):
    """A problem with ``sample(n)``'s output ``S`` of a fitted ``model``, or None."""
    codec = model.codec_
    if codec.modality == "graph":
        nx = _nx()
        if not isinstance(S, list) or len(S) != n:
            return f"expected a list of {n} graphs, got {type(S).__name__}"
        for G in S:
            if not isinstance(G, nx.Graph) or G.is_directed() or G.is_multigraph():
                return f"a sample is a {type(G).__name__}"
            if nx.number_of_selfloops(G) or G.number_of_nodes() > codec.max_nodes_:
                return "a sample has self-loops or too many nodes"
        return None
    if codec.modality == "sequence":
        if codec.kind_ == "real":
            if not isinstance(S, np.ndarray) or S.shape != (n, *codec.event_shape_):
                return f"expected an array of shape {(n, *codec.event_shape_)}, got {getattr(S, 'shape', type(S))}"
            if not np.isfinite(S).all():
                return "non-finite samples"
            return None
        if not isinstance(S, list) or len(S) != n:
            return f"expected a list of {n} sequences, got {type(S).__name__}"
        for s in S:
            if len(s) == 0:
                return "an empty sampled sequence"
            if codec.is_string_ != isinstance(s, str):
                return f"a sample is a {type(s).__name__}"
            if any(t not in codec.alphabet_ for t in s):
                return "a sampled token is not in the alphabet"
        return None
    if codec.is_frame_:
        pd = _pd()
        if not isinstance(S, pd.DataFrame) or len(S) != n:
            return f"expected a DataFrame of {n} rows, got {type(S).__name__}"
        if list(S.columns) != list(codec.columns_):
            return f"columns {list(S.columns)} instead of {list(codec.columns_)}"
        if dtypes is not None and list(S.dtypes) != list(dtypes):
            return f"dtypes {list(map(str, S.dtypes))} instead of {list(map(str, dtypes))}"
        if S.isna().any().any():
            return "missing values in samples"
        num = S.select_dtypes("number")
        if num.shape[1] and not np.isfinite(num.to_numpy(dtype=np.float64)).all():
            return "non-finite samples"
        return None
    width = len(codec.columns_)
    if not isinstance(S, np.ndarray) or S.shape != (n, width):
        return f"expected an array of shape ({n}, {width}), got {getattr(S, 'shape', type(S))}"
    if not np.isfinite(S).all():
        return "non-finite samples"
    return None


def sample_and_score(model, n, dtypes=None, **kwargs):
    """``(class, detail)`` of ``sample(n, **kwargs)`` and of the scores of those samples."""
    from skbridge.testing import sample_recorded

    S, V = sample_recorded(model, n, **kwargs)
    if V is not None and not np.isfinite(V).all():
        rows = int((~np.isfinite(V)).any(1).sum())
        return "garbage", f"sample: {rows} of {n} model vectors are not finite (decoded anyway)", S
    problem = check_samples(model, S, n, dtypes)
    if problem:
        return "garbage", f"sample: {problem}", S
    cls, detail = check_scores(model.score_samples(S), n, neginf=False)
    if cls != "correct":
        return "garbage", f"score_samples(sample({n})): {detail}", S
    return "correct", "", S


def _head(X, n=8):
    if hasattr(X, "iloc"):
        return X.iloc[:n]
    return X[:n]


def _message(exc):
    return f"{type(exc).__name__}: {exc}"


class Runner:
    """Runs cases; keeps one reference model per (model, data kind)."""

    def __init__(self, seed=0):
        self.seed = seed
        self.refs: dict = {}
        self.ref_log: list[dict] = []
        self.ref_warnings: dict = {}

    def reference(self, model, kind):
        key = (model, kind)
        if key not in self.refs:
            X = GOOD[kind]()
            t0 = time.perf_counter()
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                est = make_model(model, self.seed, **KIND_PARAMS.get(key, {})).fit(X)
            self.refs[key] = (est, X)
            self.ref_warnings[key] = _warnings(w)
            self.ref_log.append(
                {
                    "model": model,
                    "kind": kind,
                    "fit_s": round(time.perf_counter() - t0, 2),
                    "warnings": _warnings(w),
                }
            )
        return self.refs[key]

    def run(self, case: Case, model: str) -> dict:
        row = {
            "dataset": case.id,
            "model": model,
            "method": case.method,
            "kind": case.kind,
            "case": case.name,
            "expect": case.expect,
        }
        data = case.make()  # outside the classification: a failure here is the catalogue's
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                cls, detail = self._run(case, model, data)
            except Exception as exc:  # noqa: BLE001 - classified
                cls, detail = self._classify_error(case, exc)
                if cls == "crash":
                    row["traceback"] = traceback.format_exc()[-3000:]
        row["class"], row["detail"] = cls, detail[:600]
        row["warnings"] = _warnings(w)
        # a bad result that a ConvergenceWarning announced (in this call or in the fit of
        # the reference model: "... its sampler unstable") is not silent
        announced = [
            x
            for x in row["warnings"] + self.ref_warnings.get((model, case.kind), [])
            if x.startswith("ConvergenceWarning") and "unstable" in x
        ]
        if cls == "garbage" and announced:
            row["class"] = "obscure"
            row["detail"] += " (but warned: " + announced[0][:200] + ")"
        row["seconds"] = round(time.perf_counter() - t0, 3)
        return row

    def _classify_error(self, case, exc, after=""):
        msg = after + _message(exc)
        if not isinstance(exc, documented_errors()):
            return "crash", msg
        text = str(exc)
        missing = [k for k in case.keys if not re.search(k, text, flags=re.IGNORECASE)]
        if missing or not case.keys:
            return "obscure", msg + (f"  [no {missing}]" if missing else "")
        return "clear", msg

    def _run(self, case, model, data):
        if case.method == "fit":
            X = data
            est = make_model(model, self.seed, **KIND_PARAMS.get((model, case.kind), {}))
            est.set_params(**(case.params or {}))
            est.fit(X)
            return self._after_fit(case, est, X)
        if case.kind == "unfitted":
            est = make_model(model, self.seed)
            if case.method == "sample":
                out = est.sample(**data)
            else:
                out = est.score_samples(data)
            return "garbage", f"an unfitted model returned {type(out).__name__}"
        est, X_ref = self.reference(model, case.kind)
        dtypes = X_ref.dtypes if hasattr(X_ref, "dtypes") else None
        if case.method == "sample":
            kwargs = dict(data)
            rs = kwargs.get("random_state")
            if isinstance(rs, str) and rs in ("RandomState", "default_rng"):
                kwargs["random_state"] = (
                    np.random.RandomState(0) if rs == "RandomState" else np.random.default_rng(0)
                )
            n = kwargs.pop("n_samples")
            cls, detail, _ = sample_and_score(est, n, dtypes, **kwargs)
            return self._expectation(case, cls, detail)
        s = est.score_samples(data)
        cls, detail = check_scores(s, _n_items(data), case.neginf)
        return self._expectation(case, cls, detail)

    def _after_fit(self, case, est, X):
        dtypes = X.dtypes if hasattr(X, "dtypes") and est.codec_.modality == "tabular" else None
        try:
            cls, detail, _ = sample_and_score(est, 8, dtypes, random_state=0)
            if cls == "correct":
                cls, detail = check_scores(est.score_samples(_head(X)), _n_items(_head(X)))
                detail = detail and f"score_samples(X[:8]) after fit: {detail}"
        except Exception as exc:  # noqa: BLE001 - classified
            cls, detail = self._classify_error(case, exc, after="fit returned, then ")
            if cls == "clear":  # the fit took data it cannot use: not clear
                cls = "obscure"
        if cls == "correct" and case.check is not None:
            problem = case.check(est, est.sample(8, random_state=0))
            if problem:
                cls, detail = "garbage", problem
        return self._expectation(case, cls, detail)

    @staticmethod
    def _expectation(case, cls, detail):
        if cls == "correct" and case.expect == "error":
            return "garbage", "accepted: " + (case.why or "this input must be refused")
        return cls, detail


def _warnings(w):
    out = []
    for x in w:
        name = x.category.__name__
        if name in _IGNORED_WARNINGS or issubclass(x.category, DeprecationWarning):
            continue
        text = f"{name}: {x.message}"
        if text not in out:
            out.append(text[:300])
    return out


# ------------------------------------------------------------------------ report
def counts(rows, key=None):
    """{group: Counter of classes} (one group "all" without ``key``)."""
    out: dict = {}
    for r in rows:
        g = "all" if key is None else r[key]
        out.setdefault(g, Counter())[r["class"]] += 1
    return out


def summary_table(rows) -> str:
    lines = ["| | " + " | ".join(CLASSES) + " | total |", "|---|" + "---|" * (len(CLASSES) + 1)]
    groups = [("all", counts(rows)["all"])]
    groups += [(m, c) for m, c in counts(rows, "model").items()]
    groups += [(m, c) for m, c in counts(rows, "method").items()]
    groups += [(k, c) for k, c in counts(rows, "kind").items()]
    for name, c in groups:
        lines.append(
            f"| {name} | " + " | ".join(str(c[k]) for k in CLASSES) + f" | {sum(c.values())} |"
        )
    return "\n".join(lines)


def problems_list(rows) -> str:
    lines = []
    bad = [r for r in rows if r["class"] not in ("correct", "clear")]
    for cls in ("crash", "garbage", "obscure"):
        sub = [r for r in bad if r["class"] == cls]
        if not sub:
            continue
        lines += ["", f"**{cls}** ({len(sub)})", ""]
        for r in sub:
            lines.append(f"- {r['dataset']} [{r['model']}]: {r['detail'][:300]}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--cases", nargs="+", default=None, help="substrings of case ids")
    parser.add_argument("--quick", action="store_true", help="a subset of the cases")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--fresh", action="store_true", help="overwrite the results file")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)

    cases = all_cases()
    if args.quick:
        cases = [c for c in cases if c.quick]
    if args.cases:
        cases = [c for c in cases if any(s in c.id for s in args.cases)]
    if args.list:
        for c in cases:
            print(f"{c.id}  (expect {c.expect})")
        print(f"{len(cases)} inputs x {len(args.models)} models")
        return

    import torch

    torch.set_num_threads(args.threads)
    t0 = time.time()
    runner = Runner(args.seed)
    rows = []
    for case in cases:
        for model in args.models:
            row = runner.run(case, model)
            rows.append(row)
            mark = "" if row["class"] in ("correct", "clear") else "  <-- " + row["detail"][:120]
            print(
                f"{row['class']:8s} {row['seconds']:6.2f}s {model:12s} {case.id}{mark}", flush=True
            )

    name = "bad_inputs" + ("_quick" if args.quick else "")
    out = args.out or HERE / "results" / f"{name}.json"
    script = "benchmarks/bad_inputs.py"
    merged = save_rows(out, rows, script, t0, fresh=args.fresh, order=[c.id for c in all_cases()])
    _add_references(out, runner.ref_log)
    print("\n## This run\n")
    print(summary_table(rows))
    print(problems_list(rows))
    if len(merged) != len(rows):
        print(f"\n## Results file ({len(merged)} rows)\n")
        print(summary_table(merged))
    print(f"\nwritten to {out} in {time.time() - t0:.0f} s")


def _add_references(out: Path, log: list[dict]):
    """Record the reference fits (time, warnings) with the run that made them."""
    import json

    data = json.loads(out.read_text())
    data["runs"][-1]["reference_fits"] = log
    out.write_text(json.dumps(data, indent=1, default=float))


if __name__ == "__main__":
    main()
