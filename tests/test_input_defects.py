"""Inputs that never crash and never lose data: one case per defect class found by fuzzing (issue 11).

Each refused input must give a ``MarketFileError`` (or ``SweepConfigError``) whose
problems carry a field path or a line, on one short printable line, and through the
command line exit status 2 with one ``error:`` line. Each accepted input must be read
*correctly* (no lost key, no overflowed sum, exact sums where the file was within
tolerance). No test here measures time: linear behaviour is asserted on sizes and counts.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import typer
import yaml

from pluralign import catalog
from pluralign.model import documents, limits
from pluralign.model.io import load_market, market_to_dict, parse_market, parse_market_bytes
from pluralign.model.messages import LongInteger, show
from pluralign.model.validation import MarketFileError, exact_distribution
from pluralign.workflows.cli import BadInput, app, check_number, run
from pluralign.workflows.sweep import SweepConfigError, load_config, make_config

YAML_TEXT = catalog.path("prosecutor").read_text()  # prior on line 7, users from line 9
DOC = market_to_dict(catalog.load("prosecutor"))
BIG = "1" + "0" * 4400  # beyond Python's 4,300-digit limit
BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
)  # 1.1 KB, 9**9 values once expanded


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(typer.main.get_command(app), list(argv))
    return code, out.getvalue(), err.getvalue()


def json_text(change: Callable[[dict], None] | None = None, indent: int | None = 2) -> str:
    doc = json.loads(json.dumps(DOC))
    if change:
        change(doc)
    return json.dumps(doc, indent=indent)


def two_users(mass: list, normalize: bool = True) -> str:
    """The prosecutor market with a second user (a jury), masses as given, as JSON."""
    def change(d):
        d["users"].append({"name": "jury", "mass": mass[1], "utility": d["users"][0]["utility"]})
        d["users"][0]["mass"] = mass[0]
        d["providers"][1]["utility"]["jury"] = d["providers"][1]["utility"]["judge"]
        d["normalize"] = normalize
    return json_text(change)


def yaml_sub(old: str, new: str) -> str:
    assert old in YAML_TEXT, old
    return YAML_TEXT.replace(old, new, 1)


# --------------------------------------------------------------------------- refused, located


@dataclass(frozen=True)
class Refused:
    label: str
    fmt: str
    raw: Callable[[], bytes | str]
    expect: str  # the message contains this
    line: int | None = None  # and the first problem sits on this line


REFUSED = [
    # numbers beyond float range: OverflowError before, now a located problem
    Refused("prior integer beyond float range", "yaml", lambda: yaml_sub("prior: [0.7, 0.3]", f"prior: [1{'0' * 350}, 0.3]"),
            "prior[0]: prior probability must lie in [0, 1], got 100000000000… (351 digits)", 7),
    Refused("utility integer beyond float range", "json",
            lambda: json_text(lambda d: d["users"][0]["utility"]["acquit"].__setitem__(0, 10**360)),
            "users[0].utility.acquit[0]: utility must lie in [0, 1], got 100000000000… (361 digits)"),
    Refused("observation integer beyond float range", "yaml",
            lambda: yaml_sub("actions:", f"signals: [s, t]\nobservation: {{innocent: [1{'0' * 320}, 0], guilty: [0, 1]}}\nactions:"),
            "observation.innocent[0]: probability must lie in [0, 1]", 9),
    Refused("mass integer beyond float range", "yaml", lambda: yaml_sub("mass: 1", f"mass: 1{'0' * 330}"),
            "users[0].mass: mass must be a finite number, got 100000000000…", 11),
    # integers over Python's 4,300-digit limit: never converted, reported where they are
    Refused("4,401-digit integer in JSON", "json", lambda: json_text(lambda d: d["prior"].__setitem__(0, "@")).replace('"@"', BIG),
            "prior[0]: expected a number for prior probability, got an integer of 4,401 characters"),
    Refused("4,401-digit integer in YAML", "yaml", lambda: yaml_sub("[0.7, 0.3]", f"[{BIG}, 0.3]"),
            "prior[0]: expected a number for prior probability, got an integer of 4,401 characters", 7),
    Refused("5,000-digit hex integer in YAML", "yaml", lambda: yaml_sub("[0.7, 0.3]", f"[0x{'f' * 5000}, 0.3]"),
            "got an integer of 5,002 characters (0xffffffffff…)", 7),
    Refused("huge integer formatted into a message", "yaml", lambda: yaml_sub("name: judge", f"name: 0x{'f' * 5000}"),
            "users[0].name: expected a non-empty text (user name), got an integer of 5,002 characters", 10),
    # nesting depth: no RecursionError anywhere (JSON, YAML flow, the JSON line map)
    Refused("JSON nested 1,000 deep", "json", lambda: json_text()[:-2] + ', "description": ' + "[" * 1000 + "]" * 1000 + "}",
            "lists and mappings nested more than 64 levels deep"),
    Refused("JSON nested 500 deep (the old line map recursed)", "json", lambda: '{"states": ' + "[" * 500 + "]" * 500 + "}",
            "states[0][0][0][0]…", 1),
    Refused("YAML flow nested 500 deep", "yaml", lambda: YAML_TEXT + "description: " + "[" * 500 + "]" * 500 + "\n",
            "nested more than 64 levels deep", 25),
    Refused("YAML flow mappings nested deep", "yaml", lambda: "name: " + "{a: " * 200 + "1" + "}" * 200 + "\n",
            "nested more than 64 levels deep", 1),
    # aliases
    Refused("self-referencing YAML alias", "yaml", lambda: YAML_TEXT + "loop: &r [*r]\n",
            "alias *r refers to a list or mapping that contains it", 25),
    Refused("YAML alias bomb (1.1 KB)", "yaml", lambda: YAML_TEXT + BOMB,
            "more than 50,000,000 values once YAML aliases are expanded"),
    Refused("undefined YAML alias", "yaml", lambda: yaml_sub("prior: [0.7, 0.3]", "prior: *p"), "alias *p refers to no anchor", 7),
    Refused("YAML merge key", "yaml", lambda: YAML_TEXT + "x: &x {a: 1}\ny: {<<: *x}\n", "merge keys (<<) are not supported", 26),
    Refused("YAML python tag", "yaml", lambda: YAML_TEXT + "x: !!python/object:os.system {}\n", "unsupported YAML tag", 25),
    # duplicate keys: the second value silently won before
    Refused("duplicate top-level key (YAML)", "yaml", lambda: YAML_TEXT + "prior: [0.5, 0.5]\n",
            "prior: duplicate key 'prior': first at line 7, again at line 25", 25),
    Refused("duplicate nested key (YAML)", "yaml", lambda: yaml_sub("    convict: [0, 1]\n", "    convict: [0, 1]\n    acquit: [0, 1]\n"),
            "users[0].utility.acquit: duplicate key 'acquit': first at line 13, again at line 15", 15),
    Refused("duplicate key (JSON)", "json", lambda: json_text()[:-2] + ',\n  "prior": [0.5, 0.5]\n}',
            "prior: duplicate key 'prior': first at line 8"),
    # names that break table output
    Refused("control character in a name", "yaml", lambda: yaml_sub("name: judge", 'name: "ju\\x07dge"'),
            "users[0].name: user name 'ju\\x07dge' holds the character \\x07", 10),
    Refused("line separator in a name", "yaml", lambda: yaml_sub("[acquit, convict]", '["acq\\Luit", convict]'),
            "actions[0]: action name 'acq\\u2028uit' holds the character \\u2028", 8),
    Refused("unpaired surrogate in a name (JSON escape)", "json", lambda: json_text().replace('"judge"', '"ju\\ud800dge"', 1),
            "users[0].name: user name 'ju\\ud800dge' holds the character \\ud800"),
    Refused("escape character in the description", "yaml", lambda: yaml_sub("name: prosecutor\n", 'name: prosecutor\nabout: "\\e[31m"\n').replace("description:", "other:").replace("about:", "description:"),
            "description: the description holds the character \\x1b", 2),
    # messages: cut, escaped, with hints for YAML's readings
    Refused("'7e-1' read as text", "yaml", lambda: yaml_sub("[0.7, 0.3]", "[7e-1, 0.3]"),
            "got the text '7e-1' (YAML reads 7e-1 as text: write 7.0e-1 or 0.7)", 7),
    Refused("yes read as a boolean", "yaml", lambda: yaml_sub("[acquit, convict]", "[yes, no]"),
            "actions[0]: expected a non-empty text (action name), got a boolean (true) (YAML reads unquoted yes, no", 8),
    Refused("integer key printed as a key, not a list index", "yaml", lambda: yaml_sub("    acquit: [1, 0]", "    1: [1, 0]"),
            "users[0].utility.1: unknown action 1 (YAML reads it as a number: put the name in quotes", 13),
    Refused("date read as a date", "yaml", lambda: yaml_sub("[acquit, convict]", "[2024-01-01, convict]"),
            "got a date (2024-01-01) (YAML reads it as a date: put the name in quotes", 8),
    Refused("raw newline in a value", "yaml", lambda: yaml_sub("[0.7, 0.3]", '["0.7\\n", 0.3]'),
            "got the text '0.7\\n'", 7),
    Refused("unknown field with control characters", "yaml", lambda: YAML_TEXT + '"bad\\nkey\\x1b": 1\n',
            "'bad\\nkey\\x1b': unknown field", 25),
    Refused("long value cut in the message", "yaml", lambda: yaml_sub("name: judge", "name: [" + ", ".join(["x" * 200] * 50) + "]"),
            "expected a non-empty text (user name), got a list of 50", 10),
    # text encodings and empty files
    Refused("UTF-16 without a byte-order mark", "yaml", lambda: YAML_TEXT.encode("utf-16-le"),
            "NUL character at column 2: not a text file; is it UTF-16 without a byte-order mark? Save it as UTF-8", 1),
    Refused("NUL byte", "yaml", lambda: yaml_sub("name: judge", "name: ju\x00dge"), "NUL character at column 11", 10),
    Refused("invalid UTF-8", "yaml", lambda: yaml_sub("name: judge", "name: ju\udcffdge").encode("utf-8", "surrogateescape"),
            "not UTF-8 text: byte 0xff at column 11 cannot be decoded; save the file as UTF-8", 10),
    Refused("latin-1 text", "json", lambda: json_text().replace("judge", "jügé").encode("latin-1"), "not UTF-8 text: byte 0xfc"),
    Refused("empty file", "yaml", lambda: "", "the file is empty", 1),
    Refused("empty JSON file", "json", lambda: "  \n", "the file is empty", 1),
    Refused("only comments", "yaml", lambda: "# a market, one day\n", "the file holds no data", 1),
    Refused("two YAML documents", "yaml", lambda: YAML_TEXT + "---\nname: x\n", "a second YAML document starts here", 25),
    Refused("control character in YAML text", "yaml", lambda: yaml_sub("name: judge", "name: ju\x0bdge"), "character U+000B at column 11", 10),
    # dimensions beyond the documented limits
    Refused("too many states", "json", lambda: json_text(lambda d: d.update(states=[f"s{k}" for k in range(5001)], prior=[1 / 5001] * 5001), indent=None),
            "states: too many states: 5,001 (the limit is 5,000; see 'Market files' in the README)", 1),
    Refused("too many actions", "json", lambda: json_text(lambda d: d.update(actions=[f"a{k}" for k in range(5001)]), indent=None),
            "actions: too many actions: 5,001 (the limit is 5,000"),
    Refused("too many signals", "yaml", lambda: yaml_sub("actions:", f"signals: [{', '.join(f's{k}' for k in range(5001))}]\nobservation: {{}}\nactions:"),
            "signals: too many signals: 5,001 (the limit is 5,000", 8),
    Refused("too many users", "json", lambda: json_text(lambda d: d.update(users=[0] * 100_001), indent=None),
            "users: too many users: 100,001 (the limit is 100,000"),
    Refused("too many providers", "json", lambda: json_text(lambda d: d.update(providers=[0] * 1001), indent=None),
            "providers: too many providers: 1,001 (the limit is 1,000"),
    Refused("too many utility entries", "json",
            lambda: json_text(lambda d: d.update(states=[f"s{k}" for k in range(2000)], prior=[1 / 2000] * 2000,
                                                 actions=[f"a{k}" for k in range(2000)], users=[{}] * 5), indent=None),
            "market too large: 5 users × 2,000 actions × 2,000 states × (1 + 2 providers) = 60,000,000 utility entries (the limit is 50,000,000)"),
    # sums that overflow are refused where they would lose a user
    Refused("normalized mass that underflows to 0", "json", lambda: two_users([1e300, 1e-300]),
            "users[1].mass: mass 1e-300 is too small next to the largest mass: it would normalize to 0"),
]


def _read(case: Refused):
    raw = case.raw()
    raw = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return raw, parse_market_bytes(raw, source=f"m.{case.fmt}", fmt=case.fmt)


@pytest.mark.parametrize("case", REFUSED, ids=[c.label for c in REFUSED])
def test_refused_with_field_and_line(case):
    with pytest.raises(MarketFileError) as info:
        _read(case)
    text = str(info.value)
    assert "\n" not in text and len(text) < 1200 and text.isprintable(), text
    problems = [p for p in info.value.problems if case.expect in str(p)]
    assert problems, [str(p) for p in info.value.problems]
    assert all(p.path or p.line is not None for p in info.value.problems)
    if case.line is not None:
        assert problems[0].line == case.line, str(problems[0])


@pytest.mark.parametrize("case", REFUSED[::4], ids=[c.label for c in REFUSED[::4]])
def test_refused_through_the_command_line(case, tmp_path):
    raw = case.raw()
    path = tmp_path / f"m.{case.fmt}"
    path.write_bytes(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    for argv in (["analyze", str(path), "--json"], ["align", str(path)], ["validate", str(path)]):
        code, out, err = cli(*argv)
        assert code == 2, (argv, err)
        assert "internal error" not in err and "Traceback" not in err
        lines = err.strip().splitlines()
        assert all(ln.isprintable() and len(ln) < 1300 for ln in lines), lines
        if argv[0] != "validate":
            assert len(lines) == 1 and lines[0].startswith("error: "), lines
        else:
            assert any(case.expect in ln for ln in lines), lines


def test_alias_bomb_shares_values_and_never_expands():
    """Below the expansion limit, aliases share the anchored value: the data and the line map stay the file's size."""
    text = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcde", "bcdef"))
    data, lines = documents.parse(text)  # 9**6 = 531,441 values once expanded, well below the limit
    assert data["f"][0] is data["e"] and data["f"][8] is data["e"]
    assert len(lines.items) == 7  # the root and the six written lists: nothing per expanded value
    with pytest.raises(MarketFileError, match="unknown field"):
        parse_market(YAML_TEXT + text)
    with pytest.raises(documents.DocumentError, match="more than 10,000 values once YAML aliases are expanded"):
        documents.parse(text, max_values=10_000)


