"""Equilibria among providers: verification, best-response dynamics, enumeration (MODEL.md §5).

A profile σ is an **equilibrium** when no provider can raise Π_i by changing its own
policy (personalized: any tuple of schemes; anonymous: any one scheme). Every profile a
solver returns carries a :class:`Verification`: each provider's *regret*

    regret_i = sup_{σ_i'} Π_i(σ_i', σ_{−i}) − Π_i(σ)

computed by the exact best response of :mod:`pluralign.analysis.best_response` as a
supremum (the certificate; provider ties under the users' rule, or all won by the
deviator with ``ties="deviator"``), next to the gain an explicit deviation attains under
the users' rule (``regret_attained``). ``verified`` means ``max_i regret_i ≤ tol``.

Two ways to find equilibria:

* :func:`dynamics_solve` — best-response dynamics (sequential, seeded random order, or
  simultaneous), from several starting profiles (uninformative, each provider's
  favourite = its best response to an uninformative market, full revelation, random),
  with cycle detection and a round cap;
* :func:`enumerate_solve` — every pure equilibrium of the finite game in which each
  provider's scheme (per user, when personalized) is a partition of X (or a
  deterministic recommendation map), each then verified against *all* deviations.

Personalized games decompose by user (payoffs are additive and user j's choice depends
only on the schemes offered to her), so enumeration works user by user.

>>> from pluralign.catalog import load
>>> from pluralign.model.schemes import Profile, no_information
>>> m = load("match_mismatch")
>>> v = verify(m, Profile.uniform("anonymous", no_information(2), 2, 2))
>>> v.verified, v.utilities.tolist()          # MODEL.md §9 B: uninformative equilibrium
(True, [0.5, 0.5])
>>> verify(m, Profile.uniform("personalized", no_information(2), 2, 2)).verified
False
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence

import numpy as np

from pluralign.analysis.anonymous_br import SizeError
from pluralign.analysis.benchmarks import opt
from pluralign.analysis.best_response import DEFAULT_MARGIN, Backend, BestResponse, PersuasionModels, best_response
from pluralign.analysis.deviations import Mode, Ties, check_mode, check_rule, check_ties
from pluralign.analysis.policies import PolicyClass, describe_scheme, policy_class, random_schemes
from pluralign.model.market import Market
from pluralign.model.schemes import Profile, Regime
from pluralign.model.users import DEFAULT_RULE, ResponseRule, choose_providers, outcomes, provider_payoffs, respond, scheme_values

__all__ = [
    "DEFAULT_TOL",
    "Verification",
    "Equilibrium",
    "DynamicsRun",
    "EquilibriumSearch",
    "InducedGame",
    "verify",
    "dynamics_solve",
    "enumerate_solve",
    "solve",
    "induced_game",
    "pure_equilibria",
    "start_profiles",
]

DEFAULT_TOL = 1e-6
Order = Literal["sequential", "random", "simultaneous"]


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True, eq=False)
class Verification:
    """A profile checked from scratch: payoffs, exact regrets, users' utilities and gaps.

    ``regret[i]`` is the certified regret (supremum over deviations and tie resolutions),
    ``regret_attained[i]`` what the best explicit deviation gains under the users' rule.
    ``exact`` is False when some best response was a heuristic (its regret is then still
    an upper bound, possibly loose).
    """

    market: Market
    profile: Profile
    regime: str
    mode: str
    rule: ResponseRule
    tol: float
    margin: float
    ties: str
    payoffs: np.ndarray
    regret: np.ndarray
    regret_attained: np.ndarray
    utilities: np.ndarray
    opt: np.ndarray
    choice: np.ndarray
    exact: bool
    best_responses: tuple[BestResponse, ...]
    seconds: float

    @property
    def gap(self) -> np.ndarray:
        """``OPT_j − E[u_j]`` per user."""
        return self.opt - self.utilities

    @property
    def max_regret(self) -> float:
        return float(np.max(self.regret))

    @property
    def verified(self) -> bool:
        """Every provider's certified regret is at most ``tol``."""
        return self.max_regret <= self.tol

    def to_dict(self) -> dict:
        m = self.market
        return {
            "verified": self.verified,
            "exact": self.exact,
            "tol": self.tol,
            "max_regret": self.max_regret,
            "users": {
                name: {
                    "utility": float(self.utilities[j]),
                    "opt": float(self.opt[j]),
                    "gap": float(self.gap[j]),
                    "provider": m.providers[int(self.choice[j])],
                }
                for j, name in enumerate(m.users)
            },
            "providers": {
                name: {
                    "payoff": float(self.payoffs[i]),
                    "regret": float(self.regret[i]),
                    "regret_attained": float(self.regret_attained[i]),
                    "best_response": self.best_responses[i].method,
                }
                for i, name in enumerate(m.providers)
            },
            "policies": policies_dict(m, self.profile),
            "tie_rule": self.rule.describe(),
            "ties": self.ties,
            "mode": self.mode,
            "margin": self.margin,
            "seconds": self.seconds,
        }

    def __repr__(self) -> str:
        state = "verified" if self.verified else "NOT verified"
        return (
            f"Verification({self.regime}, {state}: max regret {self.max_regret:.3g} (tol {self.tol:g}), "
            f"utilities {np.round(self.utilities, 6).tolist()}, payoffs {np.round(self.payoffs, 6).tolist()})"
        )


