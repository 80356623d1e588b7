"""Check a pluralign certificate exactly: rational arithmetic only, no solver, no floating point.

This module imports nothing but the standard library, so it can be audited alone
(docs/certificates.md). It trusts no number it can recompute: from the market and the
profile in the file it rebuilds

1. the market: ``P[x, y] = prior[y]·P(x | y)``; every distribution must sum to exactly 1; the
   user **kinds** (docs/model.md §14): a user type j with a private observation z, P(z) > 0, of
   mass p_j·P(z) and prior P(x, y | z) (one kind per user without private observations);
2. users' responses under **exact ties** (tolerance 0, docs/model.md §4): the value
   ``V_k(σ) = Σ_s max_a Σ_x σ(x, s) Σ_y P_k(x, y) u_j(a, y)`` of every scheme for every kind, the
   item each kind uses (with menus: her best, the truthful one among equals, else the lowest),
   the provider she consults under the recorded rule, the action she takes after every signal;
3. every provider's payoff Π_i (docs/model.md §2);
4. every provider's **deviation bound** sup_σ' Π_i(σ', σ_−i) ≤ bound_i (docs/model.md §8.3 with
   tolerance 0), from LPs rebuilt here — never read from the file — and the file's multipliers;
5. ``regret_i = bound_i − Π_i``: "proven" when every regret is at most the recorded tolerance.

Any recorded number that differs from its recomputation rejects the certificate.

**Weak duality with boxed columns.** Every LP reads ``max c·x + c0`` s.t. ``lo_r ≤ A_r·x ≤ hi_r``
(either side may be absent) and ``0 ≤ x ≤ 1``. For multipliers ``y`` and any feasible ``x``,
``c·x = Σ_r y_r A_r·x + d·x ≤ Σ_r y_r·(hi_r if y_r > 0 else lo_r) + Σ_k max(0, d_k)`` with
``d = c − Aᵀy``: so ``B(y)`` (that right side plus c0) bounds the LP for *every* ``y`` — the box
absorbs the residual ``d`` left by rounded multipliers (a weight on an absent side: B = +∞).
With ``c = 0`` and ``c0 = 0`` the same sum is ≥ 0 for any feasible x, so a ``z`` making it
negative (a Farkas certificate) proves the LP infeasible.

>>> lp = LP(1, {0: Fraction(1)})                       # max x  s.t.  2x ≤ 1,  0 ≤ x ≤ 1
>>> lp.row({0: Fraction(2)}, hi=Fraction(1))
>>> dual_bound(lp, {0: Fraction(1, 2)}), dual_bound(lp, {0: Fraction(1, 3)})
(Fraction(1, 2), Fraction(2, 3))
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import re
import sys
from dataclasses import dataclass, field
from fractions import Fraction

__all__ = ["FORMAT", "VERSION", "Malformed", "Report", "LP", "Market", "dual_bound", "check_document", "check_file"]

# Version 2 adds private observations (market.private) and menus (settings.menus); a document
# without either is written as version 1 and means exactly what it meant before.
FORMAT, VERSION, VERSIONS = "pluralign-certificate", 2, (1, 2)
NEG, POS = "-inf", "+inf"  # besides rationals, the only values: "impossible" and "no bound"
_RATIONAL = re.compile(r"-?\d{1,20000}(/\d{1,20000})?|-?\d{1,20000}\.\d{1,20000}")


class Malformed(ValueError):
    """The file cannot be read as a certificate (exit status 2)."""


@dataclass
class Report:
    """What the checker found: printable ``lines``, exit ``code`` (0 proven, 1 not), ``problems``."""

    kind: str
    lines: list
    code: int
    problems: list
    values: dict = field(default_factory=dict)

    @property
    def proven(self) -> bool:
        return self.code == 0

    def text(self) -> str:
        return "\n".join(self.lines)


# ============================================================================ reading


def rational(v, where: str) -> Fraction:
    """A rational from ``"p/q"``, ``"p"``, a decimal string or a JSON number (read exactly)."""
    if isinstance(v, Fraction) or (isinstance(v, int) and not isinstance(v, bool)):
        return Fraction(v)
    if isinstance(v, str) and _RATIONAL.fullmatch(v):
        with contextlib.suppress(ZeroDivisionError):
            return Fraction(v)
    raise Malformed(f"{where}: expected a rational such as \"3/7\", got {str(v)[:40]!r}")


def array(v, dims: tuple, where: str):
    """Nested lists of rationals; ``dims`` gives each axis' length (None: any positive length)."""
    if not dims:
        return rational(v, where)
    if not isinstance(v, list) or not v or (dims[0] is not None and len(v) != dims[0]):
        raise Malformed(f"{where}: expected a list of {dims[0] or 'one or more'} entries")
    return [array(e, dims[1:], f"{where}[{n}]") for n, e in enumerate(v)]


def get(d, key: str, where: str, kind=None):
    if not isinstance(d, dict) or key not in d:
        raise Malformed(f"{where}: missing field {key!r}")
    if kind is not None and not isinstance(d[key], kind):
        raise Malformed(f"{where}.{key}: expected a {kind.__name__}")
    return d[key]


def choice(d, key: str, allowed: tuple, where: str) -> str:
    value = get(d, key, where)
    if value not in allowed:
        raise Malformed(f"{where}.{key}: expected one of {', '.join(allowed)}, got {str(value)[:40]!r}")
    return value


def approx(q) -> str:
    """``q`` exactly when short, else ``≈`` six significant digits (integer arithmetic only)."""
    if q in (NEG, POS) or len(str(q)) <= 24:
        return str(q)
    sign, q = ("-" if q < 0 else ""), abs(q)
    e = len(str(q.numerator)) - len(str(q.denominator))
    e += (q >= Fraction(10) ** (e + 1)) - (q < Fraction(10) ** e)
    digits = str(min(round(q / Fraction(10) ** (e - 5)), 999999))
    return f"≈ {sign}{digits[0]}.{digits[1:]}e{e}"


