"""Exact best responses with one scheme for several users, by enumerating the attracted set
(docs/model.md §8, anonymous regime).

Fix the others' schemes. Any deviation attracts some set T of users. For each T one LP
(:func:`pluralign.analysis.persuasion.build_attracted_set_lp`) over *recommendation
profiles* s ∈ A^T (one action per attracted user — enough by the revelation principle
for a public signal: every user sees the whole signal, and merging signals with the same
T-actions keeps each attracted user's obedience and only lowers the others' values):

    max   Σ_{j∈T} p_j Σ_{x,s} σ(x,s) Σ_y P(x,y) U_i(j, s_j, y)  +  Σ_{j∉T} p_j L[j]
    s.t.  Σ_s σ(x,s) = 1                                                    (each x)
          Σ_x σ(x,s) Σ_y P(x,y)[u_j(s_j,y) − u_j(a',y)] ≥ δ_a Σ_x σ(x,s) P(x)  (j∈T, each s, a'≠s_j)
          Σ_{x,s} σ(x,s) Σ_y P(x,y) u_j(s_j,y) ≥ attract_j                        (j∈T)
          t_{j,s} ≥ Σ_{x,y} P(x,y) σ(x,s) u_j(a,y)  ∀a,   Σ_s t_{j,s} ≤ leave_j     (j∉T)

The best response is the best T: 2^m LPs with up to |A|^m signals. Sets are visited in
decreasing order of the *personalized relaxation* Σ_{j∈T} p_j A[j] + Σ_{j∉T} p_j L[j]
(A[j] = the persuasion LP for j alone, a valid upper bound) and the search stops once no
remaining T can beat the best found. For the **bound** the thresholds are the relaxed
ones of :mod:`pluralign.analysis.deviations`, δ_a = −tol_j and L = ``payoff_bound`` (a user
who cannot be kept away must be in T; one who can never be attracted must not); the
**attained** deviation re-solves the best sets with the strict thresholds and margins δ_j
and is scored under the users' rule, next to the current scheme, no information, full
revelation and the other providers' schemes.

A size guard (:func:`pluralign.analysis.limits.check_size`) bounds the enumeration.

>>> from pluralign.catalog import load
>>> from pluralign.analysis.deviations import deviation_problem
>>> from pluralign.model.schemes import Profile, no_information
>>> m = load("match_mismatch")
>>> br = attracted_set_response(deviation_problem(m, Profile.uniform("anonymous", no_information(2), 2, 2), 0))
>>> round(br.bound, 6), round(br.current, 6)     # no anonymous deviation gains (docs/model.md §9 B)
(0.5, 0.5)
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from pluralign.analysis.deviations import DeviationProblem
from pluralign.analysis.limits import MAX_KINDS, MAX_SIGNALS, check_size
from pluralign.analysis.persuasion import build_attracted_set_lp
from pluralign.analysis.responses.per_user import KEEP_TOL, PersuasionModels
from pluralign.analysis.responses.result import BestResponse, BoundLP, finish
from pluralign.lp import LPError, solve_lp, solve_robust
from pluralign.model.schemes import pad_signals
from pluralign.model.users import unit_utilities

__all__ = ["attracted_set_response", "CandidatePool", "solve_set", "relaxed_persuasion", "clean_scheme"]


def clean_scheme(x: np.ndarray, n_x: int, n_s: int) -> np.ndarray:
    """The first ``n_x·n_s`` LP variables as a row-stochastic ``sigma[x, s]`` (round-off removed)."""
    s = np.clip(np.asarray(x, dtype=float)[: n_x * n_s].reshape(n_x, n_s), 0.0, 1.0)
    s[s < 1e-10] = 0.0
    sums = s.sum(axis=1, keepdims=True)
    s = np.where(sums > 0, s / np.where(sums > 0, sums, 1.0), 0.0)
    s[sums[:, 0] <= 0, 0] = 1.0
    return s


def relaxed_persuasion(problem: DeviationProblem, models: PersuasionModels) -> np.ndarray:
    """``A[j]``: i's best payoff from user j alone when attracted (the personalized relaxation,
    relaxed thresholds, split payoffs bounded as in :class:`~pluralign.analysis.deviations.Thresholds`),
    −inf where she cannot be attracted."""
    th = problem.thresholds
    obj, _ = models.solve_all(problem.provider, th.attract, -problem.tol, relaxed=True)
    return np.where(np.isnan(obj), -np.inf, th.own_weight * obj + th.attract_const)


def solve_set(problem: DeviationProblem, T: tuple, *, relaxed: bool, backend: str = "highs"):
    """Solve the LP of attracted set ``T``; returns ``(objective, scheme[x, s], lp, result)`` or Nones if infeasible."""
    m, th, out = problem.market, problem.thresholds, problem.outside
    N = [j for j in range(m.n_users) if j not in T]
    if relaxed:
        part, cap, obey = th.attract, th.leave, -problem.tol
        leave = np.where(np.isfinite(out.payoff_bound), out.payoff_bound, 0.0)
    else:
        part, cap, leave = th.attract_strict, th.leave_strict, out.payoff
        recommended = problem.rule.action_tie == "recommended" and len(T) <= 1
        obey = np.zeros(m.n_users) if recommended else problem.delta
    if any(np.isposinf(part[j]) for j in T) or any(np.isneginf(cap[j]) for j in N):
        return None, None, None, None
    weight, const = (th.own_weight, th.attract_const) if relaxed else (None, None)
    u_unit, low, scale = unit_utilities(m.u)  # users' rows in units of their utility ranges

    def unit(v):
        return (np.asarray(v, dtype=float) - low) / scale

    lp, S = build_attracted_set_lp(
        m.P, u_unit, m.U[problem.provider], m.p, T, unit(problem.outside.value), leave, participation=unit(part),
        outside_cap=unit(cap), obedience_margin=np.asarray(obey) / scale, own_weight=weight, attract_const=const,
    )
    res = solve_robust(lp) if backend != "scipy" else solve_lp(lp, backend="scipy")
    if res.status in ("infeasible", "infeasible_or_unbounded"):
        return None, None, None, None
    if not res.optimal:
        raise LPError(f"attracted-set LP {list(T)}: status {res.status!r} after a retry with scipy")
    return res.objective, clean_scheme(res.x, m.n_observations, S.shape[0]), lp, res


def _stack(schemes: list[np.ndarray]) -> np.ndarray:
    width = max(s.shape[1] for s in schemes)
    return np.stack([pad_signals(s, width) for s in schemes])


class CandidatePool:
    """Candidate schemes (one for every user) scored under the users' rule; keeps the best,
    the current scheme first on ties. Starts with the current scheme, no information, full
    revelation and every other provider's scheme."""

    def __init__(self, problem: DeviationProblem):
        self.problem = problem
        self.best_value = -np.inf
        self.best: tuple | None = None
        m = problem.market
        n_x = m.n_observations
        own = problem.profile.scheme(problem.provider)
        others = [problem.profile.scheme(o) for o in range(m.n_providers) if o != problem.provider]
        self.add([own, np.ones((n_x, 1)), np.eye(n_x)] + others)

    def add(self, schemes: list[np.ndarray], chunk: int = 256) -> None:
        for start in range(0, len(schemes), chunk):
            part = schemes[start : start + chunk]
            if not part:
                continue
            pay, share = self.problem.evaluate(_stack(part))
            totals = pay @ self.problem.market.p
            k = int(np.argmax(totals))
            if self.best is None or totals[k] > self.best_value + KEEP_TOL:
                self.best_value = float(totals[k])
                self.best = (part[k], pay[k].copy(), share[k].copy())


