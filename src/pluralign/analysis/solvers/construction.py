"""Personalized equilibria built user by user, from the ladder's fixed point (docs/model.md §8.1, §8.4).

**Where it applies.** In the personalized regime a provider's payoff is a sum over users and a
user's choice depends only on the schemes offered to her (docs/model.md §5, §8.1), so an
equilibrium is a profile in which every user's schemes form an equilibrium of *her* game, and
any combination of such per-user equilibria is one (each provider's certified regret is the
mass-weighted sum of its per-user regrets, and the masses sum to 1). In the anonymous regime
one scheme serves every user: users are coupled, there is no per-user game, and
:func:`construct_solve` refuses it (use :func:`~pluralign.analysis.solvers.dynamics.dynamics_solve`
or :func:`~pluralign.analysis.solvers.enumeration.enumerate_solve`). It also needs the per-user
persuasion LPs of §8.1, i.e. no private observations and no menus (§14).

**The user's game, one dimension.** For user j, a *holder* h and a level w, the configuration
C(h, w) is: h offers its attained attract scheme at participation w + lead
(:func:`attract_offer`: the persuasion LP with V_j ≥ w + lead and the game's obedience margin,
whose optimal value is A_h, concave and non-increasing), a runner-up r ≠ h offers a scheme
worth exactly w to her (full revelation with probability λ, silence otherwise: her value is
linear in λ), and every other provider says nothing; lead = 10 tie tolerances where the users'
rule would hand a tie to r, 0 where it hands it to h (r is chosen below h when the rule allows).
This is the limit of the margin ladder of §8.4 at level w — the loser's stale offer and the
holder's offer just above it; the stale offer's scheme matters to nobody's payoff or best
response, only its value does. Challenger c's certified gain at C(h, w) — the supremum of its best response (the
certificate, docs/model.md §5) minus its payoff, computed by the game itself — is, in usage
mode, A_c(w) − 0 (non-increasing); in actions mode A_c(w) − L_c(w), L_c(w) being what c earns
from j following h's scheme at w. The **Bertrand level** of h is the lowest w at which no
challenger's certified gain on j exceeds ``STOP·tol`` (1% of ``tol``): below it some challenger outbids h —
the ladder from silence climbs through these levels — and at it the weaker bidder breaks even,
A_s(w) = L_s(w) (or w is the highest level the obedient LP can reach, OPT_j without margins).

**Search.** For every holder h and every user at once (users are independent, so one
profile carries every user's configuration and one best response per provider scores them
all): the levels w ∈ [NOINFO_j, V_max,j] are scanned on a grid of ``grid`` points, then the first
grid cell where the condition starts to hold is bisected to ``1e-12``·range. Exact when the
condition, once true, stays true on the cell (always in usage mode; in actions mode when L_c
does not cross A_c twice within a cell). Every user's candidates are checked by their
per-user certified regrets; verified ones are kept (distinct utilities), and profiles are
combinations of one candidate per user — the lowest and highest utility for everybody first,
then the others in lexicographic order up to ``max_equilibria`` — each verified by
``game.verify``.

>>> from pluralign.catalog import load
>>> from pluralign.analysis.game import ProviderGame
>>> found = construct_solve(ProviderGame(load("prosecutor"), "personalized"))
>>> [round(float(u), 6) for u in found.worst_utility]    # the ladder of §8.4 ends at full revelation
[1.0]
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from pluralign.analysis.benchmarks import noinfo, opt
from pluralign.analysis.game import ProviderGame
from pluralign.analysis.responses.per_user import PersuasionModels, schemes_from_solutions
from pluralign.analysis.solvers.results import ConstructionResult, Equilibrium, UserCandidate
from pluralign.model.schemes import Profile, no_information, pad_signals
from pluralign.model.users import tolerances, utility_scales

__all__ = ["construct_solve", "attract_offer", "LEAD"]

#: the holder's lead over the runner-up where the rule would not give it the tie, in tie tolerances
LEAD = 10.0
#: a level stops the ladder when no challenger's certified gain exceeds this share of ``tol``
STOP = 0.01


def _obedience(game: ProviderGame) -> np.ndarray:
    """Per-user obedience margin of explicit deviations: 0 under ``action_tie="recommended"``, else δ_j."""
    m = game.market
    if game.rule.action_tie == "recommended":
        return np.zeros(m.n_users)
    return max(game.margin, 10 * game.rule.tol) * utility_scales(m.u)


def attract_offer(game: ProviderGame, provider: int, levels, *, models: PersuasionModels | None = None):
    """Provider ``provider``'s best attracted payoff and scheme for every user j when it must give
    her at least ``levels[j]`` (−inf: no constraint; +inf: skipped): the persuasion LP of
    docs/model.md §8.1 with participation ``V_j(σ) ≥ levels[j]`` and the game's obedience margin
    (strict by δ_j unless ``action_tie="recommended"``) — A_i(v) of §8.1, attained as an explicit
    deviation. Returns ``(payoff[j], schemes[j, x, s], feasible[j])``; infeasible users get NaN
    and no information.

    >>> from pluralign.catalog import load
    >>> g = ProviderGame(load("prosecutor"), "personalized", rule=__import__("pluralign").ResponseRule(action_tie="recommended"))
    >>> pay, _, ok = attract_offer(g, 0, [0.85])
    >>> round(float(pay[0]), 6), bool(ok[0])      # A_P(v) = 1.3 − v on [0.7, 1] (§8.4)
    (0.45, True)
    """
    if game.regime != "personalized" or game.strategy() != "per-user":
        raise ValueError("attract_offer needs the per-user persuasion LPs: a personalized game without private "
                         "observations or menus")
    m = game.market
    levels = np.broadcast_to(np.asarray(levels, dtype=float), (m.n_users,))
    models = PersuasionModels(m) if models is None else models
    obj, X = models.solve_all(int(provider), levels, _obedience(game))
    ok = ~np.isnan(obj)
    fallback = pad_signals(np.broadcast_to(no_information(m.n_observations), (m.n_users, m.n_observations, 1)),
                           max(m.n_actions, 1))
    schemes = schemes_from_solutions(X, fallback, m.n_observations, m.n_actions, max(m.n_actions, 1))
    return np.where(ok, obj, np.nan), schemes, ok


def _lead(game: ProviderGame, holder: int, runner: int) -> np.ndarray:
    """Per user: how much more than the runner-up the holder must offer to win a tie-free choice."""
    rule = game.rule
    prefers_holder = (rule.provider_tie == "lowest" and holder < runner) or (rule.provider_tie == "highest" and holder > runner)
    tol = tolerances(game.market.u, rule)
    return np.zeros_like(tol) if prefers_holder and game.ties == "rule" else LEAD * tol


def _stale(market, levels: np.ndarray, width: int) -> np.ndarray:
    """Per user, a scheme worth exactly ``levels[j]`` to her: full revelation with probability λ_j,
    silence otherwise, on disjoint signals, so that V_j = λ_j·OPT_j + (1 − λ_j)·NOINFO_j."""
    n_x = market.n_observations
    top, bottom = opt(market), noinfo(market)
    span = np.where(top - bottom > 0, top - bottom, 1.0)
    lam = np.clip((levels - bottom) / span, 0.0, 1.0)
    out = np.zeros((market.n_users, n_x, max(width, n_x + 1)))
    out[:, :, :n_x] = lam[:, None, None] * np.eye(n_x)[None]
    out[:, :, n_x] = 1.0 - lam[:, None]
    return out


class _Configurations:
    """C(h, w) for every user at once (module docstring), and the challengers' certified gains there.

    The runner-up ``runner`` offers a scheme worth exactly w (:func:`_stale`; only its value
    matters to anybody's payoff or best response), the holder its attained attract scheme at
    w + lead, every other provider silence.
    """

    def __init__(self, game: ProviderGame, holder: int, runner: int, models: PersuasionModels):
        self.game, self.h, self.r, self.models = game, holder, runner, models
        m = game.market
        self.lead = _lead(game, holder, runner)
        self.width = max(m.n_actions, m.n_observations + 1)
        self.silent = pad_signals(no_information(m.n_observations), self.width)

    def profile(self, levels: np.ndarray) -> tuple[Profile, np.ndarray]:
        """The profile of the configurations at ``levels[j]`` and where the holder's offer exists."""
        m = self.game.market
        _, sig_h, ok_h = attract_offer(self.game, self.h, levels + self.lead, models=self.models)
        _, sig_h0, ok_h0 = attract_offer(self.game, self.h, levels, models=self.models)  # no room for a lead at the top
        sig_h = np.where(ok_h[:, None, None], pad_signals(sig_h, self.width), pad_signals(sig_h0, self.width))
        arr = np.broadcast_to(self.silent, (m.n_providers, m.n_users) + self.silent.shape).copy()
        if self.r >= 0:
            arr[self.r] = _stale(m, levels, self.width)
        arr[self.h] = sig_h
        return Profile("personalized", arr), ok_h | ok_h0

    def gains(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, Profile]:
        """``(gain[j], valid[j], profile)``: the largest certified gain on user j of a challenger
        (every provider but the holder)."""
        prof, ok = self.profile(levels)
        worst = np.full(self.game.market.n_users, -np.inf)
        for i in range(self.game.market.n_providers):
            if i == self.h:
                continue
            br = self.game.best_response(prof, i, bound=True)
            worst = np.maximum(worst, br.user_bound - br.user_current)
        return worst, ok, prof


def _top_levels(game: ProviderGame, holder: int, models: PersuasionModels, lo: np.ndarray) -> np.ndarray:
    """Per user, the highest level (≤ OPT_j) the holder's obedient LP reaches (bisection on feasibility)."""
    top = opt(game.market).astype(float)
    _, _, ok = attract_offer(game, holder, top, models=models)
    if np.all(ok):
        return top
    a, b = lo.copy(), top.copy()
    for _ in range(50):
        mid = 0.5 * (a + b)
        _, _, fine = attract_offer(game, holder, mid, models=models)
        a = np.where(fine, mid, a)
        b = np.where(fine, b, mid)
    return np.where(ok, top, a)


def _runner(game: ProviderGame, holder: int) -> int:
    """The provider offering the stale scheme: one the users' rule ranks below the holder if any
    (the holder then needs no lead), else the first other provider."""
    others = [i for i in range(game.market.n_providers) if i != holder]
    below = [i for i in others if (game.rule.provider_tie == "lowest" and i > holder)
             or (game.rule.provider_tie == "highest" and i < holder)]
    return (below or others)[0]


def _bertrand_levels(conf: _Configurations, lo: np.ndarray, hi: np.ndarray, *, grid: int, threshold: float):
    """Per user, the lowest level in [lo, hi] where no certified gain exceeds ``threshold`` (NaN if none)."""
    m = conf.game.market
    n = m.n_users
    points = [lo + (hi - lo) * k / (grid - 1) for k in range(grid)]
    stop = []
    for w in points:
        gain, ok, _ = conf.gains(w)
        stop.append(ok & (gain <= threshold))
    stop = np.array(stop)  # [grid, n]
    found = stop.any(axis=0)
    first = np.argmax(stop, axis=0)
    level = np.full(n, np.nan)
    at_start = found & (first == 0)
    level[at_start] = lo[at_start]
    todo = found & (first > 0)
    if np.any(todo):
        cols = np.arange(n)
        a = np.array(points)[np.maximum(first - 1, 0), cols]
        b = np.array(points)[first, cols]
        for _ in range(60):
            if np.all((b - a)[todo] <= 1e-12 * np.maximum(hi - lo, 1e-12)[todo]):
                break
            mid = np.where(todo, 0.5 * (a + b), b)
            gain, ok, _ = conf.gains(mid)
            good = ok & (gain <= threshold)
            a = np.where(todo & ~good, mid, a)
            b = np.where(todo & good, mid, b)
        level[todo] = b[todo]
    return level


def construct_solve(
    game: ProviderGame,
    *,
    grid: int = 17,
    max_equilibria: int = 64,
    verify_results: bool = True,
) -> ConstructionResult:
    """Personalized equilibria constructed user by user (module docstring).

    ``grid``: levels scanned per user before bisection (at least 3); ``max_equilibria``: how many
    combinations of per-user candidates to assemble and verify. ``verify_results=False`` lists the
    per-user candidates without assembling profiles. Raises ``ValueError`` in the anonymous regime.
    """
    started = time.perf_counter()
    if game.regime != "personalized":
        raise ValueError("construct_solve builds personalized equilibria user by user; in the anonymous regime one "
                         "scheme serves every user, so users are coupled: use dynamics_solve or enumerate_solve")
    if game.strategy() != "per-user":
        raise ValueError("construct_solve needs the per-user persuasion LPs: a personalized game without private "
                         "observations or menus")
    if not (isinstance(grid, (int, np.integer)) and 3 <= grid <= 1000):
        raise ValueError(f"grid must be an integer in 3..1000, got {grid!r}")
    if not (isinstance(max_equilibria, (int, np.integer)) and 1 <= max_equilibria <= 100_000):
        raise ValueError(f"max_equilibria must be an integer in 1..100000, got {max_equilibria!r}")
    m = game.market
    models = PersuasionModels(m)
    threshold = STOP * game.tol
    lo = noinfo(m).astype(float)
    per_user: list[list[tuple[UserCandidate, np.ndarray]]] = [[] for _ in range(m.n_users)]
    for h in range(m.n_providers):
        conf = _Configurations(game, h, _runner(game, h) if m.n_providers > 1 else -1, models)
        hi = np.maximum(_top_levels(game, h, models, lo), lo)
        level = _bertrand_levels(conf, lo, hi, grid=int(grid), threshold=threshold)
        if np.all(np.isnan(level)):
            continue
        prof, _ = conf.profile(np.where(np.isnan(level), lo, level))
        _collect(game, prof, level, h, conf.r, level, per_user)
    candidates = tuple(tuple(c for c, _ in cands) for cands in per_user)
    eqs: list[Equilibrium] = []
    if verify_results and all(per_user):
        for n, combo in enumerate(_combinations(per_user, int(max_equilibria))):
            parts = [per_user[j][c][1] for j, c in enumerate(combo)]
            width = max(x.shape[-1] for x in parts)
            arr = np.stack([pad_signals(x, width) for x in parts], axis=1)  # [i, j, x, s]
            profile = Profile("personalized", arr)
            label = ", ".join(f"{m.users[j]}: {per_user[j][c][0].describe(m)}" for j, c in enumerate(combo))
            eqs.append(Equilibrium(profile, game.verify(profile), f"construction user by user (#{n}; {label})"))
    params = dict(grid=int(grid), max_equilibria=int(max_equilibria), margin=game.margin, ties=game.ties,
                  threshold=threshold)
    return ConstructionResult(game, "construction", params, tuple(eqs), time.perf_counter() - started, candidates)


def _collect(game: ProviderGame, prof: Profile, level, holder: int, runner: int, levels, per_user) -> None:
    """Score the configuration profile user by user and keep each user's verified candidate."""
    m = game.market
    resp = game.respond(prof)
    regret = np.zeros(m.n_users)
    for i in range(m.n_providers):
        br = game.best_response(prof, i, bound=True)
        regret = np.maximum(regret, br.user_bound - br.user_current)
    width = prof.schemes.shape[-1]
    for j in range(m.n_users):
        if level is not None and np.isnan(level[j]):
            continue
        if regret[j] > game.tol:
            continue
        util = float(resp.utility[j])
        chosen = int(np.argmax(resp.shares[:, j]))
        if any(abs(c.utility - util) <= 1e-9 and c.holder == chosen for c, _ in per_user[j]):
            continue
        other = -1 if runner < 0 else (runner if chosen != runner else holder)
        cand = UserCandidate(j, chosen, other, float(levels[j]), util, float(regret[j]))
        per_user[j].append((cand, pad_signals(prof.schemes[:, j], width)))


def _combinations(per_user, limit: int):
    """Combinations of one candidate per user: everyone's lowest utility, everyone's highest, then
    the rest in lexicographic order (by utility), at most ``limit``."""
    order = [sorted(range(len(c)), key=lambda k: c[k][0].utility) for c in per_user]
    seen = set()
    firsts = [tuple(o[0] for o in order), tuple(o[-1] for o in order)]
    rest = itertools.product(*order)
    count = 0
    for combo in itertools.chain(firsts, rest):
        if combo in seen:
            continue
        seen.add(combo)
        yield combo
        count += 1
        if count >= limit:
            return
