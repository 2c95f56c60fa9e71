"""Core benchmark: speed, per-phase cost, quality and memory of ScoreSDE and SBVAE.

For each dataset (two moons; a 16-D Gaussian mixture) and each model (``ScoreSDE()``,
``SBVAE(encoder="interrupt")``, ``SBVAE(encoder="joint")``, default parameters, fixed
``random_state``) this measures

* fit time (wall clock), iterations (``n_iter_``) and iterations per second;
* the cost per phase, from consecutive ``history_`` entries of the same phase: seconds per
  decoder iteration in each phase and, in the encoder phase, seconds per encoder step
  (one encoder update plus its ``n_decoder_steps`` drift-matching steps). Each interval
  includes the monitoring done at its closing check, so these are amortised costs. From
  them: SBVAE decoder-phase iteration / ScoreSDE iteration (target <= 2x), SBVAE encoder
  step / ScoreSDE iteration (target <= 15x), SBVAE fit time / ScoreSDE fit time (<= 3x);
* held-out mean score (``score(X_test)``, nats), energy distance of
  ``sample(len(X_train))`` against the test rows, and train-vs-test energy distance (the
  noise level a perfect generator would reach);
* time to sample 10,000 rows (default ``n_steps=100``; best of 3, 1 with ``--quick``; target < 2 s on 2 CPU
  cores for two moons);
* peak resident memory: each (dataset, model) runs in a fresh process (multiprocessing,
  spawn context) and reports ``ru_maxrss`` before and after ``fit``, so one model's peak
  cannot hide another's.

Usage::

    python benchmarks/core.py                 # full run, writes benchmarks/results/core.json
    python benchmarks/core.py --quick         # smoke run (max_iter=200): does it work? not results
    python benchmarks/core.py --models ScoreSDE SBVAE-interrupt --datasets two_moons

The script prints a Markdown table (one row per dataset x model) for benchmarks/README.md.
It is importable: :func:`run_benchmark`, :func:`measure`, :func:`phase_costs`,
:func:`markdown_table`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "core.json"
DEFAULT_QUICK_OUT = HERE / "results" / "core_quick.json"

QUICK_MAX_ITER = 200
SAMPLE_TIME_ROWS = 10_000
SAMPLE_TIME_REPEATS = 3

MODELS = {
    "ScoreSDE": ("ScoreSDE", {}),
    "SBVAE-interrupt": ("SBVAE", {"encoder": "interrupt"}),
    "SBVAE-joint": ("SBVAE", {"encoder": "joint"}),
}
REFERENCE_MODEL = "ScoreSDE"
DATASETS = ("two_moons", "gaussian_mixture")

TARGETS = {
    "decoder_iter_ratio": 2.0,  # SBVAE decoder-phase iteration / ScoreSDE iteration
    "encoder_step_ratio": 15.0,  # SBVAE encoder step / ScoreSDE iteration
    "fit_time_ratio": 3.0,  # SBVAE fit time / ScoreSDE fit time
    "sample_10k_seconds": 2.0,  # two moons, 2 CPU cores
}


# ----------------------------------------------------------------------------- data
def load_dataset(name: str, seed: int = 0):
    """``(X_train, X_test)``: 2000 training and 1000 test rows of ``name``.

    ``two_moons``: ``make_two_moons(3000, noise=0.05)`` (standardised over the 3000 rows,
    shuffled), split 2000 / 1000. ``gaussian_mixture``: ``make_gaussian_mixture(3000,
    n_features=16)``, split 2000 / 1000, both standardised with the training mean and std.
    """
    from skbridge.data import make_gaussian_mixture, make_two_moons

    if name == "two_moons":
        X = make_two_moons(3000, noise=0.05, random_state=seed)
        return X[:2000], X[2000:]
    if name == "gaussian_mixture":
        X, _ = make_gaussian_mixture(3000, n_features=16, random_state=seed)
        X_train, X_test = X[:2000], X[2000:]
        mu, sd = X_train.mean(0), X_train.std(0)
        return (X_train - mu) / sd, (X_test - mu) / sd
    raise ValueError(f"unknown dataset {name!r}; choose from {DATASETS}")


def make_model(name: str, *, max_iter: int | None = None, seed: int = 0):
    """A fresh estimator for ``name`` (defaults, ``random_state=seed``, optional max_iter)."""
    import skbridge

    cls_name, params = MODELS[name]
    params = dict(params, random_state=seed)
    if max_iter is not None:
        params["max_iter"] = int(max_iter)
    return getattr(skbridge, cls_name)(**params)


# ------------------------------------------------------------------------ machine
# the start of a child script that measures its own peak memory (Linux): status(key) reads
# /proc/self/status in MiB, reset_peak() sets the peak (VmHWM) to the current resident size
PEAK_MEMORY_CHILD = """
def status(key):  # MiB, from kB in /proc/self/status
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024