def test_bounded_message_for_a_small_file_with_a_huge_value():
    """An 867-byte file once gave a 2.36 MB error line: messages never repr() whole values."""
    text = BOMB.split("f:")[0] + yaml_sub("name: prosecutor\n", "name: *e\n")  # name: 9**5 values once expanded
    assert len(text) < 1200
    with pytest.raises(MarketFileError) as info:
        parse_market(text)
    texts = [str(p) for p in info.value.problems]
    assert all(len(t) < 300 for t in texts) and len(str(info.value)) < 400, texts
    assert any("name: expected a non-empty text (market name), got a list of 9" in t for t in texts), texts


def test_line_map_is_linear_in_the_file():
    """One entry per written list or mapping, one line per item: counts, not timings."""
    n = 3000
    doc = json.loads(json.dumps(DOC))
    doc["states"] = [f"s{k}" for k in range(n)]
    doc["prior"] = [1 / n] * n
    for entry in doc["users"] + doc["providers"]:
        tables = entry["utility"].values() if "judge" in entry["utility"] else [entry["utility"]]
        for table in tables:
            for action in table:
                table[action] = [0.5] * n
    for text, fmt in ((json.dumps(doc, indent=1), "json"), (yaml.safe_dump(doc), "yaml")):
        data, lines = documents.parse(text, fmt)
        assert len(lines.items) <= 40, len(lines.items)  # one per written list or mapping
        assert sum(len(v) for v in lines.items.values()) <= 10 * n
        market = parse_market(text, fmt=fmt)
        assert market.n_states == n and "P" not in vars(market)  # no dense P[x, y] until a computation asks


