"""Verified equilibria (MODEL.md §5, §9 B, §12): verification, dynamics, enumeration, induced games."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

import pluralign.analysis.equilibria as eqmod
from pluralign.analysis.anonymous_br import SizeError
from pluralign.analysis.best_response import BestResponse
from pluralign.analysis.equilibria import (
    dynamics_solve,
    enumerate_solve,
    induced_game,
    pure_equilibria,
    solve,
    start_profiles,
    verify,
)
from pluralign.catalog import load, random_market
from pluralign.model.schemes import Profile, full_revelation, no_information
from pluralign.model.users import ResponseRule


def uniform(m, regime, scheme):
    return Profile.uniform(regime, scheme, m.n_providers, m.n_users)


# --------------------------------------------------------------------------- MODEL.md §9 B


def test_match_mismatch_anonymous_uninformative_is_a_verified_equilibrium():
    m = load("match_mismatch")
    v = verify(m, uniform(m, "anonymous", no_information(2)))
    assert v.verified and v.exact
    np.testing.assert_allclose(v.utilities, [0.5, 0.5])
    np.testing.assert_allclose(v.gap, [0.5, 0.5])
    np.testing.assert_allclose(v.payoffs, [0.5, 0.5])
    assert v.max_regret <= 1e-6


def test_match_mismatch_personalized_uninformative_is_not_an_equilibrium():
    m = load("match_mismatch")
    v = verify(m, uniform(m, "personalized", no_information(2)))
    assert not v.verified
    # each provider gains ½·(1 − ½) by informing "its" user alone
    np.testing.assert_allclose(v.regret, [0.25, 0.25], atol=1e-6)
    np.testing.assert_allclose(v.regret_attained, [0.25, 0.25], atol=1e-6)


@pytest.mark.parametrize("method", ["dynamics", "enumerate"])
def test_match_mismatch_every_personalized_equilibrium_gives_both_users_one(method):
    m = load("match_mismatch")
    found = solve(m, "personalized", method)
    assert found.verified, "at least one verified equilibrium"
    for eq in found.verified:
        np.testing.assert_allclose(eq.utilities, [1.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(found.worst_utility, [1.0, 1.0])


def test_match_mismatch_anonymous_enumeration_finds_the_uninformative_equilibrium():
    m = load("match_mismatch")
    found = enumerate_solve(m, "anonymous")
    assert len(found.verified) == 4  # every pair of partitions gives both providers ½
    np.testing.assert_allclose(found.worst_utility, [0.5, 0.5])
    np.testing.assert_allclose(found.best_utility, [1.0, 1.0])
    assert found.info["listed_policies"][0] == [0, 0]  # (no information, no information)


# --------------------------------------------------------------------------- hand-checked equilibria


@dataclass
class EqCase:
    """A profile of a bundled market, checked by hand."""

    name: str
    market: str
    regime: str
    schemes: list  # one scheme per provider (used for every user)
    verified: bool
    utilities: list[float]
    payoffs: list[float]
    regret: list[float]


NI, FR = no_information(2), full_revelation(2)
EQ_CASES = [
    EqCase("prosecutor FR/FR", "prosecutor", "personalized", [FR, FR], True, [1.0], [0.3, 0.7], [0.0, 0.0]),
    # the judge consults the defence's full revelation; the defence could win her at the 0.7 tie...
    # it loses ties (index 1), so it attracts her with slightly more than 0.7 and acquits almost surely
    EqCase("prosecutor NI/FR", "prosecutor", "personalized", [NI, FR], False, [1.0], [0.3, 0.7], [0.0, 0.3]),
    EqCase("prosecutor NI/NI", "prosecutor", "anonymous", [NI, NI], False, [0.7], [0.0, 1.0], [0.6, 0.0]),
    EqCase("biased pair FR/FR", "biased_pair", "personalized", [FR, FR], True, [1.0], [0.7, 0.7], [0.0, 0.0]),
    EqCase("biased pair FR/FR anon", "biased_pair", "anonymous", [FR, FR], True, [1.0], [0.7, 0.7], [0.0, 0.0]),
    # NI: the user takes a0 at her tie; biased_to_1 (0.2) deviates to its persuasion 0.8
    EqCase("biased pair NI/NI", "biased_pair", "personalized", [NI, NI], False, [0.5], [0.2, 0.8], [0.6, 0.0]),
    # NI/FR: the user consults biased_to_0's full revelation (0.7 each); biased_to_0 could keep her at
    # value ½ + margin and push a0: 0.8
    EqCase("biased pair NI/FR", "biased_pair", "personalized", [NI, FR], False, [1.0], [0.7, 0.7], [0.0, 0.1]),
    EqCase("match/mismatch FR/FR", "match_mismatch", "anonymous", [FR, FR], True, [1, 1], [0.5, 0.5], [0, 0]),
]


@pytest.mark.parametrize("case", EQ_CASES, ids=[c.name for c in EQ_CASES])
def test_hand_checked_profiles(case: EqCase):
    m = load(case.market)
    if case.regime == "anonymous":
        prof = Profile.anonymous(case.schemes)
    else:
        prof = Profile.personalized([[s] * m.n_users for s in case.schemes])
    v = verify(m, prof)
    assert v.verified == case.verified
    np.testing.assert_allclose(v.utilities, case.utilities, atol=1e-9)
    np.testing.assert_allclose(v.payoffs, case.payoffs, atol=1e-9)
    np.testing.assert_allclose(v.regret, case.regret, atol=1e-5)


@pytest.mark.parametrize("name", ["biased_pair", "prosecutor"])
@pytest.mark.parametrize("regime", ["personalized", "anonymous"])
def test_every_equilibrium_found_informs_the_single_user(name, regime):
    m = load(name)
    for method in ("dynamics", "enumerate"):
        found = solve(m, regime, method)
        assert found.verified
        for eq in found.verified:
            assert eq.utilities[0] == pytest.approx(1.0, abs=1e-9)


def test_biased_pair_payoffs_at_the_equilibrium():
    m = load("biased_pair")
    (eq,) = enumerate_solve(m, "personalized").verified
    np.testing.assert_allclose(eq.payoffs, [0.7, 0.7], atol=1e-9)  # ½(0.4 + 1) and ½(1 + 0.4)


# --------------------------------------------------------------------------- dynamics


def test_dynamics_runs_are_recorded_and_reproducible():
    m = load("forecast")
    a = dynamics_solve(m, "personalized", n_random=2, seed=3, max_rounds=5)
    b = dynamics_solve(m, "personalized", n_random=2, seed=3, max_rounds=5)
    assert [r.start for r in a.runs][:3] == ["uninformative", "each provider's favourite", "full revelation"]
    assert len(a.runs) == 5
    assert [(r.status, r.rounds, r.moves) for r in a.runs] == [(r.status, r.rounds, r.moves) for r in b.runs]
    full = a.runs[2]
    assert full.status == "converged" and full.rounds == 1 and full.moves == 0
    assert all(r.status in ("converged", "cycle", "round cap") for r in a.runs)
    assert len(a.verified) >= 1


@pytest.mark.parametrize("order", ["sequential", "random", "simultaneous"])
def test_dynamics_orders(order):
    m = load("match_mismatch")
    found = dynamics_solve(m, "personalized", order=order, starts=("uninformative",), seed=1)
    assert found.runs[0].status == "converged"
    (eq,) = found.verified
    np.testing.assert_allclose(eq.utilities, [1.0, 1.0])
    assert order in eq.found_by


def test_dynamics_accepts_given_start_profiles():
    m = load("match_mismatch")
    start = uniform(m, "anonymous", no_information(2))
    found = dynamics_solve(m, "anonymous", starts=[start])
    assert found.runs[0].start == "given profile 0" and found.runs[0].moves == 0
    assert found.verified[0].verification.utilities.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="is anonymous, expected personalized"):
        dynamics_solve(m, "personalized", starts=[start])


def test_cycle_detection(monkeypatch):
    """A provider that flips between two schemes forever is caught as a 2-cycle."""
    m = load("match_mismatch")

    def flipping(market, profile, provider, **kw):
        if provider != 0:
            cur = profile.scheme(provider)
            return _fake(provider, cur, 0.0, 0.0)
        cur = profile.scheme(0)
        new = full_revelation(2) if cur.shape[1] == 1 else no_information(2)
        return _fake(0, new, 1.0, 0.0)

    def _fake(i, scheme, value, current):
        z = np.zeros(2)
        return BestResponse(i, "anonymous", "actions", "fake", True, scheme, value, value, current, z, z, z,
                            np.zeros(2, dtype=bool), ResponseRule(), 0.0, "rule", 0, 0.0)

    monkeypatch.setattr(eqmod, "best_response", flipping)
    found = dynamics_solve(m, "anonymous", starts=("uninformative",), max_rounds=10, verify_results=False)
    run = found.runs[0]
    assert run.status == "cycle" and run.cycle_length == 2 and run.rounds == 2


def test_round_cap_on_a_bertrand_ladder():
    m = load("biased_pair")
    found = dynamics_solve(m, "personalized", starts=("uninformative",), max_rounds=3)
    assert found.runs[0].status == "round cap" and found.runs[0].rounds == 3
    assert not found.equilibria  # capped runs are not reported as equilibria


def test_start_profiles_favourite_is_best_response_to_silence():
    m = load("prosecutor")
    (label, prof), = start_profiles(m, "personalized", ["favourite"], rule=ResponseRule(action_tie="recommended"))
    np.testing.assert_allclose(prof.scheme(0, 0), [[4 / 7, 3 / 7], [0, 1]], atol=1e-7)
    with pytest.raises(ValueError, match="unknown start"):
        start_profiles(m, "personalized", ["nonsense"])


def test_solve_rejects_unknown_options():
    m = load("prosecutor")
    with pytest.raises(ValueError, match="method"):
        solve(m, "personalized", "magic")
    with pytest.raises(ValueError, match="order"):
        dynamics_solve(m, "personalized", order="chaotic")


# --------------------------------------------------------------------------- enumeration and games


def test_pure_equilibria_of_small_games():
    coordination = np.stack([np.eye(2), np.eye(2)], axis=-1)
    assert pure_equilibria(coordination) == [(0, 0), (1, 1)]
    pennies = np.stack([np.eye(2), 1 - np.eye(2)], axis=-1)
    assert pure_equilibria(pennies) == []
    pd = np.array([[[3, 3], [0, 5]], [[5, 0], [1, 1]]], dtype=float)
    assert pure_equilibria(pd) == [(1, 1)]


def test_induced_game_agrees_with_enumeration_and_profiles():
    m = load("match_mismatch")
    g = induced_game(m, "personalized")
    assert g.payoffs.shape == (4, 4, 2) and g.strategies[2] == (1, 0)
    found = enumerate_solve(m, "personalized")
    index = {s: n for n, s in enumerate(g.strategies)}
    ours = sorted(tuple(index[tuple(p)] for p in pol) for pol in found.info["listed_policies"])
    assert ours == pure_equilibria(g.payoffs, 1e-9)
    prof = g.profile((2, 1))
    np.testing.assert_allclose(prof.scheme(0, 0), np.eye(2))


def test_enumeration_size_guard():
    m = random_market(0, n_states=6, n_actions=2, n_users=1, n_providers=3)
    with pytest.raises(SizeError, match="max_profiles"):
        enumerate_solve(m, "anonymous", max_profiles=1000)


def test_recommendation_class_and_usage_mode():
    m = load("prosecutor")
    found = enumerate_solve(m, "personalized", policy_class_name="recommendations", mode="usage",
                            rule=ResponseRule(action_tie="recommended"))
    assert found.info["class_size"] == 4
    for eq in found.verified:
        assert eq.verification.mode == "usage"


def test_results_serialize_and_read_well():
    m = load("match_mismatch")
    found = enumerate_solve(m, "anonymous")
    d = found.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["regime"] == "anonymous" and d["verified"] == 4
    eq = d["equilibria"][0]
    assert set(eq["users"]["matcher"]) >= {"utility", "opt", "gap"}
    assert set(eq["providers"]["match_ai"]) >= {"payoff", "regret"}
    assert eq["policies"]["match_ai"]["summary"] == "no information"
    assert "verified of 4" in repr(found) and "Equilibrium(verified" in repr(found[0])
    assert "Verification(anonymous, verified" in repr(found[0].verification)
    assert len(list(found)) == len(found) == 4
