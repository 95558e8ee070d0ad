"""Agreement statistics and the expert-leniency model, on plain numpy arrays.

Long form throughout: ``units`` (n,) any labels (a proposal, a paper), ``values`` (n,) float
points, NaN = missing (dropped). No reliability matrix is materialised: interval alpha and the
one-way ANOVA only need per-unit counts, means and sums of squares.

- :func:`alpha_interval`: Krippendorff's alpha with the interval metric (Krippendorff 2011,
  "Computing Krippendorff's alpha-reliability"). With m_u pairable values in unit u, n = Σ m_u,
  SS_u the unit's sum of squares about its mean and SS the total one about the grand mean,
  D_o = (2/n) Σ_u m_u SS_u / (m_u − 1), D_e = 2 SS / (n − 1), alpha = 1 − D_o / D_e.
  Units with fewer than two values are not pairable and are left out.
- :func:`icc_oneway`: ICC(1,1) and ICC(1,k) of Shrout and Fleiss (1979) from the one-way random
  ANOVA; with unequal numbers of ratings per unit k is k0 = (N − Σ m_u² / N) / (a − 1).
- :func:`fit_leniency`: least squares ``score = proposal effect + expert offset + noise`` over the
  bipartite proposal–expert graph (scipy.sparse normal equations, sparse LU); offsets are
  identified only within a connected component, so they are centred to mean 0 per component.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from scipy.sparse import csc_matrix

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _codes(labels: npt.ArrayLike) -> tuple[IntArray, int]:
    _, inverse = np.unique(np.asarray(labels), return_inverse=True)
    codes = inverse.astype(np.int64).ravel()
    return codes, int(codes.max()) + 1 if codes.size else 0


def _unit_sums(units: npt.ArrayLike, values: npt.ArrayLike,
               ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per pairable unit (>= 2 values): count m, mean, SS about the mean; and the kept values."""
    v = np.asarray(values, dtype=np.float64).ravel()
    u = np.asarray(units).ravel()
    if u.shape != v.shape:
        raise ValueError(f"units and values must have the same length; got {u.size} and {v.size}")
    keep = ~np.isnan(v)
    codes, n_units = _codes(u[keep])
    v = v[keep]
    m = np.bincount(codes, minlength=n_units).astype(np.float64)
    pairable = m[codes] >= 2
    codes, v = codes[pairable], v[pairable]
    codes, n_units = _codes(codes)
    m = np.bincount(codes, minlength=n_units).astype(np.float64)
    mean = np.bincount(codes, weights=v, minlength=n_units) / np.maximum(m, 1)
    ss = np.bincount(codes, weights=(v - mean[codes]) ** 2, minlength=n_units).astype(np.float64)
    return m, mean, ss, v


def alpha_interval(units: npt.ArrayLike, values: npt.ArrayLike) -> float:
    """Krippendorff's interval alpha from long-form ``(unit, value)`` pairs; NaN if undefined."""
    m, _, ss, v = _unit_sums(units, values)
    n = v.size
    if n < 2:
        return float("nan")
    ss_total = float(((v - v.mean()) ** 2).sum())
    if ss_total == 0:
        return float("nan")  # no variation at all: agreement is undefined
    d_o = 2.0 / n * float((m * ss / (m - 1)).sum())
    d_e = 2.0 * ss_total / (n - 1)
    return 1.0 - d_o / d_e


def alpha_interval_matrix(matrix: npt.ArrayLike) -> float:
    """Interval alpha of a reliability matrix, (units, raters), NaN where a rater gave nothing."""
    data = np.asarray(matrix, dtype=np.float64)
    units = np.repeat(np.arange(data.shape[0]), data.shape[1])
    return alpha_interval(units, data.ravel())


@dataclass(frozen=True, slots=True)
class Icc:
    icc1: float  # ICC(1,1): reliability of one rating
    icck: float  # ICC(1,k): reliability of the mean of k ratings
    k: float  # ratings per unit (k0 when unequal)
    units: int
    msb: float  # between-units mean square
    msw: float  # within-units mean square


def icc_oneway(units: npt.ArrayLike, values: npt.ArrayLike) -> Icc:
    """One-way random-effects ICC(1,1) and ICC(1,k) over units with at least two values."""
    m, mean, ss, v = _unit_sums(units, values)
    a, n = m.size, v.size
    nan = float("nan")
    if a < 2 or n <= a:
        return Icc(nan, nan, nan, a, nan, nan)
    grand = v.mean()
    msb = float((m * (mean - grand) ** 2).sum()) / (a - 1)
    msw = float(ss.sum()) / (n - a)
    k0 = (n - float((m**2).sum()) / n) / (a - 1)
    icc1 = (msb - msw) / (msb + (k0 - 1) * msw) if msb + (k0 - 1) * msw else nan
    icck = (msb - msw) / msb if msb else nan
    return Icc(icc1, icck, k0, a, msb, msw)


@dataclass(frozen=True, slots=True)
class Leniency:
    """Least-squares fit of ``y = proposal effect + expert offset``, one column of y per measure.

    ``offsets`` (experts, measures) and ``effects`` (proposals, measures) in points, offsets
    centred per component; ``component`` (experts,) and ``proposal_component`` (proposals,)
    the connected component of each; ``counts`` (experts,) evaluations per expert;
    ``residual_sd`` (components, measures), NaN where the component has no spare degrees of
    freedom; ``se_factor`` (experts,): the standard error of an offset is ``se_factor`` times
    the component's residual SD (NaN when the offset is not identified, e.g. a lone expert).
    """

    offsets: FloatArray
    effects: FloatArray
    component: IntArray
    proposal_component: IntArray
    counts: IntArray
    residual_sd: FloatArray
    se_factor: FloatArray


