"""Reading inputs takes time linear in their size: market files, alias bombs, sweep seeds.

Prints, for market files of growing size (YAML and JSON), the seconds to read and
validate them and the ratio to the smallest (linear: the ratio follows the size); then
the inputs that were super-linear before issue 11 — a 1.1 KB alias bomb (61 s and
6.8 GB in the old line map), 10**5 states (74.5 GiB asked for a dense P), ``seeds:
100000`` (68 s in a quadratic duplicate check). Timings only here, never in tests.

    python benchmarks/inputs.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

from pluralign import catalog
from pluralign.model.io import market_to_dict, parse_market
from pluralign.model.validation import MarketFileError
from pluralign.workflows.sweep import make_config


def market_text(n_states: int, fmt: str) -> str:
    doc = market_to_dict(catalog.load("prosecutor"))
    doc["states"] = [f"s{k}" for k in range(n_states)]
    doc["prior"] = [1 / n_states] * n_states
    for entry in doc["users"] + doc["providers"]:
        tables = entry["utility"].values() if "judge" in entry["utility"] else [entry["utility"]]
        for table in tables:
            for action in table:
                table[action] = [0.25] * n_states
    if fmt == "json":
        return json.dumps(doc, indent=1)
    return "".join(f"{k}: {json.dumps(v)}\n" for k, v in doc.items())  # YAML flow style


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [500, 1000, 2000] if args.quick else [500, 1000, 2000, 4000]
    for fmt in ("yaml", "json"):
        base = None
        for n in sizes:
            text = market_text(n, fmt)
            seconds = timed(lambda text=text, fmt=fmt: parse_market(text, fmt=fmt))
            base = base or (len(text), seconds)
            print(f"{fmt:4s} {n:5d} states, {len(text) / 1e6:6.2f} MB: {seconds:7.3f} s "
                  f"(size ×{len(text) / base[0]:4.1f}, time ×{seconds / base[1]:4.1f})")
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))

    def read_bomb():
        with contextlib.suppress(MarketFileError):
            parse_market(bomb)

    print(f"alias bomb ({len(bomb)} bytes, 9**9 values expanded): {timed(read_bomb):.4f} s")
    many = json.dumps({**market_to_dict(catalog.load("prosecutor")), "states": [f"s{k}" for k in range(100_000)], "prior": [1e-5] * 100_000})

    def read_many():
        with contextlib.suppress(MarketFileError):
            parse_market(many, fmt="json")

    print(f"10**5 states ({len(many) / 1e6:.1f} MB, refused by the 5,000-state limit): {timed(read_many):.3f} s")
    print(f"seeds: 100000 in a sweep config: {timed(lambda: make_config({'experiment': 'value_of_information', 'seeds': 100_000})):.3f} s")


if __name__ == "__main__":
    main()
