"""User responses (docs/model.md §4): tie rules, quantal response, provider payoffs, schemes and profiles."""

from __future__ import annotations

import numpy as np
import pytest

from pluralign import catalog
from pluralign.model.schemes import (
    Profile,
    check_scheme,
    clean_rows,
    full_revelation,
    garble,
    no_information,
    recommendation,
)
from pluralign.model.users import (
    ResponseRule,
    action_probabilities,
    posteriors,
    provider_payoffs,
    respond,
    scheme_values,
)


def test_posteriors_by_hand():
    m = catalog.load("prosecutor")
    sigma = np.array([[4 / 7, 3 / 7], [0.0, 1.0]])  # the prosecutor's optimal scheme
    post = posteriors(m.P, sigma)
    np.testing.assert_allclose(post, [[1.0, 0.0], [0.5, 0.5]])
    never = posteriors(m.P, np.array([[1.0, 0.0], [1.0, 0.0]]))
    assert np.isnan(never[1]).all()


def test_action_tie_rules():
    m = catalog.load("match_mismatch")
    none = no_information(2)[None].repeat(2, axis=0)  # [j, x, s]
    low = action_probabilities(m.P, m.u, none, ResponseRule(action_tie="lowest"))
    high = action_probabilities(m.P, m.u, none, ResponseRule(action_tie="highest"))
    np.testing.assert_array_equal(low[:, 0], [[1, 0], [1, 0]])
    np.testing.assert_array_equal(high[:, 0], [[0, 1], [0, 1]])
    # recommended: follow the signal when it names a best action
    rec = recommendation([1, 1], 2)[None].repeat(2, axis=0)
    followed = action_probabilities(m.P, m.u, rec, ResponseRule(action_tie="recommended"))
    np.testing.assert_array_equal(followed[:, 1], [[0, 1], [0, 1]])


def test_tolerance_decides_near_ties():
    m = catalog.load("match_mismatch")
    u = m.u.copy()
    u[0, 1, 1] -= 1e-12  # action 1 is now worse by 5e-13 at the prior
    none = no_information(2)[None].repeat(2, axis=0)
    tight = action_probabilities(m.P, u, none, ResponseRule(action_tie="highest", tol=0.0))
    loose = action_probabilities(m.P, u, none, ResponseRule(action_tie="highest", tol=1e-9))
    assert tight[0, 0].argmax() == 0 and loose[0, 0].argmax() == 1


def test_quantal_response_limits():
    m = catalog.load("prosecutor")
    sigma = full_revelation(2)[None]
    soft = action_probabilities(m.P, m.u, sigma, ResponseRule(quantal_beta=1e-9))
    np.testing.assert_allclose(soft, 0.5, atol=1e-8)
    sharp = action_probabilities(m.P, m.u, sigma, ResponseRule(quantal_beta=200.0))
    np.testing.assert_allclose(sharp[0], np.eye(2), atol=1e-12)
    beta = 2.0
    mid = action_probabilities(m.P, m.u, sigma, ResponseRule(quantal_beta=beta))
    assert mid[0, 0, 0] == pytest.approx(np.exp(beta) / (np.exp(beta) + 1.0))


def test_provider_tie_and_payoff_modes():
    m = catalog.load("match_mismatch")
    both_full = Profile.uniform("anonymous", full_revelation(2), 2, 2)
    low = respond(m, both_full)
    high = respond(m, both_full, ResponseRule(provider_tie="highest"))
    np.testing.assert_array_equal(low.choice, [0, 0])
    np.testing.assert_array_equal(high.choice, [1, 1])
    np.testing.assert_allclose(low.utility, [1, 1])
    # actions mode: match_ai earns 1 from the matcher and 0 from the mismatcher, whoever they consult
    np.testing.assert_allclose(provider_payoffs(m, low, "actions"), [0.5, 0.5])
    np.testing.assert_allclose(provider_payoffs(m, low, "usage"), [0.5, 0.0])
    np.testing.assert_allclose(provider_payoffs(m, high, "usage"), [0.0, 0.5])
    assert low.rule.describe()["provider_tie"] == "lowest"


