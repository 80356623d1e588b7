"""Personalized equilibria constructed user by user (construct_solve; docs/model.md §8.1, §8.4).

Checked against the hand-derived A_i(v) of docs/model.md §8.4, against enumeration of the
partition class (no verified equilibrium holds a user below her constructed Bertrand level; where
that level is a partition — NOINFO or OPT — enumeration finds the same utility), and every
assembled profile is verified by ``game.verify``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pluralign as pa
from pluralign import catalog
from pluralign.analysis.benchmarks import noinfo, opt
from pluralign.analysis.game import ProviderGame
from pluralign.analysis.solvers.construction import attract_offer, construct_solve
from pluralign.analysis.solvers.enumeration import enumerate_solve
from pluralign.catalog import load
from pluralign.model.users import ResponseRule

RECOMMENDED = ResponseRule(action_tie="recommended")


def small_market(seed: int):
    """Seeded markets with two providers, 1–3 users, 2–3 states, two actions; prior bounded away from 0."""
    return catalog.random_market(seed, n_states=2 + seed % 2, n_actions=2, n_users=1 + seed % 3, n_providers=2,
                                 prior_concentration=5.0)


@settings(max_examples=25, deadline=None)
@given(v=st.floats(0.7, 1.0))
def test_attracted_payoff_is_the_hand_derived_line(v):
    """docs/model.md §8.4: A_P(v) = 1.3 − v and A_D(v) = 1.7 − v on [0.7, 1] (recommended action ties:
    no obedience margin, so the LP value is attained)."""
    game = ProviderGame(load("prosecutor"), "personalized", rule=RECOMMENDED)
    pay_p, _, ok_p = attract_offer(game, 0, [v])
    pay_d, _, ok_d = attract_offer(game, 1, [v])
    assert ok_p[0] and ok_d[0]
    assert pay_p[0] == pytest.approx(1.3 - v, abs=1e-7)
    assert pay_d[0] == pytest.approx(1.7 - v, abs=1e-7)


def test_attracted_payoff_is_concave_and_non_increasing():
    game = ProviderGame(small_market(4), "personalized")
    m = game.market
    grid = np.linspace(noinfo(m), opt(m) - 1e-9, 9)  # [level, user]
    pays = np.array([attract_offer(game, 0, levels)[0] for levels in grid])
    assert np.all(np.diff(pays, axis=0) <= 1e-9)
    assert np.all(np.diff(pays, 2, axis=0) <= 1e-7)
    with pytest.raises(ValueError, match="per-user persuasion LPs"):
        attract_offer(ProviderGame(m, "anonymous"), 0, noinfo(m))


@pytest.mark.parametrize("mode", ["actions", "usage"])
@pytest.mark.parametrize(
    "name,utility",
    [("prosecutor", [1.0]), ("biased_pair", [1.0]), ("forecast", [0.712, 0.616]), ("match_mismatch", [1.0, 1.0])],
)
def test_bundled_markets(name, utility, mode):
    """docs/model.md §12: every personalized equilibrium of these markets gives users OPT."""
    found = construct_solve(ProviderGame(load(name), "personalized", mode=mode))
    assert found.equilibria and all(e.verified for e in found)
    np.testing.assert_allclose(found.worst_utility, utility, atol=1e-7)
    assert len(found.user_candidates) == len(utility)


def test_agrees_with_enumeration_where_both_apply():
    """On seeded small markets: every constructed profile is verified; no verified equilibrium of
    the partition class holds a user below her Bertrand level; where that level is itself a
    partition (NOINFO: nobody competes; OPT: full revelation), enumeration's worst utility is the
    same; and the dynamics from silence end at one of the constructed levels."""
    partition_levels = 0
    for seed in (0, 1, 2, 3, 4, 6, 7, 8, 9, 10):  # not 3 users x 3 states: enumeration lists ~1000 profiles there
        game = ProviderGame(small_market(seed), "personalized")
        m = game.market
        built = construct_solve(game)
        assert built.equilibria and all(e.verified for e in built), seed
        listed = enumerate_solve(game)
        assert listed.verified, seed
        enum_worst = listed.worst_utility
        assert np.all(built.worst_utility <= enum_worst + 1e-7), (seed, built.worst_utility, enum_worst)
        at_partition = (np.abs(built.worst_utility - noinfo(m)) < 1e-7) | (np.abs(built.worst_utility - opt(m)) < 1e-7)
        np.testing.assert_allclose(built.worst_utility[at_partition], enum_worst[at_partition], atol=1e-7)
        partition_levels += int(at_partition.sum())
        (run,) = pa.dynamics_solve(game, starts=("uninformative",), random_state=0).runs
        u = game.respond(run.profile).utility
        assert np.all(u >= built.worst_utility - 1e-6) and np.all(u <= built.best_utility + 1e-6), seed
    assert partition_levels >= 8


def test_every_candidate_is_locally_verified_and_combinations_are_listed():
    game = ProviderGame(load("forecast"), "personalized")
    found = construct_solve(game, max_equilibria=3)
    assert len(found.equilibria) <= 3
    for cands in found.user_candidates:
        assert cands and all(c.regret <= game.tol for c in cands)
    doc = found.to_dict()
    json.dumps(doc, allow_nan=False)
    assert doc["method"] == "construction" and set(doc["info"]["user_candidates"]) == {"picnicker", "farmer"}
    first = doc["info"]["user_candidates"]["picnicker"][0]
    assert {"holder", "runner_up", "level", "utility", "regret"} <= set(first)


def test_anonymous_regime_is_refused_with_one_clear_error():
    with pytest.raises(ValueError, match="users are coupled"):
        construct_solve(ProviderGame(load("match_mismatch"), "anonymous"))


def test_explicit_keywords():
    game = ProviderGame(load("prosecutor"), "personalized")
    with pytest.raises(TypeError):
        construct_solve(game, grids=3)
    with pytest.raises(ValueError, match="grid"):
        construct_solve(game, grid=2)
    with pytest.raises(ValueError, match="max_equilibria"):
        construct_solve(game, max_equilibria=0)


def test_monopolist():
    m = catalog.random_market(3, n_states=2, n_actions=2, n_users=2, n_providers=1)
    found = construct_solve(ProviderGame(m, "personalized"))
    assert found.verified


def test_cli_method_construct(cli):
    res = cli("solve", "prosecutor", "--method", "construct", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["method"] == "construction" and doc["equilibria"]
    assert all(e["verified"] for e in doc["equilibria"])
    res = cli("solve", "prosecutor", "--method", "construct", "--regime", "anonymous")
    assert res.code == 2 and len(res.err.strip().splitlines()) == 1 and "coupled" in res.err
