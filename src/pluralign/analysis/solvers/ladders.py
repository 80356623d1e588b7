"""Margin ladders in best-response dynamics: recognise them, and jump to where they end (docs/model.md §8.4).

**The ladder.** When providers compete for a user and the tie rule does not hand her to the
one that moves, its best response must offer her the rival's value plus the margin δ_j
(docs/model.md §8.3), the rival answers in kind, and her value climbs by a margin per move.
Facing a rival that holds her at value v, challenger c attracts her while
A_c(v) > L_c(v): A_c is its best attracted payoff (the persuasion LP with participation ≥ v;
concave, non-increasing), L_c(v) what it earns when she stays with the rival's scheme at v.
The ladder ends where the weaker bidder breaks even, or at OPT_j.

**Why a ladder is an arithmetic progression.** Every move is the mover's attained best
response, a linear program whose right-hand side holds the rivals' values (participation
thresholds plus fixed margins); on a fixed optimal basis its solution is an affine function
of that right-hand side. Along a ladder the right-hand side grows by the same margins every
period (one turn of each mover), so every provider's schemes on the contested group grow by
the same increment D each period:

    X_{t+1} = Φ(X_t) = X_t + D,        X_t = X_0 + t·D,

Φ being one period of the dynamics restricted to the group of users
(:meth:`~pluralign.analysis.game.ProviderGame.groups`: one user when personalized, all users
when anonymous). In the anonymous regime one scheme serves several users and a mover's LP can
also see levels, not only increments, of the others' values; the increments then change at a
constant rate and X_t = X_0 + t·D + t(t+1)/2·E (a *bent* ladder). The set of t on which the
progression holds — the same steps, every move gaining more than ``tol``, every idle step
idle, Φ(X_t) = X_{t+1} — is an interval: an intersection of basis-optimality intervals of
parametric LPs (convex sets of right-hand sides, hence intervals of t) with half-lines on
which affine gains and value differences keep their sign.

**Detection** (:class:`LadderWatch`). After each step, for every group it changed: the last
``(LADDER_PERIODS + 1)·p`` steps on the group repeat a pattern of p steps (with sequential and
simultaneous orders every step is recorded, idle ones too, so that a period replays the
dynamics exactly; with the random order only moves, and the providers outside the ladder are
checked to stay put at every state of a period), same-phase states differ by constant
increments — or constant second differences — to 1e-9 relative (the increments may differ
between phases when a provider alternates between schemes while the ladder climbs; such a
ladder is jumped to its δ-rung: part 1 only), and every user's best offered
value changes per period by at most ``STEP_LIMIT·p`` margins, some user's rising.

**The jump** (:func:`jump_ladders`), in two parts.

1. *The δ-ladder itself.* The largest integer t ≥ 0 for which one period of the game's own
   best responses from the extrapolated X_t reproduces X_{t+1} (each intermediate state to
   ``MATCH`` of one increment) is found by bisection over [0, t_max] (t_max keeps X_t a valid
   profile with values at most OPT). The output of that period is where the δ-ladder is after
   t + 1 periods, every scheme an exact best response.
2. *Its limit δ → 0.* Why the next period fails says how the ladder ends. If a mover (the
   *stopper*) no longer gains, the ladder has reached its break-even; if the progression
   reaches a face of the simplex or OPT_j, a scheme has reached a face (full revelation at
   OPT_j ends it). At finite δ the last rung leaves the holder a margin above the stopper's
   stale offer, and the stopper a little short of its break-even, so the certified regrets
   (docs/model.md §5: suprema, not attained gains) are of the order of the margin. For a
   straight ladder the limit is built instead: every participant's scheme taken along its own
   affine path at the common level L (its value for the contested user), the holder a hair
   higher (10 tie tolerances) where the rule would otherwise give the tie to another, and L
   the root of the stopper's certified gain, which is affine in L — two evaluations and a
   secant, checked — or the face. That is the fixed point of §8.4: A_s(L) = L_s(L) for the
   stopper s, or L = OPT_j.

A ladder that lands on a rung because it bends into a new phase (an LP changed basis) is
followed (:func:`jump_ladders`, ``chain``): the dynamics' own steps are run on its group until
the next phase is recognised, and that one is jumped too. The run then goes on from the
landing with ordinary moves.

**Where it does not apply.** Steps that do not repeat with a period (random order with three
or more providers on one user; a third provider whose small corrections pass ``tol`` only every
few periods, at irregular intervals), anonymous movers nearly indifferent between two attracted sets
(they switch between them along the ladder; each switch ends a phase, and the jumps chain from
switch to switch), best responses that are not parametric LP solutions (the anonymous
``heuristic`` strategy beyond the size guard), and menu profiles: the dynamics climb at margin
speed there (``round cap`` then says so). The limit of part 2 is built for straight ladders whose phases share one increment;
bent ones land on the δ-rung of part 1. Groups are jumped independently — personalized users in
parallel — and the anonymous regime's single group as a whole: several users, one scheme per
provider (its contested users are those whose best value climbs; the level is read on the one
that climbs most, in margins).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np

from pluralign.model.schemes import Profile, pad_signals
from pluralign.model.users import scheme_values, tolerances, utility_scales

__all__ = [
    "Ladder",
    "LadderJump",
    "LadderWatch",
    "Stepper",
    "group_state",
    "with_group_states",
    "jump_ladders",
    "LADDER_PERIODS",
    "STEP_LIMIT",
    "MATCH",
    "ROUND",
]

#: periods of constant increments (after the first) needed to recognise a ladder
LADDER_PERIODS = 3
#: a ladder's value increments are margin sized: at most this many margins per move
STEP_LIMIT = 2.0
#: a probe matches the extrapolation when they differ by at most this share of one period's increment
MATCH = 0.05
#: the holder's lead over the stopper in the limit, in users' tie tolerances
LEAD = 10.0
#: the step label of simultaneous dynamics (every provider best-responds to the same profile)
ROUND = "round"


# --------------------------------------------------------------------------- steps of the dynamics


class Stepper:
    """The dynamics' steps, shared by the run and by the ladder probes so that both move alike.

    ``step(profile, label, allowed)``: provider ``label`` (or, for :data:`ROUND`, every provider
    against the same profile) adopts its attained best response on every group among
    ``allowed`` (all groups if None) where its average gain exceeds ``game.tol``; returns the
    new profile, the groups changed and ``(provider, profile after)`` per provider that moved.
    """

    def __init__(self, game):
        self.game = game
        self.groups = game.groups()
        self.p = game.market.p
        self.best_responses = 0

    def best_response(self, profile: Profile, provider: int, bound: bool = False):
        self.best_responses += 1
        return self.game.best_response(profile, int(provider), bound=bound)

    def gaining(self, br, allowed=None) -> list[int]:
        gain = br.user_value - br.user_current
        tol = self.game.tol
        return [
            g for g, users in enumerate(self.groups)
            if (allowed is None or g in allowed) and gain[users] @ self.p[users] > tol * self.p[users].sum()
        ]

    def adopt(self, profile: Profile, br, groups: list[int]) -> Profile:
        if not groups:
            return profile
        if len(groups) == len(self.groups):
            return br.apply(profile)
        mask = np.zeros(self.p.size, dtype=bool)
        for g in groups:
            mask[self.groups[g]] = True
        return br.apply(profile, users=mask)

    def step(self, profile: Profile, label: Hashable, allowed=None):
        if isinstance(label, str):
            brs = [self.best_response(profile, i) for i in range(self.game.market.n_providers)]
        else:
            brs = [self.best_response(profile, label)]
        changed: set[int] = set()
        moves = []
        for br in brs:
            groups = self.gaining(br, allowed)
            if groups:
                profile = self.adopt(profile, br, groups)
                changed.update(groups)
                moves.append((br.provider, profile))
        return profile, changed, moves

    def restless(self, profile: Profile, providers, allowed) -> set[int]:
        """The groups (among ``allowed``) on which one of ``providers`` would move at ``profile``."""
        out: set[int] = set()
        for i in providers:
            out.update(self.gaining(self.best_response(profile, i), allowed))
        return out

    def certified_gain(self, profile: Profile, provider: int, groups) -> dict[int, float]:
        """Per group, ``provider``'s certified gain (supremum minus current payoff) per unit of the group's mass."""
        br = self.best_response(profile, provider, bound=True)
        out = {}
        for g in groups:
            users = self.groups[g]
            if users.size == self.p.size:
                out[g] = float(br.bound - br.current) / float(self.p.sum())
            else:
                out[g] = float((br.user_bound[users] - br.user_current[users]) @ self.p[users] / self.p[users].sum())
        return out


# --------------------------------------------------------------------------- group states


def group_state(profile: Profile, users: np.ndarray) -> np.ndarray:
    """Every provider's scheme(s) for one group of users: ``[k, n_g, x, s]`` (personalized) or
    ``[k, x, s]`` (anonymous: the whole profile)."""
    if profile.menus:
        raise ValueError("ladders are not tracked on menu profiles")
    if profile.regime == "personalized":
        return profile.schemes[:, users]
    return profile.schemes


def with_group_states(profile: Profile, states: dict[int, np.ndarray], groups: tuple[np.ndarray, ...]) -> Profile:
    """``profile`` with the schemes of each group ``g`` replaced by ``states[g]`` (round-off cleaned)."""
    width = max([profile.schemes.shape[-1]] + [s.shape[-1] for s in states.values()])
    arr = pad_signals(profile.schemes, width).copy()
    for g, state in states.items():
        clean = _clean(pad_signals(state, width))
        if profile.regime == "personalized":
            arr[:, groups[g]] = clean
        else:
            arr[...] = clean
    return Profile(profile.regime, arr, profile.menus)


def _reach(base: np.ndarray, step: np.ndarray) -> float:
    """The largest real t with ``base + t·step ≥ 0`` (1e9 when no entry decreases)."""
    neg = step < -1e-15
    return float(np.min(base[neg] / -step[neg])) if np.any(neg) else 1e9


def _reach_bent(base: np.ndarray, step: np.ndarray, bend: np.ndarray) -> float:
    """The largest n (real, ≤ 1e9) with ``base + n·step + n(n+1)/2·bend ≥ 0`` entrywise, found by
    bisection on the first n where some entry turns negative (entries are quadratics in n)."""
    def ok(n: float) -> bool:
        return bool(np.all(base + n * step + 0.5 * n * (n + 1) * bend >= -1e-15))

    hi = 1.0
    while ok(hi) and hi < 1e9:
        hi *= 2
    if ok(hi):
        return 1e9
    lo = 0.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def _clean(state: np.ndarray) -> np.ndarray:
    """Schemes with round-off negatives removed and rows summing to 1."""
    s = np.clip(state, 0.0, None)
    s[s < 1e-14] = 0.0
    return s / s.sum(axis=-1, keepdims=True)


def _pad2(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    width = max(a.shape[-1], b.shape[-1])
    return pad_signals(a, width), pad_signals(b, width)


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = _pad2(a, b)
    return a - b


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, eq=False)
class Ladder:
    """A recognised ladder on group ``group`` (users ``users``), module docstring.

    ``pattern``: one period's steps ``(label, moved)`` — the provider (or ``"round"``) and
    whether it changes the group — in the order the next period applies them;
    ``participants``: the providers whose schemes climb;
    ``phases[q]``: the group's schemes after step q of the last observed period (the last one
    is X_0); ``step``: the increment D per period; ``values[i, j]``: provider i's value for each
    user at X_0; ``value_step[i, j]``: its increase per period; ``limit``: the largest t keeping
    X_t a valid profile with values at most OPT (``limit_real``: the exact real one; ``reach[i]``:
    the same for provider i's schemes alone); ``quiet``: the providers outside the ladder, which
    must stay put; ``rise[j]``: how many margins each user's best offered value climbs per period;
    ``steps[q]``: phase q's increment per period (``bend[q]`` its second difference, None when
    straight); ``uniform``: straight, every phase climbing by the same increment (part 2's limit
    is built only then).
    """

    group: int
    users: np.ndarray
    pattern: tuple
    phases: tuple[np.ndarray, ...]
    step: np.ndarray
    values: np.ndarray
    value_step: np.ndarray
    limit: int
    limit_real: float
    reach: np.ndarray
    quiet: tuple[int, ...]
    rise: np.ndarray
    participants: tuple[int, ...] = ()
    steps: tuple[np.ndarray, ...] = ()
    bend: tuple[np.ndarray, ...] | None = None
    uniform: bool = True

    @property
    def movers(self) -> tuple:
        """The labels of the period's moving steps."""
        return tuple(lab for lab, moved in self.pattern if moved)

    @property
    def base(self) -> np.ndarray:
        return self.phases[-1]

    def at(self, t: float, phase: int | None = None) -> np.ndarray:
        """The extrapolated state after step ``phase`` (0-based; None: the period's end) of period t,
        ``phases[q] + n·D_q + n(n+1)/2·E_q`` with n = t + 1 (the end of period t is X_{t+1})."""
        q = len(self.phases) - 1 if phase is None else phase
        n = t + 1
        out = self.phases[q] + n * self.steps[q]
        if self.bend is not None:
            out = out + 0.5 * n * (n + 1) * self.bend[q]
        return out

    @property
    def straight(self) -> bool:
        """The increments are constant (a pure translation; ``bend`` is None)."""
        return self.bend is None

    def contested(self) -> int:
        """The group's user (index into ``users``) whose best offered value climbs most, in margins per period."""
        return int(np.argmax(self.rise))


