"""Reading and writing market files (docs/model.md §13), YAML or JSON.

``load_market(path)`` validates every rule of §13 and raises
:class:`~pluralign.model.validation.MarketFileError` listing each problem with its
field path and line, e.g. ``prosecutor.yaml:12: users[0].utility.convict:
expected 2 values (one per state), got 3``. ``save_market`` / ``dump_market`` write
a market back; reading what was written gives an identical market.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pluralign.model import documents, limits
from pluralign.model.documents import DocumentError
from pluralign.model.market import Market
from pluralign.model.messages import choices, describe, escape, hint, show
from pluralign.model.validation import (
    PROB_TOL,
    Collector,
    MarketError,
    MarketFileError,
    Problem,
    check_count,
    check_distribution,
    check_name,
    check_names,
    check_text,
    check_unit_number,
    format_path,
    is_number,
    key_part,
    normalized_masses,
    number,
)

__all__ = [
    "load_market",
    "parse_market",
    "parse_market_bytes",
    "validate_market_file",
    "market_to_dict",
    "dump_market",
    "save_market",
]

TOP_FIELDS = (
    "name", "description", "states", "prior", "signals", "observation", "private", "actions", "normalize", "users", "providers",
)
PRIVATE_FIELDS = ("signals", "observation")
USER_FIELDS = ("name", "mass", "utility")
PROVIDER_FIELDS = ("name", "utility")


# ---------------------------------------------------------------- reading


def _format_of(path: Path) -> str:
    return "json" if path.suffix.lower() == ".json" else "yaml"


def _document_error(exc: DocumentError, source: str) -> MarketFileError:
    return MarketFileError([Problem(format_path(path), message, source, line) for path, message, line in exc.problems])


def load_market(path: str | Path) -> Market:
    """Read and validate a market file; raise :class:`MarketFileError` on any problem.

    Files beyond ``limits.MAX_FILE_BYTES`` are refused before being read in full.
    """
    path = Path(path)
    source = escape(str(path), 200)
    try:
        text = documents.read_text(path, limits.MAX_FILE_BYTES)
    except DocumentError as exc:
        raise _document_error(exc, source) from None
    return parse_market(text, source=source, fmt=_format_of(path), default_name=escape(path.stem, 200))


def parse_market_bytes(raw: bytes, source: str = "<market>", fmt: str = "yaml", default_name: str = "market") -> Market:
    """:func:`parse_market` of a file's bytes, decoded as :func:`load_market` does (UTF-8, or a BOM's encoding)."""
    if len(raw) > limits.MAX_FILE_BYTES:
        raise MarketFileError([Problem("", f"file too large: more than {limits.size_text(limits.MAX_FILE_BYTES)} (the limit for this kind of file)", source)])
    try:
        text = documents.decode(raw)
    except DocumentError as exc:
        raise _document_error(exc, source) from None
    return parse_market(text, source=source, fmt=fmt, default_name=default_name)


def validate_market_file(path: str | Path) -> list[Problem]:
    """Every problem in a market file (an empty list when it is valid)."""
    try:
        load_market(path)
    except MarketFileError as exc:
        return exc.problems
    return []


def parse_market(text: str, source: str = "<market>", fmt: str = "yaml", default_name: str = "market") -> Market:
    """Parse market text (``fmt`` is ``"yaml"`` or ``"json"``) into a validated :class:`Market`.

    Raises :class:`MarketFileError` for any problem, each with its field path and line
    (see :mod:`pluralign.model.documents` for what is refused before validation).
    """
    if len(text) > limits.MAX_FILE_BYTES:
        raise MarketFileError([Problem("", f"text too large: {len(text):,} characters (the limit is {limits.size_text(limits.MAX_FILE_BYTES)})", source)])
    try:
        data, lines = documents.parse(text, fmt)
    except DocumentError as exc:
        raise _document_error(exc, source) from None
    out = Collector(source, lines)
    fields = _read_document(data, out, default_name)
    if out:
        raise MarketFileError(out.problems, out.omitted)
    try:
        return Market.from_arrays(**fields)
    except MarketError as exc:  # a rule the file checks missed: still a located, one-line error
        raise MarketFileError([Problem(p.path, p.message, source, lines.root) for p in exc.problems]) from None


def _read_document(data: Any, out: Collector, default_name: str) -> dict:
    if not isinstance(data, dict):
        out.add((), f"a market file must be a mapping with fields {', '.join(TOP_FIELDS)}, got {describe(data)}")
        return {}
    for key in data:
        if key not in TOP_FIELDS:
            out.add((key_part(key),), f"unknown field; expected one of {', '.join(TOP_FIELDS)}{hint(key, 'name') if not isinstance(key, str) else ''}")
    for key in ("states", "prior", "actions", "users", "providers"):
        if key not in data:
            out.add((), f"missing required field {key!r}")

    name = data.get("name", default_name)
    check_name(name, ("name",), out, "market name")
    description = data.get("description")
    if description is not None:
        check_text(description, ("description",), out, "the description")
    normalize = data.get("normalize", False)
    if not isinstance(normalize, bool):
        out.add(("normalize",), f"expected true or false, got {describe(normalize)}{hint(normalize, 'boolean')}")
        normalize = False

    states = check_names(data["states"], ("states",), out, "state", limits.MAX_STATES) if "states" in data else None
    actions = check_names(data["actions"], ("actions",), out, "action", limits.MAX_ACTIONS) if "actions" in data else None
    n_y = len(states) if states else None

    prior = None
    if "prior" in data:
        prior = _read_vector(data["prior"], ("prior",), out, n_y, "one per state", "prior probability")
        if prior is not None:
            check_distribution(prior, ("prior",), out, "prior probabilities")

    signals, observation = _read_observation(data, out, states)
    private_signals, private_observation = _read_private(data, out, states)
    if not _size_ok(data, out, actions, n_y):
        return {}
    users, masses, u = _read_users(data.get("users", _MISSING), out, actions, n_y, normalize)
    providers, U, user_specific = _read_providers(data.get("providers", _MISSING), out, actions, n_y, users)
    if out:
        return {}
    return dict(
        prior=np.array(prior, dtype=float),
        observation=observation,
        p=np.array(masses, dtype=float),
        u=u,
        U=U,
        name=name,
        states=states,
        observations=signals,
        actions=actions,
        users=users,
        providers=providers,
        description=description,
        normalize=normalize,
        user_specific=user_specific,
        private_signals=private_signals,
        private_observation=private_observation,
    )


def _read_private(data: dict, out: Collector, states: list[str] | None):
    """The optional ``private:`` block (docs/model.md §13, §14): what users observe privately,
    ``signals`` (names of z) and ``observation`` (P(z | state), one row per state, summing to 1)."""
    if "private" not in data:
        return None, None
    block = data["private"]
    if not isinstance(block, dict):
        out.add(("private",), f"expected a mapping with 'signals' and 'observation', got {describe(block)}")
        return None, None
    for key in block:
        if key not in PRIVATE_FIELDS:
            out.add(("private", key_part(key)), f"unknown field; expected one of {', '.join(PRIVATE_FIELDS)}")
    missing = [key for key in PRIVATE_FIELDS if key not in block]
    if missing:
        out.add(("private",), f"missing required field {missing[0]!r} (what users observe privately needs both "
                              "'signals' and 'observation')")
        return None, None
    signals = check_names(block["signals"], ("private", "signals"), out, "private signal", limits.MAX_SIGNALS)
    table = block["observation"]
    if not isinstance(table, dict):
        out.add(("private", "observation"), f"expected a mapping from each state to P(private signal | state), got {describe(table)}")
        return None, None
    if states is None or signals is None:
        return None, None
    _check_keys(table, states, ("private", "observation"), out, "state")
    rows = []
    for y in states:
        path = ("private", "observation", y)
        row = _read_vector(table.get(y), path, out, len(signals), "one per private signal", "probability") if y in table else None
        if row is not None:
            check_distribution(row, path, out, "P(private signal | state)")
        rows.append(row)
    if any(r is None for r in rows):
        return signals, None
    return signals, np.array(rows, dtype=float)


def _size_ok(data: dict, out: Collector, actions, n_y) -> bool:
    """Users and providers within their limits, and all utility entries within ``MAX_ENTRIES`` — before any is read."""
    counts = {}
    for field, limit in (("users", limits.MAX_USERS), ("providers", limits.MAX_PROVIDERS)):
        items = data.get(field)
        counts[field] = len(items) if isinstance(items, list) else 0
        if not check_count(counts[field], limit, (field,), out, field):
            return False
    if actions and n_y:
        entries = counts["users"] * len(actions) * n_y * (1 + counts["providers"])
        if entries > limits.MAX_ENTRIES:
            out.add((), (
                f"market too large: {counts['users']:,} users × {len(actions):,} actions × {n_y:,} states × "
                f"(1 + {counts['providers']:,} providers) = {entries:,} utility entries (the limit is {limits.MAX_ENTRIES:,})"
            ))
            return False
    return True


def _unit_row_fast(values: list) -> bool:
    """True when every entry is an int or float in [0, 1] (checked with numpy; the common case)."""
    if not all(type(v) is float or type(v) is int for v in values):
        return False
    try:
        arr = np.array(values, dtype=float)
    except OverflowError:
        return False
    return bool(np.all((arr >= 0.0) & (arr <= 1.0)))


def _read_vector(values: Any, path: tuple, out: Collector, n: int | None, per: str, what: str) -> list | None:
    if not isinstance(values, list):
        out.add(path, f"expected a list of numbers ({per}), got {describe(values)}")
        return None
    if n is not None and len(values) != n:
        out.add(path, f"expected {n} values ({per}), got {len(values)}")
        return None
    if _unit_row_fast(values):
        return values
    ok = all([check_unit_number(v, path + (k,), out, what) for k, v in enumerate(values)])  # noqa: C419 - report every entry
    return values if ok else None


def _read_observation(data: dict, out: Collector, states: list[str] | None):
    has_signals, has_obs = "signals" in data, "observation" in data
    if not has_signals and not has_obs:
        return None, None
    if has_signals != has_obs:
        missing = "observation" if has_signals else "signals"
        present = "signals" if has_signals else "observation"
        out.add((present,), f"'{present}' needs '{missing}' as well (or remove both: providers then observe the state)")
        return None, None
    signals = check_names(data["signals"], ("signals",), out, "signal", limits.MAX_SIGNALS)
    table = data["observation"]
    if not isinstance(table, dict):
        out.add(("observation",), f"expected a mapping from each state to P(signal | state), got {describe(table)}")
        return None, None
    if states is None or signals is None:
        return None, None
    _check_keys(table, states, ("observation",), out, "state")
    rows = []
    for y in states:
        row = _read_vector(table.get(y), ("observation", y), out, len(signals), "one per signal", "probability") if y in table else None
        if row is not None:
            check_distribution(row, ("observation", y), out, "P(signal | state)")
        rows.append(row)
    if any(r is None for r in rows):
        return signals, None
    return signals, np.array(rows, dtype=float)


def _check_keys(table: dict, expected: list[str], path: tuple, out: Collector, what: str) -> None:
    """Keys of ``table`` are exactly ``expected`` (set lookups: linear in the table's size)."""
    known = set(expected)
    for key in table:
        if not isinstance(key, str) or key not in known:
            extra = hint(key, "name") if not isinstance(key, str) else ""
            out.add(path + (key_part(key),), f"unknown {what} {show(key)}{extra}; expected one of {choices(expected)}")
    missing = [key for key in expected if key not in table]
    for key in missing:
        out.add(path, f"missing {what} {show(key)}")


def _read_table(table: Any, path: tuple, out: Collector, actions: list[str] | None, n_y: int | None) -> np.ndarray | None:
    """A utility table: one row per action, one value in [0, 1] per state."""
    if not isinstance(table, dict):
        out.add(path, f"expected a table (one row per action), got {describe(table)}")
        return None
    if actions is None:
        return None
    _check_keys(table, actions, path, out, "action")
    rows = [
        _read_vector(table[a], path + (a,), out, n_y, "one per state", "utility") if a in table else None
        for a in actions
    ]
    if any(r is None for r in rows) or n_y is None:
        return None
    return np.array(rows, dtype=float)


_MISSING = object()  # a required list left out (reported once, as a missing field)


def _read_named_list(items: Any, field: str, out: Collector, allowed: tuple) -> list[tuple[int, dict]]:
    if items is _MISSING:
        return []
    if not isinstance(items, list):
        out.add((field,), f"expected a list of {field}, got {describe(items)}")
        return []
    if not items:
        out.add((field,), f"expected at least one entry in {field}, got an empty list")
        return []
    good = []
    names: set[str] = set()
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            out.add((field, k), f"expected a mapping with fields {', '.join(allowed)}, got {describe(item)}")
            continue
        for key in item:
            if key not in allowed:
                out.add((field, k, key_part(key)), f"unknown field; expected one of {', '.join(allowed)}")
        if "name" not in item:
            out.add((field, k), "missing required field 'name'")
            continue
        nm = item["name"]
        if not check_name(nm, (field, k, "name"), out, f"{field[:-1]} name"):
            continue
        if nm in names:
            out.add((field, k, "name"), f"duplicate {field[:-1]} name {show(nm)}")
        names.add(nm)
        good.append((k, item))
    return good


def _read_users(items: Any, out: Collector, actions, n_y, normalize: bool):
    entries = _read_named_list(items, "users", out, USER_FIELDS)
    names, masses, tables = [], [], []
    for k, item in entries:
        names.append(item["name"])
        mass = item.get("mass")
        if "mass" not in item:
            out.add(("users", k), "missing required field 'mass'")
        elif not is_number(mass):
            out.add(("users", k, "mass"), f"mass must be a positive number, got {describe(mass)}{hint(mass, 'number')}")
        elif number(mass) <= 0 or math.isnan(number(mass)):
            out.add(("users", k, "mass"), f"mass must be a positive number, got {show(mass)}")
        elif not math.isfinite(number(mass)):
            out.add(("users", k, "mass"), f"mass must be a finite number, got {show(mass)}")
        elif not normalize and number(mass) > 1:
            out.add(("users", k, "mass"), f"mass must be at most 1 (or set 'normalize: true'), got {show(mass)}")
        masses.append(mass)
        if "utility" not in item:
            out.add(("users", k), "missing required field 'utility'")
            tables.append(None)
        else:
            tables.append(_read_table(item["utility"], ("users", k, "utility"), out, actions, n_y))
    masses_ok = bool(masses) and all(is_number(v) and math.isfinite(number(v)) and number(v) > 0 for v in masses)
    if masses_ok and not normalize:
        total = math.fsum(number(v) for v in masses)
        if abs(total - 1.0) > PROB_TOL:
            out.add(("users",), f"user masses must sum to 1, got {total:.12g} (or set 'normalize: true')")
    elif masses_ok and len(masses) == len(entries):
        shares = normalized_masses(np.array([number(v) for v in masses]))
        for (k, _), share, mass in zip(entries, shares, masses):
            if share <= 0:
                out.add(("users", k, "mass"), f"mass {show(mass)} is too small next to the largest mass: it would normalize to 0")
    if not entries or any(t is None for t in tables):
        return names, masses, None
    return names, masses, np.stack(tables)


def _read_providers(items: Any, out: Collector, actions, n_y, users: list[str]):
    entries = _read_named_list(items, "providers", out, PROVIDER_FIELDS)
    names, per_provider, flags = [], [], []
    for k, item in entries:
        names.append(item["name"])
        path = ("providers", k, "utility")
        table = item.get("utility")
        if "utility" not in item:
            out.add(("providers", k), "missing required field 'utility'")
            per_provider.append(None)
            flags.append(False)
            continue
        if _is_per_user(table, actions):
            flags.append(True)
            _check_keys(table, users, path, out, "user")
            stacked = [
                _read_table(table[name], path + (name,), out, actions, n_y) if name in table else None
                for name in users
            ]
            per_provider.append(None if not stacked or any(s is None for s in stacked) else np.stack(stacked))
        else:
            flags.append(False)
            t = _read_table(table, path, out, actions, n_y)
            per_provider.append(None if t is None else np.broadcast_to(t, (len(users),) + t.shape))
    if not entries or any(t is None for t in per_provider) or not users:
        return names, None, flags
    return names, np.stack(per_provider), flags


def _is_per_user(table: Any, actions: list[str] | None) -> bool:
    """Per-user form: a mapping whose values are tables (mappings), not rows (lists)."""
    if not isinstance(table, dict) or not table:
        return False
    return all(isinstance(v, dict) for v in table.values())


# ---------------------------------------------------------------- writing


def _num(v: float):
    """Integral floats are written as integers (1, not 1.0); others with their exact repr."""
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def _table(arr: np.ndarray, actions) -> dict:
    return {a: [_num(v) for v in arr[k]] for k, a in enumerate(actions)}


def market_to_dict(market: Market) -> dict:
    """The market as plain data in the file format of docs/model.md §13."""
    doc: dict[str, Any] = {"name": market.name}
    if market.description is not None:
        doc["description"] = market.description
    doc["states"] = list(market.states)
    doc["prior"] = [_num(v) for v in market.prior]
    if market.observation is not None:
        doc["signals"] = list(market.observations)
        doc["observation"] = {y: [_num(v) for v in market.observation[k]] for k, y in enumerate(market.states)}
    if market.private_observation is not None:
        doc["private"] = {
            "signals": list(market.private_signals),
            "observation": {y: [_num(v) for v in market.private_observation[k]] for k, y in enumerate(market.states)},
        }
    doc["actions"] = list(market.actions)
    if market.normalize:
        doc["normalize"] = True
    doc["users"] = [
        {"name": name, "mass": _num(market.mass[j]), "utility": _table(market.u[j], market.actions)}
        for j, name in enumerate(market.users)
    ]
    providers = []
    for i, name in enumerate(market.providers):
        if market.user_specific[i]:
            utility = {user: _table(market.U[i, j], market.actions) for j, user in enumerate(market.users)}
        else:
            utility = _table(market.U[i, 0], market.actions)
        providers.append({"name": name, "utility": utility})
    doc["providers"] = providers
    return doc


def dump_market(market: Market, fmt: str = "yaml") -> str:
    """Market file text (``fmt`` is ``"yaml"`` or ``"json"``)."""
    doc = market_to_dict(market)
    if fmt == "json":
        return json.dumps(doc, indent=2) + "\n"
    if fmt != "yaml":
        raise ValueError(f"unknown format {fmt!r}; choose 'yaml' or 'json'")
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, allow_unicode=True, width=100)


def save_market(market: Market, path: str | Path) -> Path:
    """Write a market file; the format follows the suffix (``.json`` or YAML)."""
    path = Path(path)
    path.write_text(dump_market(market, _format_of(path)), encoding="utf-8")
    return path