# ============================================================================ the market


class Market:
    """A market with rational entries (docs/model.md §2), seen through its user **kinds** (§14): kind k =
    ``kinds[k] = (j, z)``, a user type j with private observation z, P(z) > 0, of mass ``mass[k] = p_j·P(z)``
    and prior ``P_k(x, y) = P(x, y)·P(z | y)/P(z)``; without private observations one kind per user (z = 0)
    with the market's prior. Per kind: ``E[k][x][a] = Σ_y P_k(x, y) u_j(a, y)``, ``EU[i][k][x][a]`` likewise
    for providers, ``Px[k][x]``, OPT and NOINFO; ``Eunit`` is E in units of user j's utility range,
    ``(u_j − min u_j)/range_j``, in which LP rows state the same constraints (see :func:`attract_lp`)."""

    def __init__(self, d: dict, problems: list):
        names = {key: get(d, key, "market", list) for key in ("states", "observations", "actions", "users", "providers")}
        if not all(v and all(isinstance(n, str) for n in v) for v in names.values()):
            raise Malformed("market: names must be non-empty lists of strings")
        self.name = str(get(d, "name", "market"))
        self.actions, self.users, self.providers = names["actions"], names["users"], names["providers"]
        ny, nx, na, m, k = (len(names[key]) for key in ("states", "observations", "actions", "users", "providers"))
        self.ny, self.nx, self.na, self.m, self.k = ny, nx, na, m, k
        prior = array(get(d, "prior", "market"), (ny,), "market.prior")
        obs = d.get("observation")
        if obs is None and nx != ny:
            raise Malformed("market.observation: needed when the observations are not the states")
        obs = [[Fraction(int(x == y)) for x in range(nx)] for y in range(ny)] if obs is None else array(obs, (ny, nx), "market.observation")
        private, self.signals, lik = d.get("private"), None, [[Fraction(1)] for _ in range(ny)]
        if private is not None:
            self.signals = get(private, "signals", "market.private", list)
            if not self.signals or not all(isinstance(n, str) for n in self.signals):
                raise Malformed("market.private.signals: expected a non-empty list of names")
            lik = array(get(private, "observation", "market.private"), (ny, len(self.signals)), "market.private.observation")
        self.nz = len(lik[0])
        self.p = array(get(d, "mass", "market"), (m,), "market.mass")
        self.u = array(get(d, "u", "market"), (m, na, ny), "market.u")
        self.U = array(get(d, "U", "market"), (k, m, na, ny), "market.U")
        dists = [("prior", prior), ("mass", self.p)] + [(f"observation[{y}]", r) for y, r in enumerate(obs)]
        dists += [(f"private.observation[{y}]", r) for y, r in enumerate(lik) if private is not None]
        for what, dist in dists:
            if min(dist) < 0 or sum(dist) != 1 or (what == "mass" and min(dist) == 0):
                problems.append(f"market.{what} is not a probability distribution summing to exactly 1")
        self.P = [[prior[y] * obs[y][x] for y in range(ny)] for x in range(nx)]
        Pz = [sum((self.P[x][y] * lik[y][z] for x in range(nx) for y in range(ny)), Fraction(0)) for z in range(self.nz)]
        self.kinds = [(j, z) for j in range(m) for z in range(self.nz) if Pz[z] > 0]
        self.K = len(self.kinds)
        self.names = [self.users[j] + ("" if private is None else f"/{self.signals[z]}") for j, z in self.kinds]
        self.mass = [self.p[j] * Pz[z] for j, z in self.kinds]
        cond = {z: [[self.P[x][y] * lik[y][z] / Pz[z] for y in range(ny)] for x in range(nx)] for z in range(self.nz) if Pz[z] > 0}
        self.Px = [[sum(row) for row in cond[z]] for _, z in self.kinds]

        def expect(table, z):
            return [[sum((cond[z][x][y] * table[a][y] for y in range(ny)), Fraction(0)) for a in range(na)] for x in range(nx)]

        self.E = [expect(self.u[j], z) for j, z in self.kinds]
        self.EU = [[expect(self.U[i][j], z) for j, z in self.kinds] for i in range(k)]
        self.low = [min(min(r) for r in self.u[j]) for j in range(m)]
        self.scale = [(max(max(r) for r in self.u[j]) - self.low[j]) or Fraction(1) for j in range(m)]
        self.Eunit = [[[(e - self.low[j] * self.Px[n][x]) / self.scale[j] for e in self.E[n][x]] for x in range(nx)]
                      for n, (j, _) in enumerate(self.kinds)]
        self.opt = [sum(max(row) for row in E) for E in self.E]
        self.noinfo = [max(sum(row[a] for row in E) for a in range(na)) for E in self.E]

    def unit(self, k: int, v):
        """A value of kind k in units of her utility range (None stays None)."""
        j = self.kinds[k][0]
        return None if v is None else (v - self.low[j]) / self.scale[j]


@dataclass
class Layout:
    """A provider's items and who uses them (docs/model.md §14.2): ``access[k]`` the items kind k can
    use (ascending), ``truthful[k]`` hers; ``groups`` the kinds each group of items serves (a user's
    kinds when personalized, every kind when anonymous); ``lp`` the LP kind of an attracted set:
    ``"menu"`` when some kind chooses between several items, else ``"attracted_set"``.
    Items: personalized j; anonymous 0; with menus the report (j, r) is item j·|Z| + r."""

    n_items: int
    access: list
    truthful: list
    groups: list
    lp: str


