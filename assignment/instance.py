"""The assignment instance: one object owns the id ↔ index mapping and the orientation.

Orientation is always (proposals × experts): row ``i`` is ``proposal_ids[i]``, column ``j`` is
``expert_ids[j]``, in the row order of the frames given to :func:`build_instance`.

Shapes (P proposals, E experts, n pairs):

- ``affinity``: (P, E) float in [0, 1], kept as given (float32 or float64, not copied);
- ``k``: (P,) int64, panel size wanted per proposal (the call's default, overridable per lot);
- ``max_load`` / ``min_load``: (E,) int64, total tasks per expert (existing tasks included);
- ``exclusions``: :class:`assignment.conflict_set.Conflicts` in this orientation: every excluded
  pair as integers (the language rule as a (proposal language × expert languages) product, the
  other reasons as rows); ``conflicts`` is its rows ``p, e`` (Int64 indices), ``reason``,
  ``detail``: one row per excluded pair and reason (a pair may have several rows), made when
  asked for;
- ``potential``: frame ``p, e, detail``: one row per potential conflict (a likely but unconfirmed
  organisation match), eligible but avoided by the solvers: each such pair's weight is lowered by
  ``potential_penalty`` affinity units (default 1.0, more than any affinity, so a potential pair
  is used only where the coverage of the demand or the loads need it);
- ``forbidden`` / ``pinned`` / ``existing``: (n, 2) int64 index pairs ``(p, e)``;
- ``nationality`` / ``org`` / ``gender``: (E,) str, ``""`` when unknown;
- ``lots`` / ``first_field``: (P,) str; ``main_field``: optional (P, E) bool.

Pairs are encoded as int64 codes ``p * E + e`` wherever sets of pairs are compared.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from assignment import _sets
from assignment.conflict_set import Conflicts

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.floating[Any]]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

PAIR_COLUMNS = ("proposal_id", "expert_id")
CONFLICT_COLUMNS = ("proposal_id", "expert_id", "reason", "detail")
POTENTIAL_COLUMNS = ("proposal_id", "expert_id", "detail")
POTENTIAL_PENALTY = 1.0  # affinity units off a potential pair's weight: worse than any affinity
_POTENTIAL_SCHEMA = {"p": pl.Int64, "e": pl.Int64, "detail": pl.String}


class InstanceError(ValueError):
    """Bad input for an assignment; the message says what to change."""


def _str_array(values: Any) -> StrArray:
    return np.asarray(["" if v is None else str(v) for v in values], dtype=np.str_)


def _pairs(n: int = 0) -> IntArray:
    return np.zeros((n, 2), dtype=np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class AssignmentInstance:
    """Everything a solver needs, as arrays in (proposals × experts) orientation."""

    proposal_ids: StrArray
    expert_ids: StrArray
    affinity: FloatArray
    k: IntArray
    max_load: IntArray
    min_load: IntArray
    exclusions: Conflicts
    forbidden: IntArray
    pinned: IntArray
    existing: IntArray
    nationality: StrArray
    org: StrArray
    gender: StrArray
    lots: StrArray
    first_field: StrArray
    main_field: BoolArray | None = None
    potential: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_POTENTIAL_SCHEMA))
    potential_penalty: float = POTENTIAL_PENALTY
    # code sets derived once from the fields above (the instance is not changed after it is
    # built): read-only arrays, see :meth:`_derived`
    _memo: dict[str, IntArray] = field(default_factory=dict, init=False, repr=False)
    # held while a set is derived: threads asking at once build it once
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    def __post_init__(self) -> None:
        _validate(self)

    # -- sizes and codes -------------------------------------------------------------------
    @property
    def n_proposals(self) -> int:
        return int(self.proposal_ids.shape[0])

    @property
    def n_experts(self) -> int:
        return int(self.expert_ids.shape[0])

    def codes(self, pairs: IntArray) -> IntArray:
        """(n,) int64 codes ``p * E + e`` of (n, 2) index pairs."""
        return pairs[:, 0].astype(np.int64) * self.n_experts + pairs[:, 1]

    @property
    def conflicts(self) -> pl.DataFrame:
        """Frame ``p, e`` (Int64), ``reason, detail`` (String): one row per excluded pair and
        reason, sorted by ``p, e, reason`` (built from :attr:`exclusions` on each call)."""
        return self.exclusions.indexed_rows()

    def conflict_pairs(self) -> IntArray:
        """(n, 2) distinct conflicted index pairs."""
        codes = self.exclusions.codes()
        if codes.size == 0:
            return _pairs()
        return np.stack([codes // self.n_experts, codes % self.n_experts], axis=1)

    def conflicted_pair_count(self) -> int:
        """How many distinct pairs are conflicted."""
        return self.exclusions.count()

    def potential_codes(self) -> IntArray:
        """Sorted distinct codes of the potential-conflict pairs (the solvers' penalised pairs)."""
        if self.potential.height == 0:
            return np.zeros(0, np.int64)
        return _sets.unique(
            self.potential["p"].to_numpy() * self.n_experts + self.potential["e"].to_numpy()
        )

    def _derived(self, name: str, build: Callable[[], IntArray]) -> IntArray:
        """``build()`` the first time ``name`` is asked for, then the same read-only array (the
        solver, its diagnostics and the explanations all ask for the same code sets)."""
        with self._lock:
            out = self._memo.get(name)
            if out is None:
                out = build()
                out.flags.writeable = False
                self._memo[name] = out
            return out

    def _with_conflicts(self, *pairs: IntArray) -> IntArray:
        """Sorted codes of the conflicted pairs and of ``pairs`` (few: inserted into the
        conflicts' sorted codes, which are not sorted again; read-only when there are none)."""
        conflicted = self.exclusions.codes()
        extra = _sets.difference(_sets.unique(np.concatenate([self.codes(x) for x in pairs])),
                                 conflicted)
        if extra.size == 0:
            return conflicted
        out: IntArray = np.insert(conflicted, np.searchsorted(conflicted, extra), extra)
        return out

    def blocked_codes(self) -> IntArray:
        """Sorted codes of pairs a solver may not choose freely (conflicted, forbidden, existing
        or pinned: the last two are fixed, not chosen)."""
        return self._derived(
            "blocked", lambda: self._with_conflicts(self.forbidden, self.existing, self.pinned))

    def ineligible_codes(self) -> IntArray:
        """Sorted codes of pairs that can never be on a panel (conflicted or forbidden)."""
        return self._derived("ineligible", lambda: self._with_conflicts(self.forbidden))

    def eligible_mask(self) -> BoolArray:
        """(P, E) bool: pairs that may be newly assigned. Dense: for small instances and tests."""
        mask = np.ones((self.n_proposals, self.n_experts), dtype=bool)
        mask.reshape(-1)[self.blocked_codes()] = False
        return mask

    # -- demand and capacity left for the solver -------------------------------------------
    def _count(self, pairs: IntArray, axis: int) -> IntArray:
        size = self.n_proposals if axis == 0 else self.n_experts
        return np.bincount(pairs[:, axis], minlength=size).astype(np.int64)

    @property
    def demand(self) -> IntArray:
        """(P,) experts still wanted per proposal: k minus existing assignments."""
        out: IntArray = np.maximum(self.k - self._count(self.existing, 0), 0)
        return out

    @property
    def free_demand(self) -> IntArray:
        """(P,) slots the solver fills: demand minus pinned pairs."""
        return self.demand - self._count(self.pinned, 0)

    @property
    def free_capacity(self) -> IntArray:
        """(E,) tasks an expert can still take: max_load minus existing and pinned tasks."""
        used = self._count(self.existing, 1) + self._count(self.pinned, 1)
        return np.maximum(self.max_load - used, 0)

    @property
    def free_min_load(self) -> IntArray:
        """(E,) tasks an expert must still get after existing and pinned ones.

        When fixed pairs (existing or pinned) leave fewer open slots than the minimum loads
        still ask for, as in a repair of a published assignment, the minimum loads cannot all
        be met by any solution and are not enforced (see :meth:`warnings`)."""
        used = self._count(self.existing, 1) + self._count(self.pinned, 1)
        rest = np.maximum(self.min_load - used, 0)
        if len(self.fixed_pairs()) and int(rest.sum()) > int(self.free_demand.clip(min=0).sum()):
            return np.zeros_like(rest)
        return rest

    def fixed_pairs(self) -> IntArray:
        """(n, 2) pairs present in every solution: existing then pinned."""
        return np.concatenate([self.existing, self.pinned]).astype(np.int64).reshape(-1, 2)

    def warnings(self) -> list[str]:
        """Problems that leave demand uncovered without making the input invalid."""
        out: list[str] = []
        demand, cap = int(self.free_demand.sum()), int(self.free_capacity.sum())
        if cap < demand:
            out.append(
                f"the experts have {cap} free slots in total but {demand} reviewer slots are "
                f"demanded: raise max_load or add experts ({demand - cap} slots stay empty)"
            )
        used = self._count(self.existing, 1) + self._count(self.pinned, 1)
        rest = int(np.maximum(self.min_load - used, 0).sum())
        if rest and not self.free_min_load.any():
            out.append(
                f"min_load asks for {rest} more tasks but the pinned and existing pairs leave "
                f"{int(self.free_demand.clip(min=0).sum())} open slots: minimum loads are not "
                "enforced in this run"
            )
        return out

    # -- derived instances -------------------------------------------------------------------
    def with_pairs(
        self,
        *,
        existing: IntArray | None = None,
        pinned: IntArray | None = None,
        forbidden: IntArray | None = None,
    ) -> AssignmentInstance:
        """A copy with other existing / pinned / forbidden index pairs."""
        return replace(
            self,
            existing=self.existing if existing is None else existing.astype(np.int64),
            pinned=self.pinned if pinned is None else pinned.astype(np.int64),
            forbidden=self.forbidden if forbidden is None else forbidden.astype(np.int64),
        )

    def pair_indices(self, frame: pl.DataFrame | None, what: str) -> IntArray:
        """(n, 2) index pairs of a frame with ``proposal_id, expert_id``; unknown ids raise."""
        if frame is None or frame.height == 0:
            return _pairs()
        missing = [c for c in PAIR_COLUMNS if c not in frame.columns]
        if missing:
            raise InstanceError(f"the {what} frame needs columns {PAIR_COLUMNS}; missing {missing}")
        p = _lookup(self.proposal_ids, frame["proposal_id"], f"{what}: proposal_id")
        e = _lookup(self.expert_ids, frame["expert_id"], f"{what}: expert_id")
        return np.unique(np.stack([p, e], axis=1), axis=0).astype(np.int64).reshape(-1, 2)

    def ids_in_order(self) -> bool:
        """Whether the proposal and expert ids are strictly increasing (rows and columns in id
        order, as the call-folder frames give them)."""
        return all(ids.size < 2 or bool((ids[1:] > ids[:-1]).all())
                   for ids in (self.proposal_ids, self.expert_ids))

    def pairs_frame(self, pairs: IntArray) -> pl.DataFrame:
        """Frame ``proposal_id, expert_id, affinity`` of (n, 2) index pairs, sorted by ids."""
        p, e = pairs[:, 0], pairs[:, 1]
        in_order = self.ids_in_order()
        if in_order:  # rows and columns in id order: the positions sort as the ids do
            order = np.argsort(p.astype(np.int64) * max(self.n_experts, 1) + e, kind="stable")
            p, e = p[order], e[order]
        frame = pl.DataFrame(
            {  # each id converted once, then gathered (not one Python string per pair)
                "proposal_id": pl.Series(self.proposal_ids.tolist(), dtype=pl.String).gather(p),
                "expert_id": pl.Series(self.expert_ids.tolist(), dtype=pl.String).gather(e),
                "affinity": np.asarray(self.affinity[p, e], dtype=np.float64),
            },
            schema={"proposal_id": pl.String, "expert_id": pl.String, "affinity": pl.Float64},
        )
        return frame if in_order else frame.sort("proposal_id", "expert_id")


def _lookup(ids: StrArray, values: pl.Series, what: str) -> IntArray:
    try:  # an Enum of the ids maps each value to its position in one hashed pass
        codes = values.cast(pl.String).cast(pl.Enum(ids.tolist()), strict=False).to_physical()
        if codes.null_count() == 0:
            return codes.cast(pl.Int64).to_numpy().astype(np.int64)
    except (ValueError, pl.exceptions.PolarsError):  # repeated ids: the search below
        pass
    order = np.argsort(ids)
    vals = np.asarray(values.cast(pl.String).fill_null("").to_list(), dtype=np.str_)
    pos = np.searchsorted(ids, vals, sorter=order)
    pos = np.clip(pos, 0, max(len(ids) - 1, 0))
    found = ids[order[pos]] == vals if len(ids) else np.zeros(len(vals), dtype=bool)
    if not found.all():
        bad = sorted(set(vals[~found].tolist()))[:5]
        raise InstanceError(f"{what} has unknown ids {bad}: use ids present in the input frames")
    return order[pos].astype(np.int64)


def _in_id_order(inst: AssignmentInstance, conflicts: pl.DataFrame) -> bool:
    """Whether ``conflicts`` carries ``p_idx, e_idx`` positions in id order that are this
    instance's rows and columns: its ids are sorted (the frames are in id order) and the
    positions are in range and name the same ids on a sample of rows."""
    if not {"p_idx", "e_idx"} <= set(conflicts.columns):
        return False
    if not inst.ids_in_order():
        return False
    if conflicts["p_idx"].null_count() or conflicts["e_idx"].null_count():
        return False
    p, e = conflicts["p_idx"].to_numpy(), conflicts["e_idx"].to_numpy()
    if p.min() < 0 or e.min() < 0 or p.max() >= inst.n_proposals or e.max() >= inst.n_experts:
        return False
    sample = np.linspace(0, conflicts.height - 1, min(conflicts.height, 64)).astype(np.int64)
    return bool(
        (inst.proposal_ids[p[sample]] == conflicts["proposal_id"].gather(sample)
         .cast(pl.String).to_numpy()).all()
        and (inst.expert_ids[e[sample]] == conflicts["expert_id"].gather(sample)
             .cast(pl.String).to_numpy()).all()
    )


def _oriented(inst: AssignmentInstance, conflicts: Conflicts) -> Conflicts:
    """``conflicts`` in the instance's rows and columns: as they are when the frames are in id
    order (as :func:`assignment.conflicts.conflict_set` orients them), else reordered."""
    if (conflicts.n_proposals, conflicts.n_experts) != (inst.n_proposals, inst.n_experts):
        _fail([f"the conflicts were found for {conflicts.n_proposals} proposals and "
               f"{conflicts.n_experts} experts, but the instance has {inst.n_proposals} and "
               f"{inst.n_experts}: find them on the same proposals and experts"])
    p_ids, e_ids = pl.Series(inst.proposal_ids.tolist(), dtype=pl.String), pl.Series(
        inst.expert_ids.tolist(), dtype=pl.String)
    if p_ids.equals(conflicts.proposal_ids, check_names=False) and e_ids.equals(
            conflicts.expert_ids, check_names=False):
        return conflicts
    p = _lookup(_str_array(conflicts.proposal_ids.to_list()), p_ids, "instance: proposal_id")
    e = _lookup(_str_array(conflicts.expert_ids.to_list()), e_ids, "instance: expert_id")
    return conflicts.taken(p, e)


def _fail(problems: list[str]) -> None:
    if problems:
        raise InstanceError("invalid assignment input:\n- " + "\n- ".join(problems))


def _validate(inst: AssignmentInstance) -> None:
    n_p, n_e = inst.n_proposals, inst.n_experts
    problems: list[str] = []
    if inst.affinity.shape != (n_p, n_e):
        problems.append(
            f"affinity has shape {inst.affinity.shape} but there are {n_p} proposals and "
            f"{n_e} experts: pass a (proposals × experts) matrix in the frames' row order"
        )
        _fail(problems)
    if (inst.exclusions.n_proposals, inst.exclusions.n_experts) != (n_p, n_e):
        _fail([f"the exclusions are of {inst.exclusions.n_proposals} proposals and "
               f"{inst.exclusions.n_experts} experts, but there are {n_p} and {n_e}"])
    for name, ids in (("proposal_id", inst.proposal_ids), ("expert_id", inst.expert_ids)):
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            problems.append(f"{name} values must be unique; repeated: {uniq[counts > 1][:5]}")
        if (ids == "").any():
            problems.append(f"{name} values must be non-empty")
    if inst.affinity.size:
        lo, hi = _value_range(inst.affinity)
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0.0 or hi > 1.0:
            problems.append(f"affinity must be finite and in [0, 1]; found range [{lo}, {hi}]")
    pen = inst.potential_penalty
    if isinstance(pen, bool) or not isinstance(pen, int | float) or not 0 <= pen <= 10:
        problems.append(f"the potential-conflict penalty must be a number in [0, 10]; got {pen!r}")
    if (inst.k < 0).any():
        problems.append("experts per proposal (k) must be >= 0 for every lot")
    if (inst.max_load < 0).any() or (inst.min_load < 0).any():
        problems.append("max_load and min_load must be >= 0")
    over = inst.min_load > inst.max_load
    if over.any():
        problems.append(
            f"min_load exceeds max_load for experts {inst.expert_ids[over][:5].tolist()}: "
            "lower their min_load or raise their max_load"
        )
    _fail(problems)
    _validate_pairs(inst)


_RANGE_BLOCK = 1 << 18  # values per block: 1 MB of float32, in a core's cache


def _value_range(values: np.ndarray) -> tuple[float, float]:
    """The lowest and highest value (NaN when there is one), reading memory once: each block
    is scanned for its minimum, then again from the cache for its maximum."""
    if not values.flags.c_contiguous or values.size <= _RANGE_BLOCK:
        return float(np.min(values)), float(np.max(values))
    flat = values.reshape(-1)  # a view
    blocks = range(0, flat.size, _RANGE_BLOCK)
    lows = np.empty(len(blocks), dtype=flat.dtype)
    highs = np.empty(len(blocks), dtype=flat.dtype)
    for i, start in enumerate(blocks):
        block = flat[start : start + _RANGE_BLOCK]
        lows[i], highs[i] = block.min(), block.max()
    return float(lows.min()), float(highs.max())


def _validate_pairs(inst: AssignmentInstance) -> None:
    problems: list[str] = []
    forbidden = _sets.unique(inst.codes(inst.forbidden))
    for name, pairs in (("pinned", inst.pinned), ("existing", inst.existing)):
        bad = (inst.exclusions.excludes(pairs[:, 0], pairs[:, 1])
               | _sets.member(inst.codes(pairs), forbidden))
        if bad.any():
            p, e = pairs[bad][0]
            problems.append(
                f"{name} pair ({inst.proposal_ids[p]}, {inst.expert_ids[e]}) is conflicted or "
                f"forbidden: remove it from the {name} pairs or lift the exclusion"
            )
    both = np.intersect1d(inst.codes(inst.pinned), inst.codes(inst.existing))
    if both.size:
        problems.append(f"{both.size} pairs are both pinned and existing: list each pair once")
    over_p = inst.free_demand < 0
    if over_p.any():
        problems.append(
            f"proposals {inst.proposal_ids[over_p][:5].tolist()} have more pinned and existing "
            "experts than k: unpin some or raise k for their lot"
        )
    used = np.bincount(inst.fixed_pairs()[:, 1], minlength=inst.n_experts)
    # existing work over max_load is a fact (e.g. a task added by hand) and leaves no free slot;
    # only pinning more than max_load is refused
    pins = np.bincount(inst.pinned[:, 1], minlength=inst.n_experts)
    over_e = (used > inst.max_load) & (pins > 0)
    if over_e.any():
        problems.append(
            f"experts {inst.expert_ids[over_e][:5].tolist()} have more pinned and existing "
            "tasks than max_load: raise their max_load or unpin pairs"
        )
    need = int(inst.free_min_load.sum())
    if need > int(inst.free_demand.clip(min=0).sum()):
        problems.append(
            f"min_load asks for {need} tasks but only {int(inst.free_demand.clip(min=0).sum())} "
            "reviewer slots are open: lower min_load"
        )
    _fail(problems)


def build_instance(
    proposals: pl.DataFrame,
    experts: pl.DataFrame,
    affinity: FloatArray,
    conflicts: pl.DataFrame | Conflicts | None = None,
    *,
    k: int,
    k_by_lot: dict[str, int] | None = None,
    pinned: pl.DataFrame | None = None,
    forbidden: pl.DataFrame | None = None,
    existing: pl.DataFrame | None = None,
    main_field: BoolArray | None = None,
    potential: pl.DataFrame | None = None,
    potential_penalty: float = POTENTIAL_PENALTY,
) -> AssignmentInstance:
    """Build an instance from frames; ``affinity[i, j]`` belongs to proposals row ``i`` and
    experts row ``j`` (keep the frames in the order the affinity was computed in).

    ``proposals``: ``proposal_id``, optional ``lot``, optional ``fields`` (List(String); the
    first field names where to recruit in diagnostics). ``experts``: ``expert_id``, ``max_load``,
    optional ``min_load``, ``nationality``, ``org_id``, ``gender``. ``conflicts``: rows
    ``proposal_id, expert_id, reason, detail``, or :class:`~assignment.conflict_set.Conflicts`
    (:func:`assignment.conflicts.conflict_set`: taken as integers, never as rows). ``pinned`` /
    ``forbidden`` / ``existing``: ``proposal_id, expert_id``. ``potential``: ``proposal_id,
    expert_id, detail`` (potential conflicts, avoided with a penalty of ``potential_penalty``
    affinity units each). ``k`` is the call's panel size; ``k_by_lot`` overrides it per lot.
    """
    problems: list[str] = []
    for name, frame, cols in (
        ("proposals", proposals, ("proposal_id",)),
        ("experts", experts, ("expert_id", "max_load")),
    ):
        miss = [c for c in cols if c not in frame.columns]
        if miss:
            problems.append(f"the {name} frame needs columns {miss}")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        problems.append(f"the `k` parameter of build_instance must be an integer >= 1; got {k!r}")
    _fail(problems)

    n_p = proposals.height
    lots = (
        _str_array(proposals["lot"].to_list())
        if "lot" in proposals.columns
        else np.full(n_p, "", dtype=np.str_)
    )
    k_arr = np.full(n_p, k, dtype=np.int64)
    for lot, lot_k in (k_by_lot or {}).items():
        if not isinstance(lot_k, int) or lot_k < 1:
            _fail([f"k for lot {lot!r} must be an integer >= 1; got {lot_k!r}"])
        k_arr[lots == lot] = lot_k
    first_field = np.full(n_p, "", dtype=np.str_)
    if "fields" in proposals.columns:
        col = proposals["fields"]
        firsts = col.list.first() if col.dtype == pl.List(pl.String) else col.cast(pl.String)
        first_field = _str_array(firsts.to_list())

    def opt(col: str, default: str = "") -> StrArray:
        if col not in experts.columns:
            return np.full(experts.height, default, dtype=np.str_)
        return _str_array(experts[col].cast(pl.String).to_list())

    def ints(col: str) -> IntArray:
        if col not in experts.columns:
            return np.zeros(experts.height, dtype=np.int64)
        return experts[col].fill_null(0).cast(pl.Int64).to_numpy().astype(np.int64)

    base = AssignmentInstance(
        proposal_ids=_str_array(proposals["proposal_id"].to_list()),
        expert_ids=_str_array(experts["expert_id"].to_list()),
        affinity=np.asarray(affinity),
        k=k_arr,
        max_load=ints("max_load"),
        min_load=ints("min_load"),
        exclusions=Conflicts.of_rows(
            proposals["proposal_id"], experts["expert_id"],
            pl.DataFrame(schema={"p": pl.Int64, "e": pl.Int64, "reason": pl.String,
                                 "detail": pl.String}),
        ),
        forbidden=_pairs(),
        pinned=_pairs(),
        existing=_pairs(),
        nationality=opt("nationality"),
        org=opt("org_id"),
        gender=opt("gender"),
        lots=lots,
        first_field=first_field,
        main_field=None if main_field is None else np.asarray(main_field, dtype=bool),
    )
    if base.main_field is not None and base.main_field.shape != base.affinity.shape:
        _fail([f"main_field must have the affinity's shape {base.affinity.shape}"])
    exclusions = base.exclusions
    if isinstance(conflicts, Conflicts):
        exclusions = _oriented(base, conflicts)
    elif conflicts is not None and conflicts.height:
        miss = [c for c in CONFLICT_COLUMNS if c not in conflicts.columns]
        if miss:
            _fail([f"the conflicts frame needs columns {CONFLICT_COLUMNS}; missing {miss}"])
        if _in_id_order(base, conflicts):  # find_conflicts(indices=True): no string lookup
            p = conflicts["p_idx"].to_numpy().astype(np.int64, copy=False)
            e = conflicts["e_idx"].to_numpy().astype(np.int64, copy=False)
        else:
            p = _lookup(base.proposal_ids, conflicts["proposal_id"], "conflicts: proposal_id")
            e = _lookup(base.expert_ids, conflicts["expert_id"], "conflicts: expert_id")
        exclusions = Conflicts.of_rows(
            proposals["proposal_id"], experts["expert_id"],
            pl.DataFrame(
                {
                    "p": p,
                    "e": e,
                    "reason": conflicts["reason"].cast(pl.String).fill_null(""),
                    "detail": conflicts["detail"].cast(pl.String).fill_null(""),
                }
            ),
        )
    potential_frame = base.potential
    if potential is not None and potential.height:
        miss = [c for c in POTENTIAL_COLUMNS if c not in potential.columns]
        if miss:
            _fail([f"the potential frame needs columns {POTENTIAL_COLUMNS}; missing {miss}"])
        potential_frame = pl.DataFrame(
            {
                "p": _lookup(base.proposal_ids, potential["proposal_id"], "potential: proposal_id"),
                "e": _lookup(base.expert_ids, potential["expert_id"], "potential: expert_id"),
                "detail": potential["detail"].cast(pl.String).fill_null(""),
            },
            schema=_POTENTIAL_SCHEMA,
        ).sort("p", "e", "detail")
    # one more instance, validated once (the pair lookups need only the ids)
    return replace(
        base,
        exclusions=exclusions,
        potential=potential_frame,
        potential_penalty=potential_penalty,
        forbidden=base.pair_indices(forbidden, "forbidden"),
        pinned=base.pair_indices(pinned, "pinned"),
        existing=base.pair_indices(existing, "existing"),
    )
