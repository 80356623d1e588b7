"""Best-AI selection (docs/model.md §10, the predecessor paper's model).

Each provider i commits to a deterministic recommendation policy ``f_i : X → A``
(one for all users). User j evaluates every provider's policy by what following
it gives her,

    value_j(f) = Σ_{x,y} P[x, y] u_j(f(x), y),

consults the best one (ties split uniformly at random, as in docs/model.md §12) and
follows its recommendation. Provider i earns ``Σ_j p_j E[U_i(j, a_j, y)]`` from the
actions users take (payoff mode "actions"), or only from its own users ("usage").

Providers best-respond in turn (best-response dynamics) over the finite class of
all ``|A|^|X|`` policies; a profile is an equilibrium when no provider gains by
switching policy, checked exactly by enumerating the class.

>>> from pluralign import catalog
>>> m = catalog.load("biased_pair")
>>> eqs = best_ai_equilibria(m)
>>> sorted({round(float(e.user_utility[0]), 6) for e in eqs})   # every equilibrium informs the user
[1.0]
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from pluralign.model.market import Market

__all__ = [
    "MAX_POLICIES",
    "policy_class",
    "PolicyTables",
    "policy_tables",
    "BestAIOutcome",
    "evaluate",
    "BestAIDynamics",
    "best_ai_dynamics",
    "best_ai_equilibria",
]

MAX_POLICIES = 200_000


def policy_class(n_x: int, n_a: int) -> np.ndarray:
    """All deterministic policies ``f[k, x]`` (action recommended at x), in lexicographic order."""
    count = n_a**n_x
    if count > MAX_POLICIES:
        raise ValueError(
            f"{n_a}^{n_x} = {count} recommendation policies is more than {MAX_POLICIES}; "
            "use fewer observations or actions"
        )
    return np.array(list(itertools.product(range(n_a), repeat=n_x)), dtype=int).reshape(count, n_x)


@dataclass(frozen=True, eq=False)
class PolicyTables:
    """``user[j, k]`` = value_j(f_k); ``provider[i, j, k]`` = E[U_i(j, f_k(x), y)] when j follows f_k."""

    policies: np.ndarray
    user: np.ndarray
    provider: np.ndarray


def policy_tables(market: Market) -> PolicyTables:
    """Both parties' expected utilities for every policy in the class (vectorized)."""
    f = policy_class(market.n_observations, market.n_actions)  # [k, x]
    # E[x, j, a] = Σ_y P[x,y] u[j,a,y]; value of f = Σ_x E[x, j, f(x)]
    Eu = np.einsum("xy,jay->xja", market.P, market.u)
    EU = np.einsum("xy,ijay->xija", market.P, market.U)
    xs = np.arange(market.n_observations)
    user = Eu[xs[None, :], :, f].sum(axis=1).T  # [k, x, j] -> [j, k]
    provider = EU[xs[None, :], :, :, f].sum(axis=1).transpose(1, 2, 0)  # [k, x, i, j] -> [i, j, k]
    return PolicyTables(f, user, provider)


@dataclass(frozen=True, eq=False)
class BestAIOutcome:
    """What a profile of policies (indices into the class) gives users and providers."""

    profile: tuple[int, ...]
    shares: np.ndarray  # [i, j]
    user_utility: np.ndarray  # [j]
    payoffs: np.ndarray  # [i]


def evaluate(
    tables: PolicyTables,
    p: np.ndarray,
    profile: tuple[int, ...],
    *,
    tol: float = 1e-9,
    mode: Literal["actions", "usage"] = "actions",
) -> BestAIOutcome:
    """Users' choices (ties split uniformly) and everyone's expected utility under ``profile``."""
    prof = np.asarray(profile)
    values = tables.user[:, prof].T  # [i, j]
    tied = values >= values.max(axis=0, keepdims=True) - tol
    shares = tied / tied.sum(axis=0, keepdims=True)
    user_utility = (shares * values).sum(axis=0)
    k = prof.size
    # U_i when j follows provider l's policy: tables.provider[i, j, prof[l]] -> [i, l, j]
    earn = tables.provider[:, :, prof].transpose(0, 2, 1)
    if mode == "actions":
        per_user = np.einsum("lj,ilj->ij", shares, earn)
    elif mode == "usage":
        per_user = shares * earn[np.arange(k), np.arange(k)]
    else:
        raise ValueError(f"mode must be 'actions' or 'usage', got {mode!r}")
    return BestAIOutcome(tuple(int(v) for v in prof), shares, user_utility, per_user @ p)


