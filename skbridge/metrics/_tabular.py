"""Sample-quality metrics for mixed numeric and categorical tables.

Every function takes NumPy arrays or pandas DataFrames (pandas is never imported unless a
DataFrame is passed). The first argument is the *reference* (the real or training rows):

* DataFrame columns are matched by name (the reference's order is used), array columns by
  position; a DataFrame and an array are matched by position.
* A column's kind comes from the reference. DataFrame columns of dtype bool, object, string or
  category are categorical, numeric dtypes are numeric. For arrays, bool and string arrays are
  categorical, numeric arrays numeric, and an object column is numeric when every value is a
  real number (bools excluded), else categorical.
* Categories are the union of the values seen in all inputs, compared by equality.
* NaN, None and infinite values raise a ``ValueError``.

Where a metric needs a numeric matrix (distances, kernels) it uses ``_encode``: numeric
columns standardised by the reference's mean and std (a zero std counts as 1), categorical
columns one-hot encoded and scaled by :math:`1/\\sqrt 2`, so two different categories are at
Euclidean distance 1, like two numbers one reference std apart. The classifier-based metrics
(:func:`c2st`, :func:`ml_efficiency`) instead give ``HistGradientBoosting*`` the categorical
columns natively: ordinal codes on the union of categories, flagged in
``categorical_features`` (a column with more than 255 categories is passed as its ordinal
code, a number, since the native support stops at 255).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state

from ..data._codec import is_frame

__all__ = ["c2st", "column_shapes", "correlation_similarity", "dcr", "ml_efficiency"]

_MAX_NATIVE_CATEGORIES = 255


# ----------------------------------------------------------------------------- parsing
def _is_missing(v) -> bool:
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    return type(v).__name__ in ("NAType", "NaTType")


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _check_finite(col: np.ndarray, label: str, name) -> np.ndarray:
    if not np.all(np.isfinite(col)):
        raise ValueError(
            f"{label}: column {name!r} contains NaN or infinite values; impute or drop them "
            "before computing sample-quality metrics"
        )
    return col


def _missing_error(label: str, name) -> ValueError:
    return ValueError(
        f"{label}: column {name!r} contains missing values (NaN/None); impute or drop them "
        "before computing sample-quality metrics"
    )


def _check_no_missing(col: np.ndarray, label: str, name) -> np.ndarray:
    if any(_is_missing(v) for v in col):
        raise _missing_error(label, name)
    return col


def _parse(X, label: str):
    """``(names or None, columns, kinds)`` of one input; kinds are ``"num"`` or ``"cat"``.

    Numeric columns come back as float64, categorical ones as object arrays.
    """
    if is_frame(X):
        return _parse_frame(X, label)
    A = np.asarray(X)
    if A.ndim != 2:
        raise ValueError(f"{label} must be 2-D (rows x columns), got shape {A.shape}")
    if A.shape[0] == 0 or A.shape[1] == 0:
        raise ValueError(f"{label} is empty (shape {A.shape})")
    cols, kinds = [], []
    for j in range(A.shape[1]):
        col, name = A[:, j], f"x{j}"
        if A.dtype.kind in "iuf":
            kind = "num"
        elif A.dtype.kind in "bUS":
            kind = "cat"
        elif A.dtype.kind == "O":
            kind = "num" if all(_is_number(v) for v in col) else "cat"
        else:
            raise TypeError(f"{label} has unsupported dtype {A.dtype}")
        if kind == "num":
            cols.append(_check_finite(col.astype(np.float64), label, name))
        else:
            cols.append(_check_no_missing(col.astype(object), label, name))
        kinds.append(kind)
    return None, cols, kinds


def _parse_frame(X, label: str):
    from pandas.api.types import (
        is_bool_dtype,
        is_complex_dtype,
        is_numeric_dtype,
        is_object_dtype,
        is_string_dtype,
    )

    names = list(X.columns)
    if len(set(names)) != len(names):
        raise ValueError(f"{label} has duplicate column names")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{label} is empty (shape {X.shape})")
    cols, kinds = [], []
    for j, name in enumerate(names):
        s = X.iloc[:, j]
        dt = s.dtype
        categorical = (
            is_bool_dtype(dt)
            or getattr(dt, "name", None) == "category"
            or is_object_dtype(dt)
            or is_string_dtype(dt)
        )
        if categorical:
            if s.isna().any():
                raise _missing_error(label, name)
            cols.append(s.to_numpy(dtype=object))
            kinds.append("cat")
        elif is_numeric_dtype(dt) and not is_complex_dtype(dt):
            vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
            cols.append(_check_finite(vals, label, name))
            kinds.append("num")
        else:
            raise TypeError(f"{label}: column {name!r} has unsupported dtype {dt}")
    return names, cols, kinds


@dataclass
class _Prepared:
    """Aligned inputs: per table, per column, float64 values or int codes into ``categories``."""

    names: list
    kinds: list
    categories: list
    tables: list

    def n_rows(self, t: int) -> int:
        return len(self.tables[t][0])


def _codes(columns):
    """Union of the values of ``columns`` (object arrays) and each column's codes into it."""
    values = np.concatenate(columns)
    try:
        cats, inverse = np.unique(values, return_inverse=True)
    except TypeError:  # values of types that do not sort together
        index: dict = {}
        inverse = np.fromiter(
            (index.setdefault(v, len(index)) for v in values), dtype=np.intp, count=len(values)
        )
        cats = np.empty(len(index), dtype=object)
        cats[:] = list(index)
    bounds = np.cumsum([len(c) for c in columns])[:-1]
    return cats, np.split(inverse.reshape(-1).astype(np.intp), bounds)


