"""Exact provider best responses (MODEL.md §8), with ties made explicit.

Fix the other providers' policies. **Personalized regime**: provider i's payoff is a
sum over users, and user j's choice depends only on the schemes offered to her, so
i's best response is found user by user. With V_out[j] her best value elsewhere, i
either *leaves* her there (payoff E_{μ_out}[U_i(j,·)] in mode "actions", 0 in mode
"usage") or *attracts* her with the persuasion LP

    max_σ Σ_{x,a,y} P(x,y) σ(x,a) U_i(j,a,y)
    s.t.  σ(x,·) ∈ Δ(A),
          Σ_{x,y} P(x,y) σ(x,a) [u_j(a,y) − u_j(a',y)] ≥ δ_a · P(rec a)   (obedience, a ≠ a')
          Σ_{x,a,y} P(x,y) σ(x,a) u_j(a,y) ≥ V_out[j] + δ_p                (participation)

built by :func:`pluralign.analysis.persuasion.build_persuasion_lp`. All users' LPs of one
provider are solved together in one kept-alive, warm-started HiGHS model
(:class:`PersuasionModels`). **Anonymous regime**: see :mod:`pluralign.analysis.anonymous_br`.

**Ties [decision].** The LP's optimum needs the user to follow recommendations she is
indifferent about and to pick i when values tie; whether she does is the users' tie
rule (:class:`~pluralign.model.users.ResponseRule`). Every best response reports:

* ``bound`` — a **supremum** over all deviations, the certificate. Provider ties follow
  the users' rule exactly (``ties="rule"``, default: with Vp the best value among the
  providers the rule prefers to i, i must offer more than Vp + tol, so the LP takes
  participation ≥ max(V_out − 2·tol, Vp) and is dropped when OPT_j ≤ Vp + tol) or all go
  to the deviator (``ties="deviator"``: participation ≥ V_out − 2·tol, the semantics of
  the proofs of MODEL.md §9). Action ties always go to the deviator (obedience relaxed
  by the users' tolerance, δ_a = −tol): exact under ``action_tie="recommended"``, an
  upper bound under "lowest"/"highest" (exact in markets without exact ties).
* ``value`` — what an explicit deviation ``scheme`` **attains under the users' rule**,
  computed by the users' response functions. Its LP uses a margin
  δ = max(margin, 10·tol) wherever the rule would not resolve a tie for the deviator
  (participation ≥ max(V_out, Vp + δ); obedience by δ unless
  ``action_tie="recommended"``). The current scheme, "copy the outside provider's
  scheme" and "no information" are candidates too, so ``value ≥ current``.

``regret = value − current`` is a gain a deviation really gets under the rule;
``regret_bound = bound − current`` is what a certificate needs: an equilibrium is
*verified* when every provider's ``regret_bound ≤ tol``. The true supremum under the
rule lies in between (the limit of the margin LP as δ → 0); in markets without exact
ties the two differ by O(margin).

>>> from pluralign.catalog import load
>>> from pluralign.model.schemes import Profile, no_information
>>> m = load("prosecutor")
>>> br = best_response(m, Profile.uniform("personalized", no_information(2), 2, 1), provider=0)
>>> round(br.bound, 6), round(br.current, 6)   # persuasion: conviction 0.6 (judge acquits otherwise)
(0.6, 0.0)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

from pluralign.analysis.deviations import (
    Mode,
    Ties,
    check_mode,
    check_rule,
    check_ties,
    deviation_payoffs,
    outside_options,
    thresholds,
    user_payoffs,
)
from pluralign.analysis.persuasion import build_persuasion_lp
from pluralign.lp import INF, LinearProgram, LPModel, solve_lp
from pluralign.model.market import Market
from pluralign.model.schemes import Profile
from pluralign.model.users import DEFAULT_RULE, ResponseRule

__all__ = [
    "Backend",
    "BestResponse",
    "PersuasionModels",
    "best_response",
    "personalized_best_response",
    "clean_scheme",
    "DEFAULT_MARGIN",
]

Backend = Literal["highs", "highs-per-user", "highs-fresh", "scipy"]
DEFAULT_MARGIN = 1e-6
KEEP_TOL = 1e-9  # a candidate must beat the current scheme by more than this to replace it


def clean_scheme(x: np.ndarray, n_x: int, n_s: int) -> np.ndarray:
    """The first ``n_x·n_s`` LP variables as a row-stochastic ``sigma[x, s]`` (round-off removed)."""
    s = np.clip(np.asarray(x, dtype=float)[: n_x * n_s].reshape(n_x, n_s), 0.0, 1.0)
    s[s < 1e-10] = 0.0
    sums = s.sum(axis=1, keepdims=True)
    s = np.where(sums > 0, s / np.where(sums > 0, sums, 1.0), 0.0)
    s[sums[:, 0] <= 0, 0] = 1.0
    return s


def _pad_to(arr: np.ndarray, width: int) -> np.ndarray:
    return np.pad(arr, [(0, 0)] * (arr.ndim - 1) + [(0, width - arr.shape[-1])])


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class BestResponse:
    """Provider ``provider``'s best response to the others' policies.

    ``scheme`` is the deviation: ``[j, x, s]`` (personalized) or ``[x, s]`` (anonymous).
    ``value``/``bound``/``current`` are payoffs Π_i (weighted by the masses p_j):
    attained under the rule, supremum over all deviations, and at the given profile.
    Per-user (unweighted) versions are ``user_value``/``user_bound``/``user_current``.
    ``exact`` says the bound is the exact supremum (False for heuristics, whose bound
    is a valid but possibly loose upper bound).
    """

    provider: int
    regime: str
    mode: str
    method: str
    exact: bool
    scheme: np.ndarray
    value: float
    bound: float
    current: float
    user_value: np.ndarray
    user_bound: np.ndarray
    user_current: np.ndarray
    attracted: np.ndarray
    rule: ResponseRule
    margin: float
    ties: str
    lp_solves: int
    seconds: float
    note: str = ""
    info: dict = field(default_factory=dict)

    @property
    def regret(self) -> float:
        """Gain of the explicit deviation under the users' rule (≥ 0)."""
        return self.value - self.current

    @property
    def regret_bound(self) -> float:
        """Largest gain of any deviation (the certificate; provider ties per ``ties``)."""
        return self.bound - self.current

    @property
    def tie_gap(self) -> float:
        """``bound − value``: what the explicit deviation leaves to ties and margins."""
        return self.bound - self.value

    def apply(self, profile: Profile) -> Profile:
        """The profile with this provider's policy replaced by the deviation."""
        arr = profile.schemes
        width = max(arr.shape[-1], self.scheme.shape[-1])
        arr = _pad_to(arr, width).copy()
        arr[self.provider] = _pad_to(self.scheme, width)
        return Profile(profile.regime, arr)

    def to_dict(self) -> dict:
        return {
            "provider": self.provider,
            "regime": self.regime,
            "mode": self.mode,
            "method": self.method,
            "exact": self.exact,
            "value": self.value,
            "bound": self.bound,
            "current": self.current,
            "regret": self.regret,
            "regret_bound": self.regret_bound,
            "attracted": [bool(b) for b in self.attracted],
            "tie_rule": self.rule.describe(),
            "ties": self.ties,
            "margin": self.margin,
            "lp_solves": self.lp_solves,
            "seconds": self.seconds,
            "note": self.note,
        }

    def __repr__(self) -> str:
        kind = "exact" if self.exact else "not certified"
        return (
            f"BestResponse(provider {self.provider}, {self.regime}, value {self.value:.6g}, "
            f"bound {self.bound:.6g}, current {self.current:.6g}, regret_bound {self.regret_bound:.3g}, {kind})"
        )