def layout_of(mkt: Market, regime: str, menus: bool) -> Layout:
    """The :class:`Layout` of ``regime`` with or without menus (pluralign.model.kinds' table)."""
    personal = regime == "personalized"
    if menus:
        truthful = [j * mkt.nz + z for j, z in mkt.kinds]
        access = [list(range(j * mkt.nz, (j + 1) * mkt.nz)) if personal else list(range(mkt.m * mkt.nz)) for j, _ in mkt.kinds]
    else:
        truthful = [j if personal else 0 for j, _ in mkt.kinds]
        access = [[q] for q in truthful]
    groups = [[n for n, (j, _) in enumerate(mkt.kinds) if j == g] for g in range(mkt.m)] if personal else [list(range(mkt.K))]
    n_items = (mkt.m * mkt.nz if menus else mkt.m if personal else 1)
    return Layout(n_items, access, truthful, groups, "menu" if max(map(len, access), default=1) > 1 else "attracted_set")


# ============================================================================ users


def outcome(mkt: Market, sig: list, k: int, action_tie: str):
    """Kind k facing scheme ``sig[x][s]``: ``(value, action per signal (None: never sent), W)`` with
    ``W[i] = E[U_i(j, a, y)]`` under her outcome; exact action ties broken by ``action_tie``."""
    value, acts, W = Fraction(0), [], [Fraction(0)] * mkt.k
    for s in range(len(sig[0])):
        col = [sig[x][s] for x in range(mkt.nx)]
        if sum(c * px for c, px in zip(col, mkt.Px[k])) == 0:
            acts.append(None)
            continue
        gains = [sum(col[x] * mkt.E[k][x][a] for x in range(mkt.nx)) for a in range(mkt.na)]
        tied = [a for a, g in enumerate(gains) if g == max(gains)]
        a = tied[-1] if action_tie == "highest" else (s if action_tie == "recommended" and s in tied else tied[0])
        acts.append(a)
        value += gains[a]
        W = [W[i] + sum(col[x] * mkt.EU[i][k][x][a] for x in range(mkt.nx)) for i in range(mkt.k)]
    return value, acts, W


def shares(values: list, tie: str) -> list:
    """Probability of consulting each provider, given their values (exact ties)."""
    top = [o for o, v in enumerate(values) if v == max(values)]
    pick = top if tie == "uniform" else [top[-1] if tie == "highest" else top[0]]
    return [Fraction(int(o in pick), len(pick)) for o in range(len(values))]


@dataclass
class Response:
    values: list  # [o][k]: V_k of the item she uses at provider o
    items: list  # [o][k]: that item
    actions: list  # [o][k][s]
    W: list  # [o][k][i]: E[U_i(j)] when kind k consults o
    shares: list  # [o][k]
    utilities: list  # [k]
    payoffs: list  # [i]


def best_item(mkt: Market, lay: Layout, policy: list, k: int, action_tie: str):
    """``(item, outcome)``: the item kind k uses among ``policy[q]`` — her best, the truthful one among
    equals, else the lowest (docs/model.md §8.3 T2, exact ties)."""
    best = None
    for q in lay.access[k]:
        out = outcome(mkt, policy[q], k, action_tie)
        if best is None or out[0] > best[1][0] or (out[0] == best[1][0] and q == lay.truthful[k]):
            best = (q, out)
    return best


def respond(mkt: Market, lay: Layout, items: list, st: dict) -> Response:
    """Every kind's response to the providers' ``items[o][q]``, and every provider's payoff (docs/model.md §2, §4, §14)."""
    k, K = range(mkt.k), range(mkt.K)
    chosen = [[best_item(mkt, lay, items[o], n, st["action_tie"]) for n in K] for o in k]
    values, W = [[chosen[o][n][1][0] for n in K] for o in k], [[chosen[o][n][1][2] for n in K] for o in k]
    sh = [list(r) for r in zip(*(shares([values[o][n] for o in k], st["provider_tie"]) for n in K))]
    util = [sum(sh[o][n] * values[o][n] for o in k) for n in K]
    pay = [sum(mkt.mass[n] * sh[o][n] * W[o][n][i] for n in K for o in k if st["mode"] == "actions" or o == i) for i in k]
    return Response(values, [[chosen[o][n][0] for n in K] for o in k], [[chosen[o][n][1][1] for n in K] for o in k], W, sh, util, pay)


@dataclass
class Deviation:
    """What provider i faces from each kind k (docs/model.md §8.3, tolerance 0): ``v_out`` (None: no
    other provider), ``leave`` (i's payoff if she stays away; NEG if she cannot: NOINFO_k > V_out),
    ``attract`` (whether i can win her at all), and i's payoff ``w·own + c`` from winning her."""

    v_out: list
    leave: list
    attract: list
    w: list
    c: list


def deviation(mkt: Market, resp: Response, i: int, st: dict) -> Deviation:
    """Attracting k needs V_i ≥ V_out (closure); under ``ties=rule`` with lowest/highest also V_i > Vp,
    the best value among the providers the rule prefers to i — impossible when OPT_k ≤ Vp. Under
    uniform (rule) a kind with OPT_k ≤ V_out can only split: own/(t+1) + Σ_{o tied} W_o/(t+1). Leaving
    needs V_i ≤ V_out; she goes where the rule sends her (uniform: split among the tied others)."""
    others, tie, dev = [o for o in range(mkt.k) if o != i], st["provider_tie"], Deviation([], [], [], [], [])
    for k in range(mkt.K):
        if not others:
            for lst, v in zip((dev.v_out, dev.leave, dev.attract, dev.w, dev.c), (None, NEG, True, 1, 0)):
                lst.append(v)
            continue
        v_out = max(resp.values[o][k] for o in others)
        top = [o for o in others if resp.values[o][k] == v_out]
        gain = [resp.W[o][k][i] if st["mode"] == "actions" else Fraction(0) for o in top]
        preferred = [resp.values[o][k] for o in others if (o < i if tie == "lowest" else o > i)]
        blocked = st["ties"] == "rule" and tie != "uniform" and preferred and mkt.opt[k] <= max(preferred)
        split = st["ties"] == "rule" and tie == "uniform" and mkt.opt[k] <= v_out
        leave = sum(gain) / len(top) if tie == "uniform" else gain[-1 if tie == "highest" else 0]
        dev.v_out.append(v_out)
        dev.leave.append(leave if mkt.noinfo[k] <= v_out else NEG)
        dev.attract.append(mkt.opt[k] >= v_out and not blocked)
        dev.w.append(Fraction(1, len(top) + 1) if split else Fraction(1))
        dev.c.append(sum(gain) / (len(top) + 1) if split else Fraction(0))
    return dev


