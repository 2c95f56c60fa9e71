"""Molecule metrics for generated heavy-atom graphs: validity, uniqueness, novelty."""

from __future__ import annotations

__all__ = ["molecule_metrics"]


def molecule_metrics(graphs, train_graphs=None, *, node_attr="atom", edge_attr="bond"):
    """Validity without correction, uniqueness and novelty of generated molecule graphs.

    The graphs are turned into molecules by :func:`skbridge.data.smiles_from_graphs`
    (node attribute: element symbol with formal charge, edge attribute: bond order 1/2/3,
    hydrogens implicit). The definitions follow GDSS (Jo et al., 2022) and MOSES:

    * ``validity``: share of all graphs that rdkit sanitizes (no atom over its valence);
      no valency correction is made;
    * ``uniqueness``: share of distinct canonical SMILES among the valid ones;
    * ``novelty``: share of the valid ones whose canonical SMILES is not in
      ``train_graphs`` (only with ``train_graphs``);
    * ``connected``: share of all graphs that are connected (one fragment), and
      ``valid_connected``: share that are both valid and connected (the stricter validity
      of papers that count a fragmented molecule as invalid).

    Parameters
    ----------
    graphs : list of networkx.Graph
    train_graphs : list of networkx.Graph or None, default=None
    node_attr, edge_attr : str, default="atom", "bond"

    Returns
    -------
    dict
        ``{"validity", "uniqueness", "novelty", "connected", "valid_connected",
        "n_valid"}``; ``uniqueness`` and ``novelty`` are NaN when no graph is valid,
        ``novelty`` too without ``train_graphs``.
    """
    from ..data._checks import import_networkx
    from ..data._molecules import smiles_from_graphs

    nx = import_networkx()
    smiles = smiles_from_graphs(graphs, node_attr=node_attr, edge_attr=edge_attr)
    valid = [s for s in smiles if s is not None]
    n = len(smiles)
    connected = [G.number_of_nodes() > 0 and nx.is_connected(G) for G in graphs]
    out = {
        "validity": len(valid) / n,
        "uniqueness": len(set(valid)) / len(valid) if valid else float("nan"),
        "novelty": float("nan"),
        "connected": sum(connected) / n,
        "valid_connected": sum(s is not None and c for s, c in zip(smiles, connected, strict=True))
        / n,
        "n_valid": len(valid),
    }
    if train_graphs is not None and valid:
        known = set(smiles_from_graphs(train_graphs, node_attr=node_attr, edge_attr=edge_attr))
        out["novelty"] = sum(s not in known for s in valid) / len(valid)
    return out
