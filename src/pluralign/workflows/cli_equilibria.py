"""``pluralign solve``: equilibria of a market, verified, with the guarantees of MODEL.md §9.

A thin layer over :func:`pluralign.analysis.equilibria.solve` and
:func:`pluralign.analysis.guarantees.check_guarantee`; ``--json`` prints what the tables show.
Only verified equilibria are printed; unverified candidates are counted.
"""

from __future__ import annotations

import typer

__all__ = ["register", "solve_command", "solve_report"]


def solve_report(search, checks) -> dict:
    """The JSON document of ``pluralign solve --json``."""
    m = search.market
    equilibria = []
    for eq, check in zip(search.equilibria, checks):
        if not eq.verified:
            continue
        d = eq.to_dict()
        if check is not None:
            g = check.to_dict()
            for name, row in d["users"].items():
                row["bound"] = g["users"][name]["bound"]
                row["bound_holds"] = g["users"][name]["bound_holds"]
            d["guarantee"] = {k: g[k] for k in ("guarantee", "statement", "applies", "holds", "epsilon", "aggregate_gap", "aggregate_bound")}
        else:
            for row in d["users"].values():
                row["bound"] = None
                row["bound_holds"] = None
            d["guarantee"] = None
        equilibria.append(d)
    full = search.to_dict(verified_only=True)
    full["equilibria"] = equilibria
    full["unverified_candidates"] = len(search.equilibria) - len(search.verified)
    full["market"] = m.name
    return full


def _checks(search):
    from pluralign.analysis.guarantees import check_guarantee, sma_epsilon, wma_epsilons

    try:
        eps, weights = wma_epsilons(search.market) if search.regime == "personalized" else sma_epsilon(search.market)
    except ImportError:  # pragma: no cover - alignment module missing
        return [None] * len(search.equilibria), None
    return [check_guarantee(e.verification, epsilon=eps, weights=weights) for e in search.equilibria], eps