def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak (VmHWM) to the current resident size
"""


def write_result(out, t_start: float, **fields) -> None:
    """Write one run's JSON to ``out``: the command, date, machine and wall seconds since
    ``t_start`` (``time.time()``), then ``fields``."""
    result = {
        "command": "python benchmarks/" + Path(sys.argv[0]).name + " " + " ".join(sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "wall_s": time.time() - t_start,
        **fields,
    }
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


def maxrss_mib() -> float:
    """Peak resident set size of this process so far, MiB (ru_maxrss is KiB on Linux)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=HERE, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine_info() -> dict:
    """Platform, CPUs, library versions, torch threads, load and the code's git state."""
    import sklearn
    import torch

    import skbridge

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    try:
        load = list(os.getloadavg())
    except (AttributeError, OSError):
        load = None
    # the pathspec from the top of the repository: _git runs in benchmarks/
    status = _git("status", "--porcelain", "--", ":/skbridge")
    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "load_average_1_5_15": load,
        "torch": torch.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(),
        "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "skbridge": skbridge.__version__,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_skbridge_dirty": bool(status) if status is not None else None,
    }
    return info


# ---------------------------------------------------------------- history analysis
def phase_costs(history: list[dict]) -> dict:
    """Cost per phase from consecutive ``history_`` entries of the same phase.

    Each interval between two checks of one phase gives a time delta and an iteration
    delta (and, in the encoder phase, an ``encoder_iter`` delta). Intervals that cross a
    phase boundary, and the stretch before a phase's first check, are left out (they mix
    phases or include one-off set-up). Returns, per phase present: ``seconds``,
    ``iterations``, ``intervals``, ``s_per_iter`` (total seconds / total iterations),
    ``s_per_iter_median`` (median over intervals) and, for the encoder phase,
    ``encoder_steps``, ``s_per_encoder_step`` and ``s_per_encoder_step_median``.
    A phase with fewer than two checks has ``None`` costs.
    """
    acc: dict[str, dict] = {}
    for entry in history:
        acc.setdefault(entry["phase"], {"seconds": 0.0, "iterations": 0, "per_iter": []})
    for prev, cur in zip(history, history[1:], strict=False):
        if prev["phase"] != cur["phase"]:
            continue
        dt = float(cur["time"]) - float(prev["time"])
        dit = int(cur["iteration"]) - int(prev["iteration"])
        a = acc[cur["phase"]]
        if "encoder_iter" in cur and "encoder_iter" in prev:
            # an encoder trained alone (n_decoder_steps=0) moves no decoder iteration
            denc = int(cur["encoder_iter"]) - int(prev["encoder_iter"])
            if denc > 0:
                a["encoder_seconds"] = a.get("encoder_seconds", 0.0) + dt
                a["encoder_steps"] = a.get("encoder_steps", 0) + denc
                a.setdefault("per_step", []).append(dt / denc)
        if dit <= 0:
            continue
        a["seconds"] += dt
        a["iterations"] += dit
        a["per_iter"].append(dt / dit)
    out = {}
    for phase, a in acc.items():
        res = {
            "seconds": a["seconds"],
            "iterations": a["iterations"],
            "intervals": len(a["per_iter"]),
            "s_per_iter": a["seconds"] / a["iterations"] if a["iterations"] else None,
            "s_per_iter_median": float(np.median(a["per_iter"])) if a["per_iter"] else None,
        }
        if phase == "encoder":
            steps = a.get("encoder_steps", 0)
            res["encoder_steps"] = steps
            res["s_per_encoder_step"] = a["encoder_seconds"] / steps if steps else None
            res["s_per_encoder_step_median"] = (
                float(np.median(a["per_step"])) if a.get("per_step") else None
            )
        out[phase] = res
    return out


def _phase_value(costs: dict, phase: str, key: str):
    return costs.get(phase, {}).get(key)


