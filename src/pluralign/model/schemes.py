"""Signaling schemes and policy profiles (docs/model.md §3).

A scheme is a row-stochastic matrix ``sigma[x, s]``: the probability of sending
signal s when the provider observes x. A *profile* fixes every provider's policy:

* personalized regime: one scheme per (provider, user), array ``[i, j, x, s]``;
* anonymous regime: one scheme per provider, array ``[i, x, s]``, used for every user.

Schemes with different numbers of signals are padded with all-zero columns (a
signal that is never sent), which changes no posterior, value or outcome.

>>> full_revelation(2)
array([[1., 0.],
       [0., 1.]])
>>> recommendation([1, 1], n_actions=2)   # always recommend action 1
array([[0., 1.],
       [0., 1.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "SCHEME_TOL",
    "check_scheme",
    "pad_signals",
    "trim_signals",
    "clean_rows",
    "full_revelation",
    "no_information",
    "recommendation",
    "garble",
    "Profile",
    "Regime",
]

SCHEME_TOL = 1e-9
Regime = Literal["personalized", "anonymous"]


def check_scheme(sigma, n_x: int | None = None, what: str = "scheme") -> np.ndarray:
    """Return ``sigma`` as a float array after checking it is row-stochastic with ``n_x`` rows."""
    sigma = np.asarray(sigma, dtype=float)
    if sigma.ndim != 2:
        raise ValueError(f"{what}: expected a matrix sigma[x, s], got shape {sigma.shape}")
    if n_x is not None and sigma.shape[0] != n_x:
        raise ValueError(f"{what}: expected {n_x} rows (one per observation x), got {sigma.shape[0]}")
    if sigma.shape[1] == 0:
        raise ValueError(f"{what}: needs at least one signal")
    if not np.all(np.isfinite(sigma)) or np.any(sigma < -SCHEME_TOL):
        raise ValueError(f"{what}: probabilities must be finite and non-negative")
    sums = sigma.sum(axis=1)
    if np.any(np.abs(sums - 1) > 1e-7):
        bad = int(np.argmax(np.abs(sums - 1)))
        raise ValueError(f"{what}: row x={bad} sums to {sums[bad]:.12g}, not 1")
    return np.clip(sigma, 0.0, None)


def full_revelation(n_x: int) -> np.ndarray:
    """S = X, sigma = identity: the signal is the observation."""
    return np.eye(n_x)


def no_information(n_x: int) -> np.ndarray:
    """One signal, always sent."""
    return np.ones((n_x, 1))


def recommendation(actions: Sequence[int] | np.ndarray, n_actions: int) -> np.ndarray:
    """A recommendation scheme (S = A).

    ``actions`` is either a sequence of action indices, one per x (deterministic), or
    a matrix ``rec[x, a]`` of recommendation probabilities.
    """
    arr = np.asarray(actions)
    if arr.ndim == 1:
        if np.any(arr < 0) or np.any(arr >= n_actions):
            raise ValueError(f"recommended actions must lie in 0..{n_actions - 1}")
        sigma = np.zeros((arr.size, n_actions))
        sigma[np.arange(arr.size), arr.astype(int)] = 1.0
        return sigma
    if arr.shape[-1] != n_actions:
        raise ValueError(f"expected {n_actions} columns (one per action), got {arr.shape[-1]}")
    return check_scheme(arr, what="recommendation scheme")


def garble(sigma, G) -> np.ndarray:
    """Post-process a scheme's signal with a row-stochastic garbling ``G[s, t]``: ``sigma @ G``."""
    return check_scheme(sigma) @ check_scheme(G, what="garbling")


def pad_signals(arr: np.ndarray, width: int) -> np.ndarray:
    """Schemes ``[..., x, s]`` padded to ``width`` signals with never-sent (all-zero) columns."""
    arr = np.asarray(arr, dtype=float)
    if arr.shape[-1] > width:
        raise ValueError(f"cannot pad {arr.shape[-1]} signals to {width}")
    return np.pad(arr, [(0, 0)] * (arr.ndim - 1) + [(0, width - arr.shape[-1])])