@dataclass(frozen=True, eq=False)
class LadderJump:
    """One jump, recorded in a run's trace: in round ``round``, group ``users`` skipped
    ``periods`` periods of ``pattern`` — ``moves`` best-response moves of the δ-ladder — and
    landed ``how``: ``"rung"`` (the δ-ladder's own rung), ``"break-even"`` (the limit at the
    stopper's break-even) or ``"face"`` (a scheme reached a face of the simplex, e.g. full
    revelation at OPT). Each user's best offered value went from ``values_before`` to
    ``values_after``; ``best_responses``: what the jump cost."""

    round: int
    users: tuple[int, ...]
    pattern: tuple
    periods: int
    moves: int
    how: str
    values_before: np.ndarray
    values_after: np.ndarray
    best_responses: int = 0

    def to_dict(self) -> dict:
        return {
            "round": self.round,
            "users": list(self.users),
            "pattern": [p if isinstance(p, str) else int(p) for p in self.pattern],
            "periods": self.periods,
            "moves": self.moves,
            "how": self.how,
            "values_before": [float(v) for v in self.values_before],
            "values_after": [float(v) for v in self.values_after],
            "best_responses": self.best_responses,
        }


# --------------------------------------------------------------------------- detection


@dataclass(eq=False)
class LadderWatch:
    """Keeps, for every group, its last steps, and recognises ladders (module docstring).

    With ``every_step`` (sequential and simultaneous orders, whose steps come in a fixed
    order) every step is recorded for every group, moving or idle, so that a period replays
    the dynamics exactly; otherwise (random order) only the steps that changed the group are,
    and the providers outside the ladder are checked to stay put at every state of a period.
    ``record(profile, label, changed)`` after each step; ``detect(groups)`` returns the ladders.
    """

    P: np.ndarray
    u: np.ndarray
    groups: tuple[np.ndarray, ...]
    n_providers: int
    delta: np.ndarray  # per-user strict margin δ_j
    opt: np.ndarray  # OPT_j
    every_step: bool = True
    depth: int = 0
    history: dict[int, deque] = field(default_factory=dict)

    @classmethod
    def for_game(cls, game, *, every_step: bool = True) -> LadderWatch:
        m = game.market
        delta = max(game.margin, 10 * game.rule.tol) * utility_scales(m.u)
        periods = 2 * max(2, m.n_providers)
        opt = np.einsum("xy,jay->jxa", m.P, m.u).max(axis=2).sum(axis=1)
        return cls(m.P, m.u, game.groups(), m.n_providers, delta, opt, every_step,
                   depth=(LADDER_PERIODS + 1) * periods + 1)

    def reset(self, groups=None) -> None:
        """Forget the history (of ``groups``, or of all)."""
        if groups is None:
            self.history.clear()
        else:
            for g in groups:
                self.history.pop(g, None)

    def values(self, state: np.ndarray, users: np.ndarray) -> np.ndarray:
        """``V[i, j]``: provider i's value for each user of the group at ``state``."""
        sig = state if state.ndim == 4 else np.broadcast_to(state[:, None], (state.shape[0], users.size) + state.shape[1:])
        return scheme_values(self.P, self.u[users], sig)

    def record(self, profile: Profile, label: Hashable, changed) -> None:
        """Remember step ``label``: the new state of every group it changed (and, with
        ``every_step``, an idle entry for every group it left alone that has a history)."""
        for g in changed:
            h = self.history.setdefault(g, deque(maxlen=self.depth))
            h.append((label, True, np.array(group_state(profile, self.groups[g]))))
        if self.every_step:
            for g, h in self.history.items():
                if g not in changed:
                    h.append((label, False, h[-1][2]))

    def detect(self, groups) -> list[Ladder]:
        """The ladders on ``groups`` (those whose recent steps form a margin-sized progression)."""
        found = []
        for g in sorted(groups):
            ladder = self._detect(g)
            if ladder is not None:
                found.append(ladder)
        return found

    def _detect(self, g: int) -> Ladder | None:
        h = self.history.get(g)
        if not h:
            return None
        keys = [(e[0], e[1]) for e in h]
        states = [e[2] for e in h]
        users = self.groups[g]
        for p in range(1, 2 * self.n_providers + 1):
            need = (LADDER_PERIODS + 1) * p
            if len(h) < need:
                break
            pat = keys[-p:]
            if not any(moved for _, moved in pat):
                continue
            if any(keys[-1 - i] != keys[-1 - i - p] for i in range(need - p)):
                continue
            D = _diff(states[-1], states[-1 - p])
            scale = float(np.abs(D).max())
            if scale <= 1e-13:
                continue
            tol = 1e-9 * scale + 1e-14
            # per phase q (0-based, in the pattern's order): the last increments d_c, d_b, d_a
            steps, bends, ok = [], [], True
            for q in range(p):
                last = len(states) - p + q
                d = [_diff(states[last - r * p], states[last - (r + 1) * p]) for r in range(LADDER_PERIODS)]
                if any(np.abs(x).max() > 2 * scale for x in d):
                    ok = False
                    break
                bend = _diff(d[0], d[1])
                if LADDER_PERIODS >= 3 and np.abs(_diff(_diff(d[1], d[2]), bend)).max() > tol:
                    ok = False  # not even a constant second difference
                    break
                steps.append(d[0])
                bends.append(bend)
            if not ok:
                continue
            width = max(x.shape[-1] for x in steps + bends + [states[-1]])
            steps = [pad_signals(x, width) for x in steps]
            bends = [pad_signals(x, width) for x in bends]
            straight = all(np.abs(b).max() <= tol for b in bends)
            # increments that differ between phases: a provider alternates between schemes (an
            # Edgeworth-like cycle on some users) while a ladder climbs on others
            uniform = straight and all(np.abs(x - steps[-1]).max() <= tol for x in steps)
            now = self.values(states[-1], users)
            nxt = self.values(_clean(np.sum(_pad2(states[-1], D), axis=0)), users)
            rise = now.max(axis=0) - self.values(states[-1 - p], users).max(axis=0)
            cap = STEP_LIMIT * p * self.delta[users] + 1e-12
            if np.any(np.abs(rise) > cap) or not np.any(rise > 1e-3 * self.delta[users]):
                continue
            phases = tuple(pad_signals(st, width) for st in states[-p:])
            D = steps[-1]
            B = phases[-1]
            # each provider's own path: until a scheme leaves the simplex or a user's value would pass OPT_j
            step_v = nxt - now
            top = self.opt[users][None, :]
            with np.errstate(divide="ignore", invalid="ignore"):
                to_opt = np.where(step_v > 1e-15, (top - now) / np.where(step_v > 1e-15, step_v, 1.0), np.inf).min(axis=1)
            reach = np.array([min(_reach(B[i], D[i]), to_opt[i]) for i in range(B.shape[0])])
            if not straight:  # a bent progression: no closed-form face; bisect over a range it cannot pass
                reach = np.minimum(reach, _reach_bent(B, D, bends[-1]))
            real = float(reach.min())
            moving = np.abs(D).reshape(D.shape[0], -1).max(axis=1) > 1e-13  # providers whose schemes climb
            if self.every_step or any(isinstance(lab, str) for lab, _ in pat):
                quiet: tuple[int, ...] = ()
            else:
                quiet = tuple(i for i in range(self.n_providers) if not moving[i] and (i, True) not in pat)
            return Ladder(g, users, tuple(pat), phases, D, now, step_v, int(np.floor(real)), real, reach, quiet,
                          rise / self.delta[users], tuple(int(i) for i in np.flatnonzero(moving)),
                          tuple(steps), None if straight else tuple(bends), uniform)
        return None


