"""Verified equilibria (docs/model.md §5, §9 B, §12): table-driven cases in pygambit's style,
then dynamics, enumeration, induced games, results.

Every :class:`EquilibriumCase` names a market, the game's settings, a solver, and what it
must find: the exact set of users' utilities over verified equilibria (each checked by
hand in the comment), and a regret tolerance. One shared test body runs them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

import pluralign as pa
from pluralign.analysis.game import ProviderGame
from pluralign.analysis.induced import pure_equilibria
from pluralign.analysis.limits import SizeError
from pluralign.analysis.responses.result import BestResponse
from pluralign.analysis.solvers.dynamics import dynamics_solve, seed_streams, start_profiles
from pluralign.analysis.solvers.enumeration import enumerate_solve
from pluralign.catalog import load, random_market
from pluralign.model.market import Market
from pluralign.model.schemes import Profile, full_revelation, no_information
from pluralign.model.users import ResponseRule

RECOMMENDED = ResponseRule(action_tie="recommended")
UNIFORM = ResponseRule(provider_tie="uniform")


def one_action_market() -> Market:
    """Two states, one action: nothing anyone says changes what the user does."""
    return Market.from_arrays(prior=[0.4, 0.6], u=[[[0.2, 0.9]], [[0.5, 0.5]]], U=[[[1.0, 0.0]], [[0.3, 0.7]]],
                              name="one_action")


def split_market() -> Market:
    """The uniform-tie counterexample: one user, three equally likely states,
    u(a0) = (1, 0, 1), u(a1) = (1, 1, 0); provider 0 wants a1, provider 1 wants a0."""
    return Market.from_arrays(
        prior=[1 / 3, 1 / 3, 1 / 3], u=[[[1, 0, 1], [1, 1, 0]]], U=[[[0, 0, 0], [1, 1, 1]], [[1, 1, 1], [0, 0, 0]]],
        providers=["wants_a1", "wants_a0"], name="split",
    )


@dataclass
class EquilibriumCase:
    """A market, the game's settings, a solver, and the users' utilities its verified equilibria must give."""

    name: str
    market: Callable[[], Market]
    regime: str
    solver: str  # "dynamics" | "enumerate"
    utilities: set[tuple[float, ...]]  # exactly the distinct utility vectors over verified equilibria
    settings: dict = field(default_factory=dict)
    solver_options: dict = field(default_factory=dict)
    regret_tol: float = 1e-6
    count: int | None = None  # number of verified equilibria, when known


CASES = [
    # §9 B: with anonymous policies every pair of partitions gives each provider ½ (the users value every
    # scheme alike and want opposite things): 4 verified equilibria, silent (½, ½) to informative (1, 1)
    EquilibriumCase("match/mismatch anonymous", lambda: load("match_mismatch"), "anonymous", "enumerate",
                    {(0.5, 0.5), (1.0, 1.0)}, count=4),
    # personalized: each provider informs "its" user, so both users get 1 in every equilibrium
    EquilibriumCase("match/mismatch personalized", lambda: load("match_mismatch"), "personalized", "enumerate",
                    {(1.0, 1.0)}),
    EquilibriumCase("match/mismatch personalized dynamics", lambda: load("match_mismatch"), "personalized",
                    "dynamics", {(1.0, 1.0)}),
    # a single user who can always be won by full revelation: the judge gets OPT = 1
    EquilibriumCase("prosecutor personalized", lambda: load("prosecutor"), "personalized", "enumerate", {(1.0,)}),
    EquilibriumCase("prosecutor anonymous", lambda: load("prosecutor"), "anonymous", "enumerate", {(1.0,)}),
    EquilibriumCase("prosecutor anonymous dynamics", lambda: load("prosecutor"), "anonymous", "dynamics", {(1.0,)},
                    solver_options={"starts": ("full",)}),
    # §12 biased pair: (FR, FR) is the only equilibrium in partitions; the user gets 1, providers 0.7 each
    EquilibriumCase("biased pair personalized", lambda: load("biased_pair"), "personalized", "enumerate", {(1.0,)},
                    count=1),
    EquilibriumCase("biased pair anonymous, uniform ties", lambda: load("biased_pair"), "anonymous", "enumerate",
                    {(1.0,)}, settings={"rule": UNIFORM}),
    # one action: every profile is an equilibrium (payoffs never move): 2 partitions per provider and
    # user, (2^2)^2 = 16 personalized profiles; 2^2 = 4 anonymous ones
    EquilibriumCase("one action personalized", one_action_market, "personalized", "enumerate", {(0.62, 0.5)},
                    count=16),
    EquilibriumCase("one action anonymous", one_action_market, "anonymous", "enumerate", {(0.62, 0.5)}, count=4),
    EquilibriumCase("one action dynamics", one_action_market, "anonymous", "dynamics", {(0.62, 0.5)}),
    # uniform ties, split market: full revelation by both is NOT an equilibrium (wants_a1 gains by pooling
    # y0, y1); its in-class equilibria are the profiles where both pool {y0, y1} (she takes a1 there: 1 = OPT)
    EquilibriumCase("split market, uniform ties", split_market, "personalized", "enumerate", {(1.0,)},
                    settings={"rule": UNIFORM}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_equilibrium_cases(case: EquilibriumCase):
    game = ProviderGame(case.market(), case.regime, **case.settings)
    solve = dynamics_solve if case.solver == "dynamics" else enumerate_solve
    options = {"random_state": 0, **case.solver_options} if case.solver == "dynamics" else case.solver_options
    found = solve(game, **options)
    assert found.verified, "at least one verified equilibrium"
    utilities = {tuple(np.round(e.utilities, 9).tolist()) for e in found.verified}
    assert utilities == case.utilities
    for eq in found.verified:
        assert eq.verification.max_regret <= case.regret_tol
        assert eq.verification.exact
        # payoffs recomputed independently of the game object
        resp = pa.respond(game.market, eq.profile, game.rule)
        np.testing.assert_allclose(pa.provider_payoffs(game.market, resp, game.mode), eq.payoffs, atol=1e-12)
    if case.count is not None:
        assert len(found.verified) == case.count


# --------------------------------------------------------------------------- hand-checked profiles


@dataclass
class ProfileCase:
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
PROFILE_CASES = [
    ProfileCase("prosecutor FR/FR", "prosecutor", "personalized", [FR, FR], True, [1.0], [0.3, 0.7], [0.0, 0.0]),
    # the judge consults the defence's full revelation; the prosecutor (index 0) wins ties, so it takes her
    # at value 1 too and ... it cannot gain: full revelation is its only way to offer 1. The defence (index 1)
    # is consulted at NI/FR; the prosecutor (NI) could win her with slightly less than 1? No: V_out = 1.
    ProfileCase("prosecutor NI/FR", "prosecutor", "personalized", [NI, FR], False, [1.0], [0.3, 0.7], [0.0, 0.3]),
    ProfileCase("prosecutor NI/NI", "prosecutor", "anonymous", [NI, NI], False, [0.7], [0.0, 1.0], [0.6, 0.0]),
    ProfileCase("biased pair FR/FR", "biased_pair", "personalized", [FR, FR], True, [1.0], [0.7, 0.7], [0.0, 0.0]),
    ProfileCase("biased pair FR/FR anon", "biased_pair", "anonymous", [FR, FR], True, [1.0], [0.7, 0.7], [0.0, 0.0]),
    # NI: the user takes a0 at her tie; biased_to_1 (0.2) deviates to its persuasion 0.8
    ProfileCase("biased pair NI/NI", "biased_pair", "personalized", [NI, NI], False, [0.5], [0.2, 0.8], [0.6, 0.0]),
    # NI/FR: the user consults biased_to_0's full revelation (0.7 each); biased_to_0 could keep her at
    # value ½ + margin and push a0: 0.8
    ProfileCase("biased pair NI/FR", "biased_pair", "personalized", [NI, FR], False, [1.0], [0.7, 0.7], [0.0, 0.1]),
    ProfileCase("match/mismatch FR/FR", "match_mismatch", "anonymous", [FR, FR], True, [1, 1], [0.5, 0.5], [0, 0]),
    ProfileCase("match/mismatch NI/NI (§9 B)", "match_mismatch", "anonymous", [NI, NI], True, [0.5, 0.5], [0.5, 0.5],
                [0, 0]),
    # personalized: each provider gains ½·(1 − ½) by informing "its" user alone
    ProfileCase("match/mismatch NI/NI pers.", "match_mismatch", "personalized", [NI, NI], False, [0.5, 0.5],
                [0.5, 0.5], [0.25, 0.25]),
]


@pytest.mark.parametrize("case", PROFILE_CASES, ids=[c.name for c in PROFILE_CASES])
def test_hand_checked_profiles(case: ProfileCase):
    m = load(case.market)
    if case.regime == "anonymous":
        prof = Profile.anonymous(case.schemes)
    else:
        prof = Profile.personalized([[s] * m.n_users for s in case.schemes])
    v = ProviderGame(m, case.regime).verify(prof)
    assert v.verified == case.verified
    np.testing.assert_allclose(v.utilities, case.utilities, atol=1e-9)
    np.testing.assert_allclose(v.payoffs, case.payoffs, atol=1e-9)
    np.testing.assert_allclose(v.regret, case.regret, atol=1e-5)


# --------------------------------------------------------------------------- uniform provider ties


def test_uniform_ties_refuse_the_false_certificate():
    """Issue 8: both providers fully revealing is not an equilibrium under uniform ties. She is split
    ½–½ and plays a1 only at y1 (a0 wins her tie at y0), so wants_a1 gets ⅓. No scheme offers her
    more than OPT = 1, so wants_a1 can at best keep the tie; pooling {y0, y1} (a1 there) gives ⅔
    from her own visits and ⅓ from the other half: ½ — the exact supremum, and attained."""
    m = split_market()
    game = ProviderGame(m, "personalized", rule=UNIFORM)
    v = game.verify(game.full_revelation())
    assert not v.verified
    np.testing.assert_allclose(v.shares[:, 0], [0.5, 0.5])
    assert v.consults(0) == "wants_a1 0.5, wants_a0 0.5"
    np.testing.assert_allclose(v.payoffs, [1 / 3, 2 / 3], atol=1e-12)
    br = v.best_responses[0]
    assert br.bound == pytest.approx(0.5, abs=1e-7) and br.value == pytest.approx(0.5, abs=1e-7)
    assert v.regret[0] == pytest.approx(1 / 6, abs=1e-7)
    # the pooling deviation, played: still a tie at value 1; she splits; wants_a1 gets ½(⅔) + ½(⅓) = ½
    pool = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert game.payoffs(game.full_revelation().with_policy(0, pool))[0] == pytest.approx(0.5)
    # under "lowest" she consults wants_a1 (index 0), which then gains ⅓ by pooling: ⅔
    low = ProviderGame(m, "personalized").verify(game.full_revelation())
    assert low.payoffs[0] == pytest.approx(1 / 3) and low.regret[0] == pytest.approx(1 / 3, abs=1e-7)
    # and the deviator-ties certificate (she follows whoever ties with the deviator) says ⅔ too
    dev = game.replace(ties="deviator").verify(game.full_revelation())
    assert dev.regret[0] == pytest.approx(1 / 3, abs=1e-7)


def test_uniform_ties_in_usage_mode_share_the_user():
    m = load("match_mismatch")
    game = ProviderGame(m, "anonymous", rule=UNIFORM, mode="usage")
    v = game.verify(game.uninformative())
    np.testing.assert_allclose(v.payoffs, [0.25, 0.25])  # each provider has half of each user, who earns ½
    assert not v.verified  # informing strictly wins both users: 0.5·1 + 0.5·0 = ½ > ¼


# --------------------------------------------------------------------------- dynamics


def test_dynamics_runs_are_recorded_and_reproducible():
    game = ProviderGame(load("forecast"), "personalized")
    a = dynamics_solve(game, n_random=2, random_state=3, max_rounds=5)
    b = dynamics_solve(game, n_random=2, random_state=3, max_rounds=5)
    assert [r.start for r in a.runs][:3] == ["uninformative", "each provider's favourite", "full revelation"]
    assert len(a.runs) == 5 and a.parameters["seed"] == 3
    assert [(r.status, r.rounds, r.moves) for r in a.runs] == [(r.status, r.rounds, r.moves) for r in b.runs]
    full = a.runs[2]
    assert full.status == "converged" and full.rounds == 1 and full.moves == 0
    assert all(r.status in ("converged", "cycle", "round cap") for r in a.runs)
    assert len(a.verified) >= 1


def test_random_state_streams():
    gens, seed = seed_streams(7, 2)
    again, _ = seed_streams(7, 2)
    assert seed == 7 and gens[0].integers(10**9) == again[0].integers(10**9)
    assert gens[0].integers(10**9) != gens[1].integers(10**9)
    _, drawn = seed_streams(None, 1)
    assert isinstance(drawn, int) and drawn >= 0  # fresh entropy, recorded
    _, label = seed_streams(np.random.default_rng(1), 2)
    assert label == "generator"
    with pytest.raises(ValueError, match="random_state"):
        seed_streams(-1, 1)
    game = ProviderGame(load("match_mismatch"), "personalized")
    r1 = dynamics_solve(game, starts=("random",), n_random=2, random_state=np.random.default_rng(5))
    r2 = dynamics_solve(game, starts=("random",), n_random=2, random_state=np.random.default_rng(5))
    assert [e.profile.key() for e in r1.equilibria] == [e.profile.key() for e in r2.equilibria]


@pytest.mark.parametrize("order", ["sequential", "random", "simultaneous"])
def test_dynamics_orders(order):
    game = ProviderGame(load("match_mismatch"), "personalized")
    found = dynamics_solve(game, order=order, starts=("uninformative",), random_state=1)
    assert found.runs[0].status == "converged"
    (eq,) = found.verified
    np.testing.assert_allclose(eq.utilities, [1.0, 1.0])
    assert order in eq.found_by


def test_dynamics_accepts_given_start_profiles():
    m = load("match_mismatch")
    start = Profile.uniform("anonymous", no_information(2), 2, 2)
    found = dynamics_solve(ProviderGame(m, "anonymous"), starts=[start])
    assert found.runs[0].start == "given profile 0" and found.runs[0].moves == 0
    assert found.verified[0].verification.utilities.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="profile is anonymous, the game is personalized"):
        dynamics_solve(ProviderGame(m, "personalized"), starts=[start])


def test_cycle_detection(monkeypatch):
    """A provider that flips between two schemes forever is caught as a 2-cycle."""
    game = ProviderGame(load("match_mismatch"), "anonymous")

    def fake(i, scheme, value, current):
        z = np.zeros(2)
        return BestResponse(i, "anonymous", "actions", "fake", True, scheme, value, value, current, z + value, z, z,
                            np.zeros(2), ResponseRule(), 0.0, "rule", 0, 0.0)

    def flipping(self, profile, provider, bound=True, keep_evidence=False):
        cur = profile.scheme(provider)
        if provider != 0:
            return fake(provider, cur, 0.0, 0.0)
        return fake(0, full_revelation(2) if cur.shape[1] == 1 else no_information(2), 1.0, 0.0)

    monkeypatch.setattr(ProviderGame, "best_response", flipping)
    found = dynamics_solve(game, starts=("uninformative",), max_rounds=10, verify_results=False)
    run = found.runs[0]
    assert run.status == "cycle" and run.cycle_length == 2 and run.rounds == 2


def test_start_profiles_favourite_is_best_response_to_silence():
    game = ProviderGame(load("prosecutor"), "personalized", rule=RECOMMENDED)
    ((label, prof),) = start_profiles(game, ["favourite"])
    np.testing.assert_allclose(prof.scheme(0, 0), [[4 / 7, 3 / 7], [0, 1]], atol=1e-7)
    with pytest.raises(ValueError, match="unknown start"):
        start_profiles(game, ["nonsense"])


def test_solvers_take_explicit_keywords_only():
    game = ProviderGame(load("prosecutor"), "personalized")
    with pytest.raises(TypeError):
        dynamics_solve(game, max_signalz=3)  # a typo is an error, not silently swallowed
    with pytest.raises(TypeError):
        enumerate_solve(game, method="heuristic")
    with pytest.raises(TypeError):
        ProviderGame(load("prosecutor"), "anonymous", max_signalz=3)
    with pytest.raises(TypeError):
        game.replace(max_signalz=3)
    with pytest.raises(ValueError, match="order"):
        dynamics_solve(game, order="chaotic")
    with pytest.raises(ValueError, match="max_rounds"):
        dynamics_solve(game, max_rounds=0)


def test_game_refuses_bad_settings_with_one_line():
    m = load("prosecutor")
    for kwargs, needle in [
        ({"regime": "public"}, "regime"), ({"mode": "profit"}, "mode"), ({"ties": "random"}, "ties"),
        ({"margin": float("nan")}, "margin"), ({"tol": -1.0}, "tol"), ({"backend": "gurobi"}, "backend"),
        ({"method": "magic"}, "method"), ({"max_kinds": 0}, "max_kinds"), ({"seed": -2}, "seed"),
    ]:
        args = {"regime": "personalized", **kwargs}
        with pytest.raises(ValueError, match=needle):
            ProviderGame(m, args.pop("regime"), **args)


# --------------------------------------------------------------------------- enumeration and games


def test_pure_equilibria_of_small_games():
    coordination = np.stack([np.eye(2), np.eye(2)], axis=-1)
    assert pure_equilibria(coordination) == [(0, 0), (1, 1)]
    pennies = np.stack([np.eye(2), 1 - np.eye(2)], axis=-1)
    assert pure_equilibria(pennies) == []
    pd = np.array([[[3, 3], [0, 5]], [[5, 0], [1, 1]]], dtype=float)
    assert pure_equilibria(pd) == [(1, 1)]


def test_induced_game_agrees_with_enumeration_and_profiles():
    game = ProviderGame(load("match_mismatch"), "personalized")
    g = game.induced_game()
    assert g.payoffs.shape == (4, 4, 2) and g.strategies[2] == (1, 0)
    found = enumerate_solve(game)
    index = {s: n for n, s in enumerate(g.strategies)}
    ours = sorted(tuple(index[p] for p in pol) for pol in found.listed_policies)
    assert ours == pure_equilibria(g.payoffs, 1e-9)
    prof = g.profile((2, 1))
    np.testing.assert_allclose(prof.scheme(0, 0), np.eye(2))


def test_induced_game_converters():
    g = ProviderGame(random_market(4, n_states=2, n_actions=2, n_users=1, n_providers=3), "anonymous").induced_game()
    arrays = g.payoff_arrays()
    assert len(arrays) == 3
    # QuantEcon layout: player i's array is indexed (own, i+1, ..., i-1)
    for i in range(3):
        for s in np.ndindex(*g.payoffs.shape[:-1]):
            own_first = tuple(s[(i + a) % 3] for a in range(3))
            assert arrays[i][own_first] == g.payoffs[s + (i,)]


def test_induced_game_splits_tied_users_under_uniform_ties():
    """Both providers silent in match/mismatch under uniform ties: each user is split ½–½, so in usage
    mode each provider earns half of each user's ½ = ¼ (the table matches respond)."""
    game = ProviderGame(load("match_mismatch"), "anonymous", rule=UNIFORM, mode="usage")
    g = game.induced_game()
    np.testing.assert_allclose(g.payoffs[0, 0], [0.25, 0.25])
    for s in np.ndindex(*g.payoffs.shape[:-1]):
        np.testing.assert_allclose(g.payoffs[s], game.payoffs(g.profile(s)), atol=1e-12)


