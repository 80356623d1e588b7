"""Experiment ``regimes_compared``: the price of anonymity, and what menus buy back (docs/model.md §9, §14).

For one market, every pure equilibrium over partitions of X is enumerated and verified in the
four combinations of docs/model.md §14 — personalized or anonymous policies, with or without
menus (one scheme per report) — and the row records, per combination ``c`` (``pers_menus``,
``pers``, ``anon_menus``, ``anon``):

* ``c_max_gap`` — the **worst verified equilibrium gap**: ``max_j max_e (OPT_j − E_e[u_j])`` over
  the verified equilibria ``e`` the experiment finds (every in-class equilibrium of
  :func:`~pluralign.analysis.solvers.enumeration.enumerate_solve` over partitions, each verified
  against *every* deviation, plus the all-uninformative profile when it verifies);
  ``c_user_gaps`` the same per user (``"0.17,0"``); ``c_agg_gap`` the worst **mass-weighted
  gap** ``max_e Σ_j p_j gap_j``. ``None`` when no profile verifies;
* ``c_silent`` — whether "every provider uninformative" is a verified equilibrium
  (``game.verify(game.uninformative()).verified``) while OPT_j > NOINFO_j for some user;
* ``c_equilibria`` / ``c_candidates`` — verified equilibria / in-class equilibria listed;
* ``c_guarantee_holds`` — guarantee A (personalized) or C (anonymous) on every verified
  equilibrium in the setting of its proof: a profile that fails it under the users' tie rule
  is verified again with the deviator winning provider ties (``ties="deviator"``, docs/model.md
  §9); ``c_guarantee_violations`` counts those that fail *and* verify there (a theorem says 0),
  ``c_tie_exceptions`` those that fail only because a tie keeps users from the deviation;
* ``c_exact`` — every best response was exact (no heuristic);
* ``menus_help_anon`` / ``menus_help_pers`` — the worst gap without menus minus with menus in
  each regime (positive: menus helped; ``None`` when either side has no verified equilibrium).

These are worst gaps over the equilibria *found*: the class of partitions is finite, and an
equilibrium in mixed or non-partitional schemes could be worse. What is a theorem about the
four columns (docs/model.md §14.4): best-deviation values are nested, so the uninformative
profile — the same profile in all four, with the same outcome — that verifies in a richer
combination verifies in every poorer one (``silent``: personalized+menus ⇒ personalized ⇒
anonymous and personalized+menus ⇒ anonymous+menus ⇒ anonymous), and the poorer combination's
worst gap is then at least OPT − NOINFO. Without private observations personalized+menus *is*
personalized (one report per type). Worst gaps are otherwise **not** ordered by the nesting:
a richer policy space also holds new equilibria (the opposed family below has markets where
the personalized worst gap exceeds the anonymous one).

Besides: ``epsilon_max``/``epsilon_strong`` (WMA / SMA errors), ``opt``/``noinfo`` (mass-weighted),
``silent_gap`` (max_j OPT_j − NOINFO_j) and two measures of how users differ:

* ``value_spread`` — how differently user kinds value the **same** information: the largest
  difference, over pairs of kinds and a fixed probe set of schemes σ, of the share
  ``(V_k(σ) − V_k(silence)) / (V_k(full) − V_k(silence))`` of full revelation's value that σ
  delivers (kinds who value no information are left out). 0 when every scheme is worth the
  same share to everybody — as in match/mismatch, where menus cannot separate anyone;
* ``opposition`` — how opposed users' goals are: ``max_{j,k} (1 − cos(ũ_j, ũ_k)) / 2`` of the
  decision-relevant utilities ``ũ_j(a, y) = (u_j(a, y) − mean_a u_j(a, y)) √P(y)``
  (1 for match/mismatch, 0 for identical users).

Markets (``market``; ``heterogeneity`` h ∈ [0, 1] and ``noise`` η):

* ``opposed`` — generalized match/mismatch with a **strict** uninformative anonymous equilibrium
  (:func:`opposed_market`): h separates the two users' decision thresholds;
* ``opposed_private`` — the h = 0 opposed market (mirror-image users) whose users privately
  observe the state with accuracy 0.5 + 0.4h (kinds that value information differently);
* ``screening`` — two providers lobbying for the same action facing a sceptical and a loyal user
  (:func:`screening_market`): h moves the loyal user away from the sceptic;
* ``random`` — 3 states, 3 actions, two users, providers mixing alignment, opposition and a lobby
  per user (:func:`random_pair_market`): h moves the second user from the first to an independent draw;
* a bundled market name (``match_mismatch``, ``biased_pair``, ``prosecutor``, ``private_judge``,
  ``forecast``): h > 0 gives its users a private observation of the state with accuracy
  0.5 + 0.4h (replacing private_judge's own; h = 0: the market as bundled); η perturbs users'
  utilities by uniform noise (as in ``personalization_vs_anonymity``).

Users follow a recommendation they are indifferent about; provider ties go to the lowest index;
menus' reports are truthful on ties (the rule is recorded in every row).

>>> row = run(Params(market="match_mismatch"), seed=0)
>>> row["anon_silent"], row["anon_menus_silent"], row["pers_silent"], row["pers_menus_silent"]
(True, True, False, False)
>>> row["anon_max_gap"], row["anon_menus_max_gap"], row["pers_max_gap"]
(0.5, 0.5, 0.0)
"""