def test_personalized_profile_per_user():
    m = catalog.load("match_mismatch")
    prof = Profile.personalized(
        [[full_revelation(2), no_information(2)], [no_information(2), full_revelation(2)]]
    )
    r = respond(m, prof)
    np.testing.assert_array_equal(r.choice, [0, 1])
    np.testing.assert_allclose(r.values, [[1.0, 0.5], [0.5, 1.0]])
    np.testing.assert_allclose(r.outcome.sum(axis=(1, 2)), 1.0)
    assert prof.scheme(1, 0).shape == (2, 1)


def test_profile_replace_and_validation():
    prof = Profile.uniform("anonymous", no_information(2), 2, 3)
    new = prof.replace(1, full_revelation(2))
    assert new.schemes.shape == (2, 2, 2)
    np.testing.assert_array_equal(new.scheme(1), np.eye(2))
    np.testing.assert_array_equal(new.scheme(0), [[1], [1]])
    with pytest.raises(ValueError, match="row x=0 sums to"):
        check_scheme([[0.5, 0.2], [0.5, 0.5]])
    with pytest.raises(ValueError, match="expected 2 rows"):
        check_scheme(np.eye(3), n_x=2)
    with pytest.raises(ValueError, match="needs a 4-axis array"):
        Profile("personalized", np.ones((2, 2, 1)))


def test_garble_and_recommendation():
    sigma = recommendation([0, 1, 1], 2)
    np.testing.assert_array_equal(sigma, [[1, 0], [0, 1], [0, 1]])
    merged = garble(sigma, [[1.0], [1.0]])
    np.testing.assert_array_equal(merged, np.ones((3, 1)))
    with pytest.raises(ValueError):
        recommendation([2], 2)


def test_values_vectorized_match_loop():
    m = catalog.random_market(3, n_states=3, n_actions=4, n_users=5, n_providers=2)
    rng = np.random.default_rng(0)
    sigma = rng.dirichlet(np.ones(4), size=(5, 3))  # [j, x, s]
    V = scheme_values(m.P, m.u, sigma)
    for j in range(5):
        total = 0.0
        for s in range(4):
            total += max(sum(m.P[x, y] * sigma[j, x, s] * m.u[j, a, y] for x in range(3) for y in range(3)) for a in range(4))
        assert V[j] == pytest.approx(total, abs=1e-12)


def test_uniform_provider_tie_splits_the_user():
    """docs/model.md §12, biased pair under best-AI selection: (always a1, always a0) leaves the user
    indifferent; picking either provider at random gives provider 1 (0.8 + 0.2)/2 = 0.5."""
    m = catalog.load("biased_pair")
    prof = Profile.anonymous([recommendation([1, 1], 2), recommendation([0, 0], 2)])
    rule = ResponseRule(provider_tie="uniform", action_tie="recommended")  # she follows the chosen AI
    r = respond(m, prof, rule)
    np.testing.assert_allclose(r.shares, [[0.5], [0.5]])
    np.testing.assert_allclose(r.utility, [0.5])
    np.testing.assert_allclose(provider_payoffs(m, r, "actions"), [0.5, 0.5])
    np.testing.assert_allclose(provider_payoffs(m, r, "usage"), [0.4, 0.4])  # 0.5*0.8, 0.5*0.8
    # deviating to matching (full revelation) attracts the user: provider 1 then gets (0.4 + 1)/2
    dev = respond(m, prof.replace(0, full_revelation(2)), rule)
    assert provider_payoffs(m, dev)[0] == pytest.approx(0.7)
    assert dev.utility[0] == pytest.approx(1.0)


def test_clean_rows_removes_round_off_and_renormalizes():
    """Solver output: -0.0 and 1e-12 become 0, entries above 1 are clipped, rows sum to 1 (by hand),
    an all-zero row sends signal 0; stacks of schemes are cleaned row by row."""
    raw = np.array([[0.5, 0.5 + 2e-9, -0.0], [1e-12, 1.2, -3e-11], [0.0, 1e-11, 0.0]])
    got = clean_rows(raw)
    np.testing.assert_allclose(got[0], [0.5 / (1 + 2e-9), (0.5 + 2e-9) / (1 + 2e-9), 0.0], rtol=0, atol=1e-15)
    assert got[1].tolist() == [0.0, 1.0, 0.0] and got[2].tolist() == [1.0, 0.0, 0.0]
    assert not np.signbit(got).any()
    np.testing.assert_array_equal(clean_rows(np.stack([raw, raw])), np.stack([got, got]))
