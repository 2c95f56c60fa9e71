"""Where does SB-VAE's learned encoder help? ScoreSDE vs SBVAE on two moons, by reference.

For each reference SDE setting (the default VP, which reaches the prior, and VP settings
that do not), fit ScoreSDE and SBVAE (interrupt) with default budgets and report the
prior-mismatch statistic of the reference and of the kept encoder, whether the encoder was
kept, held-out mean ELBO, energy distance of samples to the test set, and fit time.

Run: python benchmarks/encoder_effect.py [--out benchmarks/results/encoder_effect.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch
from sklearn.datasets import make_moons

from skbridge import SBVAE, ScoreSDE
from skbridge.metrics import energy_distance

SETTINGS = {
    "vp default (beta_max=20, T=1)": {},
    "vp beta_max=1": {"beta_max": 1.0},
    "vp beta_max=1, T=0.3": {"beta_max": 1.0, "T": 0.3},
}


def run(seed=0):
    X, _ = make_moons(3000, noise=0.05, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    X_train, X_test = X[:2000], X[2000:]
    rows = []
    for name, params in SETTINGS.items():
        for cls in (ScoreSDE, SBVAE):
            model = cls(random_state=seed, **params)
            t0 = time.perf_counter()
            model.fit(X_train)
            fit_s = time.perf_counter() - t0
            ed = np.mean(
                [energy_distance(model.sample(2000, random_state=k), X_test) for k in range(3)]
            )
            rows.append(
                {
                    "setting": name,
                    "model": cls.__name__,
                    "fit_s": fit_s,
                    "score": model.score(X_test),
                    "energy_distance": float(ed),
                    # ScoreSDE has no encoder attributes: its encoder is never trained
                    "encoder_improved": getattr(model, "encoder_improved_", False),
                    "encoder_stopped_iter": getattr(model, "encoder_stopped_iter_", 0),
                    "encoder_best_iter": getattr(model, "encoder_best_iter_", 0),
                    "reference_prior_mismatch": getattr(model, "reference_prior_mismatch_", None),
                    "prior_mismatch": getattr(model, "prior_mismatch_", None),
                }
            )
            print(rows[-1], flush=True)
    return {
        "noise_level_energy_distance": energy_distance(X_train, X_test),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "load_avg_start": os.getloadavg(),
        },
        "rows": rows,
    }


def table(result):
    lines = [
        "| reference | model | fit s | score | ED sample | encoder kept (stop/best) | mismatch ref → kept |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in result["rows"]:
        mm = (
            f"{r['reference_prior_mismatch']:.4f} → {r['prior_mismatch']:.4f}"
            if r["prior_mismatch"] is not None
            else "–"
        )
        enc = (
            f"{'yes' if r['encoder_improved'] else 'no'} "
            f"({r['encoder_stopped_iter']}/{r['encoder_best_iter']})"
            if r["model"] == "SBVAE"
            else "–"
        )
        lines.append(
            f"| {r['setting']} | {r['model']} | {r['fit_s']:.1f} | {r['score']:.3f} "
            f"| {r['energy_distance']:.4f} | {enc} | {mm} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="benchmarks/results/encoder_effect.json")
    args = parser.parse_args()
    result = run()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(
        f"noise level (train vs test energy distance): {result['noise_level_energy_distance']:.4f}"
    )
    print(table(result))
