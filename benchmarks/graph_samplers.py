"""Which sampler, on how many steps, for graphs: quality against network evaluations.

One fit per seed and model on Community-small (the split of ``benchmarks/graphs.py``,
``--max-iter`` training steps, every other parameter default), then the same fit sampled
with each (sampler, steps) of the model's configurations (``set_params(sampler=...,
sampling_steps=...)``; ``DiscreteDiffusion`` has one sampler, its reverse chain, whose
``sampling_steps`` jump over its 500-step schedule):
400 graphs in one call (``random_state=seed + 1``), cut into 20 sets of 20 and scored like
``graphs.py`` (GDSS-protocol MMD² of each set against the 20 test graphs, mean over sets).
The column ``evaluations`` is the network evaluations a sample costs (two a step for
``"pc"``), the measure of sampling cost; ``sample_400_s`` is a wall time, comparable only
within one run on an otherwise idle machine.

``--cache DIR`` keeps the fitted models (``cs_<max_iter>_<seed>.pkl`` for ScoreSDE,
``cs_<model>_<max_iter>_<seed>.pkl`` for the others) and reuses them, so
that samplers can be added without refitting; ``fit_s`` is then absent.

Usage::

    python benchmarks/graph_samplers.py --seeds 0 1 2 --max-iter 3000
    python benchmarks/graph_samplers.py --seeds 0 1 2 --max-iter 10000 --cache /tmp/fits
    python benchmarks/graph_samplers.py --configs pc:300 pc:100   # some samplers only
    python benchmarks/graph_samplers.py --models DiscreteDiffusion --seeds 0 1 2
    python benchmarks/graph_samplers.py --quick
"""

from __future__ import annotations

import pickle
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import argument_parser, finish, markdown_tables  # noqa: E402
from graphs import describe, load, mmd_draws  # noqa: E402

DATASETS = ("community_small",)
MODELS = ("ScoreSDE", "DiscreteDiffusion")
CONFIGS = {
    "ScoreSDE": (("pc", 300), ("pc", 100), ("pc", 50), ("sde", 300), ("dpm-sde", 100)),
    "DiscreteDiffusion": (("chain", 500), ("chain", 100), ("chain", 50), ("chain", 25)),
}
QUICK_CONFIGS = {"ScoreSDE": (("pc", 4), ("sde", 4)), "DiscreteDiffusion": (("chain", 4),)}


def evaluations(sampler: str, steps: int) -> int:
    return {"pc": 2 * steps, "ode": 2 * steps - 1}.get(sampler, steps)


def fitted(name: str, seed: int, max_iter: int, quick: bool, cache):
    """The seed's fit, from ``cache`` when it holds it; ``(model, fit seconds or None)``."""
    import skbridge

    stem = f"cs_{max_iter}_{seed}" if name == "ScoreSDE" else f"cs_{name}_{max_iter}_{seed}"
    path = None if cache is None else Path(cache) / f"{stem}.pkl"
    if path is not None and path.exists():
        with open(path, "rb") as f:
            return pickle.load(f), None
    train, _ = load("community_small", seed)
    t0 = time.perf_counter()
    params = {"max_iter": 30, "hidden_layer_sizes": (16,)} if quick else {"max_iter": max_iter}
    model = getattr(skbridge, name)(random_state=seed, **params).fit(train)
    fit_s = time.perf_counter() - t0
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump(model, f)
    return model, fit_s


def run(name: str, seed: int, max_iter: int, quick: bool, cache, configs=None) -> list[dict]:
    train, test = load("community_small", seed)
    model, fit_s = fitted(name, seed, max_iter, quick, cache)
    n_sets, size = (2, 5) if quick else (20, len(test))
    rows = []
    for sampler, steps in QUICK_CONFIGS[name] if quick else configs or CONFIGS[name]:
        if name == "ScoreSDE":
            model.set_params(sampler=sampler)
        model.set_params(sampling_steps=steps)
        t0 = time.perf_counter()
        graphs = model.sample(n_sets * size, random_state=seed + 1)
        row = {
            "dataset": "community_small",
            "model": f"{name}, {max_iter} steps: {sampler} on {steps}",
            "seed": seed,
            "max_iter": max_iter,
            "sampler": sampler,
            "sampling_steps": steps,
            "evaluations": evaluations(sampler, steps),
            "sample_400_s": time.perf_counter() - t0,
        }
        if fit_s is not None:
            row["fit_s"] = fit_s
        sets = [graphs[i * size : (i + 1) * size] for i in range(n_sets)]
        row.update(mmd_draws(test, sets))
        row["mmd_average"] = (row["degree"] + row["clustering"] + row["orbit"]) / 3
        row.update(describe(sets, train))
        print(row, flush=True)
        rows.append(row)
    return rows


COLUMNS = [
    ("evaluations", "evaluations", "{:.0f}"),
    ("degree", "degree", "{:.3f}"),
    ("clustering", "clustering", "{:.3f}"),
    ("orbit", "orbit", "{:.3f}"),
    ("mmd_average", "average", "{:.3f}"),
    ("connected", "connected", "{:.2f}"),
]


def main(argv=None):
    parser = argument_parser(__doc__, DATASETS, MODELS)
    parser.add_argument("--max-iter", type=int, default=3000, help="training steps of each fit")
    parser.add_argument("--cache", help="folder of fitted models to reuse and keep")
    parser.add_argument(
        "--configs",
        nargs="+",
        help="sampler:steps pairs (default, ScoreSDE: "
        + " ".join(f"{s}:{k}" for s, k in CONFIGS["ScoreSDE"])
        + "; DiscreteDiffusion: "
        + " ".join(f"{s}:{k}" for s, k in CONFIGS["DiscreteDiffusion"])
        + ")",
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.time()
    rows = []
    for seed in args.seeds if args.seeds is not None else [args.seed]:
        configs = None
        if args.configs:
            configs = [(c.split(":")[0], int(c.split(":")[1])) for c in args.configs]
        for name in args.models:
            rows += run(name, seed, args.max_iter, args.quick, args.cache, configs)
    finish(
        args,
        rows,
        "benchmarks/graph_samplers.py",
        t0,
        order=DATASETS,
        markdown=lambda r: markdown_tables(r, COLUMNS),
    )


if __name__ == "__main__":
    main()
