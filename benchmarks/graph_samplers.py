"""Which sampler, on how many steps, for graphs: quality against network evaluations.

One ScoreSDE fit per seed on Community-small (the split of ``benchmarks/graphs.py``,
``--max-iter`` training steps, every other parameter default), then the same fit sampled
with each (sampler, steps) of ``CONFIGS`` (``set_params(sampler=..., sampling_steps=...)``):
400 graphs in one call (``random_state=seed + 1``), cut into 20 sets of 20 and scored like
``graphs.py`` (GDSS-protocol MMD² of each set against the 20 test graphs, mean over sets).
The column ``evaluations`` is the network evaluations a sample costs (two a step for
``"pc"``), the measure of sampling cost; ``sample_400_s`` is a wall time, comparable only
within one run on an otherwise idle machine.

``--cache DIR`` keeps the fitted models (``cs_<max_iter>_<seed>.pkl``) and reuses them, so
that samplers can be added without refitting; ``fit_s`` is then absent.

Usage::

    python benchmarks/graph_samplers.py --seeds 0 1 2 --max-iter 3000
    python benchmarks/graph_samplers.py --seeds 0 1 2 --max-iter 10000 --cache /tmp/fits
    python benchmarks/graph_samplers.py --configs pc:300 pc:100   # some samplers only
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
MODELS = ("ScoreSDE",)
CONFIGS = (("pc", 300), ("pc", 100), ("pc", 50), ("sde", 300), ("dpm-sde", 100))


def evaluations(sampler: str, steps: int) -> int:
    return {"pc": 2 * steps, "ode": 2 * steps - 1}.get(sampler, steps)


def fitted(seed: int, max_iter: int, quick: bool, cache):
    """The seed's fit, from ``cache`` when it holds it; ``(model, fit seconds or None)``."""
    from skbridge import ScoreSDE

    path = None if cache is None else Path(cache) / f"cs_{max_iter}_{seed}.pkl"
    if path is not None and path.exists():
        with open(path, "rb") as f:
            return pickle.load(f), None
    train, _ = load("community_small", seed)
    t0 = time.perf_counter()
    params = {"max_iter": 30, "hidden_layer_sizes": (16,)} if quick else {"max_iter": max_iter}
    model = ScoreSDE(random_state=seed, **params).fit(train)
    fit_s = time.perf_counter() - t0
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump(model, f)
    return model, fit_s


def run(seed: int, max_iter: int, quick: bool, cache, configs=CONFIGS) -> list[dict]:
    train, test = load("community_small", seed)
    model, fit_s = fitted(seed, max_iter, quick, cache)
    n_sets, size = (2, 5) if quick else (20, len(test))
    rows = []
    for sampler, steps in (("pc", 4), ("sde", 4)) if quick else configs:
        model.set_params(sampler=sampler, sampling_steps=steps)
        t0 = time.perf_counter()
        graphs = model.sample(n_sets * size, random_state=seed + 1)
        row = {
            "dataset": "community_small",
            "model": f"ScoreSDE, {max_iter} steps: {sampler} on {steps}",
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
        help="sampler:steps pairs (default: " + " ".join(f"{s}:{k}" for s, k in CONFIGS) + ")",
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.time()
    rows = []
    for seed in args.seeds if args.seeds is not None else [args.seed]:
        configs = CONFIGS
        if args.configs:
            configs = [(c.split(":")[0], int(c.split(":")[1])) for c in args.configs]
        rows += run(seed, args.max_iter, args.quick, args.cache, configs)
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
