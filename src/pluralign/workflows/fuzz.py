"""Fuzzing market files and sweep configs: seeded mutations, run in-process, outcomes counted.

Every bundled market (``pluralign.catalog``) and example (``examples/``) is written as
YAML and JSON, then mutated — values swapped for edge cases (huge, long, NaN, texts that
YAML reads as numbers or booleans, control characters), keys duplicated, nesting deepened,
aliases looped or multiplied, bytes flipped, encodings changed, files cut short. Each case
must end in one of two ways:

* **accepted**, and then the market is sound: finite arrays, ``p`` and the prior summing
  to exactly 1, printable names, and an identical market after writing and reading it;
* **refused** with a :class:`~pluralign.model.validation.MarketFileError` whose every
  problem has a field path or a line, on one printable line.

Anything else (another exception, an unlocated problem, an unsound accepted market) is a
failure. Case ``k`` of seed ``s`` depends only on ``(s, k)``, so runs are reproducible.
``python -m pluralign.workflows.fuzz --cases 10000 --cli 300`` (``make fuzz``) also runs
a sample through the command line (exit 0 or 2, one-line errors, never an internal
error), bad option values, and mutated sweep configs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import math
import random
import re
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pluralign.model.io import dump_market, market_to_dict, parse_market, parse_market_bytes
from pluralign.model.messages import bad_char
from pluralign.model.validation import MarketFileError

__all__ = ["Case", "Outcome", "sources", "make_case", "run_case", "fuzz_markets", "fuzz_configs", "fuzz_cli", "main"]

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"


# ----------------------------------------------------------------------------- seeds


def sources() -> dict[str, dict]:
    """The documents mutated: every bundled market and every market in ``examples/`` (as plain data)."""
    from pluralign import catalog
    from pluralign.model.io import load_market

    docs = {name: market_to_dict(catalog.load(name)) for name in catalog.names()}
    for path in sorted(EXAMPLES.glob("*.yaml")) if EXAMPLES.is_dir() else []:
        try:
            docs[f"examples/{path.name}"] = market_to_dict(load_market(path))
        except MarketFileError:
            continue  # not a market (a sweep config)
    return docs


def config_sources() -> dict[str, dict]:
    """Sweep configs mutated: ``examples/sweep_*.yaml`` and a small built-in one."""
    docs = {"builtin": {"experiment": "value_of_information", "grid": {"n_states": [2, 3]}, "seeds": 2}}
    for path in sorted(EXAMPLES.glob("sweep*.yaml")) if EXAMPLES.is_dir() else []:
        docs[f"examples/{path.name}"] = yaml.safe_load(path.read_text())
    return docs


# ----------------------------------------------------------------------------- edge values

_BIG = "1" + "0" * 4400
EDGE_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 2, 0.5, -0.0, 1e308, -1e308, 5e-324, float("nan"), float("inf"), -float("inf"),
    10**350, 10**400, "", " ", "7e-1", "1e3", "0.5", "yes", "no", "on", "1/2", "a\x00b", "a\x07b", "a\nb", "a\u2028b",
    "\ud800", "x" * 5000, "é☃\U0001f600", [], {}, [[[]]], {"a": 1}, [0.5] * 50, dt.date(2024, 1, 1),
    0.7000000009, 0.2999999991, 1 + 1e-10, 1e-320,
]
EDGE_TOKENS: list[str] = [
    _BIG, "0x" + "f" * 5000, "-" + _BIG, "1" + "0" * 350, "1e400", "-1e400", "7e-1", "1.0e+308", ".nan", ".inf",
    "-.inf", "NaN", "Infinity", "yes", "no", "on", "null", "~", "2024-01-01", "2024-02-30", "0b101", "0o17",
    "1_000", "12:30", "-0", "5e-324", "1/2", "'0.5'", '"0.5"', "!!float 1", "!!int 1.5", "!!str 1", "!!binary aGk=",
    "!!python/object:os.system x", "!custom 1", "&a 1", "*a", "*nowhere", "{}", "[]", "[0.5]", "0.7000000009",
    "<<", "? x", "|\n x", "!!timestamp x", '"\\ud800"', '"\\x07"', '"\\0"',
]
NAME_VALUES: list[Any] = ["", " ", "yes", "on", 1, 1.5, True, None, "a\x00b", "a\tb", "a\nb", "\ud800", "a\u2028b",
                          "\x1b[31mred", "x" * 5000, "dup", dt.date(2024, 1, 1), ["a"], {"a": 1}]
SPECIAL_CHARS = list(":[]{}&*!\t\"'#\n-%@`|>,?\\\x00\x7f\x85\u2028\ufeff")


def _paths(doc: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_paths(v, (*path, k)))
    elif isinstance(doc, list):
        for k, v in enumerate(doc):
            out.extend(_paths(v, (*path, k)))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


# ----------------------------------------------------------------------------- mutations: structure


def _leaf_value(rng: random.Random, doc: dict) -> Any:
    path = rng.choice(_paths(doc)[1:])
    return _set(doc, path, rng.choice(EDGE_VALUES))


def _delete(rng: random.Random, doc: dict) -> Any:
    path = rng.choice(_paths(doc)[1:])
    del _get(doc, path[:-1])[path[-1]]
    return doc


def _duplicate_item(rng: random.Random, doc: dict) -> Any:
    lists = [p for p in _paths(doc) if isinstance(_get(doc, p), list) and _get(doc, p)]
    target = _get(doc, rng.choice(lists))
    target.insert(rng.randrange(len(target) + 1), json.loads(json.dumps(rng.choice(target), default=str)))
    return doc


def _unknown_key(rng: random.Random, doc: dict) -> Any:
    maps = [p for p in _paths(doc) if isinstance(_get(doc, p), dict)]
    key = rng.choice(["extra", "Prior", "utilty", "1", "", " ", "a\x07", "x" * 300])
    _get(doc, rng.choice(maps))[key] = rng.choice(EDGE_VALUES[:12])
    return doc


def _rename(rng: random.Random, doc: dict) -> Any:
    field = rng.choice(["states", "actions", "users", "providers", "name", "signals"])
    new = rng.choice(NAME_VALUES)
    if field == "name" or not isinstance(doc.get(field), list) or not doc[field]:
        doc["name"] = new
    elif field in ("users", "providers"):
        rng.choice(doc[field])["name"] = new if new != "dup" else doc[field][0]["name"]
    else:
        k = rng.randrange(len(doc[field]))
        doc[field][k] = new if new != "dup" else doc[field][0]
    return doc


def _resize(rng: random.Random, doc: dict) -> Any:
    rows = [p for p in _paths(doc) if isinstance(_get(doc, p), list) and all(isinstance(v, (int, float)) for v in _get(doc, p))]
    row = _get(doc, rng.choice(rows))
    if row and rng.random() < 0.5:
        row.pop()
    else:
        row.append(rng.choice([0, 0.5, 1]))
    return doc


def _tolerance(rng: random.Random, doc: dict) -> Any:
    """Sums off by less than the tolerance (must be accepted and renormalized) or by more (refused)."""
    off = rng.choice([9e-10, -9e-10, 4e-10, 2e-9, -3e-9, 1e-12])
    doc["prior"][0] = doc["prior"][0] + off if doc["prior"][0] + off >= 0 else doc["prior"][0] - off
    if "observation" in doc and rng.random() < 0.7:
        row = doc["observation"][rng.choice(list(doc["observation"]))]
        row[-1] = row[-1] + off if row[-1] + off >= 0 else row[-1] - off
    if rng.random() < 0.5 and not doc.get("normalize"):
        user = rng.choice(doc["users"])
        user["mass"] = user["mass"] + off if user["mass"] + off > 0 else user["mass"] - off
    return doc


def _normalize_big(rng: random.Random, doc: dict) -> Any:
    doc["normalize"] = True
    for user in doc["users"]:
        user["mass"] = rng.choice([1e308, 1.7e308, 1e-300, 5e-324, 10**300, 10**310, 3, 1e-20])
    return doc


def _swap_type(rng: random.Random, doc: dict) -> Any:
    path = rng.choice(_paths(doc)[1:])
    value = _get(doc, path)
    if isinstance(value, (dict, list)):
        new = rng.choice([0.5, "text", None, True, [], {}])
    else:
        new = rng.choice([[value], {"v": value}, [[value]]])
    return _set(doc, path, new)


def _deep(rng: random.Random, doc: dict) -> Any:
    """A value nested 5 to 1,200 lists deep (written as text by :func:`_serialize`: no recursion here)."""
    path = rng.choice(_paths(doc)[1:])
    return _set(doc, path, f"@@DEEP{rng.choice([5, 50, 56, 57, 60, 64, 65, 100, 600, 1200])}@@")


def _many(rng: random.Random, doc: dict) -> Any:
    """Dimensions at and just beyond the documented limits (states, actions, users)."""
    from pluralign.model import limits

    which = rng.choice(["states", "actions", "users"])
    if which == "states":
        n = rng.choice([limits.MAX_STATES + 1, 2 * limits.MAX_STATES])  # (at the limit: tests/test_input_defects.py)
        doc["states"] = [f"s{k}" for k in range(n)]
        doc["prior"] = [1 / n] * n
        doc.pop("signals", None)
        doc.pop("observation", None)
    elif which == "actions":
        n = rng.choice([limits.MAX_ACTIONS + 1, 3 * limits.MAX_ACTIONS])
        doc["actions"] = [f"a{k}" for k in range(n)]
    else:  # the count is refused before any entry is read: the entries need not be users
        doc["users"] = [0] * (limits.MAX_USERS + 1)
    doc["@@compact"] = True
    return doc


def _shared(rng: random.Random, doc: dict) -> Any:
    """Utility tables shared between users and providers: YAML writes them as anchors and aliases."""
    tables = [entry for entry in (*doc["users"], *doc["providers"]) if isinstance(entry.get("utility"), dict)]
    first = rng.choice(tables)
    for entry in tables:
        if rng.random() < 0.7 and not any(isinstance(v, dict) for v in entry["utility"].values()):
            entry["utility"] = first["utility"]
    return doc


STRUCTURE: dict[str, Callable[[random.Random, dict], Any]] = {
    "value": _leaf_value,
    "delete": _delete,
    "duplicate_item": _duplicate_item,
    "unknown_key": _unknown_key,
    "name": _rename,
    "resize": _resize,
    "tolerance": _tolerance,
    "normalize_overflow": _normalize_big,
    "swap_type": _swap_type,
    "deep_data": _deep,
    "dimensions": _many,
    "shared_tables": _shared,
}


# ----------------------------------------------------------------------------- mutations: text and bytes

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")


_DEEP = re.compile(r"""['"]?@@DEEP(\d+)@@['"]?""")


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _serialize(rng: random.Random, doc: Any, fmt: str) -> str:
    compact = isinstance(doc, dict) and doc.pop("@@compact", False)  # large documents: the fast writers
    if fmt == "json":
        indent = None if compact else rng.choice([None, 2])
        text = json.dumps(doc, indent=indent, ensure_ascii=rng.random() < 0.5, default=str)
    else:
        options = dict(sort_keys=False, allow_unicode=rng.random() < 0.5, default_flow_style=True if compact else rng.choice([None, False]), width=100)
        try:
            text = yaml.dump(doc, Dumper=_Dumper, **options)
        except UnicodeEncodeError:  # libyaml's writer refuses unpaired surrogates; PyYAML's writes them
            text = yaml.dump(doc, Dumper=yaml.SafeDumper, **options)
    return _DEEP.sub(lambda m: "[" * int(m.group(1)) + "0" + "]" * int(m.group(1)), text)


