"""Check a pluralign certificate exactly: rational arithmetic only, no solver, no floating point.

This module imports nothing but the standard library, so it can be audited alone
(docs/certificates.md). It trusts no number it can recompute: from the market and the
profile in the file it rebuilds

1. the market: ``P[x, y] = prior[y]·P(x | y)``; every distribution must sum to exactly 1;
2. users' responses under **exact ties** (tolerance 0, docs/model.md §4): the value
   ``V_j(σ) = Σ_s max_a Σ_x σ(x, s) Σ_y P(x, y) u_j(a, y)`` of every scheme, the provider each
   user consults under the recorded rule, the action she takes after every signal;
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

FORMAT, VERSION = "pluralign-certificate", 1
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
    """A market with rational entries (docs/model.md §2): ``E[j][x][a] = Σ_y P(x, y) u_j(a, y)``,
    ``EU[i][j][x][a]`` likewise for providers; ``Eunit`` is E in units of user j's utility range,
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
        self.p = array(get(d, "mass", "market"), (m,), "market.mass")
        self.u = array(get(d, "u", "market"), (m, na, ny), "market.u")
        self.U = array(get(d, "U", "market"), (k, m, na, ny), "market.U")
        for what, dist in [("prior", prior), ("mass", self.p)] + [(f"observation[{y}]", r) for y, r in enumerate(obs)]:
            if min(dist) < 0 or sum(dist) != 1 or (what == "mass" and min(dist) == 0):
                problems.append(f"market.{what} is not a probability distribution summing to exactly 1")
        self.P = [[prior[y] * obs[y][x] for y in range(ny)] for x in range(nx)]
        self.Px = [sum(row) for row in self.P]

        def expect(table):
            return [[sum((self.P[x][y] * table[a][y] for y in range(ny)), Fraction(0)) for a in range(na)] for x in range(nx)]

        self.E = [expect(self.u[j]) for j in range(m)]
        self.EU = [[expect(self.U[i][j]) for j in range(m)] for i in range(k)]
        self.low = [min(min(r) for r in self.u[j]) for j in range(m)]
        self.scale = [(max(max(r) for r in self.u[j]) - self.low[j]) or Fraction(1) for j in range(m)]
        self.Eunit = [[[(e - self.low[j] * self.Px[x]) / self.scale[j] for e in self.E[j][x]] for x in range(nx)] for j in range(m)]
        self.opt = [sum(max(row) for row in self.E[j]) for j in range(m)]
        self.noinfo = [max(sum(row[a] for row in self.E[j]) for a in range(na)) for j in range(m)]

    def unit(self, j: int, v):
        """A value of user j in units of her utility range (None stays None)."""
        return None if v is None else (v - self.low[j]) / self.scale[j]


# ============================================================================ users


def outcome(mkt: Market, sig: list, j: int, action_tie: str):
    """User j facing scheme ``sig[x][s]``: ``(value, action per signal (None: never sent), W)`` with
    ``W[i] = E[U_i(j, a, y)]`` under her outcome; exact action ties broken by ``action_tie``."""
    value, acts, W = Fraction(0), [], [Fraction(0)] * mkt.k
    for s in range(len(sig[0])):
        col = [sig[x][s] for x in range(mkt.nx)]
        if sum(c * px for c, px in zip(col, mkt.Px)) == 0:
            acts.append(None)
            continue
        gains = [sum(col[x] * mkt.E[j][x][a] for x in range(mkt.nx)) for a in range(mkt.na)]
        tied = [a for a, g in enumerate(gains) if g == max(gains)]
        a = tied[-1] if action_tie == "highest" else (s if action_tie == "recommended" and s in tied else tied[0])
        acts.append(a)
        value += gains[a]
        W = [W[i] + sum(col[x] * mkt.EU[i][j][x][a] for x in range(mkt.nx)) for i in range(mkt.k)]
    return value, acts, W


