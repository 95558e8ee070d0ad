"""Dependent rounding of a fractional bipartite b-matching (Gandhi et al., JACM 2006).

Input: pairs as (n,) proposal and expert indices and integer fractions ``x`` in ``[0, S]`` (the
probability of each pair is ``x / S``). Output: (n,) bool, pairs sampled. Every pair is chosen with
probability exactly ``x / S``; every node's degree becomes the floor or ceiling of its fractional
degree (so integral demands are met exactly and loads never exceed the fractional load rounded up).
Integer arithmetic throughout, so marginals carry no floating-point drift.
"""

from __future__ import annotations

import numpy as np

from assignment.instance import IntArray


def dependent_round(
    p: IntArray, e: IntArray, x: IntArray, scale: int, rng: np.random.Generator
) -> np.ndarray:
    n_p = int(p.max(initial=-1)) + 1
    u = p.tolist()
    v = (e + n_p).tolist()
    val = [int(t) for t in x.tolist()]
    n_nodes = n_p + int(e.max(initial=-1)) + 1
    adj: list[set[int]] = [set() for _ in range(n_nodes)]
    for i, t in enumerate(val):
        if 0 < t < scale:
            adj[u[i]].add(i)
            adj[v[i]].add(i)
    leaves = {n for n in range(n_nodes) if len(adj[n]) == 1}
    pending = [n for n in range(n_nodes) if adj[n]]

    def other(i: int, node: int) -> int:
        return int(v[i]) if u[i] == node else int(u[i])

    def settle(edges: list[int]) -> None:
        even, odd = edges[0::2], edges[1::2]
        alpha = min(min(scale - val[i] for i in even), min((val[i] for i in odd), default=scale))
        beta = min(min(val[i] for i in even), min((scale - val[i] for i in odd), default=scale))
        step = alpha if int(rng.integers(alpha + beta)) < beta else -beta
        for i in even:
            val[i] += step
        for i in odd:
            val[i] -= step
        for i in edges:
            if val[i] in (0, scale):
                for node in (u[i], v[i]):
                    adj[node].discard(i)
                    if len(adj[node]) == 1:
                        leaves.add(node)
                    else:
                        leaves.discard(node)

    while True:
        if leaves:
            start = leaves.pop()
            if not adj[start]:
                continue
            leaves.add(start)
        else:
            while pending and not adj[pending[-1]]:
                pending.pop()
            if not pending:
                break
            start = pending[-1]
        nodes: list[int] = [start]
        edges: list[int] = []
        pos = {start: 0}
        while True:
            cur = nodes[-1]
            last = edges[-1] if edges else -1
            nxt_edge = next((i for i in adj[cur] if i != last), -1)
            if nxt_edge < 0:
                if len(adj[nodes[0]]) > 1:  # extend the other way from the start first
                    nodes.reverse()
                    edges.reverse()
                    pos = {node: j for j, node in enumerate(nodes)}
                    continue
                settle(edges)  # maximal path: both ends have a single fractional edge
                break
            nxt = other(nxt_edge, cur)
            if nxt in pos:  # even cycle (bipartite): round it, keep the walk before it
                at = pos[nxt]
                settle([*edges[at:], nxt_edge])
                for node in nodes[at + 1 :]:
                    del pos[node]
                del nodes[at + 1 :], edges[at:]
                if not adj[nxt]:
                    break
                continue
            pos[nxt] = len(nodes)
            nodes.append(nxt)
            edges.append(nxt_edge)
    chosen: np.ndarray = np.asarray(val, dtype=np.int64) == scale
    return chosen
