"""Why proposals could not get their k experts, in words a call manager can act on.

Given a maximum-coverage assignment (new pairs, (n, 2) index array), the residual graph of its
flow tells which slots can never be filled: the nodes reachable from proposals with open slots,
alternating between an eligible expert not on the proposal's panel and the proposals that expert
already reviews, form the source side of the minimum cut nearest the source. By Hall's theorem
each connected part of it is a deficient set: its proposals demand more than the capacity of
every expert eligible for them, and no smaller set explains the same open slots. Every proposal
in such a set is short in some maximum assignment; proposals outside are full in all of them.

Returns a frame ``proposal_id, missing, reason`` (String, Int64, String) and one message per set.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl

from assignment import _sets
from assignment.instance import AssignmentInstance, IntArray

SHORTFALL_SCHEMA = {"proposal_id": pl.String, "missing": pl.Int64, "reason": pl.String}


def _names(ids: list[str], noun: str, limit: int = 5) -> str:
    shown = ids[:limit]
    if len(ids) > limit:
        return f"{len(ids)} {noun} ({', '.join(shown)}, …)"
    return ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0]


def _eligible_rows(inst: AssignmentInstance, rows: IntArray, blocked: IntArray) -> np.ndarray:
    """(len(rows), E) bool: pairs that can be newly assigned (``blocked``: sorted codes)."""
    n_e = inst.n_experts
    mask = np.ones((rows.size, n_e), dtype=bool)
    owner, codes = _sets.in_rows(blocked, n_e, rows)
    mask[owner, codes % n_e] = False
    return mask


def deficient_sets(
    inst: AssignmentInstance, new_pairs: IntArray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(P,) reachable proposals, (E,) reachable experts, (P,) and (E,) component labels."""
    n_p, n_e = inst.n_proposals, inst.n_experts
    short = inst.free_demand - np.bincount(new_pairs[:, 0], minlength=n_p)
    blocked = inst.blocked_codes()
    by_expert = new_pairs[np.argsort(new_pairs[:, 1], kind="stable")]
    seen_p = short > 0
    seen_e = np.zeros(n_e, dtype=bool)
    frontier = np.nonzero(seen_p)[0]
    edges_p: list[IntArray] = []
    edges_e: list[IntArray] = []
    # proposals eligible with more than half the experts share an expert with each other: they,
    # and every expert eligible with one of them, are one component, joined through one extra
    # node (``hub``) instead of an edge per eligible pair
    hub = n_p + n_e
    on_hub = np.zeros(n_e, dtype=bool)
    while frontier.size:
        elig = _eligible_rows(inst, frontier, blocked)
        # a proposal cannot take an expert already on its panel (no residual capacity)
        row_of = np.full(n_p, -1)
        row_of[frontier] = np.arange(frontier.size)
        own = new_pairs[row_of[new_pairs[:, 0]] >= 0]
        elig[row_of[own[:, 0]], own[:, 1]] = False
        reached = elig.any(axis=0)
        dense = np.count_nonzero(elig, axis=1) * 2 > n_e
        if dense.any():
            on_hub |= elig[dense].any(axis=0)
            edges_p.append(frontier[dense])
            edges_e.append(np.full(int(dense.sum()), hub - n_p, dtype=np.int64))
        fp, fe = np.nonzero(elig[~dense])
        edges_p.append(frontier[~dense][fp])
        edges_e.append(fe.astype(np.int64))
        new_e = np.flatnonzero(reached & ~seen_e)
        seen_e[new_e] = True
        is_new = np.zeros(n_e, dtype=bool)
        is_new[new_e] = True
        sel = is_new[by_expert[:, 1]]
        edges_p.append(by_expert[sel, 0])
        edges_e.append(by_expert[sel, 1])
        nxt = _sets.unique(by_expert[sel, 0])
        frontier = nxt[~seen_p[nxt]]
        seen_p[frontier] = True
    comp_p = np.full(n_p, -1)
    comp_e = np.full(n_e, -1)
    if edges_p or seen_p.any():
        hubbed = np.flatnonzero(on_hub)
        ep = np.concatenate([*edges_p, np.full(hubbed.size, hub, dtype=np.int64)])
        ee = np.concatenate([*edges_e, hubbed])
        from scipy.sparse import coo_matrix  # only runs when some demand is short
        from scipy.sparse.csgraph import connected_components

        # the hub is the last node: components are labelled in the order of their first node,
        # so the labels are those of the graph with an edge per eligible pair
        shape = (n_p + n_e + 1, n_p + n_e + 1)
        graph = coo_matrix((np.ones(ep.size), (ep, n_p + ee)), shape=shape)
        _, labels = connected_components(graph, directed=False)
        comp_p = np.where(seen_p, labels[:n_p], -1)
        comp_e = np.where(seen_e, labels[n_p:hub], -1)
    return seen_p, seen_e, comp_p, comp_e


