"""The engine against an independent oracle (tests/oracle.py) on hundreds of seeded random and
tie-heavy markets: users' responses and payoffs, and the supremum of every best response, across
regimes, payoff modes, provider- and action-tie rules and ``ties`` settings. Every explicit
deviation is also played: the oracle's own response to the applied profile must pay its value.
"""

from __future__ import annotations

import numpy as np
import oracle
import pytest

from pluralign.analysis.game import ProviderGame
from pluralign.model.market import Market
from pluralign.model.schemes import Profile
from pluralign.model.users import ResponseRule

N_CASES = 800
KINDS = ("random", "grid", "duplicated users", "zero-prior state", "one action", "one state", "noisy observations",
         "nearly indifferent")


def make_market(rng: np.random.Generator, kind: str) -> Market:
    n_y = 1 if kind == "one state" else int(rng.integers(2, 4))
    n_a = 1 if kind == "one action" else int(rng.integers(2, 4))
    m = int(rng.integers(1, 4))
    k = int(rng.integers(1, 4))
    grid = kind in ("grid", "duplicated users") or rng.random() < 0.3
    draw = (lambda *s: rng.integers(0, 3, size=s) / 2) if grid else (lambda *s: rng.random(s))
    u = draw(m, n_a, n_y)
    if kind == "nearly indifferent":  # utility differences ~1e-4: the tie tolerance must scale with them
        u = 0.5 + 1e-4 * rng.random((m, n_a, n_y))
    if kind == "duplicated users" and m > 1:
        u[1] = u[0]
    U = draw(k, m, n_a, n_y)
    prior = rng.dirichlet(np.ones(n_y))
    if kind == "zero-prior state" and n_y > 1:
        prior[0] = 0.0
        prior /= prior.sum()
    observation = None
    if kind == "noisy observations":
        observation = rng.dirichlet(np.ones(int(rng.integers(2, 4))), size=n_y)
    p = rng.dirichlet(np.ones(m))
    return Market.from_arrays(prior=prior, observation=observation, u=u, U=U, p=p, name=f"oracle-{kind}")


def make_profile(rng: np.random.Generator, market: Market, regime: str) -> Profile:
    n_x, k, m = market.n_observations, market.n_providers, market.n_users
    shape = (k, m) if regime == "personalized" else (k,)
    style = rng.choice(["random", "partitions", "copies", "silent"])
    if style == "random":
        schemes = rng.dirichlet(np.full(n_x, 0.5), size=shape + (n_x,))
    else:
        labels = rng.integers(0, n_x, size=shape + (n_x,)) if style != "silent" else np.zeros(shape + (n_x,), int)
        schemes = np.eye(n_x)[labels]
        if style == "copies":  # every provider offers the same schemes: exact ties between providers
            schemes[:] = schemes[:1]
    return Profile(regime, schemes)


def draw_settings(rng: np.random.Generator) -> tuple[ResponseRule, str, str]:
    """A seeded rule (provider and action ties), payoff mode and ``ties`` setting."""
    rule = ResponseRule(provider_tie=str(rng.choice(["lowest", "highest", "uniform"])),
                        action_tie=str(rng.choice(["lowest", "highest", "recommended"])))
    return rule, str(rng.choice(["actions", "usage"])), str(rng.choice(["rule", "deviator"]))


def scheme_lists(market: Market, profile: Profile) -> list:
    sig = profile.per_user(market.n_users)
    return [[np.array(sig[i, j]) for j in range(market.n_users)] for i in range(market.n_providers)]


