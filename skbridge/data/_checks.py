"""Input checks shared by the codecs, datasets and metrics of graph data."""

from __future__ import annotations

from .._base import optional_import

__all__ = ["import_networkx", "check_graphs"]


def import_networkx():
    return optional_import("networkx", "graphs", "graph data, datasets and metrics")


def check_graphs(graphs, name="graphs", *, single=False):
    """Validate a list (or tuple) of simple undirected ``networkx.Graph`` objects.

    Raises TypeError for a non-list or a non-graph item (naming the first bad one) and
    ValueError for an empty list, directed graphs, multigraphs and self-loops. With
    ``single=True``, ``graphs`` is one graph (checked the same way, returned as a 1-list).
    """
    nx = import_networkx()
    if single:
        graphs = [graphs]
    elif isinstance(graphs, nx.Graph):
        raise TypeError(f"{name} must be a list of networkx graphs, got a single graph.")
    if not isinstance(graphs, list | tuple):
        raise TypeError(f"{name} must be a list of networkx graphs, got {type(graphs).__name__}.")
    if len(graphs) == 0:
        raise ValueError(f"{name} is empty; at least one graph is needed.")
    for i, G in enumerate(graphs):
        label = name if single else f"{name}[{i}]"
        if not isinstance(G, nx.Graph):
            raise TypeError(
                f"{label} is a {type(G).__name__}, not a networkx Graph; "
                + ("it" if single else f"every item of {name}")
                + " must be an undirected networkx.Graph."
            )
        if G.is_directed():
            raise ValueError(
                f"{label} is directed; only undirected graphs are supported: convert it "
                "first with G.to_undirected()."
            )
        if G.is_multigraph():
            raise ValueError(
                f"{label} is a multigraph; convert it to a simple graph first with nx.Graph(G)."
            )
        if nx.number_of_selfloops(G):
            raise ValueError(
                f"{label} has self-loops; remove them first with "
                "G.remove_edges_from(nx.selfloop_edges(G))."
            )
    return list(graphs)