# --------------------------------------------------------------------------- accepted, correctly


def test_byte_order_marks_and_utf16_are_read():
    original = catalog.load("prosecutor")
    for raw, fmt in (
        (codecs.BOM_UTF8 + json_text().encode(), "json"),
        (codecs.BOM_UTF8 + YAML_TEXT.encode(), "yaml"),
        (YAML_TEXT.encode("utf-16"), "yaml"),
        (json_text().encode("utf-16"), "json"),
        (YAML_TEXT.encode("utf-32"), "yaml"),
    ):
        assert parse_market_bytes(raw, fmt=fmt).equals(original)


def test_overflowing_masses_are_normalized_correctly(tmp_path):
    """``normalize: true`` with masses 1e308 and 1e308 once gave masses [0, 0] and NaN in solve --json."""
    m = parse_market(two_users([1e308, 1e308]), fmt="json")
    assert m.p.tolist() == [0.5, 0.5] and m.mass.tolist() == [1e308, 1e308]
    assert parse_market(two_users([10**300, 3 * 10**300]), fmt="json").p.tolist() == [0.25, 0.75]
    path = tmp_path / "big.json"
    path.write_text(two_users([1e308, 1e308]))
    code, out, err = cli("analyze", str(path), "--json")
    assert code == 0 and [u["mass"] for u in json.loads(out)["users"]] == [0.5, 0.5], err