# --------------------------------------------------------------------------- LP models


ELASTIC_PENALTY = 1e3


def strictly_obedient_revelation(P: np.ndarray, u: np.ndarray, margin: float) -> np.ndarray:
    """``ok[j]``: recommending user j's best action at each x is obedient with ``margin``
    (the best action beats every other by ``margin·P(x)``), so her margin LP is feasible."""
    Eu = np.einsum("xy,jay->jxa", P, u)
    top = np.sort(Eu, axis=-1)
    gap = top[..., -1] - top[..., -2] if u.shape[1] > 1 else np.full(top.shape[:-1], np.inf)
    return np.all(gap >= margin * P.sum(axis=1)[None, :], axis=1)


def persuasion_blocks(P: np.ndarray, u: np.ndarray, margin=0.0) -> sp.csc_matrix:
    """The persuasion LPs of all users ``u[j, a, y]`` side by side (block diagonal), elastic.

    Block j has columns ``[sigma_j[x, a] (x·n_a + a), e_j]`` and the rows of
    :func:`~pluralign.analysis.persuasion.build_persuasion_lp` — simplex (n_x),
    obedience (one per ordered pair a ≠ a'), participation — with the slack ``e_j``
    added to the participation row: ``value_j(sigma_j) + e_j ≥ V_out[j]``. With a cost
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
    rows, cols, vals = [], [], []
    xa = np.arange(n_x * n_a)
    # simplex rows: row x has ones on x*n_a + a
    rows.append(np.repeat(np.arange(n_x), n_a))
    cols.append(xa)
    vals.append(np.ones(n_x * n_a))
    base_r, base_c, base_v = [np.concatenate(v) for v in (rows, cols, vals)]
    ob_rows, ob_cols = [], []
    for r, (a, b) in enumerate(pairs):
        ob_rows.append(np.full(n_x, n_x + r))
        ob_cols.append(np.arange(n_x) * n_a + a)
    ob_rows, ob_cols = np.concatenate(ob_rows), np.concatenate(ob_cols)
    a_idx = np.array([a for a, _ in pairs])
    b_idx = np.array([b for _, b in pairs])
    ob_vals = Eu[:, :, a_idx] - Eu[:, :, b_idx] - margin[:, None, None] * Px[None, :, None]  # [j, x, pair]
    ob_vals = ob_vals.transpose(0, 2, 1).reshape(m, -1)  # [j, pair-major then x]
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

    * ``"highs"`` (default): for each (provider, obedience margin) one kept-alive HiGHS
      model holds every user's LP side by side (:func:`persuasion_blocks`); a solve
      changes only the participation bounds and HiGHS warm-starts from the previous
      basis (a new provider's model starts from another provider's basis). Users whose
      elastic slack is used are re-solved exactly on their own;
    * ``"highs-per-user"``: one kept-alive model per (user, margin), costs changed per provider;
    * ``"highs-fresh"`` and ``"scipy"``: every LP built and solved from scratch (HiGHS,
      or :func:`scipy.optimize.linprog`), for comparison and as a fallback.
    """

    BACKENDS = ("highs", "highs-per-user", "highs-fresh", "scipy")

    def __init__(self, market: Market, backend: Backend = "highs"):
        if backend not in self.BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(self.BACKENDS)}; got {backend!r}")
        self.market = market
        self.backend = backend
        self._models: dict[tuple, LPModel] = {}
        self._blocks: dict[float, sp.csc_matrix] = {}
        self._solved_blocks: dict[float, LPModel] = {}
        self.solves = 0

    # one user at a time ----------------------------------------------------
    def solve(self, user: int, costs: np.ndarray, U: np.ndarray, participation: float, obey_margin: float):
        """``(objective, x)`` of the persuasion LP for ``user``, or ``(None, None)`` if infeasible.

        ``costs`` must equal ``objective_coefficients(P, U)``; ``participation`` may be −inf.
        """
        m = self.market
        self.solves += 1
        if self.backend in ("highs", "highs-per-user"):
            key = ("user", user, float(obey_margin))
            model = self._models.get(key)
            if model is None:
                lp = build_persuasion_lp(m.P, m.u[user], U, participation=0.0, margin=obey_margin)
                model = self._models[key] = LPModel(lp)
            else:
                model.set_costs(costs)
            model.set_row_bounds([model.lp.num_rows - 1], participation, INF)
            res = model.solve()
        else:
            part = None if not np.isfinite(participation) else float(participation)
            lp = build_persuasion_lp(m.P, m.u[user], U, participation=part, margin=obey_margin)
            res = solve_lp(lp, backend="scipy" if self.backend == "scipy" else "highs")
        if res.status in ("infeasible", "infeasible_or_unbounded"):
            return None, None
        res.require_optimal(f"persuasion LP (user {user})")
        return res.objective, res.x

    # every user of one provider ----------------------------------------------
    def solve_all(self, provider: int, participation: np.ndarray, obey_margin: float) -> tuple[np.ndarray, np.ndarray]:
        """Every user's persuasion LP for ``provider``: ``(objective[j], x[j, x·n_a + a])``, NaN where infeasible."""
        m = self.market
        n_u, n_x, n_a = m.n_users, m.n_observations, m.n_actions
        costs = np.einsum("xy,jay->jxa", m.P, m.U[provider]).reshape(n_u, -1)
        obj = np.full(n_u, np.nan)
        X = np.full((n_u, n_x * n_a), np.nan)
        if self.backend != "highs":
            todo = range(n_u)
        else:
            todo = self._solve_blocks(provider, costs, participation, obey_margin, obj, X)
        for j in todo:
            o, x = self.solve(j, costs[j], m.U[provider, j], participation[j], obey_margin)
            if x is not None:
                obj[j], X[j] = o, x[: n_x * n_a]
        return obj, X

    def _hard(self, margin: float) -> np.ndarray:
        if margin <= 0:
            return np.zeros(self.market.n_users, dtype=bool)
        return ~strictly_obedient_revelation(self.market.P, self.market.u, margin)

    def _solve_blocks(self, provider, costs, participation, margin, obj, X) -> list[int]:
        m = self.market
        n_u, n_x, n_a = m.n_users, m.n_observations, m.n_actions
        n_col, n_row = n_x * n_a + 1, n_x + n_a * (n_a - 1) + 1
        key = ("blocks", provider, float(margin))
        hard = self._hard(float(margin))
        model = self._models.get(key)
        if model is None:
            A = self._blocks.get(float(margin))
            if A is None:
                # users whose margin LP might be infeasible get margin 0 here and are redone alone
                A = self._blocks[float(margin)] = persuasion_blocks(m.P, m.u, np.where(hard, 0.0, margin))
            c = np.concatenate([costs, np.full((n_u, 1), -ELASTIC_PENALTY)], axis=1).ravel()
            lo = np.tile(np.concatenate([np.ones(n_x), np.zeros(n_row - n_x)]), n_u)
            hi = np.tile(np.concatenate([np.ones(n_x), np.full(n_row - n_x, INF)]), n_u)
            col_hi = np.tile(np.concatenate([np.ones(n_x * n_a), [INF]]), n_u)
            lp = LinearProgram(c, A, lo, hi, np.zeros(n_u * n_col), col_hi, "max", 0.0)
            model = LPModel(lp)
            sibling = self._solved_blocks.get(float(margin))
            if sibling is not None:  # same constraints, other costs: its basis is primal feasible
                model.set_basis(sibling.basis())
            self._models[key] = model
        rows = np.arange(n_u) * n_row + n_row - 1
        model.set_row_bounds(rows, participation, INF)
        res = model.solve()
        self.solves += n_u
        self._solved_blocks[float(margin)] = model
        if not res.optimal:  # pragma: no cover - the elastic program is always feasible
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


