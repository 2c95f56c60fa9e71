"""Does SB-VAE help? The paper's claims (Kaba et al., 2025), measured side by side in one run.

Four experiments, each a table in ``results/paper.json`` and a figure in ``docs/img/``:

``cost``
    Two moons and a 16-D Gaussian mixture (2000 training / 1000 test rows, as in
    ``core.py``). ``ScoreSDE``; ``SBVAE`` with the paper's interrupted encoder
    (``interrupt``); the encoder trained for the whole budget (``joint``); and a joint
    likelihood-training baseline, ``joint-elbo``: both networks on the chain −ELBO, the
    encoder by its gradient through the path (as SB-FBSDE trains both directions by
    likelihood; the decoder's drift-matching gradient is the chain −ELBO's θ-gradient);
    and ``interrupt-10``, the paper's scheme with a 10-step encoder path (the default is 25).
    Per model: fit time, iterations, cost per iteration of each phase against a ScoreSDE
    iteration (net of monitoring: ``history_`` records the seconds spent on checks), held-out
    score and energy distance, and the time to reach a held-out −ELBO (``joint``'s final one,
    and ``ScoreSDE``'s) on the validation rows monitored during the fit.
``overfitting``
    Small training sets, long training: 200 points of a 2-D Gaussian mixture (8 components)
    and 300 rows of breast_cancer (30 features). ``interrupt`` vs ``joint`` vs ``ScoreSDE``:
    training and held-out −ELBO over iterations (monitored on fixed rows), held-out score,
    and memorisation: DCR share above its ideal (0 ideal; copying pushes it up) and the DCR
    ratio (1 ideal, 0 is copying), with ``len(test)`` samples.
``far``
    References that do not reach the prior: Brownian with ``sigma=0.5`` (its prior
    N(0, 0.25) is far from the standardised data even at T), VP with ``beta_max=1`` (the
    signal keeps ``alpha(T) = 0.76``) and VP ``beta_max=1, T=0.3``. Two moons; ``ScoreSDE``
    vs ``SBVAE`` (interrupt) fitted once each; samples drawn with 5, 10, 20, 50 and 100
    steps (``n_steps`` is read at sampling time): energy distance to the test rows (mean of
    three draws) and C2ST AUC.
``criterion``
    The interruption statistic (``encoder_criterion``): ``mmd`` (the default), ``gaussian_kl``
    and ``elbo``, on the two VP far-from-prior settings of ``far``: where each stopped, whether
    it kept a learned encoder, held-out score, energy distance and fit time.

Run::

    python benchmarks/paper.py             # full (~30 min on 2 cores): results/paper.json + docs/img/paper_*.png
    python benchmarks/paper.py --quick     # smoke run (< 3 min): results/paper_quick.json, figures in results/
    python benchmarks/paper.py --experiments far criterion --plots /tmp/figs

Every fit uses ``random_state=--seed``; one seed per row, so differences of the size of seed
noise are not conclusions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import markdown_tables, save_rows  # noqa: E402
from core import load_dataset, phase_costs  # noqa: E402

EXPERIMENTS = ("cost", "overfitting", "far", "criterion")
COST_MODELS = {
    "ScoreSDE": ("ScoreSDE", {}),
    "interrupt": ("SBVAE", {"encoder": "interrupt"}),
    "joint": ("SBVAE", {"encoder": "joint"}),
    "joint-elbo": ("SBVAE", {"encoder": "joint", "encoder_gradient": "elbo"}),
    # the cheaper encoder step: a 10-step encoder path instead of 25
    "interrupt-10": ("SBVAE", {"encoder": "interrupt", "encoder_n_steps": 10}),
}
FAR_SETTINGS = {
    "brownian sigma=0.5": {"sde": "brownian", "sigma": 0.5},
    "vp beta_max=1": {"beta_max": 1.0},
    "vp beta_max=1, T=0.3": {"beta_max": 1.0, "T": 0.3},
}
STEPS = (5, 10, 20, 50, 100)
CRITERIA = ("mmd", "gaussian_kl", "elbo")


def make(model: str, seed: int, quick: bool, curves: bool = True, **params):
    import skbridge

    cls, base = COST_MODELS[model]
    if quick:
        params.setdefault("max_iter", 240)
        params.setdefault("hidden_layer_sizes", (64, 64))
        if cls == "SBVAE":
            params.setdefault("encoder_max_iter", 20)
    params.setdefault("monitor_train", curves)  # training-row -ELBO at every check
    return getattr(skbridge, cls)(**{**base, "random_state": seed, **params})


def fit_timed(est, X):
    t0 = time.perf_counter()
    est.fit(X)
    return time.perf_counter() - t0


def net_time(entry):
    """Seconds of fitting at a history entry, without the time spent on checks."""
    return entry["time"] - entry.get("monitor_time", 0.0)


def net_phase_costs(history):
    """``core.phase_costs`` on a history whose times exclude the checks."""
    return phase_costs([dict(h, time=net_time(h)) for h in history])


def time_to_reach(history, target):
    """(net seconds, iterations) at the first check whose held-out −ELBO ≤ ``target``."""
    for h in history:
        if h.get("val_neg_elbo", np.inf) <= target:
            return net_time(h), h["iteration"]
    return None, None


def curve(history, key, x="iteration"):
    return [[h[x], h[key]] for h in history if key in h]


def encoder_info(est):
    return {
        "encoder_improved": getattr(est, "encoder_improved_", False),
        "encoder_stopped_iter": getattr(est, "encoder_stopped_iter_", 0),
        "encoder_best_iter": getattr(est, "encoder_best_iter_", 0),
    }


def energy(est, X_test, n_draws, seed):
    from skbridge.metrics import energy_distance

    return float(
        np.mean(
            [
                energy_distance(est.sample(len(X_test), random_state=seed + k), X_test)
                for k in range(n_draws)
            ]
        )
    )


# --------------------------------------------------------------------------- cost
def run_cost(seed, quick):
    rows = []
    datasets = ("two_moons",) if quick else ("two_moons", "gaussian_mixture")
    for dataset in datasets:
        X_train, X_test = load_dataset(dataset, seed)
        if quick:
            X_train, X_test = X_train[:500], X_test[:300]
        fitted = {}
        for model in COST_MODELS:
            est = make(model, seed, quick)
            fit_s = fit_timed(est, X_train)
            costs = net_phase_costs(est.history_)
            fitted[model] = est
            rows.append(
                {
                    "dataset": f"cost: {dataset}",
                    "model": model,
                    "fit_s": fit_s,
                    "monitor_s": est.history_[-1]["monitor_time"],
                    "n_iter": est.n_iter_,
                    "ms_dsm": _ms(costs, "score") or _ms(costs, "warmup"),
                    "ms_enc_step": _ms(costs, "encoder", "s_per_encoder_step"),
                    "ms_dec_phase": _ms(costs, "decoder"),
                    "score": float(est.score(X_test)),
                    "energy": energy(est, X_test, 1 if quick else 3, seed),
                    "val_neg_elbo_final": est.history_[-1]["val_neg_elbo"],
                    "curve_val": curve(est.history_, "val_neg_elbo", "time"),
                    "curve_val_net": [
                        [net_time(h), h["val_neg_elbo"]]
                        for h in est.history_
                        if "val_neg_elbo" in h
                    ],
                    **encoder_info(est),
                }
            )
        sub = [r for r in rows if r["dataset"] == f"cost: {dataset}"]
        by = {r["model"]: r for r in sub}
        ssde = by["ScoreSDE"]["ms_dsm"]
        for r in sub:
            r["enc_step_ratio"] = _ratio(r["ms_enc_step"], ssde)
            r["dec_phase_ratio"] = _ratio(r["ms_dec_phase"], ssde)
            r["fit_ratio"] = r["fit_s"] / by["ScoreSDE"]["fit_s"]
            net_fit = r["fit_s"] - r["monitor_s"]
            r["net_fit_ratio"] = net_fit / (by["ScoreSDE"]["fit_s"] - by["ScoreSDE"]["monitor_s"])
            for ref in ("joint", "ScoreSDE"):
                target = by[ref]["val_neg_elbo_final"]
                t, it = time_to_reach(fitted[r["model"]].history_, target)
                r[f"reach_{ref}_s"], r[f"reach_{ref}_iter"] = t, it
        joint_net = net_time(fitted["joint"].history_[-1])
        for r in sub:
            t = r["reach_joint_s"]
            r["reach_joint_share"] = None if t is None else t / joint_net
    return rows


def _ms(costs, phase, key="s_per_iter"):
    v = costs.get(phase, {}).get(key)
    return None if v is None else 1000.0 * v


def _ratio(a, b):
    return None if a is None or not b else a / b


# -------------------------------------------------------------------- overfitting
def small_sets(seed, quick):
    from sklearn.datasets import load_breast_cancer

    from skbridge.data import make_gaussian_mixture

    X, _ = make_gaussian_mixture(1200, n_features=2, scale=0.3, random_state=seed)
    X = (X - X[:200].mean(0)) / X[:200].std(0)
    yield "2-D mixture, 200 rows", X[:200], X[200:]
    if quick:
        return
    B = load_breast_cancer().data
    perm = np.random.default_rng(seed).permutation(len(B))
    B = B[perm]
    yield "breast_cancer, 300 rows", B[:300], B[300:]


def run_overfitting(seed, quick):
    from skbridge.metrics import dcr

    rows = []
    for name, X_train, X_test in small_sets(seed, quick):
        for model in ("ScoreSDE", "interrupt", "joint"):
            est = make(model, seed, quick, **({} if quick else {"max_iter": 6000}))
            fit_s = fit_timed(est, X_train)
            synth = est.sample(len(X_test), random_state=seed)
            mem = dcr(X_train, X_test, synth)
            h = est.history_
            rows.append(
                {
                    "dataset": f"overfitting: {name}",
                    "model": model,
                    "fit_s": fit_s,
                    "n_iter": est.n_iter_,
                    "train_score": float(est.score(X_train)),
                    "score": float(est.score(X_test)),
                    "gap": float(est.score(X_train) - est.score(X_test)),
                    "dcr_excess": mem["share"] - mem["ideal_share"],
                    "dcr_ratio": mem["ratio"],
                    "energy": energy(est, X_test, 1 if quick else 3, seed),
                    "curve_train": curve(h, "train_neg_elbo"),
                    "curve_val": curve(h, "val_neg_elbo"),
                    "encoder_phase": [
                        min((e["iteration"] for e in h if e["phase"] == "encoder"), default=None),
                        max((e["iteration"] for e in h if e["phase"] == "encoder"), default=None),
                    ],
                    **encoder_info(est),
                }
            )
    return rows


# ---------------------------------------------------------------- far from prior
def run_far(seed, quick, settings=None):
    from skbridge.metrics import c2st

    X_train, X_test = load_dataset("two_moons", seed)
    if quick:
        X_train, X_test = X_train[:500], X_test[:300]
    steps = (5, 20) if quick else STEPS
    rows, fitted = [], {}
    for setting, params in (settings or FAR_SETTINGS).items():
        for model in ("ScoreSDE", "interrupt"):
            est = make(model, seed, quick, curves=False, **params)
            fit_s = fit_timed(est, X_train)
            fitted[setting, model] = (est, fit_s)
            row = {
                "dataset": f"far: {setting}",
                "model": model,
                "fit_s": fit_s,
                "score": float(est.score(X_test)),
                **encoder_info(est),
            }
            for k in steps:
                est.set_params(n_steps=k)
                row[f"energy_{k}"] = energy(est, X_test, 1 if quick else 3, seed)
                row[f"c2st_{k}"] = float(c2st(X_test, est.sample(len(X_test), random_state=seed)))
            est.set_params(n_steps=100)
            rows.append(row)
    return rows, fitted


# --------------------------------------------------------------------- criterion
def run_criterion(seed, quick, fitted_far):
    X_train, X_test = load_dataset("two_moons", seed)
    if quick:
        X_train, X_test = X_train[:500], X_test[:300]
    rows = []
    settings = {k: v for k, v in FAR_SETTINGS.items() if k.startswith("vp")}
    if quick:
        settings = dict(list(settings.items())[:1])
    for setting, params in settings.items():
        for criterion in CRITERIA:
            if criterion == "mmd" and (setting, "interrupt") in fitted_far:
                est, fit_s = fitted_far[setting, "interrupt"]  # the same fit: reuse it
            else:
                est = make(
                    "interrupt", seed, quick, curves=False, encoder_criterion=criterion, **params
                )
                fit_s = fit_timed(est, X_train)
            rows.append(
                {
                    "dataset": f"criterion: {setting}",
                    "model": criterion,
                    "fit_s": fit_s,
                    "score": float(est.score(X_test)),
                    "energy": energy(est, X_test, 1 if quick else 3, seed),
                    "curve_stat": curve(est.history_, "prior_mismatch", "encoder_iter"),
                    "curve_kl": curve(est.history_, "prior_kl", "encoder_iter"),
                    **encoder_info(est),
                }
            )
    return rows


# ------------------------------------------------------------------------- plots
def plot(rows, folder: Path) -> list[Path]:
    """The experiments' figures as PNGs in ``folder``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skbridge.plotting import plot_quality_vs_steps

    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def groups(prefix):
        out = {}
        for r in rows:
            if r["dataset"].startswith(prefix) and "error" not in r:
                out.setdefault(r["dataset"].split(": ", 1)[1], []).append(r)
        return out

    def figure(prefix, name, width, draw):
        """One panel per group of rows whose dataset starts with ``prefix``, saved as ``name``."""
        panels = groups(prefix)
        if not panels:
            return
        fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), 4), squeeze=False)
        for ax, (title, sub) in zip(axes[0], panels.items(), strict=True):
            draw(ax, title, sub)
        fig.tight_layout()
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        written.append(folder / name)

    def cost(ax, name, sub):
        for r in sub:
            ax.plot(*_xy(r["curve_val_net"]), marker=".", label=r["model"])
        ax.set(
            title=f"{name}: held-out −ELBO",
            xlabel="seconds (checks excluded)",
            ylabel="−ELBO (nats per row)",
        )
        _clip_y(ax, [v for r in sub for _, v in r["curve_val_net"]])
        ax.legend(fontsize="small")

    def overfitting(ax, name, sub):
        for r in sub:
            (line,) = ax.plot(*_xy(r["curve_val"]), label=f"{r['model']} held-out")
            color = line.get_color()
            ax.plot(*_xy(r["curve_train"]), ls=":", color=color, label=f"{r['model']} training")
            stopped = r["encoder_phase"][1]
            if r["model"] == "interrupt" and stopped is not None:
                ax.axvline(stopped, color=color, ls="--", lw=1, label="interrupt: encoder stopped")
        _clip_y(ax, [v for r in sub for _, v in r["curve_val"] + r["curve_train"]])
        ax.set(title=name, xlabel="decoder iterations", ylabel="−ELBO (nats per row)")
        ax.legend(fontsize="x-small")

    def steps(ax, name, sub):
        curves = {
            r["model"]: {int(k[7:]): v for k, v in r.items() if k.startswith("energy_")}
            for r in sub
        }
        plot_quality_vs_steps(curves, ax=ax, ylabel="energy distance to test rows")
        ax.set_yscale("log")
        ax.set_title(name)

    figure("cost: ", "paper_cost.png", 6, cost)
    figure("overfitting: ", "paper_overfitting.png", 6, overfitting)
    figure("far: ", "paper_steps.png", 5, steps)
    return written