# ============================================================================ linear programs


class LP:
    """``max Σ c[k]·x[k] + c0`` s.t. ``lo ≤ Σ row[k]·x[k] ≤ hi`` per row (None: absent side), ``0 ≤ x ≤ 1``."""

    def __init__(self, n: int, c: dict, c0=Fraction(0)):
        self.n, self.c, self.c0, self.rows = n, c, Fraction(c0), []

    def row(self, coef: dict, lo=None, hi=None) -> None:
        self.rows.append((coef, lo, hi))


def dual_bound(lp: LP, y: dict, farkas: bool = False):
    """``B(y)`` of the module docstring (``farkas``: with c = 0, c0 = 0); POS if y weighs an absent side."""
    total, d = (Fraction(0), {}) if farkas else (lp.c0, dict(lp.c))
    for r, v in y.items():
        coef, lo, hi = lp.rows[r]
        side = hi if v > 0 else lo
        if v == 0:
            continue
        if side is None:
            return POS
        total += v * side
        for k, a in coef.items():
            d[k] = d.get(k, 0) - v * a
    return total + sum(v for v in d.values() if v > 0)


def persuasion_rows(mkt: Market, dev: Deviation, lp: LP, k: int, col) -> None:
    """Kind k's rows over a recommendation scheme σ[x, a] at columns ``col(x, a)``: simplex (per x,
    = 1), obedience (a, b), a ≠ b in ``itertools.permutations`` order (≥ 0), participation (≥ V_out;
    absent without another provider)."""
    E = mkt.Eunit[k]
    for x in range(mkt.nx):
        lp.row({col(x, a): Fraction(1) for a in range(mkt.na)}, 1, 1)
    for a, b in itertools.permutations(range(mkt.na), 2):
        lp.row({col(x, a): E[x][a] - E[x][b] for x in range(mkt.nx)}, lo=Fraction(0))
    lp.row({col(x, a): E[x][a] for x in range(mkt.nx) for a in range(mkt.na)}, lo=mkt.unit(k, dev.v_out[k]))


def attract_lp(mkt: Market, dev: Deviation, i: int, k: int) -> LP:
    """Provider i persuading kind k alone (docs/model.md §8.1): columns σ[x, a] at x·|A| + a, objective
    E[U_i(j)] (unweighted), :func:`persuasion_rows`. User rows are in units of her range: under the
    simplex rows, Σ σ·Eunit = (Σ σ·E − min u_j)/range_j, so they describe exactly the same schemes."""
    na = mkt.na
    lp = LP(mkt.nx * na, {x * na + a: mkt.EU[i][k][x][a] for x in range(mkt.nx) for a in range(na)})
    persuasion_rows(mkt, dev, lp, k, lambda x, a: x * na + a)
    return lp


def set_lp(mkt: Market, dev: Deviation, i: int, T: tuple, members: list) -> LP:
    """One scheme seen by the kinds ``members`` attracting exactly those in T (docs/model.md §8.2, §14.2).
    Signals are recommendation profiles s ∈ A^T (``itertools.product`` order); columns σ[x, s] at x·n_s + s,
    then t[q, s] at nx·n_s + q·n_s + s for the q-th member not in T (N). Objective Σ_{k∈T} mass_k (w_k·own_k
    + c_k) + Σ_{k∈N} mass_k·leave_k. Rows: simplex (per x, = 1); obedience (k ∈ T, s, b ≠ s_k: ≥ 0);
    participation (k ∈ T: ≥ V_out); epigraph (q, s, a: t[q, s] − Σ_x σ(x, s) Eunit[x][a] ≥ 0); budget
    (q: Σ_s t[q, s] ≤ V_out) — N's kinds do not prefer i (t ∈ [0, 1] loses nothing: Eunit ≥ 0, Σ ≤ 1)."""
    nx, S = mkt.nx, list(itertools.product(range(mkt.na), repeat=len(T)))
    N, ns = [k for k in members if k not in T], len(S)
    gain = {k: [[mkt.mass[k] * dev.w[k] * e for e in row] for row in mkt.EU[i][k]] for k in T}
    c = {x * ns + s: sum((gain[k][x][S[s][n]] for n, k in enumerate(T)), Fraction(0)) for x in range(nx) for s in range(ns)}
    lp = LP(nx * ns + len(N) * ns, c, sum(mkt.mass[k] * dev.c[k] for k in T) + sum(mkt.mass[k] * dev.leave[k] for k in N))
    for x in range(nx):
        lp.row({x * ns + s: Fraction(1) for s in range(ns)}, 1, 1)
    for n, k in enumerate(T):
        E = mkt.Eunit[k]
        diff = [[[E[x][a] - E[x][b] for x in range(nx)] for b in range(mkt.na)] for a in range(mkt.na)]
        for s, b in itertools.product(range(ns), range(mkt.na)):
            if b != S[s][n]:
                lp.row({x * ns + s: diff[S[s][n]][b][x] for x in range(nx)}, lo=Fraction(0))
    for n, k in enumerate(T):
        lp.row({x * ns + s: mkt.Eunit[k][x][S[s][n]] for x in range(nx) for s in range(ns)}, lo=mkt.unit(k, dev.v_out[k]))
    for q, k in enumerate(N):
        minus = [[-e for e in row] for row in mkt.Eunit[k]]
        for s, a in itertools.product(range(ns), range(mkt.na)):
            lp.row({**{x * ns + s: minus[x][a] for x in range(nx)}, nx * ns + q * ns + s: Fraction(1)}, lo=Fraction(0))
    for q, k in enumerate(N):
        lp.row({nx * ns + q * ns + s: Fraction(1) for s in range(ns)}, hi=mkt.unit(k, dev.v_out[k]))
    return lp


