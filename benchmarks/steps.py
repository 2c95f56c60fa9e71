"""Sample quality against the number of network evaluations (NFE) and against fit time.

Each model is fitted once per seed; the sampler and its number of steps are then changed
with ``set_params`` (both are read at sampling time, so there is no refit) and the same fit
is sampled at a target of 5, 10, 20, 50 and 100 network evaluations per sample.

Datasets (split and standardisation seeded by the seed of the row):

``two_moons``, ``gaussian_mixture``
    ``core.load_dataset``: 2000 training / 1000 test rows (2 and 16 features).
``breast_cancer``
    scikit-learn's ``load_breast_cancer().data`` (569 × 30), split 80/20 (456 / 113),
    standardised with the training mean and std.
``sines`` (on request)
    TimeGAN's sines, ``make_sines(2000)`` (24 steps × 5 channels, values in [0, 1]), split
    80/20 (1600 / 400) as in ``sequences.py``, passed as a ``(n, 24, 5)`` array.
``stock`` (on request)
    TimeGAN's Google stock series (``--stock-csv``; 3685 days × 6 columns: Open, High, Low,
    Close, Adj_Close, Volume). As TimeGAN: every column min-max scaled over the whole series,
    sliding windows of 24 days with stride 1 (3662, all of them; TimeGAN's loader drops
    the last one and reverses the rows, which are in date order in this file), shuffled
    with the seed, split 80/20 (2930 / 732), passed as a ``(n, 24, 6)`` array. Skipped,
    with a message, when the file is missing.

Models, ``random_state=seed``, defaults except ``max_iter`` (the same for every model of a
dataset, ``MAX_ITER``: 1500 on the tables, 500 on sequences; recorded in the rows):
``ScoreSDE``; ``SBVAE`` (the interrupted encoder); ``SBVAE joint-elbo``
(``SBVAE(encoder="joint", encoder_gradient="elbo")``: the encoder trained for the whole
budget on the chain −ELBO); ``FlowMatching`` (the straight-path baseline).

Samplers and the NFE per sample for ``n_steps = K`` (a target NFE is met exactly where the
sampler allows, else from below; the rows record ``n_steps`` and the actual ``nfe``):

========================  ==========  =======================================
sampler                   NFE         K for a target N
========================  ==========  =======================================
``sde``, ``dpm``,         K           N
``dpm-sde``
``ode`` (Heun, last step  2K − 1      (N + 1) // 2 (N = 10 → K = 5, NFE 9)
Euler)
``pc`` (one corrector     2K          N // 2 (N = 5 → K = 2, NFE 4)
step a step)
FlowMatching ``euler``    K           N
FlowMatching ``heun``     2K          N // 2 (no Euler last step)
========================  ==========  =======================================

An evaluation is one of the drift network (the decoder); an SBVAE that kept its learned
encoder also evaluates the encoder in ``ode``, ``pc`` and ``dpm`` (``network_evals`` in
the rows counts both networks). A sampler the installed skbridge rejects is skipped with a
message (``set_params`` does not validate; the script asks the parameter validation).

Metrics, each a mean and standard error (``std(ddof=1) / sqrt(n)``) over the seeds:

* energy distance to the test rows at every NFE: tables, mean over 2 draws of
  ``len(test)`` samples; sequences (windows flattened), one draw
  (``random_state = 1000 * seed + draw``);
* tables: C2ST ROC AUC (``skbridge.metrics.c2st``, test rows against the first draw) at
  NFE 10, 20 and 100;
* sequences: TimeGAN's discriminative score (``skbridge.metrics.discriminative_score``,
  test windows against the draw, ``random_state=seed``) at NFE 10, 20 and 100, with 500
  GRU steps (TimeGAN's and ``sequences.py``'s 2000 cost 14 s a call here, 51 calls per
  seed and dataset), so its values are not comparable with ``sequences.py``'s, only with
  each other and with the reference row below;
* ``train rows (reference)``: the same metrics for training rows (random subsets of
  ``len(test)``) against the test rows, the noise level a perfect generator reaches;
* fit time (``time.perf_counter`` around ``fit``), and SBVAE's ``encoder_kept_``,
  ``encoder_improved_``, ``encoder_stopped_iter_`` per seed;
* on two_moons and gaussian_mixture: wall time of ``sample(10000)`` at 10 NFE (best of 3)
  with ``sde`` and ``dpm-sde`` (and FlowMatching ``euler``), torch's thread count as on the
  machine (``torch.get_num_threads()``, printed and in the rows).

"The model with its best sampler": per (dataset, model, NFE) the sampler with the lowest
mean energy distance (sequences: discriminative score at the NFEs where it is computed,
else energy distance, marked in the table); ``kind == "best"`` rows, the last table of
each dataset and the figure: per dataset, quality against NFE (log–log, error bars one SE,
each point labelled with its sampler) and, below, against fit time (NFE 100 filled, NFE 10
open); the dotted line is the reference row.

Run::

    python benchmarks/steps.py                        # the tables: results/steps.json + docs/img/steps.png
    python benchmarks/steps.py --datasets sines stock # the sequences, merged into the same file
    python benchmarks/steps.py --quick                # smoke run (< 2 min on 2 cores): results/steps_quick.json
    python benchmarks/steps.py --datasets two_moons --models ScoreSDE SBVAE --seeds 0 1 \\
        --plots /tmp/figs --out /tmp/steps.json       # also --stock-csv PATH, --max-iter N, --fresh

Rows are merged into the results file by (dataset, model), as in the other benchmarks
(``--fresh`` starts over), so the sequences can be run apart. ``--quick``: seed 0,
two_moons (500 / 300 rows, ``max_iter=200``) and sines (300 sequences, ``max_iter=20``),
fitted with ``n_steps=10`` (the held-out checks' grid), NFE 5 and 10, C2ST and a 200-step
discriminative score at NFE 10 only; a smoke run, not a measurement.

Budget. The default run (the three tables, 3 seeds) takes about 18 minutes on 2 CPU
cores; the sequences do not fit in the 30-minute budget: about 2 hours for sines and stock
together. Measured on the 2-core machine on 2026-12-03 (one seed, one torch thread, CPU
time, since other work shared the machine; for these small MLPs one thread fitted as fast
as an idle two-thread run: ScoreSDE on two_moons, 1500 iterations, 7.2 s against 6.9 s),
fit / evaluation seconds of one seed at ``max_iter=1500``:

================  ===========  ===========  ================  ============
dataset           ScoreSDE     SBVAE        SBVAE joint-elbo  FlowMatching
================  ===========  ===========  ================  ============
two_moons         7.2 / 14.9   10.4 / 16.5  34.8 / 15.6       6.1 / 4.7
gaussian_mixture  7.2 / 26.0   10.3 / 23.8  34.8 / 24.6       15.8 / 9.0
breast_cancer     6.9 / 6.9    11.9 / 7.4   36.8 / 7.8        7.6 / 3.0
================  ===========  ===========  ================  ============

350 s a seed, 1050 s for three, plus about 1 s per dataset and seed for the reference
rows; a run of the three tables at these settings took 1048 s (two torch threads, load
average 2.0 at the start). Most of an evaluation is C2ST (0.78 / 1.27 / 0.42 s a call, 51
calls a seed and dataset). Sequences (sines, one thread): ScoreSDE fits in 46 s at
``max_iter=200`` (28 s of it the 20 held-out −ELBO checks on the 100-step chain) and 104 s
at 1000; SBVAE in 187 s at 200 (37 encoder steps on the temporal-convolution network) and
342 s at 1000; FlowMatching's 20 held-out likelihood checks took 94 s of a 40-iteration fit
on 240 sequences; one network evaluation on 600 sequences takes 50–90 ms, a discriminative
score 3.2 s (500 steps; 14.4 s with 2000). At ``max_iter=500`` that is about 70 s
(ScoreSDE), 150 s (FlowMatching), 250 s (SBVAE) and 400 s (joint-elbo, extrapolated) of
fitting plus about 340 s of evaluation per dataset and seed, about 20 minutes, so about 2
hours for two datasets and three seeds (one thread; two threads may help the convolutions,
not measured). Timings are wall-clock: run on an otherwise idle machine and check the load
average recorded in the JSON. On a 2-core machine shared with another process running
torch on two threads, a fit was up to 10 times slower than alone.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import markdown_tables, save_rows  # noqa: E402
from core import load_dataset  # noqa: E402

DATASETS = ("two_moons", "gaussian_mixture", "breast_cancer", "sines", "stock")
SEQUENCES = ("sines", "stock")
DEFAULT_DATASETS = ("two_moons", "gaussian_mixture", "breast_cancer")  # the 30-minute run
QUICK_DATASETS = ("two_moons", "sines")
MODELS = {
    "ScoreSDE": ("ScoreSDE", {}),
    "SBVAE": ("SBVAE", {}),
    "SBVAE joint-elbo": ("SBVAE", {"encoder": "joint", "encoder_gradient": "elbo"}),
    "FlowMatching": ("FlowMatching", {}),
}
DIFFUSION_SAMPLERS = ("sde", "pc", "ode", "dpm", "dpm-sde")
FLOW_SOLVERS = ("euler", "heun")
NFES = (5, 10, 20, 50, 100)
QUICK_NFES = (5, 10)
C2ST_NFES = (10, 20, 100)
DISCRIMINATIVE_NFES = (10, 20, 100)
QUICK_EXPENSIVE_NFES = (10,)  # C2ST and discriminative score in a quick run
# max_iter per dataset, the same for every model (chosen for the 30-minute budget)
MAX_ITER = {
    "two_moons": 1500,
    "gaussian_mixture": 1500,
    "breast_cancer": 1500,
    "sines": 500,
    "stock": 500,
}
QUICK_MAX_ITER = {"two_moons": 200, "sines": 20}  # others: 100
SINES = 2000  # sequences of make_sines (300 with --quick)
N_DRAWS = {"tabular": 2, "sequences": 1}  # sample draws averaged by the energy distance
DISCRIMINATIVE_ITER = 500  # GRU steps of the discriminative score (200 with --quick)
SAMPLE_TIME_DATASETS = ("two_moons", "gaussian_mixture")
SAMPLE_TIME_SAMPLERS = ("sde", "dpm-sde", "euler")
SAMPLE_TIME_NFE = 10
SAMPLE_TIME_ROWS = 10_000
WINDOW = 24  # stock windows, TimeGAN's sequence length
REFERENCE = "train rows (reference)"
DEFAULT_STOCK_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "stock_data.csv"


# ------------------------------------------------------------------------- data
def load(name: str, seed: int, quick: bool, stock_csv: Path):
    """``(train, test)`` of a dataset, or None when its file is missing."""
    if name in ("two_moons", "gaussian_mixture"):
        X_train, X_test = load_dataset(name, seed)
        if quick:
            X_train, X_test = X_train[:500], X_test[:300]
        return X_train, X_test
    rng = np.random.default_rng(seed)
    if name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        X = load_breast_cancer().data
        train, test = _split(X, rng)
        mu, sd = train.mean(0), train.std(0)
        return (train - mu) / sd, (test - mu) / sd
    if name == "sines":
        from skbridge.data import make_sines

        return _split(make_sines(300 if quick else SINES, random_state=seed), rng)
    if name == "stock":
        windows = stock_windows(stock_csv)
        return None if windows is None else _split(windows, rng)
    raise ValueError(f"unknown dataset {name!r}; choose from {DATASETS}")


def stock_windows(stock_csv: Path):
    """The stock series as TimeGAN prepares it: every column min-max scaled to [0, 1], all
    windows of ``WINDOW`` days (stride 1), shape (3662, 24, 6), in calendar order; None when
    the file is missing."""
    if not Path(stock_csv).is_file():
        return None
    series = np.loadtxt(stock_csv, delimiter=",", skiprows=1)
    lo, hi = series.min(0), series.max(0)
    series = (series - lo) / (hi - lo + 1e-7)  # TimeGAN's MinMaxScaler
    windows = np.lib.stride_tricks.sliding_window_view(series, WINDOW, axis=0)
    return np.ascontiguousarray(windows.transpose(0, 2, 1))


def _split(X, rng):
    """Shuffle with ``rng`` and split 80/20."""
    perm = rng.permutation(len(X))
    n_test = len(X) // 5
    return X[perm[n_test:]], X[perm[:n_test]]


def flat(X):
    """Rows as vectors (sequence windows flattened)."""
    return np.asarray(X, dtype=float).reshape(len(X), -1)


# ------------------------------------------------------------------ models, NFE
def make(model: str, seed: int, max_iter: int, quick: bool = False):
    """A fresh model: defaults, ``max_iter`` and ``random_state=seed``. With ``quick``, also
    ``n_steps=10`` during the fit: the held-out checks (20 a fit, whatever ``max_iter``)
    run the 100-step chain otherwise, most of a tiny fit's time on sequences."""
    import skbridge

    cls, params = MODELS[model]
    params = {**params, "max_iter": int(max_iter), "random_state": seed}
    if quick:
        params["n_steps"] = 10
    return getattr(skbridge, cls)(**params)


