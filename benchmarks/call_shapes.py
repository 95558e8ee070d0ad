"""A family of call shapes for ``benchmarks/assign_process.py --family``.

Every case starts from one generated call (``fixtures.generate.write_call`` at P × E, with a dense
``affinity.parquet`` of the computed affinity, see ``assign_process.write_folder``) and changes
one factor, or a few for the combined ``issue`` case, so that each factor varies at least once
against the ``base`` case without the full cartesian product:

- organisation naming: ids as generated (about 1 % missing); ``ids-third``: ids removed on a
  third of the partner rows and experts; ``numbered``: organisations renamed "Organisation N
  University", N <= 15,000 (many names that differ only by a number);
- loads: as generated (capacity 1.14 × the slots at k = 3); ``loose`` (every max_load doubled);
  ``tight`` (max_load scaled to 1.02 × the slots: most experts end at their maximum);
- affinity: the computed, topic-structured one; ``noise``: 0.5 + 0.05 × uniform noise, where a
  candidate set chosen by affinity is weak;
- ``languages``: 60 % of proposals in English, the rest in fr/de/es/it; 90 % of experts read
  English, each two of the four others (about a fifth of all pairs are language conflicts);
- ``k2``, ``k5`` (loads scaled to keep the base's capacity per slot);
- minimum loads: as generated (1,521 tasks); ``min-off`` (none); ``min-high`` (every expert at
  least min(4, max_load) tasks, 7,600 of the 15,000 slots);
- ``reassign``: 85 % of the base solution's pairs existing, 3 % pinned (``existing.csv`` and
  ``pinned.csv`` beside the call folder), the solver fills the other 12 %;
- ``issue``: the shape a new user tried (issue 14): numbered names, ids missing on a third of the
  rows, tight loads.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

ORGANISATIONS = 15_000


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    what: str
    k: int = 3
    names: str = "generated"  # generated | ids-third | numbered | numbered+ids-third
    loads: str = "generated"  # generated | loose | tight
    affinity: str = "topics"  # topics | noise
    languages: str = "generated"  # generated | mix
    min_load: str = "generated"  # generated | off | high
    reassign: bool = False


CASES = (  # in the order they are run: the base case, then one factor each, then the combined
    Case("base", "the generated call as it is"),
    Case("tight", "capacity 1.02 x slots", loads="tight"),
    Case("noise", "near-uniform noise affinity", affinity="noise"),
    Case("languages", "a fifth of pairs language conflicts", languages="mix"),
    Case("k2", "k = 2", k=2),
    Case("k5", "k = 5, loads scaled", k=5),
    Case("min-off", "no minimum loads", min_load="off"),
    Case("min-high", "minimum loads min(4, max_load)", min_load="high"),
    Case("reassign", "85 % existing, 3 % pinned", reassign=True),
    Case("ids-third", "org ids missing on a third of rows", names="ids-third"),
    Case("numbered", "15,000 names differing by a number", names="numbered"),
    Case("loose", "max_load doubled", loads="loose"),
    Case("issue", "numbered + ids-third + tight", names="numbered+ids-third", loads="tight"),
)


def _read(folder: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(folder / f"{name}.csv", infer_schema=False)


def _write(frame: pl.DataFrame, folder: Path, name: str) -> None:
    frame.write_csv(folder / f"{name}.csv", line_terminator="\n")


def _drop_ids(frame: pl.DataFrame, rng: np.random.Generator, share: float) -> pl.DataFrame:
    drop = pl.Series(rng.random(frame.height) < share)
    return frame.with_columns(org_id=pl.when(drop).then(None).otherwise(pl.col("org_id")))


def _numbered(partners: pl.DataFrame, experts: pl.DataFrame,
              rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Partner row i is "Organisation N University" with N = i mod 15,000 + 1, each expert's
    organisation a random N (as ``assign_process.name_organisations``)."""
    partners = partners.with_columns(
        org_name=pl.format("Organisation {} University", pl.int_range(pl.len()) % ORGANISATIONS + 1)
    )
    picks = pl.Series(rng.integers(1, ORGANISATIONS + 1, experts.height))
    experts = experts.with_columns(
        org_name=pl.when(pl.col("org_name").is_not_null())
        .then(pl.format("Organisation {} University", picks))
    )
    return partners, experts