# ----------------------------------------------------------------------- one run
def measure(
    dataset: str,
    model_name: str,
    max_iter: int | None = None,
    seed: int = 0,
    sample_repeats: int = SAMPLE_TIME_REPEATS,
) -> dict:
    """Fit, score, sample and time one model on one dataset, in this process.

    Run it in a fresh process (as :func:`run_benchmark` does) for a meaningful
    ``fit_peak_rss_increase_mib``: ``ru_maxrss`` is a high-water mark for the process.
    """
    import torch

    from skbridge.metrics import energy_distance

    X_train, X_test = load_dataset(dataset, seed)
    model = make_model(model_name, max_iter=max_iter, seed=seed)
    rss_before = maxrss_mib()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        model.fit(X_train)
        fit_s = time.perf_counter() - t0
    rss_after_fit = maxrss_mib()

    t0 = time.perf_counter()
    score = model.score(X_test)
    score_s = time.perf_counter() - t0

    S = model.sample(len(X_train), random_state=seed + 1)
    ed_sample = energy_distance(S, X_test)
    ed_noise = energy_distance(X_train, X_test)

    sample_times = []
    for r in range(sample_repeats):
        t0 = time.perf_counter()
        model.sample(SAMPLE_TIME_ROWS, random_state=seed + 2 + r)
        if model.device_.type == "cuda":
            torch.cuda.synchronize()
        sample_times.append(time.perf_counter() - t0)

    costs = phase_costs(model.history_)
    return {
        "dataset": dataset,
        "model": model_name,
        "params": {k: v for k, v in model.get_params().items() if k in ("encoder", "max_iter")},
        "n_train": len(X_train),
        "n_test": len(X_test),
        "n_features": X_train.shape[1],
        "device": str(model.device_),
        "torch_num_threads": torch.get_num_threads(),
        "fit_seconds": fit_s,
        "n_iter": int(model.n_iter_),
        "iters_per_second": model.n_iter_ / fit_s,
        "phase_costs": costs,
        # ScoreSDE has no encoder attributes: its encoder is never trained
        "encoder_improved": bool(getattr(model, "encoder_improved_", False)),
        "encoder_stopped_iter": int(getattr(model, "encoder_stopped_iter_", 0)),
        "encoder_best_iter": int(getattr(model, "encoder_best_iter_", 0)),
        "score_test": score,
        "score_seconds": score_s,
        "energy_distance_sample_test": ed_sample,
        "energy_distance_train_test": ed_noise,
        "sample_10k_seconds": min(sample_times),
        "sample_10k_seconds_all": sample_times,
        "rss_before_fit_mib": rss_before,
        "fit_peak_rss_mib": rss_after_fit,
        "fit_peak_rss_increase_mib": rss_after_fit - rss_before,
        "peak_rss_mib": maxrss_mib(),
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
        "history": model.history_,
    }


def _measure_star(args):
    return measure(*args)


def add_ratios(results: list[dict]) -> None:
    """Ratios of each model's costs to the ScoreSDE run on the same dataset (in place)."""
    ref = {r["dataset"]: r for r in results if r["model"] == REFERENCE_MODEL}
    for r in results:
        base = ref.get(r["dataset"])
        ratios = {"decoder_iter_ratio": None, "encoder_step_ratio": None, "fit_time_ratio": None}
        if base is not None and r["model"] != REFERENCE_MODEL:
            it_ref = _phase_value(base["phase_costs"], "score", "s_per_iter")
            dec = _phase_value(r["phase_costs"], "decoder", "s_per_iter")
            enc = _phase_value(r["phase_costs"], "encoder", "s_per_encoder_step")
            if it_ref:
                ratios["decoder_iter_ratio"] = dec / it_ref if dec is not None else None
                ratios["encoder_step_ratio"] = enc / it_ref if enc is not None else None
            ratios["fit_time_ratio"] = r["fit_seconds"] / base["fit_seconds"]
        r["ratios"] = ratios


def run_benchmark(
    models=tuple(MODELS),
    datasets=DATASETS,
    *,
    max_iter: int | None = None,
    seed: int = 0,
    sample_repeats: int = SAMPLE_TIME_REPEATS,
    subprocess_per_run: bool = True,
    log=print,
) -> list[dict]:
    """Measure every (dataset, model); each in a fresh spawned process unless told not to."""
    models = sorted(models, key=lambda m: m != REFERENCE_MODEL)  # the reference first
    results = []
    for dataset in datasets:
        for name in models:
            args = (dataset, name, max_iter, seed, sample_repeats)
            t0 = time.perf_counter()
            if subprocess_per_run:
                ctx = multiprocessing.get_context("spawn")
                with ctx.Pool(1) as pool:
                    res = pool.apply(_measure_star, (args,))
            else:
                res = measure(*args)
            results.append(res)
            if log is not None:
                log(
                    f"[{time.perf_counter() - t0:6.1f} s] {dataset:16s} {name:16s} "
                    f"fit {res['fit_seconds']:.1f} s, {res['n_iter']} it, "
                    f"score {res['score_test']:+.3f}, ED {res['energy_distance_sample_test']:.4f}"
                )
    add_ratios(results)
    return results


