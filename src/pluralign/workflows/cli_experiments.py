"""Commands ``experiments``, ``sweep``, ``reproduce`` and ``report`` (registered on the main app).

Exit status: 0 when every task succeeded, 1 when the run finished but some tasks
failed (their errors are listed and stored), 2 for bad input (one line), 130
after Ctrl-C (finished results are kept; rerun the same command to resume).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from pluralign.workflows.cli import BadInput, check_number, console, path_exists, print_json

EXIT_FAILED_TASKS = 1
EXIT_INTERRUPTED = 130

_BACKEND_HELP = "local (process pool, default), serial (in this process, for debugging) or dask."


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while a sweep runs, so it also stops cleanly."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _agg() -> None:
    import matplotlib

    matplotlib.use("Agg")


def _check_execution(backend: str | None, workers: int | None, scheduler: str | None) -> None:
    """Bad ``--backend``/``--workers``/``--scheduler`` combinations, as one-line input errors."""
    from pluralign.workflows.sweeps.config import MAX_WORKERS

    check_number("--workers", workers, low=1, high=MAX_WORKERS, integer=True)
    if backend is not None and backend not in ("local", "serial", "dask"):
        raise BadInput(f"--backend must be local, serial or dask, got {backend!r}")
    if scheduler is not None and (backend or "dask") != "dask":  # no backend: the scheduler implies dask
        raise BadInput("--scheduler is only used with --backend dask")


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return "0" if abs(value) < 5e-10 else f"{value:.3g}"  # solver round-off shows as 0
    return str(value)


def _print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = Table(title=title, title_justify="left")
    columns: dict[str, None] = {}
    for r in rows:
        columns.update(dict.fromkeys(r))
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    for k, c in enumerate(columns):
        numeric = any(isinstance(r.get(c), (int, float)) for r in rows)
        table.add_column(str(c), justify="right" if numeric else "left", no_wrap=True,
                         min_width=max(len(row[k]) for row in cells))
    for row in cells:
        table.add_row(*row)
    widths = [max([len(str(c))] + [len(row[k]) for row in cells]) for k, c in enumerate(columns)]
    out = console()
    needed = sum(w + 3 for w in widths) + 1  # cell padding and borders
    if needed > out.width:
        out = Console(highlight=False, width=needed)
    out.print(table)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {sec:02d} s" if hours else f"{minutes} min {sec:02d} s"


def _print_failed(failed: tuple[dict[str, Any], ...] | list[dict[str, Any]], limit: int = 20) -> None:
    """One line per failed task (plain text: easy to grep, never wrapped)."""
    if not failed:
        return
    more = f", first {limit} shown" if len(failed) > limit else ""
    typer.echo(f"failed tasks ({len(failed)}{more}):")
    for f in failed[:limit]:
        params = " ".join(f"{k}={v}" for k, v in f["params"].items())
        typer.echo(f"  {f['key']}  seed={f['seed']} {params}: {f['error']}")


def _sweep_line(r: Any) -> str:
    return (
        f"{r.experiment}: {r.total} tasks — {r.skipped} already done, {r.ran} run now; "
        f"{r.ok} ok, {r.failed} failed, {r.pending} not run; {_duration(r.seconds)}; results in {r.run_dir}"
    )


def register(app: typer.Typer) -> None:
    """Add the experiment commands to the ``pluralign`` app."""

    @app.command("experiments")
    def experiments_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
        """List the registered experiments, their parameters and task counts."""
        from pluralign.workflows.experiments import registry

        items = [
            {
                "name": e.name,
                "description": e.description,
                "parameters": {k: (None if v is ... else v) for k, v in e.parameters().items()},
                "quick_tasks": e.n_tasks(quick=True),
                "full_tasks": e.n_tasks(quick=False),
            }
            for e in registry.experiments()
        ]
        if as_json:
            print_json(items)
            return
        table = Table(title="experiments (pluralign reproduce NAME|all [--quick])", title_justify="left")
        for column in ("name", "tasks quick/full", "parameters (defaults)", "description"):
            table.add_column(column)
        for it in items:
            params = ", ".join(f"{k}={v}" for k, v in it["parameters"].items())
            table.add_row(it["name"], f"{it['quick_tasks']}/{it['full_tasks']}", params, it["description"])
        console().print(table)

    @app.command()
    def sweep(
        config: str = typer.Argument(..., help="Sweep config (YAML): experiment, grid, seeds."),
        out: str = typer.Option(None, "--out", help="Run directory (default: the config's 'out', else runs/<config name>)."),
        backend: str = typer.Option(None, "--backend", help=_BACKEND_HELP),
        workers: int = typer.Option(None, "--workers", help="Worker processes (default: the number of cores)."),
        scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 (with --backend dask)."),
        retry_failed: bool = typer.Option(False, "--retry-failed", help="Run failed tasks again (finished ones are always skipped)."),
        export_fmt: str = typer.Option(None, "--export", help="Also write the results as parquet (needs pyarrow) or csv."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Run an experiment over a grid × seeds; resumable: rerun the same command to continue."""
        from pluralign.workflows.sweep import SweepConfigError, SweepError, export, load_config, run_sweep

        _check_execution(backend, workers, scheduler)
        if export_fmt is not None and export_fmt not in ("parquet", "csv"):
            raise BadInput(f"--export must be parquet or csv, got {export_fmt!r}")
        if export_fmt == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise BadInput("--export parquet needs pyarrow: pip install 'pluralign[data]'") from None
        path = Path(config)
        if not path_exists(path):
            raise BadInput(f"{config}: no such file")
        try:
            cfg = load_config(path)
            if scheduler is not None and backend is None:
                backend = "dask"
            target = out or cfg.out or str(Path("runs") / path.stem)
            with _sigterm_as_interrupt():
                result = run_sweep(
                    cfg, target, backend=backend, workers=workers, scheduler=scheduler,
                    retry_failed=retry_failed, progress=False if quiet else None,
                )
            exported = str(export(result.run_dir, export_fmt)) if export_fmt else None
        except (SweepConfigError, SweepError) as exc:
            raise BadInput(str(exc)) from None
        if as_json:
            print_json({**result.to_dict(), "export": exported})
        else:
            typer.echo(_sweep_line(result))
            _print_failed(result.failed_tasks)
            if exported:
                typer.echo(f"exported: {exported}")
        if result.interrupted:
            typer.echo(f"interrupted: finished results are kept in {result.run_dir}; rerun the same command to resume", err=True)
            raise typer.Exit(EXIT_INTERRUPTED)
        if result.failed:
            raise typer.Exit(EXIT_FAILED_TASKS)

    @app.command()
    def reproduce(
        names: list[str] = typer.Argument(..., help="Experiment names, or 'all' (see `pluralign experiments`)."),
        out: str = typer.Option(None, "--out", help="Output directory (default: runs/quick or runs/full)."),
        quick: bool = typer.Option(False, "--quick", help="The quick grids (each well under a minute on 2 cores)."),
        backend: str = typer.Option("local", "--backend", help=_BACKEND_HELP),
        workers: int = typer.Option(None, "--workers", help="Worker processes (default: the number of cores)."),
        scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address (with --backend dask)."),
        retry_failed: bool = typer.Option(False, "--retry-failed", help="Run failed tasks again."),
        no_report: bool = typer.Option(False, "--no-report", help="Do not write the HTML report."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
        as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
    ) -> None:
        """Run experiments' quick or full grids into OUT/<name>/, then write OUT/report.html."""
        from pluralign.workflows.experiments import registry
        from pluralign.workflows.reproduce import reproduce as run_reproduce
        from pluralign.workflows.sweep import SweepConfigError, SweepError

        _check_execution(backend, workers, scheduler)
        for name in names:
            if name != "all" and name not in registry.names():
                raise BadInput(f"unknown experiment {name!r} (known: {', '.join(registry.names())}, or all)")
        _agg()
        target = Path(out) if out else Path("runs") / ("quick" if quick else "full")
        try:
            with _sigterm_as_interrupt():
                result = run_reproduce(
                    names, target, quick=quick, backend=backend, workers=workers, scheduler=scheduler,
                    retry_failed=retry_failed, progress=False if quiet else None, report=not no_report,
                )
        except (SweepConfigError, SweepError) as exc:
            raise BadInput(str(exc)) from None
        if as_json:
            print_json(result.to_dict())
        else:
            _print_rows(
                f"pluralign reproduce {' '.join(names)}{' --quick' if quick else ''}",
                [
                    {
                        "experiment": s.experiment,
                        "tasks": s.total,
                        "run now": s.ran,
                        "ok": s.ok,
                        "failed": s.failed,
                        "not run": s.pending,
                        "time": _duration(s.seconds),
                    }
                    for s in result.sweeps
                ],
            )
            if result.report is not None:
                for name, rows in result.report.summaries.items():
                    _print_rows(f"{name}: summary", rows)
                for problem in result.report.problems:
                    typer.echo(f"warning: {problem}", err=True)
            for s in result.sweeps:
                _print_failed(s.failed_tasks)
            if result.report is not None:
                typer.echo(f"report: {result.report.path}")
            typer.echo(f"took {_duration(result.seconds)} ({'quick' if quick else 'full'} grids, backend {backend})")
        if result.interrupted:
            typer.echo(f"interrupted: finished results are kept in {result.out}; rerun the same command to resume", err=True)
            raise typer.Exit(EXIT_INTERRUPTED)
        if result.failed:
            raise typer.Exit(EXIT_FAILED_TASKS)

    @app.command()
    def report(
        run_dir: str = typer.Argument(..., help="A sweep's run directory, or a directory of runs (e.g. reproduce's OUT)."),
        output: str = typer.Option(None, "--output", "-o", help="HTML file to write (default: RUN_DIR/report.html)."),
        as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
    ) -> None:
        """Write one self-contained HTML report (figures inline, tables, config, versions); print its path."""
        from pluralign.workflows.report import ReportError, write_report

        _agg()
        try:
            result = write_report(run_dir, output)
        except ReportError as exc:
            raise BadInput(str(exc)) from None
        if as_json:
            print_json(result.to_dict())
            return
        for problem in result.problems:
            typer.echo(f"warning: {problem}", err=True)
        typer.echo(str(result.path))
