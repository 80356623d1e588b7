"""Best responses user by user: one persuasion LP per user (docs/model.md §8, personalized regime).

When a provider's policy can treat every user separately and a user's choice depends only
on the schemes offered to her, provider i's payoff is a sum over users and its best
response is found user by user. With the thresholds of :mod:`pluralign.analysis.deviations`,
i either **leaves** user j where she is (payoff ``payoff_bound[j]`` for the supremum;
possible only when some scheme keeps her away, ``can_leave[j]``) or **attracts** her with

    max_σ Σ_{x,a,y} P(x,y) σ(x,a) U_i(j,a,y)
    s.t.  σ(x,·) ∈ Δ(A),
          Σ_{x,y} P(x,y) σ(x,a) [u_j(a,y) − u_j(a',y)] ≥ δ_a · P(rec a)   (obedience, a ≠ a')
          Σ_{x,a,y} P(x,y) σ(x,a) u_j(a,y) ≥ threshold_j                  (participation)

(:func:`pluralign.analysis.persuasion.build_persuasion_lp`). For the **bound** the threshold is
the relaxed ``attract[j]`` and δ_a = −tol_j (action ties for the deviator); for the **attained**
deviation the strict ``attract_strict[j]`` and δ_a = δ_j (0 under ``action_tie="recommended"``).
The current scheme, "copy the outside provider's scheme" and "no information" are candidates
too, so ``value ≥ current``; every candidate is scored under the users' rule.

All users' LPs of one provider are solved together in one kept-alive, warm-started HiGHS
model (:class:`PersuasionModels`).

>>> from pluralign.catalog import load
>>> from pluralign.analysis.deviations import deviation_problem
>>> from pluralign.model.schemes import Profile, no_information
>>> m = load("prosecutor")
>>> prob = deviation_problem(m, Profile.uniform("personalized", no_information(2), 2, 1), 0)
>>> br = per_user_response(prob, PersuasionModels(m))
>>> round(br.bound, 6), round(br.current, 6)   # persuasion: conviction 0.6 (the judge acquits otherwise)
(0.6, 0.0)
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
import scipy.sparse as sp

from pluralign.analysis.deviations import DeviationProblem
from pluralign.analysis.persuasion import build_persuasion_lp
from pluralign.analysis.responses.result import BestResponse, finish
from pluralign.lp import INF, TRUSTED, LinearProgram, LPError, LPModel, solve_lp, solve_robust
from pluralign.model.market import Market
from pluralign.model.schemes import clean_rows, pad_signals
from pluralign.model.users import unit_utilities

__all__ = [
    "Backend",
    "BACKENDS",
    "PersuasionModels",
    "per_user_response",
    "persuasion_blocks",
    "strictly_obedient_revelation",
    "schemes_from_solutions",
    "KEEP_TOL",
]

Backend = Literal["highs", "highs-per-user", "highs-fresh", "scipy"]
BACKENDS = ("highs", "highs-per-user", "highs-fresh", "scipy")
KEEP_TOL = 1e-9  # a candidate must beat the current scheme by more than this to replace it
ELASTIC_PENALTY = 1e3


def strictly_obedient_revelation(P: np.ndarray, u: np.ndarray, margin) -> np.ndarray:
    """``ok[j]``: recommending user j's best action at each x is obedient with ``margin[j]``
    (the best action beats every other by ``margin·P(x)``), so her margin LP is feasible."""
    margin = np.broadcast_to(np.asarray(margin, dtype=float), (u.shape[0],))
    Eu = np.einsum("xy,jay->jxa", P, u)
    top = np.sort(Eu, axis=-1)
    gap = top[..., -1] - top[..., -2] if u.shape[1] > 1 else np.full(top.shape[:-1], np.inf)
    return np.all(gap >= margin[:, None] * P.sum(axis=1)[None, :], axis=1)


def persuasion_blocks(P: np.ndarray, u: np.ndarray, margin=0.0) -> sp.csc_matrix:
    """The persuasion LPs of all users ``u[j, a, y]`` side by side (block diagonal), elastic.

    Block j has columns ``[sigma_j[x, a] (x·n_a + a), e_j]`` and the rows of
    :func:`~pluralign.analysis.persuasion.build_persuasion_lp` — simplex (n_x),
    obedience (one per ordered pair a ≠ a'), participation — with the slack ``e_j``
    added to the participation row: ``value_j(sigma_j) + e_j ≥ threshold_j``. With a cost
    −``ELASTIC_PENALTY``·e_j every block stays feasible; e_j > 0 flags a user whose
    participation cannot be met (solved again exactly on her own). ``margin`` is the
    obedience margin, one for all users or one per user.
    """
    n_x, n_y = P.shape
    m, n_a, _ = u.shape
    margin = np.broadcast_to(np.asarray(margin, dtype=float), (m,))
    Px = P.sum(axis=1)
    Eu = np.einsum("xy,jay->jxa", P, u)  # [j, x, a]
    pairs = [(a, b) for a in range(n_a) for b in range(n_a) if a != b]
    n_col = n_x * n_a + 1
    n_row = n_x + len(pairs) + 1
    base_r = np.repeat(np.arange(n_x), n_a)  # simplex rows: row x has ones on x*n_a + a
    base_c = np.arange(n_x * n_a)
    base_v = np.ones(n_x * n_a)
    if pairs:
        ob_rows = np.concatenate([np.full(n_x, n_x + r) for r in range(len(pairs))])
        ob_cols = np.concatenate([np.arange(n_x) * n_a + a for a, _ in pairs])
        a_idx = np.array([a for a, _ in pairs])
        b_idx = np.array([b for _, b in pairs])
        ob_vals = Eu[:, :, a_idx] - Eu[:, :, b_idx] - margin[:, None, None] * Px[None, :, None]  # [j, x, pair]
        ob_vals = ob_vals.transpose(0, 2, 1).reshape(m, -1)  # [j, pair-major then x]
    else:  # one action: no obedience rows
        ob_rows = ob_cols = np.zeros(0, dtype=int)
        ob_vals = np.zeros((m, 0))
    part_r = np.full(n_x * n_a + 1, n_row - 1)
    part_c = np.arange(n_x * n_a + 1)
    part_v = np.concatenate([Eu.reshape(m, -1), np.ones((m, 1))], axis=1)  # [j, n_col]
    r_one = np.concatenate([base_r, ob_rows, part_r])
    c_one = np.concatenate([base_c, ob_cols, part_c])
    k1, k2 = base_r.size, ob_rows.size
    data = np.empty((m, r_one.size))
    data[:, :k1] = base_v
    data[:, k1 : k1 + k2] = ob_vals
    data[:, k1 + k2 :] = part_v
    R = (r_one[None, :] + n_row * np.arange(m)[:, None]).ravel()
    C = (c_one[None, :] + n_col * np.arange(m)[:, None]).ravel()
    return sp.csc_matrix((data.ravel(), (R, C)), shape=(m * n_row, m * n_col))


class PersuasionModels:
    """Solves the per-user persuasion LPs of one market, reusing HiGHS models.

    Backends:

    * ``"highs"`` (default): for each (provider, obedience margins) one kept-alive HiGHS
      model holds every user's LP side by side (:func:`persuasion_blocks`); a solve
      changes only the participation bounds and HiGHS warm-starts from the previous
      basis (a new provider's model starts from another provider's basis). Users whose
      elastic slack is used are re-solved exactly on their own;
    * ``"highs-per-user"``: one kept-alive model per (user, margin), costs changed per provider;
    * ``"highs-fresh"`` and ``"scipy"``: every LP built and solved from scratch (HiGHS,
      or :func:`scipy.optimize.linprog`), for comparison and as a fallback.

    A solve the warm-started model cannot settle is retried from scratch and then with
    scipy (:meth:`pluralign.lp.LPModel.solve`); only if all fail is :class:`~pluralign.lp.LPError` raised.

    Thresholds and margins are given in the users' own units; the programs state each user's
    rows in units of her utility range (:func:`~pluralign.model.users.unit_utilities`), so that
    solver tolerances mean the same for a user whose utilities differ by 1e-4 as for one whose
    differ by 1.
    """

    def __init__(self, market: Market, backend: Backend = "highs"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
        self.market = market
        self.u, self.low, self.scale = unit_utilities(market.u)
        self.backend = backend
        self._models: dict[tuple, LPModel] = {}
        self._blocks: dict[bytes, sp.csc_matrix] = {}
        self._solved_blocks: dict[bytes, LPModel] = {}
        self.solves = 0

    # one user at a time ----------------------------------------------------
    def solve(self, user: int, U: np.ndarray, participation: float, obey_margin: float, *, relaxed: bool = False):
        """``(objective, x)`` of the persuasion LP for ``user`` with provider utility ``U[a, y]``,
        or ``(None, None)`` if infeasible. ``participation`` may be −inf. ``relaxed=True``
        (an LP behind a supremum): an "infeasible" answer is confirmed from scratch."""
        m = self.market
        self.solves += 1
        participation = (participation - self.low[user]) / self.scale[user]
        obey_margin = obey_margin / self.scale[user]
        if self.backend in ("highs", "highs-per-user"):
            key = ("user", user, float(obey_margin))
            model = self._models.get(key)
            if model is None:
                lp = build_persuasion_lp(m.P, self.u[user], U, participation=0.0, margin=obey_margin)
                model = self._models[key] = LPModel(lp)
            else:
                model.set_costs(np.einsum("xy,ay->xa", m.P, U).ravel())
            model.set_row_bounds([model.lp.num_rows - 1], participation, INF)
            res = model.solve(confirm_infeasible=relaxed)
        else:
            part = None if not np.isfinite(participation) else float(participation)
            lp = build_persuasion_lp(m.P, self.u[user], U, participation=part, margin=obey_margin)
            res = solve_robust(lp) if self.backend == "highs-fresh" else _scipy_first(lp)
        if res.status in ("infeasible", "infeasible_or_unbounded"):
            return None, None
        if not res.optimal:
            raise LPError(f"persuasion LP (user {user}): status {res.status!r} after retries from scratch and with scipy")
        return res.objective, res.x

    # every user of one provider ----------------------------------------------
    def solve_all(self, provider: int, participation: np.ndarray, obey_margin, *, relaxed: bool = False):
        """Every user's persuasion LP for ``provider``: ``(objective[j], x[j, x·n_a + a])``, NaN where
        infeasible or where ``participation[j] = +inf``. ``obey_margin``: one number or one per user."""
        m = self.market
        n_u, n_x, n_a = m.n_users, m.n_observations, m.n_actions
        margin = np.broadcast_to(np.asarray(obey_margin, dtype=float), (n_u,))
        obj = np.full(n_u, np.nan)
        X = np.full((n_u, n_x * n_a), np.nan)
        skip = np.isposinf(participation)
        part = np.where(skip, -np.inf, participation)
        if self.backend != "highs":
            todo = range(n_u)
        else:
            costs = np.einsum("xy,jay->jxa", m.P, m.U[provider]).reshape(n_u, -1)
            todo = self._solve_blocks(provider, costs, (part - self.low) / self.scale, margin / self.scale, obj, X)
        for j in todo:
            if skip[j]:
                continue
            o, x = self.solve(j, m.U[provider, j], part[j], margin[j], relaxed=relaxed)
            if x is not None:
                obj[j], X[j] = o, x[: n_x * n_a]
        obj[skip], X[skip] = np.nan, np.nan
        return obj, X

    def _hard(self, margin: np.ndarray) -> np.ndarray:
        if not np.any(margin > 0):
            return np.zeros(self.market.n_users, dtype=bool)
        return (margin > 0) & ~strictly_obedient_revelation(self.market.P, self.u, margin)

    def _solve_blocks(self, provider, costs, participation, margin, obj, X) -> list[int]:
        """The block model (thresholds and margins in unit utilities); returns the users to solve alone."""
        m = self.market
        n_u, n_x, n_a = m.n_users, m.n_observations, m.n_actions
        n_col, n_row = n_x * n_a + 1, n_x + n_a * (n_a - 1) + 1
        mkey = margin.tobytes()
        key = ("blocks", provider, mkey)
        hard = self._hard(margin)
        model = self._models.get(key)
        if model is None:
            A = self._blocks.get(mkey)
            if A is None:
                # users whose margin LP might be infeasible get margin 0 here and are redone alone
                A = self._blocks[mkey] = persuasion_blocks(m.P, self.u, np.where(hard, 0.0, margin))
            c = np.concatenate([costs, np.full((n_u, 1), -ELASTIC_PENALTY)], axis=1).ravel()
            lo = np.tile(np.concatenate([np.ones(n_x), np.zeros(n_row - n_x)]), n_u)
            hi = np.tile(np.concatenate([np.ones(n_x), np.full(n_row - n_x, INF)]), n_u)
            col_hi = np.tile(np.concatenate([np.ones(n_x * n_a), [INF]]), n_u)
            lp = LinearProgram(c, A, lo, hi, np.zeros(n_u * n_col), col_hi, "max", 0.0)
            model = LPModel(lp)
            sibling = self._solved_blocks.get(mkey)
            if sibling is not None:  # same constraints, other costs: its basis is primal feasible
                model.set_basis(sibling.basis())
            self._models[key] = model
        rows = np.arange(n_u) * n_row + n_row - 1
        model.set_row_bounds(rows, participation, INF)
        res = model.solve()
        self.solves += n_u
        self._solved_blocks[mkey] = model
        if not res.optimal:  # the elastic program is always feasible: solve everyone alone
            return list(range(n_u))
        x = res.x.reshape(n_u, n_col)
        slack = x[:, -1]
        X[:] = x[:, :-1]
        obj[:] = np.einsum("jk,jk->j", costs, X)
        # strict obedience may be infeasible for some users, and a used slack means the
        # participation bound was not met: solve those users exactly on their own
        redo = np.flatnonzero((slack > 1e-9) | hard)
        X[redo] = np.nan
        obj[redo] = np.nan
        return redo.tolist()


def _scipy_first(lp: LinearProgram):
    res = solve_lp(lp, backend="scipy")
    return res if res.status in TRUSTED else solve_lp(lp, backend="highs")


def schemes_from_solutions(X: np.ndarray, fallback: np.ndarray, n_x: int, n_a: int, width: int) -> np.ndarray:
    """LP solutions ``X[j]`` (NaN rows = infeasible) as schemes ``[j, x, width]``; ``fallback`` where infeasible."""
    S = pad_signals(clean_rows(np.nan_to_num(X, nan=0.0).reshape(-1, n_x, n_a)), width)
    ok = ~np.isnan(X).any(axis=1)
    return np.where(ok[:, None, None], S, fallback)


def per_user_response(problem: DeviationProblem, models: PersuasionModels, *, bound: bool = True) -> BestResponse:
    """The best response user by user (module docstring). ``bound=False`` skips the relaxed
    LPs (the supremum), e.g. inside dynamics, and reports ``bound = nan``."""
    started = time.perf_counter()
    m, i = problem.market, problem.provider
    if models.market is not m:
        raise ValueError("models were built for another market")
    n_u, n_x, n_a = m.n_users, m.n_observations, m.n_actions
    solves_before = models.solves
    th, out = problem.thresholds, problem.outside
    sig = problem.profile.items()[:, problem.layout.truthful]  # [i, j, x, s]: one item per user
    obey = np.zeros(n_u) if problem.rule.action_tie == "recommended" else problem.delta
    width = max(n_a, sig.shape[-1])
    current = pad_signals(sig[i], width)
    _, X_att = models.solve_all(i, th.attract_strict, obey)
    attained = schemes_from_solutions(X_att, current, n_x, n_a, width)
    cols = np.arange(n_u)
    copy = pad_signals(sig[np.where(out.chosen >= 0, out.chosen, i), cols], width)
    noinfo = np.zeros_like(current)
    noinfo[..., 0] = 1.0
    cands = [current, copy, noinfo, attained]
    if bound:
        lp_bound, X_rel = models.solve_all(i, th.attract, -problem.tol, relaxed=True)
        lp_bound = np.where(np.isnan(lp_bound), -np.inf, th.own_weight * lp_bound + th.attract_const)
        cands.append(schemes_from_solutions(X_rel, current, n_x, n_a, width))
    stack = np.stack(cands)
    pay, share = problem.evaluate(stack)
    best = np.argmax(pay, axis=0)
    best = np.where(pay[best, cols] > pay[0] + KEEP_TOL, best, 0)
    value = pay[best, cols]
    if bound:
        leave = np.where(th.can_leave, out.payoff_bound, -np.inf)
        user_bound = np.maximum.reduce([leave, lp_bound, value])
    else:
        user_bound = np.full(n_u, np.nan)
    return finish(
        problem,
        method="persuasion LP per user",
        exact=bool(bound),
        policy=stack[best, cols],
        kind_value=value,
        kind_share=share[best, cols],
        bound=float(m.p @ user_bound) if bound else float("nan"),
        kind_bound=user_bound if bound else None,
        lp_solves=models.solves - solves_before,
        started=started,
    )
