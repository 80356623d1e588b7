"""Best-response dynamics among providers (docs/model.md §5).

From each starting profile, providers best-respond in turn — in index order
(``"sequential"``), in a seeded random order (``"random"``), or all against the same
profile (``"simultaneous"``). A provider adopts its best response on a group of users
(:meth:`~pluralign.analysis.game.ProviderGame.groups`: each user when personalized, all
users when anonymous) only where its average gain over the group's mass exceeds the game's
``tol``. A run ends **converged** (a round without a move), in a **cycle** (a round-end
profile repeats) or at the **round cap**; every distinct converged profile is verified from
scratch by ``game.verify``.

Starts: ``"uninformative"``, ``"favourite"`` (each provider's best response to an
uninformative market), ``"full"`` (full revelation), ``"random"`` (``n_random`` seeded
random profiles), or given :class:`~pluralign.model.schemes.Profile` objects.

>>> from pluralign.catalog import load
>>> from pluralign.analysis.game import ProviderGame
>>> res = dynamics_solve(ProviderGame(load("match_mismatch"), "personalized"), random_state=0)
>>> sorted({tuple(e.utilities.round(6).tolist()) for e in res.verified})   # every equilibrium informs both users
[(1.0, 1.0)]
"""

from __future__ import annotations

import time
from typing import Literal, Sequence

import numpy as np

from pluralign.analysis.game import ProviderGame
from pluralign.analysis.responses.result import BestResponse
from pluralign.analysis.solvers.results import DynamicsResult, DynamicsRun, Equilibrium
from pluralign.model.schemes import Profile

__all__ = ["dynamics_solve", "start_profiles", "seed_streams", "ORDERS", "STARTS"]

Order = Literal["sequential", "random", "simultaneous"]
ORDERS = ("sequential", "random", "simultaneous")
STARTS = ("uninformative", "favourite", "full", "random")


def seed_streams(random_state, n: int) -> tuple[list[np.random.Generator], int | str]:
    """``n`` independent generators from ``random_state`` (an int seed, a ``Generator``, or None
    for fresh entropy), and what to record: the seed (drawn from the entropy when None) or
    ``"generator"``."""
    if isinstance(random_state, np.random.Generator):
        return list(random_state.spawn(n)), "generator"
    if random_state is None:
        random_state = int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative int, a numpy Generator or None, got {random_state!r}")
    children = np.random.SeedSequence(int(random_state)).spawn(n)
    return [np.random.default_rng(c) for c in children], int(random_state)


def start_profiles(
    game: ProviderGame,
    starts: Sequence[str | Profile] = STARTS,
    *,
    n_random: int = 1,
    rng: np.random.Generator | None = None,
) -> list[tuple[str, Profile]]:
    """Named starting profiles (module docstring); random ones drawn from ``rng``."""
    rng = np.random.default_rng(0) if rng is None else rng
    out: list[tuple[str, Profile]] = []
    for idx, start in enumerate(starts):
        if isinstance(start, Profile):
            out.append((f"given profile {idx}", game.check_profile(start)))
        elif start == "uninformative":
            out.append(("uninformative", game.uninformative()))
        elif start == "full":
            out.append(("full revelation", game.full_revelation()))
        elif start == "favourite":
            base = game.uninformative()
            prof = base
            for i in range(game.market.n_providers):
                prof = game.best_response(base, i, bound=False).apply(prof)
            out.append(("each provider's favourite", prof))
        elif start == "random":
            out.extend((f"random #{r}", game.random_profile(rng)) for r in range(n_random))
        else:
            raise ValueError(f"unknown start {start!r}; use uninformative, favourite, full, random or a Profile")
    return out


def _move(game: ProviderGame, profile: Profile, br: BestResponse) -> tuple[Profile, bool]:
    """Adopt ``br`` on every group where its average gain exceeds ``game.tol`` (module docstring)."""
    p = game.market.p
    gain = br.user_value - br.user_current
    groups = game.groups()
    better = [g for g in groups if gain[g] @ p[g] > game.tol * p[g].sum()]
    if not better:
        return profile, False
    if len(better) == len(groups):
        return br.apply(profile), True
    mask = np.zeros(game.market.n_users, dtype=bool)
    for g in better:
        mask[g] = True
    return br.apply(profile, users=mask), True


def dynamics_solve(
    game: ProviderGame,
    *,
    starts: Sequence[str | Profile] = STARTS,
    order: Order = "sequential",
    n_random: int = 1,
    max_rounds: int = 50,
    random_state=None,
    verify_results: bool = True,
) -> DynamicsResult:
    """Best-response dynamics from each start (module docstring).

    ``random_state`` (an int, a ``numpy.random.Generator``, or None for fresh entropy, the
    seed then recorded in ``parameters``) drives the random starts and the random order
    through independent streams. ``verify_results=False`` skips verification (candidates
    are then not listed).
    """
    started = time.perf_counter()
    if order not in ORDERS:
        raise ValueError(f"order must be 'sequential', 'random' or 'simultaneous', got {order!r}")
    if not (isinstance(max_rounds, (int, np.integer)) and 1 <= max_rounds <= 100_000):
        raise ValueError(f"max_rounds must be an integer in 1..100000, got {max_rounds!r}")
    if not (isinstance(n_random, (int, np.integer)) and 0 <= n_random <= 10_000):
        raise ValueError(f"n_random must be an integer in 0..10000, got {n_random!r}")
    (start_rng, order_rng), seed = seed_streams(random_state, 2)
    k = game.market.n_providers
    runs: list[DynamicsRun] = []
    found: dict[bytes, Equilibrium] = {}
    for label, profile in start_profiles(game, starts, n_random=n_random, rng=start_rng):
        t0 = time.perf_counter()
        seen = {profile.key(): 0}
        status, cycle, moves, rounds = "round cap", None, 0, 0
        for rnd in range(1, max_rounds + 1):
            rounds = rnd
            moved = False
            if order == "simultaneous":
                brs = [game.best_response(profile, i, bound=False) for i in range(k)]
                for br in brs:
                    profile, did = _move(game, profile, br)
                    moved |= did
                    moves += did
            else:
                sequence = order_rng.permutation(k) if order == "random" else range(k)
                for i in sequence:
                    profile, did = _move(game, profile, game.best_response(profile, int(i), bound=False))
                    moved |= did
                    moves += did
            if not moved:
                status = "converged"
                break
            key = profile.key()
            if key in seen:
                status, cycle = "cycle", rnd - seen[key]
                break
            seen[key] = rnd
        runs.append(DynamicsRun(label, status, rounds, moves, cycle, profile, time.perf_counter() - t0))
        if status == "converged" and verify_results:
            key = profile.key()
            if key not in found:
                found[key] = Equilibrium(profile, game.verify(profile), f"dynamics ({order}) from {label}, {rounds} rounds")
    params = dict(
        order=order, starts=[s if isinstance(s, str) else "profile" for s in starts], n_random=n_random, seed=seed,
        max_rounds=max_rounds, margin=game.margin, backend=game.backend, ties=game.ties,
    )
    return DynamicsResult(game, "best-response dynamics", params, tuple(found.values()), time.perf_counter() - started,
                          tuple(runs))
