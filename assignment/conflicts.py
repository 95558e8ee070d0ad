"""Conflicts of interest: every (proposal, expert) pair that must never be assigned, with why.

Inputs are the call-folder frames (``proposals``: ``proposal_id, language``; ``partners``:
``proposal_id, org_id, org_name, country, role``; ``experts``: ``expert_id, org_id, org_name,
country, languages``; ``declared``: the ``conflicts.csv`` rows ``expert_id, proposal_id, org_id,
kind, since, note``). :func:`find_conflicts` returns one row per excluded pair and reason:

=============== ======== ===============================================================
column          dtype    meaning
=============== ======== ===============================================================
proposal_id     String
expert_id       String
reason          String   a code of :data:`REASONS`
detail          String   a sentence for the call manager (several joined by ``"; "``)
=============== ======== ===============================================================

sorted by ``proposal_id, expert_id, reason``. Reasons:

- ``declared``, ``family``, ``preparation``, ``other``: a ``conflicts.csv`` row of that kind, for
  its proposal, or for every proposal in which its ``org_id`` is applicant or partner;
- ``employment``, ``collaboration``: the same, but a dated row (``since``) only while
  ``today - since`` is under ``window_years`` years (EU rule: 3); undated rows always conflict;
- ``organisation``: the expert's ``org_id`` is a partner's ``org_id`` in the proposal;
- ``organisation_name``: where either id is missing, the organisation names agree after
  :func:`assignment.orgnames.org_key` normalisation (numbers kept: "nr 1" is not "nr 2"); rows
  with ids on both sides are matched by id only and never joined by name;
- ``language``: the expert does not read the proposal's language;
- ``coordinator_country``: only with ``exclude_coordinator_country=True`` — the expert's country
  is the coordinator's (off by default: EU practice treats nationality as a soft preference).

All matching is done with polars joins; no loop runs over pairs.

:func:`conflict_set` finds the same conflicts and keeps them as integers
(:class:`assignment.conflict_set.Conflicts`: the language rule as each proposal's language and
each expert's languages, never a row per pair), for the instance and the counts; its
``.frame()`` is :func:`find_conflicts`' rows.

:func:`find_potential_conflicts` returns, in the same columns, the pairs whose organisation names
are only *likely* the same (no id to confirm): potential conflicts for the call manager to confirm
or dismiss. They are never part of :func:`find_conflicts`' exclusions; the solver avoids them by a
penalty (:attr:`assignment.instance.AssignmentInstance.potential`).
"""

from __future__ import annotations

from datetime import date
from typing import Final

import numpy as np
import polars as pl

from .conflict_set import Conflicts, assemble
from .orgnames import GENERIC, NUMERAL, WEAK, likely_mask, numerals, org_key

REASONS: Final = ("declared", "family", "preparation", "other", "employment", "collaboration",
                  "organisation", "organisation_name", "language", "coordinator_country")
_REASON_RANK: Final = {r: i for i, r in enumerate(sorted(REASONS))}  # output order: by name
DATED_KINDS: Final = ("employment", "collaboration")  # conflict for a window after `since`
WINDOW_YEARS: Final = 3  # EU expert code of conduct: past links conflict for 3 years
_OUT_SCHEMA: Final = {"proposal_id": pl.String, "expert_id": pl.String, "reason": pl.String,
                      "detail": pl.String}
_IDX_SCHEMA: Final = {"p_idx": pl.Int64, "e_idx": pl.Int64, "reason": pl.String,
                      "detail": pl.String}
_REQUIRED: Final = {
    "proposals": ("proposal_id", "language"),
    "partners": ("proposal_id", "org_id", "org_name", "country", "role"),
    "experts": ("expert_id", "org_id", "org_name", "country", "languages"),
    "declared conflicts": ("expert_id", "proposal_id", "org_id", "kind"),
}


def _check_columns(name: str, frame: pl.DataFrame) -> None:
    missing = [c for c in _REQUIRED[name] if c not in frame.columns]
    if missing:
        raise ValueError(f"the {name} table lacks the column(s) {', '.join(missing)}")


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=_OUT_SCHEMA)


