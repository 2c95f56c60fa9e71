r"""Molecules as graphs: SMILES <-> networkx graphs, and the QM9 dataset (offline).

A molecule is a graph of its heavy atoms (hydrogens implicit, as in GDSS and most
molecule-graph generators): node attribute ``"atom"`` is the element symbol with the formal
charge appended (``"C"``, ``"N+"``, ``"O-"``), edge attribute ``"bond"`` the bond order
``1``, ``2`` or ``3`` of the kekulized molecule (aromatic rings become alternating single
and double bonds). With ``GraphCodec(node_attr="atom", edge_attr="bond")`` the bond orders
are coded as the levels 1/3, 2/3, 1 of one adjacency entry per pair (the bond-order
weighted adjacency divided by 3).

Back from a graph, :func:`smiles_from_graphs` builds the molecule with rdkit and sanitizes
it: a graph whose atoms exceed their valence is *invalid* (``None``); hydrogens are added
implicitly to fill the valences. No valency correction is made, so the share of valid
graphs is "validity without correction" (Jo et al., 2022).

rdkit is an optional dependency (``pip install 'skbridge[molecules]'``). QM9 comes from the
``qm9pack`` wheel (MIT, 130,831 molecules of up to 9 heavy atoms, the standard QM9 without
the 3,054 uncharacterised ones), installed with ``pip install --no-deps qm9pack``; nothing is
downloaded at run time.
"""

from __future__ import annotations

import glob
import importlib.util
import os

import numpy as np

from .._base import optional_import
from ._checks import check_graphs, import_networkx
from ._sequence_datasets import _check_positive_int, _default_rng

__all__ = ["graphs_from_smiles", "load_qm9", "qm9_smiles", "smiles_from_graphs"]

_BOND_ORDERS = {1: "SINGLE", 2: "DOUBLE", 3: "TRIPLE"}


def _import_rdkit():
    optional_import("rdkit", "molecules", "molecule conversion and metrics")
    from rdkit import Chem

    return Chem


def _quiet():
    """rdkit's log silenced while the returned object lives (invalid samples are counted,
    not printed)."""
    from rdkit import rdBase

    return rdBase.BlockLogs() if hasattr(rdBase, "BlockLogs") else None


def _atom_label(atom) -> str:
    charge = atom.GetFormalCharge()
    sign = "" if charge == 0 else ("+" if charge > 0 else "-") * abs(charge)
    return atom.GetSymbol() + sign


def _parse_atom_label(label) -> tuple[str, int]:
    if not isinstance(label, str) or not label:
        raise ValueError(f"atom label {label!r} is not an element symbol like 'C' or 'N+'")
    symbol = label.rstrip("+-")
    tail = label[len(symbol) :]
    if not symbol or len(set(tail)) > 1:
        raise ValueError(f"atom label {label!r} is not an element symbol like 'C' or 'N+'")
    return symbol, tail.count("+") - tail.count("-")


def graphs_from_smiles(smiles, *, node_attr="atom", edge_attr="bond"):
    """SMILES strings -> kekulized heavy-atom graphs (see the module docstring).

    Parameters
    ----------
    smiles : list of str
    node_attr, edge_attr : str, default="atom", "bond"
        Names of the atom-label node attribute and the bond-order edge attribute.

    Returns
    -------
    graphs : list of networkx.Graph
        Nodes ``0..k-1`` in the molecule's atom order.

    Raises
    ------
    ValueError
        For a SMILES rdkit cannot parse or kekulize (naming it), or an empty list.
    """
    Chem = _import_rdkit()
    nx = import_networkx()
    if isinstance(smiles, str):
        raise TypeError("smiles must be a list of SMILES strings, got a single string.")
    smiles = list(smiles)
    if not smiles:
        raise ValueError("smiles is empty; at least one SMILES string is needed.")
    graphs = []
    block = _quiet()  # noqa: F841 - silences rdkit until the function returns
    for i, s in enumerate(smiles):
        mol = Chem.MolFromSmiles(s) if isinstance(s, str) and s else None
        if mol is None:
            raise ValueError(f"smiles[{i}] = {s!r} is not a SMILES string rdkit can parse.")
        Chem.Kekulize(mol, clearAromaticFlags=True)
        G = nx.Graph()
        G.add_nodes_from((a.GetIdx(), {node_attr: _atom_label(a)}) for a in mol.GetAtoms())
        for b in mol.GetBonds():
            order = int(b.GetBondTypeAsDouble())
            if order not in _BOND_ORDERS:
                raise ValueError(
                    f"smiles[{i}] = {s!r} has a {b.GetBondType()} bond; only single, double "
                    "and triple bonds are supported."
                )
            G.add_edge(b.GetBeginAtomIdx(), b.GetEndAtomIdx(), **{edge_attr: order})
        graphs.append(G)
    return graphs


