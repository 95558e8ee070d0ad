"""Organisation-name matching: precision and recall on a labelled set of name pairs.

One command: ``python benchmarks/orgname_match.py`` (``--errors`` lists the misclassified
pairs). The set, ``tests/data/orgname_pairs.csv``, holds pairs of names written as schools, VET
centres and universities of the programme countries write them (numbered schools, "Univ. of X"
and "X University", abbreviations, dropped diacritics, word order, Greek script and its
transliteration), each labelled ``same`` (1: one organisation) or not (0). It is written by hand,
not by the project's generator.

Two decisions are measured:

- the *key* (:func:`assignment.orgnames.org_key`), whose equality is a hard exclusion when an id
  is missing: precision counts wrongly excluded pairs, recall the pairs it recognises;
- *detection*: key equality or a likely match (:func:`assignment.orgnames.likely_same`, a potential
  conflict the manager confirms or dismisses): recall counts same-organisation pairs that reach
  the manager at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAIRS = ROOT / "tests" / "data" / "orgname_pairs.csv"


def measure(path: Path = PAIRS) -> dict[str, float]:
    """Counts and rates of the key and of detection on the labelled pairs."""
    import polars as pl

    from assignment.orgnames import likely_same, org_keys

    pairs = pl.read_csv(path, schema_overrides={"same": pl.Int64})
    ka, kb = org_keys(pairs["name_a"].to_list()), org_keys(pairs["name_b"].to_list())
    hard = pl.Series([a == b and a != "" for a, b in zip(ka, kb, strict=True)])
    likely = pl.Series(likely_same(ka, kb))
    same = pairs["same"] == 1
    out: dict[str, float] = {"pairs": pairs.height, "same": int(same.sum()),
                             "different": int((~same).sum())}  # fmt: skip
    for name, predicted in (("key", hard), ("detection", hard | likely), ("likely", likely)):
        tp = int((predicted & same).sum())
        fp = int((predicted & ~same).sum())
        fn = int((~predicted & same).sum())
        out[f"{name}_tp"], out[f"{name}_fp"], out[f"{name}_fn"] = tp, fp, fn
        out[f"{name}_precision"] = tp / (tp + fp) if tp + fp else 1.0
        out[f"{name}_recall"] = tp / (tp + fn) if tp + fn else 1.0
    return out


def errors(path: Path = PAIRS) -> list[str]:
    import polars as pl

    from assignment.orgnames import likely_same, org_keys

    pairs = pl.read_csv(path, schema_overrides={"same": pl.Int64})
    ka, kb = org_keys(pairs["name_a"].to_list()), org_keys(pairs["name_b"].to_list())
    likely = likely_same(ka, kb)
    lines = []
    for row, a, b, lk in zip(pairs.iter_rows(named=True), ka, kb, likely, strict=True):
        hard = a == b and a != ""
        if hard != bool(row["same"]):
            verdict = "likely" if lk else "missed" if row["same"] else "WRONG EXCLUSION"
            lines.append(f"{verdict:15} {row['name_a']!r} / {row['name_b']!r}: [{a}] [{b}]")
        elif lk and not row["same"]:
            lines.append(f"{'likely (diff)':15} {row['name_a']!r} / {row['name_b']!r}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list the misclassified pairs")
    args = parser.parse_args(argv)
    m = measure()
    print(f"{m['pairs']:.0f} labelled pairs ({m['same']:.0f} same organisation, "
          f"{m['different']:.0f} different) from {PAIRS.relative_to(ROOT)}")  # fmt: skip
    for name, label in (("key", "key (hard exclusion)"),
                        ("detection", "key or likely (reaches the manager)"),
                        ("likely", "likely only (potential conflicts)")):  # fmt: skip
        print(f"  {label:38} precision {m[f'{name}_precision']:.3f}  recall "
              f"{m[f'{name}_recall']:.3f}  (tp {m[f'{name}_tp']:.0f}, fp {m[f'{name}_fp']:.0f}, "
              f"fn {m[f'{name}_fn']:.0f})")  # fmt: skip
    if args.errors:
        print("\n".join(errors()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