def verify(
    market: Market,
    profile: Profile,
    *,
    rule: ResponseRule = DEFAULT_RULE,
    mode: Mode = "actions",
    tol: float = DEFAULT_TOL,
    margin: float = DEFAULT_MARGIN,
    method: str = "auto",
    backend: Backend = "highs",
    models: PersuasionModels | None = None,
    ties: Ties = "rule",
    **anonymous_options,
) -> Verification:
    """Check ``profile`` from scratch: users' response, payoffs, and every provider's exact best response.

    ``ties="rule"`` certifies against deviations under the users' provider tie rule;
    ``ties="deviator"`` against deviations that win every tie (the setting of MODEL.md §9's proofs).
    """
    started = time.perf_counter()
    check_mode(mode)
    check_rule(rule)
    check_ties(ties)
    if tol < 0:
        raise ValueError(f"tol must be non-negative, got {tol}")
    resp = respond(market, profile, rule)
    payoffs = provider_payoffs(market, resp, mode)
    if profile.regime == "personalized" and models is None:
        models = PersuasionModels(market, backend)
    brs = tuple(
        best_response(
            market, profile, i, rule=rule, mode=mode, margin=margin, bound=True, backend=backend, models=models,
            method=method, ties=ties, **anonymous_options,
        )
        for i in range(market.n_providers)
    )
    bounds = np.array([br.bound for br in brs])
    values = np.array([br.value for br in brs])
    return Verification(
        market=market,
        profile=profile,
        regime=profile.regime,
        mode=mode,
        rule=rule,
        tol=tol,
        margin=margin,
        ties=ties,
        payoffs=payoffs,
        regret=np.maximum(bounds - payoffs, 0.0),
        regret_attained=np.maximum(values - payoffs, 0.0),
        utilities=resp.utility,
        opt=opt(market),
        choice=resp.choice,
        exact=all(br.exact for br in brs),
        best_responses=brs,
        seconds=time.perf_counter() - started,
    )


def policies_dict(market: Market, profile: Profile) -> dict:
    """Schemes as plain data: ``{provider: {user: {x: {signal: prob}}}}`` (or ``{provider: {x: ...}}``)."""

    def one(sigma: np.ndarray) -> dict:
        return {
            "summary": describe_scheme(market, sigma),
            "scheme": {
                x: {f"s{k}": float(v) for k, v in enumerate(sigma[kx]) if v > 1e-12} for kx, x in enumerate(market.observations)
            },
        }

    out = {}
    for i, name in enumerate(market.providers):
        if profile.regime == "personalized":
            out[name] = {user: one(profile.scheme(i, j)) for j, user in enumerate(market.users)}
        else:
            out[name] = one(profile.scheme(i))
    return out


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class Equilibrium:
    """A candidate equilibrium, how it was found, and its verification."""

    profile: Profile
    verification: Verification
    found_by: str

    @property
    def verified(self) -> bool:
        return self.verification.verified

    @property
    def utilities(self) -> np.ndarray:
        return self.verification.utilities

    @property
    def payoffs(self) -> np.ndarray:
        return self.verification.payoffs

    @property
    def regret(self) -> np.ndarray:
        return self.verification.regret

    def to_dict(self) -> dict:
        return {"found_by": self.found_by, **self.verification.to_dict()}

    def __repr__(self) -> str:
        state = "verified" if self.verified else "NOT verified"
        return (
            f"Equilibrium({state}, utilities {np.round(self.utilities, 6).tolist()}, "
            f"payoffs {np.round(self.payoffs, 6).tolist()}, max regret {self.verification.max_regret:.3g}; {self.found_by})"
        )


