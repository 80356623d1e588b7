"""Best-AI selection (docs/model.md §10, §12 biased pair), checked by hand and by brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pluralign import catalog
from pluralign.analysis.best_ai import best_ai_dynamics, best_ai_equilibria, evaluate, policy_class, policy_tables


def test_policy_class_and_tables_by_hand():
    m = catalog.load("biased_pair")
    f = policy_class(2, 2)
    np.testing.assert_array_equal(f, [[0, 0], [0, 1], [1, 0], [1, 1]])  # always a0, match, mismatch, always a1
    t = policy_tables(m)
    np.testing.assert_allclose(t.user[0], [0.5, 1.0, 0.0, 0.5])
    np.testing.assert_allclose(t.provider[0, 0], [0.2, 0.7, 0.3, 0.8])
    np.testing.assert_allclose(t.provider[1, 0], [0.8, 0.7, 0.3, 0.2])


def test_biased_pair_numbers():
    m = catalog.load("biased_pair")
    t = policy_tables(m)
    # (always 1, always 0): the user is indifferent, splits; provider 1 gets 0.5
    out = evaluate(t, m.p, (3, 0))
    assert out.payoffs[0] == pytest.approx(0.5) and out.user_utility[0] == pytest.approx(0.5)
    # deviating to matching gets 0.7 -> not an equilibrium
    assert evaluate(t, m.p, (1, 0)).payoffs[0] == pytest.approx(0.7)
    eqs = best_ai_equilibria(m)
    assert (3, 0) not in {e.profile for e in eqs}
    assert eqs and all(e.user_utility[0] == pytest.approx(1.0) for e in eqs)
    assert all(1 in e.profile for e in eqs)  # somebody always recommends matching


def test_equilibria_match_brute_force_on_random_markets():
    for seed in range(4):
        m = catalog.random_market(seed, n_states=2, n_actions=2, n_users=2, n_providers=2)
        t = policy_tables(m)
        brute = []
        for prof in itertools.product(range(4), repeat=2):
            base = evaluate(t, m.p, prof).payoffs
            ok = all(
                evaluate(t, m.p, tuple(q if o == i else prof[o] for o in range(2))).payoffs[i] <= base[i] + 1e-9
                for i in range(2)
                for q in range(4)
            )
            if ok:
                brute.append(prof)
        assert sorted(e.profile for e in best_ai_equilibria(m)) == sorted(brute)


@pytest.mark.parametrize("seed", range(5))
def test_dynamics_converge_to_verified_equilibria_on_biased_pair(seed):
    m = catalog.load("biased_pair")
    r = best_ai_dynamics(m, seed=seed)
    assert r.converged and r.verified
    assert r.user_utility[0] == pytest.approx(1.0)
    assert r.profile in {e.profile for e in best_ai_equilibria(m)}


def test_dynamics_is_deterministic_and_records_seed():
    m = catalog.random_market(7, n_states=3, n_actions=2, n_users=1, n_providers=3)
    a, b = best_ai_dynamics(m, seed=11), best_ai_dynamics(m, seed=11)
    assert a.profile == b.profile and a.history == b.history and a.seed == 11


def test_size_guard():
    with pytest.raises(ValueError, match="recommendation policies"):
        policy_class(20, 3)
