"""Check the agreement statistics against a published value: ICLR 2023 reviewer ratings.

    python benchmarks/reliability_check.py [DATA_DIR]

DATA_DIR (default ``../shared/data/peer-review-scores`` relative to the repository root) holds
``iclr2023_ratings.csv``: ``paper_id, review_no, rating, confidence, decision``, one row per
review. Its README gives Krippendorff's alpha (interval; papers are units, the review number is
the rater slot) as 0.385. In 3,872 rows the paper id is empty: a paper's reviews are consecutive
rows with review_no counting up from 1, so a new unit starts where the id changes or review_no
does not increase; this yields the README's 4,872 papers.

Prints alpha, ICC(1,1) and ICC(1,k), and exits 1 when alpha is not 0.385 ± 0.005. The data are
read from DATA_DIR only, never copied.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring import alpha_interval, icc_oneway  # noqa: E402

DEFAULT_DIR = ROOT.parent / "shared" / "data" / "peer-review-scores"
PUBLISHED = 0.385
TOLERANCE = 0.005


def iclr_units(ratings: pl.DataFrame) -> pl.Series:
    """Unit number (Int64) per review row, in file order (see the module docstring)."""
    pid = pl.col("paper_id").fill_null("")
    new = (pid != pid.shift(1)) | (pl.col("review_no") <= pl.col("review_no").shift(1))
    return ratings.select(new.fill_null(True).cast(pl.Int64).cum_sum().alias("unit"))["unit"]


def read_ratings(data_dir: Path) -> pl.DataFrame:
    path = data_dir / "iclr2023_ratings.csv"
    ratings = pl.read_csv(path, schema_overrides={"paper_id": pl.String})
    return ratings.with_columns(iclr_units(ratings))


def main(argv: list[str]) -> int:
    data_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_DIR
    if not (data_dir / "iclr2023_ratings.csv").is_file():
        print(f"{data_dir}: no iclr2023_ratings.csv here; give the folder as the argument")
        return 2
    ratings = read_ratings(data_dir)
    units, values = ratings["unit"].to_numpy(), ratings["rating"].cast(pl.Float64).to_numpy()
    start = time.perf_counter()
    alpha = alpha_interval(units, values)
    elapsed = time.perf_counter() - start
    icc = icc_oneway(units, values)
    print(f"ICLR 2023: {ratings.height} reviews of {ratings['unit'].n_unique()} papers "
          f"({ratings['paper_id'].null_count()} rows without a paper id)")
    print(f"Krippendorff alpha (interval): {alpha:.4f}  published {PUBLISHED} ± {TOLERANCE}  "
          f"[{elapsed * 1000:.1f} ms]")
    print(f"ICC(1,1) {icc.icc1:.4f}  ICC(1,k) {icc.icck:.4f}  k0 {icc.k:.3f}  "
          f"over {icc.units} papers with two or more reviews")
    ok = abs(alpha - PUBLISHED) <= TOLERANCE
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