def _org_label(id_col: str, name_col: str) -> pl.Expr:
    """``"E12345678 (Ghent University)"``, or just the name when there is no id."""
    name = pl.col(name_col).fill_null("")
    return (
        pl.when(pl.col(id_col).is_null())
        .then(name)
        .otherwise(pl.col(id_col)
                   + pl.when(name != "").then(" (" + name + ")").otherwise(pl.lit("")))
    )


def _declared(declared: pl.DataFrame, partners: pl.DataFrame, proposal_index: pl.DataFrame,
              today: date, window_years: int) -> pl.DataFrame:
    cutoff = years_before(today, window_years)
    rows = declared.with_columns(
        since=(pl.col("since").cast(pl.Date) if "since" in declared.columns
               else pl.lit(None, dtype=pl.Date)),
        note=(pl.col("note").fill_null("") if "note" in declared.columns else pl.lit("")),
    ).filter(~pl.col("kind").is_in(DATED_KINDS) | pl.col("since").is_null()
             | (pl.col("since") > cutoff))
    when = pl.when(pl.col("since").is_not_null()).then(
        pl.lit(" since ") + pl.col("since").cast(pl.String)).otherwise(pl.lit(""))
    note = pl.when(pl.col("note") != "").then(pl.lit(": ") + pl.col("note")).otherwise(pl.lit(""))
    direct = rows.filter(pl.col("proposal_id").is_not_null()).join(
        proposal_index, on="proposal_id"
    ).select(
        "p_idx", "e_idx", reason=pl.col("kind"),
        detail=pl.format("{} conflict with {}{}", pl.col("kind"), pl.col("proposal_id"),
                         when) + note,
    )
    by_org = rows.filter(pl.col("proposal_id").is_null() & pl.col("org_id").is_not_null()).drop(
        "proposal_id"
    ).join(partners.filter(pl.col("org_id").is_not_null()), on="org_id").select(
        "p_idx", "e_idx", reason=pl.col("kind"),
        detail=pl.format("{} conflict with organisation {}{}, {} of {}", pl.col("kind"),
                         _org_label("org_id", "org_name"), when, pl.col("role"),
                         pl.col("proposal_id")) + note,
    )
    return pl.concat([direct, by_org])


def _keyed(frame: pl.DataFrame, name_col: str) -> pl.DataFrame:
    """``frame`` with the name's matching ``key``, without the rows whose key is empty."""
    # each distinct name is keyed once and joined back (no Python list of every row's name)
    names = frame[name_col].drop_nulls().unique()
    keys = pl.DataFrame([names, pl.Series("key", [org_key(n) for n in names.to_list()],
                                          dtype=pl.String)])
    return frame.join(keys, on=name_col, how="left", maintain_order="left").filter(
        pl.col("key") != "")


def _name_join(ex: pl.DataFrame, pa: pl.DataFrame, on: str | list[str]) -> pl.DataFrame:
    """Experts (``e_org_id``) joined with partners (``org_id``) on ``on`` where an id is missing
    on one side at least: rows with ids on both sides match by id only, so those pairs are
    never formed (an expert is not multiplied by every partner sharing a key, then filtered)."""
    no_id = pl.col("e_org_id").is_null()
    return pl.concat([
        ex.filter(no_id).join(pa, on=on),
        ex.filter(~no_id).join(pa.filter(pl.col("org_id").is_null()), on=on),
    ])


