"""User kinds and policy items: who knows what, and which schemes each can ask for (docs/model.md §14).

**Kinds.** Users may privately observe z ∈ Z, drawn with P(z | y), independently of the
providers' observation x given the state. A *kind* is a pair (j, z) with P(z) > 0; it has
mass ``p_j · P(z)`` and the conditional prior ``P(x, y | z) = P(x, y) P(z | y) / P(z)``.
Without private observations there is one kind per user type, with the market's prior.
Everything a user does is done by her kinds; a user-level quantity is the P(z)-weighted
sum of her kinds' (``weight[k] = P(z)``).

**Items.** A provider's policy is a list of schemes, its *items*; which items a kind can
use depends on the regime and on menus:

==========================  =================  =========================================
regime, menus               items              kind (j, z) can use
==========================  =================  =========================================
personalized                one per type j     item j
anonymous                   one                item 0
personalized, menus         one per (j, r)     items (j, r) for every report r ∈ Z
anonymous, menus            one per (j', r)    every item (she may report any type and z)
==========================  =================  =========================================

With menus, item (j, r) is the scheme for the report "type j, observation r" (r ranges over
Z, a single report without private observations); the *truthful* item of kind (j, z) is
(j, z). A kind uses the item it values most — the truthful one when it is among the best.

>>> import numpy as np
>>> from pluralign.model.market import Market
>>> m = Market.from_arrays(P=np.diag([0.5, 0.5]), u=[[[1, 0], [0, 1]]] * 2, U=[[[[1, 0], [0, 1]]] * 2])
>>> k = kinds_of(m)
>>> k.user.tolist(), k.mass.tolist(), k.names
([0, 1], [0.5, 0.5], ('user0', 'user1'))
>>> lay = layout_of(m, "anonymous", menus=True)
>>> lay.n_items, lay.access.tolist(), lay.truthful.tolist()
(2, [[True, True], [True, True]], [0, 1])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pluralign.model.market import Market

__all__ = ["Kinds", "Layout", "kinds_of", "layout_of"]


@dataclass(frozen=True, eq=False)
class Kinds:
    """The user kinds of a market (module docstring); arrays indexed by kind k.

    ``user[k]`` and ``private[k]`` are the type j and the private observation z; ``mass[k] =
    p_j P(z)``; ``weight[k] = P(z)``; ``P[k, x, y] = P(x, y | z)``; ``u[k, a, y] = u[j, a, y]``;
    ``U[i, k, a, y] = U[i, j, a, y]``; ``names[k]`` is ``"user"`` or ``"user/z"``;
    ``P_common`` is the market's ``P[x, y]`` when every kind has it (no private observations).
    """

    user: np.ndarray
    private: np.ndarray
    mass: np.ndarray
    weight: np.ndarray
    P: np.ndarray
    u: np.ndarray
    U: np.ndarray
    names: tuple[str, ...]
    n_users: int
    P_common: np.ndarray | None = None

    @property
    def n_kinds(self) -> int:
        return self.user.size

    @property
    def trivial(self) -> bool:
        """One kind per user (no private observations)."""
        return self.user.size == self.n_users

    def to_users(self, values: np.ndarray) -> np.ndarray:
        """``Σ_z P(z) values[..., k]`` per user: a kind-level quantity aggregated over z (last axis)."""
        if self.trivial:
            return np.asarray(values)
        out = np.zeros(np.shape(values)[:-1] + (self.n_users,))
        np.add.at(np.moveaxis(out, -1, 0), self.user, np.moveaxis(np.asarray(values) * self.weight, -1, 0))
        return out


def kinds_of(market: Market) -> Kinds:
    """The kinds of ``market`` (cached on the market: it is immutable)."""
    cached = market.__dict__.get("_kinds")
    if cached is not None:
        return cached
    m = market.n_users
    if market.private_observation is None:
        P = np.broadcast_to(market.P, (m,) + market.P.shape)
        kinds = Kinds(np.arange(m), np.zeros(m, dtype=int), market.p.copy(), np.ones(m), P, market.u, market.U,
                      tuple(market.users), m, market.P)
    else:
        Pxyz = market.P[:, :, None] * market.private_likelihood[None, :, :]  # [x, y, z]
        Pz = Pxyz.sum(axis=(0, 1))
        present = np.flatnonzero(Pz > 0)
        users = np.repeat(np.arange(m), present.size)
        zs = np.tile(present, m)
        cond = np.moveaxis(Pxyz[:, :, present] / Pz[present], -1, 0)  # [z', x, y]
        kinds = Kinds(
            user=users,
            private=zs,
            mass=market.p[users] * Pz[zs],
            weight=Pz[zs],
            P=np.tile(cond, (m, 1, 1)),
            u=market.u[users],
            U=market.U[:, users],
            names=tuple(f"{market.users[j]}/{market.private_signals[z]}" for j, z in zip(users, zs)),
            n_users=m,
        )
    for arr in (kinds.mass, kinds.weight, kinds.u):
        arr.setflags(write=False)
    market.__dict__["_kinds"] = kinds  # the market is immutable: cache beside its fields
    return kinds


@dataclass(frozen=True, eq=False)
class Layout:
    """Which policy items each kind can use (module docstring).

    ``n_items`` items per provider; ``access[k, q]``: kind k can use item q; ``truthful[k]``
    her truthful item; ``choices[k, r]`` the items she can use, padded with her truthful
    item (``n_choices[k]`` of them are real); ``group[q]`` the group an item belongs to (the
    items of one type when personalized, all items when anonymous).
    """

    regime: str
    menus: bool
    n_items: int
    access: np.ndarray
    truthful: np.ndarray
    choices: np.ndarray
    n_choices: np.ndarray
    group: np.ndarray
    n_reports: int

    @property
    def single(self) -> bool:
        """Every kind has exactly one item it can use (no menus, or menus with one report)."""
        return bool(np.all(self.n_choices == 1))


def layout_of(market: Market, regime: str, menus: bool = False) -> Layout:
    """The item layout of ``regime`` (``"personalized"``/``"anonymous"``) with or without menus."""
    if regime not in ("personalized", "anonymous"):
        raise ValueError(f"regime must be 'personalized' or 'anonymous', got {regime!r}")
    kinds = kinds_of(market)
    m, K = market.n_users, kinds.n_kinds
    n_z = market.n_private
    if not menus:
        n_items = m if regime == "personalized" else 1
        item = kinds.user if regime == "personalized" else np.zeros(K, dtype=int)
        access = np.zeros((K, n_items), dtype=bool)
        access[np.arange(K), item] = True
        group = np.arange(n_items) if regime == "personalized" else np.zeros(1, dtype=int)
        reports = 1
    else:
        n_items = m * n_z
        item = kinds.user * n_z + kinds.private
        q_user = np.arange(n_items) // n_z
        if regime == "personalized":
            access = q_user[None, :] == kinds.user[:, None]
            group = q_user
        else:
            access = np.ones((K, n_items), dtype=bool)
            group = np.zeros(n_items, dtype=int)
        reports = n_z if regime == "personalized" else n_items
    n_choices = access.sum(axis=1)
    width = int(n_choices.max())
    choices = np.repeat(item[:, None], width, axis=1)
    for k in range(K):
        qs = np.flatnonzero(access[k])
        choices[k, : qs.size] = qs
    return Layout(regime, bool(menus), n_items, access, item, choices, n_choices, group, reports)
