"""How users respond to schemes (docs/model.md §4), vectorized over users and signals.

For a scheme ``sigma[x, s]`` the joint weight of signal s and state y is
``W[s, y] = Σ_x P[x, y] sigma[x, s]``; the posterior is ``W[s, ·] / P(s)``.
User j's value of the scheme is

    V_j(sigma) = Σ_s max_a Σ_y W[s, y] u_j(a, y).

A user picks the provider whose scheme has the highest value for her, then acts
Bayes-optimally on its signal (or by quantal response, P(a | s) ∝ exp(β E[u_j(a,·) | s])).
Ties are broken by an explicit :class:`ResponseRule`, recorded in every result.

>>> import numpy as np
>>> P = np.diag([0.5, 0.5]); u = np.array([[[1., 0.], [0., 1.]]])
>>> scheme_values(P, u, np.eye(2)[None]).round(3).tolist()     # full revelation
[1.0]
>>> scheme_values(P, u, np.ones((1, 2, 1))).round(3).tolist()  # no information
[0.5]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from pluralign.model.kinds import kinds_of, layout_of
from pluralign.model.market import Market
from pluralign.model.schemes import Profile

__all__ = [
    "ResponseRule",
    "DEFAULT_RULE",
    "utility_scales",
    "unit_utilities",
    "tolerances",
    "tied_providers",
    "Response",
    "signal_weights",
    "posteriors",
    "scheme_values",
    "action_probabilities",
    "outcomes",
    "respond",
    "provider_payoffs",
    "choose_providers",
    "provider_shares",
    "KindResponse",
    "kind_response",
    "choose_items",
]

ProviderTie = Literal["lowest", "highest", "uniform"]
ActionTie = Literal["lowest", "highest", "recommended"]


@dataclass(frozen=True)
class ResponseRule:
    """How users break ties and choose actions [docs/model.md §4].

    * ``provider_tie``: among providers whose value is within the tolerance of the best,
      take the ``"lowest"`` (default) or ``"highest"`` index, or split ``"uniform"``-ly
      between them (her outcome is the average of the tied providers' outcomes;
      docs/model.md §12's best-AI selection numbers use this rule).
    * ``action_tie``: among actions whose posterior expected utility is within the
      tolerance of the best, take the ``"lowest"`` (default) or ``"highest"`` index, or
      ``"recommended"``: the action named by the signal (signal s = action s) when it
      is among the best, else the lowest. ``"recommended"`` is the sender-preferred
      rule under which persuasion LPs' optima are attained.
    * ``tol``: the tie tolerance, **relative to the user's utility range**: user j treats
      values (and posterior expected utilities) within ``tol · (max u_j − min u_j)`` as
      equal (:func:`tolerances`), so rescaling a user's utility never changes what she does.
    * ``quantal_beta``: if set, users act by quantal response with this β instead of
      best-responding (provider choice still maximizes V_j).
    """

    provider_tie: ProviderTie = "lowest"
    action_tie: ActionTie = "lowest"
    tol: float = 1e-9
    quantal_beta: float | None = None

    def __post_init__(self) -> None:
        if self.provider_tie not in ("lowest", "highest", "uniform"):
            raise ValueError(f"provider_tie must be 'lowest', 'highest' or 'uniform', got {self.provider_tie!r}")
        if self.action_tie not in ("lowest", "highest", "recommended"):
            raise ValueError(f"action_tie must be 'lowest', 'highest' or 'recommended', got {self.action_tie!r}")
        if not (isinstance(self.tol, (int, float)) and 0 <= self.tol <= 0.1):
            raise ValueError(f"tol must be a number in [0, 0.1] (relative to each user's utility range), got {self.tol!r}")
        if self.quantal_beta is not None and not (np.isfinite(self.quantal_beta) and self.quantal_beta > 0):
            raise ValueError(f"quantal_beta must be positive and finite, got {self.quantal_beta}")

    def describe(self) -> dict:
        """Plain-data description, recorded in results."""
        return asdict(self)


DEFAULT_RULE = ResponseRule()


def utility_scales(u: np.ndarray) -> np.ndarray:
    """``scale[j] = max_{a,y} u[j,a,y] − min_{a,y} u[j,a,y]`` (1 for a user indifferent to everything)."""
    u = np.asarray(u, dtype=float)
    scale = u.reshape(u.shape[0], -1).max(axis=1) - u.reshape(u.shape[0], -1).min(axis=1)
    return np.where(scale > 0, scale, 1.0)


def unit_utilities(u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(u_unit, low, scale)``: each user's utility mapped onto [0, 1], ``u_unit[j] = (u[j] − low[j]) / scale[j]``.

    A value (or any expectation of u_j under a probability) maps the same way, so linear programs
    can state users' constraints in these units, where every user's rows have the same scale.
    """
    u = np.asarray(u, dtype=float)
    low = u.reshape(u.shape[0], -1).min(axis=1)
    scale = utility_scales(u)
    return (u - low[:, None, None]) / scale[:, None, None], low, scale


def tolerances(u: np.ndarray, rule: ResponseRule = DEFAULT_RULE) -> np.ndarray:
    """``tol[j] = rule.tol · scale[j]``: user j's tie tolerance on values and expected utilities."""
    return rule.tol * utility_scales(u)


def signal_weights(P: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``W[..., s, y] = Σ_x P[x, y] sigma[..., x, s]`` (joint probability of signal s and state y).

    ``P`` is one prior ``[x, y]``, or one per kind ``[k, x, y]`` with sigma ``[..., k, x, s]``.
    """
    if P.ndim == 3:
        return np.einsum("...kxs,kxy->...ksy", sigma, P)
    return np.einsum("...xs,xy->...sy", sigma, P)


def posteriors(P: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``P(y | s)`` as ``[..., s, y]``; rows of signals that are never sent are NaN."""
    W = signal_weights(P, sigma)
    total = W.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, W / np.where(total > 0, total, 1.0), np.nan)


def _gains(P: np.ndarray, u: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``G[..., j, s, a] = Σ_y W[..., j, s, y] u[j, a, y]`` for sigma ``[..., j, x, s]``."""
    W = signal_weights(P, sigma)  # [..., j, s, y]
    return np.einsum("...jsy,jay->...jsa", W, u)


def scheme_values(P: np.ndarray, u: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``V[..., j] = Σ_s max_a Σ_y W[s, y] u[j, a, y]`` for schemes ``sigma[..., j, x, s]``."""
    return _gains(P, u, sigma).max(axis=-1).sum(axis=-1)


def action_probabilities(P: np.ndarray, u: np.ndarray, sigma: np.ndarray, rule: ResponseRule = DEFAULT_RULE) -> np.ndarray:
    """``pi[..., j, s, a]``: probability that user j takes action a after signal s."""
    G = _gains(P, u, sigma)
    Ps = signal_weights(P, sigma).sum(axis=-1)  # [..., j, s]
    with np.errstate(invalid="ignore", divide="ignore"):
        cond = np.where(Ps[..., None] > 0, G / np.where(Ps[..., None] > 0, Ps[..., None], 1.0), 0.0)
    n_a = u.shape[1]
    if rule.quantal_beta is not None:
        z = rule.quantal_beta * (cond - cond.max(axis=-1, keepdims=True))
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)
    best = cond.max(axis=-1, keepdims=True)
    tied = cond >= best - tolerances(u, rule)[:, None, None]
    if rule.action_tie == "highest":
        choice = n_a - 1 - np.argmax(tied[..., ::-1], axis=-1)
    else:
        choice = np.argmax(tied, axis=-1)
        if rule.action_tie == "recommended":
            n_s = cond.shape[-2]
            k = min(n_s, n_a)
            followed = np.zeros(choice.shape, dtype=bool)
            followed[..., :k] = tied[..., np.arange(k), np.arange(k)]
            choice = np.where(followed, np.broadcast_to(np.arange(n_s), choice.shape), choice)
    return np.eye(n_a)[choice]


def outcomes(P: np.ndarray, u: np.ndarray, sigma: np.ndarray, rule: ResponseRule = DEFAULT_RULE) -> np.ndarray:
    """``mu[..., j, a, y]``: probability that user j takes a while the state is y."""
    W = signal_weights(P, sigma)  # [..., j, s, y]
    pi = action_probabilities(P, u, sigma, rule)  # [..., j, s, a]
    return np.einsum("...jsy,...jsa->...jay", W, pi)


def tied_providers(values: np.ndarray, tol) -> np.ndarray:
    """``tied[i, ..., j]``: provider i's value is within ``tol[j]`` of the best for user j."""
    return values >= values.max(axis=0, keepdims=True) - tol


def choose_providers(values: np.ndarray, rule: ResponseRule = DEFAULT_RULE, tol=None) -> np.ndarray:
    """Index of the chosen provider per user, from ``values[i, ..., j]``.

    ``tol`` is the users' tolerance (an array over the last axis, or a number; default
    ``rule.tol``). Under the ``"uniform"`` rule this is the lowest tied index;
    :func:`provider_shares` gives the split.
    """
    tied = tied_providers(values, rule.tol if tol is None else tol)
    if rule.provider_tie == "highest":
        return values.shape[0] - 1 - np.argmax(tied[::-1], axis=0)
    return np.argmax(tied, axis=0)


def provider_shares(values: np.ndarray, rule: ResponseRule = DEFAULT_RULE, tol=None) -> np.ndarray:
    """``shares[i, ..., j]``: probability that user j consults provider i (values ``[i, ..., j]``)."""
    tol = rule.tol if tol is None else tol
    if rule.provider_tie == "uniform":
        tied = tied_providers(values, tol)
        return tied / tied.sum(axis=0, keepdims=True)
    choice = choose_providers(values, rule, tol)
    return (np.arange(values.shape[0]).reshape((-1,) + (1,) * (values.ndim - 1)) == choice[None]).astype(float)


@dataclass(frozen=True, eq=False)
class KindResponse:
    """What every user kind (docs/model.md §14; :mod:`pluralign.model.kinds`) does.

    ``values[i, k]`` — the value of her best item at provider i; ``items[i, k]`` — that item
    (the truthful one when it is among the best, else the lowest index); ``shares[i, k]`` —
    the probability she consults i; ``provider_outcomes[i, k, a, y]`` — her outcome if she
    consults i; ``outcome[k, a, y]`` and ``utility[k]`` — what she gets.
    """

    values: np.ndarray
    items: np.ndarray
    shares: np.ndarray
    provider_outcomes: np.ndarray
    outcome: np.ndarray
    utility: np.ndarray


def choose_items(values: np.ndarray, layout, tol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(best[..., k], item[..., k])`` from ``values[..., k, r]`` of the items ``layout.choices[k, r]``
    kind k can use: the truthful item when it is within ``tol[k]`` of the best, else the lowest index."""
    valid = np.arange(layout.choices.shape[1])[None, :] < layout.n_choices[:, None]  # [k, r]
    vals = np.where(valid, values, -np.inf)
    best = vals.max(axis=-1)
    tied = vals >= best[..., None] - tol[:, None]
    truthful = tied & (layout.choices == layout.truthful[:, None])
    lowest = np.argmax(tied, axis=-1)  # choices are ascending item indices, padding after them
    pick = np.where(truthful.any(axis=-1), np.argmax(truthful, axis=-1), lowest)
    return best, np.take_along_axis(np.broadcast_to(layout.choices, vals.shape), pick[..., None], axis=-1)[..., 0]


def kind_response(kinds, layout, items: np.ndarray, rule: ResponseRule = DEFAULT_RULE) -> KindResponse:
    """Every kind's response to providers' items ``[i, Q, x, s]`` (see :class:`KindResponse`)."""
    P = kinds.P_common if kinds.P_common is not None else kinds.P
    tol = tolerances(kinds.u, rule)
    if layout.single:
        item = np.broadcast_to(layout.truthful, (items.shape[0], kinds.n_kinds))
        chosen = items[:, layout.truthful]  # [i, k, x, s]
        values = scheme_values(P, kinds.u, chosen)
    else:
        cand = np.moveaxis(items[:, layout.choices], 2, 1)  # [i, r, k, x, s]
        values, item = choose_items(np.moveaxis(scheme_values(P, kinds.u, cand), 1, -1), layout, tol)
        chosen = items[np.arange(items.shape[0])[:, None], item]  # [i, k, x, s]
    shares = provider_shares(values, rule, tol)
    per_provider = outcomes(P, kinds.u, chosen, rule)  # [i, k, a, y]
    mu = np.einsum("ik,ikay->kay", shares, per_provider)
    utility = np.einsum("kay,kay->k", mu, kinds.u)
    return KindResponse(values, np.asarray(item), shares, per_provider, mu, utility)


@dataclass(frozen=True, eq=False)
class Response:
    """Users' response to a profile, per user type (aggregated over private observations) and per kind.

    ``values[i, j]`` = user j's (expected) value of provider i's offer; ``shares[i, j]`` the
    probability that she consults provider i (one 1 per column unless ``provider_tie="uniform"``
    splits her, or her kinds go to different providers); ``choice[j]`` the provider she consults
    most (the lowest index among equals); ``provider_outcomes[i, j, a, y]`` her outcome if she
    consults i; ``outcome[j, a, y]`` her outcome; ``utility[j]`` = E[u_j]; ``rule`` the tie rule;
    ``kinds`` the same per kind (:class:`KindResponse`).
    """

    values: np.ndarray
    choice: np.ndarray
    outcome: np.ndarray
    utility: np.ndarray
    rule: ResponseRule
    shares: np.ndarray
    provider_outcomes: np.ndarray
    kinds: KindResponse | None = None

    @property
    def split(self) -> np.ndarray:
        """``split[j]``: user j divides her use between several providers."""
        return (self.shares > 1e-12).sum(axis=0) > 1


def respond(market: Market, profile: Profile, rule: ResponseRule = DEFAULT_RULE) -> Response:
    """Every user's provider choice, report, action and outcome under ``profile``."""
    kinds = kinds_of(market)
    layout = layout_of(market, profile.regime, profile.menus)
    if profile.n_items != layout.n_items:
        raise ValueError(f"profile has {profile.n_items} items per provider, the market needs {layout.n_items}")
    kr = kind_response(kinds, layout, profile.items(), rule)

    def users(arr: np.ndarray, axis: int) -> np.ndarray:
        return np.moveaxis(kinds.to_users(np.moveaxis(arr, axis, -1)), -1, axis)

    shares = users(kr.shares, 1)
    choice = np.argmax(shares >= shares.max(axis=0, keepdims=True) - 1e-12, axis=0)
    return Response(users(kr.values, 1), choice, users(kr.outcome, 0), users(kr.utility, 0), rule, shares,
                    users(kr.provider_outcomes, 1), kr)


def provider_payoffs(market: Market, response: Response, mode: Literal["actions", "usage"] = "actions") -> np.ndarray:
    """``Π_i = Σ_k mass_k E_{mu_k}[U_i(j_k, a, y)]`` over user kinds k [docs/model.md §2, §14].

    ``mode="actions"`` (default): a provider earns from every user's action, whichever
    provider she consulted. ``mode="usage"``: only from users who chose it (in proportion
    to her share, when she splits between tied providers).
    """
    kinds = kinds_of(market)
    kr = response.kinds
    if mode == "actions":
        per_kind = np.einsum("kay,ikay->ik", kr.outcome, kinds.U)
    elif mode == "usage":
        per_kind = np.einsum("ikay,ikay->ik", kr.provider_outcomes, kinds.U) * kr.shares
    else:
        raise ValueError(f"mode must be 'actions' or 'usage', got {mode!r}")
    return per_kind @ kinds.mass
