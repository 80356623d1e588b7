"""The answer every best-response strategy gives: :class:`BestResponse` (docs/model.md §8).

Three payoffs of provider i, each weighted by the users' masses:

* ``bound`` — the **supremum** of Π_i over every deviation (the certificate behind
  "verified"; ties resolved as the game's ``ties`` setting says, action ties for the deviator);
* ``value`` — what the explicit deviation ``policy`` **attains** under the users' own rule;
* ``current`` — Π_i at the profile.

so that ``current ≤ value ≤ bound`` and ``regret_bound = bound − current`` is what a
certificate needs, ``regret = value − current`` a gain a deviation really gets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from pluralign.model.schemes import Profile, trim_signals
from pluralign.model.users import ResponseRule

__all__ = ["BestResponse", "BoundLP", "finish"]


@dataclass(frozen=True, eq=False)
class BoundLP:
    """One linear program behind a supremum, with its solution (evidence for certificates).

    ``label`` says which user or attracted set it belongs to; ``lp`` and ``result`` are the
    :class:`~pluralign.lp.LinearProgram` and its :class:`~pluralign.lp.LPResult` (duals included).
    """

    label: str
    lp: object
    result: object


@dataclass(frozen=True, eq=False)
class BestResponse:
    """Provider ``provider``'s best response to the others' policies (module docstring).

    ``policy`` is the explicit deviation, the provider's items in the profile's layout:
    ``[j, x, s]`` (personalized), ``[x, s]`` (anonymous), ``[j, r, x, s]`` / ``[q, x, s]`` with
    menus. Per-user, unweighted versions of the payoffs are ``user_value``,
    ``user_bound`` (NaN where the strategy has no per-user bound) and ``user_current``;
    ``share[j]`` is the probability that user j consults the provider under the deviation.
    ``exact`` says the bound is the exact supremum (False for the heuristic, whose bound is
    valid but possibly loose); with ``bound=False`` requests it is NaN. ``evidence`` holds
    the bound's linear programs when the game was asked to keep them.
    """

    provider: int
    regime: str
    mode: str
    method: str
    exact: bool
    policy: np.ndarray
    value: float
    bound: float
    current: float
    user_value: np.ndarray
    user_bound: np.ndarray
    user_current: np.ndarray
    share: np.ndarray
    rule: ResponseRule
    margin: float
    ties: str
    lp_solves: int
    seconds: float
    note: str = ""
    evidence: tuple[BoundLP, ...] = field(default=(), repr=False)

    @property
    def scheme(self) -> np.ndarray:
        """Alias of :attr:`policy`."""
        return self.policy

    @property
    def attracted(self) -> np.ndarray:
        """``attracted[j]``: user j consults the provider (at least in part) under the deviation."""
        return self.share > 0

    @property
    def regret(self) -> float:
        """Gain of the explicit deviation under the users' rule (≥ 0)."""
        return self.value - self.current

    @property
    def regret_bound(self) -> float:
        """Largest gain of any deviation (the certificate)."""
        return self.bound - self.current

    @property
    def tie_gap(self) -> float:
        """``bound − value``: what the explicit deviation leaves to ties and margins."""
        return self.bound - self.value

    def apply(self, profile: Profile, users=None) -> Profile:
        """The profile with this provider's policy replaced by the deviation (for ``users`` only, if given)."""
        return profile.with_policy(self.provider, self.policy, users)

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
            "share": [float(s) for s in self.share],
            "tie_rule": self.rule.describe(),
            "ties": self.ties,
            "margin": self.margin,
            "lp_solves": self.lp_solves,
            "seconds": self.seconds,
            "note": self.note,
        }

    def _repr_html_(self) -> str:
        from pluralign.html import table

        rows = [("value (attained)", self.value), ("bound (supremum)", self.bound), ("current", self.current),
                ("regret bound", self.regret_bound)]
        return table(f"Best response of provider {self.provider} ({self.method})", ("", "payoff"), rows)

    def __repr__(self) -> str:
        kind = "exact" if self.exact else "not certified"
        return (
            f"BestResponse(provider {self.provider}, {self.regime}, value {self.value:.6g}, "
            f"bound {self.bound:.6g}, current {self.current:.6g}, regret_bound {self.regret_bound:.3g}, {kind})"
        )


def finish(
    problem,
    *,
    method: str,
    exact: bool,
    policy: np.ndarray,
    kind_value: np.ndarray,
    kind_share: np.ndarray,
    bound: float,
    kind_bound: np.ndarray | None,
    lp_solves: int,
    started: float,
    note: str = "",
    evidence: tuple = (),
) -> BestResponse:
    """Assemble a :class:`BestResponse` from a strategy's answer to a ``DeviationProblem``.

    ``kind_*`` arrays are per user kind (per unit of her mass); the result reports them per
    user type (``Σ_z P(z) ·``) and weighted by the masses. ``policy`` is the provider's items:
    ``[Q, x, s]``, reported in the profile's own layout. The bound is raised to the attained
    value where round-off left it below (both are reported; the gap is solver tolerance,
    never a missed deviation).
    """
    mass = problem.kinds.mass
    value = float(mass @ kind_value)
    items = trim_signals(np.asarray(policy, dtype=float))
    shaped = items.reshape(problem.profile.item_shape + items.shape[-2:])
    nan = np.full(problem.market.n_users, np.nan)
    return BestResponse(
        provider=problem.provider,
        regime=problem.profile.regime,
        mode=problem.mode,
        method=method,
        exact=exact,
        policy=shaped,
        value=value,
        bound=float(max(bound, value)) if np.isfinite(bound) else float(bound),
        current=float(mass @ problem.current),
        user_value=problem.to_users(np.asarray(kind_value, dtype=float)),
        user_bound=nan if kind_bound is None else problem.to_users(np.asarray(kind_bound, dtype=float)),
        user_current=problem.to_users(problem.current),
        share=problem.to_users(np.asarray(kind_share, dtype=float)),
        rule=problem.rule,
        margin=problem.margin,
        ties=problem.ties,
        lp_solves=lp_solves,
        seconds=time.perf_counter() - started,
        note=note,
        evidence=tuple(evidence),
    )
