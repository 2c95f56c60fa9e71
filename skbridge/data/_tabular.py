r"""The tabular codec: a table of numeric, integer and categorical columns <-> a float matrix.

Every generator in skbridge models a continuous vector :math:`v \in \mathbb R^d`. The codec
maps each row of the user's table to such a vector and back, and keeps what is needed for
``score_samples`` to be a log-likelihood (or its lower bound) *in the user's units*:

* **float columns** are standardised (or, with ``numeric="quantile"``, mapped through a
  piecewise-linear quantile-normal transform). The log-Jacobian of the map is added to the
  score, so the score is a log-density in the column's own units (rescaling a column by
  ``c`` shifts the score by :math:`-\log|c|`).
* **float columns recorded at a fixed resolution** (every value a multiple of one step
  ``q``, such as 0.01 or 25; detected on DataFrames, see ``round_floats``) whose values
  repeat (10 rows per distinct value on average) are modelled on that grid, as integer
  columns of step ``q``: samples are multiples of ``q`` and values the data heaps on (whole
  numbers among tenths) keep their frequencies; the score is the probability of the
  value's cell over ``q``, a density in the column's units.
* **integer columns** are discrete: value ``k`` owns the interval that the same map sends
  ``[k - 1/2, k + 1/2]`` to, and the model sees a uniform draw from it (uniform
  dequantisation). Decoding maps back, rounds and clips to the training range.
* **categorical, boolean and string columns** are one-hot in a continuous relaxation: the
  model sees :math:`v` with the hot coordinate :math:`v_c \sim N(\mu, s^2)` and the others
  :math:`v_j \sim N(0, s^2)` truncated below :math:`v_c` (argmax dequantisation, Hoogeboom et
  al., 2021), so ``argmax`` decodes every draw to its category exactly.

For the discrete parts the bound is
:math:`\log P(x) \ge \mathbb E_{q(v|x)}[\log p(v) - \log q(v|x)]`, valid because each draw of
:math:`q(\cdot|x)` decodes to :math:`x`: the models add :math:`-\log q(v|x)`, returned by
:meth:`TabularCodec.perturb`, to the log-density of :math:`v`. Scores of mixed tables are
then log-densities in the float columns times probabilities of the discrete ones.

Fitted state is plain numpy; :meth:`TabularCodec.perturb` is the only torch code (it runs on
every training batch, on the model's device).
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral

import numpy as np
import torch
from scipy.special import ndtri
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._codec import Codec, is_frame
from ._dequantize import relaxed_onehot, uniform_in_intervals

__all__ = ["TabularCodec"]

_OTHER = "__other__"
# a float column on a grid is modelled on it when its values repeat: at least this many
# training rows per distinct value on average (wine's columns, nearly all distinct, stay
# densities: on the grid the quantile map of 142 rows cost 67 nats of held-out score)
_GRID_REPEATS = 10


def _quantile_knots(x: np.ndarray, n_quantiles: int):
    """Knots ``(xk, zk)`` of a monotone piecewise-linear map from ``x`` to N(0, 1) scores."""
    n = x.shape[0]
    levels = np.linspace(0.0, 1.0, min(n_quantiles, n))
    xk = np.quantile(x, levels)
    xk, first = np.unique(xk, return_index=True)
    # the level of a repeated knot (a tie in the data) is the middle of its levels
    last = np.r_[first[1:] - 1, levels.size - 1]
    lev = 0.5 * (levels[first] + levels[last])
    eps = 0.5 / n
    zk = ndtri(np.clip(lev, eps, 1.0 - eps))
    return xk, zk


def _pl_forward(x, xk, zk):
    """Piecewise-linear map with linear extension beyond the end knots, and its log-slope."""
    slopes = np.diff(zk) / np.diff(xk)
    seg = np.clip(np.searchsorted(xk, x, side="right") - 1, 0, slopes.size - 1)
    z = zk[seg] + slopes[seg] * (x - xk[seg])
    return z, np.log(slopes[seg])


def _pl_inverse(z, xk, zk):
    slopes = np.diff(zk) / np.diff(xk)
    seg = np.clip(np.searchsorted(zk, z, side="right") - 1, 0, slopes.size - 1)
    return xk[seg] + (z - zk[seg]) / slopes[seg]


class _Column:
    """What the codec learned about one column."""

    prescale = 1.0  # the default of codecs pickled before the prescale existed
    grid = None  # a float column modelled on the multiples of its step: the step

    @property
    def cell(self):
        """The width of the cell each value owns (integer columns and float columns on a
        grid), or None for a float column modelled as a density."""
        return 1.0 if self.kind == "integer" else self.grid

    def __init__(self, name, kind, dtype):
        self.name, self.kind, self.dtype = name, kind, dtype


class TabularCodec(Codec):
    """Encode a table (DataFrame or 2-D numeric array) for the generators, and decode samples.

    Parameters
    ----------
    numeric : {"standard", "quantile"}, default="standard"
        Map of the float columns: per-column standardisation, or a piecewise-linear
        quantile-normal map (``n_quantiles`` knots) that makes skewed and heavy-tailed
        columns roughly Gaussian. Both keep their log-Jacobian for the scores.
    integers : {"quantile", "standard"}, default="quantile"
        Map of the integer columns (and of float columns on a grid, see ``round_floats``).
        ``"quantile"``: the quantile-normal map of the
        uniformly dequantised values, so each value owns an interval whose Gaussian mass is
        about its frequency: spikes (a column that is mostly 0) and long tails become easy
        for the model, and samples land on the values seen in fit. ``"standard"``:
        standardisation (each value owns an interval of width ``1/std``).
    n_quantiles : int, default=1000
        Knots of the quantile map.
    max_categories : int, default=50
        A categorical column with more categories keeps its ``max_categories - 1`` most
        frequent ones and pools the rest into one "other" category (with a warning). A
        sampled "other" becomes one of the pooled categories drawn with its training
        frequency, and a pooled category's score includes the log of that frequency.
    round_floats : bool or "auto", default="auto"
        A float column whose training values are all multiples of one step ``q`` in
        {1, 2, 2.5, 5} x 10^k (measurements recorded at a fixed resolution such as 0.005,
        prices in cents, ...) gets its samples rounded to multiples of ``q``. If its values
        also repeat (at least 10 training rows per distinct value on average), it is
        modelled on that grid: each multiple of ``q`` owns the cell
        ``[x - q/2, x + q/2]`` and the model sees a uniform draw from it, as for an integer
        column (and through the ``integers`` map). Samples are multiples of ``q``, and values
        the data heaps on come back with their frequencies: ggplot2's diamonds records
        ``table`` to 0.1 but 93% of its values are whole numbers, which a density rounded
        to 0.1 spreads over the tenths (a classifier told real from synthetic ``table``
        values alone with ROC AUC 0.94; on the grid, 0.50). The column's score is the
        model's probability of the cell containing the value, divided by ``q``: still a
        density in the column's units (piecewise constant over the cells; for a value off
        the grid, that of its nearest multiple's cell), and a lower bound as for integers.
        A column whose values hardly repeat stays a density (on wine's 142 rows the
        grid's quantile map overfitted: held-out score -102 against -35 nats).
    clip_floats : bool or "auto", default="auto"
        Clip sampled float columns to their training range (as SDV's
        ``enforce_min_max_values``); integer columns are always clipped. Scores are
        unaffected. ``"auto"`` (both options): on for DataFrames (synthetic tables that look
        like the real one), off for numeric arrays (samples are plain draws from the model,
        as from ``KernelDensity.sample``).

    Attributes
    ----------
    n_latent_ : int
        Dimension ``d`` of the vectors the model sees.
    columns_ : list
        Column labels (``range(n)`` for arrays).
    kinds_ : dict
        ``{column: "float" | "integer" | "categorical" | "constant"}``.
    resolutions_ : dict
        ``{column: q}`` for the float columns modelled on the multiples of their step ``q``
        (see ``round_floats``).
    categories_ : dict
        ``{column: list of categories}`` for categorical columns, in one-hot order.
    has_discrete_ : bool
        Whether some column is integer or categorical (then ``perturb`` adds noise).
    """

    _parameter_constraints: dict = {
        "numeric": [StrOptions({"standard", "quantile"})],
        "integers": [StrOptions({"standard", "quantile"})],
        "n_quantiles": [Interval(Integral, 2, None, closed="left")],
        "max_categories": [Interval(Integral, 2, None, closed="left")],
        "round_floats": ["boolean", StrOptions({"auto"})],
        "clip_floats": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self,
        numeric="standard",
        integers="quantile",
        n_quantiles=1000,
        max_categories=50,
        round_floats="auto",
        clip_floats="auto",
    ):
        self.numeric = numeric
        self.integers = integers
        self.n_quantiles = n_quantiles
        self.max_categories = max_categories
        self.round_floats = round_floats
        self.clip_floats = clip_floats

    # ------------------------------------------------------------------ fitting
    def fit(self, X):
        """Learn column kinds, scales and categories from the training table ``X``."""
        self._validate_params()
        self.is_frame_ = is_frame(X)
        if self.is_frame_:
            cols = self._frame_columns(X, fitting=True)
        else:
            # columns one at a time: a memory-mapped float32 array is not copied whole
            A = np.asarray(X)
            cols = [(j, A[:, j], "float", np.dtype(np.float64)) for j in range(A.shape[1])]
        self.columns_ = [c[0] for c in cols]
        self._cols = []
        constant_numeric = []
        pos = 0
        for name, values, kind, dtype in cols:
            col = _Column(name, kind, dtype)
            if kind in ("float", "integer"):
                x = np.asarray(values, dtype=np.float64)
                if np.ptp(x) <= 1e-12 * float(np.abs(x).max()):  # relative: 1e-13 spreads count
                    constant_numeric.append(name)
                    continue
                self._fit_numeric(col, x)
                col.slice = slice(pos, pos + 1)
                pos += 1
            else:
                self._fit_categorical(col, values)
                if col.kind == "constant":
                    col.slice = slice(pos, pos)
                else:
                    col.slice = slice(pos, pos + len(col.levels))
                    pos += len(col.levels)
            self._cols.append(col)
        if constant_numeric:
            raise ValueError(
                f"column(s) {constant_numeric} are constant in the training data (their spread "
                "is below 1e-12 of their magnitude, the relative precision a density can be "
                "fitted at in float64); a density over a constant numeric column is "
                "degenerate. Drop them (or subtract their common value first) before the generator "
                "(X.drop(columns=[...]) for a DataFrame, or "
                "sklearn.feature_selection.VarianceThreshold() in a Pipeline)."
            )
        if pos == 0:
            raise ValueError(
                "every column of X is constant (a single category): there is nothing to model"
            )
        self.n_latent_ = pos
        self.kinds_ = {c.name: c.kind for c in self._cols}
        self.categories_ = {
            c.name: list(c.categories) for c in self._cols if c.kind in ("categorical", "constant")
        }
        # packed layout: the d latent coordinates, then per integer column (or float column
        # on a grid) its interval width
        self._int_cols = [c for c in self._cols if c.cell]
        self._cat_cols = [c for c in self._cols if c.kind == "categorical"]
        self.has_discrete_ = bool(self._int_cols or self._cat_cols)
        self.resolutions_ = {c.name: c.grid for c in self._int_cols if c.kind == "float"}
        self.n_packed_ = pos + len(self._int_cols)
        # the model coordinates of each relaxed one-hot block, as (start, stop), and its
        # levels' training frequencies
        self.onehot_blocks_ = [(c.slice.start, c.slice.stop) for c in self._cat_cols]
        self.onehot_frequencies_ = [np.asarray(c.freq, dtype=float) for c in self._cat_cols]
        return self

    def _frame_columns(self, X, fitting):
        import pandas as pd

        names = list(X.columns)
        if len(set(map(repr, names))) != len(names):
            dup = sorted({repr(n) for n in names if names.count(n) > 1})
            raise ValueError(
                f"X has duplicated column names {dup}; rename them (each column needs its own "
                "name to be restored in samples)."
            )
        bad = [n for n in names if X[n].isna().any()]
        if bad:
            counts = {n: int(X[n].isna().sum()) for n in bad}
            raise ValueError(
                f"column(s) {bad} contain missing values ({counts} rows). skbridge models "
                "complete rows: impute first, keeping each column's dtype (gaps make integer "
                "columns float and bool columns object): e.g. make_column_transformer("
                "(SimpleImputer(strategy='median'), make_column_selector(dtype_include="
                "'floating')), (SimpleImputer(strategy='most_frequent'), make_column_selector("
                "dtype_exclude='floating')), verbose_feature_names_out=False).set_output("
                "transform='pandas'), then .astype() the integer and bool columns back (the "
                "'Missing values' example does this), or drop the rows with X.dropna()."
            )
        out = []
        for name in names:
            s = X[name]
            dt = s.dtype
            if pd.api.types.is_bool_dtype(dt):
                kind = "categorical"
            elif pd.api.types.is_integer_dtype(dt):
                kind = "integer"
                big = max(abs(int(s.max())), abs(int(s.min()))) if fitting and len(s) else 0
                if big > 2**51:  # x +- 0.5 not exact in float64: scores -inf, samples wrap
                    raise ValueError(
                        f"column {name!r} has integers up to {big}, beyond 2**51, which the "
                        "model cannot represent exactly. Convert it to float if approximate "
                        "values are enough (X[col].astype(float)), rescale it (e.g. "
                        "nanosecond timestamps to days), or drop it."
                    )
            elif pd.api.types.is_float_dtype(dt):
                kind = "float"
                if not np.isfinite(s.to_numpy(dtype=np.float64)).all():
                    raise ValueError(f"column {name!r} contains infinite values")
            elif (
                isinstance(dt, pd.CategoricalDtype)
                or pd.api.types.is_object_dtype(dt)
                or (pd.api.types.is_string_dtype(dt))
            ):
                kind = "categorical"
            else:
                raise TypeError(
                    f"column {name!r} has dtype {dt}, which skbridge cannot model; use float "
                    "or integer columns for quantities and category, string, object or bool "
                    "columns for categories (e.g. convert dates with "
                    "(X[col] - X[col].min()).dt.total_seconds() / 86400 for days as floats, or "
                    "extract their parts)."
                )
            if not fitting:
                expected = self._by_name[name].kind
                numeric_now = kind in ("float", "integer")
                numeric_then = expected in ("float", "integer")
                if numeric_now != numeric_then:
                    raise ValueError(
                        f"column {name!r} was {'numeric' if numeric_then else 'categorical'} "
                        f"in fit but has dtype {dt} now"
                    )
            out.append((name, s.to_numpy(), kind, dt))
        return out

    def _fit_numeric(self, col, x):
        col.min, col.max = float(x.min()), float(x.max())
        col.step = None
        if col.kind == "float" and self._option(self.round_floats):
            # nullable (Float64) and Arrow (double[pyarrow]) dtypes: their NumPy dtype
            np_dtype = np.dtype(getattr(col.dtype, "numpy_dtype", col.dtype))
            col.step = _resolution(x, np.finfo(np_dtype).eps if np_dtype.kind == "f" else 0)
        if col.kind == "integer":
            col.min, col.max = int(x.min()), int(x.max())
        if col.step is not None and x.size >= _GRID_REPEATS * np.unique(x).size:
            col.grid = col.step
        # values beyond 1e150 (or all below 1e-150) are divided by a power of two first:
        # means, variances and knot gaps of the raw values would overflow (underflow)
        col.prescale = _prescale(x)
        x = x / col.prescale
        mapping = self.integers if col.cell else self.numeric
        if mapping == "quantile":
            xs = x
            if col.cell:
                # quantiles of the dequantised values: the interval a value owns then gets
                # a width in z that grows with its frequency (a spike such as the 92% of
                # zeros of Adult's capital-gain becomes a wide, easy interval)
                half = 0.5 * col.cell / col.prescale
                xs = x + np.random.default_rng(0).uniform(-half, half, x.shape)
            col.knots = _quantile_knots(xs, int(self.n_quantiles))
        else:
            mean, std = x.mean(), x.std()
            col.knots = (np.array([mean, mean + std]), np.array([0.0, 1.0]))

    def _fit_categorical(self, col, values):
        values = np.asarray(values, dtype=object)
        try:
            hash(tuple(values))
        except TypeError as exc:  # lists, dicts, arrays in an object column
            kind = next(type(v).__name__ for v in values if not _hashable(v))
            raise TypeError(
                f"column {col.name!r} holds {kind} values; a categorical column needs "
                "hashable values (strings, numbers, bools). Convert them, e.g. "
                f"X[{col.name!r}].map(str), or drop the column"
            ) from exc
        uniq, counts = _unique_counts(values)
        col.categories = uniq
        col.pooled = {}
        if len(uniq) == 1:
            warnings.warn(
                f"column {col.name!r} has a single category ({uniq[0]!r}); it is kept as a "
                "constant column (every sample repeats it)",
                UserWarning,
                stacklevel=4,
            )
            col.kind = "constant"
            col.levels = list(uniq)
            return
        cap = int(self.max_categories)
        if len(uniq) > cap:
            order = np.argsort(-counts, kind="stable")
            keep, pool = order[: cap - 1], order[cap - 1 :]
            warnings.warn(
                f"column {col.name!r} has {len(uniq)} categories, more than max_categories="
                f"{cap}: the {len(pool)} least frequent are pooled into one 'other' category "
                "(sampled with their training frequencies). Raise max_categories to model "
                "them separately.",
                UserWarning,
                stacklevel=4,
            )
            total = counts[pool].sum()
            col.pooled = {uniq[i]: counts[i] / total for i in pool}
            col.levels = [uniq[i] for i in sorted(keep)] + [_OTHER]
            col.freq = np.append(counts[sorted(keep)], total) / counts.sum()
        else:
            col.levels = list(uniq)
            col.freq = counts / counts.sum()
        col.index = {v: i for i, v in enumerate(col.levels)}

    @property
    def _by_name(self):
        return {c.name: c for c in self._cols}

    # ----------------------------------------------------------------- encoding
    def _columns_of(self, X):
        if self.is_frame_:
            if not is_frame(X):
                import pandas as pd

                X = pd.DataFrame(np.asarray(X, dtype=object), columns=self.columns_)
                X = X.infer_objects()
            return {name: values for name, values, _, _ in self._frame_columns(X, False)}
        A = np.asarray(X, dtype=np.float64)
        return {j: A[:, j] for j in range(A.shape[1])}

    def encode(self, X):
        """Rows of ``X`` -> ``(P, offset)``.

        ``P`` (n, ``n_packed_``) holds the latent coordinates (interval lower ends for
        integer columns, the 0/1 one-hot for categorical ones) followed by the integer
        columns' interval widths; :meth:`perturb` turns it into model inputs. ``offset``
        (n,) is the per-row log-Jacobian of the float columns plus the log-frequency of
        pooled categories: add it to a score of ``v`` to get a score in the user's units.
        A fractional value in an integer column is impossible: its row's offset is
        ``-inf``.
        """
        data = self._columns_of(X)
        n = len(next(iter(data.values())))
        P = np.zeros((n, self.n_packed_))
        offset = np.zeros(n)
        iw = self.n_latent_
        for col in self._cols:
            values = data[col.name]
            if col.kind == "float" and not col.cell:
                x = np.asarray(values, np.float64) / col.prescale
                z, log_slope = _pl_forward(x, *col.knots)
                P[:, col.slice.start] = z
                offset += log_slope - math.log(col.prescale)
            elif col.kind in ("float", "integer"):
                x = np.asarray(values, dtype=np.float64)
                if col.kind == "integer":
                    # a fractional value in an integer column has probability zero
                    offset[x != np.rint(x)] = -np.inf
                else:
                    # a float on a grid: the cell of the nearest multiple of the step, whose
                    # probability / step is the density (in the column's units)
                    x = col.grid * np.rint(x / col.grid) / col.prescale
                    offset -= math.log(col.grid)
                half = 0.5 * col.cell / col.prescale
                lo, _ = _pl_forward(x - half, *col.knots)
                hi, _ = _pl_forward(x + half, *col.knots)
                P[:, col.slice.start] = lo
                P[:, iw] = hi - lo
                iw += 1
            else:
                values = np.asarray(values, dtype=object)
                known = set(col.categories)
                unseen = sorted({v for v in values if v not in known}, key=repr)
                if unseen:
                    raise ValueError(
                        f"column {col.name!r} has categories not seen in fit: {unseen[:10]}; "
                        f"known: {list(col.categories)[:20]}"
                    )
                if col.kind == "constant":
                    continue
                idx = np.empty(n, dtype=np.int64)
                for i, v in enumerate(values):
                    if v in col.pooled:
                        idx[i] = len(col.levels) - 1
                        offset[i] += math.log(col.pooled[v])
                    else:
                        idx[i] = col.index[v]
                P[np.arange(n), col.slice.start + idx] = 1.0
        return P, offset

    def perturb(self, P: torch.Tensor, u: torch.Tensor):
        r"""Dequantise packed rows: ``(v, log_q)`` with ``v`` (n, d) and :math:`\log q(v|x)` (n,).

        ``u`` (n, d) are uniforms in (0, 1): fixing them fixes the draw (scores use noise
        hashed from each row). Float columns pass through unchanged.
        """
        d = self.n_latent_
        if not self.has_discrete_:
            return P, torch.zeros(P.shape[0], dtype=P.dtype, device=P.device)
        v = P[:, :d].clone()
        log_q = torch.zeros(P.shape[0], dtype=torch.float64, device=P.device)
        if self._int_cols:
            j = [col.slice.start for col in self._int_cols]
            k = slice(d, d + len(j))
            vi, log_q = uniform_in_intervals(P[:, j], P[:, k], u[:, j])
            v[:, j] = vi.to(v.dtype)
        for col in self._cat_cols:
            vb, lq = relaxed_onehot(P[:, col.slice], u[:, col.slice])
            v[:, col.slice] = vb.to(v.dtype)
            log_q += lq
        return v, log_q.to(P.dtype)

    # ----------------------------------------------------------------- decoding
    def _option(self, value) -> bool:
        return self.is_frame_ if value == "auto" else bool(value)

    def _finish(self, col, x):
        """Undo the prescale; round a float column to its resolution and clip it to the
        training range."""
        if col.kind != "float":
            return x
        if col.prescale != 1.0:
            with np.errstate(over="ignore"):
                x = x * col.prescale
            big = np.finfo(np.float64).max
            x = np.clip(x, -big, big)  # a far sample stays finite
        if col.step is not None:
            digits = max(0, int(np.ceil(-np.log10(col.step)))) + 1  # no 0.036000000000000004
            x = np.round(col.step * np.round(x / col.step), digits)
        if self._option(self.clip_floats):
            x = np.clip(x, col.min, col.max)
        return x

    def decode(self, V, random_state=None):
        """Model vectors (n, d) -> a table like the training one (DataFrame or ndarray)."""
        V = np.asarray(V, dtype=np.float64)
        rng = check_random_state(random_state)
        n = V.shape[0]
        if not self.is_frame_:
            out = np.empty((n, len(self.columns_)))
            for col in self._cols:
                x = _pl_inverse(V[:, col.slice.start], *col.knots)
                out[:, col.name] = self._finish(col, x)
            return out
        import pandas as pd

        data = {}
        for col in self._cols:
            if col.kind in ("float", "integer"):
                x = _pl_inverse(V[:, col.slice.start], *col.knots)
                x = self._finish(col, x)
                if col.kind == "integer":
                    x = np.clip(np.rint(x), col.min, col.max)
                data[col.name] = pd.Series(x).astype(col.dtype)
                continue
            if col.kind == "constant":
                idx = np.zeros(n, dtype=np.int64)
            else:
                idx = V[:, col.slice].argmax(1)
            values = np.empty(n, dtype=object)
            values[:] = [col.levels[i] for i in idx]
            if col.pooled:
                other = values == _OTHER
                if other.any():
                    names = list(col.pooled)
                    probs = np.array([col.pooled[k] for k in names])
                    pick = rng.choice(len(names), size=int(other.sum()), p=probs / probs.sum())
                    values[other] = [names[i] for i in pick]
            data[col.name] = pd.Series(values).astype(col.dtype)
        frame = pd.DataFrame(data)
        return frame[self.columns_]


def _hashable(v) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def _prescale(x: np.ndarray) -> float:
    """1, or the power of two near ``max|x|`` when that is beyond 1e150 or below 1e-150."""
    m = float(np.abs(x).max())
    if 1e-150 <= m <= 1e150 or m == 0.0:
        return 1.0
    return math.ldexp(1.0, min(math.frexp(m)[1], 1023))  # 2**1024 is not a float


def _resolution(x: np.ndarray, eps: float):
    """The coarsest step ``q`` in {1, 2, 2.5, 5} x 10^k (10^-6 <= q <= 10^3) that every value of
    ``x`` is a multiple of (measurements recorded at a fixed resolution), or None."""
    tol = max(1e-12, 4 * eps) * max(1.0, float(np.abs(x).max()))
    for k in range(3, -7, -1):
        for m in (5.0, 2.5, 2.0, 1.0):
            q = m * 10.0**k
            if q <= 100 * tol:  # finer than what the dtype resolves: no recorded step
                return None
            if q >= np.ptp(x):
                continue
            if np.abs(x - q * np.round(x / q)).max() <= tol:
                return q
    return None


def _unique_counts(values: np.ndarray):
    """Categories in a stable order (sorted when comparable) and their counts."""
    counts: dict = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    keys = list(counts)
    try:
        keys = sorted(keys)
    except TypeError:
        keys = sorted(keys, key=repr)
    return keys, np.array([counts[k] for k in keys], dtype=np.int64)