def test_description_may_span_lines():
    m = parse_market(yaml_sub("description: >-", "description: |-"))
    assert "\n" in m.description


def _forecast_off(off: float) -> dict:
    doc = market_to_dict(catalog.load("forecast"))
    doc["prior"][0] += off
    doc["observation"]["sunny"][0] += off
    doc["users"][0]["mass"] += off
    return doc


def test_within_tolerance_sums_are_renormalized_exactly_before_use():
    """A prior and an observation row each off by 9e-10 (inside the 1e-9 tolerance): kept as written, used exactly."""
    m = parse_market(json.dumps(_forecast_off(9e-10)), fmt="json")
    assert m.prior[0] == 0.6 + 9e-10  # the file's numbers are kept (and written back) as they are
    assert math.fsum(exact_distribution(m.prior)) == 1.0
    assert all(math.fsum(row) == 1.0 for row in exact_distribution(m.observation))
    assert math.fsum(m.p) == 1.0
    assert abs(math.fsum(m.P.ravel()) - 1.0) < 1e-15
    np.testing.assert_allclose(m.P, catalog.load("forecast").P, atol=2e-9)


def test_exact_sums_are_left_bit_for_bit():
    for name in catalog.names():
        m = catalog.load(name)
        assert math.fsum(m.prior) == 1.0 and np.array_equal(exact_distribution(m.prior), m.prior)
        if m.observation is None:
            assert np.array_equal(np.diag(m.P), m.prior)
        if not m.normalize:
            assert np.array_equal(m.p, m.mass)


