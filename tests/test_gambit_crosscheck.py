"""Cross-check with an independent library: pygambit's pure equilibria of the induced normal-form game
equal the ones pluralign enumerates (test-only extra; skipped when pygambit is missing)."""

from __future__ import annotations

import pytest

from pluralign.analysis.game import ProviderGame
from pluralign.analysis.solvers.enumeration import enumerate_solve
from pluralign.catalog import load, random_market
from pluralign.model.users import ResponseRule

gbt = pytest.importorskip("pygambit")


def gambit_pure_equilibria(induced) -> list[tuple[int, ...]]:
    """Pure equilibria by pygambit's enumpure_solve on the induced game (``to_gambit``: payoffs rounded
    to 10 decimals, passed exactly)."""
    game = induced.to_gambit()
    out = []
    for eq in gbt.nash.enumpure_solve(game).equilibria:
        out.append(tuple(next(s for s, st in enumerate(p.strategies) if eq[st] == 1) for p in game.players))
    return sorted(out)


def pluralign_pure_equilibria(game: ProviderGame, induced) -> list[tuple[int, ...]]:
    found = enumerate_solve(game, verify_results=False)
    index = {s: n for n, s in enumerate(induced.strategies)}
    return sorted(tuple(index[p] for p in pol) for pol in found.listed_policies)


MARKETS = {
    "match_mismatch": lambda: load("match_mismatch"),
    "biased_pair": lambda: load("biased_pair"),
    "prosecutor": lambda: load("prosecutor"),
    "forecast": lambda: load("forecast"),
    "random 2x2 users": lambda: random_market(11, n_states=2, n_actions=2, n_users=2, n_providers=2, user_specific=True),
    "random 3 states": lambda: random_market(12, n_states=3, n_actions=3, n_users=1, n_providers=2),
    "random 3 providers": lambda: random_market(13, n_states=3, n_actions=2, n_users=2, n_providers=3),
}


@pytest.mark.parametrize("name", sorted(MARKETS))
@pytest.mark.parametrize("regime", ["anonymous", "personalized"])
@pytest.mark.parametrize(
    "rule,mode",
    [
        (ResponseRule(), "actions"),
        (ResponseRule(provider_tie="highest", action_tie="recommended"), "usage"),
        (ResponseRule(provider_tie="uniform"), "actions"),
        (ResponseRule(provider_tie="uniform", action_tie="highest"), "usage"),
    ],
    ids=["lowest-actions", "highest-recommended-usage", "uniform-actions", "uniform-highest-usage"],
)
def test_pure_equilibria_match_pygambit(name, regime, rule, mode):
    game = ProviderGame(MARKETS[name](), regime, rule=rule, mode=mode)
    induced = game.induced_game(max_profiles=20_000)
    theirs = gambit_pure_equilibria(induced)
    ours = pluralign_pure_equilibria(game, induced)
    assert ours == theirs
