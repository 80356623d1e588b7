"""Weak and Strong Market Alignment (docs/model.md §7, §12): reference numbers, properties, certificates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pluralign import catalog
from pluralign.analysis.alignment import (
    METHODS,
    align,
    linf_fits,
    provider_matrices,
    strong_alignment,
    weak_alignment,
)
from pluralign.catalog.generators import aligned_construction, random_market
from pluralign.model.market import Market

SETTINGS = settings(max_examples=30, deadline=None)


# --------------------------------------------------------------------------- reference instances


@dataclass(frozen=True)
class Case:
    name: str
    market: Callable[[], Market]
    variant: str
    weak: tuple[float, ...]
    strong: float
    offset: str = "scalar"
    tol: float = 1e-9


CASES = [
    Case("match_mismatch cone", lambda: catalog.load("match_mismatch"), "cone", (0.0, 0.0), 0.5),
    Case("match_mismatch simplex", lambda: catalog.load("match_mismatch"), "simplex", (0.0, 0.0), 0.5),
    Case("biased_pair cone", lambda: catalog.load("biased_pair"), "cone", (0.0,), 0.0),
    Case("biased_pair simplex", lambda: catalog.load("biased_pair"), "simplex", (0.3,), 0.3),
    Case("prosecutor cone", lambda: catalog.load("prosecutor"), "cone", (0.5,), 0.5),
    Case("forecast state offset", lambda: catalog.load("forecast"), "cone", (0.0, 0.0), 0.255, offset="state"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("method", METHODS)
def test_reference_values(case: Case, method: str):
    m = case.market()
    weak = weak_alignment(m, variant=case.variant, offset=case.offset, method=method)
    assert weak.epsilon == pytest.approx(case.weak, abs=case.tol)
    assert weak.lower_bound == pytest.approx(case.weak, abs=case.tol)
    assert weak.verify().ok
    strong = strong_alignment(m, variant=case.variant, offset=case.offset, method="scipy" if method == "scipy" else "highs")
    assert strong.epsilon == pytest.approx(case.strong, abs=case.tol)
    assert strong.lower_bound == pytest.approx(case.strong, abs=case.tol)
    assert strong.verify().ok


def test_biased_pair_weights_reproduce_the_user_exactly():
    m = catalog.load("biased_pair")
    weak = weak_alignment(m)
    lam, c = weak.weights[0], weak.offsets[0, 0]
    assert lam == pytest.approx([1.25, 1.25], abs=1e-9) and c == pytest.approx(-0.75, abs=1e-9)
    fit = np.einsum("i,iay->ay", lam, m.U[:, 0]) + c
    assert np.allclose(fit, m.u[0], atol=1e-9, rtol=0)
    rec = weak["user"]
    assert rec.covering == ("biased_to_1", "biased_to_0") or rec.covering == ("biased_to_0", "biased_to_1")


def test_biased_pair_simplex_certificate():
    """Simplex ε = 0.3 is proved by a dual w: w·u − max_i U_i·w = 0.3."""
    m = catalog.load("biased_pair")
    weak = weak_alignment(m, variant="simplex")
    w = weak.dual[0]
    bound = (w * m.u[0]).sum() - max((w * m.U[i, 0]).sum() for i in range(2))
    assert bound == pytest.approx(0.3, abs=1e-9)
    assert abs(w.sum()) < 1e-9 and np.abs(w).sum() <= 1 + 1e-9


def test_match_mismatch_covering_and_strong_failure():
    m = catalog.load("match_mismatch")
    weak = weak_alignment(m)
    assert weak["matcher"].covering == ("match_ai",)
    assert weak["mismatcher"].covering == ("mismatch_ai",)
    strong = strong_alignment(m)
    # the pooled certificate: a w over both users that no common weights can beat
    assert strong.lower_bound == pytest.approx(0.5, abs=1e-9)


# --------------------------------------------------------------------------- properties

sizes = st.integers(1, 3)


@st.composite
def markets(draw, user_specific=None):
    return random_market(
        seed=draw(st.integers(0, 10_000)),
        n_states=draw(sizes),
        n_actions=draw(st.integers(2, 3)),
        n_users=draw(sizes),
        n_providers=draw(sizes),
        user_specific=draw(st.booleans()) if user_specific is None else user_specific,
    )


@SETTINGS
@given(markets(), st.integers(0, 2), st.floats(0, 1))
def test_epsilon_invariant_to_adding_a_constant(market, j, frac):
    j = j % market.n_users
    u = market.u.copy()
    lo, hi = u[j].min(), u[j].max()
    shift = -lo + frac * (1 - hi + lo)  # keeps u_j + shift in [0, 1]
    u[j] = np.clip(u[j] + shift, 0, 1)
    shifted = market.replace(u=u)
    for variant in ("cone", "simplex"):
        a = weak_alignment(market, variant=variant).epsilon[j]
        b = weak_alignment(shifted, variant=variant).epsilon[j]
        assert a == pytest.approx(b, abs=1e-7)


@SETTINGS
@given(markets(), st.sampled_from(["scalar", "state"]))
def test_cone_never_worse_than_simplex(market, offset):
    cone = weak_alignment(market, offset=offset)
    simplex = weak_alignment(market, variant="simplex", offset=offset)
    assert np.all(cone.epsilon <= simplex.epsilon + 1e-9)
    assert strong_alignment(market, offset=offset).epsilon <= strong_alignment(market, variant="simplex", offset=offset).epsilon + 1e-9
    # a state-dependent offset is never worse than a scalar one
    if offset == "state":
        assert np.all(cone.epsilon <= weak_alignment(market).epsilon + 1e-9)


@SETTINGS
@given(markets(), st.integers(0, 2), st.floats(0.05, 1.0))
def test_cone_invariant_to_scaling_a_provider(market, i, frac):
    i = i % market.n_providers
    U = market.U.copy()
    U[i] *= frac / max(U[i].max(), 1e-12)  # a positive factor keeping U_i in [0, 1]
    scaled = market.replace(U=U)
    assert weak_alignment(scaled).epsilon == pytest.approx(weak_alignment(market).epsilon, abs=1e-7)
    assert strong_alignment(scaled).epsilon == pytest.approx(strong_alignment(market).epsilon, abs=1e-7)


@SETTINGS
@given(
    st.integers(0, 10_000),
    st.floats(0, 0.2),
    st.booleans(),
    st.booleans(),
    st.integers(1, 4),
    st.integers(1, 3),
)
def test_aligned_by_construction(seed, noise, common, specific, n_users, n_providers):
    built = aligned_construction(
        seed, n_states=3, n_actions=2, n_users=n_users, n_providers=n_providers,
        noise=noise, common_weights=common, user_specific=specific,
    )
    weak = weak_alignment(built.market)
    assert weak.max_epsilon <= noise + 1e-7
    if common:
        assert strong_alignment(built.market).epsilon <= noise + 1e-7


@SETTINGS
@given(markets(), st.sampled_from(["cone", "simplex"]), st.sampled_from(["scalar", "state"]))
def test_dual_certificate_equals_primal(market, variant, offset):
    for method in ("batched", "highs"):
        weak = weak_alignment(market, variant=variant, offset=offset, method=method)
        assert weak.lower_bound == pytest.approx(weak.epsilon, abs=1e-7)
        check = weak.verify()
        assert check.ok, check
    strong = strong_alignment(market, variant=variant, offset=offset)
    assert strong.lower_bound == pytest.approx(strong.epsilon, abs=1e-7)
    assert strong.verify().ok


@settings(max_examples=15, deadline=None)
@given(markets(), st.sampled_from(["cone", "simplex"]))
def test_methods_agree(market, variant):
    eps = [weak_alignment(market, variant=variant, method=m).epsilon for m in METHODS]
    assert eps[0] == pytest.approx(eps[1], abs=1e-7)
    assert eps[0] == pytest.approx(eps[2], abs=1e-7)


# --------------------------------------------------------------------------- batching and scale


def test_many_users_batched_equals_highs_user_specific():
    m = random_market(5, n_states=4, n_actions=3, n_users=60, n_providers=4, user_specific=True)
    a = weak_alignment(m)
    b = weak_alignment(m, method="highs")
    assert a.info["fallbacks"] == 0
    assert a.epsilon == pytest.approx(b.epsilon, abs=1e-7)
    assert a.verify().ok and b.verify().ok


def test_fallback_path_is_exercised():
    m = random_market(2, n_states=3, n_actions=3, n_users=8, n_providers=3)
    u, M = m.u.reshape(8, -1), provider_matrices(m)[0]
    fits = linf_fits(u, M, tol=-1.0)  # every certificate "fails": all programs re-solved by HiGHS
    assert fits.fallbacks == 8
    assert fits.epsilon == pytest.approx(linf_fits(u, M).epsilon, abs=1e-7)


def test_strong_alignment_adds_users_until_all_fit():
    m = random_market(11, n_states=3, n_actions=3, n_users=120, n_providers=3, user_specific=True)
    staged = strong_alignment(m, max_users_per_lp=20)
    full = strong_alignment(m, max_users_per_lp=1000)
    assert staged.info["rounds"] >= 1 and full.info["rounds"] == 1
    assert staged.epsilon == pytest.approx(full.epsilon, abs=1e-7)
    assert staged.verify().ok and full.verify().ok


def test_verify_catches_tampering():
    m = catalog.load("biased_pair")
    weak = weak_alignment(m)
    bad = type(weak)(**{**weak.__dict__, "epsilon": weak.epsilon + 0.1})
    assert not bad.verify().ok
    bad = type(weak)(**{**weak.__dict__, "dual": weak.dual * 3 + 0.1})
    assert not bad.verify().ok


# --------------------------------------------------------------------------- results as data


def test_report_to_dict_shape():
    report = align(catalog.load("match_mismatch"))
    d = report.to_dict()
    assert set(d) == {"variant", "users", "strong"}
    assert d["variant"] == "cone"
    assert [set(u) for u in d["users"]] == [{"name", "epsilon", "weights", "offset"}] * 2
    assert set(d["strong"]) == {"epsilon", "weights", "offsets"}
    assert d["strong"]["epsilon"] == pytest.approx(0.5)
    assert set(d["strong"]["offsets"]) == {"matcher", "mismatcher"}
    assert report.verify().ok


def test_state_offsets_in_dict_and_repr():
    m = catalog.load("forecast")
    weak = weak_alignment(m, offset="state")
    d = weak.to_dict(dual=True)
    assert set(d["users"][0]["offset"]) == set(m.states)
    assert set(d["users"][0]["dual"]) == set(m.actions)
    assert "forecast" in repr(weak) and "state offset" in repr(weak)
    assert [r.user for r in weak] == list(m.users) and len(weak) == 2
    s = strong_alignment(m, offset="state").to_dict(dual=True)
    assert set(s["offsets"]["farmer"]) == set(m.states)


def test_bad_options_name_the_field():
    m = catalog.load("prosecutor")
    with pytest.raises(ValueError, match="variant"):
        weak_alignment(m, variant="ball")
    with pytest.raises(ValueError, match="method"):
        weak_alignment(m, method="cplex")
    with pytest.raises(ValueError, match="method"):
        strong_alignment(m, method="batched")
    with pytest.raises(ValueError, match="offset"):
        weak_alignment(m, offset="action")
