"""Guarantees A and C (docs/model.md §9) on verified equilibria, and the negative result B.

ε is computed here by a small private LP (independent of pluralign.analysis.alignment)
and cross-checked against the construction's known bound η.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pluralign.analysis.game import ProviderGame
from pluralign.analysis.guarantees import assess, check_guarantee, check_search, guarantee_a, guarantee_c
from pluralign.analysis.solvers.dynamics import dynamics_solve
from pluralign.analysis.solvers.enumeration import enumerate_solve
from pluralign.catalog import load
from pluralign.catalog.generators import aligned_construction
from pluralign.lp import INF, LinearProgram, solve_lp
from pluralign.model.market import Market
from pluralign.model.schemes import Profile, full_revelation, no_information
from pluralign.model.users import ResponseRule


def verify(m, profile, **settings):
    return ProviderGame(m, profile.regime, **settings).verify(profile)

# --------------------------------------------------------------------------- a private ε


def _fit(targets: list[np.ndarray], provider_rows: list[np.ndarray]) -> tuple[float, np.ndarray]:
    """min t over λ ≥ 0 (shared), one offset per target: |M_b λ + c_b − u_b| ≤ t. Returns (t, λ)."""
    k = provider_rows[0].shape[1]
    B = len(targets)
    n = k + B + 1  # [λ, c_1..c_B, t]
    rows, lo, hi = [], [], []
    for b, (u, M) in enumerate(zip(targets, provider_rows)):
        for r in range(u.size):
            base = np.zeros(n)
            base[:k] = M[r]
            base[k + b] = 1.0
            up = base.copy()
            up[-1] = -1.0  # Mλ + c − t ≤ u
            dn = base.copy()
            dn[-1] = 1.0  # Mλ + c + t ≥ u
            rows += [up, dn]
            lo += [-INF, u[r]]
            hi += [u[r], INF]
    c = np.zeros(n)
    c[-1] = 1.0
    col_lo = np.concatenate([np.zeros(k), np.full(B, -INF), [0.0]])
    res = solve_lp(LinearProgram.build(c, np.array(rows), lo, hi, col_lo, np.full(n, INF))).require_optimal()
    return res.objective, res.x[:k]


def wma(market) -> tuple[np.ndarray, np.ndarray]:
    eps, lam = [], []
    for j in range(market.n_users):
        t, w = _fit([market.u[j].ravel()], [market.U[:, j].reshape(market.n_providers, -1).T])
        eps.append(t)
        lam.append(w)
    return np.array(eps), np.array(lam)


def sma(market) -> tuple[float, np.ndarray]:
    us = [market.u[j].ravel() for j in range(market.n_users)]
    Ms = [market.U[:, j].reshape(market.n_providers, -1).T for j in range(market.n_users)]
    return _fit(us, Ms)


def test_private_epsilons_on_reference_markets():
    eps, lam = wma(load("biased_pair"))
    assert eps[0] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(lam[0], [1.25, 1.25], atol=1e-6)
    mm = load("match_mismatch")
    np.testing.assert_allclose(wma(mm)[0], [0.0, 0.0], atol=1e-9)
    assert sma(mm)[0] == pytest.approx(0.5, abs=1e-9)


# --------------------------------------------------------------------------- reference markets


def test_guarantee_a_on_match_mismatch():
    m = load("match_mismatch")
    found = enumerate_solve(ProviderGame(m, "personalized"))
    for check in check_search(found):  # ε from pluralign.analysis.alignment
        assert check.guarantee == "A" and check.applies and check.holds
        np.testing.assert_allclose(check.bound, [1.0, 1.0], atol=1e-6)


def test_b_weak_alignment_does_not_protect_anonymous_users():
    """§9 B: WMA holds with ε = 0, yet the uninformative anonymous equilibrium leaves both users at ½."""
    m = load("match_mismatch")
    v = verify(m, Profile.uniform("anonymous", no_information(2), 2, 2))
    assert v.verified
    a_like = guarantee_a(v, epsilon=wma(m)[0])
    assert not a_like.holds and not a_like.applies  # the personalized bound would say 1
    c = guarantee_c(v, epsilon=sma(m)[0])
    assert c.applies and c.holds  # C is loose here: ε_S = ½ allows an aggregate gap of 1
    assert c.aggregate_gap == pytest.approx(0.5) and c.aggregate_bound == pytest.approx(1.0)


def test_guarantee_a_biased_pair_cone_and_simplex():
    m = load("biased_pair")
    v = verify(m, Profile.uniform("personalized", full_revelation(2), 2, 1))
    assert guarantee_a(v).bound[0] == pytest.approx(1.0, abs=1e-6)  # cone ε = 0
    assert guarantee_a(v, epsilon=0.3).bound[0] == pytest.approx(0.4)  # simplex ε = 0.3


def test_unverified_profiles_are_marked():
    m = load("match_mismatch")
    v = verify(m, Profile.uniform("personalized", no_information(2), 2, 2))
    check = check_guarantee(v, epsilon=np.zeros(2))
    assert not check.applies and not check.holds
    assert "does not apply" in repr(check)


def test_check_records_the_tie_rule_and_serializes():
    m = load("prosecutor")
    found = dynamics_solve(ProviderGame(m, "personalized"), starts=("full",))
    (check,) = check_search(found)
    report = assess(found)
    assert report.checks[0].holds and report.to_dict()["equilibria"][0]["guarantee"]["guarantee"] == "A"
    d = check.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["tie_rule"]["provider_tie"] == "lowest" and d["tie_rule"]["ties"] == "rule"
    assert "suprema" in d["tie_rule"]["guarantee"]
    assert d["users"]["judge"]["bound_holds"] is True


def tie_demo() -> Market:
    """One user, indifferent between the actions in state y0 and preferring a1 in y1; provider 0
    wants a1, provider 1 wants a0. Silence already gives her OPT = ½ (she takes a1)."""
    return Market.from_arrays(
        prior=[0.5, 0.5],
        u=[[[0.0, 0.5], [0.0, 1.0]]],
        U=[[[0.0, 0.0], [1.0, 1.0]], [[1.0, 1.0], [0.0, 0.0]]],
        name="tie_demo",
    )


def test_provider_ties_follow_the_rule_or_the_deviator():
    """Under the users' rule provider 1 cannot win the user (it must offer more than OPT); if it
    won ties it would take her and steer her indifferent choice at y0 to a0."""
    m = tie_demo()
    silent = Profile.uniform("personalized", no_information(2), 2, 1)
    rule = verify(m, silent)
    assert rule.verified and rule.game.ties == "rule"
    np.testing.assert_allclose(rule.payoffs, [1.0, 0.0])
    deviator = verify(m, silent, ties="deviator")
    assert not deviator.verified
    assert deviator.regret[1] == pytest.approx(0.5, abs=1e-6)
    check = guarantee_a(rule, epsilon=wma(m)[0])
    assert check.holds and check.ties == "rule"  # she is at OPT: A holds, as argued for ties="rule"


def test_most_aligned_markets_have_verified_equilibria():
    """Exact ties (from clipping u to [0, 1]) can leave no verified equilibrium; they are rare."""
    found = 0
    for seed in range(10):
        m = aligned_construction(seed, n_states=2, n_actions=2, n_users=2, n_providers=2, noise=0.02).market
        found += bool(dynamics_solve(ProviderGame(m, "personalized"), starts=("full",), max_rounds=4).verified)
    assert found >= 8


# --------------------------------------------------------------------------- properties


def _same_verification(a, b):
    assert a.verified == b.verified
    np.testing.assert_allclose(a.utilities, b.utilities, atol=1e-9)
    np.testing.assert_allclose(a.payoffs, b.payoffs, atol=1e-9)
    np.testing.assert_allclose(a.regret, b.regret, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    n_states=st.integers(2, 3),
    n_actions=st.integers(2, 3),
    n_users=st.integers(1, 3),
    noise=st.sampled_from([0.0, 0.02, 0.1]),
    user_specific=st.booleans(),
    provider_tie=st.sampled_from(["lowest", "highest", "uniform"]),
    ties=st.sampled_from(["rule", "deviator"]),
)
def test_a_holds_on_every_verified_personalized_equilibrium(
    seed, n_states, n_actions, n_users, noise, user_specific, provider_tie, ties
):
    c = aligned_construction(seed, n_states=n_states, n_actions=n_actions, n_users=n_users, n_providers=2,
                             noise=noise, user_specific=user_specific)
    m = c.market
    eps, lam = wma(m)
    assert np.all(eps <= noise + 1e-7)  # the construction's bound
    game = ProviderGame(m, "personalized", rule=ResponseRule(provider_tie=provider_tie), ties=ties)
    searches = (  # (clipping can create exact action ties; then none may verify: see the test above)
        dynamics_solve(game, starts=("uninformative", "full", "random"), max_rounds=6, random_state=seed),
        enumerate_solve(game, max_equilibria=8),
    )
    for found in searches:
        for eq in found.verified:
            check = guarantee_a(eq.verification, epsilon=eps, weights=lam)
            assert check.applies and check.holds, check
            # best responses never fall below the current payoff, and bounds sit above them
            for br in eq.verification.best_responses:
                assert br.value >= br.current - 1e-12 and br.bound >= br.value - 1e-7
            # verification from scratch agrees with the solver's own
            again = ProviderGame(m, "personalized", rule=game.rule, ties=ties).verify(eq.profile)
            _same_verification(again, eq.verification)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    n_states=st.integers(2, 3),
    n_actions=st.integers(2, 3),
    n_users=st.integers(1, 3),
    noise=st.sampled_from([0.0, 0.01, 0.03]),
    provider_tie=st.sampled_from(["lowest", "highest", "uniform"]),
)
def test_c_holds_on_every_verified_anonymous_equilibrium(seed, n_states, n_actions, n_users, noise, provider_tie):
    c = aligned_construction(seed, n_states=n_states, n_actions=n_actions, n_users=n_users, n_providers=2,
                             noise=noise, common_weights=True, user_specific=True)
    m = c.market
    eps_s, lam = sma(m)
    assert eps_s <= noise + 1e-7
    game = ProviderGame(m, "anonymous", rule=ResponseRule(provider_tie=provider_tie), ties="deviator")
    searches = (  # the theorem's setting: deviations win ties
        dynamics_solve(game, starts=("uninformative", "full", "random"), max_rounds=6, random_state=seed),
        enumerate_solve(game, max_equilibria=8),
    )
    for found in searches:
        for eq in found.verified:
            check = guarantee_c(eq.verification, epsilon=eps_s, weights=lam)
            assert check.applies and check.holds and check.ties == "deviator", check
            again = game.replace().verify(eq.profile)
            _same_verification(again, eq.verification)