def is_flow(est) -> bool:
    return type(est).__name__ == "FlowMatching"


def steps_for(sampler: str, target: int) -> tuple[int, int]:
    """``(n_steps, NFE per sample)`` for a target NFE (see the module docstring)."""
    if sampler == "ode":  # Heun steps, the last one into t = 0 an Euler step
        k = (target + 1) // 2
        return k, 2 * k - 1
    if sampler in ("pc", "heun"):  # two evaluations a step
        k = max(1, target // 2)
        return k, 2 * k
    return target, target  # sde, dpm, dpm-sde, euler


def network_evals(sampler: str, n_steps: int, nfe: int, encoder_kept: bool) -> int:
    """Evaluations of any network per sample: the kept encoder of an SBVAE is evaluated
    next to the decoder by the ``ode``, ``dpm`` and ``pc`` (corrector) samplers."""
    if not encoder_kept or sampler in ("sde", "dpm-sde"):
        return nfe
    if sampler == "pc":
        return 3 * n_steps  # corrector: encoder and decoder; predictor: decoder
    return 2 * nfe  # ode, dpm


def samplers_of(est) -> tuple[str, tuple[str, ...]]:
    """The parameter that names the sampler, and the names to try."""
    return ("solver", FLOW_SOLVERS) if is_flow(est) else ("sampler", DIFFUSION_SAMPLERS)


def accepts(est, key: str, value: str) -> bool:
    """Whether the estimator's parameter validation accepts ``key=value`` (``set_params``
    does not validate, and an unknown sampler name would not fail at sampling time)."""
    old = est.get_params()[key]
    est.set_params(**{key: value})
    try:
        est._validate_params()
    except (ValueError, TypeError):  # InvalidParameterError is both
        return False
    finally:
        est.set_params(**{key: old})
    return True


# -------------------------------------------------------------------- metrics
def quality(dataset, draws, train, test, seed, expensive, quick) -> dict:
    """The metrics of one way of sampling, from its draws of ``len(test)`` samples."""
    from skbridge import metrics

    if not all(np.isfinite(flat(d)).all() for d in draws):  # a chain that diverged
        return {"energy": np.inf, "nonfinite": True}
    out = {"energy": float(np.mean([metrics.energy_distance(flat(d), flat(test)) for d in draws]))}
    if expensive:
        if dataset in SEQUENCES:
            out["discriminative"] = float(
                metrics.discriminative_score(
                    test, draws[0], n_iter=200 if quick else DISCRIMINATIVE_ITER, random_state=seed
                )
            )
        else:
            out["c2st"] = float(metrics.c2st(test, draws[0], random_state=seed))
    return out


def n_draws_of(dataset: str) -> int:
    return N_DRAWS["sequences" if dataset in SEQUENCES else "tabular"]


def reference(dataset, train, test, seed, quick) -> dict:
    """The metrics for training rows in place of samples (the noise level)."""
    rng = np.random.default_rng(seed)
    n_draws = n_draws_of(dataset)
    draws = [train[rng.choice(len(train), len(test), replace=False)] for _ in range(n_draws)]
    return quality(dataset, draws, train, test, seed, True, quick)


def sample_time(est, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        est.sample(SAMPLE_TIME_ROWS, random_state=0)
        best = min(best, time.perf_counter() - t0)
    return best


def evaluate(est, dataset, train, test, seed, nfes, quick, skipped) -> list[dict]:
    """One result per (sampler, target NFE) of a fitted model, all from the same fit."""
    expensive_nfes = (
        QUICK_EXPENSIVE_NFES
        if quick
        else (DISCRIMINATIVE_NFES if dataset in SEQUENCES else C2ST_NFES)
    )
    key, names = samplers_of(est)
    kept = bool(getattr(est, "encoder_kept_", False))
    n_draws = n_draws_of(dataset)
    results = []
    for sampler in names:
        if not accepts(est, key, sampler):
            if sampler not in skipped:
                print(f"  {key}={sampler!r} is rejected by this skbridge: skipped", flush=True)
                skipped.add(sampler)
            continue
        for target in nfes:
            n_steps, nfe = steps_for(sampler, target)
            est.set_params(**{key: sampler, "n_steps": n_steps})
            t0 = time.perf_counter()
            draws = [est.sample(len(test), random_state=1000 * seed + k) for k in range(n_draws)]
            r = {
                "sampler": sampler,
                "nfe_target": target,
                "n_steps": n_steps,
                "nfe": nfe,
                "network_evals": network_evals(sampler, n_steps, nfe, kept),
                "sample_s": (time.perf_counter() - t0) / n_draws,
            }
            r.update(quality(dataset, draws, train, test, seed, target in expensive_nfes, quick))
            if (
                dataset in SAMPLE_TIME_DATASETS
                and target == SAMPLE_TIME_NFE
                and sampler in SAMPLE_TIME_SAMPLERS
            ):
                r["sample_10k_s"] = sample_time(est, 1 if quick else 3)
            results.append(r)
    return results


# ----------------------------------------------------------------------- run
def run(datasets, models, seeds, quick, stock_csv, max_iter=None):
    """Per-seed results: ``fits[(dataset, model)]`` and ``evals[(dataset, model)]`` are
    lists over seeds; ``refs[dataset]`` the reference metrics per seed."""
    import torch

    print(f"torch threads: {torch.get_num_threads()}", flush=True)
    t_start = time.time()
    nfes = QUICK_NFES if quick else NFES
    fits, evals, refs, max_iters, sizes = {}, {}, {}, {}, {}
    skipped: set[str] = set()
    for dataset in datasets:
        budget = max_iter or (QUICK_MAX_ITER.get(dataset, 100) if quick else MAX_ITER[dataset])
        for seed in seeds:
            data = load(dataset, seed, quick, stock_csv)
            if data is None:
                print(f"{dataset}: {stock_csv} not found, dataset skipped", flush=True)
                break
            train, test = data
            max_iters[dataset] = budget
            sizes[dataset] = (len(train), len(test), list(np.shape(train)[1:]))
            refs.setdefault(dataset, []).append(reference(dataset, train, test, seed, quick))
            print(
                f"[{time.time() - t_start:6.0f} s] {dataset} seed {seed}: "
                f"{len(train)} train / {len(test)} test, max_iter={budget}",
                flush=True,
            )
            for model in models:
                fit = {"seed": seed}
                try:
                    est = make(model, seed, budget, quick)
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        t0 = time.perf_counter()
                        est.fit(train)
                        fit["fit_s"] = time.perf_counter() - t0
                    fit["warnings"] = sorted({str(w.message).splitlines()[0] for w in caught})
                    fit["n_iter"] = int(est.n_iter_)
                    for attr in ("encoder_kept_", "encoder_improved_", "encoder_stopped_iter_"):
                        fit[attr.rstrip("_")] = _plain(getattr(est, attr, None))
                    res = evaluate(est, dataset, train, test, seed, nfes, quick, skipped)
                except Exception:  # noqa: BLE001 - recorded in the row, the run goes on
                    fit["error"] = traceback.format_exc(limit=3)
                    print(fit["error"], flush=True)
                    res = []
                fits.setdefault((dataset, model), []).append(fit)
                evals.setdefault((dataset, model), []).append(res)
                best = {}
                for r in res:
                    if r["energy"] < best.get(r["nfe_target"], (np.inf,))[0]:
                        best[r["nfe_target"]] = (r["energy"], r["sampler"])
                print(
                    f"[{time.time() - t_start:6.0f} s]   {model}: fit {fit.get('fit_s', np.nan):.1f} s"
                    + "".join(f", {k}: {v[0]:.4f} ({v[1]})" for k, v in sorted(best.items())),
                    flush=True,
                )
    return fits, evals, refs, max_iters, sizes


def _plain(value):
    """A fitted attribute as a JSON value (numpy scalars to Python ones)."""
    return value.item() if hasattr(value, "item") else value


# ----------------------------------------------------------------- aggregate
def mean_se(values):
    """``(mean, standard error)`` over the non-missing values; se None with one value."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return None, None
    se = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else None
    return float(v.mean()), se


METRICS = ("energy", "c2st", "discriminative", "sample_s", "sample_10k_s")


def aggregate(fits, evals, refs, max_iters, sizes, seeds) -> list[dict]:
    """One row per (dataset, model) fit, per (dataset, model, sampler, target NFE) and per
    (dataset, model, target NFE) for the best sampler; one reference row per dataset."""
    import torch

    rows = []
    for dataset, per_seed in refs.items():
        row = {"dataset": dataset, "model": REFERENCE, "kind": "reference", "seeds": list(seeds)}
        for m in ("energy", "c2st", "discriminative"):
            _put(row, m, [r.get(m) for r in per_seed])
        rows.append(row)
    for (dataset, model), per_seed in fits.items():
        n_train, n_test, shape = sizes[dataset]
        base = {"dataset": dataset, "model": model, "max_iter": max_iters[dataset]}
        fit_row = {
            **base,
            "kind": "fit",
            "n_train": n_train,
            "n_test": n_test,
            "shape": shape,
            "seeds": [f["seed"] for f in per_seed],
            "n_iter": [f.get("n_iter") for f in per_seed],
            "encoder_kept": [f.get("encoder_kept") for f in per_seed],
            "encoder_improved": [f.get("encoder_improved") for f in per_seed],
            "encoder_stopped_iter": [f.get("encoder_stopped_iter") for f in per_seed],
            "warnings": sorted({w for f in per_seed for w in f.get("warnings", [])}),
        }
        _put(fit_row, "fit_s", [f.get("fit_s") for f in per_seed])
        errors = [f["error"] for f in per_seed if "error" in f]
        if errors:
            fit_row["error"] = errors[0]
        rows.append(fit_row)
        grouped = {}
        for res in evals[(dataset, model)]:
            for r in res:
                grouped.setdefault((r["sampler"], r["nfe_target"]), []).append(r)
        quality_rows = []
        for (sampler, target), rs in grouped.items():
            row = {
                **base,
                "kind": "quality",
                "sampler": sampler,
                "nfe_target": target,
                "n_steps": rs[0]["n_steps"],
                "nfe": rs[0]["nfe"],
                "network_evals": [r["network_evals"] for r in rs],
                "n_seeds": len(rs),
            }
            for m in METRICS:
                if any(m in r for r in rs):
                    _put(row, m, [r.get(m) for r in rs])
            if "sample_10k_s" in row:
                row["torch_threads"] = torch.get_num_threads()
            quality_rows.append(row)
        rows += quality_rows
        rows += best_rows(dataset, quality_rows, base)
    return rows


def _put(row, metric, values):
    mean, se = mean_se(values)
    if mean is None:
        return
    row[metric], row[f"{metric}_se"], row[f"{metric}_seeds"] = mean, se, values


def primary(dataset: str) -> str:
    return "discriminative" if dataset in SEQUENCES else "energy"


def best_rows(dataset, quality_rows, base) -> list[dict]:
    """Per target NFE, the sampler with the lowest mean of the dataset's primary metric
    (energy distance where that is not computed)."""
    out = []
    for target in sorted({r["nfe_target"] for r in quality_rows}):
        rs = [r for r in quality_rows if r["nfe_target"] == target]
        by = primary(dataset) if any(primary(dataset) in r for r in rs) else "energy"
        rs = [r for r in rs if r.get(by) is not None]
        if not rs:
            continue
        b = min(rs, key=lambda r: r[by])
        row = {
            **base,
            "kind": "best",
            "nfe_target": target,
            "sampler": b["sampler"],
            "n_steps": b["n_steps"],
            "nfe": b["nfe"],
            "best_by": by,
            "value": b[by],
            "value_se": b.get(f"{by}_se"),
            "runner_up": sorted(rs, key=lambda r: r[by])[1]["sampler"] if len(rs) > 1 else None,
        }
        for m in ("energy", "c2st", "discriminative"):
            if m in b:
                row[m], row[f"{m}_se"] = b[m], b.get(f"{m}_se")
        out.append(row)
    return out


# -------------------------------------------------------------------- tables
def pm(row, key, fmt="{:.4f}"):
    """``mean ± se`` of a metric in a row ('' when missing)."""
    if row is None or row.get(key) is None:
        return ""
    se = row.get(f"{key}_se")
    return fmt.format(row[key]) + ("" if se is None else " ± " + fmt.format(se))


def markdown(rows) -> str:
    """Fit table, quality against NFE (energy distance; C2ST or discriminative score),
    best sampler per NFE and sampling time, per dataset."""
    display, titles, columns = [], {}, {}
    nfes = sorted({r["nfe_target"] for r in rows if r.get("kind") == "quality"})

    def table(key, title, cols, items):
        titles[key], columns[key] = title, cols
        display.extend({"dataset": key, **item} for item in items)

    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        sub = [r for r in rows if r["dataset"] == dataset]
        ref = next((r for r in sub if r.get("kind") == "reference"), None)
        fits = [r for r in sub if r.get("kind") == "fit"]
        qual = [r for r in sub if r.get("kind") == "quality"]
        best = [r for r in sub if r.get("kind") == "best"]
        if fits:
            size = f"{fits[0]['n_train']} train / {fits[0]['n_test']} test"
            table(
                f"{dataset}: fit",
                f"**{dataset}** ({size}, shape {fits[0]['shape']}): fit, mean ± SE over seeds",
                [
                    ("max_iter", "max_iter", "{}"),
                    ("fit", "fit s", "{}"),
                    ("iters", "iters", "{}"),
                    ("kept", "encoder kept", "{}"),
                    ("improved", "improved", "{}"),
                    ("stopped", "stopped at", "{}"),
                ],
                [
                    {
                        "model": r["model"] + (" (failed)" if "error" in r else ""),
                        "max_iter": r["max_iter"],
                        "fit": pm(r, "fit_s", "{:.1f}"),
                        "iters": _join(r["n_iter"]),
                        "kept": _join(r["encoder_kept"]),
                        "improved": _join(r["encoder_improved"]),
                        "stopped": _join(r["encoder_stopped_iter"]),
                    }
                    for r in fits
                ],
            )
        metrics = [("energy", "energy distance", nfes, "{:.4f}")]
        expensive = [n for n in nfes if any(r.get("nfe_target") == n for r in qual if _has(r))]
        if dataset in SEQUENCES:
            metrics.append(("discriminative", "discriminative score", expensive, "{:.3f}"))
        else:
            metrics.append(("c2st", "C2ST AUC", expensive, "{:.3f}"))
        for metric, name, cols, fmt in metrics:
            items = [
                {
                    "model": f"{m} / {s}",
                    **{f"n{n}": pm(_find(qual, m, s, n), metric, fmt) for n in cols},
                }
                for m, s in dict.fromkeys((r["model"], r["sampler"]) for r in qual)
            ]
            if any(any(v for k, v in it.items() if k != "model") for it in items):
                table(
                    f"{dataset}: {metric}",
                    f"**{dataset}**: {name} against the target NFE (model / sampler; "
                    f"train rows: {pm(ref, metric, fmt) or '–'})",
                    [(f"n{n}", f"NFE {n}", "{}") for n in cols],
                    items,
                )
        if best:
            by = {(r["model"], r["nfe_target"]): r for r in best}
            table(
                f"{dataset}: best",
                f"**{dataset}**: each model with its best sampler (value ± SE, sampler)",
                [(f"n{n}", f"NFE {n}", "{}") for n in nfes],
                [
                    {
                        "model": m,
                        **{f"n{n}": _best_cell(by.get((m, n))) for n in nfes if (m, n) in by},
                    }
                    for m in dict.fromkeys(r["model"] for r in best)
                ],
            )
    timed = [r for r in rows if r.get("kind") == "quality" and "sample_10k_s" in r]
    if timed:
        threads = timed[0].get("torch_threads")
        table(
            "sample time",
            f"**sample({SAMPLE_TIME_ROWS}) at {SAMPLE_TIME_NFE} NFE**, best of 3 (quick: 1), mean ± SE "
            f"over seeds (torch threads: {threads})",
            [("dataset_name", "dataset", "{}"), ("sample", "seconds", "{}")],
            [
                {
                    "model": f"{r['model']} / {r['sampler']}",
                    "dataset_name": r["dataset"],
                    "sample": pm(r, "sample_10k_s", "{:.3f}"),
                }
                for r in timed
            ],
        )
    body = markdown_tables(display, columns, title=lambda key, _rows: titles[key])
    legend = (
        "\nNFE columns are targets; the actual NFE per sample is 2K − 1 for `ode` (target 10:"
        " 9), 2K for `pc` and FlowMatching `heun` (target 5: 4); the others meet it exactly."
    )
    return body + "\n" + legend


def _has(row):
    return "c2st" in row or "discriminative" in row


def _find(rows, model, sampler, nfe):
    return next(
        (
            r
            for r in rows
            if r["model"] == model and r["sampler"] == sampler and r["nfe_target"] == nfe
        ),
        None,
    )


def _best_cell(r):
    """``value ± se (sampler)``; marked when chosen by a metric other than the dataset's
    primary one (sequences at the NFEs without a discriminative score)."""
    if r is None:
        return ""
    fmt = "{:.3f}" if r["best_by"] == "discriminative" else "{:.4f}"
    by = "" if r["best_by"] == primary(r["dataset"]) else f"; by {r['best_by']}"
    return f"{pm(r, 'value', fmt)} ({r['sampler']}{by})"


def _join(values):
    return "/".join("–" if v is None else str(v) for v in values)


# -------------------------------------------------------------------- figure
def plot(rows, path: Path) -> Path | None:
    """Per dataset: quality against NFE (top; each model with its best sampler) and
    against fit time (bottom; NFE 100 filled, NFE 10 open)."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no figure", flush=True)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = [
        d for d in DATASETS if any(r["dataset"] == d and r.get("kind") == "best" for r in rows)
    ]
    if not datasets:
        return None
    fig, axes = plt.subplots(2, len(datasets), figsize=(4.3 * len(datasets), 8), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, dataset in enumerate(datasets):
        metric = primary(dataset)
        label = {"energy": "energy distance to test rows", "discriminative": "discriminative score"}
        sub = [r for r in rows if r["dataset"] == dataset]
        best = [r for r in sub if r.get("kind") == "best" and r["best_by"] == metric]
        fits = {r["model"]: r for r in sub if r.get("kind") == "fit"}
        ref = next((r for r in sub if r.get("kind") == "reference"), None)
        top, bottom = axes[0, j], axes[1, j]
        for i, model in enumerate(dict.fromkeys(r["model"] for r in best)):
            color = colors[i % len(colors)]
            pts = sorted((r for r in best if r["model"] == model), key=lambda r: r["nfe"])
            x = [r["nfe"] for r in pts]
            y = [r["value"] for r in pts]
            top.errorbar(
                x,
                y,
                yerr=[r["value_se"] or 0 for r in pts],
                marker="o",
                capsize=3,
                color=color,
                label=model,
            )
            for r in pts:
                top.annotate(
                    r["sampler"],
                    (r["nfe"], r["value"]),
                    fontsize=6,
                    color=color,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
            fit = fits.get(model)
            if fit is None or fit.get("fit_s") is None:
                continue
            top_nfe = max(r["nfe_target"] for r in pts)
            marks = {top_nfe: color, **({10: "white"} if top_nfe != 10 else {})}
            for target, face in marks.items():
                r = next((p for p in pts if p["nfe_target"] == target), None)
                if r is None:
                    continue
                bottom.errorbar(
                    fit["fit_s"],
                    r["value"],
                    xerr=fit.get("fit_s_se") or 0,
                    yerr=r["value_se"] or 0,
                    marker="o",
                    mfc=face,
                    color=color,
                    capsize=3,
                    label=f"{model}, NFE {r['nfe']}",
                )
        if ref is not None and ref.get(metric) is not None:
            for ax in (top, bottom):
                ax.axhline(ref[metric], color="grey", ls=":", label="train rows")
        top.set(xscale="log", title=dataset, xlabel="NFE per sample", ylabel=label[metric])
        bottom.set(xlabel="fit s (mean over seeds)", ylabel=label[metric])
        for ax in (top, bottom):
            if metric == "discriminative":  # can be exactly 0 (chance accuracy): linear near 0
                ax.set_yscale("symlog", linthresh=0.01)
                ax.set_ylim(0, 0.55)  # the score lies in [0, 0.5]
            else:
                ax.set_yscale("log")
        top.legend(fontsize="x-small")
        bottom.legend(fontsize="xx-small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=None,
        choices=DATASETS,
        help="default: the tables (quick: two_moons sines); sines and stock on request",
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=None, help="default 0 1 2 (quick: 0)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run (CI-sized, < 2 min)")
    parser.add_argument("--stock-csv", type=Path, default=DEFAULT_STOCK_CSV)
    parser.add_argument(
        "--max-iter", type=int, default=None, help="max_iter of every dataset (default MAX_ITER)"
    )
    parser.add_argument("--out", type=Path, default=None, help="results JSON")
    parser.add_argument("--plots", type=Path, default=None, help="folder for the PNG")
    parser.add_argument("--fresh", action="store_true", help="overwrite the results file")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.time()
    datasets = args.datasets or list(QUICK_DATASETS if args.quick else DEFAULT_DATASETS)
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
    name = "steps_quick" if args.quick else "steps"
    out = args.out or HERE / "results" / f"{name}.json"
    folder = args.plots or (HERE / "results" if args.quick else HERE.parent / "docs" / "img")
    parts = run(datasets, args.models, seeds, args.quick, args.stock_csv, args.max_iter)
    rows = aggregate(*parts, seeds)
    merged = save_rows(out, rows, "benchmarks/steps.py", t0, fresh=args.fresh, order=DATASETS)
    figure = plot(merged, folder / f"{name}.png")
    print(markdown(merged))
    print(f"\nwritten to {out}" + (f"; figure: {figure}" if figure else ""))
    print(f"total {time.time() - t0:.0f} s")
    return merged


if __name__ == "__main__":
    main()