# --------------------------------------------------------------------------- personalized


def personalized_best_response(
    market: Market,
    profile: Profile,
    provider: int,
    *,
    rule: ResponseRule = DEFAULT_RULE,
    mode: Mode = "actions",
    margin: float = DEFAULT_MARGIN,
    bound: bool = True,
    backend: Backend = "highs",
    models: PersuasionModels | None = None,
    ties: Ties = "rule",
) -> BestResponse:
    """Exact best response of ``provider`` in the personalized regime (module docstring).

    ``bound=False`` skips the relaxed LPs (the supremum), e.g. inside dynamics, and
    reports ``bound = nan``. ``models`` lets repeated calls share kept-alive LP models.
    ``ties`` selects the supremum's treatment of provider ties (module docstring).
    """
    started = time.perf_counter()
    check_mode(mode)
    check_rule(rule)
    check_ties(ties)
    if profile.regime != "personalized":
        raise ValueError("personalized_best_response needs a personalized profile")
    if margin < 0:
        raise ValueError(f"margin must be non-negative, got {margin}")
    m = market
    n_u, n_x, n_a = m.n_users, m.n_observations, m.n_actions
    if models is None:
        models = PersuasionModels(m, backend)
    elif models.market is not m:
        raise ValueError("models were built for another market; pass models=None or PersuasionModels(market)")
    solves_before = models.solves
    tables = user_payoffs(m, profile, rule)
    out = outside_options(m, profile, provider, rule, mode, tables)
    sig = profile.per_user(n_u)
    delta = max(margin, 10 * rule.tol)
    obey = 0.0 if rule.action_tie == "recommended" else delta
    th = thresholds(m, out, rule, ties, delta)
    part = th.attract_strict
    impossible = np.isposinf(th.attract)  # the users' rule never sends her to i
    part_relaxed = np.where(impossible, -np.inf, th.attract)

    width = max(n_a, sig.shape[-1])
    current = _pad_to(sig[provider], width)
    _, X_att = models.solve_all(provider, part, obey)
    if bound:
        lp_bound, X_rel = models.solve_all(provider, part_relaxed, -rule.tol)
        lp_bound = np.where(np.isnan(lp_bound) | impossible, -np.inf, lp_bound)
    else:
        X_rel = np.full_like(X_att, np.nan)
        lp_bound = np.full(n_u, -np.inf)
    attained = _schemes_from(X_att, current, n_x, n_a, width)
    relaxed = _schemes_from(X_rel, current, n_x, n_a, width)
    cols = np.arange(n_u)
    copy = _pad_to(sig[np.where(out.chosen >= 0, out.chosen, provider), cols], width)
    noinfo = np.zeros_like(current)
    noinfo[..., 0] = 1.0
    cands = [current, copy, noinfo, attained] + ([relaxed] if bound else [])
    pay, chosen = deviation_payoffs(m, profile, provider, np.stack(cands), rule, mode, tables)
    best = np.argmax(pay, axis=0)
    best = np.where(pay[best, cols] > pay[0] + KEEP_TOL, best, 0)
    value = pay[best, cols]
    scheme = np.stack(cands)[best, cols]
    if bound:
        leave = out.payoff_bound if out.exists else np.full(n_u, -np.inf)
        user_bound = np.maximum.reduce([leave, lp_bound, value])
        overshoot = float(np.max(value - np.maximum(leave, lp_bound)))
    else:
        user_bound = np.full(n_u, np.nan)
        overshoot = float("nan")
    scheme = _trim(scheme)
    p = m.p
    return BestResponse(
        provider=provider,
        regime="personalized",
        mode=mode,
        method="persuasion LP per user",
        exact=bool(bound),
        scheme=scheme,
        value=float(p @ value),
        bound=float(p @ user_bound),
        current=float(p @ pay[0]),
        user_value=value,
        user_bound=user_bound,
        user_current=pay[0].copy(),
        attracted=chosen[best, cols] == provider,
        rule=rule,
        margin=margin,
        ties=ties,
        lp_solves=models.solves - solves_before,
        seconds=time.perf_counter() - started,
        info={"attained_above_bound": overshoot, "backend": models.backend},
    )