# --------------------------------------------------------------------------- the jump


@dataclass
class _Probe:
    """The outcome of one period from X_t for one ladder: ``ok`` and, if not, at which step and why
    (``"stop"``: a move did not happen; ``"idle"``: a provider moved that should not have;
    ``"face"``: the progression reaches a face of the simplex or OPT; ``"basis"``: it bends)."""

    ok: bool = True
    step: int = -1
    why: str = ""


def _period(stepper: Stepper, profile: Profile, members: dict[int, Ladder], ts: dict[int, float], pattern, quiet):
    """Run one period from the extrapolated states X_t (``ts[g]`` per group) and compare every
    intermediate state with the extrapolation; returns the profile after the period and a
    :class:`_Probe` per group."""
    states = {g: members[g].at(t - 1) for g, t in ts.items()}  # X_t = at(t - 1)
    profile = with_group_states(profile, states, stepper.groups)
    probes = {g: _Probe() for g in ts}
    for q, (label, moves) in enumerate(pattern):
        live = frozenset(g for g in ts if probes[g].ok)
        if not live:
            break
        if quiet:
            for g in stepper.restless(profile, quiet, live):
                probes[g] = _Probe(False, q, "idle")
        profile, changed, _ = stepper.step(profile, label, live)
        for g in live:
            if not probes[g].ok:
                continue
            lad = members[g]
            if moves != (g in changed):
                probes[g] = _Probe(False, q, "stop" if moves else "idle")
                continue
            got, want = _pad2(group_state(profile, lad.users), lad.at(ts[g], q))
            if np.abs(got - want).max() > MATCH * float(np.abs(lad.step).max()) + 1e-13 * (1 + ts[g]):
                at_face = want.min() < -1e-12 or ts[g] + 2 >= lad.limit_real  # within a period of the face
                probes[g] = _Probe(False, q, "face" if at_face else "basis")
    return profile, probes


