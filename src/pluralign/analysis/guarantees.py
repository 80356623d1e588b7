"""The guarantees of docs/model.md §9, checked numerically on verified equilibria.

**A (personalized).** If user j's Weak Market Alignment error is ε_j (weights λ^j ≥ 0),
then in every equilibrium

    E[u_j] ≥ OPT_j − 2 ε_j − Σ_i λ^j_i η_i / p_j ,

where η_i is provider i's certified regret (0 at an exact equilibrium; the last term
is the approximate-equilibrium correction of §10). *Why:* any provider may offer j
alone full revelation; she switches (with the tie in the deviator's favour) and gets
OPT_j, others untouched, so p_j(E_{μ*}[U_i(j)] − E_μ[U_i(j)]) ≤ η_i; weighting by λ^j
and using the ε_j-fit on both outcomes gives the bound.

**C (anonymous).** If Strong Market Alignment holds with error ε_S (common weights λ),
then in every anonymous equilibrium

    Σ_j p_j (OPT_j − E[u_j]) ≤ 2 ε_S + Σ_i λ_i η_i .

Per user this implies gap_j ≤ (2ε_S + Σ_i λ_i η_i)/p_j, reported as the user's bound.

**Ties.** The proofs let the deviating provider win ties. Verified equilibria are
certified against deviations that win every *action* tie; provider ties follow the
users' rule (``ties="rule"``, default) or go to the deviator (``ties="deviator"``).
A holds under both: if the full-revelation deviation cannot attract user j because the
rule prefers a provider offering her more than OPT_j − tol, she is at OPT_j already.
C's proof needs *every* below-benchmark user to follow the anonymous deviation, so with
``ties="rule"`` it can fail in markets with exact ties; verify with ``ties="deviator"``
for the theorem's setting. Every check records the rule and the ``ties`` setting. A
profile that is *not* verified is reported with ``applies=False``.

ε values may be given (arrays or floats, e.g. from a construction); otherwise they
are computed by :mod:`pluralign.analysis.alignment` (imported only then).

>>> from pluralign.catalog import load
>>> from pluralign.analysis.game import ProviderGame
>>> game = ProviderGame(load("match_mismatch"), "anonymous")
>>> v = game.verify(game.uninformative())
>>> c = guarantee_c(v)
>>> c.applies, round(c.aggregate_gap, 9), round(c.aggregate_bound, 6), c.holds   # ε_S = ½: C allows gap 1
(True, 0.5, 1.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pluralign.analysis.alignment import strong_alignment, weak_alignment
from pluralign.analysis.game import Verification
from pluralign.analysis.solvers.results import EquilibriumSearch
from pluralign.html import table
from pluralign.model.market import Market
from pluralign.model.users import ResponseRule

__all__ = [
    "GuaranteeCheck",
    "wma_epsilons",
    "sma_epsilon",
    "guarantee_a",
    "guarantee_c",
    "check_guarantee",
    "check_search",
    "SearchGuarantees",
    "assess",
    "STATEMENT_A",
    "STATEMENT_C",
]

STATEMENT_A = "A (personalized): E[u_j] >= OPT_j - 2 eps_j (WMA, per user) in every equilibrium"
STATEMENT_C = "C (anonymous): sum_j p_j (OPT_j - E[u_j]) <= 2 eps_S (SMA) in every equilibrium"
TIE_NOTE = (
    "payoffs under the users' rule; regrets are suprema with action ties won by the deviator "
    "and provider ties per 'ties' (rule: the users' rule; deviator: won by the deviator)"
)


def wma_epsilons(market: Market, variant: str = "cone") -> tuple[np.ndarray, np.ndarray | None]:
    """``(ε[j], λ[j, i])`` of Weak Market Alignment, from :mod:`pluralign.analysis.alignment`."""
    res = weak_alignment(market, variant=variant)
    weights = getattr(res, "weights", None)
    return np.asarray(res.epsilon, dtype=float), None if weights is None else np.asarray(weights, dtype=float)


def sma_epsilon(market: Market) -> tuple[float, np.ndarray | None]:
    """``(ε_S, λ[i])`` of Strong Market Alignment, from :mod:`pluralign.analysis.alignment`."""
    res = strong_alignment(market)
    weights = getattr(res, "weights", None)
    return float(res.epsilon), None if weights is None else np.asarray(weights, dtype=float)


@dataclass(frozen=True, eq=False)
class GuaranteeCheck:
    """One guarantee checked on one profile.

    ``bound[j]`` is the lower bound on user j's utility the guarantee implies,
    ``holds_user[j]`` whether her utility reaches it (within ``tol``); for C,
    ``aggregate_gap``/``aggregate_bound`` are the two sides of the aggregate inequality
    and ``holds`` refers to it. ``applies`` is False when the profile is not a verified
    equilibrium (the theorem then says nothing).
    """

    guarantee: str
    statement: str
    market: Market
    regime: str
    applies: bool
    utilities: np.ndarray
    opt: np.ndarray
    epsilon: np.ndarray | float
    slack: np.ndarray | float
    bound: np.ndarray
    aggregate_gap: float
    aggregate_bound: float
    holds_user: np.ndarray
    holds: bool
    rule: ResponseRule
    ties: str
    tol: float

    @property
    def gap(self) -> np.ndarray:
        return self.opt - self.utilities

    def to_dict(self) -> dict:
        m = self.market
        eps = self.epsilon
        return {
            "guarantee": self.guarantee,
            "statement": self.statement,
            "applies": self.applies,
            "holds": self.holds,
            "epsilon": eps.tolist() if isinstance(eps, np.ndarray) else float(eps),
            "aggregate_gap": self.aggregate_gap,
            "aggregate_bound": self.aggregate_bound,
            "users": {
                name: {
                    "utility": float(self.utilities[j]),
                    "opt": float(self.opt[j]),
                    "gap": float(self.gap[j]),
                    "bound": float(self.bound[j]),
                    "bound_holds": bool(self.holds_user[j]),
                }
                for j, name in enumerate(m.users)
            },
            "tie_rule": {**self.rule.describe(), "ties": self.ties, "guarantee": TIE_NOTE},
            "tol": self.tol,
        }

    def _repr_html_(self) -> str:
        m = self.market
        state = "holds" if self.holds else "FAILS"
        rows = [(u, self.utilities[j], self.opt[j], self.bound[j], "yes" if self.holds_user[j] else "NO")
                for j, u in enumerate(m.users)]
        return table(f"Guarantee {self.guarantee} {state} (applies: {self.applies}): {self.statement}",
                     ("user", "utility", "OPT", "bound", "reached"), rows)

    def __repr__(self) -> str:
        state = "holds" if self.holds else "FAILS"
        scope = "" if self.applies else " (profile not verified: the guarantee does not apply)"
        if self.guarantee == "A":
            detail = f"utilities {np.round(self.utilities, 6).tolist()} >= bounds {np.round(self.bound, 6).tolist()}"
        else:
            detail = f"aggregate gap {self.aggregate_gap:.6g} <= {self.aggregate_bound:.6g}"
        return f"GuaranteeCheck({self.guarantee} {state}: {detail}{scope})"


def _regrets(v: Verification) -> np.ndarray:
    return np.maximum(np.asarray(v.regret, dtype=float), 0.0)


def guarantee_a(
    verification: Verification,
    *,
    epsilon=None,
    weights=None,
    tol: float = 1e-6,
) -> GuaranteeCheck:
    """Guarantee A per user: ``E[u_j] ≥ OPT_j − 2ε_j − Σ_i λ^j_i η_i / p_j`` (module docstring).

    ``epsilon``: per-user ε_j (array or float); ``weights[j, i]``: the WMA weights (for
    the approximate-equilibrium term; omitted → that term is 0). Both default to
    :func:`wma_epsilons` of the market.
    """
    v = verification
    m = v.market
    if epsilon is None:
        epsilon, computed = wma_epsilons(m)
        weights = computed if weights is None else weights
    eps = np.broadcast_to(np.asarray(epsilon, dtype=float), (m.n_users,)).copy()
    eta = _regrets(v)
    if weights is not None:
        lam = np.broadcast_to(np.asarray(weights, dtype=float), (m.n_users, m.n_providers))
        slack = (lam @ eta) / m.p
    else:
        slack = np.zeros(m.n_users)
    bound = v.opt - 2 * eps - slack
    holds_user = v.utilities >= bound - tol
    gap = v.opt - v.utilities
    return GuaranteeCheck(
        guarantee="A",
        statement=STATEMENT_A,
        market=m,
        regime=v.regime,
        applies=bool(v.verified and v.regime == "personalized"),
        utilities=v.utilities,
        opt=v.opt,
        epsilon=eps,
        slack=slack,
        bound=bound,
        aggregate_gap=float(m.p @ gap),
        aggregate_bound=float(m.p @ (2 * eps + slack)),
        holds_user=holds_user,
        holds=bool(np.all(holds_user)),
        rule=v.game.rule,
        ties=v.game.ties,
        tol=tol,
    )


def guarantee_c(
    verification: Verification,
    *,
    epsilon=None,
    weights=None,
    tol: float = 1e-6,
) -> GuaranteeCheck:
    """Guarantee C: ``Σ_j p_j gap_j ≤ 2ε_S + Σ_i λ_i η_i`` (module docstring).

    ``epsilon``: ε_S (float); ``weights[i]``: the common SMA weights. Both default to
    :func:`sma_epsilon` of the market.
    """
    v = verification
    m = v.market
    if epsilon is None:
        epsilon, computed = sma_epsilon(m)
        weights = computed if weights is None else weights
    eps = float(epsilon)
    eta = _regrets(v)
    slack = float(np.asarray(weights, dtype=float) @ eta) if weights is not None else 0.0
    gap = v.opt - v.utilities
    total = float(m.p @ gap)
    allowed = 2 * eps + slack
    bound = v.opt - allowed / m.p
    return GuaranteeCheck(
        guarantee="C",
        statement=STATEMENT_C,
        market=m,
        regime=v.regime,
        applies=bool(v.verified and v.regime == "anonymous"),
        utilities=v.utilities,
        opt=v.opt,
        epsilon=eps,
        slack=slack,
        bound=bound,
        aggregate_gap=total,
        aggregate_bound=allowed,
        holds_user=v.utilities >= bound - tol,
        holds=bool(total <= allowed + tol),
        rule=v.game.rule,
        ties=v.game.ties,
        tol=tol,
    )


def check_guarantee(verification: Verification, *, epsilon=None, weights=None, tol: float = 1e-6) -> GuaranteeCheck:
    """Guarantee A for a personalized profile, C for an anonymous one."""
    check = guarantee_a if verification.regime == "personalized" else guarantee_c
    return check(verification, epsilon=epsilon, weights=weights, tol=tol)


def alignment_errors(market: Market, regime: str):
    """``(ε, weights)`` the regime's guarantee uses: WMA per user (personalized) or SMA (anonymous)."""
    return wma_epsilons(market) if regime == "personalized" else sma_epsilon(market)