def shares(values: list, tie: str) -> list:
    """Probability of consulting each provider, given their values (exact ties)."""
    top = [o for o, v in enumerate(values) if v == max(values)]
    pick = top if tie == "uniform" else [top[-1] if tie == "highest" else top[0]]
    return [Fraction(int(o in pick), len(pick)) for o in range(len(values))]


@dataclass
class Response:
    values: list  # [o][j]: V_j of provider o's scheme
    actions: list  # [o][j][s]
    W: list  # [o][j][i]: E[U_i(j)] when j consults o
    shares: list  # [o][j]
    utilities: list  # [j]
    payoffs: list  # [i]


def respond(mkt: Market, schemes: list, st: dict) -> Response:
    """Every user's response to ``schemes[o][j]``, and every provider's payoff (docs/model.md §2, §4)."""
    k, m = range(mkt.k), range(mkt.m)
    out = [[outcome(mkt, schemes[o][j], j, st["action_tie"]) for j in m] for o in k]
    values, W = [[out[o][j][0] for j in m] for o in k], [[out[o][j][2] for j in m] for o in k]
    sh = [list(r) for r in zip(*(shares([values[o][j] for o in k], st["provider_tie"]) for j in m))]
    util = [sum(sh[o][j] * values[o][j] for o in k) for j in m]
    pay = [sum(mkt.p[j] * sh[o][j] * W[o][j][i] for j in m for o in k if st["mode"] == "actions" or o == i) for i in k]
    return Response(values, [[out[o][j][1] for j in m] for o in k], W, sh, util, pay)


@dataclass
class Deviation:
    """What provider i faces from each user j (docs/model.md §8.3, tolerance 0): ``v_out`` (None: no
    other provider), ``leave`` (i's payoff if she stays away; NEG if she cannot: NOINFO_j > V_out),
    ``attract`` (whether i can win her at all), and i's payoff ``w·own + c`` from winning her."""

    v_out: list
    leave: list
    attract: list
    w: list
    c: list


def deviation(mkt: Market, resp: Response, i: int, st: dict) -> Deviation:
    """Attracting j needs V_i ≥ V_out (closure); under ``ties=rule`` with lowest/highest also V_i > Vp,
    the best value among the providers the rule prefers to i — impossible when OPT_j ≤ Vp. Under
    uniform (rule) a user with OPT_j ≤ V_out can only split: own/(t+1) + Σ_{o tied} W_o/(t+1). Leaving
    needs V_i ≤ V_out; she goes where the rule sends her (uniform: split among the tied others)."""
    others, tie, dev = [o for o in range(mkt.k) if o != i], st["provider_tie"], Deviation([], [], [], [], [])
    for j in range(mkt.m):
        if not others:
            for lst, v in zip((dev.v_out, dev.leave, dev.attract, dev.w, dev.c), (None, NEG, True, 1, 0)):
                lst.append(v)
            continue
        v_out = max(resp.values[o][j] for o in others)
        top = [o for o in others if resp.values[o][j] == v_out]
        gain = [resp.W[o][j][i] if st["mode"] == "actions" else Fraction(0) for o in top]
        preferred = [resp.values[o][j] for o in others if (o < i if tie == "lowest" else o > i)]
        blocked = st["ties"] == "rule" and tie != "uniform" and preferred and mkt.opt[j] <= max(preferred)
        split = st["ties"] == "rule" and tie == "uniform" and mkt.opt[j] <= v_out
        leave = sum(gain) / len(top) if tie == "uniform" else gain[-1 if tie == "highest" else 0]
        dev.v_out.append(v_out)
        dev.leave.append(leave if mkt.noinfo[j] <= v_out else NEG)
        dev.attract.append(mkt.opt[j] >= v_out and not blocked)
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