def _mol_from_graph(Chem, G, node_attr, edge_attr):
    mol = Chem.RWMol()
    index = {}
    for node, data in G.nodes(data=True):
        symbol, charge = _parse_atom_label(data.get(node_attr))
        atom = Chem.Atom(symbol)
        atom.SetFormalCharge(charge)
        index[node] = mol.AddAtom(atom)
    for u, v, data in G.edges(data=True):
        order = data.get(edge_attr, 1)
        if order not in _BOND_ORDERS:
            raise ValueError(f"bond order {order!r} is not 1, 2 or 3")
        mol.AddBond(index[u], index[v], getattr(Chem.BondType, _BOND_ORDERS[order]))
    return mol.GetMol()


def smiles_from_graphs(graphs, *, node_attr="atom", edge_attr="bond"):
    """Heavy-atom graphs -> canonical SMILES, or ``None`` for a graph that is not a valid
    molecule (an atom over its valence; no correction is made).

    A graph that is not connected gives a dotted SMILES of its fragments. An edge without
    ``edge_attr`` is a single bond. An unknown element symbol raises ValueError (that is a
    wrong ``node_attr``, not an invalid sample); a graph with no nodes is invalid.
    """
    Chem = _import_rdkit()
    graphs = check_graphs(graphs, "graphs")
    out = []
    block = _quiet()  # noqa: F841 - silences rdkit until the function returns
    for G in graphs:
        if G.number_of_nodes() == 0:
            out.append(None)
            continue
        try:
            mol = _mol_from_graph(Chem, G, node_attr, edge_attr)
        except RuntimeError as exc:  # rdkit: unknown element
            raise ValueError(f"cannot build a molecule from {node_attr!r}: {exc}") from exc
        try:
            Chem.SanitizeMol(mol)
        except Exception:  # rdkit raises several sanitization errors (valence, kekulization)
            out.append(None)
            continue
        out.append(Chem.MolToSmiles(mol))
    return out


def _qm9_files():
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "QM9 needs the qm9pack wheel, which ships the data: pip install --no-deps qm9pack "
            "(--no-deps: its own dependencies are not needed to read the data)."
        )
    base = spec.submodule_search_locations[0]
    files = sorted(glob.glob(os.path.join(base, "data", "qm9_part*.csv")))
    if not files:
        raise ImportError(f"qm9pack at {base} has no data/qm9_part*.csv files")
    return files


def qm9_smiles() -> list:
    """All 130,831 QM9 SMILES strings (GDB notation), in file order (needs ``qm9pack``)."""
    import csv

    smiles = []
    for path in _qm9_files():
        with open(path, newline="") as f:
            smiles.extend(row["SMILES"] for row in csv.DictReader(f))
    return smiles


def load_qm9(n_molecules=None, *, random_state=0, return_smiles=False):
    """QM9 molecules (up to 9 heavy atoms: C, N, O, F) as kekulized heavy-atom graphs.

    Parameters
    ----------
    n_molecules : int or None, default=None
        A random subset of this many molecules (without replacement, seeded by
        ``random_state``), in the order drawn; ``None``: all 130,831 in file order.
    random_state : int, Generator or None, default=0
    return_smiles : bool, default=False
        Also return the SMILES strings (as in the files, GDB notation).

    Returns
    -------
    graphs : list of networkx.Graph
        Node attribute ``"atom"``, edge attribute ``"bond"`` (see the module docstring).
    smiles : list of str
        Only with ``return_smiles=True``.

    Examples
    --------
    >>> from skbridge.data import load_qm9  # doctest: +SKIP
    >>> graphs = load_qm9(1000)  # doctest: +SKIP
    """
    smiles = qm9_smiles()
    if n_molecules is not None:
        n_molecules = _check_positive_int(n_molecules, "n_molecules")
        if n_molecules > len(smiles):
            raise ValueError(f"n_molecules={n_molecules}, but QM9 has {len(smiles)} molecules")
        rows = _default_rng(random_state).choice(len(smiles), n_molecules, replace=False)
        smiles = [smiles[r] for r in np.asarray(rows)]
    graphs = graphs_from_smiles(smiles)
    return (graphs, smiles) if return_smiles else graphs