@dataclass(frozen=True, eq=False)
class DynamicsRun:
    """One run of best-response dynamics: its start, how it ended, after how many rounds."""

    start: str
    status: str  # "converged" | "cycle" | "round cap"
    rounds: int
    moves: int
    cycle_length: int | None
    profile: Profile = field(repr=False)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "start": self.start,
            "status": self.status,
            "rounds": self.rounds,
            "moves": self.moves,
            "cycle_length": self.cycle_length,
            "seconds": self.seconds,
        }


@dataclass(frozen=True, eq=False)
class EquilibriumSearch:
    """What a search found: distinct candidate equilibria (each verified or not) and how.

    Iterating yields the equilibria; :attr:`verified` only those that passed.
    ``worst_utility[j]`` / ``best_utility[j]`` range over the verified equilibria.
    """

    market: Market
    regime: str
    method: str
    parameters: dict
    rule: ResponseRule
    mode: str
    tol: float
    equilibria: tuple[Equilibrium, ...]
    runs: tuple[DynamicsRun, ...] = ()
    info: dict = field(default_factory=dict)
    seconds: float = 0.0

    def __iter__(self):
        return iter(self.equilibria)

    def __len__(self) -> int:
        return len(self.equilibria)

    def __getitem__(self, k: int) -> Equilibrium:
        return self.equilibria[k]

    @property
    def verified(self) -> tuple[Equilibrium, ...]:
        return tuple(e for e in self.equilibria if e.verified)

    @property
    def worst_utility(self) -> np.ndarray | None:
        v = self.verified
        return None if not v else np.min([e.utilities for e in v], axis=0)

    @property
    def best_utility(self) -> np.ndarray | None:
        v = self.verified
        return None if not v else np.max([e.utilities for e in v], axis=0)

    def to_dict(self, verified_only: bool = False) -> dict:
        m = self.market
        eqs = self.verified if verified_only else self.equilibria
        worst, best = self.worst_utility, self.best_utility
        return {
            "market": m.name,
            "regime": self.regime,
            "method": self.method,
            "parameters": self.parameters,
            "tie_rule": self.rule.describe(),
            "mode": self.mode,
            "tol": self.tol,
            "equilibria": [e.to_dict() for e in eqs],
            "candidates": len(self.equilibria),
            "verified": len(self.verified),
            "worst_utility": None if worst is None else {u: float(worst[j]) for j, u in enumerate(m.users)},
            "best_utility": None if best is None else {u: float(best[j]) for j, u in enumerate(m.users)},
            "runs": [r.to_dict() for r in self.runs],
            "info": self.info,
            "seconds": self.seconds,
        }

    def __repr__(self) -> str:
        return (
            f"EquilibriumSearch({self.market.name!r}, {self.regime}, {self.method}: "
            f"{len(self.verified)} verified of {len(self.equilibria)} candidates)"
        )


def _key(profile: Profile, digits: int = 7) -> bytes:
    s = profile.schemes
    used = np.flatnonzero(s.reshape(-1, s.shape[-1]).sum(axis=0) > 0)
    s = s[..., : (used[-1] + 1 if used.size else 1)]
    return repr(s.shape).encode() + np.round(s, digits).tobytes()


# --------------------------------------------------------------------------- dynamics


