"""Seeded generators of random markets.

* :func:`random_market` — random prior (Dirichlet), random utilities (uniform on [0, 1]);
* :func:`aligned_market` — markets aligned by construction (docs/model.md §7):
  ``u_j = Σ_i λ_ij U_i(j, ·) + c_j + noise``, with ``λ ≥ 0`` and noise uniform on
  ``[−η, η]`` (then clipped to [0, 1], which can only move u towards the fit), so
  the Weak Market Alignment error of every user is at most η. With
  ``common_weights=True`` all users share λ (Strong Market Alignment at level η).

Every generator takes ``seed`` and returns the same market for the same seed.

>>> m = aligned_market(seed=0, noise=0.0)
>>> m.n_users, m.n_providers
(3, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pluralign.catalog.bundled import load
from pluralign.model.market import Market

__all__ = ["random_market", "aligned_market", "AlignedConstruction", "aligned_construction", "perturbed"]


def _prior(rng: np.random.Generator, n: int, concentration: float) -> np.ndarray:
    p = rng.dirichlet(np.full(n, concentration))
    p = np.maximum(p, 1e-3)
    return p / p.sum()


def _observation(rng: np.random.Generator, n_states: int, n_observations: int | None) -> np.ndarray | None:
    if n_observations is None:
        return None
    obs = rng.dirichlet(np.ones(n_observations), size=n_states)
    obs[:, -1] = 1.0 - obs[:, :-1].sum(axis=1)  # exact row sums
    return np.clip(obs, 0.0, 1.0)


def random_market(
    seed: int,
    n_states: int = 2,
    n_actions: int = 2,
    n_users: int = 2,
    n_providers: int = 2,
    *,
    n_observations: int | None = None,
    user_specific: bool = False,
    prior_concentration: float = 1.0,
    name: str | None = None,
) -> Market:
    """A market with Dirichlet prior and masses and uniform [0, 1] utilities.

    ``n_observations=None`` means providers observe the state; otherwise observations are
    drawn from a random ``P(x | y)``. ``user_specific`` makes providers' utilities depend on the user.
    """
    rng = np.random.default_rng(seed)
    prior = _prior(rng, n_states, prior_concentration)
    observation = _observation(rng, n_states, n_observations)
    mass = _prior(rng, n_users, 1.0)
    u = rng.random((n_users, n_actions, n_states))
    shape = (n_providers, n_users, n_actions, n_states) if user_specific else (n_providers, n_actions, n_states)
    U = rng.random(shape)
    return Market.from_arrays(
        prior=prior,
        observation=observation,
        p=mass,
        u=u,
        U=U,
        name=name or f"random-{seed}",
        description=f"random_market(seed={seed})",
    )


@dataclass(frozen=True, eq=False)
class AlignedConstruction:
    """A market aligned by construction and the weights/offsets used to build it."""

    market: Market
    weights: np.ndarray  # [j, i]
    offsets: np.ndarray  # [j]
    noise: float


def aligned_construction(
    seed: int,
    n_states: int = 2,
    n_actions: int = 2,
    n_users: int = 3,
    n_providers: int = 2,
    *,
    noise: float = 0.0,
    common_weights: bool = False,
    user_specific: bool = False,
    sparsity: float = 0.0,
    n_observations: int | None = None,
    name: str | None = None,
) -> AlignedConstruction:
    """Build ``u_j = Σ_i λ_ij U_i(j,·) + c_j + noise`` scaled into [0, 1]; see the module docstring.

    ``sparsity`` is the probability that a weight is set to zero (a provider that
    does not cover a user); at least one weight per user stays positive.
    """
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    rng = np.random.default_rng(seed)
    prior = _prior(rng, n_states, 1.0)
    observation = _observation(rng, n_states, n_observations)
    mass = _prior(rng, n_users, 1.0)
    shape = (n_providers, n_users, n_actions, n_states) if user_specific else (n_providers, 1, n_actions, n_states)
    U = np.broadcast_to(rng.random(shape), (n_providers, n_users, n_actions, n_states))
    rows = 1 if common_weights else n_users
    lam = rng.exponential(size=(rows, n_providers))
    if sparsity > 0:
        drop = rng.random(lam.shape) < sparsity
        drop[np.arange(rows), rng.integers(n_providers, size=rows)] = False
        lam = np.where(drop, 0.0, lam)
    lam = np.broadcast_to(lam, (n_users, n_providers)).copy()
    fit = np.einsum("ji,ijay->jay", lam, U)
    lo = fit.min(axis=(1, 2))
    span = fit.max(axis=(1, 2)) - lo
    if common_weights:
        span = np.full(n_users, span.max())  # one scale keeps the weights common
    span = np.where(span > 0, span, 1.0)
    weights = lam / span[:, None]
    offsets = -lo / span
    clean = fit / span[:, None, None] + offsets[:, None, None]
    noisy = clean + rng.uniform(-noise, noise, size=clean.shape) if noise > 0 else clean
    u = np.clip(noisy, 0.0, 1.0)
    market = Market.from_arrays(
        prior=prior,
        observation=observation,
        p=mass,
        u=u,
        U=U if user_specific else U[:, 0],
        name=name or f"aligned-{seed}",
        description=f"aligned_market(seed={seed}, noise={noise}, common_weights={common_weights})",
    )
    return AlignedConstruction(market, weights, offsets, noise)


def aligned_market(seed: int, *args, **kwargs) -> Market:
    """The market of :func:`aligned_construction` (same arguments)."""
    return aligned_construction(seed, *args, **kwargs).market


def perturbed(market: Market, noise: float, seed: int) -> Market:
    """``market`` with every user's utility moved by seeded uniform noise in [−noise, noise],
    clipped to [0, 1] (the market itself when ``noise`` is 0); named ``"<name>+noise<η>"``."""
    if noise == 0:
        return market
    rng = np.random.default_rng(seed)
    u = np.clip(market.u + rng.uniform(-noise, noise, size=market.u.shape), 0.0, 1.0)
    return market.replace(u=u, name=f"{market.name}+noise{noise:g}")


def aligned_or_bundled(name: str, seed: int, *, noise: float, perturb: float, n_states: int, n_actions: int,
                       n_users: int, n_providers: int) -> Market:
    """An experiment's market: ``name == "aligned"`` gives :func:`aligned_construction`'s market
    (seeded; user-specific providers; noise η = ``noise``; the sizes given), any other name the
    bundled market with users' utilities :func:`perturbed` by ``perturb``."""
    if name == "aligned":
        return aligned_construction(seed, n_states=n_states, n_actions=n_actions, n_users=n_users,
                                    n_providers=n_providers, noise=noise, user_specific=True).market
    return perturbed(load(name), perturb, seed)
