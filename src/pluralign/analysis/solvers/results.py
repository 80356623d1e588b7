"""What equilibrium solvers return: candidates, each with its verification, and how they were found.

* :class:`Equilibrium` — a candidate profile, its :class:`~pluralign.analysis.game.Verification`
  and how it was found;
* :class:`DynamicsResult` — best-response dynamics: the candidates and every run (:class:`DynamicsRun`,
  with its path, :class:`TrajectoryPoint`, and its ladder jumps);
* :class:`ConstructionResult` — personalized equilibria built user by user (:mod:`.construction`):
  the candidates and, per user, the local equilibria they combine (:class:`UserCandidate`);
* :class:`EnumerationResult` — enumeration over a policy class: the candidates and the class's
  size and in-class equilibria.

Both results iterate over their candidates; ``verified`` keeps those that passed;
``worst_utility``/``best_utility`` range over the verified ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pluralign.analysis.game import ProviderGame, Verification
from pluralign.html import table
from pluralign.model.market import Market
from pluralign.model.schemes import Profile

__all__ = [
    "Equilibrium",
    "DynamicsRun",
    "TrajectoryPoint",
    "EquilibriumSearch",
    "DynamicsResult",
    "EnumerationResult",
    "ConstructionResult",
    "UserCandidate",
]


@dataclass(frozen=True, eq=False)
class Equilibrium:
    """A candidate equilibrium, its verification, and how it was found."""

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
class TrajectoryPoint:
    """One point of a dynamics run's path: in round ``round``, after a ``"move"`` of
    ``provider`` (``"polish"`` while polishing), after a ladder ``"jump"``, or at the ``"start"``: every provider's payoff
    ``payoffs[i]`` and every user's utility ``utilities[j]`` (the value she gets), under the
    users' rule; ``skipped``: at a jump, the δ-ladder's moves it replaced (the longest of the
    ladders jumped together — users' ladders climb in parallel)."""

    round: int
    kind: str
    provider: int | None
    payoffs: np.ndarray = field(repr=False)
    utilities: np.ndarray = field(repr=False)
    skipped: int = 0


@dataclass(frozen=True, eq=False)
class DynamicsRun:
    """One run of best-response dynamics: its start, how it ended (``"converged"``, ``"cycle"``
    or ``"round cap"``), after how many rounds and moves, and where.

    ``trajectory``: the path (:class:`TrajectoryPoint` at the start, after every move —
    ``"polish"`` for the moves of polishing — and every jump); ``polished``: the end was polished
    (:mod:`~pluralign.analysis.solvers.dynamics`); ``verified``: the end profile passed
    ``game.verify`` (None when not checked: the run did not converge, or verification was off);
    ``jumps``: the margin ladders jumped
    (:class:`~pluralign.analysis.solvers.ladders.LadderJump`), each with the number of
    δ-ladder moves it replaced (``skipped_moves`` in total).
    """

    start: str
    status: str
    rounds: int
    moves: int
    cycle_length: int | None
    profile: Profile = field(repr=False)
    seconds: float = 0.0
    trajectory: tuple[TrajectoryPoint, ...] = field(default=(), repr=False)
    jumps: tuple = field(default=(), repr=False)
    polished: bool = False
    verified: bool | None = None

    @property
    def skipped_moves(self) -> int:
        """Best-response moves of the δ-ladders the jumps replaced."""
        return int(sum(j.moves for j in self.jumps))

    def path(self) -> dict:
        """The trajectory as columns: ``round``, ``kind``, ``provider`` (−1 when none), ``skipped``,
        ``equivalent`` (moves so far, jumps counted as the δ-ladder moves they replaced),
        ``payoffs[t, i]``, ``utilities[t, j]`` (arrays)."""
        pts = self.trajectory
        skipped = np.array([p.skipped for p in pts], dtype=np.int64)
        moved = np.array([p.kind in ("move", "polish") for p in pts], dtype=np.int64)
        return {
            "round": np.array([p.round for p in pts], dtype=int),
            "kind": [p.kind for p in pts],
            "provider": np.array([-1 if p.provider is None else p.provider for p in pts], dtype=int),
            "skipped": skipped,
            "equivalent": np.cumsum(moved + skipped),
            "payoffs": np.array([p.payoffs for p in pts]),
            "utilities": np.array([p.utilities for p in pts]),
        }

    def to_dict(self) -> dict:
        return {
            "start": self.start,
            "status": self.status,
            "rounds": self.rounds,
            "moves": self.moves,
            "cycle_length": self.cycle_length,
            "seconds": self.seconds,
            "jumps": [j.to_dict() for j in self.jumps],
            "skipped_moves": self.skipped_moves,
            "polished": self.polished,
            "verified": self.verified,
            # columns, providers and users in the market's order; provider null at the start and after jumps
            "trajectory": {
                "round": [p.round for p in self.trajectory],
                "kind": [p.kind for p in self.trajectory],
                "provider": [p.provider for p in self.trajectory],
                "skipped": [p.skipped for p in self.trajectory],
                "payoffs": [[float(v) for v in p.payoffs] for p in self.trajectory],
                "utilities": [[float(v) for v in p.utilities] for p in self.trajectory],
            },
        }


@dataclass(frozen=True, eq=False)
class EquilibriumSearch:
    """Candidates a solver found (each verified or not), on ``game``, by ``method`` with ``parameters``."""

    game: ProviderGame
    method: str
    parameters: dict
    equilibria: tuple[Equilibrium, ...]
    seconds: float

    @property
    def market(self) -> Market:
        return self.game.market

    @property
    def regime(self) -> str:
        return self.game.regime

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

    def _extra(self) -> dict:
        return {"runs": [], "info": {}}

    def to_dict(self, verified_only: bool = False) -> dict:
        """The JSON document of ``pluralign solve --json`` (without the guarantee checks)."""
        m, game = self.market, self.game
        eqs = self.verified if verified_only else self.equilibria
        worst, best = self.worst_utility, self.best_utility
        return {
            "market": m.name,
            "regime": self.regime,
            "method": self.method,
            "parameters": self.parameters,
            "tie_rule": game.rule.describe(),
            "mode": game.mode,
            "tol": game.tol,
            "equilibria": [e.to_dict() for e in eqs],
            "candidates": len(self.equilibria),
            "verified": len(self.verified),
            "worst_utility": None if worst is None else {u: float(worst[j]) for j, u in enumerate(m.users)},
            "best_utility": None if best is None else {u: float(best[j]) for j, u in enumerate(m.users)},
            **self._extra(),
            "seconds": self.seconds,
        }

    def _repr_html_(self) -> str:
        m = self.market
        rows = [
            (n, "yes" if e.verified else "no", e.verification.max_regret,
             ", ".join(f"{u} {e.utilities[j]:.4g}" for j, u in enumerate(m.users)), e.found_by)
            for n, e in enumerate(self.equilibria)
        ]
        return table(
            f"{m.name}, {self.regime}, {self.method}: {len(self.verified)} verified of {len(self.equilibria)} candidates",
            ("#", "verified", "max regret", "users' utilities", "found by"), rows,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.market.name!r}, {self.regime}, {self.method}: "
            f"{len(self.verified)} verified of {len(self.equilibria)} candidates)"
        )