def _prepare(reference, *others, labels=None) -> _Prepared:
    """Parse, align (by name or position) and encode categories on the union of values."""
    labels = (
        list(labels) if labels else ["reference"] + [f"input {i + 1}" for i in range(len(others))]
    )
    ref_names, ref_cols, ref_kinds = _parse(reference, labels[0])
    d = len(ref_cols)
    names = ref_names if ref_names is not None else [f"x{j}" for j in range(d)]
    parsed = [ref_cols]
    for X, label in zip(others, labels[1:], strict=True):
        o_names, o_cols, _ = _parse(X, label)
        if ref_names is not None and o_names is not None:
            if set(o_names) != set(ref_names):
                missing = [n for n in ref_names if n not in set(o_names)]
                extra = [n for n in o_names if n not in set(ref_names)]
                raise ValueError(
                    f"{label} does not have the same columns as {labels[0]}: "
                    f"missing {missing}, unexpected {extra}"
                )
            position = {n: k for k, n in enumerate(o_names)}
            o_cols = [o_cols[position[n]] for n in ref_names]
        elif len(o_cols) != d:
            raise ValueError(f"{label} has {len(o_cols)} columns but {labels[0]} has {d}")
        parsed.append(o_cols)

    tables = [[None] * d for _ in parsed]
    categories = [None] * d
    for j in range(d):
        if ref_kinds[j] == "num":
            for t, cols in enumerate(parsed):
                col = cols[j]
                if col.dtype == object:
                    if not all(isinstance(v, numbers.Real) for v in col):
                        raise ValueError(
                            f"column {names[j]!r} is numeric in {labels[0]} but holds "
                            f"non-numeric values in {labels[t]}"
                        )
                    col = col.astype(np.float64)
                tables[t][j] = col
        else:
            cats, codes = _codes([cols[j].astype(object) for cols in parsed])
            categories[j] = cats
            for t in range(len(parsed)):
                tables[t][j] = codes[t]
    return _Prepared(names, list(ref_kinds), categories, tables)


# ---------------------------------------------------------------------------- encoding
def _encode_prepared(prep: _Prepared, *, standardize: bool = True) -> list:
    """One float matrix per table (see ``_encode``)."""
    ref = prep.tables[0]
    blocks = [[] for _ in prep.tables]
    scale = np.sqrt(0.5)
    for j, kind in enumerate(prep.kinds):
        if kind == "num":
            mu, sd = (ref[j].mean(), ref[j].std()) if standardize else (0.0, 1.0)
            if not sd > 0:
                sd = 1.0
            for t, table in enumerate(prep.tables):
                blocks[t].append(((table[j] - mu) / sd)[:, None])
        else:
            k = len(prep.categories[j])
            for t, table in enumerate(prep.tables):
                onehot = np.zeros((len(table[j]), k))
                onehot[np.arange(len(table[j])), table[j]] = scale
                blocks[t].append(onehot)
    return [np.hstack(b) for b in blocks]


def _encode(reference, *others, standardize: bool = True, labels=None) -> list:
    """Numeric matrices of ``others``, the encoding fitted on ``reference``.

    Numeric columns are standardised by the reference's mean and std (std 0 -> 1; skipped when
    ``standardize=False``); categorical columns are one-hot on the union of the categories of
    all inputs, scaled by :math:`1/\\sqrt 2` (two different categories are at distance 1).
    Pass the reference again among ``others`` to get its own encoding.
    """
    prep = _prepare(reference, *others, labels=labels)
    return _encode_prepared(prep, standardize=standardize)[1:]