def _uniform(market: Market, regime: Regime, scheme: np.ndarray) -> Profile:
    return Profile.uniform(regime, scheme, market.n_providers, market.n_users)


def start_profiles(
    market: Market,
    regime: Regime,
    starts: Sequence[str | Profile] = ("uninformative", "favourite", "full", "random"),
    *,
    n_random: int = 1,
    seed: int = 0,
    rule: ResponseRule = DEFAULT_RULE,
    mode: Mode = "actions",
    margin: float = DEFAULT_MARGIN,
    backend: Backend = "highs",
    models: PersuasionModels | None = None,
    **anonymous_options,
) -> list[tuple[str, Profile]]:
    """Named starting profiles: ``"uninformative"``, ``"favourite"`` (each provider's best
    response to an uninformative market), ``"full"`` (full revelation), ``"random"``
    (``n_random`` seeded random profiles), or given :class:`Profile` objects."""
    n_x, k, m = market.n_observations, market.n_providers, market.n_users
    rng = np.random.default_rng(seed)
    out: list[tuple[str, Profile]] = []
    for idx, start in enumerate(starts):
        if isinstance(start, Profile):
            if start.regime != regime:
                raise ValueError(f"start profile {idx} is {start.regime}, expected {regime}")
            out.append((f"given profile {idx}", start))
        elif start == "uninformative":
            out.append(("uninformative", _uniform(market, regime, np.ones((n_x, 1)))))
        elif start == "full":
            out.append(("full revelation", _uniform(market, regime, np.eye(n_x))))
        elif start == "favourite":
            base = _uniform(market, regime, np.ones((n_x, 1)))
            brs = [
                best_response(
                    market, base, i, rule=rule, mode=mode, margin=margin, bound=False, backend=backend, models=models,
                    **anonymous_options,
                )
                for i in range(k)
            ]
            prof = base
            for br in brs:
                prof = br.apply(prof)
            out.append(("each provider's favourite", prof))
        elif start == "random":
            for r in range(n_random):
                shape = (k, m) if regime == "personalized" else (k,)
                out.append((f"random #{r} (seed {seed})", Profile(regime, random_schemes(n_x, n_x, shape, rng))))
        else:
            raise ValueError(f"unknown start {start!r}; use uninformative, favourite, full, random or a Profile")
    return out


def _move(profile: Profile, br: BestResponse, threshold: float) -> tuple[Profile, bool]:
    """Apply ``br`` where it gains more than ``threshold`` (per user when personalized)."""
    if profile.regime == "anonymous":
        if br.value > br.current + threshold:
            return br.apply(profile), True
        return profile, False
    gain = br.user_value > br.user_current + threshold
    if not gain.any():
        return profile, False
    width = max(profile.schemes.shape[-1], br.scheme.shape[-1])
    arr = np.pad(profile.schemes, [(0, 0)] * 3 + [(0, width - profile.schemes.shape[-1])]).copy()
    new = np.pad(br.scheme, [(0, 0)] * 2 + [(0, width - br.scheme.shape[-1])])
    arr[br.provider, gain] = new[gain]
    return Profile("personalized", arr), True


