"""The min-cost flow network shared by the solvers, its node potentials and the certificate.

Nodes: 0 source, 1 sink, ``2 + p`` proposals (P), ``2 + P + e`` experts (E), then diversity
gadget nodes ``(p, group)`` per level. Arcs, all built from numpy arrays in one call:

- source → proposal, capacity ``demand[p]`` (flow units);
- source → sink bypass, cost 0: unfilled slots (partial coverage);
- per level of the diversity chain: parent → (p, group), a first expert free (``unit``) and the
  rest at ``penalty`` per flow unit;
- (proposal | deepest gadget) → expert, capacity ``pair_cap``, cost ``-(bonus + w[p, e])``
  (``w`` lowered by ``penalty`` on potential-conflict pairs, so they are avoided, not excluded);
- expert → sink, capacity ``capacity[e] - low[e]``: the lower load ``low[e]`` is imposed exactly
  by the lower-bound transform (supply ``-low[e]`` at the expert, ``+low[e]`` at the sink).

Weights ``w`` are affinities × ``SCALE`` rounded to int64 (OR-Tools truncates float costs). The
``bonus`` per unit of flow exceeds any weight difference, so a minimum-cost flow first covers as
many slots as possible, then maximises weight.

With ``exact`` every slot must be filled: no bypass arc and no bonus (the supplies are met
exactly or the solver reports the network infeasible, :class:`Uncoverable`). When every slot can
be filled, both formulations have the same optima; the exact one has a cost range about 10^4
times smaller, which the cost-scaling solver takes 2-3 times less time on.

Potentials ``d`` (shortest distances in the residual graph from a virtual root) prove optimality:
every residual arc has reduced cost ``c + d[tail] - d[head] >= 0``. An arc left out of a candidate
set is certified when its reduced cost is >= 0 as well (LP complementary slackness).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from assignment.instance import AssignmentInstance, FloatArray, InstanceError, IntArray

SCALE = 1_000_000  # integer cost units per unit of affinity


class SolverFailure(RuntimeError):
    """The flow solver returned a status other than OPTIMAL for a well-formed network."""


class Uncoverable(Exception):
    """An ``exact`` network cannot fill every slot (or meet every minimum load)."""


@dataclass(frozen=True, slots=True)
class FlowSpec:
    """Demand and capacities in flow units; ``unit`` flow units make one expert."""

    demand: IntArray  # (P,)
    capacity: IntArray  # (E,)
    low: IntArray  # (E,)
    unit: int = 1
    pair_cap: int = 1
    levels: tuple[IntArray, ...] = ()  # (E,) nested group code per diversity level
    penalties: tuple[int, ...] = ()  # cost per flow unit beyond the first expert of a group
    boost: FloatArray | None = None  # (P,) weight multiplier per proposal (fair mode), >= 1
    exact: bool = False  # fill every slot: no bypass arc, no coverage bonus
    penalised: IntArray | None = None  # sorted codes p * E + e of potential-conflict pairs
    penalty: int = 0  # cost units taken off a penalised pair's weight

    def pair_weights(self, affinity: FloatArray, p: IntArray, codes: IntArray) -> IntArray:
        """(n,) int64 weights of pairs with affinities ``affinity``, proposal indices ``p`` and
        pair codes ``codes``; penalised pairs weigh ``penalty`` less (possibly below 0)."""
        if self.boost is None:
            w = weights(affinity)
        else:
            scaled = np.asarray(affinity, dtype=np.float64) * self.boost[p]
            w = np.rint(scaled * SCALE).astype(np.int64)
        if self.penalty and self.penalised is not None and self.penalised.size:
            pos = np.clip(np.searchsorted(self.penalised, codes), 0, self.penalised.size - 1)
            w = w - self.penalty * (self.penalised[pos] == codes)
        return w

    @property
    def bonus(self) -> int:
        if self.exact:
            return 0
        top = 1.0 if self.boost is None else float(self.boost.max(initial=1.0))
        # a weight spans [-penalty, SCALE * top]: the bonus exceeds any difference of weights
        per_unit = int(np.ceil(SCALE * top)) + sum(self.penalties) + self.penalty
        return int(self.demand.sum()) * per_unit + 1


@dataclass(frozen=True, slots=True)
class NetworkSolution:
    cand: IntArray  # (n,) sorted candidate pair codes p * E + e
    flow: IntArray  # (n,) flow on each candidate pair arc
    potential: IntArray  # (nodes,) residual shortest distances d
    level_keys: tuple[tuple[IntArray, IntArray, int], ...]  # per level: sorted keys, nodes, G
    cost: int


def weights(affinity_rows: FloatArray) -> IntArray:
    return np.rint(np.asarray(affinity_rows, dtype=np.float64) * SCALE).astype(np.int64)


def solve_network(
    inst: AssignmentInstance, spec: FlowSpec, cand: IntArray, *, with_potentials: bool = True
) -> NetworkSolution:
    """Min-cost flow on the candidate pairs ``cand`` (sorted codes); the node potentials that
    certify it are computed unless ``with_potentials`` is False (then all zero)."""
    n_p, n_e = inst.n_proposals, inst.n_experts
    cp, ce = cand // n_e, cand % n_e
    w = spec.pair_weights(inst.affinity[cp, ce], cp, cand)
    bonus = spec.bonus
    tails: list[IntArray] = []
    heads: list[IntArray] = []
    caps: list[IntArray] = []
    costs: list[IntArray] = []

    def add(t: IntArray, h: IntArray, c: IntArray, u: IntArray) -> None:
        tails.append(t.astype(np.int64))
        heads.append(h.astype(np.int64))
        caps.append(c.astype(np.int64))
        costs.append(u.astype(np.int64))

    total = int(spec.demand.sum())
    prop_nodes = 2 + np.arange(n_p, dtype=np.int64)
    exp_nodes = 2 + n_p + np.arange(n_e, dtype=np.int64)
    add(np.zeros(n_p, np.int64), prop_nodes, spec.demand, np.zeros(n_p, np.int64))
    if not spec.exact:
        add(np.array([0]), np.array([1]), np.array([total]), np.array([0]))
    parent = 2 + cp
    next_node = 2 + n_p + n_e
    level_keys: list[tuple[IntArray, IntArray, int]] = []
    for codes, penalty in zip(spec.levels, spec.penalties, strict=True):
        groups = int(codes.max()) + 1 if codes.size else 1
        key = cp * groups + codes[ce]
        uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
        nodes = next_node + np.arange(uniq.size, dtype=np.int64)
        next_node += uniq.size
        pdem = spec.demand[uniq // groups]
        first_cap = np.minimum(spec.unit, pdem)
        zero = np.zeros(uniq.size, np.int64)
        add(parent[first], nodes, first_cap, zero)
        add(parent[first], nodes, pdem - first_cap, zero + penalty)
        parent = nodes[inv.reshape(-1)]
        level_keys.append((uniq, nodes, groups))
    n_fixed = sum(t.size for t in tails)
    add(parent, 2 + n_p + ce, np.full(cand.size, spec.pair_cap), -(bonus + w))
    add(exp_nodes, np.ones(n_e, np.int64), spec.capacity - spec.low, np.zeros(n_e, np.int64))

    tail, head = np.concatenate(tails), np.concatenate(heads)
    cap, cost = np.concatenate(caps), np.concatenate(costs)
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tail, head, cap, cost)
    supply = np.zeros(next_node, np.int64)
    supply[0] = total
    supply[1] = -total + int(spec.low.sum())
    supply[exp_nodes] -= spec.low
    smcf.set_nodes_supplies(np.arange(next_node, dtype=np.int64), supply)
    status = smcf.solve()
    if status == smcf.OPTIMAL:
        pass
    elif status == smcf.INFEASIBLE and spec.exact:
        raise Uncoverable
    elif status == smcf.INFEASIBLE:
        capped = " or raise q (each pair's probability cap)" if spec.pair_cap < spec.unit else ""
        raise InstanceError(
            "the minimum loads cannot all be met with the eligible pairs: lower min_load of "
            f"experts with few eligible proposals, or lift forbidden pairs{capped}"
        )
    elif status == smcf.BAD_COST_RANGE or status == smcf.BAD_CAPACITY_RANGE:
        raise SolverFailure(
            f"flow network too large for exact integer costs (status {status}): split the call "
            "by lot and assign each lot separately"
        )
    else:  # NOT_SOLVED, UNBALANCED, BAD_RESULT, FEASIBLE: not expected on a balanced network
        raise SolverFailure(f"min-cost flow solver returned status {status}")
    flow = smcf.flows(np.arange(tail.size, dtype=np.int64)).astype(np.int64)
    pot = (
        potentials(next_node, tail, head, cap, cost, flow)
        if with_potentials
        else np.zeros(next_node, np.int64)
    )
    pair_flow = flow[n_fixed : n_fixed + cand.size]
    return NetworkSolution(cand, pair_flow, pot, tuple(level_keys), int(smcf.optimal_cost()))


def potentials(
    n_nodes: int, tail: IntArray, head: IntArray, cap: IntArray, cost: IntArray, flow: IntArray
) -> IntArray:
    """Shortest distances from a virtual root (0 to every node) in the residual graph.

    Vectorised Bellman–Ford that only relaxes arcs leaving nodes improved in the last pass.
    """
    fwd, bwd = flow < cap, flow > 0
    rt = np.concatenate([tail[fwd], head[bwd]])
    rh = np.concatenate([head[fwd], tail[bwd]])
    rc = np.concatenate([cost[fwd], -cost[bwd]])
    order = np.argsort(rt, kind="stable")
    rt, rh, rc = rt[order], rh[order], rc[order]
    start = np.searchsorted(rt, np.arange(n_nodes + 1))
    dist = np.zeros(n_nodes, np.int64)
    active = np.nonzero(np.bincount(rt, minlength=n_nodes) > 0)[0]
    for _ in range(n_nodes + 1):
        if active.size == 0:
            return dist
        # arcs leaving active nodes (rt sorted): gather their index ranges; an arc's tail is
        # its range's node, so its distance is repeated rather than gathered
        lens = start[active + 1] - start[active]
        idx = np.repeat(start[active] - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())
        cand = np.repeat(dist[active], lens) + rc[idx]
        heads = rh[idx]
        better = cand < dist[heads]
        if not better.any():
            return dist
        new = dist.copy()
        np.minimum.at(new, heads[better], cand[better])
        active = np.nonzero(new < dist)[0]
        dist = new
    raise SolverFailure("negative cycle in the residual graph: the flow is not optimal")


def pair_reduced_costs(
    inst: AssignmentInstance, spec: FlowSpec, sol: NetworkSolution, p: IntArray, e: IntArray
) -> IntArray:
    """(n,) reduced cost of adding the pair arcs p → e (entry: the deepest existing gadget node)."""
    entry = 2 + p
    for codes, (uniq, nodes, groups) in zip(spec.levels, sol.level_keys, strict=True):
        if uniq.size == 0:
            continue
        key = p * groups + codes[e]
        pos = np.clip(np.searchsorted(uniq, key), 0, uniq.size - 1)
        hit = uniq[pos] == key
        entry = np.where(hit, nodes[pos], entry)
    cost = -(spec.bonus + spec.pair_weights(inst.affinity[p, e], p, p * inst.n_experts + e))
    out: IntArray = cost + sol.potential[entry] - sol.potential[2 + inst.n_proposals + e]
    return out


def lowest_entry_potential(inst: AssignmentInstance, sol: NetworkSolution) -> IntArray:
    """(P,) lowest potential among a proposal's node and its gadget nodes: with it,
    ``-(bonus + w) + low[p] - d[e] >= 0`` proves a pair arc cannot have negative reduced cost."""
    n_p = inst.n_proposals
    low = sol.potential[2 : 2 + n_p].copy()
    for uniq, nodes, groups in sol.level_keys:
        np.minimum.at(low, uniq // groups, sol.potential[nodes])
    return low
