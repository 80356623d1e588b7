"""The ``pluralign`` command line: a thin layer over the Python API.

Every command prints a readable table, or with ``--json`` the same content as JSON.
Bad input exits with status 2 and one line naming the problem; nothing prints a
traceback unless ``PLURALIGN_DEBUG=1`` is set.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from pluralign.model.market import Market
from pluralign.model.validation import MarketError

app = typer.Typer(
    name="pluralign",
    help="Markets of competing, misaligned AI providers and diverse users.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """Raised by commands for input problems; printed as one line, exit status 2."""


def fail(message: str) -> None:
    raise BadInput(message)


def check_number(option: str, value: Any, *, low: float | None = None, high: float | None = None,
                 integer: bool = False, high_open: bool = False) -> Any:
    """``value`` of ``--option``, or a one-line :class:`BadInput` (exit 2): finite, in range, bounded.

    ``integer=True`` also requires an int; the range is ``[low, high]`` (``[low, high)``
    with ``high_open``); ``None`` (an option left out) passes. For example
    ``check_number("--tol", tol, low=0, high=1)``, ``check_number("--seed", seed, low=0,
    high=SEED_MAX, integer=True)``.
    """
    from pluralign.model.messages import show

    if value is None:
        return value
    if integer and (not isinstance(value, int) or isinstance(value, bool)):
        fail(f"{option} must be an integer, got {show(value)}")
    if not integer and not math.isfinite(value):
        fail(f"{option} must be a finite number, got {show(value)}")
    if low is not None and value < low:
        fail(f"{option} must be at least {low:,}, got {show(value)}")
    if high is not None and (value >= high if high_open else value > high):
        fail(f"{option} must be {'below' if high_open else 'at most'} {high:,}, got {show(value)}")
    return value


SEED_MAX = 2**63 - 1  # seeds are stored as SQLite integers


def console() -> Console:
    return Console(highlight=False, soft_wrap=False, width=max(100, Console().width))


def resolve_market(spec: str) -> Market:
    """A market file path, or the name of a bundled market."""
    from pluralign import catalog
    from pluralign.model.io import load_market

    path = Path(spec)
    if path_exists(path):
        return load_market(path)
    if spec in catalog.names():
        return catalog.load(spec)
    fail(f"{spec}: no such file, and no bundled market of that name (bundled: {', '.join(catalog.names())})")
    raise AssertionError  # unreachable


def path_exists(path: Path) -> bool:
    """``path.exists()``, with a name too long for the system counted as missing."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")


def fmt(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}"


# --------------------------------------------------------------------------- analyze