def solve_command(
    market: str = typer.Argument(..., help="Market file (YAML/JSON) or a bundled market name."),
    regime: str = typer.Option("personalized", "--regime", help="personalized | anonymous"),
    method: str = typer.Option("dynamics", "--method", help="dynamics | enumerate"),
    seed: int = typer.Option(0, "--seed", help="Seed of the random starts and random orders."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    mode: str = typer.Option("actions", "--mode", help="Providers earn from all users' actions (actions) or their own users (usage)."),
    provider_tie: str = typer.Option("lowest", "--provider-tie", help="Tied providers: lowest | highest index."),
    action_tie: str = typer.Option("lowest", "--action-tie", help="Tied actions: lowest | highest | recommended."),
    ties: str = typer.Option("rule", "--ties", help="Certificate: provider ties as the users' rule says (rule) or won by the deviator (deviator)."),
    tol: float = typer.Option(1e-6, "--tol", help="Verification tolerance on regrets."),
    margin: float = typer.Option(1e-6, "--margin", help="Margin of explicit deviations where ties go against the deviator."),
    order: str = typer.Option("sequential", "--order", help="Dynamics: sequential | random | simultaneous."),
    max_rounds: int = typer.Option(50, "--max-rounds", help="Dynamics: rounds per start."),
    n_random: int = typer.Option(2, "--random-starts", help="Dynamics: number of random starting profiles."),
    policy_class: str = typer.Option("partitions", "--policy-class", help="Enumeration: partitions | recommendations."),
) -> None:
    """Equilibria among providers, each verified by exact best responses, with users' gaps and the §9 bounds."""
    from pluralign.analysis.anonymous_br import SizeError
    from pluralign.analysis.equilibria import solve
    from pluralign.model.users import ResponseRule
    from pluralign.workflows.cli import fail, print_json, resolve_market

    if regime not in ("personalized", "anonymous"):
        fail(f"--regime must be 'personalized' or 'anonymous', got {regime!r}")
    if method not in ("dynamics", "enumerate"):
        fail(f"--method must be 'dynamics' or 'enumerate', got {method!r}")
    if mode not in ("actions", "usage"):
        fail(f"--mode must be 'actions' or 'usage', got {mode!r}")
    if order not in ("sequential", "random", "simultaneous"):
        fail(f"--order must be 'sequential', 'random' or 'simultaneous', got {order!r}")
    if policy_class not in ("partitions", "recommendations"):
        fail(f"--policy-class must be 'partitions' or 'recommendations', got {policy_class!r}")
    if ties not in ("rule", "deviator"):
        fail(f"--ties must be 'rule' or 'deviator', got {ties!r}")
    if tol < 0 or margin < 0:
        fail("--tol and --margin must be non-negative")
    if max_rounds < 1 or n_random < 0:
        fail("--max-rounds must be at least 1 and --random-starts non-negative")
    try:
        rule = ResponseRule(provider_tie=provider_tie, action_tie=action_tie)
    except ValueError as exc:
        fail(str(exc))
    m = resolve_market(market)
    options = dict(rule=rule, mode=mode, tol=tol, margin=margin, ties=ties)
    if method == "dynamics":
        options.update(order=order, seed=seed, max_rounds=max_rounds, n_random=n_random)
    else:
        options.update(policy_class_name=policy_class)
    try:
        search = solve(m, regime, method, **options)
    except SizeError as exc:
        fail(str(exc))
    checks, eps = _checks(search)
    if as_json:
        print_json(solve_report(search, checks))
        return
    _print_tables(search, checks, eps)


def _print_tables(search, checks, eps) -> None:
    from rich.table import Table

    from pluralign.analysis.policies import describe_scheme
    from pluralign.workflows.cli import console, fmt

    m = search.market
    out = console()
    rule = search.rule
    out.print(
        f"[bold]{m.name}[/bold] — {search.regime} regime, {search.method}: "
        f"{len(search.verified)} verified equilibri{'um' if len(search.verified) == 1 else 'a'}"
        f" ({len(search.equilibria) - len(search.verified)} unverified candidates not shown)"
    )
    for n, (eq, check) in enumerate(zip(search.equilibria, checks)):
        if not eq.verified:
            continue
        v = eq.verification
        out.print(f"\n[bold]equilibrium {n + 1}[/bold]: verified (max regret {v.max_regret:.2g} <= tol {v.tol:g}); {eq.found_by}")
        users = Table()
        for col in ("user", "utility", "OPT", "gap", "bound", "holds", "consults"):
            users.add_column(col, justify="left" if col in ("user", "consults") else "right")
        for j, name in enumerate(m.users):
            bound = "n/a" if check is None else fmt(check.bound[j])
            holds = "n/a" if check is None else ("yes" if check.holds_user[j] else "NO")
            users.add_row(name, fmt(v.utilities[j]), fmt(v.opt[j]), fmt(v.gap[j]), bound, holds, m.providers[int(v.choice[j])])
        out.print(users)
        provs = Table()
        for col in ("provider", "payoff", "regret (certified)", "regret (attained)", "policy"):
            provs.add_column(col, justify="left" if col in ("provider", "policy") else "right")
        for i, name in enumerate(m.providers):
            if v.regime == "personalized":
                policy = "; ".join(f"{u}: {describe_scheme(m, v.profile.scheme(i, j))}" for j, u in enumerate(m.users))
            else:
                policy = describe_scheme(m, v.profile.scheme(i))
            provs.add_row(name, fmt(v.payoffs[i]), f"{v.regret[i]:.2g}", f"{v.regret_attained[i]:.2g}", policy)
        out.print(provs)
        if check is not None and search.regime == "anonymous":
            state = "holds" if check.holds else "FAILS"
            out.print(f"guarantee C: sum_j p_j gap_j = {check.aggregate_gap:.4f} <= {check.aggregate_bound:.4f} ({state})")
    if eps is not None:
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
    for r in search.runs:
        out.print(f"run from {r.start}: {r.status} after {r.rounds} rounds ({r.moves} moves)", style="dim")
    if search.info:
        out.print(
            f"enumeration over {search.info['policy_class']} of X: {search.info['class_size']} policies, "
            f"{search.info['in_class_equilibria']} pure equilibria in the class", style="dim",
        )
    out.print(
        f"tie rule: providers {rule.provider_tie}, actions {rule.action_tie}, tol {rule.tol:g}; regrets are suprema over "
        f"deviations (action ties won by the deviator, provider ties: {search.parameters.get('ties', 'rule')}); "
        f"mode {search.mode}",
        style="dim",
    )


def register(app: typer.Typer) -> None:
    """Add ``solve`` to the ``pluralign`` app."""
    app.command("solve")(solve_command)
