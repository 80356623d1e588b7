"""What a provider faces when it deviates: outside options, tie thresholds, and the payoff
of any candidate deviation under the users' rule (docs/model.md §8).

Fix every provider's policy but provider i's. Everything here is per user *kind* k (a user
type, or a type with a private observation: :mod:`pluralign.model.kinds`; without private
observations kinds are users), and a provider's policy is a list of *items* (one scheme per
user type, one for everyone, or one per report with menus). Kind k's **outside option** is
the best value she gets elsewhere, ``V_out[k] = max_{o ≠ i}`` (her best item at o). Whether she consults i
depends on i's value ``V_i`` for her and on the provider tie rule, with her tolerance
``tol_j`` (:func:`pluralign.model.users.tolerances`):

* ``lowest``/``highest``: with ``Vp`` the best value among the other providers the rule
  prefers to i, she consults i iff ``V_i ≥ V_out − tol_j`` and no preferred provider is tied
  with the best;
* ``uniform``: she consults i alone iff ``V_i > V_out + tol_j``, splits equally between i and
  the tied others when ``|V_i − V_out| ≤ tol_j``, and stays away iff ``V_i < V_out − tol_j``.

:class:`Thresholds` turn this into linear constraints on V_i. The **relaxed** thresholds
(for the supremum, the certificate) contain every value at which she can come to i
(``attract``) or stay away (``leave``), widened by ``tol_j`` for the gap between a scheme's
value and the value of following its recommendations; with ``ties="deviator"`` every
provider tie is won by the deviator. Under ``uniform`` a split payoff is a convex
combination of i's own payoff and the tied others', so it never exceeds the better of the
two: the supremum is approached by winning her outright, and the relaxed thresholds are
those of ``ties="deviator"``. The **strict** thresholds (for an explicit deviation that
must work under the users' own rule) keep a margin ``δ_j = max(margin, 10·rule.tol)·scale_j``
away from every tie.

:meth:`DeviationProblem.evaluate` scores candidate deviations with the users' own response
functions (:mod:`pluralign.model.users`), splits included, so every payoff a best response
reports as *attained* is computed exactly as the users' response to a profile.

>>> from pluralign.catalog import load
>>> from pluralign.model.schemes import Profile, full_revelation, no_information
>>> m = load("match_mismatch")
>>> prob = deviation_problem(m, Profile.uniform("anonymous", no_information(2), 2, 2), 0)
>>> prob.outside.value.tolist(), prob.outside.chosen.tolist(), prob.outside.payoff.tolist()
([0.5, 0.5], [1, 1], [0.5, 0.5])
>>> pay, share = prob.evaluate(full_revelation(2)[None])
>>> pay.tolist(), share.tolist()           # both users switch; the matcher matches, the mismatcher does not
([[1.0, 0.0]], [[1.0, 1.0]])
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pluralign.analysis.benchmarks import noinfo_kinds, opt_kinds
from pluralign.model.kinds import Kinds, Layout, kinds_of, layout_of
from pluralign.model.market import Market
from pluralign.model.schemes import Profile
from pluralign.model.users import (
    ResponseRule,
    choose_items,
    kind_response,
    outcomes,
    provider_shares,
    scheme_values,
    tolerances,
    utility_scales,
)

__all__ = [
    "Mode",
    "Ties",
    "MODES",
    "TIES",
    "Outside",
    "Thresholds",
    "DeviationProblem",
    "outside_options",
    "thresholds",
    "deviation_problem",
    "outcome_payoffs",
]

Mode = Literal["actions", "usage"]
Ties = Literal["rule", "deviator"]
MODES = ("actions", "usage")
TIES = ("rule", "deviator")


def outcome_payoffs(market: Market, profile: Profile, rule: ResponseRule) -> tuple[np.ndarray, np.ndarray]:
    """``(values[o, k], W[o, k, i'])``: every provider's value for every kind (her best item there),
    and ``W[o, k, i'] = E[U_{i'}(j_k, ·)]`` under the outcome of kind k consulting provider o."""
    kinds = kinds_of(market)
    kr = kind_response(kinds, layout_of(market, profile.regime, profile.menus), profile.items(), rule)
    return kr.values, np.einsum("okay,ikay->oki", kr.provider_outcomes, kinds.U)


def _rule_pick(mask: np.ndarray, others: np.ndarray, rule: ResponseRule) -> np.ndarray:
    """Index (into ``others``) the rule picks among ``mask[o, j]`` (lowest/highest provider index)."""
    order = np.argsort(others)
    m = mask[order]
    if rule.provider_tie == "highest":
        return order[m.shape[0] - 1 - np.argmax(m[::-1], axis=0)]
    return order[np.argmax(m, axis=0)]


@dataclass(frozen=True, eq=False)
class Outside:
    """User j's options outside provider i, under the users' rule.

    * ``value[j]`` — V_out: the best value among the other providers (−inf if there are none);
    * ``chosen[j]`` — the provider she consults when i's value is below the tie window
      (under ``uniform``, the lowest of those she splits between; −1 if none);
    * ``payoff[j]`` — what i then gets from her (her split averaged; 0 in usage mode);
    * ``payoff_bound[j]`` — the most i can get from her in any outcome in which she is not
      with i alone: every way the tie window can resolve (sets of the top-valued others,
      with or without i) — the leave payoff of the supremum;
    * ``preferred[j]`` — under ``lowest``/``highest``, the best value among the others the
      rule prefers to i (−inf if none; −inf under ``uniform``);
    * ``tie_weight[j]``, ``tie_const[j]`` — under ``uniform``, i's payoff from her when she
      splits between i and tied others is ``own/(|S'|+1) + Σ_{o∈S'} W_o/(|S'|+1)`` for a set S'
      of top-valued others; it is at most ``tie_weight·own + tie_const`` (the largest share
      and the largest constant over those sets; 1 and 0 under the other rules).
    """

    provider: int
    value: np.ndarray
    chosen: np.ndarray
    payoff: np.ndarray
    payoff_bound: np.ndarray
    preferred: np.ndarray
    tie_weight: np.ndarray
    tie_const: np.ndarray

    @property
    def exists(self) -> bool:
        """False when i is the only provider (every user must use i)."""
        return bool(np.all(self.chosen >= 0))


def outside_options(
    market: Market,
    provider: int,
    rule: ResponseRule,
    mode: Mode,
    tables: tuple[np.ndarray, np.ndarray],
) -> Outside:
    """Outside options of every kind for ``provider`` (see :class:`Outside`); ``tables`` from :func:`outcome_payoffs`."""
    kinds = kinds_of(market)
    k, m = market.n_providers, kinds.n_kinds
    others = np.array([o for o in range(k) if o != provider], dtype=int)
    if others.size == 0:
        none = np.full(m, -np.inf)
        return Outside(provider, none, np.full(m, -1), np.zeros(m), np.full(m, -np.inf), none, np.ones(m), np.zeros(m))
    values, W = tables
    tol = tolerances(kinds.u, rule)
    vo = values[others]  # [r, j]
    best = vo.max(axis=0)
    near = vo >= best - tol  # the others tied with the best when i's value is low
    cols = np.arange(m)
    Wi = W[others][:, :, provider] if mode == "actions" else np.zeros(vo.shape)  # [r, j]

    def payoff_of(mask: np.ndarray, with_i: bool) -> np.ndarray:
        """i's payoff when the tied set is ``mask`` (plus i if ``with_i``), i not counted; −inf where i is picked."""
        if rule.provider_tie == "uniform":
            return (mask * Wi).sum(axis=0) / np.maximum(mask.sum(axis=0), 1)
        pick = _rule_pick(mask, others, rule)
        pay = Wi[pick, cols]
        if with_i:
            beats = others[pick] < provider if rule.provider_tie == "lowest" else others[pick] > provider
            pay = np.where(beats, pay, -np.inf)
        return pay

    base = payoff_of(near, with_i=False)
    bound = base.copy()
    tie_weight, tie_const = np.ones(m), np.zeros(m)
    if rule.provider_tie == "uniform":
        tie_weight = 1.0 / (near.sum(axis=0) + 1.0)
        tie_const = (near * Wi).sum(axis=0) / (near.sum(axis=0) + 1.0)
    # The tied set with i in the window: all of `near` while V_i ≤ V; for V_i ∈ (V, V + tol], the top
    # set {o : v_o ≥ V_i − tol}. The top set of threshold v_r is reachable iff some scheme's value
    # V_i ≤ OPT_j exceeds max(V, lower_r + tol), lower_r the next lower value in `near`.
    top_opt = opt_kinds(market)
    for r in range(others.size):
        top = near & (vo >= vo[r][None, :])
        lower = np.where(near & (vo < vo[r][None, :]), vo, -np.inf).max(axis=0)
        reachable = near[r] & (np.isneginf(lower) | (top_opt > np.maximum(best, lower + tol)))
        bound = np.where(reachable, np.maximum(bound, payoff_of(top, with_i=True)), bound)
        if rule.provider_tie == "uniform":
            size = top.sum(axis=0) + 1.0
            tie_weight = np.where(reachable, np.maximum(tie_weight, 1.0 / size), tie_weight)
            tie_const = np.where(reachable, np.maximum(tie_const, (top * Wi).sum(axis=0) / size), tie_const)
    chosen = others[_rule_pick(near, others, rule if rule.provider_tie != "uniform" else ResponseRule())]
    if rule.provider_tie == "uniform":
        preferred = np.full(m, -np.inf)
    else:
        better = others < provider if rule.provider_tie == "lowest" else others > provider
        preferred = np.where(better[:, None], vo, -np.inf).max(axis=0)
    return Outside(provider, best, chosen, base, bound, preferred, tie_weight, tie_const)


@dataclass(frozen=True, eq=False)
class Thresholds:
    """Bounds on provider i's value V_j(σ) that decide whether user j consults it (module docstring).

    Relaxed (the supremum): ``attract[j]`` — V_j ≥ attract[j] is necessary for her to come
    (+inf: the rule never sends her to i; −inf: no constraint); ``leave[j]`` — V_j ≤ leave[j]
    is necessary for her to stay away (−inf: she cannot stay away). Strict (an explicit
    deviation under the users' rule): ``attract_strict``/``leave_strict`` are sufficient.
    ``can_leave[j]``: some scheme keeps her away (its least value, NOINFO_j, is ≤ leave[j]).
    Attracting her is worth ``own_weight[j]·own + attract_const[j]`` to i, where ``own`` is what
    i earns from her own outcome: 1 and 0, except under ``uniform`` ties (``ties="rule"``) for a
    user no scheme can win outright (OPT_j ≤ V_out + tol_j): she can at best split, and
    ``Outside.tie_weight``/``tie_const`` bound the split payoff.
    """

    attract: np.ndarray
    leave: np.ndarray
    attract_strict: np.ndarray
    leave_strict: np.ndarray
    can_leave: np.ndarray
    own_weight: np.ndarray
    attract_const: np.ndarray
    ties: str


def thresholds(market: Market, out: Outside, rule: ResponseRule, ties: Ties, delta: np.ndarray) -> Thresholds:
    """Participation thresholds (module docstring) with user tolerances ``tol_j`` and margins ``delta[j]``.

    With V = V_out, Vp = ``out.preferred``: relaxed under ``lowest``/``highest`` (ties="rule"):
    attract ``max(V − 2tol, Vp)`` (+inf if OPT_j ≤ Vp + tol), leave ``max(V − tol, Vp + tol)``;
    under ``uniform`` or ``ties="deviator"``: attract ``V − 2tol``, leave ``V + tol``.
    Strict: ``lowest``/``highest``: attract ``max(V, Vp + δ)``, leave ``max(V − δ, Vp)``;
    ``uniform``: attract ``V + δ`` (``V``, a tie, for a user no scheme can win outright), leave ``V − δ``.
    """
    kinds = kinds_of(market)
    m = kinds.n_kinds
    if not out.exists:
        free, never = np.full(m, -np.inf), np.full(m, -np.inf)
        return Thresholds(free, never, free, never, np.zeros(m, dtype=bool), np.ones(m), np.zeros(m), ties)
    tol = tolerances(kinds.u, rule)
    V, Vp = out.value, out.preferred
    if ties == "deviator" or rule.provider_tie == "uniform":
        attract, leave = V - 2 * tol, V + tol
    else:
        attract = np.where(opt_kinds(market) > Vp + tol, np.maximum(V - 2 * tol, Vp), np.inf)
        leave = np.maximum(V - tol, Vp + tol)
    own_weight, attract_const = np.ones(m), np.zeros(m)
    if rule.provider_tie == "uniform":
        # a user no scheme can win outright (OPT_j ≤ V_out + tol) can at best split between i and the others
        unwinnable = opt_kinds(market) <= V + tol
        attract_strict, leave_strict = np.where(unwinnable, V, V + delta), V - delta
        if ties == "rule":
            own_weight = np.where(unwinnable, out.tie_weight, 1.0)
            attract_const = np.where(unwinnable, out.tie_const, 0.0)
    else:
        attract_strict, leave_strict = np.maximum(V, Vp + delta), np.maximum(V - delta, Vp)
    can_leave = noinfo_kinds(market) <= leave
    return Thresholds(attract, leave, attract_strict, leave_strict, can_leave, own_weight, attract_const, ties)


@dataclass(frozen=True, eq=False)
class DeviationProblem:
    """Everything provider ``provider`` faces at ``profile``: the question a best-response
    strategy answers (:mod:`pluralign.analysis.responses`). Arrays are per user kind.

    ``values[o, k]``/``W[o, k, i']`` are :func:`outcome_payoffs` of the profile; ``tol[k]``
    the kinds' tolerances; ``delta[k]`` the strict margins; ``current[k]`` what i gets from
    kind k now (under the rule, per unit of her mass); ``kinds`` and ``layout`` say who the
    kinds are and which of i's items each can use.
    """

    market: Market
    profile: Profile
    provider: int
    rule: ResponseRule
    mode: str
    ties: str
    margin: float
    values: np.ndarray
    W: np.ndarray
    tol: np.ndarray
    delta: np.ndarray
    outside: Outside
    thresholds: Thresholds
    current: np.ndarray
    kinds: Kinds
    layout: Layout

    def evaluate(self, candidates) -> tuple[np.ndarray, np.ndarray]:
        """``(payoff[c, k], share[c, k])``: what i gets from kind k (per unit of her mass) and the
        probability she consults i, if i plays candidate c — one scheme for every item ``[c, x, s]``
        or all its items ``[c, Q, x, s]`` — the others fixed, under the users' rule."""
        return _evaluate(self, np.asarray(candidates, dtype=float))

    def policy(self) -> np.ndarray:
        """i's current items ``[Q, x, s]``."""
        return self.profile.items()[self.provider]

    def to_users(self, per_kind: np.ndarray) -> np.ndarray:
        """A per-kind array (last axis) as per user type: ``Σ_z P(z) ·`` over each type's kinds."""
        return self.kinds.to_users(per_kind)


def _evaluate(problem: DeviationProblem, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m, kinds, layout = problem.market, problem.kinds, problem.layout
    k, i = m.n_providers, problem.provider
    Q = layout.n_items
    if cand.ndim == 3:
        cand = np.broadcast_to(cand[:, None], (cand.shape[0], Q) + cand.shape[1:])
    if cand.ndim != 4 or cand.shape[1] != Q or cand.shape[2] != m.n_observations:
        raise ValueError(f"candidates must be [c, x, s] or [c, {Q}, x, s] with x = {m.n_observations}")
    P = kinds.P_common if kinds.P_common is not None else kinds.P
    if layout.single:
        chosen = cand[:, layout.truthful]  # [c, K, x, s]
        Vc = scheme_values(P, kinds.u, chosen)
    else:
        options = np.moveaxis(cand[:, layout.choices], 2, 1)  # [c, r, K, x, s]
        Vc, item = choose_items(np.moveaxis(scheme_values(P, kinds.u, options), 1, -1), layout, problem.tol)
        chosen = cand[np.arange(cand.shape[0])[:, None], item]
    own = np.einsum("ckay,kay->ck", outcomes(P, kinds.u, chosen, problem.rule), kinds.U[i])
    allv = np.broadcast_to(problem.values[:, None, :], (k,) + Vc.shape).copy()
    allv[i] = Vc
    shares = provider_shares(allv, problem.rule, problem.tol)  # [k, c, K]
    pay = shares[i] * own
    if problem.mode == "actions":
        others = [o for o in range(k) if o != i]
        pay = pay + np.einsum("ocj,oj->cj", shares[others], problem.W[others][:, :, i])
    return pay, shares[i]


def deviation_problem(
    market: Market,
    profile: Profile,
    provider: int,
    *,
    rule: ResponseRule = ResponseRule(),
    mode: Mode = "actions",
    ties: Ties = "rule",
    margin: float = 1e-6,
) -> DeviationProblem:
    """The :class:`DeviationProblem` of ``provider`` at ``profile``."""
    kinds = kinds_of(market)
    layout = layout_of(market, profile.regime, profile.menus)
    tables = outcome_payoffs(market, profile, rule)
    out = outside_options(market, provider, rule, mode, tables)
    delta = max(margin, 10 * rule.tol) * utility_scales(kinds.u)
    th = thresholds(market, out, rule, ties, delta)
    tol = tolerances(kinds.u, rule)
    stub = DeviationProblem(
        market, profile, provider, rule, mode, ties, margin, tables[0], tables[1], tol, delta, out, th,
        np.zeros(kinds.n_kinds), kinds, layout,
    )
    current, _ = stub.evaluate(stub.policy()[None])
    return dataclasses.replace(stub, current=current[0])