def fit_leniency(proposal: IntArray, expert: IntArray, y: FloatArray, n_proposals: int,
                 n_experts: int) -> Leniency:
    """``proposal``, ``expert`` (n,) codes, ``y`` (n, measures) points, one row per evaluation.

    Least squares through the normal equations with the proposal effects eliminated: the
    expert block ``S = D_e − Bᵀ D_p⁻¹ B`` (B: proposals × experts incidence, D the evaluation
    counts) is a graph Laplacian, singular once per connected component; one expert per
    component is held at 0, the rest solved by sparse LU (all measures at once), then offsets are
    centred per component. Same minimiser as LSQR on the full design, without its iterations.
    """
    # scipy's sparse linear algebra takes a while to import; only this fit needs it
    from scipy.sparse import coo_matrix, csr_matrix, diags
    from scipy.sparse.csgraph import connected_components
    from scipy.sparse.linalg import splu

    n = proposal.size
    y2 = np.asarray(y, dtype=np.float64)
    y2 = y2 if y2.ndim == 2 else y2[:, None]
    measures = y2.shape[1]
    b = csr_matrix((np.ones(n), (proposal, expert)), shape=(n_proposals, n_experts))
    graph = coo_matrix((np.ones(n), (proposal, n_proposals + expert)),
                       shape=(n_proposals + n_experts,) * 2)
    n_comp, labels = connected_components(graph, directed=False)
    p_comp, e_comp = labels[:n_proposals].astype(np.int64), labels[n_proposals:].astype(np.int64)
    counts = np.bincount(expert, minlength=n_experts).astype(np.int64)
    per_proposal = np.bincount(proposal, minlength=n_proposals).astype(np.float64)
    y_p = np.stack([np.bincount(proposal, weights=y2[:, j], minlength=n_proposals)
                    for j in range(measures)], axis=1)
    y_e = np.stack([np.bincount(expert, weights=y2[:, j], minlength=n_experts)
                    for j in range(measures)], axis=1)
    w = csr_matrix(b.multiply(1.0 / per_proposal[:, None]))  # D_p⁻¹ B
    s = (diags(counts.astype(np.float64)) - b.T @ w).tocsc()
    rhs = y_e - w.T @ y_p
    # Hold the first expert of each component at 0: the rest of S is then positive definite.
    _, first = np.unique(e_comp, return_index=True)
    free = np.ones(n_experts, dtype=bool)
    free[first] = False
    offsets = np.zeros((n_experts, measures))
    grounded = s[free][:, free].tocsc() if free.any() else None
    if grounded is not None:
        offsets[free] = splu(grounded).solve(rhs[free])
    experts_per_comp = np.bincount(e_comp, minlength=n_comp).astype(np.float64)
    for j in range(measures):
        shift = np.bincount(e_comp, weights=offsets[:, j], minlength=n_comp)
        offsets[:, j] -= (shift / np.maximum(experts_per_comp, 1))[e_comp]
    effects = (y_p - b @ offsets) / np.maximum(per_proposal, 1)[:, None]
    residual = y2 - effects[proposal] - offsets[expert]
    eval_comp = p_comp[proposal]
    params = np.bincount(p_comp, minlength=n_comp) + experts_per_comp - 1
    dof = np.bincount(eval_comp, minlength=n_comp) - params
    sd = np.full((n_comp, measures), np.nan)
    ok = dof > 0
    for j in range(measures):
        rss = np.bincount(eval_comp, weights=residual[:, j] ** 2, minlength=n_comp)
        sd[ok, j] = np.sqrt(rss[ok] / dof[ok])
    return Leniency(offsets, effects, e_comp, p_comp, counts, sd,
                    _se_factor(grounded, free, e_comp, counts))


# Experts; the exact standard errors need a dense inverse, above this 1/√n approximates them.
MAX_EXACT_SE = 2500


def _se_factor(grounded: csc_matrix | None, free: npt.NDArray[np.bool_], e_comp: IntArray,
               counts: IntArray) -> FloatArray:
    """sqrt(diag(S⁺)): the grounded inverse X (0 on held experts) centred per component,
    diag(J X J)_i = X_ii − 2 (X 1_c)_i / n_c + 1_cᵀ X 1_c / n_c² (X is block-diagonal)."""
    n_experts = free.size
    experts_in_comp = np.bincount(e_comp)[e_comp]
    if n_experts > MAX_EXACT_SE or grounded is None:
        out = 1.0 / np.sqrt(np.maximum(counts, 1).astype(np.float64))
    else:
        x = np.zeros((n_experts, n_experts))
        x[np.ix_(free, free)] = np.linalg.inv(grounded.toarray())
        row = x.sum(axis=1)
        block = np.bincount(e_comp, weights=row)[e_comp]
        n_c = experts_in_comp.astype(np.float64)
        var = np.diag(x) - 2 * row / n_c + block / n_c**2
        out = np.sqrt(np.clip(var, 0, None))
    out[experts_in_comp < 2] = np.nan
    return out.astype(np.float64)
