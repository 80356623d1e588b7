"""The game among providers: one object that carries every setting (docs/model.md §5, §8).

A :class:`ProviderGame` fixes a market, a regime and how ties, payoffs and tolerances are
treated. It answers the questions every solver asks:

* ``respond(profile)`` and ``payoffs(profile)`` — users' response and Π_i (docs/model.md §4, §2);
* ``best_response(profile, i)`` — provider i's exact best response (:class:`BestResponse`:
  the supremum ``bound``, the ``value`` an explicit deviation attains under the users'
  rule, and the deviation itself), by a **strategy** the game picks:

  ====================  ==============================================================
  strategy              when
  ====================  ==============================================================
  per-user LPs          personalized, one kind per user and one item each (:mod:`.responses.per_user`)
  attracted sets        otherwise, within the size guard (:mod:`.responses.attracted_sets`):
                        anonymous regime, users with private observations, menus
  vertex posteriors     anonymous without menus, many kinds and few observations
                        (:mod:`.responses.vertices`: a MILP over attracted sets, docs/model.md §15)
  heuristic             beyond the guards, labelled, certifies nothing
  ====================  ==============================================================

With ``menus=True`` a provider's policy offers one scheme per *report* (docs/model.md §14):
per private observation when personalized, per type and private observation when
anonymous; users choose provider and report.

* ``verify(profile)`` — every provider's certified regret (:class:`Verification`);
* ``induced_game(policy_class)`` — the finite game on a policy class (:mod:`.induced`).

Solvers (:mod:`pluralign.analysis.solvers`) are functions of a game with explicit keywords;
none of them re-reads a setting or branches on the regime.

>>> from pluralign.catalog import load
>>> game = ProviderGame(load("match_mismatch"), "anonymous")
>>> v = game.verify(game.uninformative())
>>> v.verified, v.utilities.tolist()          # docs/model.md §9 B: an uninformative equilibrium
(True, [0.5, 0.5])
>>> personal = ProviderGame(load("match_mismatch"), "personalized")
>>> personal.verify(personal.uninformative()).verified   # each provider informs "its" user
False
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from pluralign.analysis.benchmarks import opt
from pluralign.analysis.certificates import NoExactCertificate, certify
from pluralign.analysis.deviations import MODES, TIES, DeviationProblem, Mode, Ties, deviation_problem
from pluralign.analysis.induced import InducedGame, induced_game
from pluralign.analysis.limits import MAX_KINDS, MAX_PROFILES, MAX_SIGNALS, SizeError, check_size
from pluralign.analysis.policies import PolicyClass, describe_scheme
from pluralign.analysis.responses.attracted_sets import attracted_set_response
from pluralign.analysis.responses.heuristic import heuristic_response
from pluralign.analysis.responses.per_user import BACKENDS, Backend, PersuasionModels, per_user_response
from pluralign.analysis.responses.result import BestResponse
from pluralign.analysis.responses.vertices import vertex_response
from pluralign.html import table
from pluralign.model.kinds import Layout, kinds_of, layout_of
from pluralign.model.market import Market
from pluralign.model.schemes import Profile, Regime, full_revelation, no_information
from pluralign.model.users import Response, ResponseRule, provider_payoffs, respond

__all__ = ["ProviderGame", "Verification", "best_response", "verify", "DEFAULT_TOL", "DEFAULT_MARGIN", "METHODS"]

DEFAULT_TOL = 1e-6
DEFAULT_MARGIN = 1e-6
Method = Literal["auto", "exact", "vertices", "heuristic"]
METHODS = ("auto", "exact", "vertices", "heuristic")
#: ``method="auto"``: vertex posteriors for anonymous games with at least this many distinct
#: kinds and at most ``VERTEX_OBSERVATIONS`` observations (measured: ``benchmarks/equilibria.py``).
VERTEX_KINDS = 5
VERTEX_OBSERVATIONS = 4


@dataclass(frozen=True, eq=False)
class ProviderGame:
    """Providers competing for users in ``market`` under ``regime`` (module docstring).

    * ``menus``: policies are menus, one scheme per report (docs/model.md §14);
    * ``mode``: providers earn from every user's action (``"actions"``) or only from their
      own users (``"usage"``), docs/model.md §2;
    * ``rule``: how users break ties (:class:`~pluralign.model.users.ResponseRule`);
    * ``ties``: the certificate's provider ties — ``"rule"`` (the users' rule) or
      ``"deviator"`` (won by the deviator, the setting of the proofs of docs/model.md §9);
    * ``margin``: the strict margin (relative to each user's utility range) of explicit deviations;
    * ``tol``: a profile is verified when every provider's certified regret is at most ``tol``;
    * ``backend``: the LP backend of per-user LPs (``"highs"`` kept-alive and warm-started,
      ``"highs-per-user"``, ``"highs-fresh"``, ``"scipy"``);
    * ``method``: best responses with one scheme for several kinds — ``"exact"`` (attracted
      sets; a :class:`~pluralign.analysis.limits.SizeError` beyond ``max_kinds``/``max_signals``),
      ``"vertices"`` (vertex posteriors and a MILP: anonymous games without menus),
      ``"heuristic"`` (labelled, certifies nothing) or ``"auto"`` (vertex posteriors for many
      kinds and few observations, else attracted sets within the guard, else vertex posteriors
      when they apply, else the heuristic);
    * ``max_attempts``: strict LPs tried for the attained anonymous deviation;
    * ``max_partitions``, ``seed``: the heuristic's sample of partitions of X;
    * ``aggregate``: merge user kinds that are identical in everything (utilities, beliefs,
      providers' utilities, outside options) before enumerating attracted sets (exact).

    The game is frozen: :meth:`replace` returns a game with other settings.
    """

    market: Market
    regime: Regime
    menus: bool = False
    mode: Mode = "actions"
    rule: ResponseRule = field(default_factory=ResponseRule)
    ties: Ties = "rule"
    margin: float = DEFAULT_MARGIN
    tol: float = DEFAULT_TOL
    backend: Backend = "highs"
    method: Method = "auto"
    max_kinds: int = MAX_KINDS
    max_signals: int = MAX_SIGNALS
    max_attempts: int = 8
    max_partitions: int = 2000
    seed: int = 0
    aggregate: bool = True
    _models: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.market, Market):
            raise TypeError(f"market must be a Market, got {type(self.market).__name__}")
        if self.regime not in ("personalized", "anonymous"):
            raise ValueError(f"regime must be 'personalized' or 'anonymous', got {self.regime!r}")
        if not isinstance(self.menus, (bool, np.bool_)):
            raise TypeError(f"menus must be True or False, got {self.menus!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be 'actions' or 'usage', got {self.mode!r}")
        if self.ties not in TIES:
            raise ValueError(f"ties must be 'rule' or 'deviator', got {self.ties!r}")
        if not isinstance(self.rule, ResponseRule):
            raise TypeError(f"rule must be a ResponseRule, got {type(self.rule).__name__}")
        if self.rule.quantal_beta is not None:
            raise ValueError(
                "a ProviderGame needs best-responding users (its best responses use obedience); "
                f"quantal_beta={self.rule.quantal_beta} is not supported — use pluralign.respond for quantal users"
            )
        for name, lo, hi in (("margin", 0.0, 0.1), ("tol", 0.0, 1.0)):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and lo <= value <= hi):
                raise ValueError(f"{name} must be a number in [{lo:g}, {hi:g}], got {value!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {self.backend!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}")
        for name in ("max_kinds", "max_signals", "max_attempts", "max_partitions"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.seed, (int, np.integer)) and self.seed >= 0):
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    # ------------------------------------------------------------------ settings
    def replace(self, **changes) -> ProviderGame:
        """The same game with other settings (unknown names are a ``TypeError``)."""
        return dataclasses.replace(self, **changes)

    def settings(self) -> dict:
        """Every setting as plain data (recorded in results)."""
        return {
            "regime": self.regime,
            "menus": bool(self.menus),
            "mode": self.mode,
            "tie_rule": self.rule.describe(),
            "ties": self.ties,
            "margin": self.margin,
            "tol": self.tol,
            "backend": self.backend,
            "method": self.method,
            "max_kinds": self.max_kinds,
            "max_signals": self.max_signals,
        }

    # ------------------------------------------------------------------ profiles
    def layout(self) -> Layout:
        """Which items of a provider's policy each user kind can use (:mod:`pluralign.model.kinds`)."""
        lay = self._models.get("layout")
        if lay is None:
            lay = self._models["layout"] = layout_of(self.market, self.regime, self.menus)
        return lay

    def uniform_profile(self, scheme) -> Profile:
        """Every provider plays ``scheme`` for every item."""
        m = self.market
        return Profile.uniform(self.regime, scheme, m.n_providers, m.n_users, menus=self.menus, n_private=m.n_private)

    def uninformative(self) -> Profile:
        """Every provider says nothing."""
        return self.uniform_profile(no_information(self.market.n_observations))

    def full_revelation(self) -> Profile:
        """Every provider reveals its observation."""
        return self.uniform_profile(full_revelation(self.market.n_observations))

    def groups(self) -> tuple[np.ndarray, ...]:
        """The sets of user types a provider's policy serves together: every type alone
        (personalized) or all types together (anonymous). A provider's payoff is a sum over
        groups, and a group's payoff depends only on its own items."""
        users = np.arange(self.market.n_users)
        return tuple(users[[j]] for j in users) if self.regime == "personalized" else (users,)

    def profile_from_items(self, items) -> Profile:
        """The profile in which provider i's items are ``items[i]`` (``[i, Q, x, s]``, item order of :meth:`layout`)."""
        items = np.asarray(items, dtype=float)
        shape = self.uniform_profile(no_information(self.market.n_observations)).item_shape
        return self.check_profile(Profile(self.regime, items.reshape(items.shape[:1] + shape + items.shape[-2:]),
                                          self.menus))

    def random_profile(self, rng: np.random.Generator, n_signals: int | None = None) -> Profile:
        """A random profile: every scheme's rows Dirichlet(½) over ``n_signals`` signals (default |X|)."""
        m = self.market
        n_s = m.n_observations if n_signals is None else n_signals
        shape = (m.n_providers,) + self.uninformative().item_shape
        return Profile(self.regime, rng.dirichlet(np.full(n_s, 0.5), size=shape + (m.n_observations,)), self.menus)

    def check_profile(self, profile: Profile) -> Profile:
        """``profile`` if it fits this game, else a ``ValueError`` saying what does not."""
        m = self.market
        if not isinstance(profile, Profile):
            raise TypeError(f"expected a Profile, got {type(profile).__name__}")
        if profile.regime != self.regime:
            raise ValueError(f"profile is {profile.regime}, the game is {self.regime}")
        if bool(profile.menus) != bool(self.menus):
            raise ValueError(f"profile {'has' if profile.menus else 'has no'} menus, the game {'has' if self.menus else 'has none'}")
        if profile.n_providers != m.n_providers:
            raise ValueError(f"profile has {profile.n_providers} providers, the market has {m.n_providers}")
        if profile.schemes.shape[-2] != m.n_observations:
            raise ValueError(f"profile schemes have {profile.schemes.shape[-2]} rows, the market has {m.n_observations} observations")
        if profile.n_items != self.layout().n_items:
            raise ValueError(f"profile has {profile.n_items} items per provider, the game needs {self.layout().n_items}")
        return profile

    # ------------------------------------------------------------------ users and payoffs
    def respond(self, profile: Profile) -> Response:
        """Users' response (docs/model.md §4)."""
        return respond(self.market, self.check_profile(profile), self.rule)

    def payoffs(self, profile: Profile) -> np.ndarray:
        """``Π[i]`` under the users' rule and the game's payoff mode."""
        return provider_payoffs(self.market, self.respond(profile), self.mode)

    # ------------------------------------------------------------------ best responses
    def deviation_problem(self, profile: Profile, provider: int) -> DeviationProblem:
        """What ``provider`` faces at ``profile`` (outside options, thresholds; :mod:`.deviations`)."""
        self.check_profile(profile)
        if not (isinstance(provider, (int, np.integer)) and 0 <= provider < self.market.n_providers):
            raise ValueError(f"provider must be in 0..{self.market.n_providers - 1}, got {provider!r}")
        return deviation_problem(
            self.market, profile, int(provider), rule=self.rule, mode=self.mode, ties=self.ties, margin=self.margin
        )

    def strategy(self) -> str:
        """The best-response strategy the game uses: ``"per-user"``, ``"attracted-sets"``,
        ``"vertices"`` or ``"heuristic"``."""
        if self.regime == "personalized" and kinds_of(self.market).trivial and self.layout().single:
            return "per-user"
        vertices_apply = self.regime == "anonymous" and self.layout().single
        if self.method == "heuristic":
            return "heuristic"
        if self.method == "vertices":
            if not vertices_apply:
                raise ValueError("method='vertices' needs an anonymous game without menus (one public scheme)")
            return "vertices"
        if (self.method == "auto" and vertices_apply and self.market.n_observations <= VERTEX_OBSERVATIONS
                and self._distinct_kinds() >= VERTEX_KINDS):
            return "vertices"
        try:
            self._check_size()
        except SizeError:
            if self.method == "exact":
                raise
            return "vertices" if vertices_apply and self.market.n_observations <= 2 * VERTEX_OBSERVATIONS else "heuristic"
        return "attracted-sets"

    def _kind_classes(self) -> np.ndarray:
        """Per kind, the first kind identical to it in beliefs, utility and providers' utilities
        (itself when ``aggregate`` is off); outside options follow from these."""
        kinds = kinds_of(self.market)
        if not self.aggregate:
            return np.arange(kinds.n_kinds)
        first: dict[bytes, int] = {}
        return np.array([first.setdefault(kinds.P[k].tobytes() + kinds.u[k].tobytes() + kinds.U[:, k].tobytes(), k)
                         for k in range(kinds.n_kinds)])

    def _distinct_kinds(self) -> int:
        return int(np.unique(self._kind_classes()).size)

    def _check_size(self) -> None:
        """The exact strategy's size guard on the largest group of kinds (a ``SizeError`` beyond it),
        counting identical kinds once when ``aggregate``."""
        lay = self.layout()
        classes = self._kind_classes()
        largest = max(np.unique(classes[np.isin(lay.truthful, np.flatnonzero(lay.group == g))]).size
                      for g in np.unique(lay.group))
        if self.menus and not lay.single:
            if largest > self.max_kinds:
                raise SizeError(
                    f"the exact best response with menus enumerates up to 2^{largest} attracted sets of user kinds "
                    f"(limit max_kinds={self.max_kinds}); merge similar user types, raise the limit, or use "
                    "method='heuristic' (not certified)"
                )
        else:
            check_size(largest, self.market.n_actions, self.max_kinds, self.max_signals)

    def best_response(self, profile: Profile, provider: int, *, bound: bool = True, keep_evidence: bool = False) -> BestResponse:
        """Provider ``provider``'s best response to the others' policies in ``profile``.

        ``bound=False`` skips the supremum (``bound`` is NaN), e.g. inside dynamics;
        ``keep_evidence`` keeps the bound's LPs (attracted sets) for certificates.
        """
        problem = self.deviation_problem(profile, provider)
        strategy = self.strategy()
        models = self._persuasion_models() if kinds_of(self.market).trivial else None
        if strategy == "per-user":
            return per_user_response(problem, models, bound=bound)
        if strategy == "vertices":
            return vertex_response(problem, bound=bound, aggregate=self.aggregate)
        if strategy == "attracted-sets":
            return attracted_set_response(
                problem, models=models, bound=bound, max_kinds=self.max_kinds,
                max_signals=self.max_signals, max_attempts=self.max_attempts, keep_evidence=keep_evidence,
                aggregate=self.aggregate,
            )
        note = ""
        if self.method == "auto":
            try:
                self._check_size()
            except SizeError as exc:
                note = str(exc)
        return heuristic_response(
            problem, models=models, max_partitions=self.max_partitions, max_signals=self.max_signals,
            seed=self.seed, note=note,
        )

    def _persuasion_models(self) -> PersuasionModels:
        models = self._models.get("persuasion")
        if models is None:
            backend = self.backend if self.regime == "personalized" else "highs"
            models = self._models["persuasion"] = PersuasionModels(self.market, backend)
        return models

    # ------------------------------------------------------------------ verification
    def verify(self, profile: Profile, *, exact: bool = False) -> Verification:
        """Check ``profile`` from scratch: users' response, payoffs, and every provider's exact best response.

        ``exact=True`` also builds an exact rational certificate (:func:`pluralign.analysis.certificates.certify`,
        checked by ``pluralign check`` without a solver) and attaches it as ``certificate``; where
        none exists, ``certificate`` is None and ``certificate_note`` says why.
        """
        started = time.perf_counter()
        resp = self.respond(profile)
        payoffs = provider_payoffs(self.market, resp, self.mode)
        brs = tuple(self.best_response(profile, i) for i in range(self.market.n_providers))
        bounds = np.array([br.bound for br in brs])
        values = np.array([br.value for br in brs])
        certificate, note = None, ""
        if exact:
            try:
                certificate = certify(self, profile)
            except NoExactCertificate as exc:
                note = str(exc)
        return Verification(
            game=self,
            profile=profile,
            response=resp,
            payoffs=payoffs,
            regret=np.maximum(bounds - payoffs, 0.0),
            regret_attained=np.maximum(values - payoffs, 0.0),
            opt=opt(self.market),
            best_responses=brs,
            seconds=time.perf_counter() - started,
            certificate=certificate,
            certificate_note=note,
        )

    # ------------------------------------------------------------------ finite games
    def induced_game(self, policy_class: PolicyClass = "partitions", *, max_profiles: int = MAX_PROFILES) -> InducedGame:
        """The normal-form game in which every scheme is in ``policy_class`` (:mod:`.induced`)."""
        return induced_game(
            self.market, self.regime, menus=self.menus, policy_class=policy_class, rule=self.rule, mode=self.mode,
            max_profiles=max_profiles,
        )

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        r = self.rule
        return (
            f"ProviderGame({self.market.name!r}, {self.regime}, mode {self.mode}, ties {self.ties}, "
            f"provider_tie {r.provider_tie}, action_tie {r.action_tie}, tol {self.tol:g})"
        )

    def _repr_html_(self) -> str:
        rows = [(k, v if not isinstance(v, dict) else ", ".join(f"{a}={b}" for a, b in v.items()))
                for k, v in self.settings().items()]
        return table(f"ProviderGame on {self.market.name}", ("setting", "value"), rows)


@dataclass(frozen=True, eq=False)
class Verification:
    """A profile checked from scratch: payoffs, certified regrets, users' utilities and gaps.

    ``regret[i]`` is the certified regret (the best response's supremum minus the payoff),
    ``regret_attained[i]`` what the best explicit deviation gains under the users' rule.
    ``certificate`` (with ``verify(..., exact=True)``): the exact rational certificate, or None
    with the reason in ``certificate_note``.
    ``exact`` is False when some best response was the heuristic (its regret is then still
    an upper bound, possibly loose). ``verified``: every certified regret is at most the
    game's ``tol``.
    """

    game: ProviderGame
    profile: Profile
    response: Response
    payoffs: np.ndarray
    regret: np.ndarray
    regret_attained: np.ndarray
    opt: np.ndarray
    best_responses: tuple[BestResponse, ...]
    seconds: float
    certificate: object | None = None
    certificate_note: str = ""

    @property
    def proven(self) -> bool:
        """An exact certificate proves the equilibrium (only with ``verify(..., exact=True)``)."""
        return self.certificate is not None and bool(self.certificate.proven)

    @property
    def market(self) -> Market:
        return self.game.market

    @property
    def regime(self) -> str:
        return self.game.regime

    @property
    def tol(self) -> float:
        return self.game.tol

    @property
    def utilities(self) -> np.ndarray:
        return self.response.utility

    @property
    def shares(self) -> np.ndarray:
        """``shares[i, j]``: probability that user j consults provider i."""
        return self.response.shares

    @property
    def gap(self) -> np.ndarray:
        """``OPT_j − E[u_j]`` per user."""
        return self.opt - self.utilities

    @property
    def exact(self) -> bool:
        return all(br.exact for br in self.best_responses)

    @property
    def max_regret(self) -> float:
        return float(np.max(self.regret))

    @property
    def verified(self) -> bool:
        """Every provider's certified regret is at most ``tol``."""
        return self.max_regret <= self.tol

    def consults(self, user: int) -> str:
        """The provider(s) user ``user`` consults, e.g. ``"match_ai"`` or ``"a 0.5, b 0.5"`` when split."""
        names = self.market.providers
        share = self.shares[:, user]
        used = np.flatnonzero(share > 0)
        if used.size == 1:
            return names[int(used[0])]
        return ", ".join(f"{names[int(i)]} {share[i]:.3g}" for i in used)

    def to_dict(self) -> dict:
        m = self.market
        return {
            "verified": self.verified,
            "exact": self.exact,
            "tol": self.tol,
            "max_regret": self.max_regret,
            "users": {
                name: {
                    "utility": float(self.utilities[j]),
                    "opt": float(self.opt[j]),
                    "gap": float(self.gap[j]),
                    "provider": self.consults(j),
                    "shares": {m.providers[i]: float(s) for i, s in enumerate(self.shares[:, j]) if s > 0},
                }
                for j, name in enumerate(m.users)
            },
            "providers": {
                name: {
                    "payoff": float(self.payoffs[i]),
                    "regret": float(self.regret[i]),
                    "regret_attained": float(self.regret_attained[i]),
                    "best_response": self.best_responses[i].method,
                }
                for i, name in enumerate(m.providers)
            },
            "policies": policies_dict(m, self.profile),
            "tie_rule": self.game.rule.describe(),
            "ties": self.game.ties,
            "mode": self.game.mode,
            "margin": self.game.margin,
            "seconds": self.seconds,
        }

    def _repr_html_(self) -> str:
        m = self.market
        state = "verified" if self.verified else "NOT verified"
        users = table(
            f"{m.name}, {self.regime}: {state} (max regret {self.max_regret:.3g}, tol {self.tol:g})",
            ("user", "utility", "OPT", "gap", "consults"),
            [(u, self.utilities[j], self.opt[j], self.gap[j], self.consults(j)) for j, u in enumerate(m.users)],
        )
        provs = table(
            "providers", ("provider", "payoff", "regret (certified)", "regret (attained)"),
            [(p, self.payoffs[i], self.regret[i], self.regret_attained[i]) for i, p in enumerate(m.providers)],
        )
        return users + provs

    def __repr__(self) -> str:
        state = "verified" if self.verified else "NOT verified"
        return (
            f"Verification({self.regime}, {state}: max regret {self.max_regret:.3g} (tol {self.tol:g}), "
            f"utilities {np.round(self.utilities, 6).tolist()}, payoffs {np.round(self.payoffs, 6).tolist()})"
        )


def policies_dict(market: Market, profile: Profile) -> dict:
    """Schemes as plain data, ``{"summary", "scheme": {x: {signal: prob}}}`` per item:
    ``{provider: {user: item}}`` (personalized), ``{provider: item}`` (anonymous); with menus one
    item per report: ``{provider: {user: {z: item}}}`` or ``{provider: {"user/z": item}}``."""

    def one(sigma: np.ndarray) -> dict:
        return {
            "summary": describe_scheme(market, sigma),
            "scheme": {
                x: {f"s{k}": float(v) for k, v in enumerate(sigma[kx]) if v > 1e-12}
                for kx, x in enumerate(market.observations)
            },
        }

    reports = market.private_signals or ("report",)
    out = {}
    for i, name in enumerate(market.providers):
        if profile.regime == "personalized" and profile.menus:
            out[name] = {user: {z: one(profile.scheme(i, j, r)) for r, z in enumerate(reports)}
                         for j, user in enumerate(market.users)}
        elif profile.regime == "personalized":
            out[name] = {user: one(profile.scheme(i, j)) for j, user in enumerate(market.users)}
        elif profile.menus:
            labels = [f"{u}/{z}" if market.has_private else u for u in market.users for z in reports]
            out[name] = {label: one(profile.scheme(i, report=q)) for q, label in enumerate(labels)}
        else:
            out[name] = one(profile.scheme(i))
    return out


def best_response(game: ProviderGame, profile: Profile, provider: int, *, bound: bool = True) -> BestResponse:
    """``game.best_response(profile, provider, bound=bound)``."""
    return game.best_response(profile, provider, bound=bound)


def verify(game: ProviderGame, profile: Profile, *, exact: bool = False) -> Verification:
    """``game.verify(profile, exact=exact)``."""
    return game.verify(profile, exact=exact)