def attract_lp(mkt: Market, dev: Deviation, i: int, j: int) -> LP:
    """Provider i persuading user j alone (docs/model.md §8.1): columns σ[x, a] at x·|A| + a,
    objective E[U_i(j)] (unweighted). Rows: simplex (per x, = 1); obedience (a, b), a ≠ b in
    ``itertools.permutations`` order (≥ 0); participation (≥ V_out; absent without another
    provider). User rows are in units of her range: under the simplex rows, Σ σ·Eunit =
    (Σ σ·E − min u_j)/range_j, so they describe exactly the same schemes."""
    na, E = mkt.na, mkt.Eunit[j]
    lp = LP(mkt.nx * na, {x * na + a: mkt.EU[i][j][x][a] for x in range(mkt.nx) for a in range(na)})
    for x in range(mkt.nx):
        lp.row({x * na + a: Fraction(1) for a in range(na)}, 1, 1)
    for a, b in itertools.permutations(range(na), 2):
        lp.row({x * na + a: E[x][a] - E[x][b] for x in range(mkt.nx)}, lo=Fraction(0))
    lp.row({x * na + a: E[x][a] for x in range(mkt.nx) for a in range(na)}, lo=mkt.unit(j, dev.v_out[j]))
    return lp


def set_lp(mkt: Market, dev: Deviation, i: int, T: tuple) -> LP:
    """One anonymous scheme attracting exactly the users in T (docs/model.md §8.2). Signals are
    recommendation profiles s ∈ A^T (``itertools.product`` order); columns σ[x, s] at x·n_s + s, then
    t[q, s] at nx·n_s + q·n_s + s for the q-th user not in T (N). Objective Σ_{j∈T} p_j (w_j·own_j + c_j)
    + Σ_{j∈N} p_j·leave_j. Rows: simplex (per x, = 1); obedience (j ∈ T, s, b ≠ s_j: ≥ 0);
    participation (j ∈ T: ≥ V_out); epigraph (q, s, a: t[q, s] − Σ_x σ(x, s) Eunit[x][a] ≥ 0); budget
    (q: Σ_s t[q, s] ≤ V_out) — N's users do not prefer i (t ∈ [0, 1] loses nothing: Eunit ≥ 0, Σ ≤ 1)."""
    nx, S = mkt.nx, list(itertools.product(range(mkt.na), repeat=len(T)))
    N, ns = [j for j in range(mkt.m) if j not in T], len(S)
    gain = {j: [[mkt.p[j] * dev.w[j] * e for e in row] for row in mkt.EU[i][j]] for j in T}
    c = {x * ns + s: sum((gain[j][x][S[s][k]] for k, j in enumerate(T)), Fraction(0)) for x in range(nx) for s in range(ns)}
    lp = LP(nx * ns + len(N) * ns, c, sum(mkt.p[j] * dev.c[j] for j in T) + sum(mkt.p[j] * dev.leave[j] for j in N))
    for x in range(nx):
        lp.row({x * ns + s: Fraction(1) for s in range(ns)}, 1, 1)
    for k, j in enumerate(T):
        E = mkt.Eunit[j]
        diff = [[[E[x][a] - E[x][b] for x in range(nx)] for b in range(mkt.na)] for a in range(mkt.na)]
        for s, b in itertools.product(range(ns), range(mkt.na)):
            if b != S[s][k]:
                lp.row({x * ns + s: diff[S[s][k]][b][x] for x in range(nx)}, lo=Fraction(0))
    for k, j in enumerate(T):
        lp.row({x * ns + s: mkt.Eunit[j][x][S[s][k]] for x in range(nx) for s in range(ns)}, lo=mkt.unit(j, dev.v_out[j]))
    for q, j in enumerate(N):
        minus = [[-e for e in row] for row in mkt.Eunit[j]]
        for s, a in itertools.product(range(ns), range(mkt.na)):
            lp.row({**{x * ns + s: minus[x][a] for x in range(nx)}, nx * ns + q * ns + s: Fraction(1)}, lo=Fraction(0))
    for q, j in enumerate(N):
        lp.row({nx * ns + q * ns + s: Fraction(1) for s in range(ns)}, hi=mkt.unit(j, dev.v_out[j]))
    return lp


