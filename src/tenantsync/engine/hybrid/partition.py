"""Cutting the permission graph into groups under a hard size cap with the fewest broken
weighted grants, with METIS (through pymetis) doing the cutting.

* Connected components no larger than the cap stay whole.
* A larger component is cut by METIS's multilevel k-way partitioner into
  ``ceil(1.03 · size / cap)`` parts with 3% imbalance allowed, edges weighted by what
  breaking them costs; a part that still exceeds the cap is cut again, so the cap is
  always honoured (a part METIS cannot split at all is split in directory order: a
  fallback for degenerate inputs, counted in the result).
* Parts of one component are then merged, heaviest connection first, while the merged
  size stays within the cap: fewer parts, fewer broken grants.

Nodes are numbered in directory order; edges are (u, v, weight) with u < v, one per pair.
The two references the benchmark compares against are here too: components chunked in
directory order (what migration scripts do today), and METIS without weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pymetis

IntArray = npt.NDArray[np.int64]
IMBALANCE = 30  # METIS ufactor: parts may be 3% above the average size
SEED = 7


@dataclass
class Graph:
    """An undirected weighted graph on ``n`` nodes: one (u < v, weight) per pair."""

    n: int
    u: IntArray
    v: IntArray
    w: IntArray


def build_graph(n: int, a: IntArray, b: IntArray, w: IntArray) -> Graph:
    """The graph of weighted pairs (either order, repeats summed, self-pairs dropped)."""
    keep = a != b
    a, b, w = a[keep], b[keep], w[keep]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo * np.int64(n) + hi
    unique, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse, weights=w).astype(np.int64)
    return Graph(n, unique // n, unique % n, total)


@dataclass
class Partition:
    """A group label per node (0..groups-1), each group within the cap."""

    labels: IntArray
    groups: int
    fallbacks: int = 0


def components(graph: Graph) -> IntArray:
    """The connected component of every node (labelled by its smallest node)."""
    parent = np.arange(graph.n, dtype=np.int64)
    u, v = graph.u, graph.v
    while True:
        pu, pv = parent[u], parent[v]
        differ = pu != pv
        if not differ.any():
            break
        lo, hi = np.minimum(pu[differ], pv[differ]), np.maximum(pu[differ], pv[differ])
        np.minimum.at(parent, hi, lo)
        while True:  # pointer jumping: every node straight to its root
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return parent


def partition(graph: Graph, cap: int, *, weighted: bool = True) -> Partition:
    """Groups of at most ``cap`` nodes cutting as little weight as METIS can."""
    labels = np.full(graph.n, -1, dtype=np.int64)
    comp = components(graph)
    order = np.argsort(comp, kind="stable")
    bounds = np.flatnonzero(np.diff(comp[order])) + 1
    state = _State(labels)
    big: list[IntArray] = []
    for nodes in np.split(order, bounds):
        if len(nodes) <= cap:
            state.label(nodes)
        else:
            big.append(nodes)
    if big:
        csr = _Csr.of(graph)
        parts = [part for nodes in big for part in _cut(csr, nodes, cap, weighted, state)]
        # Parts of different components share no edge: one merge pass serves them all.
        for merged in _merge(graph, parts, cap):
            state.label(merged)
    return Partition(labels, state.next, state.fallbacks)


class _State:
    def __init__(self, labels: IntArray) -> None:
        self.labels = labels
        self.next = 0
        self.fallbacks = 0

    def label(self, nodes: IntArray) -> None:
        self.labels[nodes] = self.next
        self.next += 1


@dataclass
class _Csr:
    """Both directions of every edge, sorted by source, for extracting subgraphs."""

    indptr: IntArray
    target: IntArray
    weight: IntArray

    @classmethod
    def of(cls, graph: Graph) -> _Csr:
        src = np.concatenate([graph.u, graph.v])
        dst = np.concatenate([graph.v, graph.u])
        w = np.concatenate([graph.w, graph.w])
        order = np.argsort(src, kind="stable")
        counts = np.bincount(src, minlength=graph.n)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(indptr, dst[order], w[order])

    def subgraph(self, nodes: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        """xadj, adjncy, eweights of the subgraph on ``nodes`` (renumbered 0..len-1)."""
        local = np.full(len(self.indptr) - 1, -1, dtype=np.int64)
        local[nodes] = np.arange(len(nodes))
        starts, ends = self.indptr[nodes], self.indptr[nodes + 1]
        lengths = ends - starts
        index = np.repeat(starts - np.cumsum(np.concatenate([[0], lengths[:-1]])), lengths)
        index = index + np.arange(lengths.sum())
        targets = local[self.target[index]]
        weights = self.weight[index]
        owner = np.repeat(np.arange(len(nodes)), lengths)
        inside = targets >= 0
        counts = np.bincount(owner[inside], minlength=len(nodes))
        xadj = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return xadj, targets[inside], weights[inside]


def _cut(csr: _Csr, nodes: IntArray, cap: int, weighted: bool, state: _State) -> list[IntArray]:
    """``nodes`` cut by METIS into parts of at most ``cap`` (recursively where needed)."""
    parts = max(2, math.ceil(len(nodes) * (1 + IMBALANCE / 1000) / cap))
    xadj, adjncy, eweights = csr.subgraph(nodes)
    dtype = pymetis.zero_copy_dtype()
    options = pymetis.Options(ufactor=IMBALANCE, seed=SEED)
    result = pymetis.part_graph(
        parts,
        pymetis.CSRAdjacency(adj_starts=xadj.astype(dtype), adjacent=adjncy.astype(dtype)),
        eweights=eweights.astype(dtype) if weighted else None,
        options=options,
    )
    membership = np.asarray(result.vertex_part, dtype=np.int64)
    out: list[IntArray] = []
    for p in np.unique(membership):
        piece = nodes[membership == p]
        if len(piece) <= cap:
            out.append(piece)
        elif len(piece) == len(nodes):
            state.fallbacks += 1  # METIS could not split it: directory order, cap by cap
            out.extend(np.array_split(np.sort(piece), math.ceil(len(piece) / cap)))
        else:
            out.extend(_cut(csr, piece, cap, weighted, state))
    return out


def _merge(graph: Graph, parts: list[IntArray], cap: int) -> list[IntArray]:
    """Parts merged heaviest connection first while the result stays within the cap."""
    if len(parts) < 2:
        return parts
    owner = np.full(graph.n, -1, dtype=np.int64)
    for i, nodes in enumerate(parts):
        owner[nodes] = i
    pu, pv = owner[graph.u], owner[graph.v]
    between = (pu >= 0) & (pv >= 0) & (pu != pv)
    lo = np.minimum(pu[between], pv[between])
    hi = np.maximum(pu[between], pv[between])
    k = len(parts)
    keys, inverse = np.unique(lo * k + hi, return_inverse=True)
    weights = np.bincount(inverse, weights=graph.w[between])
    root = list(range(k))
    size = [len(p) for p in parts]

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    for index in np.argsort(-weights, kind="stable"):
        a, b = find(int(keys[index] // k)), find(int(keys[index] % k))
        if a != b and size[a] + size[b] <= cap:
            root[b] = a
            size[a] += size[b]
    merged: dict[int, list[IntArray]] = {}
    for i, nodes in enumerate(parts):
        merged.setdefault(find(i), []).append(nodes)
    return [np.sort(np.concatenate(group)) for group in merged.values()]


def cut_weight(graph: Graph, labels: IntArray) -> int:
    """The weight of the edges whose ends are in different groups."""
    return int(graph.w[labels[graph.u] != labels[graph.v]].sum())


def cut_count(graph: Graph, labels: IntArray) -> int:
    """How many pairs have their ends in different groups."""
    return int((labels[graph.u] != labels[graph.v]).sum())


def chunked_components(graph: Graph, cap: int) -> IntArray:
    """The reference of today's scripts: connected components, a component larger than the
    cap chunked in directory order."""
    comp = components(graph)
    order = np.lexsort((np.arange(graph.n), comp))
    labels = np.empty(graph.n, dtype=np.int64)
    bounds = np.flatnonzero(np.diff(comp[order])) + 1
    label = 0
    for nodes in np.split(order, bounds):
        for chunk in np.array_split(nodes, max(1, math.ceil(len(nodes) / cap))):
            labels[chunk] = label
            label += 1
    return labels


def pack(sizes: list[int], cap: int) -> list[list[int]]:
    """Items packed into bins of at most ``cap`` (first fit, largest first); item indices."""
    bins: list[list[int]] = []
    room: list[int] = []
    for item in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        for b, left in enumerate(room):
            if sizes[item] <= left:
                bins[b].append(item)
                room[b] -= sizes[item]
                break
        else:
            bins.append([item])
            room.append(cap - sizes[item])
    return bins