def _shifted(lad: Ladder, provider: int, tau: float) -> np.ndarray:
    """Provider ``provider``'s schemes on the group at real period position ``tau`` (X_tau)."""
    return lad.at(tau - 1)[provider]


def _limit_state(lad: Ladder, level: float, holder: int, lead: float) -> np.ndarray | None:
    """The ladder's participants all at ``level`` for the contested user (the holder ``lead``
    higher), each along its own affine path; None if some path leaves its range."""
    j = lad.contested()
    state = np.array(lad.at(-1))  # X_0
    for i in lad.participants:
        slope = lad.value_step[i, j]
        if slope <= 0:
            return None
        target = level + (lead if i == holder else 0.0)
        tau = (target - lad.values[i, j]) / slope
        if tau > lad.reach[i] + 1e-9:
            return None
        state[i] = _shifted(lad, i, tau)
    if np.any(state < -1e-9):
        return None
    return state


def _limit(stepper: Stepper, profile: Profile, lad: Ladder, t_stop: int, probe: _Probe):
    """The δ → 0 limit of a ladder whose progression fails in period ``t_stop`` for the reason
    ``probe`` (module docstring, part 2): ``(state, how)``, or None when it is not built."""
    participants = lad.participants
    if len(participants) < 2 or probe.why not in ("stop", "face") or not lad.uniform:
        return None
    j = lad.contested()
    game = stepper.game
    tol_j = float(tolerances(game.market.u, game.rule)[int(lad.users[j])])
    steps = lad.value_step[list(participants), j]
    if np.any(steps <= 0) or steps.max() - steps.min() > 1e-6 * steps.max() + 1e-15:
        return None
    top_level = float(min(lad.values[i, j] + lad.reach[i] * lad.value_step[i, j] for i in participants))
    g = lad.group

    def build(level: float, holder: int) -> np.ndarray | None:
        lead = LEAD * tol_j if level + LEAD * tol_j <= top_level else 0.0
        return _limit_state(lad, level, holder, lead)

    if probe.why == "face":  # everyone at the face; the users' rule picks among the tied
        state = build(top_level, participants[0])
        return None if state is None else (state, "face")
    # the stopper is the mover whose step failed; the holder, the mover before it (both unknown
    # for simultaneous rounds: every ordered pair is tried)
    movers = [lab for lab, moved in lad.pattern if moved]
    label = lad.pattern[probe.step][0]
    if label in participants:
        before = [lab for lab, moved in lad.pattern[: probe.step] if moved] or movers
        pairs = [(label, before[-1])] if before[-1] in participants and before[-1] != label else \
            [(label, h) for h in participants if h != label]
    else:
        pairs = [(s_, h) for s_ in participants for h in participants if s_ != h]
    for stopper, holder in pairs:
        def gain(level: float, stopper: int = stopper, holder: int = holder) -> float | None:
            state = build(level, holder)
            if state is None:
                return None
            return stepper.certified_gain(with_group_states(profile, {g: state}, stepper.groups), stopper, [g])[g]

        start = float(min(lad.values[holder, j] + t_stop * lad.value_step[holder, j], top_level))
        levels = [start, min(start + float(steps[0]), top_level)]
        gains = [gain(x) for x in levels]
        if any(v is None for v in gains) or levels[1] <= levels[0]:
            continue
        slope = (gains[0] - gains[1]) / (levels[1] - levels[0])  # the certified gain falls with the level
        if gains[0] > 0 and slope <= 0:
            continue
        root = levels[0] if gains[0] <= 0 else levels[0] + gains[0] / slope
        for _ in range(3):  # land a hair past the root, where the stopper's certified gain is ≤ tol/2
            land = min(root + LEAD * tol_j, top_level)
            check = gain(land)
            if check is None:
                break
            if check <= 0.5 * game.tol:
                state = build(land, holder)
                if state is not None:
                    return state, "break-even"
                break
            root = land + check / slope
    return None