@pytest.mark.parametrize("chunk", range(8))
def test_engine_agrees_with_the_oracle(chunk):
    """For each seeded case: payoffs agree to 1e-9; the best response's bound equals the oracle's
    supremum to 1e-7 (and never falls below it); the value is attained when played."""
    for n in range(chunk, N_CASES, 8):
        rng = np.random.default_rng(10_000 + n)
        kind = KINDS[n % len(KINDS)]
        market = make_market(rng, kind)
        regime = "personalized" if n % 2 else "anonymous"
        rule, mode, ties = draw_settings(rng)
        game = ProviderGame(market, regime, rule=rule, mode=mode, ties=ties)
        profile = make_profile(rng, market, regime)
        label = f"case {n} ({kind}, {regime}, {rule.provider_tie}/{rule.action_tie}, {mode}, ties={ties})"
        arrays = (market.P, market.u, market.U, market.p)
        schemes = scheme_lists(market, profile)
        _, pay, shares = oracle.respond(*arrays, schemes, rule.provider_tie, rule.action_tie, rule.tol, mode)
        resp = game.respond(profile)
        np.testing.assert_allclose(resp.shares, shares, atol=1e-12, err_msg=label)
        np.testing.assert_allclose(game.payoffs(profile), pay, atol=1e-9, err_msg=label)
        i = int(rng.integers(market.n_providers))
        br = game.best_response(profile, i)
        sup = oracle.supremum(*arrays, schemes, i, rule.provider_tie, rule.action_tie, rule.tol, mode, ties, regime)
        assert br.bound >= sup - 1e-7, f"{label}: bound {br.bound} below the oracle's supremum {sup}"
        assert br.bound <= sup + 1e-7, f"{label}: bound {br.bound} above the oracle's supremum {sup}"
        assert br.current == pytest.approx(pay[i], abs=1e-9), label
        played = oracle.respond(*arrays, scheme_lists(market, br.apply(profile)), rule.provider_tie,
                                rule.action_tie, rule.tol, mode)[1][i]
        assert played == pytest.approx(br.value, abs=1e-9), label
        assert br.current - 1e-12 <= br.value <= br.bound + 1e-9, label
        if regime == "anonymous" and n % 4 == 0:  # the vertex-posterior MILP (docs/model.md §15): the same supremum
            vb = game.replace(method="vertices").best_response(profile, i)
            assert vb.bound == pytest.approx(sup, abs=1e-7), f"{label}: vertex bound {vb.bound}, oracle {sup}"
            assert vb.current - 1e-12 <= vb.value <= vb.bound + 1e-9, label


def test_the_oracle_catches_a_best_response_without_participation(monkeypatch):
    """Mutation check: a personalized best response whose LPs drop the participation constraint
    (so it 'attracts' users it cannot win) overstates its bound, and the oracle comparison fails."""
    from pluralign.analysis.responses import per_user

    real = per_user.PersuasionModels.solve_all

    def no_participation(self, provider, participation, obey_margin, *, relaxed=False):
        return real(self, provider, np.full_like(participation, -np.inf), obey_margin, relaxed=relaxed)

    monkeypatch.setattr(per_user.PersuasionModels, "solve_all", no_participation)
    caught = 0
    for n in range(1, 60, 2):  # personalized cases
        rng = np.random.default_rng(10_000 + n)
        market = make_market(rng, KINDS[n % len(KINDS)])
        rule = ResponseRule()
        game = ProviderGame(market, "personalized", rule=rule)
        profile = make_profile(rng, market, "personalized")
        i = int(rng.integers(market.n_providers))
        sup = oracle.supremum(market.P, market.u, market.U, market.p, scheme_lists(market, profile), i,
                              "lowest", "lowest", rule.tol, "actions", "rule", "personalized")
        caught += abs(game.best_response(profile, i).bound - sup) > 1e-7
    assert caught >= 3


