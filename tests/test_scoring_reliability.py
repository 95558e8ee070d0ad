"""Agreement statistics (hand-computed and published values) and the leniency model."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from scoring import (
    alpha_interval,
    alpha_interval_matrix,
    icc_oneway,
    load_scheme,
    reliability,
    score_call,
)

NAN = float("nan")
ROOT = Path(__file__).resolve().parents[1]
ICLR_DIR = Path(
    os.environ.get(
        "EVALPANEL_PEER_REVIEW_DIR", ROOT.parent / "shared" / "data" / "peer-review-scores"
    )
)


def test_alpha_two_units_by_hand() -> None:
    # units {1, 2} and {3, 3}; n = 4 pairable values.
    # D_o = (1/n) Σ_u Σ_{i≠j} (v_i − v_j)² / (m_u − 1) = (1/4)(2·1² / 1 + 0) = 0.5
    # D_e = Σ_{i≠j over all 4} (v_i − v_j)² / (n(n − 1)): pairs (1,2) 1, (1,3) 4 ×2, (2,3) 1 ×2,
    #       (3,3) 0 -> 1 + 8 + 2 = 11 unordered, 22 ordered; 22 / 12 = 11/6
    # alpha = 1 − 0.5 / (11/6) = 1 − 3/11 = 8/11
    assert alpha_interval([0, 0, 1, 1], [1, 2, 3, 3]) == pytest.approx(8 / 11)


def test_alpha_and_icc_two_pairs_by_hand() -> None:
    # units {1, 3} and {5, 7}: unit means 2, 6, grand mean 4.
    # alpha: D_o = (1/4)(2·(3−1)² / 1 + 2·(7−5)² / 1) = 4;
    #   D_e: unordered diffs² over 1, 3, 5, 7 are 4, 16, 36, 4, 16, 4 = 80, ordered 160,
    #   / (4·3) = 40/3; alpha = 1 − 4 / (40/3) = 0.7
    assert alpha_interval(["a", "a", "b", "b"], [1, 3, 5, 7]) == pytest.approx(0.7)
    # one-way ANOVA: SSB = 2·(2−4)² + 2·(6−4)² = 16, MSB = 16 / 1; SSW = 2 + 2 = 4, MSW = 4 / 2
    # ICC(1,1) = (16 − 2) / (16 + (2 − 1)·2) = 14/18; ICC(1,2) = (16 − 2) / 16 = 7/8
    icc = icc_oneway(["a", "a", "b", "b"], [1, 3, 5, 7])
    assert (icc.msb, icc.msw, icc.k, icc.units) == (16, 2, 2, 2)
    assert icc.icc1 == pytest.approx(14 / 18)
    assert icc.icck == pytest.approx(7 / 8)


def test_alpha_krippendorff_textbook_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", 4 observers × 12 units
    # with missing values; the paper gives interval alpha = 0.849 (unit 12 has a single value
    # and is not pairable).
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
            [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
        ]
    )
    assert alpha_interval_matrix(data.T) == pytest.approx(0.849, abs=0.0005)


def test_icc_shrout_fleiss_table() -> None:
    # Shrout and Fleiss (1979), Table 2: 6 targets × 4 judges. Target means 6, 3, 6.5, 4, 7.5,
    # 4.75; grand mean 5.2917. BMS = 4·Σ(mean − 5.2917)² / 5 = 56.208 / 5 = 11.24;
    # WMS = Σ within SS / 18 = 112.75 / 18 = 6.26. ICC(1,1) = (11.24 − 6.26) / (11.24 + 3·6.26)
    # = 0.17; ICC(1,4) = (11.24 − 6.26) / 11.24 = 0.44 (the paper's values).
    data = np.array(
        [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
        dtype=float,
    )
    icc = icc_oneway(np.repeat(np.arange(6), 4), data.ravel())
    assert icc.msb == pytest.approx(11.24, abs=0.005)
    assert icc.msw == pytest.approx(6.26, abs=0.005)
    assert icc.icc1 == pytest.approx(0.17, abs=0.005)
    assert icc.icck == pytest.approx(0.44, abs=0.005)


def test_alpha_edge_cases() -> None:
    assert alpha_interval([0, 0, 1, 1], [2, 2, 5, 5]) == 1.0  # perfect agreement
    # single-value units and NaN are not pairable: same as the two-unit case above
    assert alpha_interval([0, 0, 1, 1, 2, 3], [1, 2, 3, 3, 9, NAN]) == pytest.approx(8 / 11)
    assert np.isnan(alpha_interval([0, 0], [4, 4]))  # no variation: undefined
    with pytest.raises(ValueError, match="same length"):
        alpha_interval([0, 1], [1.0])


@pytest.mark.skipif(
    not (ICLR_DIR / "iclr2023_ratings.csv").is_file(),
    reason="peer-review-scores data folder not present",
)
def test_iclr2023_published_alpha() -> None:
    spec = importlib.util.spec_from_file_location(
        "reliability_check", ROOT / "benchmarks" / "reliability_check.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ratings = module.read_ratings(ICLR_DIR)
    assert ratings["unit"].n_unique() == 4872
    alpha = alpha_interval(ratings["unit"].to_numpy(), ratings["rating"].to_numpy())
    assert alpha == pytest.approx(0.385, abs=0.005)


ONE = load_scheme("""
id = "one"
total_threshold = 50
experts_per_proposal = 2
third_expert_rule = "closest_two"
[divergence]
total_gap = 100
[criteria.merit]
max = 100
min_pass = 0
[[bands]]
label = "Any"
min_share = 0
""")


def _frame(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(p, e, "merit", s) for p, e, s in rows],
        schema=["proposal_id", "expert_id", "criterion", "score"],
        orient="row",
    )


def test_leniency_exact_and_decision_changes() -> None:
    # True offsets (10, 0, 0) without noise on a cycle E1–E2–E3; centred: (20/3, −10/3, −10/3).
    # P1: E1 56, E2 46 -> 51 passes; corrected 56 − 20/3 = 46 + 10/3 = 49.33 fails.
    # P2: E1 70, E3 60 -> 65; corrected 63.33: passes either way.
    # P3: E2 48, E3 48 -> 48 fails; corrected 51.33 passes.
    scores = _frame(
        [
            ("P1", "E1", 56),
            ("P1", "E2", 46),
            ("P2", "E1", 70),
            ("P2", "E3", 60),
            ("P3", "E2", 48),
            ("P3", "E3", 48),
        ]
    )
    result = score_call(scores, ONE)
    report = reliability(result)
    offsets = dict(report.leniency.select("expert_id", "offset").iter_rows())
    assert offsets == pytest.approx({"E1": 20 / 3, "E2": -10 / 3, "E3": -10 / 3}, abs=1e-6)
    assert report.leniency["offset_merit"].to_list() == pytest.approx(
        report.leniency["offset"].to_list(), abs=1e-6
    )
    assert report.components.select("proposals", "experts", "evaluations").rows() == [(3, 3, 6)]
    changes = report.changes
    assert changes["proposal_id"].to_list() == ["P1", "P3"]
    assert changes["corrected_total"].to_list() == pytest.approx([49 + 1 / 3, 51 + 1 / 3])
    assert changes.select("decision", "corrected_decision").rows() == [
        ("passed", "rejected"),
        ("rejected", "passed"),
    ]
    # advisory only: the official result is untouched
    assert result.proposals.filter(pl.col("proposal_id") == "P1")["decision"][0] == "passed"
    assert report.agreement["measure"].to_list() == ["merit", "total"]


def test_leniency_per_component_and_lone_expert() -> None:
    # Component A: E1, E2 on P1, P2 (E1 +4 both times); component B: E3 alone on P3.
    scores = _frame(
        [("P1", "E1", 60), ("P1", "E2", 56), ("P2", "E1", 70), ("P2", "E2", 66), ("P3", "E3", 80)]
    )
    report = reliability(score_call(scores, load_scheme(ONE_TEXT_K1)))
    rows = {r["expert_id"]: r for r in report.leniency.iter_rows(named=True)}
    assert rows["E1"]["component"] == rows["E2"]["component"] != rows["E3"]["component"]
    assert rows["E1"]["offset"] == pytest.approx(2.0)
    assert rows["E2"]["offset"] == pytest.approx(-2.0)
    assert rows["E3"]["offset"] == pytest.approx(0.0)
    assert rows["E3"]["se"] is None and rows["E3"]["stands_out"] is False
    assert report.components.height == 2


ONE_TEXT_K1 = """
id = "one-k1"
total_threshold = 50
experts_per_proposal = 1
third_expert_rule = "closest_two"
[divergence]
total_gap = 100
[criteria.merit]
max = 100
min_pass = 0
[[bands]]
label = "Any"
min_share = 0
"""


def test_lenient_expert_stands_out() -> None:
    # 80 proposals, 16 experts, 2 per proposal; E00 adds 12 points, noise SD 4 per score.
    rng = np.random.default_rng(7)
    rows = []
    for p in range(80):
        quality = rng.uniform(30, 80)
        for e in rng.choice(16, 2, replace=False):
            bias = 12 if e == 0 else 0
            score = float(np.clip(np.round(quality + bias + rng.normal(0, 4)), 0, 100))
            rows.append((f"P{p:02d}", f"E{e:02d}", score))
    report = reliability(score_call(_frame(rows), ONE))
    e00 = report.leniency.filter(pl.col("expert_id") == "E00").row(0, named=True)
    assert e00["offset"] > 8 and e00["z"] > 4
    assert report.outlying_experts == ["E00"]


def test_leniency_matches_lsqr_on_the_full_design() -> None:
    # An independent solve: LSQR on the (evaluations × (proposals + experts)) design, offsets
    # centred afterwards, against the eliminated normal equations of fit_leniency.
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import lsqr

    from scoring import fit_leniency

    rng = np.random.default_rng(11)
    n_p, n_e = 40, 9
    proposal = np.repeat(np.arange(n_p), 3)
    expert = np.concatenate([rng.choice(n_e, 3, replace=False) for _ in range(n_p)])
    y = rng.normal(50, 10, (proposal.size, 2))
    fit = fit_leniency(proposal, expert, y, n_p, n_e)
    rows = np.arange(proposal.size)
    design = csr_matrix(
        (
            np.ones(2 * rows.size),
            (np.concatenate([rows, rows]), np.concatenate([proposal, n_p + expert])),
        ),
        shape=(rows.size, n_p + n_e),
    )
    for j in range(2):
        x = lsqr(design, y[:, j], atol=1e-14, btol=1e-14, iter_lim=10_000)[0]
        offsets = x[n_p:] - x[n_p:].mean()
        assert fit.offsets[:, j] == pytest.approx(offsets, abs=1e-6)
        assert (fit.effects[:, j] - x[n_p:].mean()) == pytest.approx(x[:n_p], abs=1e-6)
    assert fit.component.tolist() == [0] * n_e
    # the residual SD uses N − (P + E − 1) degrees of freedom
    resid = y[:, 0] - fit.effects[proposal, 0] - fit.offsets[expert, 0]
    assert fit.residual_sd[0, 0] == pytest.approx(
        np.sqrt((resid**2).sum() / (proposal.size - (n_p + n_e - 1)))
    )


def test_agreement_reads_in_plain_words_on_the_stated_scales() -> None:
    from scoring._reliability import ALPHA_READING, ICC_READING, reading

    values = pl.DataFrame({"x": [None, -0.2, 0.49, 0.5, 0.749, 0.75, 0.89, 0.9, 1.0]})
    icc = values.select(reading(pl.col("x"), ICC_READING).alias("x"))["x"].to_list()
    assert icc == [None, "poor", "poor", "moderate", "moderate", "good", "good", "excellent",
                   "excellent"]
    alpha = values.select(reading(pl.col("x"), ALPHA_READING).alias("x"))["x"].to_list()
    assert alpha == [None, "unreliable", "unreliable", "unreliable", "tentative", "tentative",
                     "reliable", "reliable", "reliable"]