def dynamics_solve(
    market: Market,
    regime: Regime,
    *,
    starts: Sequence[str | Profile] = ("uninformative", "favourite", "full", "random"),
    order: Order = "sequential",
    n_random: int = 1,
    seed: int = 0,
    max_rounds: int = 50,
    rule: ResponseRule = DEFAULT_RULE,
    mode: Mode = "actions",
    tol: float = DEFAULT_TOL,
    margin: float = DEFAULT_MARGIN,
    backend: Backend = "highs",
    method: str = "auto",
    verify_results: bool = True,
    ties: Ties = "rule",
    **anonymous_options,
) -> EquilibriumSearch:
    """Best-response dynamics from each start until no provider gains more than ``tol``.

    A round lets every provider move once: in index order (``"sequential"``), in a
    seeded random order (``"random"``), or all against the same profile
    (``"simultaneous"``). A provider moves only where its best response gains more than
    ``tol`` (per user in the personalized regime). A run ends *converged* (a round with
    no move), in a *cycle* (a round-end profile repeats) or at the *round cap*.
    Converged profiles are verified from scratch (exact best responses with bounds).

    Note: when two providers compete for a user, best responses under a tie rule that
    favours neither raise her value by the margin each time (a Bertrand-like ladder);
    such runs reach the cap. Starts at full revelation avoid it.
    """
    started = time.perf_counter()
    check_mode(mode)
    check_rule(rule)
    if order not in ("sequential", "random", "simultaneous"):
        raise ValueError(f"order must be 'sequential', 'random' or 'simultaneous', got {order!r}")
    if regime not in ("personalized", "anonymous"):
        raise ValueError(f"regime must be 'personalized' or 'anonymous', got {regime!r}")
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be at least 1, got {max_rounds}")
    models = PersuasionModels(market, backend) if regime == "personalized" else None
    check_ties(ties)
    common = dict(rule=rule, mode=mode, margin=margin, backend=backend, models=models, ties=ties, **anonymous_options)
    if regime == "anonymous":
        common["method"] = method
    rng = np.random.default_rng(seed)
    runs: list[DynamicsRun] = []
    found: dict[bytes, Equilibrium] = {}
    k = market.n_providers
    for label, profile in start_profiles(market, regime, starts, n_random=n_random, seed=seed, **common):
        t0 = time.perf_counter()
        seen = {_key(profile): 0}
        status, cycle, moves, rounds = "round cap", None, 0, 0
        for rnd in range(1, max_rounds + 1):
            rounds = rnd
            moved = False
            if order == "simultaneous":
                brs = [best_response(market, profile, i, bound=False, **common) for i in range(k)]
                for br in brs:
                    profile, did = _move(profile, br, tol)
                    moved |= did
                    moves += did
            else:
                sequence = rng.permutation(k) if order == "random" else range(k)
                for i in sequence:
                    br = best_response(market, profile, int(i), bound=False, **common)
                    profile, did = _move(profile, br, tol)
                    moved |= did
                    moves += did
            if not moved:
                status = "converged"
                break
            key = _key(profile)
            if key in seen:
                status, cycle = "cycle", rnd - seen[key]
                break
            seen[key] = rnd
        runs.append(DynamicsRun(label, status, rounds, moves, cycle, profile, time.perf_counter() - t0))
        if status == "converged" and verify_results:
            key = _key(profile)
            if key not in found:
                v = verify(market, profile, tol=tol, **{kk: vv for kk, vv in common.items()})
                found[key] = Equilibrium(profile, v, f"dynamics ({order}) from {label}, {rounds} rounds")
    params = dict(order=order, starts=[s if isinstance(s, str) else "profile" for s in starts], n_random=n_random,
                  seed=seed, max_rounds=max_rounds, margin=margin, backend=backend, ties=ties)
    return EquilibriumSearch(
        market, regime, "best-response dynamics", params, rule, mode, tol, tuple(found.values()), tuple(runs),
        {}, time.perf_counter() - started,
    )


# --------------------------------------------------------------------------- enumeration


def pure_equilibria(payoffs: np.ndarray, tol: float = 1e-9) -> list[tuple[int, ...]]:
    """Pure equilibria of a normal-form game with ``payoffs[s_1, ..., s_k, i]``.

    A profile is one when for every player i, ``payoffs[s, i] ≥ max_{s_i'} payoffs[s_i', s_{−i}, i] − tol``.
    """
    k = payoffs.shape[-1]
    if payoffs.ndim != k + 1:
        raise ValueError(f"payoffs must have one axis per player plus one; got shape {payoffs.shape}")
    ok = np.ones(payoffs.shape[:-1], dtype=bool)
    for i in range(k):
        pi = payoffs[..., i]
        ok &= pi >= pi.max(axis=i, keepdims=True) - tol
    return [tuple(int(v) for v in t) for t in np.argwhere(ok)]


def _policy_tables(market: Market, schemes: np.ndarray, rule: ResponseRule) -> tuple[np.ndarray, np.ndarray]:
    """``V[c, j]`` = value of policy c for user j; ``W[c, j, i]`` = E[U_i(j)] when j consults a provider playing c."""
    m = market.n_users
    sig = np.broadcast_to(schemes[:, None], (schemes.shape[0], m) + schemes.shape[1:])
    V = scheme_values(market.P, market.u, sig)
    mu = outcomes(market.P, market.u, sig, rule)
    W = np.einsum("cjay,ijay->cji", mu, market.U)
    return V, W


