"""What the graph MMDs say about grids with a few misplaced edges (a calibration, no model).

GraphRNN's Grid benchmark (``make_grid_graphs``: 100 grids of 100 to 361 nodes, the split of
``benchmarks/graphs.py``) scores generators by MMD² against 20 test grids. This script
scores exact grids with defects put in by hand, to read a model's numbers: how many wrong
edges does a spectral MMD² of 1.2 mean, and when does a statistic pass the Erdős–Rényi
floor's? Each training grid of the first 20 (the size of a sample set) gets a share
``f`` of its edge count changed:

* ``removed``: ``f`` of its edges removed at random;
* ``diagonal``: ``f`` more edges, each between two nodes at distance 2 (they close
  triangles, which a grid has none of);
* ``distance 3``: ``f`` more edges between nodes at distance 3 (they close 4-cycles and no
  triangle: the grid stays bipartite);
* ``rewired``: ``f`` removed and ``f`` diagonals added (the edge count kept).

Rows: the MMD² of ``benchmarks/graphs.py`` (degree, clustering, spectral with the
Gaussian-EMD kernel, orbit with the Gaussian kernel), the spectrum under GRAN's Gaussian-TV
kernel (``spectral_tv``), and the mean diameter; 3 seeds of the defects (the split's seed
too), mean ± standard error in the tables.

Usage::

    python benchmarks/grid_defects.py              # -> results/grid_defects.json (about 3 min)
    python benchmarks/grid_defects.py --quick      # two shares, one kind
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import argument_parser, finish, markdown_tables  # noqa: E402
from graphs import _diameter, load, mmd_draws  # noqa: E402

KINDS = ("removed", "diagonal", "distance 3", "rewired")
SHARES = (0.005, 0.01, 0.03, 0.1)


def _add_at_distance(G, k, distance, rng):
    """Add ``k`` edges, each between a random node and a random node ``distance`` hops away."""
    import networkx as nx

    nodes, added, tries = list(G), 0, 0
    while added < k and tries < 100 * (k + 1):
        tries += 1
        u = nodes[rng.integers(len(nodes))]
        hops = nx.single_source_shortest_path_length(G, u, cutoff=distance)
        ring = [v for v, d in hops.items() if d == distance]
        if ring:
            v = ring[rng.integers(len(ring))]
            if not G.has_edge(u, v):
                G.add_edge(u, v)
                added += 1
    return G


def defect(G, kind: str, share: float, rng):
    """A copy of grid ``G`` with ``share`` of its edge count changed as ``kind`` says."""
    G = G.copy()
    k = int(round(share * G.number_of_edges()))
    if kind in ("removed", "rewired"):
        edges = list(G.edges())
        G.remove_edges_from([edges[i] for i in rng.choice(len(edges), k, replace=False)])
    if kind in ("diagonal", "rewired"):
        G = _add_at_distance(G, k, 2, rng)
    if kind == "distance 3":
        G = _add_at_distance(G, k, 3, rng)
    return G


def run(seeds, quick=False):
    from skbridge.data import erdos_renyi_like

    kinds, shares = (("rewired",), (0.01, 0.1)) if quick else (KINDS, SHARES)
    rows = []
    for seed in seeds:
        train, test = load("grid", seed)
        base = train[: len(test)]
        rng = np.random.default_rng(seed)
        cases = [
            ("exact grids", base),
            ("Erdős–Rényi (floor)", erdos_renyi_like(base, random_state=seed)),
        ]
        cases += [
            (f"{kind}, {share:.1%}", [defect(G, kind, share, rng) for G in base])
            for kind in kinds
            for share in shares
        ]
        for name, graphs in cases:
            row = {"dataset": "grid", "model": name, "seed": seed}
            row.update(mmd_draws(test, [graphs]))
            row["diameter_mean"] = float(np.mean([_diameter(g) for g in graphs]))
            rows.append(row)
            print(row, flush=True)
    return rows


COLUMNS = [
    ("degree", "degree", "{:.3f}"),
    ("clustering", "clustering", "{:.3f}"),
    ("orbit", "orbit", "{:.3f}"),
    ("spectral", "spectral (EMD)", "{:.3f}"),
    ("spectral_tv", "spectral (TV)", "{:.3f}"),
    ("diameter_mean", "diameter", "{:.1f}"),
]


def main(argv=None):
    parser = argument_parser(__doc__, ("grid",), ("defects",))
    args = parser.parse_args(argv)
    t0 = time.time()
    seeds = args.seeds if args.seeds is not None else [0, 1, 2]
    rows = run(seeds[:1] if args.quick else seeds, quick=args.quick)
    finish(
        args,
        rows,
        "benchmarks/grid_defects.py",
        t0,
        order=("grid",),
        markdown=lambda r: markdown_tables(r, {"grid": COLUMNS}),
    )


if __name__ == "__main__":
    main()