def _token(rng: random.Random, text: str, fmt: str) -> str:
    spots = list(_NUMBER.finditer(text))
    if not spots:
        return text
    m = rng.choice(spots)
    return text[: m.start()] + rng.choice(EDGE_TOKENS) + text[m.end():]


def _duplicate_key(rng: random.Random, text: str, fmt: str) -> str:
    if fmt == "json":
        key = rng.choice(["prior", "name", "states", "users"])
        return text.replace("{", f'{{"{key}": [0.5, 0.5], ', 1) if rng.random() < 0.5 else text.rstrip().rstrip("}") + f', "{key}": 1}}'
    lines = text.splitlines(keepends=True)
    top = [ln for ln in lines if ln[:1].isalpha()]
    nested = [k for k, ln in enumerate(lines) if re.match(r"^\s+\w+:", ln)]
    if nested and rng.random() < 0.5:
        k = rng.choice(nested)
        lines.insert(k + 1, lines[k] if lines[k].rstrip().endswith("]") or ": " in lines[k] else lines[k])
        return "".join(lines)
    return text + (rng.choice(top) if top else "name: x\n")


def _truncate(rng: random.Random, text: str, fmt: str) -> str:
    return text[: rng.randrange(len(text) + 1)]


def _insert_char(rng: random.Random, text: str, fmt: str) -> str:
    k = rng.randrange(len(text) + 1)
    return text[:k] + rng.choice(SPECIAL_CHARS) * rng.choice([1, 1, 2, 5]) + text[k:]