def order_key(v):
    return (0, 0) if v == NEG else (2, 0) if v == POS else (1, v)


def relaxation(mkt: Market, dev: Deviation, A: dict, T: tuple, group: list):
    """Σ_{j∈T} p_j A_j + Σ_{j∈group∖T} p_j leave_j, each user persuaded alone: an upper bound for set T
    (merging T's recommendation profiles by j's action gives a feasible scheme of j's persuasion LP)."""
    rest = [j for j in group if j not in T]
    terms = [A.get(j, POS) if dev.attract[j] else NEG for j in T] + [dev.leave[j] for j in rest]
    if NEG in terms or POS in terms:
        return NEG if NEG in terms else POS
    return sum((mkt.p[j] * v for j, v in zip([*T, *rest], terms)), Fraction(0))


def provider_bound(mkt: Market, dev: Deviation, groups: list, A: dict, sets: dict):
    """``Σ_groups max_{T ⊆ group} min(relaxation_T, LP_T)`` with ``A[j] = w_j·(persuasion bound) + c_j``
    per certified user and ``sets[T]`` the bound of set T's LP (NEG: proven infeasible). Every
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


def settings_of(sd: dict) -> dict:
    """The rule and settings; the users' tie tolerance must be 0 (exact ties)."""
    st = {key: choice(sd, key, allowed, "settings") for key, allowed in (
        ("regime", ("personalized", "anonymous")), ("mode", ("actions", "usage")),
        ("provider_tie", ("lowest", "highest", "uniform")), ("action_tie", ("lowest", "highest", "recommended")),
        ("ties", ("rule", "deviator")))}
    if rational(get(sd, "tie_tolerance", "settings"), "settings.tie_tolerance") != 0:
        raise Malformed("settings.tie_tolerance: this checker proves exact ties only (0)")
    st["tolerance"] = rational(get(sd, "tolerance", "settings"), "settings.tolerance")
    if not 0 <= st["tolerance"] <= 1:
        raise Malformed("settings.tolerance: expected a regret tolerance in [0, 1]")
    return st


def schemes_of(doc: dict, mkt: Market, regime: str, problems: list) -> list:
    """``schemes[o][j]``: the scheme user j sees from provider o; rows must be distributions."""
    raw = get(doc, "profile", "certificate", list)
    if len(raw) != mkt.k or (regime == "personalized" and not all(isinstance(r, list) and len(r) == mkt.m for r in raw)):
        raise Malformed(f"profile: expected one {'list of schemes per user' if regime == 'personalized' else 'scheme'} per provider")
    out = []
    for o in range(mkt.k):
        per = raw[o] if regime == "personalized" else [raw[o]] * mkt.m
        out.append([array(per[j], (mkt.nx, None), f"profile[{o}]" + (f"[{j}]" if regime == "personalized" else "")) for j in range(mkt.m)])
        for j, sig in enumerate(out[-1]):
            if len({len(r) for r in sig}) != 1 or min(min(r) for r in sig) < 0 or any(sum(r) != 1 for r in sig):
                problems.append(f"profile: the scheme of {mkt.providers[o]} for {mkt.users[j]} is not row-stochastic (rows sum exactly to 1)")
    return out


KINDS = ("attract", "attracted_set")  # a later regime (menus) adds kinds here and in lp_of
MAX_USERS, MAX_SIGNALS = 16, 2**16  # anonymous: 2^16 attracted sets to enumerate; joint signals of one set's LP