def _no_expert_reason(inst: AssignmentInstance, p: int) -> str:
    name, field = inst.proposal_ids[p], inst.first_field[p]
    where = f" in field {field}" if field else ""
    if inst.n_experts == 0:
        return f"{name} has no eligible expert: the expert pool is empty; add experts{where}"
    reasons = Counter(inst.exclusions.rows_of(p)["reason"].to_list())
    n_forbidden = int((inst.forbidden[:, 0] == p).sum())
    if n_forbidden:
        reasons["forbidden pair"] += n_forbidden
    on_panel = int((inst.fixed_pairs()[:, 0] == p).sum())
    parts = [f"{r or 'conflict'} ({n})" for r, n in reasons.most_common(3)]
    if on_panel:
        parts.append(f"already on its panel ({on_panel})")
    return (
        f"{name} has no eligible expert left: all {inst.n_experts} experts are excluded, by "
        f"{'; '.join(parts)}; add experts{where} without these conflicts"
    )


def diagnose(inst: AssignmentInstance, new_pairs: IntArray) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Shortfalls of a maximum-coverage assignment and one message per deficient set."""
    n_p = inst.n_proposals
    short = inst.free_demand - np.bincount(new_pairs[:, 0], minlength=n_p)
    if not (short > 0).any():
        return pl.DataFrame(schema=SHORTFALL_SCHEMA), ()
    seen_p, _seen_e, comp_p, comp_e = deficient_sets(inst, new_pairs)
    loads = np.bincount(inst.fixed_pairs()[:, 1], minlength=inst.n_experts) + np.bincount(
        new_pairs[:, 1], minlength=inst.n_experts
    )
    rows: list[tuple[str, int, str]] = []
    messages: list[str] = []
    for label in np.unique(comp_p[(short > 0) & seen_p]):
        group = np.nonzero(comp_p == label)[0]
        lacking = group[short[group] > 0]
        experts = np.nonzero(comp_e == label)[0]
        if experts.size == 0:
            for p in lacking:
                msg = _no_expert_reason(inst, int(p))
                messages.append(msg)
                rows.append((str(inst.proposal_ids[p]), int(short[p]), msg))
            continue
        need = int(short[lacking].sum())
        free = int((inst.max_load[experts] - loads[experts]).clip(min=0).sum())
        fields = Counter(f for f in inst.first_field[group].tolist() if f)
        where = f" in field {fields.most_common(1)[0][0]}" if fields else ""
        others = group.size - lacking.size
        lacking_names = _names(inst.proposal_ids[lacking].tolist(), "proposals")
        msg = (
            f"{lacking_names} need{'s' if lacking.size == 1 else ''}"
            f" {need} more expert{'s' if need != 1 else ''}; only "
            f"{_names(inst.expert_ids[experts].tolist(), 'experts')} "
            f"{'is' if experts.size == 1 else 'are'} eligible and not already on "
            f"{'its' if lacking.size == 1 else 'their'} panel"
            f"{'' if lacking.size == 1 else 's'}, with {free} free slot{'s' if free != 1 else ''}"
            f" (max_load {int(inst.max_load[experts].sum())} in total"
            + (
                f", also needed by {others} other proposal{'s' if others != 1 else ''}"
                if others
                else ""
            )
            + f"); raise their max_load or add experts{where}"
        )
        messages.append(msg)
        rows.extend((str(inst.proposal_ids[p]), int(short[p]), msg) for p in lacking)
    frame = pl.DataFrame(rows, schema=SHORTFALL_SCHEMA, orient="row").sort("proposal_id")
    return frame, tuple(messages)


def at_risk(inst: AssignmentInstance, new_pairs: IntArray) -> np.ndarray:
    """(P,) bool: proposals with demand that are short in some maximum-coverage assignment."""
    seen_p, _, _, _ = deficient_sets(inst, new_pairs)
    return seen_p & (inst.free_demand > 0)