from __future__ import annotations

import functools
import math

import numpy as np
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pluralign import catalog
from pluralign.analysis.benchmarks import noinfo, opt
from pluralign.analysis.game import ProviderGame
from pluralign.analysis.guarantees import guarantee_a, guarantee_c, sma_epsilon, wma_epsilons
from pluralign.analysis.policies import partition_schemes
from pluralign.analysis.solvers.enumeration import enumerate_solve
from pluralign.model.kinds import kinds_of
from pluralign.model.market import Market
from pluralign.model.users import ResponseRule
from pluralign.workflows.experiments.registry import Experiment, group_rows, mean_sem, register

__all__ = [
    "Params",
    "COMBINATIONS",
    "FAMILIES",
    "make_market",
    "opposed_market",
    "screening_market",
    "random_pair_market",
    "with_private_observation",
    "value_spread",
    "opposition",
    "solve_combination",
    "run",
    "figures",
    "summary",
    "EXPERIMENT",
]

#: Users follow a recommendation they are indifferent about (suprema are attained); provider ties
#: go to the lowest index; with menus the truthful report wins ties.
RULE = ResponseRule(action_tie="recommended")
GUARANTEE_TOL = 1e-6
GAP_TOL = 1e-6
#: (column prefix, regime, menus, label) — ordered from the richest policy space to the poorest.
COMBINATIONS = (
    ("pers_menus", "personalized", True, "personalized + menus"),
    ("pers", "personalized", False, "personalized"),
    ("anon_menus", "anonymous", True, "anonymous + menus"),
    ("anon", "anonymous", False, "anonymous"),
)
FAMILIES = ("opposed", "opposed_private", "screening", "random")
#: Pairs (richer, poorer) of the nesting of docs/model.md §14.4.
NESTING = (("pers_menus", "pers"), ("pers", "anon"), ("pers_menus", "anon_menus"), ("anon_menus", "anon"))