def _best_responses(tables: PolicyTables, p, profile, i: int, tol: float, mode: str) -> tuple[np.ndarray, float]:
    """Provider i's payoff for every policy (others fixed), and its current payoff."""
    n_pol = tables.policies.shape[0]
    payoffs = np.empty(n_pol)
    for k in range(n_pol):
        trial = list(profile)
        trial[i] = k
        payoffs[k] = evaluate(tables, p, tuple(trial), tol=tol, mode=mode).payoffs[i]
    return payoffs, float(payoffs[profile[i]])


@dataclass(frozen=True, eq=False)
class BestAIDynamics:
    """Result of best-response dynamics among providers choosing recommendation policies."""

    profile: tuple[int, ...]
    policies: np.ndarray  # [i, x]
    outcome: BestAIOutcome
    converged: bool
    cycle: bool
    rounds: int
    regrets: np.ndarray
    verified: bool
    seed: int
    start: str
    history: list = field(repr=False, default_factory=list)
    seconds: float = 0.0

    @property
    def user_utility(self) -> np.ndarray:
        return self.outcome.user_utility


def best_ai_dynamics(
    market: Market,
    *,
    seed: int = 0,
    start: Literal["random", "worst", "lowest"] = "random",
    max_rounds: int = 100,
    tol: float = 1e-9,
    mode: Literal["actions", "usage"] = "actions",
    tables: PolicyTables | None = None,
) -> BestAIDynamics:
    """Sequential best-response dynamics: providers in turn switch to a best policy.

    A provider keeps its policy when it is already a best response (within ``tol``);
    otherwise it takes the lowest-index best one. Stops when a full round changes
    nothing (``converged``), when a profile repeats (``cycle``) or after ``max_rounds``.
    ``start``: random policies (seeded), each provider's worst policy for the users,
    or policy 0. The final profile's regrets are computed exactly over the class.
    """
    started = time.perf_counter()
    tables = tables or policy_tables(market)
    rng = np.random.default_rng(seed)
    k, n_pol = market.n_providers, tables.policies.shape[0]
    if start == "random":
        profile = tuple(int(v) for v in rng.integers(n_pol, size=k))
    elif start == "worst":
        worst = int(np.argmin(market.p @ tables.user))
        profile = (worst,) * k
    elif start == "lowest":
        profile = (0,) * k
    else:
        raise ValueError(f"start must be 'random', 'worst' or 'lowest', got {start!r}")
    seen = {profile}
    history = [profile]
    converged = cycle = False
    rounds = 0
    for rounds in range(1, max_rounds + 1):  # noqa: B007 - the count is read after the loop
        changed = False
        for i in range(k):
            payoffs, current = _best_responses(tables, market.p, profile, i, tol, mode)
            if payoffs.max() > current + tol:
                new = list(profile)
                new[i] = int(np.argmax(payoffs >= payoffs.max() - tol))
                profile = tuple(new)
                changed = True
                history.append(profile)
        if not changed:
            converged = True
            break
        if profile in seen:
            cycle = True
            break
        seen.add(profile)
    regrets = np.array([
        max(0.0, float(_best_responses(tables, market.p, profile, i, tol, mode)[0].max()
                       - evaluate(tables, market.p, profile, tol=tol, mode=mode).payoffs[i]))
        for i in range(k)
    ])
    return BestAIDynamics(
        profile=profile,
        policies=tables.policies[list(profile)],
        outcome=evaluate(tables, market.p, profile, tol=tol, mode=mode),
        converged=converged,
        cycle=cycle,
        rounds=rounds,
        regrets=regrets,
        verified=bool(np.all(regrets <= tol)),
        seed=seed,
        start=start,
        history=history,
        seconds=time.perf_counter() - started,
    )


def best_ai_equilibria(
    market: Market,
    *,
    tol: float = 1e-9,
    mode: Literal["actions", "usage"] = "actions",
    max_profiles: int = 1_000_000,
) -> list[BestAIOutcome]:
    """Every pure equilibrium over the policy class, by exhaustive enumeration."""
    tables = policy_tables(market)
    n_pol, k = tables.policies.shape[0], market.n_providers
    if n_pol**k > max_profiles:
        raise ValueError(f"{n_pol}^{k} profiles is more than max_profiles={max_profiles}; use a smaller market")
    outcomes = {prof: evaluate(tables, market.p, prof, tol=tol, mode=mode) for prof in itertools.product(range(n_pol), repeat=k)}
    found = []
    for prof, out in outcomes.items():
        stable = True
        for i in range(k):
            best = max(outcomes[prof[:i] + (q,) + prof[i + 1 :]].payoffs[i] for q in range(n_pol))
            if best > out.payoffs[i] + tol:
                stable = False
                break
        if stable:
            found.append(out)
    return found