@dataclass(frozen=True, eq=False, repr=False)
class DynamicsResult(EquilibriumSearch):
    """Best-response dynamics: the distinct converged profiles (verified) and every run."""

    runs: tuple[DynamicsRun, ...]

    def _extra(self) -> dict:
        return {"runs": [r.to_dict() for r in self.runs], "info": {}}


@dataclass(frozen=True, eq=False, repr=False)
class EnumerationResult(EquilibriumSearch):
    """Enumeration over a policy class.

    ``class_size`` policies; ``profiles_per_game`` profiles in the largest group's game;
    ``in_class_equilibria`` pure equilibria of the restricted game (``in_class_per_group``:
    per group, when there are several); ``listed_policies[n]`` the class indices of
    candidate n (``[i][q]``: provider i's policy for item q), verified against *all* deviations.
    """

    policy_class: str
    class_size: int
    profiles_per_game: int
    in_class_equilibria: int
    in_class_per_group: tuple[int, ...]
    listed_policies: tuple[tuple[tuple[int, ...], ...], ...]

    def _extra(self) -> dict:
        info = {
            "policy_class": self.policy_class,
            "class_size": self.class_size,
            "profiles_per_game": self.profiles_per_game,
            "in_class_equilibria": self.in_class_equilibria,
            "listed": len(self.listed_policies),
            # JSON: anonymous [c_i per provider]; personalized [[c_ij per user] per provider]
            "listed_policies": [
                [p[0] if self.regime == "anonymous" else list(p) for p in pol] for pol in self.listed_policies
            ],
        }
        if len(self.in_class_per_group) > 1:
            info["in_class_equilibria_per_user"] = list(self.in_class_per_group)
        return {"runs": [], "info": info}


@dataclass(frozen=True)
class UserCandidate:
    """One user's local equilibrium found by :func:`~pluralign.analysis.solvers.construction.construct_solve`:
    user ``user`` consults ``holder`` at Bertrand ``level`` against runner-up ``runner`` (−1: none),
    getting ``utility``; ``regret``: the largest certified per-user regret of any provider there."""

    user: int
    holder: int
    runner: int
    level: float
    utility: float
    regret: float

    def describe(self, market: Market) -> str:
        who = market.providers[self.holder]
        against = f" against {market.providers[self.runner]}" if self.runner >= 0 else ""
        return f"{who}{against} at {self.utility:.6g}"

    def to_dict(self, market: Market) -> dict:
        return {
            "holder": market.providers[self.holder],
            "runner_up": None if self.runner < 0 else market.providers[self.runner],
            "level": self.level,
            "utility": self.utility,
            "regret": self.regret,
        }


@dataclass(frozen=True, eq=False, repr=False)
class ConstructionResult(EquilibriumSearch):
    """Personalized equilibria constructed user by user (:mod:`.construction`).

    ``user_candidates[j]``: user j's local equilibria (:class:`UserCandidate`), each with its
    per-user certified regret at most ``tol``; the candidates (``equilibria``) are combinations
    of one per user, each verified by ``game.verify``.
    """

    user_candidates: tuple[tuple[UserCandidate, ...], ...]

    def _extra(self) -> dict:
        m = self.market
        info = {
            "user_candidates": {
                m.users[j]: [c.to_dict(m) for c in cands] for j, cands in enumerate(self.user_candidates)
            },
        }
        return {"runs": [], "info": info}