def _ordinal(prep: _Prepared, exclude=()):
    """Matrices for HistGradientBoosting: categorical columns as ordinal codes, and the mask."""
    keep = [j for j in range(len(prep.kinds)) if j not in set(exclude)]
    mats = [
        np.column_stack([np.asarray(table[j], dtype=np.float64) for j in keep])
        for table in prep.tables
    ]
    mask = np.array(
        [prep.kinds[j] == "cat" and len(prep.categories[j]) <= _MAX_NATIVE_CATEGORIES for j in keep]
    )
    return mats, (mask if mask.any() else None)


def _seed(random_state) -> int:
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


# ------------------------------------------------------------------------------ metrics
def c2st(real, synthetic, *, cv=5, random_state=0, max_rows=None):
    """Classifier two-sample test: cross-validated ROC AUC of real-versus-synthetic.

    A ``HistGradientBoostingClassifier`` learns to tell real rows (label 0) from synthetic
    rows (label 1); its out-of-fold ``predict_proba`` over all rows, from ``StratifiedKFold(cv,
    shuffle=True, random_state)``, gives one ROC AUC. 0.5 is ideal (indistinguishable), 1.0
    means the classifier separates the two perfectly. Values a little below 0.5 are noise.

    Protocol: draw a synthetic sample of the *same size* as the real one (AUC itself does not
    depend on the class balance, but the classifier's power does); the real rows should be
    held-out rows the generator did not train on. Categorical columns are passed natively to
    the classifier as ordinal codes on the union of categories (``categorical_features``);
    numeric columns are used as they are (trees do not need scaling).

    Parameters
    ----------
    real, synthetic : array-like or DataFrame of shape (n, d) and (m, d)
    cv : int, default=5
        Number of stratified folds.
    random_state : int, RandomState instance or None, default=0
        Seeds the folds, the classifier and the ``max_rows`` subsampling.
    max_rows : int or None, default=None
        If given, each sample is first subsampled (without replacement) to at most this many
        rows, to bound the cost.

    Returns
    -------
    float
        The ROC AUC in [0, 1]; 0.5 is ideal.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    prep = _prepare(real, synthetic, labels=("real", "synthetic"))
    (Xr, Xs), mask = _ordinal(prep)
    if max_rows is not None:
        if not isinstance(max_rows, numbers.Integral) or max_rows < cv:
            raise ValueError(f"max_rows must be an integer >= cv={cv}, got {max_rows!r}")
        rng = check_random_state(random_state)
        if len(Xr) > max_rows:
            Xr = Xr[np.sort(rng.choice(len(Xr), max_rows, replace=False))]
        if len(Xs) > max_rows:
            Xs = Xs[np.sort(rng.choice(len(Xs), max_rows, replace=False))]
    if min(len(Xr), len(Xs)) < cv:
        raise ValueError(f"c2st needs at least cv={cv} rows in each sample")
    X = np.vstack([Xr, Xs])
    y = np.r_[np.zeros(len(Xr), dtype=int), np.ones(len(Xs), dtype=int)]
    clf = HistGradientBoostingClassifier(
        categorical_features=mask, random_state=_seed(random_state)
    )
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    proba = cross_val_predict(clf, X, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba))


def _tv(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Total variation distance between the frequencies of codes ``a`` and ``b`` in [0, k)."""
    pa = np.bincount(a, minlength=k) / len(a)
    pb = np.bincount(b, minlength=k) / len(b)
    return float(0.5 * np.abs(pa - pb).sum())


