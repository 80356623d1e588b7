"""What equilibrium solvers return: candidates, each with its verification, and how they were found.

* :class:`Equilibrium` — a candidate profile, its :class:`~pluralign.analysis.game.Verification`
  and how it was found;
* :class:`DynamicsResult` — best-response dynamics: the candidates and every run (:class:`DynamicsRun`);
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

__all__ = ["Equilibrium", "DynamicsRun", "EquilibriumSearch", "DynamicsResult", "EnumerationResult"]


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
class DynamicsRun:
    """One run of best-response dynamics: its start, how it ended (``"converged"``, ``"cycle"``
    or ``"round cap"``), after how many rounds and moves, and where."""

    start: str
    status: str
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
