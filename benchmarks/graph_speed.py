"""Graphs for a user in a hurry: the default fit's time on Community-small, and sampling time.

* ``fit``: ``ScoreSDE(random_state=seed).fit(train)`` (or ``DiscreteDiffusion``) with
  every default (3000 training steps) on the 80 Community-small training graphs of
  ``benchmarks/graphs.py``, wall time, and the GDSS-protocol MMDs of 20 sets of 20 samples
  against the 20 test graphs (the same metrics as ``graphs.py``, so a default fit can be set
  beside the benchmark's 10000-step rows);
* ``sample``: the time of ``sample(1000)`` with the default sampler and steps
  (``sampling_steps="auto"``), from that fit (up to 20
  nodes) and from a short fit (200 steps: sampling costs the same after any training) on 80
  two-community graphs of 40 nodes (``networkx.planted_partition_graph(2, 20, 0.7, 0.01)``).

Usage::

    python benchmarks/graph_speed.py                   # -> results/graph_speed.json
    python benchmarks/graph_speed.py --seeds 0 1 2
    python benchmarks/graph_speed.py --models DiscreteDiffusion --sampling-steps 50 25
    python benchmarks/graph_speed.py --quick           # smoke run

Run it alone on the machine: every number here is a time.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import add_sampling_steps, argument_parser, finish, markdown_tables  # noqa: E402
from graphs import load, mmd_draws  # noqa: E402

DATASETS = ("community_small",)
MODELS = ("ScoreSDE", "DiscreteDiffusion")


def forty_node_graphs(n, seed):
    import networkx as nx

    return [nx.planted_partition_graph(2, 20, 0.7, 0.01, seed=seed * 1000 + i) for i in range(n)]


def run(name, seed, quick, steps=()):
    """One row for the defaults, then one per number in ``steps`` (the same two fits sampled
    with ``sampling_steps`` set to it)."""
    import skbridge

    Model = getattr(skbridge, name)
    train, test = load("community_small", seed)
    params = {"max_iter": 30, "n_steps": 20} if quick else {}
    t0 = time.perf_counter()
    model = Model(random_state=seed, **params).fit(train)
    fit_s = time.perf_counter() - t0
    big = Model(random_state=seed, **(params or {"max_iter": 200})).fit(forty_node_graphs(80, seed))
    n_samples = 50 if quick else 1000
    rows = []
    for k in [None, *steps]:
        label = name if k is None else f"{name} on {k} sampling steps"
        if k is not None:
            model.set_params(sampling_steps=k)
            big.set_params(sampling_steps=k)
        row = {"dataset": "community_small", "model": label, "seed": seed, "fit_s": fit_s}
        row["n_iter"] = model.n_iter_
        if hasattr(model, "resolved_sampler"):
            row["sampler"] = model.resolved_sampler()
        row["sampling_steps"] = model.resolved_sampling_steps()
        n_sets = 2 if quick else 20
        sets = [model.sample(len(test), random_state=seed + 1 + j) for j in range(n_sets)]
        row.update(mmd_draws(test, sets))
        t0 = time.perf_counter()
        model.sample(n_samples, random_state=seed)
        row["sample_1000_s"] = (time.perf_counter() - t0) * 1000 / n_samples
        t0 = time.perf_counter()
        big.sample(n_samples, random_state=seed)
        row["sample_1000_40_nodes_s"] = (time.perf_counter() - t0) * 1000 / n_samples
        print(row, flush=True)
        rows.append(row)
    return rows


COLUMNS = [
    ("fit_s", "default fit s", "{:.0f}"),
    ("n_iter", "steps", "{:.0f}"),
    ("degree", "degree", "{:.3f}"),
    ("clustering", "clustering", "{:.3f}"),
    ("orbit", "orbit", "{:.3f}"),
    ("sampling_steps", "sampler steps", "{}"),
    ("sample_1000_s", "sample 1000 s (≤20 nodes)", "{:.1f}"),
    ("sample_1000_40_nodes_s", "sample 1000 s (40 nodes)", "{:.1f}"),
]


def main(argv=None):
    parser = argument_parser(__doc__, DATASETS, MODELS)
    add_sampling_steps(parser)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.time()
    rows = []
    for seed in args.seeds if args.seeds is not None else [args.seed]:
        for name in args.models:
            rows += run(name, seed, args.quick, args.sampling_steps)
    finish(
        args,
        rows,
        "benchmarks/graph_speed.py",
        t0,
        order=DATASETS,
        markdown=lambda r: markdown_tables(r, COLUMNS),
    )


if __name__ == "__main__":
    main()