def column_shapes(real, synthetic):
    """Per-column marginal similarity (sdmetrics' KSComplement and TVComplement).

    Numeric columns score :math:`1 - D_{KS}`, one minus the two-sample Kolmogorov–Smirnov
    statistic (``scipy.stats.ks_2samp``); categorical columns score
    :math:`1 - \\tfrac12\\sum_c |p_{real}(c) - p_{syn}(c)|`, one minus the total variation
    distance of the category frequencies. 1 is ideal (identical marginals), 0 the worst.

    Parameters
    ----------
    real, synthetic : array-like or DataFrame of shape (n, d) and (m, d)

    Returns
    -------
    dict
        ``{"columns": {name: score}, "mean": float}``; names are the DataFrame's column
        names, or ``"x0", "x1", ...`` for arrays.
    """
    from scipy.stats import ks_2samp

    prep = _prepare(real, synthetic, labels=("real", "synthetic"))
    (r, s) = prep.tables
    scores = {}
    for j, name in enumerate(prep.names):
        if prep.kinds[j] == "num":
            scores[name] = float(1.0 - ks_2samp(r[j], s[j]).statistic)
        else:
            scores[name] = 1.0 - _tv(r[j], s[j], len(prep.categories[j]))
    return {"columns": scores, "mean": float(np.mean(list(scores.values())))}


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    sx, sy = x.std(), y.std()
    if not (sx > 0 and sy > 0):
        return 0.0
    rho = np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy)
    return float(np.clip(rho, -1.0, 1.0))


def correlation_similarity(real, synthetic, *, bins=10, binning="quantile"):
    """Pairwise trend similarity (sdmetrics' CorrelationSimilarity and ContingencySimilarity).

    Averaged over all column pairs :math:`(a, b)`: a numeric pair scores
    :math:`1 - |\\rho_{real} - \\rho_{syn}| / 2` with Pearson's :math:`\\rho` (a constant column
    counts as :math:`\\rho = 0`); a pair with a categorical column scores one minus the total
    variation distance of the two-way contingency tables, a numeric column being binned first.
    1 is ideal, 0 the worst.

    Parameters
    ----------
    real, synthetic : array-like or DataFrame of shape (n, d) and (m, d)
    bins : int, default=10
        Bins of a numeric column in a pair with a categorical one.
    binning : {"quantile", "sdmetrics"}, default="quantile"
        How such a column is binned. ``"quantile"``: at the real data's quantiles, the
        synthetic values outside the real range falling in the end bins. ``"sdmetrics"``: as
        SDMetrics' ``QualityReport`` (Column Pair Trends) does, which published tables
        (TabSyn, TabDiff) report: each table's column cut into ``bins`` equal-width bins over
        *its own* range (``numpy.histogram_bin_edges``) and coded by ``numpy.digitize``, so
        the maximum gets a bin of its own. Use it to compare with those tables; the quantile
        binning compares the two tables on the same bins.

    Returns
    -------
    dict
        ``{"pairs": {(a, b): score}, "mean": float}``; ``mean`` is NaN when there are fewer
        than two columns.
    """
    if not isinstance(bins, numbers.Integral) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    if binning not in ("quantile", "sdmetrics"):
        raise ValueError(f"binning must be 'quantile' or 'sdmetrics', got {binning!r}")
    prep = _prepare(real, synthetic, labels=("real", "synthetic"))
    (r, s) = prep.tables
    d = len(prep.names)

    discrete = {}  # column -> (real codes, synthetic codes, number of levels), built lazily

    def levels(j):
        if j not in discrete:
            if prep.kinds[j] == "cat":
                discrete[j] = (r[j], s[j], len(prep.categories[j]))
            elif binning == "sdmetrics":  # codes 1..bins + 1 (the maximum alone in the last)
                discrete[j] = (
                    *(np.digitize(x, np.histogram_bin_edges(x, bins)) for x in (r[j], s[j])),
                    bins + 2,
                )
            else:
                edges = np.unique(np.quantile(r[j], np.linspace(0, 1, bins + 1)))[1:-1]
                discrete[j] = (
                    np.searchsorted(edges, r[j], side="right"),
                    np.searchsorted(edges, s[j], side="right"),
                    len(edges) + 1,
                )
        return discrete[j]

    pairs = {}
    for a in range(d):
        for b in range(a + 1, d):
            key = (prep.names[a], prep.names[b])
            if prep.kinds[a] == "num" and prep.kinds[b] == "num":
                diff = abs(_pearson(r[a], r[b]) - _pearson(s[a], s[b]))
                pairs[key] = 1.0 - diff / 2.0
            else:
                ra, sa, ka = levels(a)
                rb, sb, kb = levels(b)
                pairs[key] = 1.0 - _tv(ra * kb + rb, sa * kb + sb, ka * kb)
    mean = float(np.mean(list(pairs.values()))) if pairs else float("nan")
    return {"pairs": pairs, "mean": mean}