def check_search(search: EquilibriumSearch, *, epsilon=None, weights=None, tol: float = 1e-6) -> list[GuaranteeCheck]:
    """The applicable guarantee for every equilibrium of a search (ε computed once)."""
    if epsilon is None:
        epsilon, weights = alignment_errors(search.market, search.regime)
    return [check_guarantee(e.verification, epsilon=epsilon, weights=weights, tol=tol) for e in search.equilibria]


@dataclass(frozen=True, eq=False)
class SearchGuarantees:
    """An equilibrium search with the regime's guarantee checked on every candidate
    (what ``pluralign solve`` prints): ``checks[n]`` belongs to ``search.equilibria[n]``."""

    search: EquilibriumSearch
    checks: tuple[GuaranteeCheck, ...]
    epsilon: np.ndarray | float

    def verified(self) -> list[tuple[int, object, GuaranteeCheck]]:
        """``(index, equilibrium, check)`` of the verified candidates."""
        return [(n, e, c) for n, (e, c) in enumerate(zip(self.search.equilibria, self.checks)) if e.verified]

    def to_dict(self) -> dict:
        """The JSON document of ``pluralign solve --json``: the verified equilibria, each with the
        users' guarantee bounds and the guarantee's verdict, and the number of unverified candidates."""
        equilibria = []
        for _, eq, check in self.verified():
            d = eq.to_dict()
            g = check.to_dict()
            for name, row in d["users"].items():
                row["bound"] = g["users"][name]["bound"]
                row["bound_holds"] = g["users"][name]["bound_holds"]
            d["guarantee"] = {k: g[k] for k in ("guarantee", "statement", "applies", "holds", "epsilon", "aggregate_gap", "aggregate_bound")}
            equilibria.append(d)
        out = self.search.to_dict(verified_only=True)
        out["equilibria"] = equilibria
        out["unverified_candidates"] = len(self.search.equilibria) - len(self.search.verified)
        return out

    def _repr_html_(self) -> str:
        rows = [(n, c.guarantee, "holds" if c.holds else "FAILS", c.aggregate_gap, c.aggregate_bound)
                for n, _, c in self.verified()]
        return self.search._repr_html_() + table("guarantees on verified equilibria",
                                                 ("#", "guarantee", "verdict", "aggregate gap", "allowed"), rows)


def assess(search: EquilibriumSearch, *, tol: float = 1e-6) -> SearchGuarantees:
    """Check the regime's guarantee (A or C) on every candidate of ``search``."""
    epsilon, weights = alignment_errors(search.market, search.regime)
    checks = check_search(search, epsilon=epsilon, weights=weights, tol=tol)
    return SearchGuarantees(search, tuple(checks), epsilon)
