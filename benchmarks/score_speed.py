"""Speed of score_call: 100,000 evaluation rows checked, aggregated, ranked and funded.

    python benchmarks/score_speed.py [--runs N] [--seed S]

A seeded synthetic call on the erasmus-afi scheme: 12,000 proposals in two lots (lot 2 with one
funded proposal per ecosystem), 1,000 experts, two evaluations per proposal and a third one for
1,000 of them: (12,000 × 2 + 1,000) evaluations × 4 criteria = 100,000 rows. Prints the median
of N runs for 10,000 and 100,000 rows, their ratio, and the ratio to the 1-second target; also
the advisory reliability report on the same call (not part of the target).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring import LotRules, load_scheme, reliability, score_call

TARGET_S = 1.0
ECOSYSTEMS = ["Digital", "Health", "Tourism", "Textile", "Retail", "Construction", "Agri-food"]


def synthetic_call(n_proposals: int, n_third: int, seed: int,
                   ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, LotRules]]:
    scheme = load_scheme("erasmus-afi")
    rng = np.random.default_rng(seed)
    maxes = np.array([c.max for c in scheme.criteria])
    n_experts = 1000
    pairs = np.stack([rng.choice(n_experts, 2, replace=False) for _ in range(n_proposals)])
    third = rng.choice(n_proposals, n_third, replace=False)
    third_expert = (pairs[third, 0] + 1 + rng.integers(0, n_experts - 2, n_third)) % n_experts
    third_expert = np.where(third_expert == pairs[third, 1], (third_expert + 1) % n_experts,
                            third_expert)
    prop = np.concatenate([np.repeat(np.arange(n_proposals), 2), third])
    expert = np.concatenate([pairs.ravel(), third_expert])
    quality = rng.uniform(0.35, 0.95, n_proposals)
    lenient = rng.normal(0, 0.04, n_experts)
    n_eval = prop.size
    share = quality[prop][:, None] + lenient[expert][:, None] + rng.normal(0, 0.08, (n_eval, 4))
    points = np.clip(np.round(share * maxes), 0, maxes)
    ids = np.array([f"P{i:06d}" for i in range(n_proposals)])
    experts = np.array([f"E{i:04d}" for i in range(n_experts)])
    scores = pl.DataFrame({
        "proposal_id": np.repeat(ids[prop], 4), "expert_id": np.repeat(experts[expert], 4),
        "criterion": np.tile(np.array(scheme.criterion_ids), n_eval),
        "score": points.ravel(),
    })
    proposals = pl.DataFrame({
        "proposal_id": ids, "lot": np.where(np.arange(n_proposals) % 3 == 0, "L2", "L1"),
        "requested_eur": np.round(rng.uniform(2e5, 1e6, n_proposals), -3),
        "ecosystems": [[ECOSYSTEMS[i % len(ECOSYSTEMS)]] for i in range(n_proposals)],
    })
    lots = {"L1": LotRules(4e8), "L2": LotRules(2e8, "ecosystem")}
    return scores, proposals, lots


def median_time(runs: int, fn: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    scheme = load_scheme("erasmus-afi")
    medians = {}
    for n_proposals, n_third in ((1200, 100), (12000, 1000)):
        scores, proposals, lots = synthetic_call(n_proposals, n_third, args.seed)
        result = score_call(scores, scheme, proposals, lots)  # warm-up
        medians[scores.height] = median_time(
            args.runs, lambda s=scores, p=proposals, lt=lots: score_call(s, scheme, p, lt))
        decisions = dict(result.proposals["decision"].value_counts().iter_rows())
        print(f"{scores.height:>7,} rows, {n_proposals:,} proposals: median "
              f"{medians[scores.height] * 1000:7.1f} ms over {args.runs} runs  {decisions}")
    small, big = medians[10_000], medians[100_000]
    print(f"ratio 100k / 10k rows: {big / small:.2f} (10x the rows)")
    print(f"100k rows vs the {TARGET_S:.0f} s target: {big / TARGET_S:.2f} "
          f"({'met' if big < TARGET_S else 'MISSED'})")
    start = time.perf_counter()
    report = reliability(result, proposals, lots)
    print(f"reliability report (advisory) on 100k rows: {time.perf_counter() - start:.2f} s, "
          f"alpha total {report.agreement['alpha'][-1]:.3f}, "
          f"{len(report.outlying_experts)} experts stand out, {report.changes.height} decisions "
          "would change")


if __name__ == "__main__":
    main()