def dcr(train, holdout, synthetic):
    """Distance to closest record (the TabSyn protocol): are synthetic rows copies of train?

    On the ``_encode`` features fitted on ``train`` (standardised numerics, one-hot
    categoricals at distance 1), with Euclidean distance, each synthetic row's distance to its
    nearest train row is compared with its distance to its nearest holdout row. A generator
    that learned the law, not the rows, is as close to unseen holdout rows as to train rows.

    ``holdout`` must be real rows the generator did not see, ideally as many as ``train``:
    then the ideal ``share`` is 0.5; in general it is
    :math:`n_{train} / (n_{train} + n_{holdout})` (``ideal_share``).

    Parameters
    ----------
    train, holdout, synthetic : array-like or DataFrame of shape (n, d), (h, d) and (m, d)

    Returns
    -------
    dict
        ``share``: fraction of synthetic rows strictly closer to train than to holdout (ties
        count 1/2); ``ideal_share`` is its value for a perfect generator, and above it means
        memorisation. ``ratio``: median DCR(synthetic -> train) / median DCR(holdout -> train),
        about 1 is ideal, much below 1 means copies (``inf`` or ``nan`` when the holdout's
        median is 0). ``median_synthetic``, ``median_holdout``: those two medians.
    """
    from sklearn.neighbors import NearestNeighbors

    T, H, S = _encode(
        train, train, holdout, synthetic, labels=("train", "train", "holdout", "synthetic")
    )
    nn_train = NearestNeighbors(n_neighbors=1).fit(T)
    nn_hold = NearestNeighbors(n_neighbors=1).fit(H)
    d_st = nn_train.kneighbors(S)[0][:, 0]
    d_sh = nn_hold.kneighbors(S)[0][:, 0]
    d_ht = nn_train.kneighbors(H)[0][:, 0]
    tie = np.isclose(d_st, d_sh, rtol=1e-9, atol=1e-12)
    share = float(np.mean((d_st < d_sh) & ~tie) + 0.5 * np.mean(tie))
    med_s, med_h = float(np.median(d_st)), float(np.median(d_ht))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.float64(med_s) / np.float64(med_h))
    return {
        "share": share,
        "ideal_share": len(T) / (len(T) + len(H)),
        "ratio": ratio,
        "median_synthetic": med_s,
        "median_holdout": med_h,
    }


def _target_index(train, prep: _Prepared, target) -> int:
    d = len(prep.names)
    if is_frame(train):
        if target not in prep.names:
            raise ValueError(f"target {target!r} is not a column of train: {prep.names}")
        return prep.names.index(target)
    if not isinstance(target, numbers.Integral) or not -d <= target < d:
        raise ValueError(f"target must be a column index in [-{d}, {d}) for arrays, got {target!r}")
    return int(target) % d


def _onehot(prep: _Prepared, exclude=()):
    """Matrices for a user's estimator: numeric columns as they are, categorical columns
    one-hot on the union of the categories."""
    mats = [[] for _ in prep.tables]
    for j, kind in enumerate(prep.kinds):
        if j in set(exclude):
            continue
        for t, table in enumerate(prep.tables):
            if kind == "num":
                mats[t].append(np.asarray(table[j], dtype=np.float64)[:, None])
            else:
                onehot = np.zeros((len(table[j]), len(prep.categories[j])))
                onehot[np.arange(len(table[j])), table[j]] = 1.0
                mats[t].append(onehot)
    return [np.hstack(m) for m in mats]


def _class_proba(X, y, X_test, mask, n_classes, seed, estimator=None):
    """``predict_proba`` on ``X_test`` with one column per class code in [0, n_classes).

    The classifier sees the classes present in ``y`` as 0..k-1 (some, like XGBoost's, refuse
    labels with gaps)."""
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingClassifier

    P = np.zeros((len(X_test), n_classes))
    present = np.unique(y)
    if len(present) == 1:  # nothing to learn: a constant prediction (AUC 0.5)
        P[:, present[0]] = 1.0
        return P
    if estimator is None:
        clf = HistGradientBoostingClassifier(categorical_features=mask, random_state=seed)
    else:
        clf = clone(estimator)
    clf.fit(X, np.searchsorted(present, y))
    P[:, present[np.asarray(clf.classes_, dtype=np.intp)]] = clf.predict_proba(X_test)
    return P