class Params(BaseModel):
    """Task parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    market: str = Field("opposed", description="a family (opposed, opposed_private, screening, random) or a bundled market")
    heterogeneity: float = Field(0.0, ge=0.0, le=1.0, description="the family's heterogeneity knob h (bundled: private accuracy 0.5 + 0.4h)")
    noise: float = Field(0.0, ge=0.0, le=0.2, description="seeded noise η (what it perturbs depends on the market)")

    @field_validator("market")
    @classmethod
    def _known_market(cls, value: str) -> str:
        return catalog.choice(value, tuple(FAMILIES), f"a family ({', '.join(FAMILIES)})")


# --------------------------------------------------------------------------- markets


def opposed_market(seed: int, heterogeneity: float = 0.0, noise: float = 0.0) -> Market:
    """Match/mismatch generalized so that "both silent" is a **strict** anonymous equilibrium.

    Two states L, R with P(R) = π; the *matcher* gets 1 for L when L and b = (1 − t)/t for R
    when R (she plays R iff P(R) ≥ t); the *mismatcher* gets 1 for R when L and
    b₂ = (1 − t₂)/t₂ for L when R (she plays L iff P(R) ≥ t₂), with t₂ = t + 0.25h. At h = 0
    she is the matcher's mirror image (1 − u_matcher up to a term in the state alone): both
    switch at the same posteriors, in opposite directions, so every scheme is worth the same
    share of full revelation to both (``value_spread`` 0) and no menu separates them.

    Provider 1 advocates the matcher and opposes the mismatcher, provider 2 the reverse, and
    each leans to the action its users take without information:
    ``U_1(matcher) = w u_matcher + κ 1[a = L]``, ``U_1(mismatcher) = w′ (1 − u_mismatcher) + κ 1[a = R]``
    (provider 2 symmetric), with w ≤ w′. At h = 0 a public scheme moves both users or neither;
    when it moves them (at a posterior q ≥ t, d(q) ≥ 0 the matcher's gain from switching)
    provider 1's payoff changes by ``½((w − w′)·d(q) − 2κ) ≤ −κ`` per unit of probability, and
    moving one user alone at her indifference point (what the supremum allows) changes it by
    −κ/2: "both silent" loses by a margin proportional to κ against every deviation that changes
    anything. Noise η on providers' utilities moves a user's switch by at most 2η, i.e. η per
    unit of probability for a user of mass ½, so silence survives η below about κ/2 (κ ∈
    [0.08, 0.12] before the utilities are rescaled to max 1, which only raises the margin).
    Personalized, provider 1 gains ``½(w·b − κ) > 0`` per unit of probability by revealing
    the state to the matcher alone, so silence is no equilibrium there.

    Random per seed: t ∈ [0.55, 0.7], π ∈ [0.25, t − 0.15], w ∈ [0.4, 0.5], w′ ∈ [w, 0.6],
    κ ∈ [0.08, 0.12]; ``noise`` η adds uniform [−η, η] to every provider utility (clipped to
    [0, 1]); users stay exact (so that at h = 0 they stay mirror images).
    """
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.55, 0.7)
    pi = rng.uniform(0.25, t - 0.15)
    w = rng.uniform(0.4, 0.5)
    w_opp = rng.uniform(w, 0.6)
    kappa = rng.uniform(0.08, 0.12)
    t2 = t + 0.25 * heterogeneity
    b, b2 = (1 - t) / t, (1 - t2) / t2
    matcher = np.array([[1.0, 0.0], [0.0, b]])  # [a, y]: rows L, R; columns states L, R
    mismatcher = np.array([[0.0, b2], [1.0, 0.0]])
    left = np.array([[1.0, 1.0], [0.0, 0.0]])
    right = 1.0 - left
    U = np.empty((2, 2, 2, 2))
    U[0, 0] = w * matcher + kappa * left
    U[0, 1] = w_opp * (1.0 - mismatcher) + kappa * right
    U[1, 1] = w * mismatcher + kappa * right
    U[1, 0] = w_opp * (1.0 - matcher) + kappa * left
    U = U / U.max()
    if noise > 0:
        U = np.clip(U + rng.uniform(-noise, noise, size=U.shape), 0.0, 1.0)
    return Market.from_arrays(
        prior=[1 - pi, pi], u=np.stack([matcher, mismatcher]), U=U,
        states=["L", "R"], actions=["L", "R"], users=["matcher", "mismatcher"], providers=["match_ai", "mismatch_ai"],
        name=f"opposed(h={heterogeneity:g}, η={noise:g}, seed={seed})",
        description="regimes_compared: match/mismatch generalized with a strict uninformative anonymous equilibrium",
    )


#: The screening template (states: a rival wins, a niche case, the product is right for the job;
#: actions: switch to the rival, wait, adopt). The sceptic adopts only in the niche case; the loyal
#: user adopts unless it is the niche case, where she would rather switch — and her best reaction to
#: "probably the niche case" (switch) differs from her reaction to "maybe" (wait).
_SCREEN_PRIOR = np.array([0.28, 0.31, 0.41])
_SCEPTIC = np.array([[0.2, 0.2, 0.3], [0.5, 0.55, 0.8], [0.2, 0.65, 0.75]])
_LOYAL = np.array([[0.3, 0.85, 0.05], [0.2, 0.6, 0.75], [0.8, 0.05, 0.85]])


def screening_market(seed: int, heterogeneity: float = 1.0, noise: float = 0.0) -> Market:
    """Two providers lobby for the same action ("adopt") before a sceptic and a loyal user.

    Three states, three actions (:data:`_SCEPTIC`, :data:`_LOYAL`; the loyal user's utility is
    ``(1 − h)·sceptic + h·loyal``, so h = 0 gives two identical users). Both providers want
    adoption from everyone, with a stake 1.5 times larger on the loyal user, who adopts without
    information (``U_i(j) = 0.1 + 0.8·s_j·1[a = adopt]``, s = (1/1.5, 1)). Persuading the
    sceptic to adopt takes signals that say "niche case or the job", and such a signal makes
    the loyal user stop adopting: with one scheme for both (anonymous, no menu) persuasion does
    not pay and "both silent" is an equilibrium. A menu lets a provider persuade the sceptic
    with one item and pay the loyal user an *information rent* with another — information she
    values at least as much, which costs less adoption — so with menus silence breaks.

    ``noise`` η adds uniform [−η, η] to the prior (renormalized), both users' utilities and the
    providers' utilities (clipped to [0, 1]); the rest is the template.
    """
    rng = np.random.default_rng(seed)
    u = np.stack([_SCEPTIC, (1 - heterogeneity) * _SCEPTIC + heterogeneity * _LOYAL])
    adopt = np.zeros((3, 3))
    adopt[2] = 1.0
    U = np.empty((2, 2, 3, 3))
    U[:, 0] = 0.1 + 0.8 / 1.5 * adopt
    U[:, 1] = 0.1 + 0.8 * adopt
    prior = _SCREEN_PRIOR.copy()
    if noise > 0:
        prior = np.clip(prior + rng.uniform(-noise, noise, size=3), 0.05, 1.0)
        prior = prior / prior.sum()
        u = np.clip(u + rng.uniform(-noise, noise, size=u.shape), 0.0, 1.0)
        U = np.clip(U + rng.uniform(-noise, noise, size=U.shape), 0.0, 1.0)
    return Market.from_arrays(
        prior=prior, u=u, U=U, states=["rival", "niche", "job"], actions=["switch", "wait", "adopt"],
        users=["sceptic", "loyal"], providers=["lobby_a", "lobby_b"],
        name=f"screening(h={heterogeneity:g}, η={noise:g}, seed={seed})",
        description="regimes_compared: two adoption lobbies, a sceptical and a loyal user",
    )


def random_pair_market(seed: int, heterogeneity: float = 1.0, noise: float = 0.0) -> Market:
    """Random 3-state, 3-action markets with two users and two providers of mixed stances.

    Prior Dirichlet(2, 2, 2); user 1's utility uniform on [0, 1]; user 2's ``(1 − h)·u_1 + h·v``
    with v an independent uniform draw (h = 0: identical users). Provider i's utility from user j
    is ``α u_j + β (1 − u_j) + γ 1[a = a_i]`` with (α, β, γ) ~ Dirichlet(½, ½, ½) drawn per (i, j)
    (advocate, opponent, lobby for its action a_i). ``noise`` η adds uniform [−η, η] to users'
    utilities (clipped).
    """
    rng = np.random.default_rng(seed)
    n_y = n_a = 3
    prior = rng.dirichlet(np.full(n_y, 2.0))
    u1 = rng.random((n_a, n_y))
    u2 = (1 - heterogeneity) * u1 + heterogeneity * rng.random((n_a, n_y))
    u = np.stack([u1, u2])
    U = np.empty((2, 2, n_a, n_y))
    for i in range(2):
        lobby = np.zeros((n_a, n_y))
        lobby[rng.integers(n_a)] = 1.0
        for j in range(2):
            alpha, beta, gamma = rng.dirichlet(np.full(3, 0.5))
            U[i, j] = alpha * u[j] + beta * (1.0 - u[j]) + gamma * lobby
    if noise > 0:
        u = np.clip(u + rng.uniform(-noise, noise, size=u.shape), 0.0, 1.0)
    return Market.from_arrays(
        prior=prior, u=u, U=np.clip(U, 0.0, 1.0), name=f"random(h={heterogeneity:g}, η={noise:g}, seed={seed})",
        description="regimes_compared: random users and providers mixing advocacy, opposition and lobbying",
    )


def with_private_observation(market: Market, accuracy: float) -> Market:
    """``market`` whose users privately observe z ∈ states with ``P(z = y | y) = accuracy`` (the
    rest spread evenly over the other states); replaces any private observation it had."""
    n_y = market.n_states
    obs = np.full((n_y, n_y), (1.0 - accuracy) / (n_y - 1))
    np.fill_diagonal(obs, accuracy)
    return market.replace(private_observation=obs, private_signals=[f"looks_{s}" for s in market.states],
                          name=f"{market.name}+private{accuracy:g}")


def make_market(params: Params, seed: int) -> Market:
    """The task's market (module docstring)."""
    h, eta = params.heterogeneity, params.noise
    if params.market == "opposed":
        return opposed_market(seed, h, eta)
    if params.market == "opposed_private":
        base = opposed_market(seed, 0.0, eta)
        return base if h == 0 else with_private_observation(base, 0.5 + 0.4 * h)
    if params.market == "screening":
        return screening_market(seed, h, eta)
    if params.market == "random":
        return random_pair_market(seed, h, eta)
    market = catalog.load(params.market)
    if h > 0:
        market = with_private_observation(market, 0.5 + 0.4 * h)
    return catalog.perturbed(market, eta, seed)


# --------------------------------------------------------------------------- heterogeneity


@functools.lru_cache(maxsize=8)
def _probe_schemes(n_x: int) -> np.ndarray:
    """A fixed probe set of schemes ``[n, x, s]``: partitions of X and, for two observations, every
    binary scheme on a 0.05 grid; otherwise 256 seeded random schemes with |X| signals."""
    parts = partition_schemes(n_x)
    if n_x == 2:
        g = np.linspace(0.0, 1.0, 21)
        a, b = np.meshgrid(g, g, indexing="ij")
        extra = np.stack([np.stack([a.ravel(), 1 - a.ravel()], -1), np.stack([b.ravel(), 1 - b.ravel()], -1)], axis=1)
    else:
        extra = np.random.default_rng(20260).dirichlet(np.full(n_x, 0.5), size=(256, n_x))
    probes = np.concatenate([parts, extra], axis=0)
    probes.setflags(write=False)
    return probes


def value_spread(market: Market) -> float:
    """Largest difference between two kinds' shares of full revelation's value delivered by one
    probe scheme (module docstring); 0 with fewer than two kinds that value information."""
    kinds = kinds_of(market)
    W = np.einsum("kxy,kay->kxa", kinds.P, kinds.u)  # Σ_y P_k[x, y] u_k[a, y]
    silent = W.sum(axis=1).max(axis=-1)
    gain = W.max(axis=-1).sum(axis=1) - silent
    keep = gain > 1e-9 * np.maximum(1.0, np.abs(W).max())
    if keep.sum() < 2:
        return 0.0
    probes = _probe_schemes(market.n_observations)
    V = np.einsum("nxs,kxa->knsa", probes, W[keep]).max(axis=-1).sum(axis=-1)  # [k, n]
    share = (V - silent[keep, None]) / gain[keep, None]
    return float(np.max(share.max(axis=0) - share.min(axis=0)))


def opposition(market: Market) -> float:
    """``max_{j,k} (1 − cos(ũ_j, ũ_k)) / 2`` of decision-relevant utilities (module docstring)."""
    if market.n_users < 2:
        return 0.0
    centered = market.u - market.u.mean(axis=1, keepdims=True)
    vec = (centered * np.sqrt(market.prior)[None, None, :]).reshape(market.n_users, -1)
    norm = np.linalg.norm(vec, axis=1)
    live = norm > 1e-12
    if live.sum() < 2:
        return 0.0
    unit = vec[live] / norm[live, None]
    cos = np.clip(unit @ unit.T, -1.0, 1.0)
    return float(((1.0 - cos) / 2.0).max())


# --------------------------------------------------------------------------- one combination


def solve_combination(market: Market, regime: str, menus: bool, errors: dict) -> dict:
    """Enumerate and verify every partition equilibrium of one combination; the row's columns
    (without prefix) described in the module docstring. ``errors`` holds the alignment errors:
    ``{"wma": (ε[j], λ[j, i]), "sma": (ε_S, λ[i])}``."""
    game = ProviderGame(market, regime, menus=menus, rule=RULE)
    search = enumerate_solve(game, policy_class="partitions")
    found = [e.verification for e in search.verified]
    silent = game.verify(game.uninformative())
    informative = bool(np.any(opt(market) - noinfo(market) > GAP_TOL))
    if silent.verified:
        found.append(silent)  # usually listed already; the worst gap is the same either way
    out: dict = {
        "equilibria": len(search.verified),
        "candidates": len(search),
        "silent": bool(informative and silent.verified),
        "exact": bool(all(v.exact for v in found) and silent.exact),
    }
    if found:
        gaps = np.maximum(np.array([v.gap for v in found]), 0.0)  # [e, j]
        clean = np.where(gaps < GAP_TOL, 0.0, gaps)
        user_worst = clean.max(axis=0)
        out["max_gap"] = float(user_worst.max())
        out["agg_gap"] = float((clean @ market.p).max())
        out["user_gaps"] = ",".join(f"{g:.6g}" for g in user_worst)
    else:
        out["max_gap"] = out["agg_gap"] = out["user_gaps"] = None
    violations = exceptions = 0
    deviator = game.replace(ties="deviator")
    for v in found:
        if regime == "personalized":
            eps, lam = errors["wma"]
            check = guarantee_a(v, epsilon=eps, weights=lam, tol=GUARANTEE_TOL)
        else:
            eps, lam = errors["sma"]
            check = guarantee_c(v, epsilon=eps, weights=lam, tol=GUARANTEE_TOL)
        if check.holds:
            continue
        # The proofs let the deviator win provider ties: only then must the guarantee hold.
        if deviator.verify(v.profile).verified:
            violations += 1
        else:
            exceptions += 1
    out["guarantee_holds"] = violations == 0
    out["guarantee_violations"] = violations
    out["tie_exceptions"] = exceptions
    return out


def _seed_free(params: Params) -> bool:
    """The market does not depend on the seed: a bundled market or the screening template, without noise."""
    return params.noise == 0 and (params.market in catalog.names() or params.market == "screening")


@functools.lru_cache(maxsize=64)
def _solve_seed_free(params: Params) -> dict:
    """Markets that do not depend on the seed are solved once per process (the row is the same)."""
    return _solve(make_market(params, 0))


def _solve(market: Market) -> dict:
    eps, lam = wma_epsilons(market)
    eps_s, lam_s = sma_epsilon(market)
    errors = {"wma": (eps, lam), "sma": (eps_s, lam_s)}
    o, n = opt(market), noinfo(market)
    row: dict = {
        "users": market.n_users,
        "kinds": int(kinds_of(market).n_kinds),
        "private": bool(market.has_private),
        "value_spread": value_spread(market),
        "opposition": opposition(market),
        "epsilon_max": float(np.max(eps)),
        "epsilon_strong": float(eps_s),
        "opt": float(market.p @ o),
        "noinfo": float(market.p @ n),
        "silent_gap": float(np.max(o - n)),
    }
    for prefix, regime, menus, _ in COMBINATIONS:
        for key, value in solve_combination(market, regime, menus, errors).items():
            row[f"{prefix}_{key}"] = value
    row["menus_help_anon"] = _helps(row, "anon_menus", "anon")
    row["menus_help_pers"] = _helps(row, "pers_menus", "pers")
    row["tie_rule"] = "provider {provider_tie}, action {action_tie}, tol {tol:g}, reports truthful on ties".format(
        **RULE.describe())
    return row


def _helps(row: dict, with_menus: str, without: str) -> float | None:
    """Worst gap without menus minus with menus (positive: menus helped), None when either is missing."""
    a, b = row[f"{without}_max_gap"], row[f"{with_menus}_max_gap"]
    return None if a is None or b is None else float(a - b)


def run(params: Params, seed: int) -> dict:
    """Every partition equilibrium of the market in the four combinations, verified; worst gaps,
    uninformative equilibria and guarantees per combination (module docstring)."""
    if _seed_free(params):
        return dict(_solve_seed_free(params))
    return _solve(make_market(params, seed))


# --------------------------------------------------------------------------- figures and summary

_STYLE = {  # menus: thick translucent lines with hollow squares; no menus: thin dashed lines on top
    "pers_menus": dict(color="tab:blue", marker="s", ls="-", lw=3.2, alpha=0.45, ms=8, mfc="none"),
    "pers": dict(color="tab:blue", marker="o", ls="--", lw=1.3, alpha=0.95, ms=4),
    "anon_menus": dict(color="tab:red", marker="s", ls="-", lw=3.2, alpha=0.45, ms=8, mfc="none"),
    "anon": dict(color="tab:red", marker="o", ls="--", lw=1.3, alpha=0.95, ms=4),
}


def _worst(values) -> float:
    vals = [v for v in values if v is not None]
    return max(vals) if vals else math.nan


def _share(values) -> float:
    vals = [bool(v) for v in values if v is not None]
    return float(np.mean(vals)) if vals else math.nan


def figures(rows: list[dict]) -> list[tuple[str, Figure]]:
    """Families (``regimes_compared``): the worst verified gap (top) and the share of markets
    keeping an uninformative equilibrium (bottom) against the heterogeneity knob h (over seeds
    and noise levels; the tick labels give the mean measured value spread at each h), one curve
    per combination. Bundled markets (``regimes_compared_bundled``): the worst verified gap per
    combination against h (their users' private accuracy 0.5 + 0.4h), one row per noise level."""
    out = []
    families = [f for f in FAMILIES if any(r["market"] == f for r in rows)]
    if families:
        fig = Figure(figsize=(3.7 * len(families) + 0.4, 6.8), layout="constrained")
        axes = fig.subplots(2, len(families), squeeze=False)
        for col, family in enumerate(families):
            groups = group_rows([r for r in rows if r["market"] == family], ["heterogeneity"])
            hs = [key[0] for key in groups]
            spread = [mean_sem(r["value_spread"] for r in g)[0] for g in groups.values()]
            for prefix, _, _, label in COMBINATIONS:
                gaps = [_worst(r[f"{prefix}_max_gap"] for r in g) for g in groups.values()]
                silent = [_share(r[f"{prefix}_silent"] for r in g) for g in groups.values()]
                axes[0, col].plot(hs, gaps, label=label, **_STYLE[prefix])
                axes[1, col].plot(hs, silent, label=label, **_STYLE[prefix])
            axes[0, col].set(title=f"{family}: worst verified gap", ylabel="max_j gap_j over equilibria")
            axes[1, col].set(xlabel="heterogeneity h (value spread)", ylabel="share of markets", ylim=(-0.05, 1.05),
                             title="'all uninformative' is an equilibrium")
            for ax in axes[:, col]:
                ax.set_xticks(hs, [f"{h:g}\n({v:.2f})" for h, v in zip(hs, spread)], fontsize="small")
                ax.grid(alpha=0.3)
        axes[0, 0].legend(fontsize="x-small")
        out.append(("regimes_compared", fig))
    bundled = [m for m in catalog.names() if any(r["market"] == m for r in rows)]
    if bundled:
        noises = sorted({r["noise"] for r in rows if r["market"] in bundled})
        fig = Figure(figsize=(2.8 * len(bundled) + 0.4, 2.6 * len(noises) + 0.5), layout="constrained")
        axes = fig.subplots(len(noises), len(bundled), squeeze=False)
        for row_index, eta in enumerate(noises):
            for ax, name in zip(axes[row_index], bundled):
                groups = group_rows([r for r in rows if r["market"] == name and r["noise"] == eta], ["heterogeneity"])
                hs = [k[0] for k in groups]
                for prefix, _, _, label in COMBINATIONS:
                    gaps = [_worst(r[f"{prefix}_max_gap"] for r in g) for g in groups.values()]
                    ax.plot(hs, gaps, label=label, **_STYLE[prefix])
                ax.set_xticks(hs, ["as is" if h == 0 else f"{0.5 + 0.4 * h:.2g}" for h in hs], fontsize="small")
                ax.set(title=f"{name}, η = {eta:g}", ylim=(-0.03, max(0.55, ax.get_ylim()[1])))
                ax.grid(alpha=0.3)
            axes[row_index, 0].set_ylabel("worst verified gap")
        for ax in axes[-1]:
            ax.set_xlabel("private accuracy")
        axes[0, 0].legend(fontsize="x-small")
        out.append(("regimes_compared_bundled", fig))
    return out


def summary(rows: list[dict]) -> list[dict]:
    """Per market and heterogeneity h: markets, mean value spread, and per combination (P+m,
    P, A+m, A) the worst verified gap over markets and the share keeping an uninformative
    equilibrium; how often and by how much menus lowered the anonymous worst gap; whether the
    guarantees held (A personalized, C anonymous, in their proofs' tie setting)."""
    table = []
    short = {"pers_menus": "P+m", "pers": "P", "anon_menus": "A+m", "anon": "A"}
    for (market, h), group in group_rows(rows, ["market", "heterogeneity"]).items():
        entry = {"market": market, "h": h, "n": len(group),
                 "spread": mean_sem(r["value_spread"] for r in group)[0]}
        for prefix, *_ in COMBINATIONS:
            entry[f"gap {short[prefix]}"] = _worst(r[f"{prefix}_max_gap"] for r in group)
        for prefix, *_ in COMBINATIONS:
            entry[f"agg {short[prefix]}"] = _worst(r[f"{prefix}_agg_gap"] for r in group)
        for prefix, *_ in COMBINATIONS:
            entry[f"silent {short[prefix]}"] = _share(r[f"{prefix}_silent"] for r in group)
        helped = [r["menus_help_anon"] for r in group if r["menus_help_anon"] is not None]
        entry["menus help A"] = float(np.mean([d > GAP_TOL for d in helped])) if helped else math.nan
        entry["by (max)"] = max(helped, default=math.nan)
        entry["A, C hold"] = all(r[f"{p}_guarantee_holds"] for r in group for p, *_ in COMBINATIONS)
        table.append(entry)
    return table


EXPERIMENT = register(
    Experiment(
        name="regimes_compared",
        description=(
            "The price of anonymity and what menus buy back: worst verified equilibrium gaps, mass-weighted "
            "gaps and surviving uninformative equilibria in the four combinations (personalized/anonymous x "
            "menus or not), on bundled markets and on opposed and screening families."
        ),
        params=Params,
        run=run,
        quick_grid={"market": ["match_mismatch", "opposed", "screening"], "heterogeneity": [0.0, 1.0], "noise": [0.0, 0.02]},
        full_grid={
            "market": ["match_mismatch", "biased_pair", "prosecutor", "private_judge", "forecast",
                       "opposed", "opposed_private", "screening", "random"],
            "heterogeneity": [0.0, 0.25, 0.5, 0.75, 1.0],
            "noise": [0.0, 0.02],
        },
        quick_seeds=1,
        full_seeds=6,
        figures=figures,
        summary=summary,
    )
)