def menu_lp(mkt: Market, dev: Deviation, i: int, T: tuple, members: list) -> LP:
    """A menu for the kinds ``members`` attracting exactly those in T (docs/model.md §14.3). Columns: kind
    T[n]'s item σ_n[x, a] (a recommendation scheme) at n·nx·|A| + x·|A| + a; then, for the q-th pair
    (v, r) of ``[(v, r) for v in members for r in T if v != r]``, epigraph variables e[q, s] at
    |T|·nx·|A| + q·|A| + s (v's value of r's item is at most Σ_s e[q, s]). Objective Σ_{k∈T} mass_k
    (w_k·own_k + c_k) + Σ_{v∉T} mass_v·leave_v. Rows: :func:`persuasion_rows` of each k ∈ T; per pair,
    epigraph (s, b: e[q, s] − Σ_x σ_r(x, s) Eunit_v[x][b] ≥ 0), then incentive compatibility if v ∈ T
    (f_v − Σ_s e[q, s] ≥ 0, f_v her value of following her own item) or "does not prefer" if v ∉ T
    (Σ_s e[q, s] ≤ V_out,v). Any menu attracting T fits (revelation principle): each k ∈ T's chosen item,
    its signals merged by her action, is obedient; v's value of a merged item is at most that of the
    item, which is at most her choice (IC) or her outside option. e ∈ [0, 1] loses nothing."""
    na, nx = mkt.na, mkt.nx
    block, pairs = nx * na, [(v, r) for v in members for r in T if v != r]
    col = {k: (lambda x, a, base=n * block: base + x * na + a) for n, k in enumerate(T)}
    e0, N = len(T) * block, [v for v in members if v not in T]
    c = {col[k](x, a): mkt.mass[k] * dev.w[k] * mkt.EU[i][k][x][a] for k in T for x in range(nx) for a in range(na)}
    lp = LP(e0 + len(pairs) * na, c, sum(mkt.mass[k] * dev.c[k] for k in T) + sum(mkt.mass[v] * dev.leave[v] for v in N))
    for k in T:
        persuasion_rows(mkt, dev, lp, k, col[k])
    for q, (v, r) in enumerate(pairs):
        E, e = mkt.Eunit[v], [e0 + q * na + s for s in range(na)]
        for s, b in itertools.product(range(na), repeat=2):
            lp.row({e[s]: Fraction(1), **{col[r](x, s): -E[x][b] for x in range(nx)}}, lo=Fraction(0))
        if v in T:
            lp.row({**{col[v](x, a): E[x][a] for x in range(nx) for a in range(na)}, **{es: Fraction(-1) for es in e}}, lo=Fraction(0))
        else:
            lp.row({es: Fraction(1) for es in e}, hi=mkt.unit(v, dev.v_out[v]))
    return lp


def order_key(v):
    return (0, 0) if v == NEG else (2, 0) if v == POS else (1, v)


def relaxation(mkt: Market, dev: Deviation, A: dict, T: tuple, group: list):
    """Σ_{k∈T} mass_k A_k + Σ_{k∈group∖T} mass_k leave_k, each kind persuaded alone: an upper bound for set T
    (merging the signals a kind k ∈ T sees by her action gives a feasible scheme of her persuasion LP)."""
    rest = [k for k in group if k not in T]
    terms = [A.get(k, POS) if dev.attract[k] else NEG for k in T] + [dev.leave[k] for k in rest]
    if NEG in terms or POS in terms:
        return NEG if NEG in terms else POS
    return sum((mkt.mass[k] * v for k, v in zip([*T, *rest], terms)), Fraction(0))


def provider_bound(mkt: Market, dev: Deviation, groups: list, A: dict, sets: dict):
    """``Σ_groups max_{T ⊆ group} min(relaxation_T, LP_T)`` with ``A[k] = w_k·(persuasion bound) + c_k``
    per certified kind and ``sets[T]`` the bound of set T's LP (NEG: proven infeasible). Every
    deviation attracts some T of each group, and its payoff is at most T's LP value (docs/certificates.md).
    Returns ``(bound, an uncovered T)``."""
    total = Fraction(0)
    for g in groups:
        best = NEG
        for T in itertools.chain.from_iterable(itertools.combinations(g, r) for r in range(len(g) + 1)):
            b = min(relaxation(mkt, dev, A, T, g), sets.get(T, POS), key=order_key)
            if b == POS:
                return POS, T
            best = max(best, b, key=order_key)
        if best == NEG:  # impossible in a valid file: the current scheme is a feasible deviation
            return NEG, None
        total += best
    return total, None


# ============================================================================ equilibrium certificates


def settings_of(sd: dict, version=VERSION) -> dict:
    """The rule and settings; the users' tie tolerance must be 0 (exact ties); ``menus`` (version 2)."""
    st = {key: choice(sd, key, allowed, "settings") for key, allowed in (
        ("regime", ("personalized", "anonymous")), ("mode", ("actions", "usage")),
        ("provider_tie", ("lowest", "highest", "uniform")), ("action_tie", ("lowest", "highest", "recommended")),
        ("ties", ("rule", "deviator")))}
    if rational(get(sd, "tie_tolerance", "settings"), "settings.tie_tolerance") != 0:
        raise Malformed("settings.tie_tolerance: this checker proves exact ties only (0)")
    st["tolerance"] = rational(get(sd, "tolerance", "settings"), "settings.tolerance")
    if not 0 <= st["tolerance"] <= 1:
        raise Malformed("settings.tolerance: expected a regret tolerance in [0, 1]")
    st["menus"] = False if version == 1 else get(sd, "menus", "settings", bool)
    return st