def _may_match_by_name(ex: pl.DataFrame, pa: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The expert and partner rows that can meet a row without an id (only those need a key)."""
    ex_any = pa["org_id"].null_count() > 0
    pa_any = ex["e_org_id"].null_count() > 0
    return (ex if ex_any else ex.filter(pl.col("e_org_id").is_null()),
            pa if pa_any else pa.filter(pl.col("org_id").is_null()))


def _institutional(partners: pl.DataFrame, experts: pl.DataFrame) -> pl.DataFrame:
    ex = experts.select("e_idx", e_org_id="org_id", e_org_name="org_name")
    by_id = ex.filter(pl.col("e_org_id").is_not_null()).join(
        partners.filter(pl.col("org_id").is_not_null()), left_on="e_org_id", right_on="org_id"
    ).select(
        "p_idx", "e_idx", reason=pl.lit("organisation"),
        detail=pl.format("expert's organisation {} is {} of {}",
                         _org_label("e_org_id", "e_org_name"), pl.col("role"),
                         pl.col("proposal_id")),
    )
    ex_named, pa_named = _may_match_by_name(ex, partners)
    named = _name_join(_keyed(ex_named, "e_org_name"), _keyed(pa_named, "org_name"), "key")
    by_name = named.select(
        "p_idx", "e_idx", reason=pl.lit("organisation_name"),
        detail=pl.format("expert's organisation \"{}\" has the name of {} \"{}\" of {}",
                         pl.col("e_org_name"), pl.col("role"), pl.col("org_name"),
                         pl.col("proposal_id")),
    )
    return pl.concat([by_id, by_name])


def _reading(
    proposals: pl.DataFrame, experts: pl.DataFrame
) -> tuple[np.ndarray, np.ndarray, pl.Series]:
    """Who reads what: ``lang_of_p`` (P,) index of each proposal's language among the call's
    L languages; ``reads`` (L, E) bool; ``details`` (L * E,) String, the sentence of a
    language conflict of (language l, expert e) at ``l * E + e``, so each is built once."""
    n_e = experts.height
    langs = proposals["language"].cast(pl.String).fill_null("").unique().sort()
    lang_of_p = langs.search_sorted(proposals["language"].cast(pl.String).fill_null("")).to_numpy()
    spoken = experts.select("e_idx", lang=pl.col("languages").fill_null([])).explode("lang").join(
        pl.DataFrame({"lang": langs, "l_idx": np.arange(langs.len())}), on="lang")
    reads = np.zeros((langs.len(), n_e), dtype=bool)
    reads[spoken["l_idx"].to_numpy(), spoken["e_idx"].to_numpy()] = True
    read_list = experts.select(
        pl.when(pl.col("languages").list.len() > 0)
        .then(pl.col("languages").fill_null([]).list.join(", "))
        .otherwise(pl.lit("no listed language"))
    ).to_series()
    details = pl.DataFrame({
        "lang": langs.gather(np.repeat(np.arange(langs.len()), n_e)),
        "reads": read_list.gather(np.tile(np.arange(n_e), langs.len())),
    }).select(pl.format("proposal is in {}; expert reads {}", "lang", "reads")).to_series()
    return lang_of_p, reads, details


def _language_of_pairs(
    proposals: pl.DataFrame, experts: pl.DataFrame, p_idx: np.ndarray, e_idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pl.Series]:
    """The language conflicts among the given (N,) index pairs (sorted by (proposal, expert)),
    as :func:`assignment.conflict_set.assemble` takes them: ``rows, cols`` (uint32) of the
    pairs whose expert does not read the proposal's language, ``detail_idx`` (uint32) each
    one's sentence in ``details`` (see :func:`_reading`); the (P, E) pairs are not enumerated."""
    lang_of_p, reads, details = _reading(proposals, experts)
    lang = lang_of_p[p_idx]
    bad = ~reads[lang, e_idx]
    rows, cols = p_idx[bad].astype(np.uint32), e_idx[bad].astype(np.uint32)
    detail_idx = lang[bad].astype(np.uint32) * np.uint32(experts.height) + cols
    return rows, cols, detail_idx, details


def _other_rows(merged: pl.DataFrame) -> pl.DataFrame:
    """``p, e, reason, detail`` of :func:`_other_reasons`' rows (in their order)."""
    return merged.select(p="p_idx", e="e_idx", reason="reason", detail="detail")


def _key(p_idx: np.ndarray, e_idx: np.ndarray, reason: np.ndarray | int, n_e: int) -> np.ndarray:
    """One int64 per row that sorts like (proposal_id, expert_id, reason)."""
    key: np.ndarray = (p_idx.astype(np.int64) * n_e + e_idx) * len(REASONS) + reason
    return key


def _coordinator_country(partners: pl.DataFrame, experts: pl.DataFrame) -> pl.DataFrame:
    coord = partners.filter(pl.col("role") == "coordinator").select(
        "p_idx", "country", "org_name"
    )
    return coord.join(experts.select("e_idx", "country"), on="country").select(
        "p_idx", "e_idx", reason=pl.lit("coordinator_country"),
        detail=pl.format("expert is based in {}, the country of coordinator {}",
                         pl.col("country"), pl.col("org_name")),
    )


def conflict_set(
    proposals: pl.DataFrame,
    partners: pl.DataFrame,
    experts: pl.DataFrame,
    declared: pl.DataFrame | None = None,
    *,
    today: date,
    window_years: int = WINDOW_YEARS,
    exclude_coordinator_country: bool = False,
) -> Conflicts:
    """The conflicts of :func:`find_conflicts` as integers (:class:`Conflicts`: the language
    rule as each proposal's language and each expert's languages, the other reasons as rows),
    proposals and experts in id order; ``.frame()`` gives :func:`find_conflicts`' rows."""
    proposals, experts, merged = _other_reasons(
        proposals, partners, experts, declared, today=today, window_years=window_years,
        exclude_coordinator_country=exclude_coordinator_country,
    )
    lang_of_p, reads, details = _reading(proposals, experts)
    return Conflicts(
        proposal_ids=proposals["proposal_id"],
        expert_ids=experts["expert_id"],
        language=lang_of_p.astype(np.int64),
        reads=reads,
        language_details=details,
        rows=_other_rows(merged),
    )


def find_conflicts(
    proposals: pl.DataFrame,
    partners: pl.DataFrame,
    experts: pl.DataFrame,
    declared: pl.DataFrame | None = None,
    *,
    today: date,
    window_years: int = WINDOW_YEARS,
    exclude_coordinator_country: bool = False,
    indices: bool = False,
) -> pl.DataFrame:
    """Every excluded (proposal, expert) pair with its reason(s); see the module docstring.

    ``indices``: also the columns ``p_idx``, ``e_idx`` (Int64): each row's proposal and expert
    as positions in the proposals and experts sorted by id. Where the rows are not needed as
    strings (an instance, a count), :func:`conflict_set` gives the same conflicts as integers."""
    return conflict_set(
        proposals, partners, experts, declared, today=today, window_years=window_years,
        exclude_coordinator_country=exclude_coordinator_country,
    ).frame(indices=indices)


def _other_reasons(
    proposals: pl.DataFrame,
    partners: pl.DataFrame,
    experts: pl.DataFrame,
    declared: pl.DataFrame | None,
    *,
    today: date,
    window_years: int,
    exclude_coordinator_country: bool,
    only: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The inputs checked and indexed (``proposals`` with ``p_idx``, ``experts`` with
    ``e_idx``, each sorted by id), and every reason but language as rows ``p_idx, e_idx,
    reason, detail, rank, key`` sorted by ``key``; ``only``: the
    rows of these ``proposal_id, expert_id`` pairs alone (String columns)."""
    if isinstance(window_years, bool) or not isinstance(window_years, int) or window_years < 0:
        raise ValueError("the `window_years` parameter of find_conflicts must be an integer >= 0;"
                         f" got {window_years!r}")
    if not isinstance(today, date):
        raise ValueError(f"the `today` parameter of find_conflicts must be a date; got {today!r}")
    for name, frame in (("proposals", proposals), ("partners", partners), ("experts", experts)):
        _check_columns(name, frame)
    experts = experts.with_columns(pl.col("expert_id", "org_id", "org_name").cast(pl.String))
    proposals = proposals.with_columns(pl.col("proposal_id").cast(pl.String)).sort(
        "proposal_id").with_columns(p_idx=pl.int_range(pl.len(), dtype=pl.Int64))
    experts = experts.sort("expert_id").with_columns(e_idx=pl.int_range(pl.len(), dtype=pl.Int64))
    p_index = proposals.select("proposal_id", "p_idx")
    # every reason's rows carry the integer positions from here on (rows of proposals or
    # experts not in the frames are dropped), so no row is joined back on string ids
    partners = partners.select(pl.col(list(_REQUIRED["partners"])).cast(pl.String)).join(
        p_index, on="proposal_id")
    parts = [_institutional(partners, experts)]
    if declared is not None and declared.height:
        _check_columns("declared conflicts", declared)
        unknown = set(declared["kind"].cast(pl.String).unique().to_list()) - set(REASONS[:6])
        if unknown:
            raise ValueError(f"unknown conflict kind(s) {sorted(map(str, unknown))} in the "
                             f"declared conflicts; use one of {', '.join(REASONS[:6])}")
        declared = declared.with_columns(
            pl.col("expert_id", "proposal_id", "org_id", "kind").cast(pl.String)
        ).join(experts.select("expert_id", "e_idx"), on="expert_id")
        parts.append(_declared(declared, partners, p_index, today, window_years))
    if exclude_coordinator_country:
        parts.append(_coordinator_country(partners, experts))
    found = pl.concat([p.select(pl.col(c).cast(t) for c, t in _IDX_SCHEMA.items())
                       for p in parts])
    if only is not None:
        wanted = only.join(p_index, on="proposal_id").join(
            experts.select("expert_id", "e_idx"), on="expert_id")
        found = found.join(wanted, on=["p_idx", "e_idx"], how="semi")
    # several rows of one reason (e.g. two shared organisations) become one, details joined;
    # language rows are one per pair by construction and may be many, so they skip this step
    # and are only interleaved at the end (see assignment.conflict_set.assemble). Grouped by
    # one integer key, and only the keys with several rows (hundreds of thousands of string
    # groups took seconds); only those rows are sorted by their sentences, repeated ones
    # (same key and sentence) dropped.
    found = found.with_columns(
        rank=pl.col("reason").replace_strict(_REASON_RANK, return_dtype=pl.Int64))
    found = found.with_columns(key=pl.Series(_key(
        found["p_idx"].to_numpy(), found["e_idx"].to_numpy(), found["rank"].to_numpy(),
        experts.height), dtype=pl.Int64))
    several = found["key"].is_duplicated()
    repeated = (pl.col("key") == pl.col("key").shift(1)) & (
        pl.col("detail").eq_missing(pl.col("detail").shift(1)))
    grouped = found.filter(several).sort("key", "detail").filter(~repeated.fill_null(False))
    merged = pl.concat([
        found.filter(~several),
        grouped.group_by("key", maintain_order=True).agg(
            pl.all().exclude("detail").first(), pl.col("detail").str.join("; ")
        ).select(found.columns),
    ]).sort("key")
    return proposals, experts, merged


def conflict_mask(
    conflicts: pl.DataFrame, proposal_ids: list[str], expert_ids: list[str]
) -> np.ndarray:
    """``(P, E)`` bool, True where the pair has any conflict, rows and columns in the order of
    the id lists (pairs naming unknown ids are ignored)."""
    p_index = pl.DataFrame({"proposal_id": proposal_ids, "row": np.arange(len(proposal_ids))})
    e_index = pl.DataFrame({"expert_id": expert_ids, "col": np.arange(len(expert_ids))})
    pairs = conflicts.select("proposal_id", "expert_id").unique().join(
        p_index, on="proposal_id").join(e_index, on="expert_id")
    mask = np.zeros((len(proposal_ids), len(expert_ids)), dtype=bool)
    mask[pairs["row"].to_numpy(), pairs["col"].to_numpy()] = True
    return mask


POTENTIAL_REASON: Final = "organisation_name_likely"
_BLOCK_PREFIX: Final = 4  # letters of a word that place two names in one comparison block
# a word beginning shared by more partner names than this is no evidence (e.g. "europ"): such
# blocks are skipped, the names still meet through their other words
_MAX_BLOCK: Final = 1000


def _blocks(keys: pl.Series) -> pl.DataFrame:
    """``key, block``: each distinct key under each of its distinctive words' beginnings,
    prefixed by the key's numerals (names with other numbers never meet)."""
    return keys.unique().to_frame("key").with_columns(
        numbers=numerals(pl.col("key")), word=pl.col("key").str.split(" ")
    ).explode("word").filter(
        ~pl.col("word").is_in(list(GENERIC | WEAK)) & ~pl.col("word").str.contains(NUMERAL)
    ).select(
        "key", block=pl.col("numbers") + "|" + pl.col("word").str.slice(0, _BLOCK_PREFIX)
    ).unique()


def find_potential_conflicts(
    partners: pl.DataFrame,
    experts: pl.DataFrame,
    conflicts: pl.DataFrame | Conflicts | None = None,
) -> pl.DataFrame:
    """Pairs whose organisations are *likely* the same by name, with no id to confirm it: a
    potential conflict for the call manager to confirm or dismiss, never an exclusion.

    Columns as :func:`find_conflicts` (``proposal_id, expert_id, reason, detail``; reason
    :data:`POTENTIAL_REASON`), one row per pair, sorted by ids. Only rows without an
    organisation id on one side at least are compared; names with equal keys are hard
    exclusions (``organisation_name``) and not repeated here; pairs of ``conflicts`` (the hard
    exclusions, as rows or as :class:`Conflicts`) are left out. Distinct keys meet only in
    blocks that share the numerals and the beginning of a distinctive word, and
    :func:`assignment.orgnames.likely_mask` decides on each distinct pair of keys, not on each
    (proposal, expert) pair (so a typo within the first
    letters of a name's only distinctive word is not seen).
    """
    _check_columns("partners", partners)
    schema = {"expert_id": pl.String, "org_id": pl.String, "org_name": pl.String}
    missing = [c for c in schema if c not in experts.columns]
    if missing:
        raise ValueError(f"the experts table lacks the column(s) {', '.join(missing)}")
    if isinstance(conflicts, pl.DataFrame) and not (
            {"proposal_id", "expert_id"} <= set(conflicts.columns)):
        raise ValueError("the conflicts frame needs the columns proposal_id, expert_id")
    ex = experts.select(pl.col(list(schema)).cast(pl.String)).rename(
        {"org_id": "e_org_id", "org_name": "e_org_name"})
    pa = partners.select(pl.col(list(_REQUIRED["partners"])).cast(pl.String))
    ex, pa = _may_match_by_name(ex, pa)
    ex, pa = _keyed(ex, "e_org_name"), _keyed(pa, "org_name")
    if ex.height == 0 or pa.height == 0:
        return _empty()
    pa_blocks = _blocks(pa["key"])
    crowded = pa_blocks.group_by("block").len().filter(pl.col("len") > _MAX_BLOCK)
    pa_blocks = pa_blocks.join(crowded, on="block", how="anti")
    # keys meet only where a row without an id can: an expert without an id with any partner,
    # an expert with an id with a partner without one (as in _name_join), so the many rows
    # with ids on both sides are never compared by name
    no_id = pl.col("e_org_id").is_null()
    pa_no_id = pa.filter(pl.col("org_id").is_null())["key"].unique()
    pairs = pl.concat([
        _blocks(ex.filter(no_id)["key"]).join(pa_blocks, on="block", suffix="_p"),
        _blocks(ex.filter(~no_id)["key"]).join(
            pa_blocks.filter(pl.col("key").is_in(pa_no_id.implode())), on="block", suffix="_p"),
    ]).select(e_key="key", p_key="key_p").unique().filter(pl.col("e_key") != pl.col("p_key"))
    likely = pairs.filter(pl.Series(likely_mask(pairs.select(a="e_key", b="p_key"))))
    found = _name_join(
        ex.join(likely, left_on="key", right_on="e_key").drop("key"),
        pa.rename({"key": "p_key"}), "p_key",
    ).select(
        "proposal_id", "expert_id", reason=pl.lit(POTENTIAL_REASON),
        detail=pl.format("expert's organisation \"{}\" is likely {} \"{}\" of {} (similar names, "
                         "no organisation id to confirm)", pl.col("e_org_name"), pl.col("role"),
                         pl.col("org_name"), pl.col("proposal_id")),
    )
    if isinstance(conflicts, Conflicts):
        found = found.filter(~pl.Series(_excluded(conflicts, found), dtype=pl.Boolean))
    elif conflicts is not None and conflicts.height and found.height:
        keys = ["proposal_id", "expert_id"]
        excluded = conflicts.select(keys).join(found.select(keys), on=keys, how="semi")
        found = found.join(excluded, on=keys, how="anti")
    return found.group_by("proposal_id", "expert_id", "reason").agg(
        pl.col("detail").unique().sort().str.join("; ")
    ).select(pl.col(c).cast(t) for c, t in _OUT_SCHEMA.items()).sort("proposal_id", "expert_id")


def _excluded(conflicts: Conflicts, pairs: pl.DataFrame) -> np.ndarray:
    """(n,) bool: which rows of ``pairs`` (``proposal_id, expert_id``) ``conflicts`` excludes
    (ids it does not know are not excluded)."""
    at = pairs.select("proposal_id", "expert_id").with_row_index("row").join(
        pl.DataFrame({"proposal_id": conflicts.proposal_ids,
                      "p": np.arange(conflicts.n_proposals)}), on="proposal_id").join(
        pl.DataFrame({"expert_id": conflicts.expert_ids,
                      "e": np.arange(conflicts.n_experts)}), on="expert_id")
    out = np.zeros(pairs.height, dtype=bool)
    out[at["row"].to_numpy()] = conflicts.excludes(at["p"].to_numpy(), at["e"].to_numpy())
    return out


def excluded_pairs(
    pairs: pl.DataFrame,
    proposals: pl.DataFrame,
    partners: pl.DataFrame,
    experts: pl.DataFrame,
    declared: pl.DataFrame | None = None,
    *,
    today: date,
    window_years: int = WINDOW_YEARS,
    exclude_coordinator_country: bool = False,
) -> pl.DataFrame:
    """The rows of :func:`find_conflicts` for the given ``pairs`` only: the one rule that decides
    whether a (proposal, expert) pair may become a task.

    ``pairs``: ``proposal_id, expert_id`` (other columns ignored). Returns ``proposal_id,
    expert_id, reason, detail`` (one row per excluded pair and reason, sorted like
    :func:`find_conflicts`); a pair naming a proposal or expert missing from the frames is not
    reported (the caller checks ids). Every reason is per pair, so only the proposals and experts
    that the pairs name are looked at, and languages are compared for the given pairs only
    (never the whole (P, E) grid): checking a batch of a large call stays cheap.
    """
    missing = [c for c in ("proposal_id", "expert_id") if c not in pairs.columns]
    if missing:
        raise ValueError(f"the pairs frame lacks the column(s) {', '.join(missing)}")
    keys = pairs.select(pl.col("proposal_id", "expert_id").cast(pl.String)).unique()
    if keys.is_empty():
        return _empty()
    for name, frame in (("proposals", proposals), ("partners", partners), ("experts", experts)):
        _check_columns(name, frame)
    wanted_p = keys.select("proposal_id").unique()
    wanted_e = keys.select("expert_id").unique()
    proposals, experts, merged = _other_reasons(
        proposals.with_columns(pl.col("proposal_id").cast(pl.String)).join(
            wanted_p, on="proposal_id", how="semi"),
        partners.with_columns(pl.col("proposal_id").cast(pl.String)).join(
            wanted_p, on="proposal_id", how="semi"),
        experts.with_columns(pl.col("expert_id").cast(pl.String)).join(
            wanted_e, on="expert_id", how="semi"),
        declared,
        today=today,
        window_years=window_years,
        exclude_coordinator_country=exclude_coordinator_country,
        only=keys,
    )
    index = keys.join(proposals.select("proposal_id", "p_idx"), on="proposal_id").join(
        experts.select("expert_id", "e_idx"), on="expert_id").sort("p_idx", "e_idx")
    merged = merged.join(index.select("p_idx", "e_idx"), on=["p_idx", "e_idx"], how="semi",
                         maintain_order="left")
    language = _language_of_pairs(proposals, experts, index["p_idx"].to_numpy(),
                                  index["e_idx"].to_numpy())
    return assemble(proposals["proposal_id"], experts["expert_id"], language, _other_rows(merged))