def _scale_loads(experts: pl.DataFrame, capacity: float) -> pl.DataFrame:
    """max_load scaled so that the experts' capacity is about ``capacity`` tasks."""
    max_load = experts["max_load"].cast(pl.Int64).to_numpy()
    factor = capacity / max_load.sum()
    scaled = np.maximum(1, np.floor(max_load * factor + 0.5)).astype(np.int64)
    return experts.with_columns(
        max_load=pl.Series(scaled).cast(pl.String),
        min_load=pl.Series(np.minimum(experts["min_load"].cast(pl.Int64).to_numpy(), scaled))
        .cast(pl.String),
    )


def _languages(proposals: pl.DataFrame, experts: pl.DataFrame,
               rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    others = np.array(["fr", "de", "es", "it"])
    n_p, n_e = proposals.height, experts.height
    language = np.where(rng.random(n_p) < 0.6, "en", others[rng.integers(0, 4, n_p)])
    two = np.argsort(rng.random((n_e, 4)), axis=1)[:, :2]
    english = rng.random(n_e) < 0.9
    reads = [";".join((["en"] if english[i] else []) + others[two[i]].tolist()) for i in range(n_e)]
    return (proposals.with_columns(language=pl.Series(language.tolist())),
            experts.with_columns(languages=pl.Series(reads)))


def _noise_parquet(base: Path, out: Path, seed: int) -> None:
    frame = pl.read_parquet(base)
    rng = np.random.default_rng(seed)
    noise = 0.5 + 0.05 * rng.random(frame.height)
    frame.with_columns(affinity=pl.Series(noise)).write_parquet(out)


def write_case(base: Path, case: Case, out: Path, seed: int) -> Path:
    """The call folder of ``case`` at ``out / "call"`` (plus ``existing.csv`` and
    ``pinned.csv`` beside it for a reassignment), from the base folder ``base``; returns it."""
    rng = np.random.default_rng(seed)
    folder = out / "call"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copy(base / "call.toml", folder / "call.toml")
    proposals, partners, experts, conflicts = (
        _read(base, n) for n in ("proposals", "partners", "experts", "conflicts"))
    if "numbered" in case.names:
        partners, experts = _numbered(partners, experts, rng)
    if "ids-third" in case.names:
        partners, experts = _drop_ids(partners, rng, 1 / 3), _drop_ids(experts, rng, 1 / 3)
        # a declared conflict naming an organisation id nobody has any more is invalid input
        known = pl.concat([partners["org_id"], experts["org_id"]]).drop_nulls().implode()
        conflicts = conflicts.filter(pl.col("org_id").is_null() | pl.col("org_id").is_in(known))
    _write(conflicts, folder, "conflicts")
    slots = proposals.height * case.k
    if case.loads == "loose":
        experts = experts.with_columns(
            max_load=(pl.col("max_load").cast(pl.Int64) * 2).cast(pl.String))
    elif case.loads == "tight":
        experts = _scale_loads(experts, 1.02 * slots)
    elif case.k != 3:  # keep the base's capacity per slot
        capacity = experts["max_load"].cast(pl.Int64).sum() * case.k / 3
        experts = _scale_loads(experts, capacity)
    if case.min_load == "off":
        experts = experts.with_columns(min_load=pl.lit("0"))
    elif case.min_load == "high":
        experts = experts.with_columns(
            min_load=pl.min_horizontal(pl.col("max_load").cast(pl.Int64), 4).cast(pl.String))
    if case.languages == "mix":
        proposals, experts = _languages(proposals, experts, rng)
    for name, frame in (("proposals", proposals), ("partners", partners), ("experts", experts)):
        _write(frame, folder, name)
    if case.affinity == "noise":
        _noise_parquet(base / "affinity.parquet", folder / "affinity.parquet", seed)
    else:
        shutil.copy(base / "affinity.parquet", folder / "affinity.parquet")
    if case.reassign:
        _reassignment(folder, case.k, rng)
    return folder


def _reassignment(folder: Path, k: int, rng: np.random.Generator) -> None:
    """``existing.csv`` (85 % of an optimal assignment's pairs) and ``pinned.csv`` (3 %)."""
    import assignment
    from evalpanel.callfolder import read_call
    from evalpanel.planning import plan

    pairs = assignment.assign(plan(read_call(folder), k=k).instance).pairs
    draw = rng.random(pairs.height)
    pairs.filter(pl.Series(draw < 0.85)).select("proposal_id", "expert_id").write_csv(
        folder.parent / "existing.csv")
    pairs.filter(pl.Series((draw >= 0.85) & (draw < 0.88))).select(
        "proposal_id", "expert_id").write_csv(folder.parent / "pinned.csv")
