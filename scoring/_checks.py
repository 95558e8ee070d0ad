"""Row checks of evaluation scores, and the evaluations that count.

Input, long form (one row per criterion score), in the caller's order:

- expert scores: ``proposal_id, expert_id, criterion, score`` (score in points, Float64);
- consolidated scores: ``proposal_id, criterion, score``.

Problems come back as a frame ``table (String), row (Int64, 0-based index into the given frame;
null for a missing column), column (String), problem (String)``, sorted by row, so a caller can
print ``scores.csv:LINE: column: problem``. An evaluation (all rows of one proposal and expert, or
of one proposal for consolidated scores) counts only when none of its rows has a problem and it
scores every criterion of the scheme exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ._scheme import Scheme

EPS = 1e-9  # points; comparisons of means against thresholds tolerate float noise
PROBLEMS_SCHEMA: dict[str, pl.DataType] = {
    "table": pl.String(), "row": pl.Int64(), "column": pl.String(), "problem": pl.String(),
}  # fmt: skip
EXPERT_KEYS = ("proposal_id", "expert_id")
CONSENSUS_KEYS = ("proposal_id",)


def fmt_points(expr: pl.Expr) -> pl.Expr:
    """Points as short text: 8.5 -> "8.5", 10.0 -> "10", 12.3333 -> "12.33"."""
    return expr.round(2).cast(pl.String).str.replace(r"\.0$", "")


def empty_problems() -> pl.DataFrame:
    return pl.DataFrame(schema=PROBLEMS_SCHEMA)


def check_rows(
    frame: pl.DataFrame, scheme: Scheme, table: str = "scores",
    keys: Sequence[str] = EXPERT_KEYS,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Check every row; return ``(problems, counted)``.

    ``counted`` is the long frame ``row, *keys, criterion, score`` of the evaluations that count.
    """
    keys = list(keys)
    needed = [*keys, "criterion", "score"]
    missing = [c for c in needed if c not in frame.columns]
    bad_dtype = "score" in frame.columns and not frame.schema["score"].is_numeric()
    if missing or bad_dtype:
        rows = [{"table": table, "row": None, "column": c,
                 "problem": "missing column: the file must have " + ", ".join(needed)}
                for c in missing]
        if bad_dtype:
            rows.append({"table": table, "row": None, "column": "score",
                         "problem": f"scores must be numbers; got {frame.schema['score']}"})
        return pl.DataFrame(rows, schema=PROBLEMS_SCHEMA), _empty_counted(keys)

    crit = pl.DataFrame({
        "criterion": list(scheme.criterion_ids),
        "_max": [c.max for c in scheme.criteria],
        "_step": [c.step for c in scheme.criteria],
    })  # fmt: skip
    df = (
        frame.select(*[pl.col(k).cast(pl.String) for k in [*keys, "criterion"]],
                     pl.col("score").cast(pl.Float64))
        .with_row_index("row")
        .with_columns(pl.col("row").cast(pl.Int64))
        .join(crit, on="criterion", how="left")
        .sort("row")
    )
    score = pl.col("score")
    known = ", ".join(scheme.criterion_ids)
    steps = score / pl.col("_step")
    checks: list[tuple[str, pl.Expr, pl.Expr]] = [
        *[(k, pl.col(k).is_null() | (pl.col(k).str.strip_chars() == ""),
           pl.lit(f"missing {k}")) for k in keys],
        ("criterion", pl.col("criterion").is_null() | (pl.col("criterion").str.strip_chars() == ""),
         pl.lit(f"missing criterion: give one of {known}")),
        ("criterion", pl.col("criterion").is_not_null() & pl.col("_max").is_null()
         & (pl.col("criterion").str.strip_chars() != ""),
         pl.format(f"unknown criterion '{{}}': scheme {scheme.id} has {known}",
                   pl.col("criterion"))),
        ("score", score.is_null(), pl.lit("missing score")),
        ("score", score.is_nan(), pl.lit("score is not a number")),
        ("score", score.is_not_nan() & ((score < 0) | (score > pl.col("_max"))),
         pl.format("{} is outside 0..{}", fmt_points(score), fmt_points(pl.col("_max")))),
        ("score", score.is_not_nan() & (score >= 0) & (score <= pl.col("_max"))
         & ((steps - steps.round()).abs() > EPS),
         pl.format("{} is not a multiple of the step {}", score.cast(pl.String),
                   fmt_points(pl.col("_step")))),
    ]
    dup_keys = [*keys, "criterion"]
    df = df.with_columns(
        (pl.col("_max").is_not_null() & pl.all_horizontal([pl.col(k).is_not_null() for k in keys])
         & ~pl.struct(dup_keys).is_first_distinct()).alias("_dup"))
    # Messages are built only for the (usually few) rows with a problem.
    flagged = df.filter(pl.any_horizontal([cond for _, cond, _ in checks]) | pl.col("_dup"))
    if flagged.height:
        firsts = df.filter(~pl.col("_dup")).join(flagged.filter("_dup").select(dup_keys).unique(),
                                                 on=dup_keys, how="semi")
        flagged = flagged.join(firsts.select(*dup_keys, pl.col("row").alias("_first")),
                               on=dup_keys, how="left", nulls_equal=True)
        checks.append(("criterion", pl.col("_dup"),
                       pl.format("duplicate: this evaluation already scores '{}' on row {}",
                                 pl.col("criterion"), pl.col("_first"))))
    found = flagged.select(
        "row",
        *[pl.when(cond).then(pl.struct(column=pl.lit(col), problem=msg)).alias(f"_p{i}")
          for i, (col, cond, msg) in enumerate(checks)],
    )
    per_row = (
        found.unpivot(index="row", value_name="p").drop("variable")
        .drop_nulls("p").unnest("p")
        .select(pl.lit(table).alias("table"), "row", "column", "problem")
    )
    # An evaluation lacking a criterion is reported once, on its first row.
    valid = df.filter(pl.col("_max").is_not_null())
    n_criteria = len(scheme.criterion_ids)
    incomplete = (
        valid.drop_nulls(keys).group_by(keys)
        .agg(pl.col("row").min(), pl.col("criterion").n_unique().alias("_n"))
        .filter(pl.col("_n") < n_criteria)
    )
    if incomplete.height:
        have = valid.join(incomplete.select(keys), on=keys, how="semi").group_by(keys).agg(
            pl.col("criterion").unique().alias("_have"))
        incomplete = incomplete.join(have, on=keys).with_columns(pl.concat_list([
            pl.when(pl.col("_have").list.contains(pl.lit(c))).then(None).otherwise(pl.lit(c))
            for c in scheme.criterion_ids]).list.drop_nulls().alias("_lacks"))
    else:
        incomplete = incomplete.with_columns(pl.lit([], pl.List(pl.String)).alias("_lacks"))
    incomplete = incomplete.select(
        pl.lit(table).alias("table"), "row", pl.lit("criterion").alias("column"),
        pl.format("incomplete evaluation: no score for {}",
                  pl.col("_lacks").list.join(", ")).alias("problem"))
    problems = pl.concat([per_row, incomplete]).sort("row", "column", maintain_order=True)
    # One problem row, or a missing criterion, discards the whole evaluation.
    counted = df.drop_nulls(keys).select("row", *keys, "criterion", "score")
    if problems.height:
        bad = df.join(problems.select("row").unique(), on="row", how="semi").select(keys)
        counted = counted.join(bad.drop_nulls(keys).unique(), on=keys, how="anti")
    return problems.cast(pl.Schema(PROBLEMS_SCHEMA)), counted


def _empty_counted(keys: Sequence[str]) -> pl.DataFrame:
    return pl.DataFrame(schema={"row": pl.Int64(), **{k: pl.String() for k in keys},
                                "criterion": pl.String(), "score": pl.Float64()})


def wide(counted: pl.DataFrame, scheme: Scheme, keys: Sequence[str] = EXPERT_KEYS) -> pl.DataFrame:
    """Counted long rows -> one row per evaluation: ``*keys, <criterion ids>..., total``."""
    ids = list(scheme.criterion_ids)
    return (
        counted.group_by(list(keys))
        .agg(*[pl.col("score").filter(pl.col("criterion") == c).first().alias(c) for c in ids])
        .with_columns(pl.sum_horizontal(ids).alias("total"))
        .sort(list(keys))
    )
