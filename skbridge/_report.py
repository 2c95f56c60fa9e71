"""A synthetic-data report: metrics and figures comparing real with synthetic data.

:func:`report` computes the metrics of :mod:`skbridge.metrics` that fit the data's kind
(tables, real-valued series, token sequences, graphs) and draws figures; the returned
:class:`Report` prints a summary and writes a self-contained HTML page (figures embedded
as PNG, no scripts, no external files).
"""

from __future__ import annotations

import base64
import html
import io
import math
import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from .data._codec import is_frame, is_graph_list

__all__ = ["report", "Report"]


@dataclass
class Metric:
    """One row of a report: a value, what is ideal, and what it measures."""

    name: str
    value: float
    ideal: str
    meaning: str


@dataclass
class Report:
    """What :func:`report` returns: metrics, figures and notes; ``to_html`` writes the page.

    Attributes
    ----------
    kind : {"table", "series", "tokens", "graphs"}
        The kind of data compared.
    metrics : list of Metric
        ``name``, ``value``, ``ideal`` and ``meaning`` of each metric.
    details : dict
        Per-column or per-pair breakdowns (e.g. ``"column_shapes"``: ``{column: score}``).
    figures : list of (title, png_bytes)
        The figures, as PNG images.
    notes : list of str
        What was left out and why (e.g. no ``train`` given, so no memorisation check).
    sizes : dict
        Number of real, synthetic (and train) items.
    seconds : float
        Time taken to compute the report.
    """

    kind: str
    metrics: list = field(default_factory=list)
    details: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    sizes: dict = field(default_factory=dict)
    seconds: float = 0.0

    def __getitem__(self, name):
        for m in self.metrics:
            if m.name == name:
                return m.value
        raise KeyError(name)

    def as_dict(self) -> dict:
        """``{metric name: value}``."""
        return {m.name: m.value for m in self.metrics}

    def summary(self) -> str:
        """The metrics as aligned text lines (what the command line prints)."""
        sizes = ", ".join(f"{k} {v}" for k, v in self.sizes.items())
        lines = [f"synthetic-data report ({self.kind}; {sizes})"]
        width = max((len(m.name) for m in self.metrics), default=0)
        for m in self.metrics:
            lines.append(f"  {m.name:<{width}}  {_fmt(m.value):>9}   ideal {m.ideal}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_html(self, path=None) -> str:
        """The report as one self-contained HTML page; written to ``path`` when given."""
        page = _html(self)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(page)
        return page

    def _repr_html_(self) -> str:  # Jupyter
        return _html(self, standalone=False)


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{round(value, 4) + 0.0:.4f}"  # + 0.0: no "-0.0000"


# ------------------------------------------------------------------------------ entry
def report(
    real, synthetic, *, train=None, target=None, random_state=0, figures=True, max_rows=5000
) -> Report:
    """Compare ``synthetic`` with ``real`` data: quality metrics and figures in one report.

    The kind of data is recognised from ``real``, as the estimators do: a DataFrame or 2-D
    array is a table, a 3-D array holds real-valued series ``(n, length, channels)``, a list
    of strings or token lists holds token sequences, and a list of networkx graphs is a
    graph set. ``real`` should be rows the generator did not train on; ``train`` (the
    generator's training data) adds the memorisation checks, and for tables ``target`` adds
    machine-learning efficiency (a model fitted on synthetic rows, tested on ``real``).

    Metrics by kind (all from :mod:`skbridge.metrics`):

    - tables: :func:`~skbridge.metrics.c2st` (on equal numbers of real and synthetic rows),
      :func:`~skbridge.metrics.column_shapes`,
      :func:`~skbridge.metrics.correlation_similarity` (pair trends),
      :func:`~skbridge.metrics.dcr` (with ``train``),
      :func:`~skbridge.metrics.ml_efficiency` (with ``train`` and ``target``);
    - series: :func:`~skbridge.metrics.discriminative_score` (TimeGAN's, 500 GRU steps),
      :func:`~skbridge.metrics.autocorrelation_error`, mean and standard deviation errors;
    - token sequences: :func:`~skbridge.metrics.kmer_jsd`, length distribution,
      :func:`~skbridge.metrics.nearest_hamming` (with ``train``);
    - graphs: :func:`~skbridge.metrics.degree_mmd`,
      :func:`~skbridge.metrics.clustering_mmd`, :func:`~skbridge.metrics.orbit_mmd`,
      node and edge counts.

    Figures (matplotlib, ``pip install "skbridge[plots]"``; ``figures=False`` skips them):
    per-column histograms or bar charts and the difference of the correlation matrices, a
    2-D PCA embedding of real and synthetic rows and the nearest-record distances for
    tables; overlaid series and autocorrelations for series; token and length frequencies for
    token sequences; sampled graphs beside real ones and degree distributions for graphs.

    Parameters
    ----------
    real, synthetic : table, 3-D array, list of sequences or list of graphs
        Of the same kind and, for tables and series, the same columns or shape.
    train : same kind, optional
        The generator's training data.
    target : column name (DataFrames) or index (arrays), optional
        Tables only: the column to predict for machine-learning efficiency (needs ``train``).
    random_state : int, default=0
        Seeds the classifiers and subsampling: the report is reproducible.
    figures : bool, default=True
        Draw the figures.
    max_rows : int, default=5000
        Tables and series: each set is subsampled to at most this many items for the
        classifier metrics and figures, to bound the cost.

    Returns
    -------
    Report
        ``print(rep)`` shows the metrics; ``rep.to_html("report.html")`` writes the page;
        ``rep["c2st"]`` or ``rep.as_dict()`` give the values.

    Examples
    --------
    >>> import numpy as np
    >>> from skbridge import report
    >>> rng = np.random.default_rng(0)
    >>> rep = report(rng.normal(size=(200, 2)), rng.normal(size=(200, 2)), figures=False)
    >>> 0.3 < rep["c2st"] < 0.7
    True
    """
    t0 = time.perf_counter()
    kind = _kind(real)
    other = _kind(synthetic)
    if other != kind:
        raise ValueError(f"real data is {kind} data but synthetic data is {other} data")
    if train is not None and _kind(train) != kind:
        raise ValueError(f"train is {_kind(train)} data but real data is {kind} data")
    if target is not None and kind != "table":
        raise ValueError("target applies to tables only")
    if not isinstance(max_rows, int) or max_rows < 10:
        raise ValueError(f"max_rows must be an integer >= 10, got {max_rows!r}")
    plt = _matplotlib() if figures else None
    rep = Report(kind)
    rep.sizes = {"real": len(real), "synthetic": len(synthetic)}
    if train is not None:
        rep.sizes["train"] = len(train)
    builder = {"table": _table, "series": _series, "tokens": _tokens, "graphs": _graphs}[kind]
    # one OpenMP thread: the gradient-boosting classifiers on report-sized data run 6x slower
    # with two threads on a busy 2-core machine (spin-waiting), and barely faster when idle
    with threadpool_limits(limits=1, user_api="openmp"):
        builder(rep, real, synthetic, train, target, int(random_state), plt, int(max_rows))
    rep.seconds = time.perf_counter() - t0
    return rep


def _kind(X) -> str:
    from .data._sequence import is_sequence_data

    if is_graph_list(X):
        return "graphs"
    if is_frame(X):
        return "table"
    if is_sequence_data(X):
        return "series" if isinstance(X, np.ndarray) or not _is_tokens(X) else "tokens"
    A = np.asarray(X)
    if A.ndim == 2:
        return "table"
    raise ValueError(
        "report reads tables (DataFrame or 2-D array), series (3-D array), token sequences "
        f"(list of strings or token lists) or lists of networkx graphs; got {type(X).__name__}"
    )


def _is_tokens(X) -> bool:
    first = X[0]
    return isinstance(first, str) or (
        isinstance(first, (list, tuple)) and (len(first) == 0 or isinstance(first[0], str))
    )


def _matplotlib():
    from ._base import optional_import

    optional_import("matplotlib", "plots", "report figures")
    from matplotlib.figure import Figure

    return Figure


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def _subsample(X, m: int, rng: np.random.RandomState):
    n = len(X)
    if n <= m:
        return X
    idx = np.sort(rng.choice(n, m, replace=False))
    if is_frame(X):
        return X.iloc[idx].reset_index(drop=True)
    if isinstance(X, np.ndarray):
        return X[idx]
    return [X[i] for i in idx]


# ------------------------------------------------------------------------------ tables
def _table(rep, real, synthetic, train, target, seed, Figure, max_rows):
    from . import metrics
    from .metrics._tabular import _encode_prepared, _prepare

    rng = np.random.RandomState(seed)
    R, S = _subsample(real, max_rows, rng), _subsample(synthetic, max_rows, rng)
    T = _subsample(train, max_rows, rng) if train is not None else None
    n_min = min(len(R), len(S))
    if n_min >= 10:
        # as many synthetic rows as real ones (and vice versa): the classifier's power
        # depends on the balance, and the published protocol uses equal sizes
        value = metrics.c2st(
            _subsample(R, n_min, rng),
            _subsample(S, n_min, rng),
            cv=5 if n_min >= 50 else 2,
            random_state=seed,
        )
        rep.metrics.append(
            Metric("c2st", value, "0.5", "ROC AUC of a classifier telling real from synthetic")
        )
    else:
        rep.notes.append("c2st needs at least 10 rows in each set: skipped")
    shapes = metrics.column_shapes(R, S)
    rep.details["column_shapes"] = shapes["columns"]
    rep.metrics.append(
        Metric(
            "column_shapes",
            shapes["mean"],
            "1",
            "mean over columns of 1 - KS statistic (numbers) or 1 - total variation (categories)",
        )
    )
    pairs = metrics.correlation_similarity(R, S)
    if pairs["pairs"]:
        rep.details["pair_trends"] = {f"{a} / {b}": v for (a, b), v in pairs["pairs"].items()}
        rep.metrics.append(
            Metric(
                "pair_trends",
                pairs["mean"],
                "1",
                "mean over column pairs of correlation or contingency-table similarity",
            )
        )
    if T is not None:
        d = metrics.dcr(T, R, S)
        rep.details["dcr"] = d
        rep.metrics.append(
            Metric(
                "dcr_share",
                d["share"],
                f"{d['ideal_share']:.3f}",
                "share of synthetic rows closer to a train row than to a real (held-out) row; "
                "above the ideal means copies of training rows",
            )
        )
        if target is not None:
            ml = metrics.ml_efficiency(T, R, S, target, random_state=seed)
            rep.details["ml_efficiency"] = ml
            rep.metrics.append(
                Metric(
                    "ml_efficiency_gap",
                    ml["difference"],
                    "0",
                    f"{ml['metric']} of a model trained on train rows minus one trained on "
                    f"synthetic rows, both tested on the real rows (predicting {target!r}; "
                    f"real {ml['real']:.4f}, synthetic {ml['synthetic']:.4f})",
                )
            )
    else:
        rep.notes.append("no train data given: the memorisation check (DCR) was skipped")
        if target is not None:
            rep.notes.append("ML efficiency needs train data as well as target: skipped")
    if Figure is None:
        return
    sets = [X for X in (R, S, T) if X is not None]
    prep = _prepare(*sets, labels=("real", "synthetic", "train")[: len(sets)])
    _table_marginals(rep, prep, Figure)
    _table_correlations(rep, prep, Figure)
    enc = _encode_prepared(prep)
    _table_embedding(rep, enc[0], enc[1], Figure, seed)
    _table_distances(rep, enc, Figure)


def _grid(n: int, cols: int = 4):
    cols = min(cols, n)
    return math.ceil(n / cols), cols


def _table_marginals(rep, prep, Figure):
    shown = prep.names[:24]
    rows, cols = _grid(len(shown))
    fig = Figure(figsize=(3.2 * cols, 2.4 * rows))
    r, s = prep.tables[0], prep.tables[1]
    for j, name in enumerate(shown):
        ax = fig.add_subplot(rows, cols, j + 1)
        if prep.kinds[j] == "num":
            lo, hi = np.percentile(np.r_[r[j], s[j]], [0.5, 99.5])
            bins = np.linspace(lo, hi, 31) if hi > lo else 10
            ax.hist(r[j], bins=bins, density=True, alpha=0.5, label="real", color="C0")
            ax.hist(s[j], bins=bins, density=True, alpha=0.5, label="synthetic", color="C1")
        else:
            k = len(prep.categories[j])
            top = np.argsort(-np.bincount(r[j], minlength=k), kind="stable")[:12]
            pr = np.bincount(r[j], minlength=k)[top] / len(r[j])
            ps = np.bincount(s[j], minlength=k)[top] / len(s[j])
            x = np.arange(len(top))
            ax.bar(x - 0.2, pr, 0.4, label="real", color="C0")
            ax.bar(x + 0.2, ps, 0.4, label="synthetic", color="C1")
            ax.set_xticks(x, [str(prep.categories[j][t])[:10] for t in top], rotation=60)
            ax.tick_params(axis="x", labelsize=7)
        ax.set_title(str(name)[:30], fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        if j == 0:
            ax.legend(fontsize=7)
    fig.tight_layout()
    title = "Column distributions: real (blue) and synthetic (orange)"
    if len(prep.names) > len(shown):
        title += f" (first {len(shown)} of {len(prep.names)} columns)"
    rep.figures.append((title, _png(fig)))


def _table_correlations(rep, prep, Figure):
    from .metrics._tabular import _pearson

    num = [j for j, k in enumerate(prep.kinds) if k == "num"][:30]
    if len(num) < 2:
        rep.notes.append("fewer than two numeric columns: no correlation-difference figure")
        return

    def corr(table):
        C = np.eye(len(num))
        for a in range(len(num)):
            for b in range(a + 1, len(num)):
                C[a, b] = C[b, a] = _pearson(table[num[a]], table[num[b]])
        return C

    D = corr(prep.tables[1]) - corr(prep.tables[0])
    size = min(3 + 0.35 * len(num), 10)
    fig = Figure(figsize=(size + 1, size))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(D, vmin=-1, vmax=1, cmap="RdBu_r")
    labels = [str(prep.names[j])[:12] for j in num]
    ax.set_xticks(range(len(num)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(num)), labels, fontsize=7)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    rep.figures.append(
        ("Correlation difference, synthetic minus real (numeric columns; 0 is ideal)", _png(fig))
    )


def _table_embedding(rep, Er, Es, Figure, seed):
    from sklearn.decomposition import PCA

    if Er.shape[1] < 2:
        return
    pca = PCA(2, random_state=seed).fit(Er)
    Zr, Zs = pca.transform(Er), pca.transform(Es)
    fig = Figure(figsize=(5, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(Zr[:, 0], Zr[:, 1], s=4, alpha=0.4, label="real", color="C0")
    ax.scatter(Zs[:, 0], Zs[:, 1], s=4, alpha=0.4, label="synthetic", color="C1")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(fontsize=8, markerscale=3)
    fig.tight_layout()
    rep.figures.append(("Rows in the real data's first two principal components", _png(fig)))


def _nearest(reference, query, *, exclude_self=False):
    from sklearn.neighbors import NearestNeighbors

    k = 2 if exclude_self else 1
    dist = NearestNeighbors(n_neighbors=k).fit(reference).kneighbors(query)[0]
    return dist[:, k - 1]


def _table_distances(rep, enc, Figure):
    Er, Es = enc[0], enc[1]
    if len(enc) > 2:  # train given: distances to the training rows
        Et = enc[2]
        d_syn, d_ref = _nearest(Et, Es), _nearest(Et, Er)
        labels = ("synthetic to nearest train row", "real (held-out) to nearest train row")
    else:
        if len(Er) < 2:
            return
        d_syn, d_ref = _nearest(Er, Es), _nearest(Er, Er, exclude_self=True)
        labels = ("synthetic to nearest real row", "real to nearest other real row")
    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    hi = np.percentile(np.r_[d_syn, d_ref], 99) or 1.0
    bins = np.linspace(0, hi, 40)
    ax.hist(d_ref, bins=bins, alpha=0.5, density=True, label=labels[1], color="C0")
    ax.hist(d_syn, bins=bins, alpha=0.5, density=True, label=labels[0], color="C1")
    ax.set_xlabel("distance (standardised numbers, one-hot categories)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    rep.figures.append(
        (
            "Nearest-record distances: a synthetic mass near 0 that real rows lack means copies",
            _png(fig),
        )
    )


# ------------------------------------------------------------------------------ series
def _as_series(X) -> np.ndarray:
    A = np.asarray(X, dtype=np.float64)
    return A[:, :, None] if A.ndim == 2 else A


def _series(rep, real, synthetic, train, target, seed, Figure, max_rows):
    from . import metrics

    for name, X in (("real", real), ("synthetic", synthetic), ("train", train)):
        if X is not None and not isinstance(X, np.ndarray) and len({len(x) for x in X}) > 1:
            raise ValueError(
                f"{name} holds series of different lengths; the report's series metrics "
                "compare series of one length: cut them to a common length, e.g. "
                "[x[:k] for x in X if len(x) >= k], or group them by length"
            )
    rng = np.random.RandomState(seed)
    R = _as_series(_subsample(np.asarray(real), max_rows, rng))
    S = _as_series(_subsample(np.asarray(synthetic), max_rows, rng))
    if R.shape[1:] != S.shape[1:]:
        raise ValueError(f"real series have shape {R.shape[1:]} but synthetic ones {S.shape[1:]}")
    if min(len(R), len(S)) >= 10:
        lo, hi = R.min(axis=(0, 1)), R.max(axis=(0, 1))
        span = np.where(hi > lo, hi - lo, 1.0)
        value = metrics.discriminative_score(
            (R - lo) / span, (S - lo) / span, n_iter=500, random_state=seed
        )
        rep.metrics.append(
            Metric(
                "discriminative_score",
                value,
                "0",
                "|0.5 - accuracy| of a GRU telling real from synthetic series (TimeGAN's, "
                "500 steps, channels min-max scaled on the real data)",
            )
        )
    rep.metrics.append(
        Metric(
            "autocorrelation_error",
            metrics.autocorrelation_error(R, S),
            "0",
            "mean absolute difference of the mean autocorrelation functions",
        )
    )
    sd = R.std(axis=(0, 1))
    sd = np.where(sd > 0, sd, 1.0)
    rep.metrics.append(
        Metric(
            "mean_error",
            float(np.mean(np.abs(R.mean(axis=0) - S.mean(axis=0)) / sd)),
            "0",
            "mean absolute difference of the per-step means, in real standard deviations",
        )
    )
    rep.metrics.append(
        Metric(
            "std_error",
            float(np.mean(np.abs(R.std(axis=0) - S.std(axis=0)) / sd)),
            "0",
            "mean absolute difference of the per-step standard deviations, same units",
        )
    )
    if train is not None:
        T = _as_series(np.asarray(train))
        d_syn = _nearest(T.reshape(len(T), -1), S.reshape(len(S), -1))
        d_ref = _nearest(T.reshape(len(T), -1), R.reshape(len(R), -1))
        rep.metrics.append(
            Metric(
                "nearest_train_ratio",
                float(np.median(d_syn) / max(np.median(d_ref), 1e-300)),
                "1",
                "median distance of synthetic series to the nearest train series over that of "
                "real held-out series; far below 1 means copies",
            )
        )
    if Figure is None:
        return
    channels = min(R.shape[2], 4)
    fig = Figure(figsize=(4 * channels, 5.5))
    for c in range(channels):
        for row, (X, name, color) in enumerate(((R, "real", "C0"), (S, "synthetic", "C1"))):
            ax = fig.add_subplot(2, channels, row * channels + c + 1)
            for i in range(min(20, len(X))):
                ax.plot(X[i, :, c], color=color, alpha=0.4, lw=0.8)
            ax.set_title(f"{name}, channel {c}", fontsize=9)
    fig.tight_layout()
    rep.figures.append(("Twenty series of each set, overlaid", _png(fig)))
    fig = Figure(figsize=(4 * channels, 3))
    from .metrics._sequence import _mean_acf

    lags = max(1, min(R.shape[1] - 1, 50))
    acf_r, acf_s = _mean_acf(R, lags), _mean_acf(S, lags)
    for c in range(channels):
        ax = fig.add_subplot(1, channels, c + 1)
        ax.plot(acf_r[:, c] if acf_r.ndim == 2 else acf_r, label="real", color="C0")
        ax.plot(acf_s[:, c] if acf_s.ndim == 2 else acf_s, label="synthetic", color="C1")
        ax.set_xlabel("lag")
        ax.set_title(f"autocorrelation, channel {c}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    rep.figures.append(("Mean autocorrelation functions", _png(fig)))


# ------------------------------------------------------------------------------ tokens
def _tokens(rep, real, synthetic, train, target, seed, Figure, max_rows):
    from collections import Counter

    from . import metrics

    rep.metrics.append(
        Metric(
            "kmer_jsd",
            metrics.kmer_jsd(real, synthetic),
            "0",
            "Jensen-Shannon divergence of the k-mer spectra, mean over k = 1..4",
        )
    )
    len_r = np.array([len(s) for s in real])
    len_s = np.array([len(s) for s in synthetic])
    rep.metrics.append(
        Metric(
            "length_error",
            abs(float(len_r.mean() - len_s.mean())),
            "0",
            "absolute difference of the mean lengths",
        )
    )
    if train is not None:
        h_syn = metrics.nearest_hamming(train, synthetic)
        h_ref = metrics.nearest_hamming(train, real)
        rep.metrics.append(
            Metric(
                "nearest_hamming_ratio",
                float(h_syn["mean"] / max(h_ref["mean"], 1e-300)),
                "1",
                "mean normalised Hamming distance of synthetic sequences to the nearest train "
                "sequence over that of real held-out ones; far below 1 means copies",
            )
        )
        rep.metrics.append(
            Metric(
                "exact_copies",
                float(h_syn["exact_copies"]),
                f"{h_ref['exact_copies']:.3f}",
                "share of synthetic sequences identical to a train sequence (ideal: the real "
                "held-out sequences' share)",
            )
        )
    if Figure is None:
        return
    fig = Figure(figsize=(10, 3.2))
    ax = fig.add_subplot(1, 2, 1)
    cr = Counter(t for s in real for t in s)
    cs = Counter(t for s in synthetic for t in s)
    top = [t for t, _ in cr.most_common(20)]
    x = np.arange(len(top))
    nr, ns = max(sum(cr.values()), 1), max(sum(cs.values()), 1)
    ax.bar(x - 0.2, [cr[t] / nr for t in top], 0.4, label="real", color="C0")
    ax.bar(x + 0.2, [cs[t] / ns for t in top], 0.4, label="synthetic", color="C1")
    ax.set_xticks(x, [str(t)[:8] for t in top], rotation=60, fontsize=7)
    ax.set_title("token frequencies", fontsize=9)
    ax.legend(fontsize=7)
    ax = fig.add_subplot(1, 2, 2)
    bins = np.arange(min(len_r.min(), len_s.min()), max(len_r.max(), len_s.max()) + 2) - 0.5
    ax.hist(len_r, bins=bins, alpha=0.5, density=True, label="real", color="C0")
    ax.hist(len_s, bins=bins, alpha=0.5, density=True, label="synthetic", color="C1")
    ax.set_title("sequence lengths", fontsize=9)
    fig.tight_layout()
    rep.figures.append(("Token and length frequencies", _png(fig)))


# ------------------------------------------------------------------------------ graphs
def _graphs(rep, real, synthetic, train, target, seed, Figure, max_rows):
    from . import metrics

    for name, fn, meaning in (
        ("degree_mmd", metrics.degree_mmd, "MMD² between degree distributions"),
        ("clustering_mmd", metrics.clustering_mmd, "MMD² between clustering coefficients"),
        ("orbit_mmd", metrics.orbit_mmd, "MMD² between 4-node orbit counts"),
    ):
        rep.metrics.append(Metric(name, float(fn(real, synthetic)), "0", meaning))
    for name, count in (("nodes", len), ("edges", lambda G: G.number_of_edges())):
        cr = np.array([count(G.nodes if name == "nodes" else G) for G in real], dtype=float)
        cs = np.array([count(G.nodes if name == "nodes" else G) for G in synthetic], dtype=float)
        rep.metrics.append(
            Metric(
                f"mean_{name}_error",
                abs(float(cr.mean() - cs.mean())),
                "0",
                f"absolute difference of the mean number of {name} per graph",
            )
        )
    if Figure is None:
        return
    import networkx as nx

    fig = Figure(figsize=(12, 6))
    k = 6
    for row, (graphs, name, color) in enumerate(
        ((real, "real", "C0"), (synthetic, "synthetic", "C1"))
    ):
        for i, G in enumerate(list(graphs)[:k]):
            ax = fig.add_subplot(2, k, row * k + i + 1)
            pos = nx.spring_layout(G, seed=seed)
            nx.draw_networkx(
                G, pos, ax=ax, node_size=15, with_labels=False, node_color=color, width=0.6
            )
            ax.set_axis_off()
            ax.set_title(f"{name} {i}", fontsize=8)
    fig.tight_layout()
    rep.figures.append(("Graphs: real (top) and synthetic (bottom)", _png(fig)))
    fig = Figure(figsize=(5, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    dr = np.concatenate([[d for _, d in G.degree()] for G in real])
    ds = np.concatenate([[d for _, d in G.degree()] for G in synthetic])
    bins = np.arange(0, max(dr.max(initial=0), ds.max(initial=0)) + 2) - 0.5
    ax.hist(dr, bins=bins, alpha=0.5, density=True, label="real", color="C0")
    ax.hist(ds, bins=bins, alpha=0.5, density=True, label="synthetic", color="C1")
    ax.set_xlabel("degree")
    ax.legend(fontsize=7)
    fig.tight_layout()
    rep.figures.append(("Degree distributions", _png(fig)))


# -------------------------------------------------------------------------------- html
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.35em 0.8em; text-align: left;
         vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; margin-bottom: 0.4em; }
.note { color: #7a4b00; } .small { color: #666; font-size: 0.85em; }
"""


def _html(rep: Report, standalone: bool = True) -> str:
    from . import __version__

    esc = html.escape
    parts = [f"<h1>Synthetic-data report: {esc(rep.kind)}</h1>"]
    sizes = ", ".join(f"{esc(k)}: {v}" for k, v in rep.sizes.items())
    parts.append(
        f"<p class='small'>{sizes}. skbridge {esc(__version__)}, "
        f"computed in {rep.seconds:.1f} s.</p>"
    )
    parts.append(
        "<h2>Metrics</h2><table><thead><tr><th>metric</th><th>value</th>"
        "<th>ideal</th><th>what it measures</th></tr></thead><tbody>"
    )
    for m in rep.metrics:
        parts.append(
            f"<tr><td>{esc(m.name)}</td><td class='num'>{esc(_fmt(m.value))}</td>"
            f"<td class='num'>{esc(m.ideal)}</td><td>{esc(m.meaning)}</td></tr>"
        )
    parts.append("</tbody></table>")
    for note in rep.notes:
        parts.append(f"<p class='note'>Note: {esc(note)}</p>")
    if "column_shapes" in rep.details:
        parts.append(
            "<h2>Per column</h2><table><thead><tr><th>column</th>"
            "<th>shape similarity</th></tr></thead><tbody>"
        )
        for name, v in sorted(rep.details["column_shapes"].items(), key=lambda kv: kv[1]):
            parts.append(f"<tr><td>{esc(str(name))}</td><td class='num'>{v:.4f}</td></tr>")
        parts.append("</tbody></table>")
    if rep.figures:
        parts.append("<h2>Figures</h2>")
    for i, (title, png) in enumerate(rep.figures):
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f"<figure id='figure-{i}'><figcaption>{esc(title)}</figcaption>"
            f"<img alt='{esc(title)}' src='data:image/png;base64,{data}'></figure>"
        )
    body = "\n".join(parts)
    if not standalone:
        return f"<div><style>{_CSS}</style>{body}</div>"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>skbridge report: {esc(rep.kind)}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