@pytest.mark.parametrize("chunk", range(2))
def test_verification_agrees_with_the_oracle(chunk):
    """Every provider's certified regret (game.verify) equals the oracle's supremum minus its payoff."""
    for n in range(chunk, 160, 2):
        rng = np.random.default_rng(50_000 + n)
        market = make_market(rng, KINDS[n % len(KINDS)])
        regime = "personalized" if n % 4 < 2 else "anonymous"
        rule, mode, ties = draw_settings(rng)
        game = ProviderGame(market, regime, rule=rule, mode=mode, ties=ties)
        profile = make_profile(rng, market, regime)
        v = game.verify(profile)
        arrays = (market.P, market.u, market.U, market.p)
        schemes = scheme_lists(market, profile)
        _, pay, _ = oracle.respond(*arrays, schemes, rule.provider_tie, rule.action_tie, rule.tol, mode)
        for i in range(market.n_providers):
            sup = oracle.supremum(*arrays, schemes, i, rule.provider_tie, rule.action_tie, rule.tol, mode, ties, regime)
            assert v.regret[i] == pytest.approx(max(sup - pay[i], 0.0), abs=1e-7), f"case {n}, provider {i}"


def test_tie_heavy_three_provider_markets_enumerate_on_the_default_backend():
    """Issue 8: 3 states, 3 actions, 2 users, 3 providers with exact ties, personalized: the kept-alive
    HiGHS models must not stop enumeration (a solve they cannot settle is retried from scratch)."""
    for seed in range(6):
        rng = np.random.default_rng(seed)
        market = Market.from_arrays(prior=np.full(3, 1 / 3), u=rng.integers(0, 3, (2, 3, 3)) / 2,
                                    U=rng.integers(0, 3, (3, 2, 3, 3)) / 2)
        from pluralign.analysis.solvers.enumeration import enumerate_solve

        found = enumerate_solve(ProviderGame(market, "personalized"), max_equilibria=20)
        assert found.in_class_equilibria >= 1


@pytest.mark.parametrize("chunk", range(2))
def test_private_observations_agree_with_the_oracle(chunk):
    """Users with private observations, no menus: the oracle treats every kind (type, z) as a user
    with her conditional prior P(x, y | z) and mass p_j P(z), the kinds of one type sharing a
    scheme when personalized (everybody sharing one when anonymous)."""
    from pluralign.model.kinds import kinds_of

    for n in range(chunk, 120, 2):
        rng = np.random.default_rng(70_000 + n)
        n_y = int(rng.integers(2, 4))
        m_users = int(rng.integers(1, 3))
        grid = n % 3 == 0
        draw = (lambda *s, rng=rng: rng.integers(0, 3, size=s) / 2) if grid else (lambda *s, rng=rng: rng.random(s))
        market = Market.from_arrays(prior=rng.dirichlet(np.ones(n_y)), u=draw(m_users, 2, n_y),
                                    U=draw(2, m_users, 2, n_y), p=rng.dirichlet(np.ones(m_users)),
                                    private_observation=rng.dirichlet(np.ones(2), size=n_y))
        regime = "personalized" if n % 4 < 2 else "anonymous"
        rule, mode, ties = draw_settings(rng)
        game = ProviderGame(market, regime, rule=rule, mode=mode, ties=ties)
        profile = make_profile(rng, market, regime)
        kinds = kinds_of(market)
        sig = profile.per_user(market.n_users)
        schemes = [[np.array(sig[o, kinds.user[k]]) for k in range(kinds.n_kinds)] for o in range(2)]
        arrays = (kinds.P, kinds.u, kinds.U, kinds.mass)
        _, pay, _ = oracle.respond(*arrays, schemes, rule.provider_tie, rule.action_tie, rule.tol, mode)
        np.testing.assert_allclose(game.payoffs(profile), pay, atol=1e-9, err_msg=f"case {n}")
        groups = ([list(np.flatnonzero(kinds.user == j)) for j in range(market.n_users)] if regime == "personalized"
                  else [list(range(kinds.n_kinds))])
        i = int(rng.integers(2))
        sup = oracle.supremum(*arrays, schemes, i, rule.provider_tie, rule.action_tie, rule.tol, mode, ties, regime,
                              groups=groups)
        br = game.best_response(profile, i)
        assert br.bound == pytest.approx(sup, abs=1e-7), f"case {n} ({regime}, {rule}, {mode}, {ties})"