def _payoff_table(V, W, p, pols: np.ndarray, rule: ResponseRule, mode: str) -> np.ndarray:
    """Payoffs ``[N, k]`` of N profiles given per-user policy indices ``pols[k, N, m]``."""
    k, N, m = pols.shape
    users = np.arange(m)
    values = V[pols, users]  # [k, N, m]
    chosen = choose_providers(values, rule)  # [N, m]
    pol = np.take_along_axis(pols, chosen[None], axis=0)[0]  # [N, m]
    pay = W[pol, users]  # [N, m, k]
    if mode == "usage":
        pay = pay * (chosen[..., None] == np.arange(k))
    return np.einsum("nmk,m->nk", pay, p)


@dataclass(frozen=True, eq=False)
class InducedGame:
    """The normal-form game a finite policy class induces.

    ``schemes[c]`` is policy c; ``strategies[s]`` is a tuple of policy indices, one per
    user (personalized) or one (anonymous); ``payoffs[s_1, ..., s_k, i]`` = Π_i.
    """

    regime: str
    policy_class: str
    schemes: np.ndarray
    strategies: tuple[tuple[int, ...], ...]
    payoffs: np.ndarray

    def __repr__(self) -> str:
        shape = " x ".join(str(n) for n in self.payoffs.shape[:-1])
        return f"InducedGame({self.regime}, {self.policy_class}: {len(self.strategies)} strategies per provider, {shape} profiles)"

    def profile(self, strategy_profile: Sequence[int]) -> Profile:
        pols = [self.strategies[s] for s in strategy_profile]
        if self.regime == "anonymous":
            return Profile("anonymous", self.schemes[[p[0] for p in pols]])
        return Profile("personalized", self.schemes[np.array(pols)])


def induced_game(
    market: Market,
    regime: Regime,
    *,
    policy_class_name: PolicyClass = "partitions",
    rule: ResponseRule = DEFAULT_RULE,
    mode: Mode = "actions",
    max_profiles: int = 1_000_000,
) -> InducedGame:
    """The whole normal-form game of the policy class (personalized: |C|^m strategies per provider)."""
    check_mode(mode)
    C = policy_class(market, policy_class_name)
    m, k = market.n_users, market.n_providers
    per = 1 if regime == "anonymous" else m
    strategies = tuple(itertools.product(range(C.shape[0]), repeat=per))
    n_s = len(strategies)
    if n_s**k > max_profiles:
        raise SizeError(
            f"the induced game has {n_s}^{k} = {n_s**k} profiles (limit {max_profiles}); "
            "use fewer observations, users or providers, or raise max_profiles"
        )
    V, W = _policy_tables(market, C, rule)
    idx = np.indices((n_s,) * k).reshape(k, -1)  # [k, N]
    strat = np.array(strategies, dtype=int)  # [n_s, per]
    pols = np.broadcast_to(strat[idx], idx.shape + (per,))
    pols = np.broadcast_to(pols, idx.shape + (m,)) if per == 1 else pols
    table = _payoff_table(V, W, market.p, np.ascontiguousarray(pols), rule, mode)
    return InducedGame(regime, policy_class_name, C, strategies, table.reshape((n_s,) * k + (k,)))


