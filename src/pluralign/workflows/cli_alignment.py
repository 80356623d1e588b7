"""Commands ``align``, ``coverage``, ``anes`` and ``movielens`` (docs/model.md §7, §11).

Each is a few lines over :mod:`pluralign.analysis.alignment`,
:mod:`pluralign.analysis.ensembles` and :mod:`pluralign.data`; ``--json`` prints the
result's ``to_dict()``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from pluralign.workflows.cli import SEED_MAX, BadInput, check_number, console, fmt, print_json, resolve_market

MAX_ROWS = 1_000_000  # --limit: rows shown in a table

ANES_NAME = "anes96"


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise BadInput(f"{option} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _market(spec: str):
    """A market file, a bundled market name, or ``anes96`` (built from statsmodels' ANES 1996 data)."""
    if spec == ANES_NAME and not Path(spec).exists():
        return _anes()
    return resolve_market(spec)


def _anes(grouping: str = "selfLR", utility: str = "linear", states: str = "pairs", partisanship: float = 0.0):
    from pluralign.data import MissingExtra, anes_market

    try:
        return anes_market(grouping, utility=utility, states=states, partisanship=partisanship)
    except MissingExtra as exc:
        raise BadInput(str(exc)) from None
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def _num(x: float) -> str:
    """Compact number for tables; solver round-off below 1e-12 shows as 0."""
    return "0" if abs(x) < 1e-12 else f"{x:.4g}"


def _message(exc: BaseException) -> str:
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


# --------------------------------------------------------------------------- align


def _print_alignment(report, limit: int) -> None:
    from pluralign.analysis.alignment import COVER_TOL

    weak, strong = report.weak, report.strong
    m = weak.market
    out = console()
    out.print(
        f"[bold]{m.name}[/bold]: {m.n_users} users, {m.n_providers} providers, "
        f"{m.n_actions} actions × {m.n_states} states"
    )
    table = Table(
        title=f"Weak Market Alignment ({weak.variant} weights, {weak.offset} offset): max ε = {fmt(weak.max_epsilon)}"
    )
    table.add_column("user", no_wrap=True)
    table.add_column("mass", justify="right")
    table.add_column("ε_j", justify="right")
    table.add_column("covered by (weight)", overflow="fold")
    table.add_column("offset", justify="right")
    table.add_column("worst fit at", no_wrap=True)
    order = np.argsort(-weak.epsilon, kind="stable") if len(weak) > limit else np.arange(len(weak))
    for j in order[:limit]:
        rec = weak[int(j)]
        cover = ", ".join(f"{p} {_num(rec.weights[p])}" for p in rec.covering) or "-"
        off = _num(rec.offset) if isinstance(rec.offset, float) else "per state"
        worst = f"{rec.worst[0]} @ {rec.worst[1]}" if rec.epsilon > 1e-12 else "-"
        table.add_row(rec.user, f"{m.p[j]:.3g}", fmt(rec.epsilon), cover, off, worst)
    out.print(table)
    if len(weak) > limit:
        out.print(f"… {len(weak) - limit} more users (showing the {limit} with the largest ε; --limit to change)", style="dim")
    out.print(f"Strong Market Alignment (common weights, one offset per user): ε_S = {fmt(strong.epsilon)}")
    st = Table()
    st.add_column("provider")
    st.add_column("common weight", justify="right")
    for i, p in enumerate(m.providers):
        st.add_row(p, _num(strong.weights[i]) if strong.weights[i] > COVER_TOL else "0")
    out.print(st)
    ju, ja, jy = strong.worst
    out.print(f"worst fit: user {m.users[ju]}, action {m.actions[ja]}, state {m.states[jy]}", style="dim")
    check = report.verify()
    out.print(
        f"{'verified' if check.ok else 'NOT verified'}: duality gap {check.duality_gap:.1e}, "
        f"dual infeasibility {check.dual_violation:.1e} (method {weak.method}, {weak.seconds + strong.seconds:.2f}s)",
        style="dim",
    )


def _align_and_print(market, variant: str, offset: str, method: str, as_json: bool, limit: int) -> None:
    from pluralign.analysis.alignment import METHODS, OFFSETS, VARIANTS, align

    _choice(variant, VARIANTS, "--variant")
    _choice(offset, OFFSETS, "--offset")
    _choice(method, METHODS, "--method")
    report = align(market, variant=variant, offset=offset, method=method)
    if as_json:
        print_json(report.to_dict())
    else:
        _print_alignment(report, limit)


def align_command(
    market: str = typer.Argument(..., help="Market file (YAML/JSON), a bundled market name, or 'anes96'."),
    variant: str = typer.Option("cone", "--variant", help="Weights: cone (λ ≥ 0) or simplex (λ in the simplex)."),
    offset: str = typer.Option("scalar", "--offset", help="Offset: scalar (c) or state (c(y))."),
    method: str = typer.Option("batched", "--method", help="batched (numpy simplex over users), highs or scipy."),
    limit: int = typer.Option(40, "--limit", help="Show at most this many users in the table."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    certify: Path | None = typer.Option(None, "--certify", help="Also write an exact certificate of every ε (fits and duals) to this file."),
) -> None:
    """Weak Market Alignment ε_j of every user (with covering providers) and Strong Market Alignment ε_S."""
    check_number("--limit", limit, low=1, high=MAX_ROWS, integer=True)
    m = _market(market)
    _align_and_print(m, variant, offset, method, as_json, limit)
    if certify is not None:
        from pluralign.workflows.cli_certificates import write_alignment_certificate

        write_alignment_certificate(m, variant, offset, certify, as_json)


def anes_command(
    grouping: str = typer.Option(
        "selfLR", "--grouping", help="Users: selfLR (self-placement), PID (party id) or selfLR_PID (one group per observed cell, up to 49)."
    ),
    utility: str = typer.Option("linear", "--utility", help="Voter utility: linear or quadratic in the distance."),
    states: str = typer.Option(
        "pairs", "--states", help="States: pairs (perceived positions, 47) or scenarios (3: the candidates' order, who is nearer the centre)."
    ),
    partisanship: float = typer.Option(0.0, "--partisanship", help="Weight (0-1) of party loyalty in voters' utility."),
    save: Path | None = typer.Option(None, "--save", "--save-market", help="Also write the market to this file (.yaml or .json)."),
    variant: str = typer.Option("cone", "--variant", help="Weights: cone or simplex."),
    offset: str = typer.Option("scalar", "--offset", help="Offset: scalar or state."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the shape of align --json)."),
) -> None:
    """Build the ANES 1996 polling market (statsmodels' bundled survey) and report which voter groups are covered."""
    from pluralign.model.io import save_market

    _choice(grouping, ("selfLR", "PID", "selfLR_PID"), "--grouping")
    _choice(utility, ("linear", "quadratic"), "--utility")
    _choice(states, ("pairs", "scenarios"), "--states")
    check_number("--partisanship", partisanship, low=0, high=1)
    market = _anes(grouping, utility, states, partisanship)
    if save is not None:
        save_market(market, save)
        typer.echo(f"wrote {save}", err=True)
    if not as_json:
        console().print(market.description, style="dim")
    _align_and_print(market, variant, offset, "batched", as_json, limit=40)


# --------------------------------------------------------------------------- coverage


def _print_coverage(report, source: str, limit: int) -> None:
    out = console()
    held = "held-out" if report.test_fraction > 0 else "training"
    out.print(
        f"[bold]{source}[/bold]: target {report.target!r}"
        + (f", groups by {report.group!r}" if report.group else "")
        + f"; {len(report.models)} models; {report.loss} loss, {report.variant} weights"
        + (f"; {report.dropped} incomplete rows dropped" if report.dropped else "")
    )
    table = Table(title=f"Coverage ({held} error; split {1 - report.test_fraction:.0%}/{report.test_fraction:.0%}, seed {report.seed})")
    for col, justify in (("group", "left"), ("items train/test", "right"), ("ensemble", "right"),
                         ("best single model", "left"), ("average", "right"), ("main weights", "left")):
        table.add_column(col, justify=justify)
    groups = sorted(report.groups, key=lambda g: -g.error) if len(report) > limit else list(report.groups)
    for g in groups[:limit]:
        best = g.best_single_test_error if g.test_error is not None else g.best_single_train_error
        avg = g.average_test_error if g.test_error is not None else g.average_train_error
        top = sorted(((w, m) for m, w in g.weights.items() if w > 1e-9), reverse=True)[:3]
        table.add_row(
            g.name,
            f"{g.n_train}/{g.n_test}",
            fmt(g.error),
            f"{g.best_single} {fmt(best)}",
            fmt(avg),
            ", ".join(f"{m} {w:.3g}" for w, m in top) or "-",
        )
    out.print(table)
    if len(report) > limit:
        out.print(f"… {len(report) - limit} more groups (showing the {limit} least covered; --limit to change)", style="dim")
    worst = report.worst
    out.print(f"mean {held} error {fmt(report.mean_error)}; least covered: {worst.name} ({fmt(worst.error)})")
    curve = Table(title="Diversity curve: error against the number of models")
    for col in ("models", "subsets", "mean error", "worst group", "range over subsets"):
        curve.add_column(col, justify="right")
    for p in report.diversity:
        curve.add_row(str(p.k), str(p.subsets), fmt(p.mean_error), fmt(p.worst_error), f"{fmt(p.low)}–{fmt(p.high)}")
    out.print(curve)


def coverage_command(
    scores: str | None = typer.Argument(None, help="Scores table (.csv, .tsv or .parquet): one row per item (and group)."),
    target: str | None = typer.Option(None, "--target", help="Column with the target ratings."),
    group: str | None = typer.Option(None, "--group", help="Column naming the person/group each row belongs to."),
    models: str | None = typer.Option(None, "--models", help="Comma-separated model columns (default: every other numeric column)."),
    item: str = typer.Option("item", "--item", help="Identifier column to leave out of the models, if present."),
    loss: str = typer.Option("linf", "--loss", help="linf, l1 or l2."),
    variant: str = typer.Option("cone", "--variant", help="Weights: cone (λ ≥ 0) or simplex."),
    test_fraction: float = typer.Option(0.3, "--test-fraction", help="Share of each group's items held out (0 = none)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split and of the diversity curve's subsets."),
    subsets: int = typer.Option(10, "--subsets", help="Random model subsets per size on the diversity curve."),
    market: str | None = typer.Option(None, "--market", help="Use a market's utilities instead of a file (file, bundled name, or anes96)."),
    limit: int = typer.Option(40, "--limit", help="Show at most this many groups in the table."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Fit each target (person or group) by a nonnegative mix of model scores; held-out error and diversity curve."""
    from pluralign.analysis.alignment import VARIANTS
    from pluralign.analysis.ensembles import LOSSES, coverage_from_columns
    from pluralign.data import MissingExtra, market_table, read_table

    _choice(loss, LOSSES, "--loss")
    _choice(variant, VARIANTS, "--variant")
    check_number("--test-fraction", test_fraction, low=0, high=1, high_open=True)
    check_number("--subsets", subsets, low=1, high=10_000, integer=True)
    check_number("--seed", seed, low=0, high=SEED_MAX, integer=True)
    check_number("--limit", limit, low=1, high=MAX_ROWS, integer=True)
    if (scores is None) == (market is None):
        raise BadInput("give either a SCORES file or --market MARKET")
    if market is not None:
        mk = _market(market)
        try:
            columns = market_table(mk)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        target = target or "utility"
        group = group or "user"
        exclude = [c for c in ("user", "action", "state", "prior", "utility") if c not in (target, group)]
        source = f"market {mk.name}"
    else:
        if target is None:
            raise BadInput("--target COLUMN is required with a SCORES file")
        try:
            columns = read_table(scores)
        except (MissingExtra, FileNotFoundError, ValueError) as exc:
            raise BadInput(str(exc)) from None
        exclude = [item] if item in columns and item not in (target, group) else []
        source = scores
    chosen = [c.strip() for c in models.split(",") if c.strip()] if models else None
    try:
        report = coverage_from_columns(
            columns,
            target,
            group=group,
            models=chosen,
            exclude=exclude,
            loss=loss,
            variant=variant,
            test_fraction=test_fraction,
            seed=seed,
            n_subsets=subsets,
        )
    except (KeyError, ValueError) as exc:
        raise BadInput(f"{source}: {_message(exc)}") from None
    if as_json:
        print_json(report.to_dict())
    else:
        _print_coverage(report, source, limit)


# --------------------------------------------------------------------------- movielens


def movielens_command(
    folder: Path = typer.Argument(..., help="An unpacked MovieLens folder (ml-100k or ml-latest-small)."),
    out: Path = typer.Option(..., "--out", help="Where to write the scores table (CSV)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the persona/target split of users."),
    min_ratings: int = typer.Option(20, "--min-ratings", help="Ratings a target user needs."),
    max_users: int | None = typer.Option(None, "--max-users", help="Keep at most this many target users (seeded)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Turn a MovieLens folder into a scores table: target users' ratings and genre-fan persona models."""
    from pluralign.data import genre_personas, load_movielens, write_csv

    check_number("--seed", seed, low=0, high=SEED_MAX, integer=True)
    check_number("--min-ratings", min_ratings, low=0, high=10**9, integer=True)
    check_number("--max-users", max_users, low=1, high=10**9, integer=True)
    try:
        ml = load_movielens(folder)
        table = genre_personas(ml, seed=seed, min_user_ratings=min_ratings, max_targets=max_users)
    except (FileNotFoundError, ValueError) as exc:
        raise BadInput(str(exc)) from None
    write_csv(table, out)
    personas = [c for c in table if c.startswith("fans_of_")]
    summary = {
        "folder": str(ml.folder),
        "kind": ml.kind,
        "ratings": int(ml.rating.size),
        "users": ml.n_users,
        "movies": ml.n_items,
        "personas": personas,
        "target_users": len(set(table["user"])),
        "rows": len(table["user"]),
        "out": str(out),
        "next": f"pluralign coverage {out} --target rating --group user --loss l2",
    }
    if as_json:
        print_json(summary)
        return
    c = console()
    c.print(repr(ml))
    c.print(f"wrote {out}: {summary['rows']} rows, {summary['target_users']} target users, {len(personas)} persona models")
    c.print(f"next: {summary['next']}", style="dim")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``pluralign`` app."""
    app.command("align")(align_command)
    app.command("coverage")(coverage_command)
    app.command("anes")(anes_command)
    app.command("movielens")(movielens_command)
