"""Fingerprints of every model's samples and scores, to show a refactoring changed nothing.

Each case fits a small model with a fixed ``random_state`` on bundled or generated data
(tables as arrays and as DataFrames with categorical and integer columns, real and token
sequences, graphs with and without attributes), then draws ``sample(…, random_state=0)``
and ``score_samples`` on held-out data, and records a SHA-256 of each result (float arrays
by their bytes, DataFrames and graphs by a canonical text form). Nothing is timed: the
cases are tiny, and only bit-identity matters.

Usage::

    python benchmarks/identity.py --out before.json            # record
    python benchmarks/identity.py --check before.json          # compare; exit 1 on change
    python benchmarks/identity.py --cases ScoreSDE-moons       # a subset

A case whose fingerprint changed is listed with what changed (``sample`` or ``score``).
Deliberate changes of results are listed in the commit that makes them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import warnings

import numpy as np

from skbridge import SBVAE, VAE, FlowMatching, ScoreSDE
from skbridge.data import (
    GraphCodec,
    make_community_small,
    make_dna,
    make_sines,
    make_two_moons,
)

SMALL = dict(max_iter=60, batch_size=64, random_state=0)
DIFF = dict(SMALL, n_steps=12, hidden_layer_sizes=(32, 32), n_elbo_samples=2)
SB = dict(DIFF, encoder_min_iter=2, encoder_max_iter=6, validation_interval=2, n_decoder_steps=2)
BASE = dict(SMALL, hidden_layer_sizes=(32, 32))


def _moons():
    X = make_two_moons(240, random_state=0)
    return X[:200], X[200:]


def _frame():
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 240
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 5, n),
            "c": pd.Categorical(rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])),
        }
    )
    return df.iloc[:200].reset_index(drop=True), df.iloc[200:].reset_index(drop=True)


def _wide():  # 20 dimensions: Hutchinson divergences (FlowMatching, stein ELBO)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(240, 20)) @ rng.normal(size=(20, 20)) * 0.3
    return X[:200], X[200:]


def _sines():
    X = make_sines(120, length=8, n_channels=2, random_state=0)
    return X[:100], X[100:]


def _dna():
    X = make_dna(120, length=(8, 12), motifs=("TATA",), random_state=0)
    return X[:100], X[100:]


def _graphs():
    G = make_community_small(30, random_state=0)
    return G[:24], G[24:]


def _molecule_like():
    """Graphs with a node and an edge category (ordinal edge levels)."""
    import networkx as nx

    rng = np.random.default_rng(2)
    out = []
    for _ in range(30):
        n = int(rng.integers(3, 7))
        G = nx.path_graph(n)
        for v in G.nodes:
            G.nodes[v]["atom"] = str(rng.choice(["C", "N", "O"]))
        for a, b in G.edges:
            G.edges[a, b]["bond"] = int(rng.integers(1, 3))
        out.append(G)
    return out[:24], out[24:]


DATA = {
    "moons": _moons,
    "frame": _frame,
    "wide": _wide,
    "sines": _sines,
    "dna": _dna,
    "graphs": _graphs,
    "molecules": _molecule_like,
}

CASES = {
    "ScoreSDE-moons": (ScoreSDE, DIFF, "moons"),
    "ScoreSDE-moons-pc": (ScoreSDE, dict(DIFF, sampler="pc"), "moons"),
    "ScoreSDE-moons-ode": (ScoreSDE, dict(DIFF, sampler="ode"), "moons"),
    "ScoreSDE-moons-antithetic": (ScoreSDE, dict(DIFF, elbo_form="antithetic"), "moons"),
    "ScoreSDE-moons-early": (
        ScoreSDE,
        dict(DIFF, early_stopping=True, n_iter_no_change=2),
        "moons",
    ),
    "ScoreSDE-frame": (ScoreSDE, DIFF, "frame"),
    "ScoreSDE-sines": (ScoreSDE, DIFF, "sines"),
    "ScoreSDE-dna": (ScoreSDE, DIFF, "dna"),
    "ScoreSDE-graphs": (ScoreSDE, dict(DIFF, n_steps="auto", max_iter=30), "graphs"),
    "ScoreSDE-molecules": (
        ScoreSDE,
        dict(DIFF, data=GraphCodec(node_attr="atom", edge_attr="bond")),
        "molecules",
    ),
    "SBVAE-moons": (SBVAE, SB, "moons"),
    "SBVAE-moons-short": (SBVAE, dict(SB, beta_max=1.0, T=0.3), "moons"),
    "SBVAE-moons-joint": (SBVAE, dict(SB, encoder="joint"), "moons"),
    "SBVAE-moons-joint-cv": (SBVAE, dict(SB, encoder="joint", control_variate=True), "moons"),
    "SBVAE-moons-elbo-grad": (
        SBVAE,
        dict(SB, encoder="joint", encoder_gradient="elbo"),
        "moons",
    ),
    "SBVAE-moons-kl": (SBVAE, dict(SB, encoder_criterion="gaussian_kl"), "moons"),
    "SBVAE-moons-elbo-crit": (SBVAE, dict(SB, encoder_criterion="elbo"), "moons"),
    "SBVAE-frame-joint": (SBVAE, dict(SB, encoder="joint"), "frame"),
    "SBVAE-sines-joint": (SBVAE, dict(SB, encoder="joint"), "sines"),
    "SBVAE-graphs-joint": (SBVAE, dict(SB, encoder="joint", max_iter=30), "graphs"),
    "VAE-moons": (VAE, BASE, "moons"),
    "VAE-moons-early": (VAE, dict(BASE, early_stopping=True, n_iter_no_change=2), "moons"),
    "VAE-frame": (VAE, BASE, "frame"),
    "VAE-dna": (VAE, BASE, "dna"),
    "FlowMatching-moons": (FlowMatching, dict(BASE, n_steps=8), "moons"),
    "FlowMatching-moons-euler": (FlowMatching, dict(BASE, n_steps=8, solver="euler"), "moons"),
    "FlowMatching-wide": (FlowMatching, dict(BASE, n_steps=6), "wide"),
    "FlowMatching-frame": (FlowMatching, dict(BASE, n_steps=6), "frame"),
    "FlowMatching-sines": (FlowMatching, dict(BASE, n_steps=6, hidden_layer_sizes=(16,)), "sines"),
    "FlowMatching-graphs": (FlowMatching, dict(BASE, n_steps=6, max_iter=30), "graphs"),
}
# cases whose score is not the default estimator's (the sampler is a sampling option)
STEIN = {"ScoreSDE-wide-stein": (ScoreSDE, dict(DIFF, elbo_form="stein"), "wide")}
CASES.update(STEIN)


def fingerprint(obj) -> str:
    """SHA-256 of an array's float64 bytes, a DataFrame's CSV or a graph list's edge text."""
    h = hashlib.sha256()
    if isinstance(obj, np.ndarray):
        h.update(np.ascontiguousarray(obj, dtype=np.float64).tobytes())
    elif hasattr(obj, "to_csv"):
        h.update(obj.to_csv(index=False, float_format="%.17g").encode())
        h.update(repr(list(obj.dtypes)).encode())
    elif isinstance(obj, list) and obj and hasattr(obj[0], "nodes"):
        for G in obj:
            h.update(repr(sorted(G.nodes(data=True), key=repr)).encode())
            h.update(repr(sorted(G.edges(data=True), key=repr)).encode())
    else:  # token sequences
        h.update(repr(obj).encode())
    return h.hexdigest()