@app.command()
def analyze(
    market: str = typer.Argument(..., help="Market file (YAML/JSON) or a bundled market name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    margin: float = typer.Option(0.0, help="Obedience margin for the monopoly LP (0 = exact supremum)."),
    kinds: bool = typer.Option(False, "--kinds", help="Also show OPT and NOINFO per user kind (type and private observation)."),
    menus: bool = typer.Option(False, "--menus", help="Monopoly with menus: users report what they observe privately."),
) -> None:
    """Benchmarks per user: OPT, NOINFO, and each provider's monopoly persuasion."""
    from pluralign.analysis.benchmarks import benchmarks

    check_number("--margin", margin, low=0, high=1)
    m = resolve_market(market)
    result = benchmarks(m, margin=margin, menus=menus)
    if as_json:
        print_json(result.to_dict(kinds=kinds))
        return
    out = console()
    private = f", {m.n_private} private observations" if m.has_private else ""
    out.print(f"[bold]{m.name}[/bold]: {m.n_states} states{private}, {m.n_actions} actions, {m.n_users} users, "
              f"{m.n_providers} providers")
    if m.description:
        out.print(m.description, style="dim")
    if kinds:
        kt = Table(title="user kinds (type / private observation)")
        for col in ("kind", "mass", "OPT", "NOINFO"):
            kt.add_column(col, justify="left" if col == "kind" else "right")
        for row in result.to_dict(kinds=True)["kinds"]:
            kt.add_row(row["name"], fmt(row["mass"]), fmt(row["opt"]), fmt(row["noinfo"]))
        out.print(kt)
    for j, user in enumerate(m.users):
        table = Table(title=f"user {user} (mass {m.p[j]:.3g}): OPT {fmt(result.opt[j])}, NOINFO {fmt(result.noinfo[j])}")
        table.add_column("monopolist")
        table.add_column("user utility", justify="right")
        table.add_column("provider utility", justify="right")
        table.add_column("recommendation scheme P(action | observation)")
        for i, provider in enumerate(m.providers):
            r = result.monopoly[i][j]
            table.add_row(provider, fmt(r.user_utility), fmt(r.provider_utility), _scheme_text(m, r))
        out.print(table)
    out.print(
        "Monopoly: the provider persuades alone; a user follows a recommendation she is indifferent about; "
        "among a provider's optimal schemes, the user's best is shown.",
        style="dim",
    )


def _scheme_text(m: Market, result) -> str:
    """A monopoly scheme in one line: per observation, the recommendations it sends (or the menu)."""
    doc = result.scheme_dict(m)
    if "menu" in doc:
        return " | ".join(f"report {z}: " + "; ".join(f"{x}: " + ", ".join(f"{a} {v:.3g}" for a, v in recs.items() if v > 1e-9)
                                                     for x, recs in table.items()) for z, table in doc["menu"].items())
    return "; ".join(f"{x}: " + ", ".join(f"{s} {v:.3g}" for s, v in recs.items() if v > 1e-9) for x, recs in doc.items())


# --------------------------------------------------------------------------- validate


@app.command()
def validate(
    market: str = typer.Argument(..., help="Market file (YAML/JSON) to check."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Check a market file and report every problem found (exit 2 if there are any)."""
    from pluralign.model.io import load_market
    from pluralign.model.messages import escape
    from pluralign.model.validation import MarketFileError

    path = Path(market)
    if not path_exists(path):
        fail(f"{market}: no such file")
    try:
        load_market(path)
        problems, omitted = [], 0
    except MarketFileError as exc:
        problems, omitted = exc.problems, exc.omitted
    total = len(problems) + omitted
    if as_json:
        print_json({"file": escape(str(path)), "valid": not problems, "problems": [
            {"path": p.path, "line": p.line, "message": p.message} for p in problems
        ], "more_problems": omitted})
    elif problems:
        for p in problems:
            typer.echo(str(p), err=True)
        more = f" ({omitted:,} not listed)" if omitted else ""
        typer.echo(escape(f"{path}: {total:,} problem{'s' if total > 1 else ''}{more}"), err=True)
    else:
        typer.echo(f"{path}: valid market")
    if problems:
        raise typer.Exit(EXIT_BAD_INPUT)


# --------------------------------------------------------------------------- other commands

# Commands of other analyses live in their own modules, each with ``register(app)``.
for _module in ("pluralign.workflows.cli_alignment", "pluralign.workflows.cli_equilibria", "pluralign.workflows.cli_experiments",
                "pluralign.workflows.cli_certificates"):
    try:
        __import__(_module)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise
    else:
        sys.modules[_module].register(app)


# --------------------------------------------------------------------------- entry point


def one_line(text: str) -> str:
    """A message on one printable line: control characters and unpaired surrogates escaped, cut at 1,000."""
    from pluralign.model.messages import escape

    return escape(text)


def run(entry: Callable[..., Any], argv: list[str] | None = None) -> int:
    """Run a Typer app, turning input problems into one line and exit status 2."""
    try:
        code = entry(args=argv, standalone_mode=False, prog_name="pluralign")
    except BadInput as exc:
        typer.echo(f"error: {one_line(str(exc))}", err=True)
        return EXIT_BAD_INPUT
    except MarketError as exc:
        typer.echo(f"error: {one_line(str(exc))}", err=True)
        return EXIT_BAD_INPUT
    except typer.Exit as exc:
        return exc.exit_code
    except OSError as exc:  # a file or directory the system refuses (name too long, permission, disk full)
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        typer.echo(f"error: {one_line(f'{exc.strerror or type(exc).__name__}{where}')}", err=True)
        return EXIT_BAD_INPUT
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # usage errors (click's, duck-typed) and unexpected failures
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            message = exc.format_message()
            if message:
                typer.echo(f"error: {one_line(message)}", err=True)
            return exc.exit_code if exc.exit_code else EXIT_BAD_INPUT
        if os.environ.get("PLURALIGN_DEBUG"):
            raise
        typer.echo(f"internal error: {type(exc).__name__}: {one_line(str(exc))} (set PLURALIGN_DEBUG=1 for a traceback)", err=True)
        return 1
    return code if isinstance(code, int) else 0


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    sys.exit(run(typer.main.get_command(app), argv))


if __name__ == "__main__":  # pragma: no cover
    main()