def _jump_once(stepper: Stepper, profile: Profile, ladders: list[Ladder]):
    """One jump of every ladder (module docstring): ``(profile, [(ladder, periods, how, why, state)])``."""
    classes: dict[tuple, list[Ladder]] = {}
    for lad in ladders:
        classes.setdefault((lad.pattern, lad.quiet), []).append(lad)
    landed = []
    for (pattern, quiet), group_ladders in classes.items():
        members = {lad.group: lad for lad in group_ladders}
        lo = dict.fromkeys(members, -1)  # largest t known to reproduce the progression (t = -1: observed)
        hi = {g: lad.limit + 1 for g, lad in members.items()}  # smallest t known not to (or beyond the limit)
        why: dict[int, _Probe] = {g: _Probe(False, -1, "face") for g in members}
        while True:
            active = {g: (lo[g] + hi[g]) // 2 for g in members if hi[g] - lo[g] > 1}
            if not active:
                break
            _, probes = _period(stepper, profile, members, active, pattern, quiet)
            for g, t in active.items():
                if probes[g].ok:
                    lo[g] = t
                else:
                    hi[g], why[g] = t, probes[g]
        final = {g: t for g, t in lo.items() if t >= 0}
        states: dict[int, tuple[np.ndarray, str, int]] = {}
        if final:
            out, probes = _period(stepper, profile, members, final, pattern, quiet)
            for g, t in final.items():
                if probes[g].ok:  # always, when the valid set is an interval
                    states[g] = (group_state(out, members[g].users), "rung", t + 1)
        for g, lad in members.items():
            if lo[g] < 0 and why[g].why != "face":
                continue
            limit = _limit(stepper, profile, lad, lo[g] + 1, why[g])
            if limit is not None:
                states[g] = (limit[0], limit[1], lo[g] + 1)
        for g, (state, how, periods) in states.items():
            landed.append((members[g], periods, how, why[g].why, state))
        if states:
            profile = with_group_states(profile, {g: st for g, (st, _, _) in states.items()}, stepper.groups)
    return profile, landed


def jump_ladders(stepper: Stepper, watch: LadderWatch, profile: Profile, ladders: list[Ladder], *, chain: int = 50):
    """Jump every ladder of ``ladders`` (module docstring), and keep going while one lands on a
    rung because its progression bends (an LP changed basis, the ladder goes on): the
    dynamics' own steps are run on its group, in its pattern's order, until the next phase is
    recognised, and that one is jumped too (at most ``chain`` times). Ladders with the same
    pattern are bisected together (one period of best responses per probe serves all).

    Returns the profile, ``[(ladder, periods, how, state after)]`` and the moves made between
    jumps as ``(label, groups changed, [(provider, profile after)])`` per step.
    """
    landed, steps = [], []
    for _ in range(chain):
        profile, once = _jump_once(stepper, profile, ladders)
        landed += [(lad, periods, how, state) for lad, periods, how, _, state in once]
        going = [lad for lad, _, how, why, _ in once if how == "rung" and why == "basis"]
        if not going:
            break
        local = LadderWatch(watch.P, watch.u, watch.groups, watch.n_providers, watch.delta, watch.opt,
                            watch.every_step, watch.depth)
        ladders = []
        for lad in going:
            groups = frozenset([lad.group])
            for _ in range(LADDER_PERIODS + 1):
                for label, _moved in lad.pattern:
                    profile, changed, done = stepper.step(profile, label, groups)
                    local.record(profile, label, changed)
                    if changed:
                        steps.append((label, changed, done))
            ladders += local.detect([lad.group])
        if not ladders:
            break
    return profile, landed, steps