def _xy(points):
    return np.asarray(points, dtype=float).T


def _clip_y(ax, values):
    """Leave out the first checks' large values so the curves' ends are readable."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size:
        lo, hi = np.percentile(v, 1), np.percentile(v, 90)
        ax.set_ylim(lo - 0.1 * (hi - lo), hi + 0.3 * (hi - lo))


# ------------------------------------------------------------------------ tables
def _columns():
    f3, f1, f2 = "{:.3f}", "{:.1f}", "{:.2f}"
    cost = [
        ("fit_s", "fit s", f1),
        ("n_iter", "iters", "{}"),
        ("ms_dsm", "ms/it DSM", f2),
        ("ms_enc_step", "ms/enc step", f2),
        ("ms_dec_phase", "ms/it dec-ph", f2),
        ("enc_step_ratio", "enc/SSDE", f1),
        ("dec_phase_ratio", "dec/SSDE", f2),
        ("fit_ratio", "fit/SSDE", f2),
        ("encoder_improved", "enc improved", "{}"),
        ("score", "held-out score", f3),
        ("energy", "energy", "{:.4f}"),
        ("reach_joint_s", "s to joint's −ELBO", f1),
        ("reach_joint_share", "share of joint's time", f2),
        ("reach_ScoreSDE_s", "s to ScoreSDE's −ELBO", f1),
    ]
    over = [
        ("fit_s", "fit s", f1),
        ("n_iter", "iters", "{}"),
        ("encoder_improved", "enc improved", "{}"),
        ("encoder_stopped_iter", "enc steps", "{}"),
        ("train_score", "train score", f3),
        ("score", "held-out score", f3),
        ("gap", "gap", f3),
        ("dcr_excess", "DCR share − ideal", "{:+.3f}"),
        ("dcr_ratio", "DCR ratio", f2),
        ("energy", "energy", "{:.4f}"),
    ]
    far = [
        ("fit_s", "fit s", f1),
        ("encoder_improved", "enc improved", "{}"),
        ("score", "held-out score", f3),
    ]
    far += [(f"energy_{k}", f"energy {k} steps", "{:.4f}") for k in STEPS]
    far += [(f"c2st_{k}", f"C2ST {k}", f3) for k in (10, 20, 100)]
    crit = [
        ("fit_s", "fit s", f1),
        ("encoder_improved", "enc improved", "{}"),
        ("encoder_stopped_iter", "stopped at", "{}"),
        ("encoder_best_iter", "kept step", "{}"),
        ("score", "held-out score", f3),
        ("energy", "energy", "{:.4f}"),
    ]
    return {"cost": cost, "overfitting": over, "far": far, "criterion": crit}


def markdown(rows):
    cols = _columns()
    by_dataset = {r["dataset"]: cols[r["dataset"].split(":")[0]] for r in rows}
    return markdown_tables(rows, by_dataset)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiments", nargs="+", default=list(EXPERIMENTS), choices=EXPERIMENTS)
    parser.add_argument("--quick", action="store_true", help="smoke run (CI-sized, < 3 min)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="results JSON")
    parser.add_argument("--plots", type=Path, default=None, help="folder for the PNGs")
    parser.add_argument("--fresh", action="store_true", help="overwrite the results file")
    args = parser.parse_args(argv)
    t0 = time.time()
    name = "paper_quick" if args.quick else "paper"
    out = args.out or HERE / "results" / f"{name}.json"
    plots = args.plots or (HERE / "results" if args.quick else HERE.parent / "docs" / "img")
    rows, fitted_far = [], {}
    for exp in args.experiments:
        print(f"[{time.time() - t0:6.0f} s] {exp}", flush=True)
        if exp == "cost":
            rows += run_cost(args.seed, args.quick)
        elif exp == "overfitting":
            rows += run_overfitting(args.seed, args.quick)
        elif exp == "far":
            far_rows, fitted_far = run_far(args.seed, args.quick)
            rows += far_rows
        else:
            rows += run_criterion(args.seed, args.quick, fitted_far)
    merged = save_rows(out, rows, "benchmarks/paper.py", t0, fresh=args.fresh, order=())
    written = plot(merged, plots)
    print(markdown(merged))
    print(f"\nwritten to {out}; figures: {', '.join(str(p) for p in written)}")
    print(f"total {time.time() - t0:.0f} s")
    return merged


if __name__ == "__main__":
    main()
