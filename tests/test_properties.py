"""Property tests (hypothesis) of docs/model.md §4 and §6 invariants on random markets."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pluralign.analysis.benchmarks import monopoly, noinfo, opt
from pluralign.catalog import random_market
from pluralign.model.schemes import full_revelation
from pluralign.model.users import ResponseRule, action_probabilities, outcomes, scheme_values

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def markets(draw, max_users=3, max_providers=2, observed=True):
    n_states = draw(st.integers(2, 4))
    n_actions = draw(st.integers(2, 4))
    n_observations = None if observed or draw(st.booleans()) else draw(st.integers(2, 4))
    return random_market(
        draw(st.integers(0, 10**6)),
        n_states=n_states,
        n_actions=n_actions,
        n_users=draw(st.integers(1, max_users)),
        n_providers=draw(st.integers(1, max_providers)),
        n_observations=n_observations,
        user_specific=draw(st.booleans()),
    )


def random_scheme(seed: int, n_x: int, n_s: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sigma = rng.dirichlet(np.full(n_s, 0.5), size=n_x)
    return sigma


@SETTINGS
@given(markets(observed=False), st.integers(0, 10**6), st.integers(1, 5))
def test_values_between_noinfo_and_opt(m, seed, n_s):
    sigma = random_scheme(seed, m.n_observations, n_s)
    V = scheme_values(m.P, m.u, np.broadcast_to(sigma, (m.n_users,) + sigma.shape))
    assert np.all(noinfo(m) <= V + 1e-12)
    assert np.all(opt(m) + 1e-12 >= V)


@SETTINGS
@given(markets(observed=False))
def test_full_revelation_gives_opt(m):
    sigma = np.broadcast_to(full_revelation(m.n_observations), (m.n_users, m.n_observations, m.n_observations))
    np.testing.assert_allclose(scheme_values(m.P, m.u, sigma), opt(m), atol=1e-12)


@SETTINGS
@given(markets(observed=False), st.integers(0, 10**6), st.integers(1, 5), st.integers(1, 5))
def test_garbling_never_raises_value(m, seed, n_s, n_t):
    sigma = random_scheme(seed, m.n_observations, n_s)
    G = random_scheme(seed + 1, n_s, n_t)
    stack = lambda s: np.broadcast_to(s, (m.n_users,) + s.shape)  # noqa: E731
    assert np.all(scheme_values(m.P, m.u, stack(sigma @ G)) <= scheme_values(m.P, m.u, stack(sigma)) + 1e-12)


@SETTINGS
@given(markets(observed=False), st.integers(0, 10**6), st.floats(0.0, 0.5))
def test_constant_shift_moves_values_and_changes_no_choice(m, seed, c):
    sigma = np.broadcast_to(random_scheme(seed, m.n_observations, 3), (m.n_users, m.n_observations, 3))
    base = m.u * 0.5
    shifted = base + c
    np.testing.assert_allclose(scheme_values(m.P, shifted, sigma), scheme_values(m.P, base, sigma) + c, atol=1e-12)
    rule = ResponseRule(tol=0.0)
    np.testing.assert_array_equal(
        action_probabilities(m.P, shifted, sigma, rule), action_probabilities(m.P, base, sigma, rule)
    )


@settings(max_examples=25, deadline=None)
@given(markets(max_users=2, max_providers=2, observed=False), st.data())
def test_monopoly_scheme_is_obedient_and_values_recompute(m, data):
    i = data.draw(st.integers(0, m.n_providers - 1))
    j = data.draw(st.integers(0, m.n_users - 1))
    r = monopoly(m, i, j)
    sigma = r.scheme
    assert np.all(sigma >= 0) and np.allclose(sigma.sum(axis=1), 1)
    # obedience: each recommended action is a best response to its posterior
    W = np.einsum("xy,xa->ay", m.P, sigma)  # [recommended a, y]
    gains = W @ m.u[j].T  # [recommended a, action b]
    for a in range(m.n_actions):
        if W[a].sum() > 1e-9:
            assert gains[a, a] >= gains[a].max() - 1e-7
    # reported values equal a recomputation through the users module
    mu = outcomes(m.P, m.u[j : j + 1], sigma[None], ResponseRule(action_tie="recommended", tol=1e-7))[0]
    np.testing.assert_allclose((mu * m.u[j]).sum(), r.user_utility, atol=1e-6)
    np.testing.assert_allclose((mu * m.U[i, j]).sum(), r.provider_utility, atol=1e-6)
    # and the provider does at least as well as with full revelation or no information
    assert r.user_utility >= noinfo(m)[j] - 1e-7