# ------------------------------------------------------------------------ report
def _f(x, spec: str) -> str:
    return "–" if x is None else format(x, spec)


def _ms(x) -> str:
    return "–" if x is None else f"{1e3 * x:.2f}"


COLUMNS = [
    ("dataset", "dataset"),
    ("model", "model"),
    ("fit s", "total fit wall time"),
    ("iters", "n_iter_"),
    ("it/s", "n_iter_ / fit time"),
    (
        "ms/it DSM",
        "per decoder iteration by denoising score matching: ScoreSDE's 'score' phase, SBVAE's 'warmup'",
    ),
    ("ms/it enc-ph", "per decoder iteration in SBVAE's encoder phase"),
    ("ms/it dec-ph", "per decoder iteration in SBVAE's decoder phase"),
    ("ms/enc step", "per encoder step (the update plus its n_decoder_steps drift-matching steps)"),
    ("dec/SSDE", "decoder-phase iteration / ScoreSDE iteration (target <= 2)"),
    ("enc/SSDE", "encoder step / ScoreSDE iteration (target <= 15)"),
    ("fit/SSDE", "fit time / ScoreSDE fit time (target <= 3)"),
    ("enc improved", "encoder_improved_ (stopped at / best encoder step)"),
    ("score", "held-out mean score(X_test), nats"),
    ("ED sample", "energy distance, sample(len(X_train)) vs test"),
    ("ED noise", "energy distance, train vs test (noise level)"),
    (
        "sample 10k s",
        "sample(10000), best of 3 (1 with --quick) (target < 2 s on 2 CPU cores, two moons)",
    ),
    ("ΔRSS fit MiB", "peak RSS increase during fit (fresh process)"),
]