def test_within_tolerance_sums_give_the_same_equilibria(tmp_path):
    """End to end: a match/mismatch market off by 9e-10 has the verified equilibria of the exact one.

    (The equilibrium engine of issue 11's time found 0 instead of 4; today's engine is no longer
    sensitive to these inputs, so this guards the contract while the test above checks the sums.)
    """
    counts = []
    for off in (0.0, 9e-10):
        doc = market_to_dict(catalog.load("match_mismatch"))
        doc["prior"][0] += off
        doc["prior"][-1] -= off / 2
        path = tmp_path / f"mm{off}.json"
        path.write_text(json.dumps(doc))
        code, out, err = cli("solve", str(path), "--regime", "anonymous", "--method", "enumerate", "--json")
        assert code == 0, err
        counts.append(len(json.loads(out)["equilibria"]))
    assert counts[0] == counts[1] and counts[0] > 0, counts


def test_dimensions_at_the_limits_are_accepted():
    n = limits.MAX_STATES
    text = json_text(lambda d: d.update(states=[f"s{k}" for k in range(n)], prior=[1 / n] * n,
                                        users=[{"name": "judge", "mass": 1, "utility": {"acquit": [0] * n, "convict": [1] * n}}],
                                        providers=[{"name": "p", "utility": {"acquit": [0] * n, "convict": [1] * n}}]), indent=None)
    m = parse_market(text, fmt="json")
    assert m.n_states == n and m.n_observations == n and "P" not in vars(m)