def lp_of(entry: dict, mkt: Market, dev: Deviation, i: int, regime: str, where: str):
    """``(key, LP)`` named by a file entry; the LP is built from the market and profile only."""
    if choice(entry, "kind", KINDS, where) == "attract":
        j = get(entry, "user", where, int)
        if not 0 <= j < mkt.m:
            raise Malformed(f"{where}.user: expected a user index in 0..{mkt.m - 1}")
        return ("user", j), attract_lp(mkt, dev, i, j)
    T = get(entry, "set", where, list)
    if regime != "anonymous" or not all(type(j) is int and 0 <= j < mkt.m for j in T) or sorted(set(T)) != T:
        raise Malformed(f"{where}.set: expected increasing user indices (anonymous regime)")
    if mkt.na ** len(T) > MAX_SIGNALS:
        raise Malformed(f"{where}.set: {mkt.na}^{len(T)} joint signals, beyond this checker's limit of {MAX_SIGNALS}")
    return ("set", tuple(T)), set_lp(mkt, dev, i, tuple(T))


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
    st = settings_of(get(doc, "settings", "certificate", dict))
    schemes = schemes_of(doc, mkt, st["regime"], problems)
    if problems:
        return Report("equilibrium", [f"certificate rejected: {p}" for p in problems], 1, problems)
    resp, rec = respond(mkt, schemes, st), get(doc, "response", "certificate", dict)
    for key, dims in (("values", (mkt.k, mkt.m)), ("shares", (mkt.k, mkt.m)), ("utilities", (mkt.m,))):
        _compare(problems, f"response.{key}", array(get(rec, key, "response"), dims, f"response.{key}"), getattr(resp, key))
    _compare(problems, "response.actions", get(rec, "actions", "response"), resp.actions)
    _compare(problems, "payoffs", array(get(doc, "payoffs", "certificate"), (mkt.k,), "payoffs"), resp.payoffs)
    provs = get(doc, "providers", "certificate", list)
    if len(provs) != mkt.k:
        raise Malformed(f"providers: expected {mkt.k} entries")
    groups = [[j] for j in range(mkt.m)] if st["regime"] == "personalized" else [list(range(mkt.m))]
    if st["regime"] == "anonymous" and mkt.m > MAX_USERS:
        raise Malformed(f"market: {mkt.m} users, beyond this checker's limit of {MAX_USERS} in the anonymous regime")
    lines = [f"certificate: {st['regime']} profile in market {mkt.name!r} ({mkt.m} user{'s' * (mkt.m != 1)}, {mkt.k} providers; "
             f"payoffs from {st['mode']}; users' ties: providers {st['provider_tie']}, actions {st['action_tie']}, "
             f"exact; deviations' provider ties: {st['ties']}); market sha256 {fingerprint(doc['market'])[:16]}"]
    notes = doc["market"].get("renormalized")
    lines += [f"  note: {n}" for n in (notes if isinstance(notes, list) else []) if isinstance(n, str)]
    shown = [f"{mkt.users[j]} {approx(resp.utilities[j])} (" + ", ".join(mkt.providers[o] for o in range(mkt.k) if resp.shares[o][j]) + ")"
             for j in range(min(mkt.m, 10))]
    lines.append("users (utility, consults): " + "; ".join(shown) + (f"; … {mkt.m - 10} more" if mkt.m > 10 else ""))
    regrets = []
    for i, entry in enumerate(provs):
        where, name, dev = f"providers[{i}]", mkt.providers[i], deviation(mkt, resp, i, st)
        A, sets = {}, {}
        lps = get(entry, "lps", where, list)
        for n, lp_entry in enumerate(lps):
            key, lp = lp_of(lp_entry, mkt, dev, i, st["regime"], f"{where}.lps[{n}]")
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
        bound, uncovered = provider_bound(mkt, dev, groups, A, sets)
        if bound in (NEG, POS):
            problems.append(f"provider {name}: " + (f"attracted set {list(uncovered)} is covered by no certificate"
                                                       if bound == POS else "every deviation is proven impossible"))
            continue
        regrets.append(bound - resp.payoffs[i])
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
    if doc.get("version") != VERSION:
        raise Malformed(f"certificate version {str(doc.get('version'))[:20]!r}: this checker reads version {VERSION}")
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
