"""How far should the reference go? The VP reference's horizon, and SB-VAE's learned encoder.

The default VP reference (``beta_max=20, T=1``) carries standardised data to the prior
almost exactly (the signal left at T is ``alpha(T) = 0.0066``). A shorter reference
(smaller ``beta_max``) leaves part of the data in ``X_T``: its paths are shorter, a sampler
covers fewer noise levels with the same steps, and the prior mismatch that remains is what
SB-VAE's encoder is for. This benchmark measures both sides, with 3 seeds per row:

* ``ScoreSDE`` with ``beta_max`` 20 (the default), 10, 5 and 2 (``alpha(T)`` 0.0066, 0.08,
  0.28, 0.59): the reference alone, its mismatch left to the sampler;
* ``SBVAE alone`` with ``beta_max`` 5 and 2: the encoder trained alone on the MMD² to prior
  draws (``encoder_gradient="mmd"``, ``n_decoder_steps=0``, a 10-step encoder path,
  ``encoder_learning_rate=1e-2``, at most 300 encoder steps, at least 30), then the decoder
  by drift matching on its paths for every decoder step left; the reference comes back when
  the encoder does not beat it by more than the noise floor of the mismatch.

Per fit: fit time; the encoder step's cost against a ScoreSDE iteration (both net of
monitoring, from ``history_``; the ScoreSDE iteration of the default fit of the same seed);
whether the encoder was kept; energy distance to the test rows with the ``sde`` and
``dpm-sde`` samplers at 10, 20 and 100 network evaluations (mean of 2 draws of
``len(test)``; sequences flattened, 1 draw); the held-out score (mean ELBO per row, nats).
Datasets and ``max_iter`` as in ``steps.py`` (two moons, the 16-D mixture and breast_cancer
at 1500 iterations; ``sines`` at 500 on request).

Run::

    python benchmarks/horizon.py                        # three tables, 3 seeds (~10 min)
    python benchmarks/horizon.py --datasets sines       # TimeGAN's sines (~15 min)
    python benchmarks/horizon.py --quick                # smoke run (< 1 min)
    python benchmarks/horizon.py --max-iter 3000 --out benchmarks/results/horizon_3000.json
    python benchmarks/horizon.py --max-iter 3000 --models ScoreSDE SBVAE "SBVAE no skip" \
        --out benchmarks/results/encoder_skip_cost.json  # the default SBVAE's cost

Results: ``results/horizon.json`` (``--quick``: ``results/horizon_quick.json``).
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
from core import phase_costs  # noqa: E402
from steps import DEFAULT_STOCK_CSV, MAX_ITER, flat, load  # noqa: E402

ALONE = {
    "encoder_gradient": "mmd",
    "n_decoder_steps": 0,
    "encoder_n_steps": 10,
    "encoder_learning_rate": 1e-2,
    "encoder_max_iter": 300,
    "encoder_min_iter": 30,
}
MODELS = {
    "ScoreSDE": ("ScoreSDE", {}),
    "ScoreSDE beta_max=10": ("ScoreSDE", {"beta_max": 10.0}),
    "ScoreSDE beta_max=5": ("ScoreSDE", {"beta_max": 5.0}),
    "ScoreSDE beta_max=2": ("ScoreSDE", {"beta_max": 2.0}),
    "SBVAE alone beta_max=5": ("SBVAE", {"beta_max": 5.0, **ALONE}),
    "SBVAE alone beta_max=2": ("SBVAE", {"beta_max": 2.0, **ALONE}),
    # the default SBVAE, which skips its encoder phase when the reference reaches the prior,
    # and with the phase run anyway (its behaviour before encoder_skip_at_floor)
    "SBVAE": ("SBVAE", {}),
    "SBVAE no skip": ("SBVAE", {"encoder_skip_at_floor": False}),
}
# the horizon study (the default run); the last two are run on request (--models)
HORIZON = tuple(MODELS)[:6]
SAMPLERS = ("sde", "dpm-sde")
NFES = (10, 20, 100)
DATASETS = ("two_moons", "gaussian_mixture", "breast_cancer")


def net(entry):
    return entry["time"] - entry.get("monitor_time", 0.0)


def costs(est):
    """(s per decoder iteration of its first phase, s per encoder step), net of checks."""
    c = phase_costs([dict(h, time=net(h)) for h in est.history_])
    first = est.history_[0]["phase"]
    return c[first]["s_per_iter"], c.get("encoder", {}).get("s_per_encoder_step")


def fit_and_measure(dataset, model, seed, train, test, quick, max_iter=None):
    import skbridge
    from skbridge.metrics import energy_distance

    cls, params = MODELS[model]
    max_iter = 200 if quick else max_iter or MAX_ITER[dataset]
    params = {"max_iter": max_iter, "random_state": seed, **params}
    if quick:
        params.update(hidden_layer_sizes=(32,))
        if cls == "SBVAE":
            params.update(encoder_max_iter=10, encoder_min_iter=2, validation_interval=2)
    est = getattr(skbridge, cls)(**params)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EncoderNotKeptWarning: recorded as encoder_kept
        est.fit(train)
    row = {
        "dataset": dataset,
        "model": model,
        "seed": seed,
        "max_iter": params["max_iter"],
        "fit_s": time.perf_counter() - t0,
    }
    row["s_per_iter"], row["s_per_encoder_step"] = costs(est)
    if cls == "SBVAE":
        row.update(
            encoder_kept=bool(est.encoder_kept_),
            encoder_steps=int(est.encoder_stopped_iter_),
            prior_mismatch=float(est.prior_mismatch_),
            reference_prior_mismatch=float(est.reference_prior_mismatch_),
            prior_mismatch_floor=float(est.prior_mismatch_floor_),
        )
    draws = 1 if test.ndim > 2 or quick else 2
    for sampler in SAMPLERS:
        for nfe in NFES:
            est.set_params(sampler=sampler, n_steps=nfe)
            row[f"{sampler}@{nfe}"] = float(
                np.mean(
                    [
                        energy_distance(
                            flat(est.sample(len(test), random_state=1000 * seed + k)), flat(test)
                        )
                        for k in range(draws)
                    ]
                )
            )
    row["score"] = float(est.set_params(sampler="auto", n_steps="auto").score(test))
    return row


def summarise(rows):
    """Mean and standard error over seeds per (dataset, model); the encoder step against
    the default ScoreSDE iteration of the same seed."""
    base = {(r["dataset"], r["seed"]): r["s_per_iter"] for r in rows if r["model"] == "ScoreSDE"}
    for r in rows:
        b = base.get((r["dataset"], r["seed"]))
        r["fit_vs_scoresde"] = None
        if r.get("s_per_encoder_step") and b:
            r["encoder_step_vs_scoresde_iter"] = r["s_per_encoder_step"] / b
    fits = {(r["dataset"], r["seed"]): r["fit_s"] for r in rows if r["model"] == "ScoreSDE"}
    for r in rows:
        if (r["dataset"], r["seed"]) in fits:
            r["fit_vs_scoresde"] = r["fit_s"] / fits[(r["dataset"], r["seed"])]
    keys = ["fit_vs_scoresde", "encoder_step_vs_scoresde_iter"]
    keys += [f"{s}@{n}" for n in NFES for s in SAMPLERS] + ["score"]
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        for model in MODELS:
            sub = [r for r in rows if r["dataset"] == dataset and r["model"] == model]
            if not sub:
                continue
            s = {"dataset": dataset, "model": model, "seeds": len(sub)}
            for k in keys:
                v = np.array([r[k] for r in sub if r.get(k) is not None], dtype=float)
                if v.size:
                    se = v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float("nan")
                    s[k] = (float(v.mean()), float(se))
            if any("encoder_kept" in r for r in sub):
                s["kept"] = f"{sum(r['encoder_kept'] for r in sub)}/{len(sub)}"
            out.append(s)
    return out


def table(summary):
    cols = ["fit_vs_scoresde", "encoder_step_vs_scoresde_iter"]
    cols += [f"{s}@{n}" for n in NFES for s in SAMPLERS] + ["score"]
    heads = ["fit / SSDE", "enc step / SSDE it"] + [f"{s} {n}" for n in NFES for s in SAMPLERS]
    heads += ["held-out score", "kept"]
    lines = []
    for dataset in dict.fromkeys(s["dataset"] for s in summary):
        lines += ["", f"**{dataset}** (energy distance, mean ± SE over seeds)", ""]
        lines.append("| model | " + " | ".join(heads) + " |")
        lines.append("|---|" + "---|" * len(heads))
        for s in (s for s in summary if s["dataset"] == dataset):
            cells = []
            for k in cols:
                if k not in s:
                    cells.append("")
                    continue
                m, se = s[k]
                digits = 2 if k in cols[:2] or k == "score" else 4
                cells.append(f"{m:.{digits}f} ± {se:.{digits}f}")
            cells.append(s.get("kept", ""))
            lines.append(f"| {s['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=list(HORIZON), choices=list(MODELS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--max-iter", type=int, default=None, help="for every model (default: steps.py's)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run (< 1 min)")
    parser.add_argument("--stock-csv", type=Path, default=DEFAULT_STOCK_CSV)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--fresh", action="store_true", help="overwrite the results file")
    args = parser.parse_args(argv)
    t0 = time.time()
    seeds = 2 if args.quick else args.seeds
    datasets = ["two_moons"] if args.quick else args.datasets
    models = ["ScoreSDE", "SBVAE alone beta_max=2"] if args.quick else args.models
    if "ScoreSDE" not in models:
        models = ["ScoreSDE", *models]  # the cost ratios' reference
    rows = []
    for dataset in datasets:
        for seed in range(seeds):
            data = load(dataset, seed, args.quick, args.stock_csv)
            if data is None:
                print(f"{dataset}: data file missing, skipped")
                break
            train, test = data
            if args.quick:
                train, test = train[:400], test[:200]
            for model in models:
                row = fit_and_measure(dataset, model, seed, train, test, args.quick, args.max_iter)
                rows.append(row)
                print(
                    f"{dataset} seed {seed} {model}: fit {row['fit_s']:.1f} s, "
                    f"dpm-sde@10 {row['dpm-sde@10']:.4f}, sde@100 {row['sde@100']:.4f}, "
                    f"score {row['score']:.3f}",
                    flush=True,
                )
    summary = summarise(rows)
    out = args.out or HERE / "results" / ("horizon_quick.json" if args.quick else "horizon.json")
    save_rows(
        out,
        rows + [dict(s, kind="summary") for s in summary],
        "benchmarks/horizon.py",
        t0,
        fresh=args.fresh,
    )
    print(table(summary))
    print(f"\nwritten to {out} in {time.time() - t0:.0f} s")
    return summary


if __name__ == "__main__":
    main()