def item_name(mkt: Market, regime: str, menus: bool, q: int) -> str:
    if not menus:
        return f"for {mkt.users[q]}" if regime == "personalized" else "for everyone"
    return f"for the report {mkt.users[q // mkt.nz]}" + ("" if mkt.signals is None else f"/{mkt.signals[q % mkt.nz]}")


def items_of(doc: dict, mkt: Market, st: dict, problems: list) -> list:
    """``items[o][q]``: provider o's item q (profile ``[o][j]``, ``[o]``, ``[o][j][r]`` with menus when
    personalized, ``[o][q]`` with menus when anonymous); rows must be distributions."""
    shape = {("personalized", False): (mkt.m,), ("anonymous", False): (), ("personalized", True): (mkt.m, mkt.nz),
             ("anonymous", True): (mkt.m * mkt.nz,)}[st["regime"], st["menus"]]

    def flat(v, dims, where):
        if not dims:
            return [array(v, (mkt.nx, None), where)]
        if not isinstance(v, list) or len(v) != dims[0]:
            raise Malformed(f"{where}: expected a list of {dims[0]} schemes")
        return [s for n, e in enumerate(v) for s in flat(e, dims[1:], f"{where}[{n}]")]

    raw = get(doc, "profile", "certificate", list)
    if len(raw) != mkt.k:
        raise Malformed(f"profile: expected one entry per provider ({mkt.k})")
    out = [flat(raw[o], shape, f"profile[{o}]") for o in range(mkt.k)]
    for o, q in itertools.product(range(mkt.k), range(len(out[0]))):
        sig = out[o][q]
        if len({len(r) for r in sig}) != 1 or min(min(r) for r in sig) < 0 or any(sum(r) != 1 for r in sig):
            problems.append(f"profile: the scheme of {mkt.providers[o]} {item_name(mkt, st['regime'], st['menus'], q)} "
                            "is not row-stochastic (rows sum exactly to 1)")
    return out


KINDS = ("attract", "attracted_set", "menu")
MAX_KINDS, MAX_SIGNALS = 16, 2**16  # kinds in a group: 2^16 attracted sets to enumerate; joint signals of one set's LP


def lp_of(entry: dict, mkt: Market, dev: Deviation, i: int, lay: Layout, where: str):
    """``(key, LP)`` named by a file entry; the LP is built from the market and profile only."""
    kind = choice(entry, "kind", KINDS, where)
    if kind == "attract":
        k = get(entry, "user", where, int)
        if not 0 <= k < mkt.K:
            raise Malformed(f"{where}.user: expected a user kind index in 0..{mkt.K - 1}")
        return ("user", k), attract_lp(mkt, dev, i, k)
    if kind != lay.lp:
        raise Malformed(f"{where}.kind: an attracted set of this game needs a {lay.lp!r} LP")
    T = get(entry, "set", where, list)
    group = next((g for g in lay.groups if all(type(k) is int and k in g for k in T)), None)
    if not T or group is None or sorted(set(T)) != T:
        raise Malformed(f"{where}.set: expected increasing user kind indices of one group")
    if any(not dev.attract[k] for k in T) or any(dev.leave[k] == NEG for k in group if k not in T):
        raise Malformed(f"{where}.set: an impossible attracted set (a kind in it cannot be won, or one outside cannot stay away)")
    if kind == "attracted_set" and mkt.na ** len(T) > MAX_SIGNALS:
        raise Malformed(f"{where}.set: {mkt.na}^{len(T)} joint signals, beyond this checker's limit of {MAX_SIGNALS}")
    return ("set", tuple(T)), (set_lp if kind == "attracted_set" else menu_lp)(mkt, dev, i, tuple(T), group)


def multipliers(entry: dict, lp: LP, where: str) -> tuple[dict, bool]:
    """``({row: y}, is_farkas)`` from ``"dual"`` or ``"farkas"``: a list of ``[row, rational]``."""
    farkas = "farkas" in entry
    y = {}
    for n, pair in enumerate(get(entry, "farkas" if farkas else "dual", where, list)):
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], int) and 0 <= pair[0] < len(lp.rows)) or pair[0] in y:
            raise Malformed(f"{where}: entry {n} must be [row, multiplier], rows distinct in 0..{len(lp.rows) - 1}")
        y[pair[0]] = rational(pair[1], f"{where}[{n}]")
    return y, farkas


def _compare(problems: list, what: str, recorded, computed) -> None:
    if recorded != computed:
        problems.append(f"{what}: recorded {str(recorded)[:60]}, recomputed {str(computed)[:60]}")