def ml_efficiency(train, test, synthetic, target, *, task="auto", estimator=None, random_state=0):
    """Machine-learning efficiency: train on synthetic, test on real, versus train on real.

    Two models (by default ``HistGradientBoosting`` classifiers or regressors) predict
    ``target`` from the other columns, one fitted on the real ``train`` rows, one on the
    ``synthetic`` rows; both are scored on the real ``test`` rows. Classification uses ROC AUC (binary, or one-vs-rest
    macro over the test classes for multiclass; a class the synthetic data lacks gets
    probability 0), regression :math:`R^2`. The ideal ``difference`` is 0 (or below: the
    synthetic model is as good as the real one).

    Categorical features are handled as in :func:`c2st`. With ``task="auto"`` the task is
    classification when the target is categorical (bool, object, string, category) or
    integer-valued with at most 20 distinct values in ``train``, else regression. For a numeric
    classification target, synthetic labels are snapped to the nearest class of the real data
    (a generator of continuous values rarely hits the integers exactly).

    Parameters
    ----------
    train, test, synthetic : array-like or DataFrame of shape (n, d), (k, d) and (m, d)
        ``synthetic`` should come from a generator fitted on ``train`` only.
    target : column name (DataFrames) or column index (arrays)
    task : {"auto", "classification", "regression"}, default="auto"
    estimator : scikit-learn estimator, default=None
        The model to train (cloned for each fit): a classifier with ``predict_proba`` or a
        regressor, as the task needs. It sees the categorical features one-hot encoded (on
        the union of the categories) beside the numeric ones, and the classes present in its
        training rows as ``0..k-1``. Published tables (TabSyn, TabDiff) use XGBoost with a
        hyperparameter grid chosen on a validation split of the training rows, e.g.
        ``GridSearchCV(XGBClassifier(), grid, cv=ShuffleSplit(1, test_size=1/9),
        scoring="roc_auc")``. ``None``: ``HistGradientBoosting`` with native categorical
        support, seeded by ``random_state``.
    random_state : int, RandomState instance or None, default=0
        Seeds the default models (``estimator`` keeps its own seed).

    Returns
    -------
    dict
        ``{"real": s_real, "synthetic": s_syn, "difference": s_real - s_syn,
        "metric": "roc_auc" or "r2"}``.
    """
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import r2_score, roc_auc_score

    if task not in ("auto", "classification", "regression"):
        raise ValueError(f"task must be 'auto', 'classification' or 'regression', got {task!r}")
    prep = _prepare(train, test, synthetic, labels=("train", "test", "synthetic"))
    if len(prep.names) < 2:
        raise ValueError("ml_efficiency needs at least one feature besides the target")
    j = _target_index(train, prep, target)
    y_tr, y_te, y_sy = (table[j] for table in prep.tables)
    if estimator is None:
        (X_tr, X_te, X_sy), mask = _ordinal(prep, exclude=(j,))
    else:
        (X_tr, X_te, X_sy), mask = _onehot(prep, exclude=(j,)), None
    categorical = prep.kinds[j] == "cat"
    if task == "auto":
        integral = not categorical and np.all(y_tr == np.round(y_tr))
        few = categorical or len(np.unique(y_tr)) <= 20
        task = "classification" if categorical or (integral and few) else "regression"
    seed = _seed(random_state)

    if task == "regression":
        if categorical:
            raise ValueError(f"task='regression' needs a numeric target; {target!r} is categorical")
        if estimator is None:
            estimator = HistGradientBoostingRegressor(categorical_features=mask, random_state=seed)
        scores = [
            r2_score(y_te, clone(estimator).fit(X, y).predict(X_te))
            for X, y in ((X_tr, y_tr), (X_sy, y_sy))
        ]
        metric = "r2"
    else:
        if categorical:
            n_classes = len(prep.categories[j])
        else:  # numeric labels: classes of the real data, synthetic values snapped to them
            classes = np.unique(np.r_[y_tr, y_te])
            n_classes = len(classes)
            mid = (classes[1:] + classes[:-1]) / 2
            y_tr, y_te, y_sy = (np.searchsorted(mid, y) for y in (y_tr, y_te, y_sy))
        test_classes = np.unique(y_te)
        if len(test_classes) < 2:
            raise ValueError("the test target has a single class; ROC AUC is undefined")
        scored = test_classes[1:] if len(test_classes) == 2 else test_classes
        scores = []
        for X, y in ((X_tr, y_tr), (X_sy, y_sy)):
            P = _class_proba(X, y, X_te, mask, n_classes, seed, estimator)
            scores.append(np.mean([roc_auc_score(y_te == c, P[:, c]) for c in scored]))
        metric = "roc_auc"
    s_real, s_syn = float(scores[0]), float(scores[1])
    return {"real": s_real, "synthetic": s_syn, "difference": s_real - s_syn, "metric": metric}