def attracted_set_response(
    problem: DeviationProblem,
    *,
    models: PersuasionModels | None = None,
    bound: bool = True,
    max_kinds: int = MAX_KINDS,
    max_signals: int = MAX_SIGNALS,
    max_attempts: int = 8,
    backend: str = "highs",
    keep_evidence: bool = False,
) -> BestResponse:
    """The exact best response with one scheme for every user (module docstring).

    Raises :class:`~pluralign.analysis.limits.SizeError` beyond the size guard.
    ``max_attempts`` bounds the strict LPs tried for the attained scheme. ``bound=False``
    still enumerates (the attained value needs the relaxed values to order the sets) but
    reports ``bound = nan``. ``keep_evidence`` keeps every bound LP and its solution.
    """
    started = time.perf_counter()
    m = problem.market
    check_size(m.n_users, m.n_actions, max_kinds, max_signals)
    models = PersuasionModels(m, backend if backend in ("highs", "scipy") else "highs") if models is None else models
    th, out = problem.thresholds, problem.outside
    A = relaxed_persuasion(problem, models)
    lps = m.n_users
    leave_b = np.where(th.can_leave, out.payoff_bound, -np.inf)
    pool = CandidatePool(problem)
    users = range(m.n_users)
    ub = []
    for r in range(m.n_users + 1):
        for T in itertools.combinations(users, r):
            inside = np.zeros(m.n_users, dtype=bool)
            inside[list(T)] = True
            if np.any(~np.isfinite(A[inside])) or np.any(~np.isfinite(leave_b[~inside])):
                continue
            ub.append((float(m.p[inside] @ A[inside] + m.p[~inside] @ leave_b[~inside]), T))
    ub.sort(key=lambda t: -t[0])
    best_bound = -np.inf
    solved: dict[tuple, float] = {}
    relaxed_schemes, evidence = [], []
    for upper, T in ub:
        if upper <= best_bound + 1e-12:
            break
        obj, scheme, lp, res = solve_set(problem, T, relaxed=True, backend=backend)
        lps += 1
        if keep_evidence and lp is not None:
            evidence.append((f"attracted set {list(T)}", lp, res))
        if obj is not None:
            solved[T] = obj
            relaxed_schemes.append(scheme)
            best_bound = max(best_bound, obj)
    pool.add(relaxed_schemes)
    # Attain: re-solve, with strict thresholds and margins, the sets that could still beat the
    # best explicit deviation, best relaxed value first (unsolved sets by their upper bound).
    order = sorted(((solved.get(T, upper), T) for upper, T in ub), key=lambda t: -t[0])
    attempts = 0
    for obj, T in order:
        if obj <= pool.best_value + KEEP_TOL or attempts >= max_attempts:
            break
        _, scheme, _, _ = solve_set(problem, T, relaxed=False, backend=backend)
        lps += 1
        attempts += 1
        if scheme is not None:
            pool.add([scheme])
    scheme, user_value, share = pool.best
    return finish(
        problem,
        method="exact: attracted sets x recommendation profiles",
        exact=bool(bound),
        regime="anonymous",
        policy=scheme,
        user_value=user_value,
        share=share,
        bound=float(best_bound) if bound else float("nan"),
        user_bound=np.full(m.n_users, np.nan),
        lp_solves=lps,
        started=started,
        evidence=tuple(BoundLP(*e) for e in evidence),
    )