def check_equilibrium(doc: dict) -> Report:
    """Recompute everything an equilibrium certificate claims (module docstring)."""
    problems: list = []
    mkt = Market(get(doc, "market", "certificate", dict), problems)
    st = settings_of(get(doc, "settings", "certificate", dict), doc.get("version"))
    lay = layout_of(mkt, st["regime"], st["menus"])
    if max(map(len, lay.groups), default=0) > MAX_KINDS:
        raise Malformed(f"market: a group of {max(map(len, lay.groups))} user kinds, beyond this checker's limit of {MAX_KINDS}")
    items = items_of(doc, mkt, st, problems)
    if problems:
        return Report("equilibrium", [f"certificate rejected: {p}" for p in problems], 1, problems)
    resp, rec = respond(mkt, lay, items, st), get(doc, "response", "certificate", dict)
    for key, dims in (("values", (mkt.k, mkt.K)), ("shares", (mkt.k, mkt.K)), ("utilities", (mkt.K,))):
        _compare(problems, f"response.{key}", array(get(rec, key, "response"), dims, f"response.{key}"), getattr(resp, key))
    for key in ("actions", "items") if st["menus"] else ("actions",):
        _compare(problems, f"response.{key}", get(rec, key, "response"), getattr(resp, key))
    _compare(problems, "payoffs", array(get(doc, "payoffs", "certificate"), (mkt.k,), "payoffs"), resp.payoffs)
    provs = get(doc, "providers", "certificate", list)
    if len(provs) != mkt.k:
        raise Malformed(f"providers: expected {mkt.k} entries")
    what = (f"{mkt.m} user{'s' * (mkt.m != 1)}" + ("" if mkt.signals is None else f" in {mkt.K} kinds (private observations)")
            + f", {mkt.k} providers" + ("; menus" if st["menus"] else ""))
    lines = [f"certificate: {st['regime']} profile in market {mkt.name!r} ({what}; "
             f"payoffs from {st['mode']}; users' ties: providers {st['provider_tie']}, actions {st['action_tie']}, "
             f"exact; deviations' provider ties: {st['ties']}); market sha256 {fingerprint(doc['market'])[:16]}"]
    notes = doc["market"].get("renormalized")
    lines += [f"  note: {n}" for n in (notes if isinstance(notes, list) else []) if isinstance(n, str)]
    shown = [f"{mkt.names[k]} {approx(resp.utilities[k])} (" + ", ".join(mkt.providers[o] for o in range(mkt.k) if resp.shares[o][k]) + ")"
             for k in range(min(mkt.K, 10))]
    lines.append("users (utility, consults): " + "; ".join(shown) + (f"; … {mkt.K - 10} more" if mkt.K > 10 else ""))
    regrets = []
    for i, entry in enumerate(provs):
        where, name, dev = f"providers[{i}]", mkt.providers[i], deviation(mkt, resp, i, st)
        A, sets = {}, {}
        lps = get(entry, "lps", where, list)
        for n, lp_entry in enumerate(lps):
            key, lp = lp_of(lp_entry, mkt, dev, i, lay, f"{where}.lps[{n}]")
            if key[1] in (A if key[0] == "user" else sets):
                raise Malformed(f"{where}.lps[{n}]: a second certificate for the same LP")
            y, farkas = multipliers(lp_entry, lp, f"{where}.lps[{n}]")
            value = dual_bound(lp, y, farkas)
            if farkas:
                if value == POS or value >= 0:
                    problems.append(f"{where}.lps[{n}]: the Farkas multipliers do not prove the LP infeasible")
                value = NEG if value != POS and value < 0 else POS
            if key[0] == "set":
                sets[key[1]] = value
            else:
                A[key[1]] = value if value in (NEG, POS) else dev.w[key[1]] * value + dev.c[key[1]]
        bound, uncovered = provider_bound(mkt, dev, lay.groups, A, sets)
        if bound in (NEG, POS):
            problems.append(f"provider {name}: " + (f"attracted set {list(uncovered)} is covered by no certificate"
                                                       if bound == POS else "every deviation is proven impossible"))
            continue
        regrets.append(bound - resp.payoffs[i])
        _compare(problems, f"provider {name}: name", get(entry, "name", where), name)
        _compare(problems, f"provider {name}: payoff", rational(get(entry, "payoff", where), f"{where}.payoff"), resp.payoffs[i])
        _compare(problems, f"provider {name}: bound", rational(get(entry, "bound", where), f"{where}.bound"), bound)
        _compare(problems, f"provider {name}: regret", rational(get(entry, "regret", where), f"{where}.regret"), regrets[-1])
        lines.append(f"provider {name}: payoff {approx(resp.payoffs[i])}, deviation bound {approx(bound)}, "
                     f"regret {approx(regrets[-1])} ({len(lps)} LP certificate{'s' if len(lps) != 1 else ''})")
    if problems:
        return Report("equilibrium", lines + [f"certificate rejected: {p}" for p in problems], 1, problems)
    worst, tol = max(regrets), st["tolerance"]
    if worst <= 0:
        verdict = "equilibrium: proven (exact equilibrium: every regret ≤ 0)"
    elif worst <= tol:
        verdict = f"equilibrium: proven (every regret ≤ tolerance {approx(tol)}; largest {approx(worst)})"
    else:
        verdict = f"equilibrium: NOT proven (largest regret {approx(worst)} > tolerance {approx(tol)})"
    values = {"payoffs": resp.payoffs, "regrets": regrets, "tolerance": tol}
    return Report("equilibrium", [*lines, verdict], 0 if worst <= tol else 1, [], values)


# ============================================================================ alignment certificates


def _fit(mkt: Market, lam: list, off: list, j: int, kind: str) -> Fraction:
    """Largest residual |Σ_i λ_i U_i(j, a, y) + c(y) − u_j(a, y)| of user j's fit (docs/model.md §7)."""
    return max(abs(sum(lam[i] * mkt.U[i][j][a][y] for i in range(mkt.k)) + off[0 if kind == "scalar" else y] - mkt.u[j][a][y])
               for a in range(mkt.na) for y in range(mkt.ny))


