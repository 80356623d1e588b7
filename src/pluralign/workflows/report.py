"""One self-contained HTML report of one sweep run, or of every run below a directory.

``write_report(ROOT)`` finds the run directories at or below ROOT (a sweep's
``--out``, or ``pluralign reproduce``'s ``OUT`` with one run per experiment), and
for each reads the stored results (read-only; a sweep may still be writing) and
asks its experiment for figures and a summary table. It writes

* ``ROOT/report.html`` — figures as inline base64 PNG, tables, the resolved config,
  seeds, package versions, timings and failed tasks; no external URL, no JavaScript
  library (one small inline script marks how many figures the browser decoded, on
  ``<body data-figures-loaded=…>``), so it opens offline;
* ``ROOT/figures/<experiment>-<figure>.png`` — the same figures as files;
* ``results.parquet`` in each run directory when pyarrow is installed.

A figure or summary function that raises does not stop the report: the section
shows the error, and :attr:`Report.problems` lists it.
"""

from __future__ import annotations

import base64
import html
import io
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pluralign.workflows.experiments import registry
from pluralign.workflows.sweeps.rundir import CONFIG_FILE, is_running, versions
from pluralign.workflows.sweeps.runs import RunData, export, find_runs, load_run
from pluralign.workflows.sweeps.tasks import json_safe, one_line

__all__ = ["Report", "write_report", "ReportError"]

REPORT_FILE = "report.html"
FIGURES_DIR = "figures"


class ReportError(ValueError):
    """Nothing to report (no run directory found)."""


@dataclass(frozen=True)
class Report:
    """What :func:`write_report` wrote."""

    path: Path
    figures: tuple[Path, ...]
    runs: tuple[str, ...]
    problems: tuple[str, ...]
    summaries: Mapping[str, list[dict[str, Any]]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "figures": [str(p) for p in self.figures],
            "runs": list(self.runs),
            "problems": list(self.problems),
            "summaries": json_safe(dict(self.summaries)),  # NaN → null: JSON has no NaN
        }


# --------------------------------------------------------------------------- small HTML helpers

