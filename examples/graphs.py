"""
Graphs: Community-small
=======================

Graphs with skbridge: fit a generator on a list of networkx graphs, sample new graphs,
score held-out ones, and judge the samples with the GraphRNN/GDSS MMD metrics.

Run: ``python examples/graphs.py``. It fits ``DiscreteDiffusion`` with its defaults (3000
iterations): every pair of nodes is an edge or not at every step of its chain (the user
guide, "Graphs and tokens as categories"). That default fit took 187–203 s alone on a
2-core CPU (``benchmarks/graph_speed.py``, two runs, 2026-12-07), and its samples (25 chain
steps, the default for graphs without edge categories; 1000 of them in 7 s, 1000 of 40
nodes in 21 s) scored degree /
clustering / orbit MMD² 0.029 / 0.057 / 0.008 against the held-out graphs (0.027 / 0.060 /
0.008 on 100 steps, at 3.6x the sampling time), where 20 sets of 20 training graphs score 0.021 / 0.055 / 0.005 on average
(over 3 seeds) and ScoreSDE after 10000 iterations 0.043 / 0.128 / 0.028
(``benchmarks/graphs.py``, 3 seeds). Over three seeds of ``graphs.py`` the average of the
three MMD² is 0.039 ± 0.007. The statistics of one set of 20 graphs are noisy, so each
line below is the mean over five sets, ± its standard error.
``SKBRIDGE_QUICK=1`` runs it on tiny sizes (seconds, as in the docs build and CI).
"""

import os

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np

from skbridge import DiscreteDiffusion
from skbridge.data import erdos_renyi_like, make_community_small, train_test_split_graphs
from skbridge.metrics import graph_mmd

# SKBRIDGE_QUICK=1: tiny data and budgets (seconds; the docs build and CI run that)
QUICK = os.environ.get("SKBRIDGE_QUICK") == "1"
n_graphs, max_iter, n_sets = (30, 50, 2) if QUICK else (100, 3000, 5)
n_steps = 20 if QUICK else 500  # the chain's steps (500: the default)

# 100 two-community graphs of 12..20 nodes (the GDSS recipe), split 80/20 with a fixed seed
graphs = make_community_small(n_graphs, random_state=0)
train, test = train_test_split_graphs(graphs, test_size=0.2, random_state=0)

model = DiscreteDiffusion(max_iter=max_iter, n_steps=n_steps, random_state=0, verbose=1)
model.fit(train)
new = model.sample(len(test), random_state=1)  # a list of nx.Graph
print("sampled:", [g.number_of_nodes() for g in new][:10], "nodes;",
      np.mean([g.number_of_edges() for g in new]), "edges on average")  # fmt: skip
# a lower bound on each graph's log-probability, in nats (node orderings: docs/math.md)
print("held-out score (nats per graph):", round(model.score(test), 1))
print("average clustering, test vs sampled:",
      round(np.mean([nx.average_clustering(g) for g in test]), 3),
      round(np.mean([nx.average_clustering(g) for g in new]), 3))  # fmt: skip


def show(name, sets):
    """Mean MMD² (lower is better) over sets of len(test) graphs, ± its standard error: the
    statistics of one set of 20 graphs are noisy."""
    mmds = [graph_mmd(test, graphs_, kernel="gaussian_emd") for graphs_ in sets]
    cells = []
    for key in mmds[0]:
        values = [m[key] for m in mmds]
        cells.append(
            f"{key} {np.mean(values):.3f}±{np.std(values, ddof=1) / np.sqrt(len(values)):.3f}"
        )
    print(f"{name:>28}: " + "  ".join(cells))


n = len(test)
show("samples", [new] + [model.sample(n, random_state=seed) for seed in range(2, n_sets + 1)])
# what a perfect generator reaches: the four disjoint sets of 20 training graphs
show("training graphs (noise)", [train[i : i + n] for i in range(0, len(train), n)])
show(
    "Erdős–Rényi (floor)",
    [erdos_renyi_like(train[:n], random_state=seed) for seed in range(n_sets)],
)

# four held-out graphs (top) and four samples (bottom)
fig, axes = plt.subplots(2, 4, figsize=(10, 5))
for row, (label, shown) in zip(axes, (("held-out", test), ("sampled", new)), strict=True):
    for ax, g in zip(row, shown[:4], strict=False):
        nx.draw(g, pos=nx.spring_layout(g, seed=0), ax=ax, node_size=20, width=0.5)
        ax.set_title(f"{label}: {g.number_of_nodes()} nodes", fontsize=9)
fig.tight_layout()
plt.show()