def _dual(mkt: Market, w: dict, variant: str, kind: str, where: str, problems: list) -> Fraction:
    """ε ≥ Σ_j w_j·u_j (cone: needs Σ_j w_j·U_i(j) ≤ 0 for all i) or Σ_j w_j·u_j − max_i Σ_j w_j·U_i(j)
    (simplex), when every user's w_j sums to 0 per offset (Eᵀw = 0) and Σ_j ‖w_j‖₁ ≤ 1 (§7)."""
    cells = [(a, y) for a in range(mkt.na) for y in range(mkt.ny)]
    wU = [sum(wj[a][y] * mkt.U[i][j][a][y] for j, wj in w.items() for a, y in cells) for i in range(mkt.k)]
    sums = [sum(wj[a][y] for a, y in cells if kind == "scalar" or y == z) for wj in w.values() for z in range(mkt.ny)]
    if any(sums) or sum(abs(v) for wj in w.values() for row in wj for v in row) > 1 or (variant == "cone" and max(wU) > 0):
        problems.append(f"{where}: not dual feasible (needs Σ w = 0 per offset, ‖w‖₁ ≤ 1{', w·U_i ≤ 0' if variant == 'cone' else ''})")
    return sum(wj[a][y] * mkt.u[j][a][y] for j, wj in w.items() for a, y in cells) - (max(wU) if variant == "simplex" else 0)


def check_alignment(doc: dict) -> Report:
    """Recompute every fit's largest residual and every dual's lower bound, exactly."""
    problems: list = []
    mkt = Market(get(doc, "market", "certificate", dict), problems)
    variant = choice(doc, "variant", ("cone", "simplex"), "certificate")
    kind = choice(doc, "offset", ("scalar", "state"), "certificate")
    q = 1 if kind == "scalar" else mkt.ny
    lines = [f"certificate: market alignment of {mkt.name!r} ({variant} weights, {kind} offset); "
             f"market sha256 {fingerprint(doc['market'])[:16]}"]
    weak, strong = get(doc, "weak", "certificate", list), doc.get("strong")
    if len(weak) != mkt.m:
        raise Malformed(f"weak: expected one entry per user ({mkt.m})")
    claims = [(f"WMA {mkt.users[j]}", f"weak[{j}]", rec, [j], [get(rec, "offset", f"weak[{j}]")], [get(rec, "dual", f"weak[{j}]")])
              for j, rec in enumerate(weak)]
    if strong is not None:
        claims.append(("SMA", "strong", strong, list(range(mkt.m)), get(strong, "offsets", "strong", list), get(strong, "dual", "strong", list)))
    for label, where, rec, users, offs, duals in claims:
        lam = array(get(rec, "weights", where), (mkt.k,), f"{where}.weights")
        if min(lam) < 0 or (variant == "simplex" and sum(lam) != 1):
            problems.append(f"{where}.weights: " + ("negative" if min(lam) < 0 else "do not sum to 1"))
        if len(offs) != len(users) or len(duals) != len(users):
            raise Malformed(f"{where}: expected offsets and duals for {len(users)} user(s)")
        offs = [array(o, (q,), f"{where}.offset") for o in offs]
        eps = max(_fit(mkt, lam, offs[n], j, kind) for n, j in enumerate(users))
        w = {j: array(duals[n], (mkt.na, mkt.ny), f"{where}.dual") for n, j in enumerate(users)}
        low = _dual(mkt, w, variant, kind, f"{where}.dual", problems)
        _compare(problems, f"{label}: epsilon", rational(get(rec, "epsilon", where), f"{where}.epsilon"), eps)
        _compare(problems, f"{label}: lower bound", rational(get(rec, "lower_bound", where), f"{where}.lower_bound"), low)
        lines.append(f"{label}: ε = {approx(eps)} (exact)" if low == eps else f"{label}: ε in [{approx(low)}, {approx(eps)}]")
    if problems:
        return Report("alignment", lines + [f"certificate rejected: {p}" for p in problems], 1, problems)
    return Report("alignment", [*lines, "alignment: proven (every fit and every dual recomputed exactly)"], 0, [])


# ============================================================================ files


def fingerprint(market: dict) -> str:
    """sha256 of the market block's canonical JSON (compare it with your own market's)."""
    return hashlib.sha256(json.dumps(market, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


@contextlib.contextmanager
def long_integers():
    """Allow integers of any length in str() and int() (Python limits them to 4,300 digits by default)."""
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(old)


def _no_constant(name):
    raise Malformed(f"not a number in JSON: {name}")


def load_document(text: str) -> dict:
    """Parse a certificate; JSON numbers are read as exact decimals, never as floats."""
    try:
        doc = json.loads(text, parse_float=Fraction, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise Malformed(f"not JSON: {str(exc)[:120]}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise Malformed(f"not a pluralign certificate (field \"format\" must be {FORMAT!r})")
    if doc.get("version") not in VERSIONS:
        raise Malformed(f"certificate version {str(doc.get('version'))[:20]!r}: this checker reads versions 1 and 2")
    if doc["version"] == 1 and any(isinstance(doc.get(a), dict) and b in doc[a] for a, b in (("market", "private"), ("settings", "menus"))):
        raise Malformed("certificate version 1: private observations and menus need version 2")
    return doc


def check_document(doc: dict) -> Report:
    """Check a parsed certificate of either kind; :class:`Malformed` for content that cannot be read."""
    kind = choice(doc, "kind", ("equilibrium", "alignment"), "certificate")
    try:
        with long_integers():
            return check_equilibrium(doc) if kind == "equilibrium" else check_alignment(doc)
    except (TypeError, AttributeError, IndexError, KeyError, ValueError, RecursionError) as exc:
        if isinstance(exc, Malformed):
            raise
        raise Malformed(f"unexpected structure ({type(exc).__name__}: {str(exc)[:80]})") from None


def check_file(path) -> Report:
    """Read and check a certificate file (``pluralign check``)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(2**28 + 1)
    except OSError as exc:
        raise Malformed(f"{path}: {exc.strerror or 'cannot be read'}") from None
    if len(raw) > 2**28:
        raise Malformed(f"{path}: larger than 256 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed(f"{path}: not UTF-8") from None
    with long_integers():
        return check_document(load_document(text))
