"""Molecule benchmark: skbridge's generators on QM9 heavy-atom graphs with bond types.

Protocol (after GDSS, Jo, Lee, Hwang, ICML 2022, scaled to a CPU):

* data: ``load_qm9`` (the ``qm9pack`` wheel: 130,831 molecules, up to 9 heavy atoms C, N, O,
  F; kekulized, hydrogens implicit, atom labels with formal charges such as ``"N+"``); a
  seeded random subset of ``--n-train`` molecules (default 10000; GDSS trains on about
  120,000) is the training set;
* each generator is ``GraphCodec(node_attr="atom", edge_attr="bond")`` (bond orders 1, 2, 3
  coded as the adjacency levels 1/3, 2/3, 1) with default parameters except ``max_iter``
  (``--max-iter``, default 10000) and ``random_state``; it samples ``--n-samples`` graphs
  (default 1000; GDSS samples 10,000); a diffusion fit samples with both samplers, the one
  its ``sampler="auto"`` resolves to (column ``sampler``) and the other (``"sde"``, the
  reverse chain; ``"pc"``, a Langevin corrector step before each step);
* metrics (``skbridge.metrics.molecule_metrics``): **validity without correction** (share
  of samples that rdkit sanitizes, no atom over its valence; fragments allowed), the share
  valid *and* connected, **uniqueness** (distinct canonical SMILES among the valid ones) and
  **novelty** (valid samples whose canonical SMILES is not in *all of QM9*, stricter than
  novelty against the training subset); plus the total-variation distance of the atom-type
  and bond-type frequencies to the training set's, and the mean node and edge counts;
* **FCD** and **NSPDK MMD** against ``--n-reference`` (default 10000) further held-out QM9
  molecules, as GDSS reports them, where ``fcd_torch`` and ``eden-kernel`` are installed
  (``requirements-peers.txt``; both run offline: ChemNet's weights ship in the wheel),
  empty columns otherwise. FCD: Fréchet distance of ChemNet activations between the valid
  samples' canonical SMILES and the reference's (GDSS corrects valences first and scores
  all samples; no correction is made here). NSPDK: EDeN's neighbourhood subgraph pairwise
  distance features (``complexity=4``, element symbols on atoms, bond orders on bonds,
  GDSS's ``mols_to_nx``) of every sample, valid or not, and MMD² with the linear kernel,
  which is the squared distance between the two sets' mean feature vectors.

Reference rows: ``QM9 molecules (noise level)``, held-out QM9 molecules scored the same way
(validity 1 by construction; their novelty is 0 as they are in QM9), and ``random graphs
(floor)``: per sample a training molecule's atoms with a G(n, p) bond graph of its edge
density and bond orders drawn from the training frequencies. The published GDSS row (QM9,
10,000 samples, 120k training molecules on a GPU) is printed for comparison; it was not run
here.

Usage::

    python benchmarks/molecules.py                     # -> results/molecules.json
    python benchmarks/molecules.py --models ScoreSDE --max-iter 20000
    python benchmarks/molecules.py --quick             # smoke run (CI-sized)

Needs rdkit and the qm9pack wheel: ``pip install rdkit && pip install --no-deps qm9pack``.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import add_sampling_steps, argument_parser, finish, fit_and_evaluate, markdown_tables  # noqa: E402

DATASETS = ("qm9",)
SKBRIDGE = ("SBVAE", "ScoreSDE", "DiscreteDiffusion", "FlowMatching", "VAE")
# the decoder predicting atom and bond noise freely, as before the categorical heads
FREE = {"ScoreSDE (categorical=free)": "ScoreSDE", "SBVAE (categorical=free)": "SBVAE"}
MODELS = (*SKBRIDGE, *FREE, "random graphs (floor)")
MAX_ITER = 10000
# GDSS paper, Table 3 (QM9): validity w/o correction, uniqueness, novelty (percent / 100),
# NSPDK MMD and FCD
PUBLISHED = {
    "GDSS (published)": {
        "validity": 0.9572,
        "uniqueness": 0.9846,
        "novelty": 0.8627,
        "nspdk": 0.003,
        "fcd": 2.900,
    }
}


def load(n_train: int, n_test: int, seed: int = 0, n_reference: int = 0):
    """``(train, test, known, reference)``: training and held-out graphs, all QM9 canonical
    SMILES, and ``n_reference`` further molecules drawn from the rest (FCD and NSPDK)."""
    from rdkit import Chem

    from skbridge.data import graphs_from_smiles, load_qm9, qm9_smiles

    graphs, drawn = load_qm9(n_train + n_test, random_state=seed, return_smiles=True)
    known = set()
    everything = qm9_smiles()
    for s in everything:
        mol = Chem.MolFromSmiles(s)
        if mol is not None:
            known.add(Chem.MolToSmiles(mol))
    drawn = set(drawn)
    rest = [s for s in everything if s not in drawn]
    rows = np.random.default_rng(seed + 1000).choice(len(rest), n_reference, replace=False)
    reference = graphs_from_smiles([rest[r] for r in rows])
    return graphs[:n_train], graphs[n_train:], known, reference


class _Reference:
    """FCD and NSPDK MMD² against reference molecules (GDSS's metrics); a metric whose
    package is missing is left out."""

    def __init__(self, graphs):
        from skbridge.data import smiles_from_graphs

        self.metrics = {}
        if not graphs:
            return
        try:
            from fcd_torch import FCD

            self.fcd = FCD(device="cpu", n_jobs=1)
            smiles = [s for s in smiles_from_graphs(graphs) if s is not None]
            self.metrics["fcd"] = self.fcd.precalc(smiles)
        except ImportError:
            pass
        try:
            import eden.graph  # noqa: F401

            self.metrics["nspdk"] = self._nspdk_mean(graphs)
        except ImportError:
            pass

    @staticmethod
    def _nspdk_mean(graphs):
        """Mean of EDeN's NSPDK feature vectors (each of unit norm) of GDSS's molecule graphs."""
        import networkx as nx
        from eden.graph import vectorize

        labelled = []
        for G in graphs:
            H = nx.Graph()
            for n, d in G.nodes(data=True):
                H.add_node(n, label=str(d["atom"]).rstrip("+-"))
            for u, v, d in G.edges(data=True):
                H.add_edge(u, v, label=int(d.get("bond", 1)))
            labelled.append(H)
        X = vectorize(labelled, complexity=4, discrete=True)
        return np.asarray(X.mean(0)).ravel()

    def __call__(self, graphs) -> dict:
        from skbridge.data import smiles_from_graphs

        out = {}
        if "fcd" in self.metrics:
            smiles = [s for s in smiles_from_graphs(graphs) if s is not None]
            if len(smiles) > 1:
                pgen = self.fcd.precalc(smiles)
                out["fcd"] = float(self.fcd.metric(self.metrics["fcd"], pgen))
        if "nspdk" in self.metrics and graphs:
            diff = self._nspdk_mean(graphs) - self.metrics["nspdk"]
            out["nspdk"] = float(diff @ diff)
        return out


class _RandomMolecules:
    """Training molecules' atoms on G(n, p) bond graphs with training bond-order frequencies."""

    def fit(self, graphs):
        self.graphs = list(graphs)
        orders = Counter(d["bond"] for G in graphs for _, _, d in G.edges(data=True))
        self.orders = np.array(sorted(orders))
        self.probs = np.array([orders[o] for o in self.orders], dtype=float)
        self.probs /= self.probs.sum()
        return self

    def sample(self, n, random_state=None):
        import networkx as nx

        rng = np.random.default_rng(random_state)
        out = []
        for i in rng.integers(len(self.graphs), size=n):
            G = self.graphs[i]
            k = G.number_of_nodes()
            p = G.number_of_edges() / max(k * (k - 1) / 2, 1)
            H = nx.Graph()
            H.add_nodes_from(G.nodes(data=True))
            for u in range(k):
                for v in range(u + 1, k):
                    if rng.random() < p:
                        H.add_edge(u, v, bond=int(rng.choice(self.orders, p=self.probs)))
            out.append(H)
        return out


def make_generator(name: str, quick: bool, seed: int, max_iter: int = MAX_ITER):
    if name in SKBRIDGE or name in FREE:
        import skbridge
        from skbridge.data import GraphCodec

        params = {}
        if name in FREE:
            name, params["categorical"] = FREE[name], "free"
        return getattr(skbridge, name)(
            data=GraphCodec(node_attr="atom", edge_attr="bond"),
            max_iter=60 if quick else max_iter,
            random_state=seed,
            **params,
        )
    if name == "random graphs (floor)":
        return _RandomMolecules()
    raise ValueError(f"unknown model {name!r}")


def _tv(a: Counter, b: Counter) -> float:
    na, nb = sum(a.values()) or 1, sum(b.values()) or 1
    return 0.5 * sum(abs(a[k] / na - b[k] / nb) for k in set(a) | set(b))


def evaluate(graphs, train, known, reference=None) -> dict:
    from skbridge.data import smiles_from_graphs
    from skbridge.metrics import molecule_metrics

    row = molecule_metrics(graphs)
    valid = [s for s in smiles_from_graphs(graphs) if s is not None]
    row["novelty"] = sum(s not in known for s in valid) / len(valid) if valid else float("nan")
    atoms = Counter(d["atom"] for G in graphs for _, d in G.nodes(data=True))
    bonds = Counter(d.get("bond") for G in graphs for _, _, d in G.edges(data=True))
    atoms_tr = Counter(d["atom"] for G in train for _, d in G.nodes(data=True))
    bonds_tr = Counter(d["bond"] for G in train for _, _, d in G.edges(data=True))
    row["atom_tv"], row["bond_tv"] = _tv(atoms, atoms_tr), _tv(bonds, bonds_tr)
    row["nodes_mean"] = float(np.mean([G.number_of_nodes() for G in graphs]))
    row["edges_mean"] = float(np.mean([G.number_of_edges() for G in graphs]))
    if reference is not None:
        row.update(reference(graphs))
    return row


def run(
    models,
    quick=False,
    seed=0,
    n_train=10000,
    n_samples=1000,
    max_iter=MAX_ITER,
    steps=(),
    n_reference=10000,
):
    if quick:
        n_train, n_samples, n_reference = 200, 50, 100
    train, test, known, reference = load(n_train, n_samples, seed, n_reference)
    reference = _Reference(reference)
    rows = [
        {
            "dataset": "qm9",
            "model": "QM9 molecules (noise level)",
            "seed": seed,
            **evaluate(test, train, known, reference),
        }
    ]
    print(f"qm9: {len(train)} train, {len(known)} known molecules", rows[0], flush=True)
    for name, published in PUBLISHED.items():
        rows.append({"dataset": "qm9", "model": name, "seed": seed, **published})

    def sample_and_evaluate(gen):
        t0 = time.perf_counter()
        samples = gen.sample(n_samples, random_state=seed + 1)
        return {"sample_s": time.perf_counter() - t0, **evaluate(samples, train, known, reference)}

    for model in models:
        rows += fit_and_evaluate(
            {"dataset": "qm9", "model": model, "seed": seed, "n_train": len(train)},
            lambda model=model: make_generator(model, quick, seed, max_iter),
            train,
            test,
            sample_and_evaluate,
            samplers=("sde", "pc"),
            steps=steps,
        )
    return rows


COLUMNS = [
    ("sampler", "sampler", "{}"),
    ("validity", "valid", "{:.3f}"),
    ("valid_connected", "valid & connected", "{:.3f}"),
    ("uniqueness", "unique", "{:.3f}"),
    ("novelty", "novel", "{:.3f}"),
    ("atom_tv", "atom TV", "{:.3f}"),
    ("bond_tv", "bond TV", "{:.3f}"),
    ("nodes_mean", "atoms", "{:.2f}"),
    ("edges_mean", "bonds", "{:.2f}"),
    ("fcd", "FCD", "{:.2f}"),
    ("nspdk", "NSPDK", "{:.4f}"),
    ("fit_s", "fit s", "{:.0f}"),
    ("sample_s", "sample s", "{:.1f}"),
    ("held_out_score", "held-out score", "{:.1f}"),
]


def markdown(rows) -> str:
    return markdown_tables(rows, COLUMNS)


def main(argv=None):
    parser = argument_parser(__doc__, DATASETS, MODELS)
    parser.add_argument("--n-train", type=int, default=10000, help="training molecules")
    parser.add_argument("--n-samples", type=int, default=1000, help="samples per model")
    parser.add_argument(
        "--max-iter", type=int, default=MAX_ITER, help="training steps of skbridge models"
    )
    parser.add_argument(
        "--n-reference",
        type=int,
        default=10000,
        help="held-out molecules that FCD and NSPDK compare with",
    )
    add_sampling_steps(parser)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.time()
    rows = []
    for seed in args.seeds if args.seeds is not None else [args.seed]:
        rows += run(
            args.models,
            quick=args.quick,
            seed=seed,
            n_train=args.n_train,
            n_samples=args.n_samples,
            max_iter=args.max_iter,
            steps=args.sampling_steps,
            n_reference=args.n_reference,
        )
    finish(args, rows, "benchmarks/molecules.py", t0, order=DATASETS, markdown=markdown)


if __name__ == "__main__":
    main()
