"""Best-response dynamics among providers (docs/model.md §5, §8.4).

From each starting profile, providers best-respond in turn — in index order
(``"sequential"``), in a seeded random order (``"random"``), or all against the same
profile (``"simultaneous"``). A provider adopts its best response on a group of users
(:meth:`~pluralign.analysis.game.ProviderGame.groups`: each user when personalized, all
users when anonymous) only where its average gain over the group's mass exceeds the game's
``tol``. A run ends **converged** (a round without a move), in a **cycle** (a round-end
profile repeats) or at the **round cap**; every distinct converged profile is verified from
scratch by ``game.verify``.

**Margin ladders** (docs/model.md §8.4). When two providers outbid each other for a user by
the margin δ, the dynamics would climb ~1/δ rounds. With ``jumps=True`` (default) every
step's changes are watched (:class:`~pluralign.analysis.solvers.ladders.LadderWatch`); a
margin-sized arithmetic progression of the providers' schemes on a group is a ladder, and
the run jumps to the end of it (:func:`~pluralign.analysis.solvers.ladders.jump_ladders`):
to the profile the δ-ladder itself would reach, found by bisection on the number of
periods with the game's own best responses as the oracle. Each jump is recorded
(:class:`~pluralign.analysis.solvers.ladders.LadderJump`), and the run goes on from there.

**Polishing.** A ladder climbed at margin δ stops where the weaker bidder's *attained* gain
falls to ``tol``; its certified regret (a supremum, docs/model.md §5) can then exceed ``tol`` by
O(δ). With ``polish=True`` (default), a converged end that fails ``game.verify`` is continued
in the same game with the smallest margin (``margin=0``: δ_j = 10 tie tolerances) and a move
threshold of ``tol/4`` — the ladder's δ → 0 limit, jumped the same way — for at most
``POLISH_ROUNDS`` rounds; the result replaces the end if it is converged and verified (the run
is then marked ``polished``).

**Trajectories.** Every run keeps its path (:attr:`DynamicsRun.trajectory`): the start,
then after every move and every jump the providers' payoffs and the users' utilities.

Starts: ``"uninformative"``, ``"favourite"`` (each provider's best response to an
uninformative market), ``"full"`` (full revelation), ``"random"`` (``n_random`` seeded
random profiles), or given :class:`~pluralign.model.schemes.Profile` objects.

>>> from pluralign.catalog import load
>>> from pluralign.analysis.game import ProviderGame
>>> res = dynamics_solve(ProviderGame(load("match_mismatch"), "personalized"), random_state=0)
>>> sorted({tuple(e.utilities.round(6).tolist()) for e in res.verified})   # every equilibrium informs both users
[(1.0, 1.0)]
>>> run = dynamics_solve(ProviderGame(load("prosecutor"), "personalized"), starts=["uninformative"]).runs[0]
>>> run.status, len(run.jumps) >= 1, round(float(run.trajectory[-1].utilities[0]), 4)   # the ladder of §8.4, jumped
('converged', True, 1.0)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Literal

import numpy as np

from pluralign.analysis.game import ProviderGame
from pluralign.analysis.solvers.ladders import ROUND, LadderJump, LadderWatch, Stepper, jump_ladders
from pluralign.analysis.solvers.results import DynamicsResult, DynamicsRun, Equilibrium, TrajectoryPoint
from pluralign.model.schemes import Profile
from pluralign.model.users import provider_payoffs

__all__ = ["dynamics_solve", "start_profiles", "seed_streams", "ORDERS", "STARTS"]

Order = Literal["sequential", "random", "simultaneous"]
ORDERS = ("sequential", "random", "simultaneous")
STARTS = ("uninformative", "favourite", "full", "random")
#: polishing: rounds at the smallest margin, and the move threshold as a share of ``tol``
POLISH_ROUNDS = 20
POLISH_TOL = 0.25


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


def _point(game: ProviderGame, profile: Profile, rnd: int, kind: str, provider: int | None) -> TrajectoryPoint:
    resp = game.respond(profile)
    return TrajectoryPoint(rnd, kind, provider, provider_payoffs(game.market, resp, game.mode), resp.utility.copy())


def _climb(game: ProviderGame, profile: Profile, *, order: str, max_rounds: int, order_rng, jumps: bool,
           first_round: int = 1, kind: str = "move"):
    """Rounds of the dynamics from ``profile`` until a round without a move, a repeated round-end
    profile or ``max_rounds`` rounds: ``(profile, status, rounds, moves, cycle, points, jumps)``."""
    k = game.market.n_providers
    stepper = Stepper(game)
    watch = LadderWatch.for_game(game, every_step=order != "random") if jumps and not game.menus else None  # ladders: one scheme per group
    seen = {profile.key(): first_round - 1}
    status, cycle, moves, rounds = "round cap", None, 0, 0
    points: list[TrajectoryPoint] = []
    jump_log: list[LadderJump] = []
    for rnd in range(first_round, first_round + max_rounds):
        rounds += 1
        moved = False
        labels = [ROUND] if order == "simultaneous" else (order_rng.permutation(k) if order == "random" else range(k))
        for lab in labels:
            lab = lab if isinstance(lab, str) else int(lab)
            profile, changed, done = stepper.step(profile, lab)
            if watch is not None:
                watch.record(profile, lab, changed)
            if not changed:
                continue
            moved = True
            moves += len(done)
            points.extend(_point(game, after, rnd, kind, provider) for provider, after in done)
            ladders = watch.detect(changed) if watch is not None else []
            if not ladders:
                continue
            before = stepper.best_responses
            profile, landed, between = jump_ladders(stepper, watch, profile, ladders)
            watch.reset()  # the next phase is recognised from fresh steps
            cost = stepper.best_responses - before
            for lad, periods, how, state in landed:
                after = watch.values(state, lad.users).max(axis=0)
                jump_log.append(LadderJump(rnd, tuple(int(j) for j in lad.users), lad.movers, periods,
                                           periods * len(lad.movers), how, lad.values.max(axis=0), after, cost))
            for _, _, done in between:  # moves made between chained jumps
                moves += len(done)
                points.extend(_point(game, after, rnd, kind, provider) for provider, after in done)
            if landed:
                per_group: dict[int, int] = {}
                for lad, periods, _, _ in landed:
                    per_group[lad.group] = per_group.get(lad.group, 0) + periods * len(lad.movers)
                point = _point(game, profile, rnd, "jump", None)
                points.append(dataclasses.replace(point, skipped=max(per_group.values())))
        if not moved:
            status = "converged"
            break
        key = profile.key()
        if key in seen:
            status, cycle = "cycle", rnd - seen[key]
            break
        seen[key] = rnd
    return profile, status, rounds, moves, cycle, points, jump_log


def _run(game: ProviderGame, label: str, profile: Profile, *, order: str, max_rounds: int, order_rng, jumps: bool,
         polish: bool, verified: dict):
    """One run of the dynamics from ``profile`` (module docstring); ``verified`` caches verifications by profile key."""
    t0 = time.perf_counter()
    trajectory = [_point(game, profile, 0, "start", None)]
    profile, status, rounds, moves, cycle, points, jump_log = _climb(
        game, profile, order=order, max_rounds=max_rounds, order_rng=order_rng, jumps=jumps)
    trajectory += points
    polished = False
    if status == "converged" and polish:
        check = _verification(game, profile, verified)
        if not check.verified:
            fine = game.replace(margin=0.0, tol=game.tol * POLISH_TOL)
            end, fine_status, fine_rounds, fine_moves, _, fine_points, fine_jumps = _climb(
                fine, profile, order=order, max_rounds=POLISH_ROUNDS, order_rng=order_rng, jumps=jumps,
                first_round=rounds + 1, kind="polish")
            if fine_status == "converged" and fine_moves and _verification(game, end, verified).verified:
                profile, polished = end, True
                rounds, moves = rounds + fine_rounds, moves + fine_moves
                trajectory += fine_points
                jump_log += fine_jumps
    return DynamicsRun(label, status, rounds, moves, cycle, profile, time.perf_counter() - t0,
                       tuple(trajectory), tuple(jump_log), polished)


def _verification(game: ProviderGame, profile: Profile, cache: dict):
    key = profile.key()
    if key not in cache:
        cache[key] = game.verify(profile)
    return cache[key]


def dynamics_solve(
    game: ProviderGame,
    *,
    starts: Sequence[str | Profile] = STARTS,
    order: Order = "sequential",
    n_random: int = 1,
    max_rounds: int = 50,
    random_state=None,
    verify_results: bool = True,
    jumps: bool = True,
    polish: bool = True,
) -> DynamicsResult:
    """Best-response dynamics from each start (module docstring).

    ``random_state`` (an int, a ``numpy.random.Generator``, or None for fresh entropy, the
    seed then recorded in ``parameters``) drives the random starts and the random order
    through independent streams. ``verify_results=False`` skips verification (candidates
    are then not listed). ``jumps=False`` climbs margin ladders move by move; ``polish=False``
    leaves a converged end that fails verification as it is (module docstring).
    """
    started = time.perf_counter()
    if order not in ORDERS:
        raise ValueError(f"order must be 'sequential', 'random' or 'simultaneous', got {order!r}")
    if not (isinstance(max_rounds, (int, np.integer)) and 1 <= max_rounds <= 100_000):
        raise ValueError(f"max_rounds must be an integer in 1..100000, got {max_rounds!r}")
    if not (isinstance(n_random, (int, np.integer)) and 0 <= n_random <= 10_000):
        raise ValueError(f"n_random must be an integer in 0..10000, got {n_random!r}")
    if not isinstance(jumps, (bool, np.bool_)):
        raise ValueError(f"jumps must be True or False, got {jumps!r}")
    if not isinstance(polish, (bool, np.bool_)):
        raise ValueError(f"polish must be True or False, got {polish!r}")
    (start_rng, order_rng), seed = seed_streams(random_state, 2)
    runs: list[DynamicsRun] = []
    found: dict[bytes, Equilibrium] = {}
    verified: dict[bytes, object] = {}
    for label, profile in start_profiles(game, starts, n_random=n_random, rng=start_rng):
        run = _run(game, label, profile, order=order, max_rounds=int(max_rounds), order_rng=order_rng, jumps=bool(jumps),
                   polish=bool(polish), verified=verified)
        if run.status == "converged" and verify_results:
            run = dataclasses.replace(run, verified=_verification(game, run.profile, verified).verified)
        runs.append(run)
        if run.status == "converged" and verify_results:
            key = run.profile.key()
            if key not in found:
                how = f"dynamics ({order}) from {label}, {run.rounds} rounds"
                if run.jumps:
                    how += f", {len(run.jumps)} ladder jump{'s' if len(run.jumps) > 1 else ''}"
                if run.polished:
                    how += ", polished"
                found[key] = Equilibrium(run.profile, _verification(game, run.profile, verified), how)
    params = dict(
        order=order, starts=[s if isinstance(s, str) else "profile" for s in starts], n_random=n_random, seed=seed,
        max_rounds=max_rounds, margin=game.margin, backend=game.backend, ties=game.ties, jumps=bool(jumps),
        polish=bool(polish),
    )
    return DynamicsResult(game, "best-response dynamics", params, tuple(found.values()), time.perf_counter() - started,
                          tuple(runs))