def _aliases(rng: random.Random, text: str, fmt: str) -> str:
    if fmt == "json":
        return text
    extra = rng.choice([
        "loop: &r [*r]\n",
        "loop: &m {a: *m}\n",
        "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")),
        "x: &x {a: 1}\ny: {<<: *x}\n",
        "t: !!set {a, b}\n",
        "t: !!python/object:os.system {}\n",
        "t: !custom x\n",
        "t: !!omap [{a: 1}]\n",
        "t: !!binary aGVsbG8=\n",
        "t: *undefined\n",
        "? [a, b]\n: 1\n",
        "? {a: 1}\n: 1\n",
    ])
    return text + extra


def _deep_text(rng: random.Random, text: str, fmt: str) -> str:
    depth = rng.choice([63, 64, 65, 500, 1000, 5000])
    opener, closer = rng.choice([("[", "]"), ("{a: ", "}") if fmt == "yaml" else ('{"a": ', "}")])
    body = opener * depth + "1" + closer * (depth if rng.random() < 0.8 else depth // 2)
    if fmt == "json":
        return text.rstrip().rstrip("}") + f', "description": {body}}}'
    return text + f"description: {body}\n"


def _multi_doc(rng: random.Random, text: str, fmt: str) -> str:
    return rng.choice([text + "---\n" + text, "---\n" + text + "...\n", text + "\n---\n", "%YAML 1.1\n---\n" + text])


def _empty(rng: random.Random, text: str, fmt: str) -> str:
    return rng.choice(["", " ", "\n\n", "# only a comment\n", "---\n", "null\n", "[]", "{}", "~", "0", '""', "...\n", "\t"])


def _line_endings(rng: random.Random, text: str, fmt: str) -> str:
    return rng.choice([text.replace("\n", "\r\n"), text.replace("\n", "\r"), text.replace("  ", "\t"), text.replace(": ", ":")])


TEXT: dict[str, Callable[[random.Random, str, str], str]] = {
    "token": _token,
    "duplicate_key": _duplicate_key,
    "truncate": _truncate,
    "insert_char": _insert_char,
    "aliases_tags": _aliases,
    "deep_text": _deep_text,
    "documents": _multi_doc,
    "empty": _empty,
    "line_endings": _line_endings,
}


def _flip_bytes(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.choice([1, 1, 3])):
        if data:
            data[rng.randrange(len(data))] = rng.choice([0x00, 0xFF, 0xC3, 0x80, 0xED, 0x0B, 0x1B, rng.randrange(256)])
    return bytes(data)


def _encoding(rng: random.Random, raw: bytes) -> bytes:
    text = raw.decode("utf-8", "surrogatepass")
    choice = rng.choice(["bom8", "utf16", "utf16le", "utf16be_bom", "utf32", "latin1", "bom_twice", "cesu"])
    if choice == "bom8":
        return b"\xef\xbb\xbf" + raw
    if choice == "utf16":
        return text.encode("utf-16", "surrogatepass")
    if choice == "utf16le":
        return text.encode("utf-16-le", "surrogatepass")
    if choice == "utf16be_bom":
        return b"\xfe\xff" + text.encode("utf-16-be", "surrogatepass")
    if choice == "utf32":
        return text.encode("utf-32", "surrogatepass")
    if choice == "latin1":
        return text.replace("a", "é", 1).encode("latin-1", "replace")
    if choice == "bom_twice":
        return b"\xef\xbb\xbf\xef\xbb\xbf" + raw
    return text.replace("a", "\ud83d", 1).encode("utf-8", "surrogatepass")


BYTES: dict[str, Callable[[random.Random, bytes], bytes]] = {"bytes": _flip_bytes, "encoding": _encoding}

CLASSES: tuple[str, ...] = (*STRUCTURE, *TEXT, *BYTES)


# ----------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One mutated document: where it came from, how it was mutated, and its bytes."""

    source: str
    fmt: str
    mutation: str
    raw: bytes
    seed: int
    index: int


@dataclass
class Outcome:
    """``accepted`` / ``refused`` (located errors), or a failure: ``unlocated``, ``unsound``, ``exception``."""

    kind: str
    detail: str = ""
    seconds: float = 0.0


def make_case(docs: dict[str, dict], seed: int, index: int, mutation: str | None = None) -> Case:
    """Case ``index`` of ``seed``: a source, a format and a mutation class drawn from ``(seed, index)`` alone."""
    rng = random.Random(f"pluralign-fuzz:{seed}:{index}")
    name = sorted(docs)[index % len(docs)]
    fmt = ("yaml", "json")[(index // len(docs)) % 2]
    if mutation is None:
        mutation = CLASSES[(index // (2 * len(docs))) % len(CLASSES)]
    doc = json.loads(json.dumps(docs[name]))
    if mutation in STRUCTURE:
        doc = STRUCTURE[mutation](rng, doc)
        raw = _serialize(rng, doc, fmt).encode("utf-8", "surrogatepass")
    elif mutation in TEXT:
        text = TEXT[mutation](rng, _serialize(rng, doc, fmt), fmt)
        raw = text.encode("utf-8", "surrogatepass")
    else:
        raw = BYTES[mutation](rng, _serialize(rng, doc, fmt).encode("utf-8"))
    return Case(name, fmt, mutation, raw, seed, index)


def _sound(market, fmt: str) -> str | None:
    """Why an accepted market is unsound, or None."""
    for name in ("P", "p", "u", "U", "prior", "mass"):
        if not np.all(np.isfinite(getattr(market, name))):
            return f"{name} is not finite"
    if math.fsum(market.p) != 1.0:
        return f"p sums to {math.fsum(market.p)!r}"
    if abs(math.fsum(market.P.ravel()) - 1.0) > 1e-12:
        return f"P sums to {math.fsum(market.P.ravel())!r}"
    for name in (market.name, *market.states, *market.observations, *market.actions, *market.users, *market.providers):
        if bad_char(name) is not None:
            return f"name {name!r} holds {bad_char(name)}"
    again = parse_market(dump_market(market, fmt), fmt=fmt)
    if not again.equals(market):
        return "writing and reading it back gives another market"
    return None


def run_case(case: Case) -> Outcome:
    """Read a case as ``load_market`` would and classify the outcome."""
    start = time.perf_counter()
    try:
        market = parse_market_bytes(case.raw, source=f"case{case.index}.{case.fmt}", fmt=case.fmt)
    except MarketFileError as exc:
        text = str(exc)
        unlocated = [p for p in exc.problems if p.line is None and not p.path]
        if unlocated:
            return Outcome("unlocated", str(unlocated[0]), time.perf_counter() - start)
        if "\n" in text or len(text) > 2500 or bad_char(text) is not None:
            return Outcome("unlocated", f"message not one short printable line: {text[:200]!r}", time.perf_counter() - start)
        return Outcome("refused", _reason(exc.problems[0].message), time.perf_counter() - start)
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        return Outcome("exception", f"{type(exc).__name__} at {where}: {str(exc)[:200]}", time.perf_counter() - start)
    try:
        why = _sound(market, case.fmt)
    except Exception as exc:
        why = f"{type(exc).__name__} while checking: {str(exc)[:200]}"
    if why:
        return Outcome("unsound", why, time.perf_counter() - start)
    return Outcome("accepted", "", time.perf_counter() - start)


def _reason(message: str) -> str:
    """A message with its values blanked, to count refusals by reason."""
    text = re.sub(r"'[^']*'(…'?)?", "'…'", message)
    text = re.sub(r"\b\d[\d,._e+-]*\b", "N", text)
    return re.split(r"[;(]", text)[0].strip()[:60]


@dataclass
class Report:
    """Counts of one fuzz run: per mutation class and outcome, refusal reasons, failures."""

    what: str
    cases: int = 0
    by_class: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    reasons: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    slowest: tuple[float, str] = (0.0, "")

    def add(self, label: str, outcome: Outcome, where: str) -> None:
        self.cases += 1
        self.by_class[label][outcome.kind] += 1
        if outcome.kind == "refused":
            self.reasons[outcome.detail] += 1
        elif outcome.kind != "accepted":
            self.failures.append(f"{where}: {outcome.kind}: {outcome.detail}")
        if outcome.seconds > self.slowest[0]:
            self.slowest = (outcome.seconds, where)

    @property
    def ok(self) -> bool:
        return not self.failures

    def table(self, reasons: int = 20) -> str:
        kinds = ("accepted", "refused", "unlocated", "unsound", "exception")
        lines = [f"{self.what}: {self.cases:,} cases in {self.seconds:.1f} s (slowest {self.slowest[0]:.2f} s: {self.slowest[1]})"]
        lines.append(f"  {'class':<20}{'cases':>7}" + "".join(f"{k:>11}" for k in kinds))
        total: Counter = Counter()
        for label in sorted(self.by_class):
            counts = self.by_class[label]
            total.update(counts)
            lines.append(f"  {label:<20}{sum(counts.values()):>7}" + "".join(f"{counts[k]:>11}" for k in kinds))
        lines.append(f"  {'all':<20}{sum(total.values()):>7}" + "".join(f"{total[k]:>11}" for k in kinds))
        if self.reasons and reasons:
            lines.append(f"  refusals by reason (top {reasons} of {len(self.reasons)}):")
            lines.extend(f"  {n:>7}  {reason}" for reason, n in self.reasons.most_common(reasons))
        for failure in self.failures[:20]:
            lines.append(f"  FAILURE {failure}")
        return "\n".join(lines)


def fuzz_markets(cases: int, seed: int = 0, docs: dict[str, dict] | None = None) -> Report:
    """``cases`` mutated market documents, in-process."""
    docs = docs or sources()
    report = Report("market files (in-process)")
    start = time.perf_counter()
    for index in range(cases):
        case = make_case(docs, seed, index)
        report.add(case.mutation, run_case(case), f"seed {seed} case {index} ({case.source}, {case.fmt}, {case.mutation})")
    report.seconds = time.perf_counter() - start
    return report


# ----------------------------------------------------------------------------- sweep configs


def fuzz_configs(cases: int, seed: int = 0) -> Report:
    """``cases`` mutated sweep configs through ``load_config``: a config or a ``SweepConfigError``, nothing else."""
    from pluralign.workflows.sweep import SweepConfigError, load_config

    docs = config_sources()
    report = Report("sweep configs (load_config)")
    start = time.perf_counter()
    config_values = [*EDGE_VALUES, 10**30, 1e30, "1e30", 100_000, 10**7, -1, [0, 0], [2**63], list(range(5))]
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(cases):
            rng = random.Random(f"pluralign-fuzz-config:{seed}:{index}")
            name = sorted(docs)[index % len(docs)]
            fmt = rng.choice(["yaml", "json"])
            doc = json.loads(json.dumps(docs[name]))
            doc["out"] = str(Path(tmp) / "run")
            mutation = rng.choice(["value", "seeds", "text", "bytes", "deep", "alias"])
            if mutation == "value":
                path = rng.choice(_paths(doc)[1:])
                doc = _set(doc, path, rng.choice(config_values))
            elif mutation == "seeds":
                doc["seeds"] = rng.choice(config_values)
            text = _serialize(rng, doc, fmt)
            if mutation == "text":
                text = rng.choice([_token, _duplicate_key, _truncate, _insert_char, _empty])(rng, text, fmt)
            elif mutation == "deep":
                text = _deep_text(rng, text, fmt)
            elif mutation == "alias":
                text = _aliases(rng, text, fmt)
            raw = text.encode("utf-8", "surrogatepass")
            if mutation == "bytes":
                raw = rng.choice([_flip_bytes, _encoding])(rng, raw)
            path = Path(tmp) / f"sweep{index}.{fmt}"
            path.write_bytes(raw)
            t0 = time.perf_counter()
            try:
                load_config(path)
                outcome = Outcome("accepted")
            except SweepConfigError as exc:
                text = str(exc)
                bad = "\n" in text or len(text) > 5000 or bad_char(text) is not None
                outcome = Outcome("unlocated", text[:200]) if bad else Outcome("refused", _reason(exc.problems[0]))
            except Exception as exc:
                outcome = Outcome("exception", f"{type(exc).__name__}: {str(exc)[:200]}")
            outcome.seconds = time.perf_counter() - t0
            report.add(mutation, outcome, f"config case {index} ({name}, {fmt}, {mutation})")
    report.seconds = time.perf_counter() - start
    return report


# ----------------------------------------------------------------------------- command line


def _cli(argv: list[str]) -> tuple[int, str, str]:
    """Run ``pluralign ARGV`` in this process; ``(exit status, stdout, stderr)``."""
    import typer

    from pluralign.workflows.cli import app, run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(typer.main.get_command(app), argv)
    return code, out.getvalue(), err.getvalue()


def _cli_outcome(code: int, stdout: str, stderr: str, one_line: bool) -> Outcome:
    if "internal error" in stderr or "Traceback" in stderr:
        return Outcome("exception", stderr.strip()[:300])
    if code == 0:
        return Outcome("accepted")
    if code != 2:
        return Outcome("exception", f"exit status {code}: {stderr.strip()[:200]}")
    lines = stderr.strip().splitlines()
    if not lines or (one_line and len(lines) != 1) or any(len(ln) > 2500 for ln in lines):
        return Outcome("unlocated", f"error output of {len(lines)} lines: {stderr[:200]!r}")
    return Outcome("refused", _reason(lines[0].split(": ", 2)[-1]))


BAD_OPTIONS: list[list[str]] = [
    *[["analyze", "prosecutor", "--margin", v] for v in ("nan", "inf", "-inf", "1e308", "-1", "2", "x")],
    *[["align", "prosecutor", "--limit", v] for v in ("0", "-1", "10" * 2600, "1e3", "99999999999999999999")],
    *[["coverage", "--market", "prosecutor", "--seed", v] for v in ("-1", str(2**63), "1" * 5000)],
    *[["coverage", "--market", "prosecutor", "--test-fraction", v] for v in ("nan", "inf", "1", "-0.1")],
    *[["coverage", "--market", "prosecutor", "--subsets", v] for v in ("0", "100001", "-5")],
    *[["sweep", "examples/sweep_personalization.yaml", "--workers", v] for v in ("0", "100000", "-1")],
    *[["reproduce", "all", "--quick", "--workers", v] for v in ("0", "5000")],
    ["analyze", "x" * 5000],
    ["sweep", "x" * 5000],
    ["report", "x" * 5000],
    ["validate", "x" * 5000],
    ["analyze", "bad\nname\x07"],
    ["validate", "/nonexistent/\x1b[31m"],
]


def fuzz_cli(cases: int, seed: int = 0, docs: dict[str, dict] | None = None, subprocesses: int = 5) -> Report:
    """A sample of mutated files through ``pluralign validate`` and ``analyze --json``, and bad option values."""
    import subprocess

    docs = docs or sources()
    report = Report("command line (validate, analyze --json, bad options)")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(cases):
            case = make_case(docs, seed, index * 7 + 3)  # a different sample than the in-process run's first cases
            path = Path(tmp) / f"case{index}.{case.fmt}"
            path.write_bytes(case.raw)
            for argv, single in ((["validate", str(path)], False), (["analyze", str(path), "--json"], True)):
                t0 = time.perf_counter()
                outcome = _cli_outcome(*_cli(argv), one_line=single)
                outcome.seconds = time.perf_counter() - t0
                report.add(argv[0], outcome,
                           f"pluralign {argv[0]} case {case.index} ({case.source}, {case.fmt}, {case.mutation})")
        for argv in BAD_OPTIONS:
            t0 = time.perf_counter()
            outcome = _cli_outcome(*_cli(argv), one_line=True)
            outcome.seconds = time.perf_counter() - t0
            if outcome.kind == "accepted":
                outcome = Outcome("exception", "a bad option value was accepted")
            report.add("bad option", outcome, "pluralign " + " ".join(a[:40] for a in argv))
        exe = Path(sys.executable).with_name("pluralign")
        for index in range(subprocesses if exe.exists() else 0):
            case = make_case(docs, seed, index * 13 + 5)
            path = Path(tmp) / f"sub{index}.{case.fmt}"
            path.write_bytes(case.raw)
            t0 = time.perf_counter()
            proc = subprocess.run([str(exe), "analyze", str(path), "--json"], capture_output=True, text=True, errors="replace", timeout=300)
            outcome = _cli_outcome(proc.returncode, proc.stdout, proc.stderr, one_line=True)
            outcome.seconds = time.perf_counter() - t0
            report.add("subprocess", outcome, f"subprocess analyze case {case.index} ({case.mutation})")
    report.seconds = time.perf_counter() - start
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pluralign.workflows.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="mutated market documents, in-process")
    parser.add_argument("--cli", type=int, default=300, help="of them, also through the command line")
    parser.add_argument("--configs", type=int, default=500, help="mutated sweep configs")
    parser.add_argument("--subprocesses", type=int, default=5, help="real `pluralign` processes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    docs = sources()
    print(f"sources: {', '.join(sorted(docs))} (YAML and JSON); {len(CLASSES)} mutation classes; seed {args.seed}")
    reports = [fuzz_markets(args.cases, args.seed, docs)]
    print(reports[-1].table(), flush=True)
    if args.configs:
        reports.append(fuzz_configs(args.configs, args.seed))
        print(reports[-1].table(), flush=True)
    if args.cli:
        reports.append(fuzz_cli(args.cli, args.seed, docs, args.subprocesses))
        print(reports[-1].table(), flush=True)
    failures = sum(len(r.failures) for r in reports)
    print(f"{'OK' if not failures else 'FAILED'}: {sum(r.cases for r in reports):,} cases, {failures} failures "
          "(anything but acceptance of a sound market or a located one-line error)")
    return 0 if not failures else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
