"""The market: states, observations, actions, users and providers (docs/model.md §2).

A :class:`Market` holds four arrays with fixed axis conventions

* ``P[x, y]``      joint prior over what providers observe (x) and the state (y);
* ``u[j, a, y]``   utility of user type j for action a in state y, in [0, 1];
* ``U[i, j, a, y]`` utility of provider i when user j takes a in state y, in [0, 1];
* ``p[j]``         population mass of user type j (positive, summing to 1);

plus the names that live at the edges (files, CLI, reports). The prior is stored
as ``prior[y]`` and ``observation[y, x] = P(x | y)`` so that a market file is
written back exactly as it was read; ``P[x, y] = prior[y] · observation[y, x]``.
Users may also observe something privately (docs/model.md §14): ``private_observation[y, z]
= P(z | y)``, named by ``private_signals``; their kinds are :mod:`pluralign.model.kinds`.

Computations use ``P`` and ``p``: there, sums that were within tolerance of 1 are
rescaled so that their exact sum is 1 (``prior``, each observation row, the masses),
and ``normalize=True`` masses are rescaled without overflow. ``P`` is built on first
use (dense ``|X| × |Y|``), so reading a market never allocates it.

>>> import numpy as np
>>> m = Market.from_arrays(P=np.diag([0.5, 0.5]), u=[[[1, 0], [0, 1]]], U=[[[[1, 0], [0, 1]]]])
>>> m.n_states, m.n_actions, m.n_users, m.n_providers
(2, 2, 1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Market"]


def _frozen(a, dtype=float) -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


def _default_names(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{k}" for k in range(n))


@dataclass(frozen=True, eq=False)
class Market:
    """An immutable finite market (docs/model.md §2). Build with :meth:`from_arrays` or load a file.

    Attributes mirror docs/model.md: ``P``, ``u``, ``U``, ``p`` (read-only arrays) and the
    name tuples ``states``, ``observations`` (the file's ``signals:``), ``actions``, ``users``, ``providers``.
    ``user_specific[i]`` says whether provider i's utility depends on the user
    (it decides how the market is written to a file).
    """

    name: str
    states: tuple[str, ...]
    observations: tuple[str, ...]
    actions: tuple[str, ...]
    users: tuple[str, ...]
    providers: tuple[str, ...]
    prior: np.ndarray
    observation: np.ndarray | None
    mass: np.ndarray
    u: np.ndarray
    U: np.ndarray
    user_specific: tuple[bool, ...]
    normalize: bool = False
    description: str | None = None
    private_signals: tuple[str, ...] | None = None
    private_observation: np.ndarray | None = None

    @cached_property
    def P(self) -> np.ndarray:
        """Joint prior ``P[x, y]`` (read-only), from the exactly renormalized prior and observation rows."""
        from pluralign.model.validation import exact_distribution

        prior = exact_distribution(self.prior)
        if self.observation is None:
            return _frozen(np.diag(prior))
        return _frozen(exact_distribution(self.observation).T * prior[None, :])

    @cached_property
    def private_likelihood(self) -> np.ndarray | None:
        """``P(z | y)`` as ``[y, z]`` (rows renormalized exactly), or None without private observations."""
        from pluralign.model.validation import exact_distribution

        return None if self.private_observation is None else _frozen(exact_distribution(self.private_observation))

    @cached_property
    def p(self) -> np.ndarray:
        """Population masses used in computations (read-only): normalized, summing to exactly 1."""
        from pluralign.model.validation import exact_distribution, normalized_masses

        return _frozen(exact_distribution(normalized_masses(self.mass) if self.normalize else self.mass))

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_arrays(
        cls,
        P=None,
        u=None,
        U=None,
        p=None,
        *,
        prior=None,
        observation=None,
        name: str = "market",
        states: Sequence[str] | None = None,
        observations: Sequence[str] | None = None,
        actions: Sequence[str] | None = None,
        users: Sequence[str] | None = None,
        providers: Sequence[str] | None = None,
        description: str | None = None,
        normalize: bool = False,
        user_specific: Sequence[bool] | None = None,
        private_observation=None,
        private_signals: Sequence[str] | None = None,
    ) -> Market:
        """Build a market from arrays and check them.

        Give either ``P[x, y]`` or ``prior[y]`` (with optional ``observation[y, x]``).
        ``private_observation[y, z] = P(z | y)`` adds what users observe privately (names
        ``private_signals``, default ``z0, z1, ...``).
        ``U`` may be ``U[i, a, y]`` (the same for every user) or ``U[i, j, a, y]``.
        ``p`` defaults to equal masses; with ``normalize=True`` masses are rescaled to
        sum to 1 instead of having to. Names default to ``y0, y1, ...`` etc.
        """
        from pluralign.model.validation import check_arrays

        if u is None or U is None:
            raise ValueError("both u[j, a, y] and U[i, j, a, y] are required")
        u = np.asarray(u, dtype=float)
        if u.ndim == 2:
            u = u[None]
        if u.ndim != 3:
            raise ValueError(f"u must have axes [j, a, y]; got shape {u.shape}")
        m, n_a, n_y = u.shape
        U = np.asarray(U, dtype=float)
        if U.ndim == 3:
            user_specific = (False,) * U.shape[0]  # one table per provider
            U = np.broadcast_to(U[:, None], (U.shape[0], m) + U.shape[1:])
        elif U.ndim == 4:
            varies = [bool(not np.all(U[i] == U[i, :1])) for i in range(U.shape[0])]
            given = [False] * U.shape[0] if user_specific is None else list(user_specific)
            if len(given) != U.shape[0]:
                raise ValueError(f"user_specific needs {U.shape[0]} flags, got {len(given)}")
            user_specific = tuple(g or v for g, v in zip(given, varies))
        else:
            raise ValueError(f"U must have axes [i, j, a, y] or [i, a, y]; got shape {U.shape}")
        if P is not None:
            if prior is not None or observation is not None:
                raise ValueError("give either P or prior/observation, not both")
            P = np.asarray(P, dtype=float)
            if P.ndim != 2 or P.shape[1] != n_y:
                raise ValueError(f"P must have axes [x, y] with {n_y} states; got shape {P.shape}")
            prior = P.sum(axis=0)
            if P.shape[0] == n_y and np.allclose(P, np.diag(prior), atol=0, rtol=0):
                observation = None
            else:
                safe = np.where(prior > 0, prior, 1.0)
                observation = (P / safe[None, :]).T
                observation[prior <= 0] = 1.0 / P.shape[0]
        elif prior is None:
            raise ValueError("give P[x, y] or prior[y]")
        prior = np.asarray(prior, dtype=float)
        if observation is not None:
            observation = np.asarray(observation, dtype=float)
        n_x = n_y if observation is None else observation.shape[-1]
        p = np.full(m, 1.0 / m) if p is None else np.asarray(p, dtype=float)
        names = dict(
            states=tuple(states) if states is not None else _default_names("y", n_y),
            observations=(
                tuple(observations)
                if observations is not None
                else (None if observation is None else _default_names("x", n_x))
            ),
            actions=tuple(actions) if actions is not None else _default_names("a", n_a),
            users=tuple(users) if users is not None else _default_names("user", m),
            providers=tuple(providers) if providers is not None else _default_names("provider", U.shape[0]),
        )
        if names["observations"] is None:
            names["observations"] = names["states"]
        check_arrays(prior=prior, observation=observation, p=p, u=u, U=U, normalize=normalize, **names)
        if private_observation is not None:
            private_observation = np.asarray(private_observation, dtype=float)
            if private_signals is None and private_observation.ndim == 2:
                private_signals = _default_names("z", private_observation.shape[1])
            _check_private(private_observation, tuple(private_signals), n_y)
        elif private_signals is not None:
            raise ValueError("private_signals needs private_observation[y, z] = P(z | y)")
        return cls(
            name=name,
            prior=_frozen(prior),
            observation=None if observation is None else _frozen(observation),
            mass=_frozen(p),
            u=_frozen(u),
            U=_frozen(U),
            user_specific=tuple(bool(b) for b in user_specific),
            normalize=bool(normalize),
            description=description,
            private_signals=None if private_observation is None else tuple(private_signals),
            private_observation=None if private_observation is None else _frozen(private_observation),
            **names,
        )

    # ---------------------------------------------------------------- shapes
    @property
    def n_states(self) -> int:
        return len(self.states)

    @property
    def n_observations(self) -> int:
        """Number of provider observations x (|X|)."""
        return len(self.states) if self.observation is None else self.observation.shape[1]

    @property
    def n_actions(self) -> int:
        return len(self.actions)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_providers(self) -> int:
        return len(self.providers)

    @property
    def n_private(self) -> int:
        """Number of private observations z (1 when users observe nothing privately)."""
        return 1 if self.private_observation is None else self.private_observation.shape[1]

    @property
    def has_private(self) -> bool:
        """True when users observe something privately (docs/model.md §14)."""
        return self.private_observation is not None

    @property
    def observes_state(self) -> bool:
        """True when providers observe the state itself (X = Y, the default)."""
        return self.observation is None

    # ---------------------------------------------------------------- helpers
    def user_index(self, name: str) -> int:
        return _index(self.users, name, "user")

    def provider_index(self, name: str) -> int:
        return _index(self.providers, name, "provider")

    def action_index(self, name: str) -> int:
        return _index(self.actions, name, "action")

    def replace(self, **changes) -> Market:
        """A copy with arrays or names replaced (re-validated), e.g. ``m.replace(u=new_u)``."""
        kwargs = dict(
            prior=self.prior,
            observation=self.observation,
            p=self.mass,
            u=self.u,
            U=self.U,
            name=self.name,
            states=self.states,
            observations=self.observations if self.observation is not None else None,
            actions=self.actions,
            users=self.users,
            providers=self.providers,
            description=self.description,
            normalize=self.normalize,
            user_specific=self.user_specific,
            private_observation=self.private_observation,
            private_signals=self.private_signals,
        )
        kwargs.update(changes)
        if "U" in changes and "user_specific" not in changes:
            kwargs["user_specific"] = None
        return Market.from_arrays(**kwargs)

    def equals(self, other: Market) -> bool:
        """Exact equality of every name and array (used by round-trip tests)."""
        if not isinstance(other, Market):
            return False
        same_names = all(
            getattr(self, f) == getattr(other, f)
            for f in ("name", "states", "observations", "actions", "users", "providers", "normalize", "description",
                      "private_signals")
        )
        if not same_names:
            return False
        if (self.observation is None) != (other.observation is None):
            return False
        if (self.private_observation is None) != (other.private_observation is None):
            return False
        pairs = [(self.prior, other.prior), (self.mass, other.mass), (self.u, other.u), (self.U, other.U)]
        if self.observation is not None:
            pairs.append((self.observation, other.observation))
        if self.private_observation is not None:
            pairs.append((self.private_observation, other.private_observation))
        return all(a.shape == b.shape and np.array_equal(a, b) for a, b in pairs)

    def _repr_html_(self) -> str:
        from html import escape

        from pluralign.html import table

        private = f", {self.n_private} private observations" if self.has_private else ""
        head = (f"{escape(self.name)}: {self.n_states} states, {self.n_observations} observations{private}, "
                f"{self.n_actions} actions, {self.n_users} users, {self.n_providers} providers")
        states = table("prior over states", ("state", "prior"), list(zip(self.states, self.prior)))
        users = table("users", ("user", "mass"), list(zip(self.users, self.p)))
        provs = table("providers", ("provider", "utility depends on the user"),
                      [(n, "yes" if s else "no") for n, s in zip(self.providers, self.user_specific)])
        return f"<div><b>{head}</b>{states}{users}{provs}</div>"

    def __repr__(self) -> str:
        private = f", {self.n_private} private observations" if self.has_private else ""
        return (
            f"Market({self.name!r}: {self.n_states} states, {self.n_observations} observations{private}, "
            f"{self.n_actions} actions, {self.n_users} users, {self.n_providers} providers)"
        )


def _check_private(obs: np.ndarray, names: tuple[str, ...], n_y: int) -> None:
    """``P(z | y)`` rows: one per state, probabilities summing to 1, one name per z (a ``MarketError`` otherwise)."""
    from pluralign.model.validation import PROB_TOL, Collector, MarketError

    out = Collector()
    if obs.ndim != 2 or obs.shape[0] != n_y or obs.shape[1] < 1:
        out.add(("private", "observation"), f"expected shape ({n_y}, n_z), got {obs.shape}")
    elif len(names) != obs.shape[1]:
        out.add(("private", "signals"), f"expected {obs.shape[1]} names, got {len(names)}")
    elif not np.all(np.isfinite(obs)) or np.any(obs < 0) or np.any(obs > 1):
        out.add(("private", "observation"), "probabilities must be finite and in [0, 1]")
    elif np.any(np.abs(obs.sum(axis=1) - 1) > PROB_TOL):
        out.add(("private", "observation"), f"each row must sum to 1, got sums {obs.sum(axis=1).tolist()}")
    elif len(set(names)) != len(names):
        out.add(("private", "signals"), "names must be unique")
    if out:
        raise MarketError(out.problems)


def _index(names: tuple[str, ...], name: str, what: str) -> int:
    try:
        return names.index(name)
    except ValueError:
        raise KeyError(f"unknown {what} {name!r}; known: {', '.join(names)}") from None