def markdown_table(results: list[dict]) -> str:
    """One row per dataset x model, the columns of :data:`COLUMNS` (times in ms where noted)."""
    lines = [
        "| " + " | ".join(h for h, _ in COLUMNS) + " |",
        "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|",
    ]
    for r in results:
        pc, ra = r["phase_costs"], r.get("ratios", {})
        dsm = _phase_value(pc, "score", "s_per_iter") or _phase_value(pc, "warmup", "s_per_iter")
        if r["model"] == REFERENCE_MODEL:
            improved = "–"
        else:
            improved = (
                f"{'yes' if r['encoder_improved'] else 'no'} "
                f"({r['encoder_stopped_iter']}/{r['encoder_best_iter']})"
            )
        cells = [
            r["dataset"],
            r["model"],
            _f(r["fit_seconds"], ".1f"),
            str(r["n_iter"]),
            _f(r["iters_per_second"], ".0f"),
            _ms(dsm),
            _ms(_phase_value(pc, "encoder", "s_per_iter")),
            _ms(_phase_value(pc, "decoder", "s_per_iter")),
            _ms(_phase_value(pc, "encoder", "s_per_encoder_step")),
            _f(ra.get("decoder_iter_ratio"), ".2f"),
            _f(ra.get("encoder_step_ratio"), ".1f"),
            _f(ra.get("fit_time_ratio"), ".2f"),
            improved,
            _f(r["score_test"], "+.3f"),
            _f(r["energy_distance_sample_test"], ".4f"),
            _f(r["energy_distance_train_test"], ".4f"),
            _f(r["sample_10k_seconds"], ".2f"),
            _f(r["fit_peak_rss_increase_mib"], ".0f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def column_legend() -> str:
    return "\n".join(f"- **{h}**: {d}" for h, d in COLUMNS[2:])


def target_checks(results: list[dict], machine: dict | None = None) -> list[dict]:
    """Each target against the measured value: ``{"what", "value", "target", "ok"}``."""
    checks = []
    for r in results:
        for key, label in (
            ("decoder_iter_ratio", "decoder-phase iteration / ScoreSDE iteration"),
            ("encoder_step_ratio", "encoder step / ScoreSDE iteration"),
            ("fit_time_ratio", "fit time / ScoreSDE fit time"),
        ):
            value = r.get("ratios", {}).get(key)
            if r["model"] == REFERENCE_MODEL or value is None:
                continue
            checks.append(
                {
                    "what": f"{r['dataset']} {r['model']}: {label}",
                    "value": value,
                    "target": f"<= {TARGETS[key]:g}",
                    "ok": value <= TARGETS[key],
                }
            )
    cpus = (machine or {}).get("cpus_usable")
    for r in results:
        if r["dataset"] != "two_moons":
            continue
        note = "" if cpus in (None, 2) else f" (target is for 2 CPU cores; measured on {cpus})"
        value = r["sample_10k_seconds"]
        checks.append(
            {
                "what": f"two_moons {r['model']}: sample 10,000 rows, s{note}",
                "value": value,
                "target": f"< {TARGETS['sample_10k_seconds']:g}",
                "ok": value < TARGETS["sample_10k_seconds"],
            }
        )
    return checks


def report(payload: dict) -> str:
    """The Markdown printed at the end: machine, table, legend and target checks."""
    m, cfg = payload["machine"], payload["config"]
    head = (
        f"max_iter={cfg['max_iter'] or 'default (3000)'}, seed={cfg['seed']}"
        f"{' (QUICK SMOKE RUN, not results)' if cfg['quick'] else ''}; "
        f"{m['platform']}, {m['cpus_usable']} usable CPUs of {m['cpu_count']}, "
        f"torch {m['torch']} with {m['torch_num_threads']} threads"
        f"{', CUDA ' + m['cuda_device'] if m['cuda_device'] else ''}; "
        f"load average at start {m['load_average_1_5_15']}; "
        f"commit {str(m['git_commit'])[:10]}"
        f"{' + uncommitted changes to skbridge/' if m['git_skbridge_dirty'] else ''}"
    )
    checks = "\n".join(
        f"- {'PASS' if c['ok'] else 'FAIL'} {c['what']}: {c['value']:.2f} (target {c['target']})"
        for c in payload["targets_checked"]
    )
    return (
        f"{head}\n\n{markdown_table(payload['results'])}\n\nColumns:\n\n{column_legend()}\n\n"
        f"Targets:\n\n{checks or '- (no ScoreSDE reference run: no ratios)'}\n"
    )


# -------------------------------------------------------------------------- CLI
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"max_iter={QUICK_MAX_ITER}: a smoke run that checks the script works; its numbers are not results",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"JSON output (default {DEFAULT_OUT.relative_to(HERE.parent)}, "
        f"or {DEFAULT_QUICK_OUT.relative_to(HERE.parent)} with --quick)",
    )
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--seed", type=int, default=0, help="data and random_state seed")
    parser.add_argument(
        "--max-iter", type=int, default=None, help="override max_iter (default: the models')"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run everything in this process (peak RSS increases then hide each other)",
    )
    args = parser.parse_args(argv)
    max_iter = (
        args.max_iter if args.max_iter is not None else (QUICK_MAX_ITER if args.quick else None)
    )
    sample_repeats = 1 if args.quick else SAMPLE_TIME_REPEATS
    out = args.out or (DEFAULT_QUICK_OUT if args.quick else DEFAULT_OUT)

    machine = machine_info()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    results = run_benchmark(
        args.models,
        args.datasets,
        max_iter=max_iter,
        seed=args.seed,
        sample_repeats=sample_repeats,
        subprocess_per_run=not args.in_process,
        log=lambda s: print(s, file=sys.stderr, flush=True),
    )
    payload = {
        "benchmark": "core",
        "started_utc": started,
        "total_seconds": time.perf_counter() - t0,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "config": {
            "quick": bool(args.quick),
            "max_iter": max_iter,
            "seed": args.seed,
            "models": {name: MODELS[name][1] | {"class": MODELS[name][0]} for name in args.models},
            "datasets": args.datasets,
            "subprocess_per_run": not args.in_process,
            "sample_time_rows": SAMPLE_TIME_ROWS,
            "sample_time_repeats": sample_repeats,
        },
        "machine": machine,
        "targets": TARGETS,
        "results": results,
    }
    payload["targets_checked"] = target_checks(results, machine)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(report(payload))
    print(f"wrote {out} ({payload['total_seconds']:.0f} s in all)", file=sys.stderr)
    return payload


if __name__ == "__main__":
    main()