def _schemes_from(X: np.ndarray, fallback: np.ndarray, n_x: int, n_a: int, width: int) -> np.ndarray:
    """LP solutions ``X[j]`` (NaN rows = infeasible) as schemes ``[j, x, width]``; ``fallback`` where infeasible."""
    S = np.clip(np.nan_to_num(X, nan=0.0).reshape(-1, n_x, n_a), 0.0, 1.0)
    S[S < 1e-10] = 0.0
    sums = S.sum(axis=-1, keepdims=True)
    S = np.where(sums > 0, S / np.where(sums > 0, sums, 1.0), 0.0)
    S = _pad_to(S, width)
    ok = ~np.isnan(X).any(axis=1)
    return np.where(ok[:, None, None], S, fallback)


def _trim(schemes: np.ndarray) -> np.ndarray:
    """Drop trailing signals never sent by any scheme in the stack."""
    used = np.flatnonzero(schemes.reshape(-1, schemes.shape[-1]).sum(axis=0) > 0)
    return schemes[..., : (used[-1] + 1 if used.size else 1)]


# --------------------------------------------------------------------------- dispatch


def best_response(
    market: Market,
    profile: Profile,
    provider: int,
    *,
    rule: ResponseRule = DEFAULT_RULE,
    mode: Mode = "actions",
    margin: float = DEFAULT_MARGIN,
    bound: bool = True,
    backend: Backend = "highs",
    models: PersuasionModels | None = None,
    method: str = "auto",
    ties: Ties = "rule",
    **anonymous_options,
) -> BestResponse:
    """Provider ``provider``'s best response in the profile's regime.

    Personalized: :func:`personalized_best_response`. Anonymous:
    :func:`pluralign.analysis.anonymous_br.anonymous_best_response` with ``method``
    ("auto", "exact" or "heuristic") and its size-guard options.
    """
    if not 0 <= provider < market.n_providers:
        raise ValueError(f"provider must be in 0..{market.n_providers - 1}, got {provider}")
    if profile.n_providers != market.n_providers:
        raise ValueError(f"profile has {profile.n_providers} providers, market has {market.n_providers}")
    if profile.schemes.shape[-2] != market.n_observations:
        raise ValueError(f"profile schemes have {profile.schemes.shape[-2]} rows, market has {market.n_observations} observations")
    if profile.regime == "personalized":
        return personalized_best_response(
            market, profile, provider, rule=rule, mode=mode, margin=margin, bound=bound, backend=backend, models=models,
            ties=ties,
        )
    from pluralign.analysis.anonymous_br import anonymous_best_response

    return anonymous_best_response(
        market, profile, provider, rule=rule, mode=mode, margin=margin, method=method, backend=backend, ties=ties,
        **anonymous_options,
    )

