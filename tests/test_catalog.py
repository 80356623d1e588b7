"""Catalog: bundled markets and seeded generators."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pluralign import catalog
from pluralign.catalog.generators import aligned_construction


def test_bundled_names_and_errors():
    assert {"prosecutor", "match_mismatch", "biased_pair", "forecast"} <= set(catalog.names())
    with pytest.raises(KeyError, match="bundled"):
        catalog.path("nope")


def test_generators_are_deterministic():
    a = catalog.random_market(5, n_states=3, n_actions=2, n_users=4, n_providers=3, n_observations=2, user_specific=True)
    b = catalog.random_market(5, n_states=3, n_actions=2, n_users=4, n_providers=3, n_observations=2, user_specific=True)
    c = catalog.random_market(6, n_states=3, n_actions=2, n_users=4, n_providers=3, n_observations=2, user_specific=True)
    assert a.equals(b) and not a.equals(c)
    assert a.P.shape == (2, 3) and np.isclose(a.P.sum(), 1.0)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    common=st.booleans(),
    user_specific=st.booleans(),
    sparsity=st.sampled_from([0.0, 0.5]),
)
def test_aligned_construction_reproduces_utilities_without_noise(seed, common, user_specific, sparsity):
    c = aligned_construction(seed, n_states=3, n_actions=3, n_users=3, n_providers=3,
                             common_weights=common, user_specific=user_specific, sparsity=sparsity)
    m = c.market
    fit = np.einsum("ji,ijay->jay", c.weights, m.U) + c.offsets[:, None, None]
    np.testing.assert_allclose(fit, m.u, atol=1e-12)
    assert np.all(c.weights >= 0)
    if common:
        assert np.allclose(c.weights, c.weights[:1])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), noise=st.floats(0.0, 0.3))
def test_aligned_construction_noise_is_bounded(seed, noise):
    c = aligned_construction(seed, noise=noise)
    fit = np.einsum("ji,ijay->jay", c.weights, c.market.U) + c.offsets[:, None, None]
    assert np.abs(fit - c.market.u).max() <= noise + 1e-12