def trim_signals(arr: np.ndarray) -> np.ndarray:
    """Schemes ``[..., x, s]`` with trailing signals that no scheme of the stack sends dropped (≥ 1 kept)."""
    arr = np.asarray(arr, dtype=float)
    used = np.flatnonzero(arr.reshape(-1, arr.shape[-1]).sum(axis=0) > 0)
    return arr[..., : (used[-1] + 1 if used.size else 1)]


def clean_rows(arr, floor: float = 1e-10) -> np.ndarray:
    """Solver output ``[..., x, s]`` as schemes: entries clipped to [0, 1], those below ``floor``
    (round-off, and -0.0) set to 0, every row rescaled to sum 1; a row left all zero sends signal 0."""
    s = np.clip(np.asarray(arr, dtype=float), 0.0, 1.0)
    s[s < floor] = 0.0
    sums = s.sum(axis=-1, keepdims=True)
    s = np.divide(s, sums, out=np.zeros_like(s), where=sums > 0)
    s[..., 0] = np.where(sums[..., 0] > 0, s[..., 0], 1.0)
    return s


def _pad(schemes: Sequence[np.ndarray], width: int) -> list[np.ndarray]:
    return [pad_signals(s, width) for s in schemes]


@dataclass(frozen=True, eq=False)
class Profile:
    """Every provider's policy: ``schemes`` has one scheme ``[x, s]`` per provider and item.

    =====================  ======================  ==========================================
    regime, menus          ``schemes``             items
    =====================  ======================  ==========================================
    personalized           ``[i, j, x, s]``        one per user type j
    anonymous              ``[i, x, s]``           one for everybody
    personalized, menus    ``[i, j, r, x, s]``     one per type j and report r (a private observation)
    anonymous, menus       ``[i, q, x, s]``        one per report q = (type, private observation)
    =====================  ======================  ==========================================

    (docs/model.md §3, §14; :mod:`pluralign.model.kinds` says which items a user can use.)
    """

    regime: Regime
    schemes: np.ndarray
    menus: bool = False

    def __post_init__(self) -> None:
        if self.regime not in ("personalized", "anonymous"):
            raise ValueError(f"regime must be 'personalized' or 'anonymous', got {self.regime!r}")
        want = {("personalized", False): 4, ("anonymous", False): 3, ("personalized", True): 5, ("anonymous", True): 4}
        n = want[(self.regime, bool(self.menus))]
        if self.schemes.ndim != n:
            kind = f"{self.regime}{' menu' if self.menus else ''}"
            raise ValueError(f"a {kind} profile needs a {n}-axis array, got shape {self.schemes.shape}")
        self.schemes.setflags(write=False)

    # ------------------------------------------------------------ builders
    @classmethod
    def anonymous(cls, schemes: Sequence) -> Profile:
        """One scheme per provider."""
        checked = [check_scheme(s, what=f"provider {i} scheme") for i, s in enumerate(schemes)]
        _same_rows(checked)
        width = max(s.shape[1] for s in checked)
        return cls("anonymous", np.stack(_pad(checked, width)))

    @classmethod
    def personalized(cls, schemes: Sequence[Sequence]) -> Profile:
        """``schemes[i][j]``: provider i's scheme for user j."""
        checked = [
            [check_scheme(s, what=f"provider {i}, user {j} scheme") for j, s in enumerate(row)]
            for i, row in enumerate(schemes)
        ]
        if len({len(row) for row in checked}) != 1:
            raise ValueError("every provider needs one scheme per user")
        flat = [s for row in checked for s in row]
        _same_rows(flat)
        width = max(s.shape[1] for s in flat)
        return cls("personalized", np.stack([np.stack(_pad(row, width)) for row in checked]))

    @classmethod
    def uniform(
        cls, regime: Regime, scheme, n_providers: int, n_users: int, *, menus: bool = False, n_private: int = 1
    ) -> Profile:
        """Every provider uses ``scheme`` for every item (``n_private`` reports per type with menus)."""
        s = check_scheme(scheme)
        shape = {
            ("personalized", False): (n_providers, n_users),
            ("anonymous", False): (n_providers,),
            ("personalized", True): (n_providers, n_users, n_private),
            ("anonymous", True): (n_providers, n_users * n_private),
        }[(regime, bool(menus))]
        return cls(regime, np.broadcast_to(s, shape + s.shape).copy(), menus=bool(menus))

    # ------------------------------------------------------------ views
    @property
    def n_providers(self) -> int:
        return self.schemes.shape[0]

    @property
    def item_shape(self) -> tuple[int, ...]:
        """The shape of one provider's items: ``(j,)``, ``()``, ``(j, r)`` or ``(q,)``."""
        return self.schemes.shape[1:-2]

    @property
    def n_items(self) -> int:
        return int(np.prod(self.item_shape, dtype=int))

    def items(self) -> np.ndarray:
        """Every provider's items as ``[i, Q, x, s]`` (a view)."""
        return self.schemes.reshape((self.n_providers, self.n_items) + self.schemes.shape[-2:])

    def per_user(self, n_users: int) -> np.ndarray:
        """Schemes as ``[i, j, x, s]`` (a broadcast view for anonymous profiles); not for menus."""
        if self.menus:
            raise ValueError("a menu profile has one scheme per report, not per user: use items()")
        if self.regime == "personalized":
            if self.schemes.shape[1] != n_users:
                raise ValueError(f"profile has schemes for {self.schemes.shape[1]} users, market has {n_users}")
            return self.schemes
        k, n_x, s = self.schemes.shape
        return np.broadcast_to(self.schemes[:, None], (k, n_users, n_x, s))

    def scheme(self, provider: int, user: int | None = None, report: int | None = None) -> np.ndarray:
        """One scheme, trailing never-sent signals dropped: provider's scheme (for ``user`` when
        personalized; for ``report`` with menus: r when personalized, q when anonymous)."""
        index: tuple = (provider,)
        if self.regime == "personalized":
            if user is None:
                raise ValueError("personalized profiles need a user index")
            index += (user,)
        if self.menus:
            if report is None:
                raise ValueError("menu profiles need a report index")
            index += (report,)
        return trim_signals(self.schemes[index])

    def with_policy(self, provider: int, policy, users=None) -> Profile:
        """A new profile in which ``provider`` plays ``policy``: one scheme ``[x, s]`` for every
        item, or all its items (``item_shape + [x, s]``, e.g. ``[j, x, s]`` when personalized).

        ``users`` (personalized only): a boolean mask or index list of user types; only their
        items are replaced. This is the one place a provider's policy is swapped.
        """
        policy = np.asarray(policy, dtype=float)
        n_x = self.schemes.shape[-2]
        if policy.ndim < 2 or policy.shape[-2] != n_x or policy.shape[:-2] not in ((), self.item_shape):
            raise ValueError(
                f"a policy is one scheme [x, s] or items {list(self.item_shape)} + [x, s] with {n_x} rows x; "
                f"got shape {policy.shape}"
            )
        sums = policy.sum(axis=-1)
        if not np.all(np.isfinite(policy)) or np.any(policy < -SCHEME_TOL) or np.any(np.abs(sums - 1) > 1e-7):
            raise ValueError(f"provider {provider} policy: every row must be a probability distribution over signals")
        policy = np.clip(policy, 0.0, None)
        if not 0 <= provider < self.n_providers:
            raise ValueError(f"provider must be in 0..{self.n_providers - 1}, got {provider}")
        width = max(self.schemes.shape[-1], policy.shape[-1])
        arr = pad_signals(self.schemes, width).copy()
        policy = np.broadcast_to(pad_signals(policy, width), self.item_shape + (n_x, width))
        if users is None:
            arr[provider] = policy
        elif self.regime == "anonymous":
            raise ValueError("an anonymous policy is the same for every user: users= is only for personalized profiles")
        else:
            sel = np.asarray(users)
            arr[provider, sel] = policy[sel]
        return Profile(self.regime, arr, self.menus)

    def replace(self, provider: int, scheme, user: int | None = None) -> Profile:
        """A new profile with one provider's scheme (for one user, or for all) replaced."""
        return self.with_policy(provider, scheme, None if user is None else [user])

    def key(self, digits: int = 7) -> bytes:
        """A hashable fingerprint (schemes rounded to ``digits``, trailing unused signals dropped)."""
        s = trim_signals(self.schemes)
        head = f"{self.regime}{'/menus' if self.menus else ''}{s.shape}"
        return head.encode() + np.round(s, digits).tobytes()


def _same_rows(schemes: list[np.ndarray]) -> None:
    if len({s.shape[0] for s in schemes}) > 1:
        raise ValueError("all schemes must have one row per observation x (the same number of rows)")
