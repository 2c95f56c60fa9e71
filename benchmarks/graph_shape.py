"""Shape statistics of saved graph samples against their test split (no fitting).

The GraphRNN/GDSS MMDs compare histograms of local statistics (degrees, clustering, 4-node
orbit counts, the Laplacian spectrum). This script reads the sample sets that
``benchmarks/graphs.py --save-samples DIR`` pickled and prints, beside the same numbers for
the test split of that seed and for Erdős–Rényi graphs of the sizes and densities of as many
training graphs (the benchmark's floor), what those histograms can hide:

* the share of nodes of each degree, and above 4 (a grid has none);
* triangles per graph (a grid has none) and whether the graph is bipartite (a grid is);
* 4-cycles per edge (a grid's inner edges lie on 2 squares, its border edges on 1);
* connected components, and the diameter of the largest (a k x m grid: k + m - 2).

Usage::

    python benchmarks/graph_shape.py DIR/grid_DiscreteDiffusion_seed0.pkl [...]

The seed (the test split) is read from the file name (``seed<s>``); ``--dataset`` names the
dataset (default ``grid``).
"""

from __future__ import annotations

import argparse
import pickle
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graphs import _diameter, load  # noqa: E402


def squares_per_edge(g) -> float:
    """Mean number of 4-cycles through an edge ``(u, v)``: the walks ``u-x-y-v`` of length
    3 between its ends, less the ``deg(u) + deg(v) - 1`` that revisit ``u`` or ``v``
    (``u-x-u-v``, ``u-v-y-v``); every other such walk has four distinct nodes."""
    import networkx as nx

    if g.number_of_edges() == 0:
        return 0.0
    A = nx.to_scipy_sparse_array(g, format="csr").astype(float)
    deg = np.asarray(A.sum(1)).ravel()
    A3 = A @ A @ A
    r, c = A.nonzero()
    return float(np.mean(np.asarray(A3[r, c]).ravel() - (deg[r] + deg[c] - 1)))


def shape(graphs) -> dict:
    import networkx as nx

    deg = np.concatenate([[d for _, d in g.degree()] for g in graphs])
    out = {"graphs": len(graphs), "nodes": np.mean([g.number_of_nodes() for g in graphs])}
    out["edges / node"] = np.mean(
        [g.number_of_edges() / max(g.number_of_nodes(), 1) for g in graphs]
    )
    for k in range(2, 6):
        out[f"degree {k}"] = np.mean(deg == k)
    out["degree > 4"] = np.mean(deg > 4)
    out["triangles / graph"] = np.mean([sum(nx.triangles(g).values()) / 3 for g in graphs])
    out["bipartite"] = np.mean([nx.is_bipartite(g) for g in graphs])
    out["4-cycles / edge"] = np.mean([squares_per_edge(g) for g in graphs])
    out["components"] = np.mean([nx.number_connected_components(g) for g in graphs])
    out["diameter"] = np.mean([_diameter(g) for g in graphs])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--dataset", default="grid")
    args = parser.parse_args(argv)
    columns = {}
    for f in args.files:
        seed = int(re.search(r"seed(\d+)", f.name).group(1))
        if f"test (seed {seed})" not in columns:
            from skbridge.data import erdos_renyi_like

            train, test = load(args.dataset, seed)
            columns[f"test (seed {seed})"] = shape(test)
            floor = erdos_renyi_like(train[: len(test)], random_state=seed)
            columns[f"Erdős–Rényi (seed {seed})"] = shape(floor)
        sets = pickle.loads(f.read_bytes())
        columns[f.stem] = shape([g for s in sets for g in s])
    names = list(columns)
    print("| statistic | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key in next(iter(columns.values())):
        cells = [f"{columns[n][key]:.3f}".rstrip("0").rstrip(".") for n in names]
        print(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
