"""``pluralign solve``: equilibria of a market, verified, with the guarantees of docs/model.md §9.

Parses the options into a :class:`~pluralign.analysis.game.ProviderGame`, calls a solver and
:func:`~pluralign.analysis.guarantees.assess`, and prints the result (``--json``: its
``to_dict()``). Only verified equilibria are printed; unverified candidates are counted.
"""

from __future__ import annotations

import math
from pathlib import Path

import typer

__all__ = ["register", "solve_command"]


def _check_number(option: str, value: float, low: float, high: float) -> None:
    from pluralign.workflows.cli import fail

    if not (math.isfinite(value) and low <= value <= high):
        fail(f"{option} must be a finite number in [{low:g}, {high:g}], got {value!r}")


def _check_int(option: str, value: int, low: int, high: int) -> None:
    from pluralign.workflows.cli import fail

    if not low <= value <= high:
        fail(f"{option} must be an integer in [{low}, {high}], got {value}")


def solve_command(
    market: str = typer.Argument(..., help="Market file (YAML/JSON) or a bundled market name."),
    regime: str = typer.Option("personalized", "--regime", help="personalized | anonymous"),
    menus: bool = typer.Option(False, "--menus", help="Policies are menus: one scheme per report (private observation; and type when anonymous)."),
    method: str = typer.Option("dynamics", "--method", help="dynamics | enumerate | construct (personalized: user by user)"),
    seed: int = typer.Option(0, "--seed", help="Seed of the random starts and random orders (0 or more)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    mode: str = typer.Option("actions", "--mode", help="Providers earn from all users' actions (actions) or their own users (usage)."),
    provider_tie: str = typer.Option("lowest", "--provider-tie", help="Tied providers: lowest | highest index, or uniform (the user splits equally)."),
    action_tie: str = typer.Option("lowest", "--action-tie", help="Tied actions: lowest | highest | recommended."),
    ties: str = typer.Option("rule", "--ties", help="Certificate: provider ties as the users' rule says (rule) or won by the deviator (deviator)."),
    tol: float = typer.Option(1e-6, "--tol", help="Verification tolerance on regrets, in [0, 1]."),
    margin: float = typer.Option(1e-6, "--margin", help="Margin of explicit deviations where ties go against the deviator, in [0, 0.1]."),
    order: str = typer.Option("sequential", "--order", help="Dynamics: sequential | random | simultaneous."),
    max_rounds: int = typer.Option(50, "--max-rounds", help="Dynamics: rounds per start (1 to 100000)."),
    n_random: int = typer.Option(2, "--random-starts", help="Dynamics: number of random starting profiles (0 to 10000)."),
    policy_class: str = typer.Option("partitions", "--policy-class", help="Enumeration: partitions | recommendations."),
    max_equilibria: int = typer.Option(50, "--max-equilibria", help="Enumeration (construction): verify at most this many in-class equilibria (combinations)."),
    certify: Path | None = typer.Option(None, "--certify", help="Write an exact certificate of every verified equilibrium into this directory (pluralign check reads them)."),
) -> None:
    """Equilibria among providers, each verified by exact best responses, with users' gaps and the §9 bounds."""
    from pluralign.analysis.game import ProviderGame
    from pluralign.analysis.guarantees import assess
    from pluralign.analysis.limits import SizeError
    from pluralign.analysis.solvers.dynamics import dynamics_solve
    from pluralign.analysis.solvers.enumeration import enumerate_solve
    from pluralign.model.users import ResponseRule
    from pluralign.workflows.cli import fail, print_json, resolve_market

    choices = {
        "--regime": (regime, ("personalized", "anonymous")),
        "--method": (method, ("dynamics", "enumerate", "construct")),
        "--mode": (mode, ("actions", "usage")),
        "--provider-tie": (provider_tie, ("lowest", "highest", "uniform")),
        "--action-tie": (action_tie, ("lowest", "highest", "recommended")),
        "--ties": (ties, ("rule", "deviator")),
        "--order": (order, ("sequential", "random", "simultaneous")),
        "--policy-class": (policy_class, ("partitions", "recommendations")),
    }
    for option, (value, allowed) in choices.items():
        if value not in allowed:
            fail(f"{option} must be one of {', '.join(allowed)}; got {value!r}")
    _check_number("--tol", tol, 0.0, 1.0)
    _check_number("--margin", margin, 0.0, 0.1)
    _check_int("--seed", seed, 0, 2**63 - 1)
    _check_int("--max-rounds", max_rounds, 1, 100_000)
    _check_int("--random-starts", n_random, 0, 10_000)
    _check_int("--max-equilibria", max_equilibria, 1, 100_000)
    m = resolve_market(market)
    game = ProviderGame(
        m, regime, menus=menus, mode=mode, rule=ResponseRule(provider_tie=provider_tie, action_tie=action_tie),
        ties=ties, margin=margin, tol=tol,
    )
    try:
        if method == "dynamics":
            search = dynamics_solve(game, order=order, n_random=n_random, max_rounds=max_rounds, random_state=seed)
        elif method == "construct":
            from pluralign.analysis.solvers.construction import construct_solve

            search = construct_solve(game, max_equilibria=max_equilibria)
        else:
            search = enumerate_solve(game, policy_class=policy_class, max_equilibria=max_equilibria)
    except SizeError as exc:
        fail(str(exc))
    except ValueError as exc:
        if method != "construct":
            raise
        fail(str(exc))
    report = assess(search)
    if as_json:
        print_json(report.to_dict())
    else:
        _print_tables(report)
    if certify is not None:
        from pluralign.workflows.cli_certificates import write_equilibrium_certificates

        write_equilibrium_certificates(game, report.verified(), certify, as_json)


def _print_tables(report) -> None:
    from rich.table import Table

    from pluralign.analysis.game import policies_dict
    from pluralign.workflows.cli import console, fmt

    search = report.search
    m, game = search.market, search.game
    out = console()
    verified = report.verified()
    menus = " with menus" if game.menus else ""
    out.print(
        f"[bold]{m.name}[/bold] — {search.regime} regime{menus}, {search.method}: "
        f"{len(verified)} verified equilibri{'um' if len(verified) == 1 else 'a'}"
        f" ({len(search.equilibria) - len(verified)} unverified candidates not shown)"
    )
    for n, eq, check in verified:
        v = eq.verification
        out.print(f"\n[bold]equilibrium {n + 1}[/bold]: verified (max regret {v.max_regret:.2g} <= tol {v.tol:g}); {eq.found_by}")
        users = Table()
        for col in ("user", "utility", "OPT", "gap", "bound", "holds", "consults"):
            users.add_column(col, justify="left" if col in ("user", "consults") else "right")
        for j, name in enumerate(m.users):
            holds = "yes" if check.holds_user[j] else "NO"
            users.add_row(name, fmt(v.utilities[j]), fmt(v.opt[j]), fmt(v.gap[j]), fmt(check.bound[j]), holds, v.consults(j))
        out.print(users)
        provs = Table()
        for col in ("provider", "payoff", "regret (certified)", "regret (attained)", "policy"):
            provs.add_column(col, justify="left" if col in ("provider", "policy") else "right")
        policies = policies_dict(m, v.profile)
        for i, name in enumerate(m.providers):
            provs.add_row(name, fmt(v.payoffs[i]), f"{v.regret[i]:.2g}", f"{v.regret_attained[i]:.2g}",
                          _policy_text(policies[name]))
        out.print(provs)
        if search.regime == "anonymous":
            state = "holds" if check.holds else "FAILS"
            out.print(f"guarantee C: sum_j p_j gap_j = {check.aggregate_gap:.4f} <= {check.aggregate_bound:.4f} ({state})")
    eps = report.epsilon
    if search.regime == "personalized":
        out.print(f"bound = OPT_j - 2 eps_j (guarantee A, WMA cone errors eps = {[round(float(e), 4) for e in eps]})", style="dim")
    else:
        out.print(f"bound = OPT_j - 2 eps_S / p_j, implied by guarantee C (SMA error eps_S = {float(eps):.4f})", style="dim")
    worst, best = search.worst_utility, search.best_utility
    if worst is not None:
        out.print(
            "users' utility over verified equilibria: "
            + ", ".join(f"{u} {worst[j]:.4f}..{best[j]:.4f}" for j, u in enumerate(m.users))
        )
    for r in getattr(search, "runs", ()):
        jumped = getattr(r, "jumps", ())
        extra = (f", {len(jumped)} ladder jump{'s' if len(jumped) > 1 else ''} for {r.skipped_moves} moves" if jumped else "")
        extra += ", polished" if getattr(r, "polished", False) else ""
        out.print(f"run from {r.start}: {r.status} after {r.rounds} rounds ({r.moves} moves{extra})", style="dim")
    if hasattr(search, "class_size"):
        out.print(
            f"enumeration over {search.policy_class} of X: {search.class_size} policies, "
            f"{search.in_class_equilibria} pure equilibria in the class", style="dim",
        )
    rule = game.rule
    out.print(
        f"tie rule: providers {rule.provider_tie}, actions {rule.action_tie}, tol {rule.tol:g} (relative); regrets are "
        f"suprema over deviations (action ties won by the deviator, provider ties: {game.ties}); mode {game.mode}",
        style="dim",
    )


def _policy_text(policy: dict) -> str:
    """One provider's policy in one line: its items' summaries, labelled by user and report."""
    if "summary" in policy:
        return policy["summary"]
    return "; ".join(f"{label}: {_policy_text(item)}" for label, item in policy.items())


def register(app: typer.Typer) -> None:
    """Add ``solve`` to the ``pluralign`` app."""
    app.command("solve")(solve_command)
