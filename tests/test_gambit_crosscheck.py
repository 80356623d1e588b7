"""Cross-check with an independent library: pygambit's pure equilibria of the induced normal-form game
equal the ones pluralign enumerates (test-only extra; skipped when pygambit is missing)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from pluralign.analysis.equilibria import enumerate_solve, induced_game
from pluralign.catalog import load, random_market
from pluralign.model.users import ResponseRule

gbt = pytest.importorskip("pygambit")


def gambit_pure_equilibria(payoffs: np.ndarray) -> list[tuple[int, ...]]:
    """Pure equilibria by pygambit's enumpure_solve; payoffs rounded to 10 decimals, passed exactly."""
    k = payoffs.shape[-1]
    arrays = []
    for i in range(k):
        arr = np.empty(payoffs.shape[:-1], dtype=object)
        for pos, v in np.ndenumerate(payoffs[..., i]):
            arr[pos] = Fraction(str(round(float(v), 10)))
        arrays.append(arr)
    game = gbt.Game.from_arrays(*arrays)
    out = []
    for eq in gbt.nash.enumpure_solve(game).equilibria:
        out.append(tuple(next(s for s, st in enumerate(p.strategies) if eq[st] == 1) for p in game.players))
    return sorted(out)


def pluralign_pure_equilibria(market, regime, rule, mode, game) -> list[tuple[int, ...]]:
    found = enumerate_solve(market, regime, rule=rule, mode=mode, max_equilibria=10**6, verify_results=False)
    index = {s: n for n, s in enumerate(game.strategies)}
    if regime == "anonymous":
        return sorted(tuple(index[(c,)] for c in pol) for pol in found.info["listed_policies"])
    return sorted(tuple(index[tuple(p)] for p in pol) for pol in found.info["listed_policies"])


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
    [(ResponseRule(), "actions"), (ResponseRule(provider_tie="highest", action_tie="recommended"), "usage")],
    ids=["lowest-actions", "highest-recommended-usage"],
)
def test_pure_equilibria_match_pygambit(name, regime, rule, mode):
    market = MARKETS[name]()
    game = induced_game(market, regime, rule=rule, mode=mode, max_profiles=20_000)
    theirs = gambit_pure_equilibria(game.payoffs)
    ours = pluralign_pure_equilibria(market, regime, rule, mode, game)
    assert ours == theirs