def test_file_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "m.yaml"
    path.write_text(YAML_TEXT)
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 200)
    with pytest.raises(MarketFileError, match=r"m.yaml: file too large: more than 200 bytes \(the limit"):
        load_market(path)
    code, _, err = cli("analyze", str(path))
    assert code == 2 and "file too large" in err


def test_problems_beyond_the_limit_are_counted(monkeypatch):
    monkeypatch.setattr(limits, "MAX_PROBLEMS", 3)
    doc = json.loads(json.dumps(DOC))
    doc["users"][0]["utility"] = {"acquit": ["x", "y"], "convict": ["z", "w"]}
    with pytest.raises(MarketFileError) as info:
        parse_market(json.dumps(doc), fmt="json")
    assert len(info.value.problems) == 3 and info.value.omitted >= 1
    assert "(and " in str(info.value)


# --------------------------------------------------------------------------- sweep configs

SWEEP = "experiment: value_of_information\ngrid: {n_states: [2, 3]}\n"


@pytest.mark.parametrize(
    "label,name,raw,expect",
    [
        ("seeds 1e30 read as text", "s.yaml", SWEEP + "seeds: 1e30\n", "seeds: expected a number of seeds or a list of seeds, got '1e30' (YAML reads 1e30 as text"),
        ("seeds 1e30 in JSON", "s.json", '{"experiment": "value_of_information", "seeds": 1e30}', "seeds: expected a number of seeds or a list of seeds, got 1e+30"),
        ("seeds 10**30", "s.yaml", SWEEP + f"seeds: 1{'0' * 30}\n", "seeds: too many seeds: 100000000000… (31 digits) (the limit is 1,000,000) (line 3)"),
        ("seed beyond SQLite", "s.yaml", SWEEP + f"seeds: [{2**63}]\n", "seeds[0]: seeds must be below 2**63"),
        ("4,401-digit seed", "s.yaml", SWEEP + f"seeds: {BIG}\n", "seeds: an integer of 4,401 characters"),
        ("4,401-digit grid value", "s.yaml", f"experiment: value_of_information\ngrid: {{n_states: [{BIG}]}}\n", "grid.n_states[0]: an integer of 4,401 characters"),
        ("invalid UTF-8", "s.yaml", (SWEEP + "seeds: 2\n").encode().replace(b"grid", b"gr\xffid"), "line 2: not UTF-8 text: byte 0xff"),
        ("deep YAML nesting", "s.yaml", SWEEP + "description: " + "[" * 1000 + "]" * 1000 + "\n", "line 3: lists and mappings nested more than 64 levels deep"),
        ("deep JSON nesting", "s.json", '{"description": ' + "[" * 1000 + "]" * 1000 + "}", "description[0][0][0][0]…"),
        ("duplicate key", "s.yaml", SWEEP + "seeds: 3\nseeds: 4\n", "seeds: duplicate key 'seeds': first at line 3, again at line 4"),
        ("alias bomb", "s.yaml", SWEEP + BOMB, "more than 1,000,000 values once YAML aliases are expanded"),
        ("NUL in out", "s.yaml", SWEEP + 'out: "a\\0b"\n', "out: holds the character \\x00"),
        ("integer key", "s.yaml", "experiment: value_of_information\ngrid: {1: [2]}\n", "grid.1: expected a string, got 1"),
        ("too many tasks", "s.yaml", SWEEP.replace("[2, 3]", "[2, 3, 4]") + "seeds: 400000\n", "too many tasks: 1,200,000 grid points × seeds (the limit is 1,000,000)"),
        ("too many workers", "s.yaml", SWEEP + "workers: 100000\n", "workers: input should be less than or equal to 1024"),
        ("empty file", "s.yaml", "", "line 1: the file is empty"),
    ],
)
def test_sweep_config_defects(label, name, raw, expect, tmp_path):
    path = tmp_path / name
    path.write_bytes(raw.encode() if isinstance(raw, str) else raw)
    with pytest.raises(SweepConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert expect in text, text
    assert "\n" not in text and len(text) < 1500
    code, _, err = cli("sweep", str(path), "--out", str(tmp_path / "run"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "internal error" not in err, err
    assert not (tmp_path / "run").exists()


def test_many_seeds_are_checked_in_linear_time():
    """``seeds: 100000`` once spent 68 s in a quadratic duplicate check; a set makes it one pass."""
    config = make_config({"experiment": "value_of_information", "seeds": 100_000})
    assert len(config.seeds) == 100_000
    with pytest.raises(SweepConfigError, match=r"seeds\[100000\]: duplicate seed 0"):
        make_config({"experiment": "value_of_information", "seeds": [*range(100_000), 0]})


# --------------------------------------------------------------------------- command-line options

BAD_OPTIONS = [
    (["analyze", "prosecutor", "--margin", "nan"], "--margin must be a finite number, got nan"),
    (["analyze", "prosecutor", "--margin", "inf"], "--margin must be a finite number, got inf"),
    (["analyze", "prosecutor", "--margin", "1e308"], "--margin must be at most 1, got 1e+308"),
    (["analyze", "prosecutor", "--margin", "-1"], "--margin must be at least 0, got -1.0"),
    (["align", "prosecutor", "--limit", "0"], "--limit must be at least 1, got 0"),
    (["align", "prosecutor", "--limit", "10000000000"], "--limit must be at most 1,000,000"),
    (["coverage", "--market", "prosecutor", "--seed", "-1"], "--seed must be at least 0, got -1"),
    (["coverage", "--market", "prosecutor", "--seed", str(2**63)], "--seed must be at most 9,223,372,036,854,775,807"),
    (["coverage", "--market", "prosecutor", "--test-fraction", "nan"], "--test-fraction must be a finite number"),
    (["coverage", "--market", "prosecutor", "--test-fraction", "1"], "--test-fraction must be below 1"),
    (["coverage", "--market", "prosecutor", "--subsets", "0"], "--subsets must be at least 1"),
    (["coverage", "--market", "prosecutor", "--subsets", "10000000"], "--subsets must be at most 10,000"),
    (["movielens", "nowhere", "--out", "x.csv", "--seed", "-1"], "--seed must be at least 0"),
    (["movielens", "nowhere", "--out", "x.csv", "--max-users", "0"], "--max-users must be at least 1"),
    (["sweep", "nowhere.yaml", "--workers", "0"], "--workers must be at least 1, got 0"),
    (["sweep", "nowhere.yaml", "--workers", "100000"], "--workers must be at most 1,024"),
    (["reproduce", "all", "--quick", "--workers", "5000"], "--workers must be at most 1,024"),
    (["analyze", "prosecutor", "--margin", "1" * 5000], "--margin"),
    (["analyze", "bad\nname\x1b"], "bad\\nname\\x1b: no such file"),
    (["sweep", "x" * 5000], "xxxx…(4,098 characters cut)…xxxx"),
    (["report", "x" * 5000], "File name too long"),
]


@pytest.mark.parametrize("argv,expect", BAD_OPTIONS, ids=[" ".join(a)[:60] for a, _ in BAD_OPTIONS])
def test_bad_option_values_are_one_line_and_exit_2(argv, expect):
    code, out, err = cli(*argv)
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0] and len(lines[0]) < 1100, lines


def test_check_number_for_other_commands():
    assert check_number("--tol", 1e-6, low=0, high=1) == 1e-6
    assert check_number("--seed", None, low=0, integer=True) is None
    for value, kwargs, message in (
        (float("nan"), {"low": 0, "high": 1}, "--x must be a finite number, got nan"),
        (-1, {"low": 0, "integer": True}, "--x must be at least 0, got -1"),
        (1.0, {"low": 0, "high": 1, "high_open": True}, "--x must be below 1, got 1.0"),
        (2.5, {"low": 0, "integer": True}, "--x must be an integer, got 2.5"),
        (10**30, {"low": 1, "high": 100_000, "integer": True}, "--x must be at most 100,000, got 100000000000… (31 digits)"),
    ):
        with pytest.raises(BadInput, match=None) as info:
            check_number("--x", value, **kwargs)
        assert str(info.value) == message


def test_show_never_formats_a_whole_value():
    assert show(10**5000).startswith("an integer of about 5,0")
    assert show("x" * 10_000).endswith("(10,000 characters)") and len(show("x" * 10_000)) < 100
    assert show("a\nb\x00\ud800") == "'a\\nb\\x00\\ud800'"
    assert repr(LongInteger("9" * 5000)).startswith("an integer of 5,000 characters")