_e = html.escape


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "—"
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _table(rows: Sequence[Mapping[str, Any]], css: str = "", caption: str | None = None) -> str:
    if not rows:
        return '<p class="empty">(no rows)</p>'
    columns: dict[str, None] = {}
    for r in rows:
        columns.update(dict.fromkeys(r))
    head = "".join(f"<th>{_e(str(c))}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c)
            num = isinstance(v, (int, float)) and not isinstance(v, bool)
            cells.append(f'<td{" class=num" if num else ""}>{_e(_fmt(v))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f'<table class="{css}">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _seeds_text(seeds: Sequence[int]) -> str:
    if not seeds:
        return "—"
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 3:
        return f"{seeds[0]}–{seeds[-1]} ({len(seeds)} seeds)"
    return ", ".join(map(str, seeds)) + f" ({len(seeds)} seed{'s' if len(seeds) != 1 else ''})"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {sec:02d} s"


def _when(stamp: str | None) -> str:
    """``2026-01-02T03:04:05+00:00`` → ``2026-01-02 03:04:05``."""
    return stamp[:19].replace("T", " ") if stamp else "—"


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    if "matplotlib.pyplot" in sys.modules:  # free figures an experiment made with pyplot
        import matplotlib.pyplot as plt

        plt.close(fig)
    return buf.getvalue()


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)


_CSS = """
:root { --fg: #1d232b; --muted: #5c6773; --line: #d9dee4; --bg-alt: #f5f7f9; --accent: #2f5d8a; --bad: #a4262c; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); margin: 0 auto; max-width: 1120px; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.7rem; margin: 0 0 .2rem; } h2 { font-size: 1.35rem; margin: 2.4rem 0 .3rem; border-bottom: 2px solid var(--accent); padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; color: var(--accent); }
.meta, .description, .empty { color: var(--muted); }
nav ul { padding-left: 1.2rem; margin: .3rem 0; } a { color: var(--accent); }
table { border-collapse: collapse; margin: .4rem 0 1rem; font-size: .9rem; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .7rem; text-align: left; vertical-align: top; }
th { background: var(--bg-alt); font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfc; } caption { text-align: left; color: var(--muted); padding-bottom: .2rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .85rem; }
pre { background: var(--bg-alt); padding: .7rem 1rem; overflow-x: auto; font-size: .85rem; border-radius: 4px; }
.problem { color: var(--bad); font-weight: 600; } table.failed td { color: var(--bad); }
.badge { display: inline-block; padding: 0 .5rem; border-radius: 3px; font-size: .8rem; background: var(--bg-alt); }
.badge.complete { background: #e3f1e5; } .badge.incomplete, .badge.interrupted, .badge.running { background: #fdf0d5; }
"""

# Counts script errors and resources that fail to load (capture phase sees both), on <body data-errors>.
_HEAD_SCRIPT = """
window.__errors = 0;
window.addEventListener("error", function () {
  window.__errors++;
  if (document.body) document.body.setAttribute("data-errors", String(window.__errors));
}, true);
"""

# Marks, once the page has loaded, how many figures the browser decoded and how many tables it has.
_SCRIPT = """
window.addEventListener("load", function () {
  document.body.setAttribute("data-errors", String(window.__errors || 0));
  var images = document.querySelectorAll("img.plot"), loaded = 0;
  for (var k = 0; k < images.length; k++) { if (images[k].complete && images[k].naturalWidth > 0) loaded++; }
  document.body.setAttribute("data-figures-loaded", String(loaded));
  document.body.setAttribute("data-tables", String(document.querySelectorAll("table").length));
});
"""


# --------------------------------------------------------------------------- one run's section


@dataclass
class _Section:
    name: str
    html: str
    overview: dict[str, Any]
    figures: list[Path]
    problems: list[str]
    n_figures: int
    summary: list[dict[str, Any]]


def _label(run_dir: Path, root: Path, experiment: str) -> str:
    """The run's name in the report: the experiment, or the run's subdirectory when that differs."""
    rel = run_dir.resolve().relative_to(root.resolve()).as_posix() if run_dir.resolve() != root.resolve() else ""
    return experiment if rel in ("", experiment) else rel


def _run_section(data: RunData, root: Path, figures_dir: Path) -> _Section:
    name = data.experiment
    label = _label(data.run_dir, root, name)
    anchor = "run-" + _slug(label)
    problems: list[str] = []
    try:
        exp = registry.get(name)
    except KeyError:
        exp = None
        problems.append(f"{name}: not a registered experiment; figures and summary skipped")
    rows = data.rows()
    info = data.info
    heading = _e(label) if label == name else f"{_e(label)} <small>({_e(name)})</small>"
    parts = [f'<section class="experiment" id="{anchor}">', f"<h2>{heading}</h2>"]
    description = exp.description if exp else info.get("description", "")
    if description:
        parts.append(f'<p class="description">{_e(description)}</p>')
    if data.pending == 0:
        status = "complete"
    elif is_running(data.run_dir):
        status = "running"
    else:
        status = "interrupted" if info.get("status") == "interrupted" else "incomplete"
    n_ok, n_err = len(rows), len(data.failed())
    sessions = info.get("sessions", [])
    wall = sum(s.get("seconds") or 0.0 for s in sessions)
    parts.append(
        f'<p class="meta"><span class="badge {_e(status)}">{_e(status)}</span> '
        f"{n_ok + n_err + data.pending} tasks: {n_ok} ok, {n_err} failed, {data.pending} not run · "
        f"wall time {_e(_duration(wall))} over {len(sessions)} session{'s' if len(sessions) != 1 else ''} · "
        f"run directory <code>{_e(str(data.run_dir))}</code></p>"
    )
    if data.other:
        parts.append(f'<p class="meta">{data.other} stored results from earlier configurations of this run are not shown.</p>')

    # figures
    saved: list[Path] = []
    n_figures = 0
    if exp is not None and rows:
        try:
            figs = list(exp.figures(rows))
        except Exception as exc:
            figs = []
            problems.append(f"{name}: figures failed: {one_line(exc)}")
            parts.append(f'<p class="problem">figures failed: {_e(one_line(exc))}</p>')
        for fig_name, fig in figs:
            try:
                png = _png(fig)
            except Exception as exc:
                problems.append(f"{name}: figure {fig_name} failed: {one_line(exc)}")
                parts.append(f'<p class="problem">figure {_e(fig_name)} failed: {_e(one_line(exc))}</p>')
                continue
            figures_dir.mkdir(parents=True, exist_ok=True)
            path = figures_dir / f"{_slug(label)}-{_slug(fig_name)}.png"
            path.write_bytes(png)
            saved.append(path)
            n_figures += 1
            data_uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            parts.append(
                f'<figure><img class="plot" src="{data_uri}" alt="{_e(label)}: {_e(fig_name)}">'
                f"<figcaption>{_e(fig_name)} — also saved as <code>{_e(str(path.relative_to(root)))}</code></figcaption></figure>"
            )
    elif not rows:
        parts.append('<p class="empty">No finished tasks yet: no figures.</p>')

    # summary table
    summary: list[dict[str, Any]] = []
    if exp is not None and rows:
        try:
            summary = [dict(r) for r in exp.summary(rows)]
        except Exception as exc:
            problems.append(f"{name}: summary failed: {one_line(exc)}")
            parts.append(f'<p class="problem">summary failed: {_e(one_line(exc))}</p>')
    if summary:
        parts.append("<h3>Summary</h3>" + _table(summary, "summary"))

    # failed tasks
    failed = data.failed()
    if failed:
        grid = data.config.get("grid") or {}
        parts.append(f"<h3>Failed tasks ({len(failed)})</h3>")
        parts.append(
            _table(
                [
                    {"key": t.key, "seed": t.seed, **{k: t.params.get(k) for k in grid}, "error": t.error, "attempts": t.attempts}
                    for t in failed
                ],
                "failed",
            )
        )

    # config, seeds, timings, versions
    seeds = info.get("seeds") or data.config.get("seeds") or []
    parts.append(f"<h3>Config</h3><p>Seeds: {_e(_seeds_text(seeds))}</p>")
    try:
        config_text = (data.run_dir / CONFIG_FILE).read_text()
    except OSError:
        config_text = json.dumps(data.config, indent=2)
    parts.append(f"<pre>{_e(config_text)}</pre>")
    if sessions:
        parts.append("<h3>Timings</h3>")
        parts.append(
            _table(
                [
                    {
                        "started (UTC)": _when(s.get("started_at")),
                        "ended (UTC)": _when(s.get("ended_at")),
                        "backend": s.get("backend"),
                        "workers": s.get("workers"),
                        "skipped": s.get("skipped"),
                        "ran": s.get("ran"),
                        "failed": s.get("error"),
                        "wall time": _duration(s.get("seconds")),
                        "interrupted": s.get("interrupted"),
                    }
                    for s in sessions
                ],
                "timings",
            )
        )
    task_seconds = info.get("task_seconds") or {}
    if task_seconds:
        parts.append(
            f'<p class="meta">Task compute time: total {_e(_duration(task_seconds.get("total")))}, '
            f'mean {_e(_fmt(task_seconds.get("mean")))} s, max {_e(_fmt(task_seconds.get("max")))} s.</p>'
        )
    run_versions = info.get("versions") or {}
    if run_versions:
        parts.append("<h3>Package versions of the run</h3>" + _table([run_versions], "versions"))
    parts.append("</section>")

    overview = {
        "run": label,
        "experiment": name,
        "status": status,
        "tasks": n_ok + n_err + data.pending,
        "ok": n_ok,
        "failed": n_err,
        "not run": data.pending,
        "wall time": _duration(wall),
    }
    return _Section(label, "\n".join(parts), overview, saved, problems, n_figures, summary)


# --------------------------------------------------------------------------- the report


def write_report(root: str | Path, output: str | Path | None = None, *, title: str | None = None, parquet: bool = True) -> Report:
    """Write the HTML report of every run at or below ``root``; see the module docstring."""
    root = Path(root)
    if not root.is_dir():
        raise ReportError(f"{root}: no such directory")
    runs = find_runs(root)
    if not runs:
        raise ReportError(f"{root}: no sweep results here (no results.sqlite in it or its subdirectories)")
    output = Path(output) if output is not None else root / REPORT_FILE
    figures_dir = root / FIGURES_DIR
    sections = []
    problems: list[str] = []
    for run_dir in runs:
        data = load_run(run_dir)
        section = _run_section(data, root, figures_dir)
        sections.append(section)
        problems.extend(section.problems)
        if parquet:
            try:
                export(run_dir, "parquet")
            except Exception as exc:
                if "pyarrow" not in str(exc):
                    problems.append(f"{data.experiment}: parquet export failed: {one_line(exc)}")

    if title is None:
        title = f"pluralign report: {sections[0].name}" if len(sections) == 1 else f"pluralign report: {root.resolve().name}"
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    n_figures = sum(s.n_figures for s in sections)
    toc = "".join(f'<li><a href="#run-{_slug(s.name)}">{_e(s.name)}</a></li>' for s in sections)
    env = versions()
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<link rel="icon" href="data:,">
<style>{_CSS}</style>
<script>{_HEAD_SCRIPT}</script>
</head>
<body data-figures-expected="{n_figures}" data-figures-loaded="0">
<header>
<h1>{_e(title)}</h1>
<p class="meta">Generated {_e(generated)} UTC from <code>{_e(str(root.resolve()))}</code> by pluralign {_e(env.get("pluralign", "?"))}.</p>
</header>
<nav><strong>Experiments</strong><ul>{toc}<li><a href="#environment">Environment</a></li></ul></nav>
<section id="overview">
<h2>Overview</h2>
{_table([s.overview for s in sections], "overview")}
{"".join(f'<p class="problem">{_e(p)}</p>' for p in problems)}
</section>
{"".join(s.html for s in sections)}
<section id="environment">
<h2>Environment</h2>
<p class="meta">Package versions when this report was written (each run's own versions are in its section).</p>
{_table([env], "versions")}
</section>
<script>{_SCRIPT}</script>
</body>
</html>
"""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(output)
    return Report(
        path=output.resolve(),
        figures=tuple(p for s in sections for p in s.figures),
        runs=tuple(s.name for s in sections),
        problems=tuple(problems),
        summaries={s.name: s.summary for s in sections},
    )