def test_enumeration_size_guard():
    game = ProviderGame(random_market(0, n_states=6, n_actions=2, n_users=1, n_providers=3), "anonymous")
    with pytest.raises(SizeError, match="max_profiles"):
        enumerate_solve(game, max_profiles=1000)


def test_recommendation_class_and_usage_mode():
    game = ProviderGame(load("prosecutor"), "personalized", mode="usage", rule=RECOMMENDED)
    found = enumerate_solve(game, policy_class="recommendations")
    assert found.class_size == 4 and found.policy_class == "recommendations"
    for eq in found.verified:
        assert eq.verification.game.mode == "usage"


def test_single_action_markets_solve_in_both_regimes():
    m = one_action_market()
    for regime in ("personalized", "anonymous"):
        game = ProviderGame(m, regime)
        br = game.best_response(game.uninformative(), 0)
        assert br.regret_bound == pytest.approx(0.0, abs=1e-9)
        found = dynamics_solve(game, random_state=0)
        assert found.verified and all(r.status == "converged" for r in found.runs)


def test_results_serialize_and_read_well():
    found = enumerate_solve(ProviderGame(load("match_mismatch"), "anonymous"))
    d = found.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["regime"] == "anonymous" and d["verified"] == 4
    assert d["info"]["listed_policies"][0] == [0, 0]  # (no information, no information)
    eq = d["equilibria"][0]
    assert set(eq["users"]["matcher"]) >= {"utility", "opt", "gap", "provider", "shares"}
    assert set(eq["providers"]["match_ai"]) >= {"payoff", "regret"}
    assert eq["policies"]["match_ai"]["summary"] == "no information"
    assert "verified of 4" in repr(found) and "Equilibrium(verified" in repr(found[0])
    assert "Verification(anonymous, verified" in repr(found[0].verification)
    assert len(list(found)) == len(found) == 4
    assert found.in_class_equilibria == 4 and found.listed_policies[0] == ((0,), (0,))
    for html in (found._repr_html_(), found[0].verification._repr_html_(), found.game._repr_html_()):
        assert html.startswith("<table>")


def test_verify_exact_attaches_a_certificate_that_the_checker_proves():
    game = ProviderGame(load("match_mismatch"), "anonymous")
    v = game.verify(game.uninformative(), exact=True)
    assert v.verified and v.proven and v.certificate.check().proven
    assert [float(r) for r in v.certificate.regrets] == [0.0, 0.0]
    plain = game.verify(game.uninformative())
    assert plain.certificate is None and not plain.proven


def test_an_lp_highs_cannot_settle_does_not_stop_the_dynamics():
    """An attracted-set LP of this aligned market (participation a hair above what is reachable)
    leaves HiGHS 'unknown' with and without presolve and scipy 'error' at tolerance 1e-9:
    solve_robust retries at HiGHS's default tolerance (a relaxation), and dynamics go on."""
    from pluralign.catalog import aligned_construction

    m = aligned_construction(0, n_states=3, n_actions=3, n_users=3, n_providers=2, noise=0.3, user_specific=True).market
    found = dynamics_solve(ProviderGame(m, "anonymous", rule=RECOMMENDED), random_state=0, max_rounds=10)
    assert found.runs
