"""What a provider gets from a deviation: the outside options and batched payoff evaluation.

For provider i and a profile of the others' schemes, user j's **outside option** is the
best value she gets elsewhere, ``V_out[j] = max_{o ≠ i} V_j(σ_o^j)``, and the provider
the users' tie rule would send her to, ``o_j``. Provider i's payoff from user j is

    E_{μ_j}[U_i(j, a, y)]                 (mode "actions": whoever she consulted)
    1[j uses i] · E_{μ_j}[U_i(j, a, y)]   (mode "usage")

where μ_j is her outcome (MODEL.md §2). :func:`deviation_payoffs` evaluates these for a
batch of candidate schemes of provider i **under the users' own rule** (the functions of
:mod:`pluralign.model.users`), so that every payoff a best response reports as *attained*
is computed the same way as the users' response to a profile.

>>> import numpy as np
>>> from pluralign.catalog import load
>>> from pluralign.model.schemes import Profile, full_revelation, no_information
>>> m = load("match_mismatch")
>>> prof = Profile.uniform("anonymous", no_information(2), 2, 2)
>>> out = outside_options(m, prof, provider=0)
>>> out.value.tolist(), out.chosen.tolist(), out.wins_tie.tolist(), out.preferred.tolist()
([0.5, 0.5], [1, 1], [True, True], [-inf, -inf])
>>> pay, chosen = deviation_payoffs(m, prof, 0, full_revelation(2)[None])
>>> pay.tolist(), chosen.tolist()           # both users switch; matcher matches, mismatcher does not
([[1.0, 0.0]], [[0, 0]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from pluralign.model.market import Market
from pluralign.model.schemes import Profile
from pluralign.model.users import DEFAULT_RULE, ResponseRule, choose_providers, outcomes, scheme_values

__all__ = [
    "Mode",
    "Ties",
    "Outside",
    "Thresholds",
    "outside_options",
    "thresholds",
    "deviation_payoffs",
    "user_payoffs",
    "check_mode",
    "check_rule",
    "check_ties",
]

Mode = Literal["actions", "usage"]
Ties = Literal["rule", "deviator"]


def check_ties(ties: str) -> None:
    if ties not in ("rule", "deviator"):
        raise ValueError(f"ties must be 'rule' or 'deviator', got {ties!r}")


def check_mode(mode: str) -> None:
    if mode not in ("actions", "usage"):
        raise ValueError(f"mode must be 'actions' or 'usage', got {mode!r}")


def check_rule(rule: ResponseRule) -> None:
    """Best responses assume best-responding users (the persuasion LP's obedience)."""
    if rule.quantal_beta is not None:
        raise ValueError(
            "exact best responses assume users who best-respond; quantal users (quantal_beta="
            f"{rule.quantal_beta}) are not supported — use a rule without quantal_beta"
        )


@dataclass(frozen=True, eq=False)
class Outside:
    """User j's options outside provider i, under the users' tie rule.

    * ``value[j]`` — V_out: the best value among the other providers (−inf if there are none);
    * ``chosen[j]`` — the provider she would use if i does not attract her (−1 if none);
    * ``payoff[j]`` — what i gets from j when she goes to ``chosen[j]`` (0 in usage mode);
    * ``payoff_bound[j]`` — the largest such payoff over the other providers within
      ``2·tol`` of V_out (robust to the tolerance window of the provider tie rule);
    * ``wins_tie[j]`` — whether i would win a tie at V_out against those providers;
    * ``preferred[j]`` — the best value among the other providers the provider tie rule
      prefers to i (lower indices under "lowest"), −inf if there are none: to be chosen,
      i must beat it by more than the tolerance.
    """

    provider: int
    value: np.ndarray
    chosen: np.ndarray
    payoff: np.ndarray
    payoff_bound: np.ndarray
    wins_tie: np.ndarray
    preferred: np.ndarray

    @property
    def exists(self) -> bool:
        """False when i is the only provider (every user must use i)."""
        return bool(np.all(self.chosen >= 0))


def user_payoffs(market: Market, profile: Profile, rule: ResponseRule = DEFAULT_RULE) -> tuple[np.ndarray, np.ndarray]:
    """``(values[i, j], W[o, j, i'])``: every scheme's value for every user, and
    ``W[o, j, i'] = E[U_{i'}(j, ·)]`` under the outcome of user j consulting provider o."""
    sigma = profile.per_user(market.n_users)
    values = scheme_values(market.P, market.u, sigma)
    mu = outcomes(market.P, market.u, sigma, rule)  # [o, j, a, y]
    W = np.einsum("ojay,kjay->ojk", mu, market.U)
    return values, W


def outside_options(
    market: Market,
    profile: Profile,
    provider: int,
    rule: ResponseRule = DEFAULT_RULE,
    mode: Mode = "actions",
    tables: tuple[np.ndarray, np.ndarray] | None = None,
) -> Outside:
    """Outside options of every user for ``provider`` (see :class:`Outside`).

    ``tables`` may pass :func:`user_payoffs` of the profile, computed once for several calls.
    """
    check_mode(mode)
    k, m = market.n_providers, market.n_users
    others = [o for o in range(k) if o != provider]
    if not others:
        empty = np.full(m, -np.inf)
        return Outside(provider, empty, np.full(m, -1), np.zeros(m), np.full(m, -np.inf), np.ones(m, dtype=bool), empty)
    values, W = user_payoffs(market, profile, rule) if tables is None else tables
    vo = values[others]  # [k-1, j]
    best = vo.max(axis=0)
    chosen = np.asarray(others)[choose_providers(vo, rule)]
    cols = np.arange(m)
    payoff = W[chosen, cols, provider] if mode == "actions" else np.zeros(m)
    near = vo >= best - 2 * rule.tol
    if mode == "actions":
        payoff_bound = np.where(near, W[others][:, :, provider], -np.inf).max(axis=0)
    else:
        payoff_bound = np.zeros(m)
    tied = vo >= best - rule.tol
    idx = np.asarray(others)[:, None]
    if rule.provider_tie == "lowest":
        wins = ~np.any(tied & (idx < provider), axis=0)
    else:
        wins = ~np.any(tied & (idx > provider), axis=0)
    better = idx < provider if rule.provider_tie == "lowest" else idx > provider
    preferred = np.where(better, vo, -np.inf).max(axis=0)
    return Outside(provider, best, chosen, payoff, payoff_bound, wins, preferred)


@dataclass(frozen=True, eq=False)
class Thresholds:
    """Bounds on provider i's value V_j(σ) that decide whether user j consults i.

    ``attract[j]``/``leave[j]``: V_j(σ) ≥ attract[j] is necessary for j to come to i,
    V_j(σ) ≤ leave[j] for her to stay away (relaxations, for the supremum; ``attract = +inf``:
    she cannot be attracted). ``attract_strict``/``leave_strict`` are sufficient, with a
    margin δ > tol, for the explicit deviation. −inf in ``attract`` means no constraint.
    """

    attract: np.ndarray
    leave: np.ndarray
    attract_strict: np.ndarray
    leave_strict: np.ndarray
    ties: str


def thresholds(market: Market, out: Outside, rule: ResponseRule, ties: Ties, delta: float) -> Thresholds:
    """Participation thresholds under the provider tie rule (``ties="rule"``) or with every
    tie resolved for the deviator (``ties="deviator"``).

    With V = V_out, Vp = ``out.preferred``, tol = ``rule.tol``, i is chosen iff
    V_i ≥ V − tol and V_i > Vp + tol. Relaxed (closures, and −tol for the gap between a
    scheme's value and its recommendation form): attract ``max(V − 2tol, Vp)`` (+inf if
    OPT_j ≤ Vp + tol), leave ``max(V − tol, Vp + tol)``; deviator: ``V − 2tol`` and ``V + tol``.
    Strict (both): attract ``max(V, Vp + δ)``, leave ``max(V − δ, Vp)``.
    """
    check_ties(ties)
    m = market.n_users
    if not out.exists:
        free = np.full(m, -np.inf)
        return Thresholds(free, free, free, free, ties)
    V, Vp, tol = out.value, out.preferred, rule.tol
    if ties == "deviator":
        attract, leave = V - 2 * tol, V + tol
    else:
        opt = np.einsum("xy,jay->jxa", market.P, market.u).max(axis=-1).sum(axis=-1)
        attract = np.where(opt > Vp + tol, np.maximum(V - 2 * tol, Vp), np.inf)
        leave = np.maximum(V - tol, Vp + tol)
    return Thresholds(attract, leave, np.maximum(V, Vp + delta), np.maximum(V - delta, Vp), ties)


def deviation_payoffs(
    market: Market,
    profile: Profile,
    provider: int,
    candidates: np.ndarray,
    rule: ResponseRule = DEFAULT_RULE,
    mode: Mode = "actions",
    tables: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Provider i's per-user payoff if it plays each candidate, the others fixed.

    ``candidates`` is ``[c, x, s]`` (one scheme for every user) or ``[c, j, x, s]``
    (one scheme per user). Returns ``(payoff[c, j], chosen[c, j])``: what i gets from
    user j (unweighted by p_j) and the provider j then uses, all under ``rule``.
    ``tables``: :func:`user_payoffs` of the profile, if already computed.
    """
    check_mode(mode)
    k, m = market.n_providers, market.n_users
    cand = np.asarray(candidates, dtype=float)
    if cand.ndim == 3:
        cand = np.broadcast_to(cand[:, None], (cand.shape[0], m) + cand.shape[1:])
    if cand.ndim != 4 or cand.shape[1] != m:
        raise ValueError(f"candidates must be [c, x, s] or [c, {m}, x, s], got shape {np.shape(candidates)}")
    n_c = cand.shape[0]
    Vc = scheme_values(market.P, market.u, cand)  # [c, j]
    mu_c = outcomes(market.P, market.u, cand, rule)  # [c, j, a, y]
    from_i = np.einsum("cjay,jay->cj", mu_c, market.U[provider])
    if k == 1:
        return from_i, np.zeros((n_c, m), dtype=int)
    values, W = user_payoffs(market, profile, rule) if tables is None else tables
    allv = np.broadcast_to(values[:, None, :], (k, n_c, m)).copy()
    allv[provider] = Vc
    chosen = choose_providers(allv, rule)  # [c, j]
    if mode == "actions":
        elsewhere = W[chosen, np.arange(m)[None, :], provider]
    else:
        elsewhere = np.zeros((n_c, m))
    return np.where(chosen == provider, from_i, elsewhere), chosen