def enumerate_solve(
    market: Market,
    regime: Regime,
    *,
    policy_class_name: PolicyClass = "partitions",
    rule: ResponseRule = DEFAULT_RULE,
    mode: Mode = "actions",
    tol: float = DEFAULT_TOL,
    margin: float = DEFAULT_MARGIN,
    max_profiles: int = 1_000_000,
    max_equilibria: int = 50,
    backend: Backend = "highs",
    method: str = "auto",
    verify_results: bool = True,
    ties: Ties = "rule",
    **anonymous_options,
) -> EquilibriumSearch:
    """Every pure equilibrium of the finite game where each scheme is in the policy class.

    Anonymous: the game over |C|^k profiles. Personalized: one game per user (|C|^k
    profiles each); the equilibria are all combinations of per-user equilibria (a
    per-user threshold ``tol/m`` keeps each combination a tol-equilibrium). The first
    ``max_equilibria`` (in lexicographic order) are verified against all deviations.
    ``info`` records the class size and the number of in-class equilibria.
    """
    started = time.perf_counter()
    check_mode(mode)
    check_rule(rule)
    if regime not in ("personalized", "anonymous"):
        raise ValueError(f"regime must be 'personalized' or 'anonymous', got {regime!r}")
    C = policy_class(market, policy_class_name)
    n_c, k, m = C.shape[0], market.n_providers, market.n_users
    if n_c**k > max_profiles:
        raise SizeError(
            f"enumeration over {policy_class_name} of X needs {n_c}^{k} = {n_c**k} profiles per game "
            f"(limit max_profiles={max_profiles}); use fewer observations or providers, "
            "the 'partitions' class, or best-response dynamics"
        )
    V, W = _policy_tables(market, C, rule)
    idx = np.indices((n_c,) * k).reshape(k, -1)
    if regime == "anonymous":
        pols = np.ascontiguousarray(np.broadcast_to(idx[..., None], idx.shape + (m,)))
        table = _payoff_table(V, W, market.p, pols, rule, mode).reshape((n_c,) * k + (k,))
        in_class = pure_equilibria(table, tol)
        count, per_user_counts = len(in_class), None
        combos: Iterable = iter(in_class)
    else:
        per_user = []
        for j in range(m):
            table = _payoff_table(V[:, j : j + 1], W[:, j : j + 1], market.p[j : j + 1], idx[..., None], rule, mode)
            per_user.append(pure_equilibria(table.reshape((n_c,) * k + (k,)), tol / m))
        per_user_counts = [len(e) for e in per_user]
        count = int(np.prod(per_user_counts))
        # a combination picks one per-user equilibrium (a k-tuple) for every user
        combos = (tuple(zip(*combo)) for combo in itertools.product(*per_user))
    models = PersuasionModels(market, backend) if regime == "personalized" else None
    extra = dict(anonymous_options)
    if regime == "anonymous":
        extra["method"] = method
    eqs, listed = [], []
    for n, combo in enumerate(itertools.islice(combos, max_equilibria)):
        # anonymous: combo[i] = provider i's policy; personalized: combo[i][j] = its policy for user j
        listed.append([list(c) if isinstance(c, tuple) else int(c) for c in combo])
        profile = Profile("anonymous", C[list(combo)]) if regime == "anonymous" else Profile("personalized", C[np.array(combo)])
        if verify_results:
            v = verify(market, profile, rule=rule, mode=mode, tol=tol, margin=margin, backend=backend, models=models,
                       ties=ties, **extra)
            eqs.append(Equilibrium(profile, v, f"enumeration over {policy_class_name} of X (#{n})"))
    info = {
        "policy_class": policy_class_name,
        "class_size": n_c,
        "profiles_per_game": n_c**k,
        "in_class_equilibria": count,
        "listed": min(count, max_equilibria),
        "listed_policies": listed,
    }
    if per_user_counts is not None:
        info["in_class_equilibria_per_user"] = per_user_counts
    params = dict(policy_class=policy_class_name, max_profiles=max_profiles, max_equilibria=max_equilibria,
                  margin=margin, ties=ties)
    return EquilibriumSearch(
        market, regime, "enumeration", params, rule, mode, tol, tuple(eqs), (), info, time.perf_counter() - started
    )


def solve(market: Market, regime: Regime, method: str = "dynamics", **options) -> EquilibriumSearch:
    """``method="dynamics"`` → :func:`dynamics_solve`, ``"enumerate"`` → :func:`enumerate_solve`."""
    if method == "dynamics":
        return dynamics_solve(market, regime, **options)
    if method == "enumerate":
        return enumerate_solve(market, regime, **options)
    raise ValueError(f"method must be 'dynamics' or 'enumerate', got {method!r}")
