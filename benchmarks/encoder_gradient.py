"""Why SB-VAE's prior-loss encoder runs away, and whether a decoder-free gradient does not.

A reference that does not reach the prior (VP ``beta_max=1, T=0.3``) on three datasets:

``gaussian``
    2000 rows of a correlated Gaussian (unit variances, correlation 0.9). The reference's
    latent is N(0, α²C + σ²I), 0.61 nats from π; a linear encoder can remove all of it.
``two_moons``, ``gaussian_mixture``
    ``core.load_dataset`` (2000 rows; 2 and 16 features).

Encoder variants, each ``SBVAE(encoder="interrupt", encoder_max_iter=300, max_iter=2000)``:
``prior`` (the prior-loss surrogate, ``encoder_learning_rate=1e-3``, the default),
``prior, 16 decoder steps`` (the same with ``n_decoder_steps=16``: the decoder gets four
times the steps per encoder step, a two-time-scale test of the "the decoder lags" account)
and ``mmd`` (``encoder_gradient="mmd"``, ``encoder_learning_rate=3e-3``). The interruption
statistic is the moment-matched Gaussian KL on ``gaussian`` and the MMD² elsewhere.

Per fit: the statistic of the reference, of the kept encoder and its noise floor; how the
encoder phase ended (``plateau``: the plateau rule, ``runaway``: the runaway guard,
``max_iter``: ``encoder_max_iter``); the held-out score; energy distance to the test rows at 10 and 100 network
evaluations (``sampler="dpm-sde"``) and fit time.

The bias of the decoder's score. On ``gaussian`` the prior-loss variants also measure, at
every check of the encoder phase, on 2048 latents of the current encoder: the decoder's
estimate of the latent score :math:`\\hat s = (h - k)(T, z)/g(T)` against the score of the
latents' moment-matched Gaussian :math:`s_G = -S^{-1}(z - m)` (the latents stay close to
Gaussian under a near-linear encoder on Gaussian data): ``score_rel_err`` =
:math:`E\\|\\hat s - s_G\\|^2 / E\\|s_G - \\nabla\\log\\pi\\|^2` (above 1: the estimate's error
is larger than the signal the encoder's gradient needs), and ``grad_cos``, the cosine
between the encoder's surrogate gradient with :math:`\\hat s` and with :math:`s_G` (same
paths).

Run::

    python benchmarks/encoder_gradient.py --datasets gaussian   # 3 seeds, ~6 min on 2 idle cores
    python benchmarks/encoder_gradient.py            # all three datasets: ~30 min
    python benchmarks/encoder_gradient.py --quick    # smoke run (< 1 min)
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import save_rows  # noqa: E402
from core import load_dataset  # noqa: E402

DATASETS = ("gaussian", "two_moons", "gaussian_mixture")
VARIANTS = {
    "prior": dict(encoder_gradient="prior", encoder_learning_rate=1e-3),
    "prior, 16 decoder steps": dict(
        encoder_gradient="prior", encoder_learning_rate=1e-3, n_decoder_steps=16
    ),
    "mmd": dict(encoder_gradient="mmd", encoder_learning_rate=3e-3),
}
SHORT = dict(sde="vp", beta_max=1.0, T=0.3)


def load(name, seed):
    if name == "gaussian":
        cov = np.array([[1.0, 0.9], [0.9, 1.0]])
        X = np.random.default_rng(seed).multivariate_normal([0.0, 0.0], cov, size=3000)
        return X[:2000], X[2000:]
    return load_dataset(name, seed)


def score_probe(records):
    """Wrap EncoderPhase.statistics to measure the decoder-score bias at every check."""
    from skbridge.models import _sbvae
    from skbridge.sde import decoder_prior_score, encoder_chain, prior_loss_surrogate

    original = _sbvae.EncoderPhase.statistics

    def statistics(self, prior_draws, within, gen_seed):
        out = original(self, prior_draws, within, gen_seed)
        run, sde = self.run, self.sde
        x0 = run.x_train[torch.randperm(run.x_train.shape[0], generator=torch.Generator())[:2048]]
        enc = self.encoder if run.h is not None else None
        grads = []
        for which in ("decoder", "gaussian"):
            gen = torch.Generator().manual_seed(gen_seed)
            path, _ = encoder_chain(sde, enc, x0, self.grid, generator=gen)
            z = path[-1]
            with torch.no_grad():
                s_hat = decoder_prior_score(sde, enc, run.decoder, z)
                zd = z.detach().double()
                m, S = zd.mean(0), torch.cov(zd.T)
                s_gauss = (-(zd - m) @ torch.linalg.inv(S)).float()
            score = s_hat if which == "decoder" else s_gauss
            if which == "decoder":
                signal = (s_gauss - sde.prior_score(z.detach())).pow(2).sum(1).mean()
                rel = float((s_hat - s_gauss).pow(2).sum(1).mean() / signal)
            params = list(self.encoder.parameters())
            if enc is None:  # the reference: the gradient is the zero-init encoder's
                path, _ = encoder_chain(sde, self.encoder, x0, self.grid, generator=gen)
                z = path[-1]
            loss = prior_loss_surrogate(z, score, sde.prior_score(z))
            g = torch.autograd.grad(loss, params, allow_unused=True)
            grads.append(
                torch.cat(
                    [
                        (gi if gi is not None else torch.zeros_like(p)).flatten()
                        for gi, p in zip(g, params, strict=True)
                    ]
                )
            )
        cos = float(torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0))
        records.append({"score_rel_err": rel, "grad_cos": cos})
        return out

    return original, statistics


def fit_one(dataset, variant, seed, quick):
    from skbridge import SBVAE
    from skbridge.metrics import energy_distance
    from skbridge.models import _sbvae

    X, Xt = load(dataset, seed)
    params = dict(
        SHORT,
        encoder="interrupt",
        encoder_max_iter=300,
        max_iter=300 if quick else 2000,
        encoder_criterion="gaussian_kl" if dataset == "gaussian" else "mmd",
        random_state=seed,
        **VARIANTS[variant],
    )
    model = SBVAE(**params)
    records = []
    probe = dataset == "gaussian" and variant.startswith("prior")
    if probe:
        original, patched = score_probe(records)
        _sbvae.EncoderPhase.statistics = patched
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t = time.perf_counter()
            model.fit(X)
            fit_s = time.perf_counter() - t
    finally:
        if probe:
            _sbvae.EncoderPhase.statistics = original
    runaway = any("diverged" in str(w.message) for w in caught)
    checks = [e for e in model.history_ if e.get("phase") == "encoder"]
    n_enc = model.encoder_stopped_iter_
    # the phase stops at encoder_max_iter (300), by the runaway guard (its warning), or by
    # the plateau rule; the decoder budget (1500 steps after warm-up, 4 per encoder step)
    # allows more than 300 encoder steps
    ended = "runaway" if runaway else ("max_iter" if n_enc >= 300 else "plateau")
    key = "prior_kl" if dataset == "gaussian" else "prior_mismatch"
    row = dict(
        dataset=dataset,
        model=variant,
        seed=seed,
        fit_s=fit_s,
        reference=model.reference_prior_mismatch_,
        kept_stat=model.prior_mismatch_,
        floor=model.prior_mismatch_floor_,
        kept=bool(model.encoder_kept_),
        stopped_iter=int(n_enc),
        best_iter=int(model.encoder_best_iter_),
        ended=ended,
        curve=[(e["encoder_iter"], e[key]) for e in checks],
        held_out_score=float(model.score(Xt)),
    )
    for nfe in (10, 100):
        model.set_params(sampler="dpm-sde", n_steps=nfe)
        row[f"energy_{nfe}"] = float(
            np.mean([energy_distance(model.sample(len(Xt), random_state=d), Xt) for d in (0, 1)])
        )
    if records:
        row["probe"] = [
            dict(encoder_iter=c[0], **r) for c, r in zip(row["curve"], records, strict=False)
        ]
    return row


def summarise(rows):
    """Mean and standard error over seeds per (dataset, variant)."""
    out = []
    groups = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["model"]), []).append(r)
    for (dataset, model), rs in groups.items():
        s = dict(dataset=dataset, model=model, seeds=[r["seed"] for r in rs], runs=rs)
        for key in (
            "reference",
            "kept_stat",
            "floor",
            "held_out_score",
            "energy_10",
            "energy_100",
            "fit_s",
            "stopped_iter",
        ):
            v = np.array([r[key] for r in rs], dtype=float)
            s[key] = float(v.mean())
            s[key + "_se"] = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")
        s["ended"] = " ".join(r["ended"] for r in rs)
        s["kept"] = " ".join("y" if r["kept"] else "n" for r in rs)
        probes = [p for r in rs for p in r.get("probe", [])]
        if probes:
            first = [r["probe"][0] for r in rs if r.get("probe")]
            last = [r["probe"][-1] for r in rs if r.get("probe")]
            s["rel_err_first"] = float(np.mean([p["score_rel_err"] for p in first]))
            s["rel_err_last"] = float(np.mean([p["score_rel_err"] for p in last]))
            s["cos_first"] = float(np.mean([p["grad_cos"] for p in first]))
            s["cos_last"] = float(np.mean([p["grad_cos"] for p in last]))
        out.append(s)
    return out


def _pm(key, digits=3):
    def fmt(r):
        if key not in r:
            return ""
        se = r.get(key + "_se", float("nan"))
        return f"{r[key]:.{digits}g} ± {se:.1g}" if np.isfinite(se) else f"{r[key]:.{digits}g}"

    return fmt


COLUMNS = [
    ("model", "encoder", str),
    ("reference", "reference stat", _pm("reference")),
    ("kept_stat", "kept stat", _pm("kept_stat")),
    ("floor", "floor", _pm("floor", 2)),
    ("ended", "ended (per seed)", str),
    ("kept", "kept", str),
    ("stopped_iter", "encoder steps", _pm("stopped_iter")),
    ("held_out_score", "held-out score", _pm("held_out_score")),
    ("energy_10", "energy @10", _pm("energy_10", 2)),
    ("energy_100", "energy @100", _pm("energy_100", 2)),
    ("fit_s", "fit s", _pm("fit_s", 2)),
    (
        "rel_err_first",
        "score rel. err (first / last check)",
        lambda r: (
            f"{r['rel_err_first']:.2g} / {r['rel_err_last']:.2g}" if "rel_err_first" in r else ""
        ),
    ),
    (
        "cos_first",
        "gradient cosine (first / last)",
        lambda r: f"{r['cos_first']:.2f} / {r['cos_last']:.2f}" if "cos_first" in r else "",
    ),
]


def _cell(fmt, r, key):
    return fmt(r) if callable(fmt) and fmt not in (str,) else str(r.get(key, ""))


def markdown(rows):
    lines = []
    for dataset in DATASETS:
        rs = [r for r in rows if r["dataset"] == dataset]
        if not rs:
            continue
        lines += [
            f"**{dataset}**",
            "",
            "| " + " | ".join(h for _, h, _ in COLUMNS) + " |",
            "|" + "---|" * len(COLUMNS),
        ]
        for r in rs:
            lines.append("| " + " | ".join(_cell(f, r, k) for k, _, f in COLUMNS) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args(argv)
    t0 = time.time()
    seeds = args.seeds[:1] if args.quick else args.seeds
    datasets = args.datasets[:1] if args.quick else args.datasets
    runs = []
    for dataset in datasets:
        for variant in args.variants:
            for seed in seeds:
                print(
                    f"[{time.time() - t0:5.0f} s] {dataset} / {variant} / seed {seed}", flush=True
                )
                runs.append(fit_one(dataset, variant, seed, args.quick))
    rows = summarise(runs)
    name = "encoder_gradient_quick" if args.quick else "encoder_gradient"
    save_rows(
        HERE / "results" / f"{name}.json",
        rows,
        "benchmarks/encoder_gradient.py",
        t0,
        order=DATASETS,
    )
    print(markdown(rows))
    print(f"total {time.time() - t0:.0f} s")
    return rows


if __name__ == "__main__":
    main()