def run_case(name):
    cls, params, data = CASES[name]
    train, test = DATA[data]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls(**params).fit(train)
        sample = model.sample(16, random_state=0)
        score = model.score_samples(test)
    return {
        "sample": fingerprint(sample),
        "score": fingerprint(np.asarray(score)),
        "score_mean": float(np.mean(score)),
        "n_iter": int(model.n_iter_),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the fingerprints to this JSON file")
    parser.add_argument("--check", help="compare with the fingerprints in this JSON file")
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    args = parser.parse_args(argv)
    results = {}
    for name in args.cases:
        results[name] = run_case(name)
        print(name, results[name]["score_mean"], flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=1, sort_keys=True)
    if args.check:
        with open(args.check) as fh:
            before = json.load(fh)
        changed = []
        for name, now in results.items():
            if name not in before:
                print(f"{name}: not recorded before")
                continue
            diff = [k for k in ("sample", "score", "n_iter") if before[name][k] != now[k]]
            if diff:
                changed.append(name)
                print(
                    f"{name}: CHANGED {', '.join(diff)} (score mean "
                    f"{before[name]['score_mean']:.6f} -> {now['score_mean']:.6f})"
                )
        print(f"{len(results) - len(changed)} identical, {len(changed)} changed")
        return 1 if changed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
