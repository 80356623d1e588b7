"""``pluralign check``: exact certificates, checked without a solver (docs/certificates.md).

``pluralign check CERT.json`` runs :mod:`pluralign.analysis.certificates.check` (rational
arithmetic, standard library only) on an equilibrium or alignment certificate and prints what
it recomputed; exit status 0 when proven, 1 when not (or when the file's claims do not hold),
2 when the file cannot be read as a certificate. ``--market MARKET`` also confirms that the
certificate is about that market (the exact rational reading of the file or bundled market).

The writers used by ``pluralign solve --certify DIR`` and ``pluralign align --certify FILE``
live here too (:func:`write_equilibrium_certificates`, :func:`write_alignment_certificate`).
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register", "check_command", "write_equilibrium_certificates", "write_alignment_certificate"]


def check_command(
    certificate: Path = typer.Argument(..., help="Certificate file (JSON) written by solve --certify or align --certify."),
    market: str | None = typer.Option(None, "--market", help="Also confirm the certificate is about this market (file or bundled name)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Check an exact certificate (equilibrium or market alignment) with rational arithmetic, no solver."""
    from pluralign.analysis.certificates import Malformed, check_file, exact_market
    from pluralign.analysis.certificates.check import fingerprint, load_document
    from pluralign.workflows.cli import fail, print_json, resolve_market

    try:
        report = check_file(certificate)
    except Malformed as exc:
        fail(f"{certificate}: {exc}" if str(certificate) not in str(exc) else str(exc))
    lines, code = list(report.lines), report.code
    if market is not None:
        ours = fingerprint(exact_market(resolve_market(market)))
        theirs = fingerprint(load_document(Path(certificate).read_text(encoding="utf-8"))["market"])
        if ours == theirs:
            lines.append(f"market: the certificate's market is exactly {market}")
        else:
            lines.append(f"market: the certificate's market is NOT {market} (sha256 {theirs[:16]} vs {ours[:16]})")
            code = 1
    if as_json:
        values = {k: [str(v) for v in vs] if isinstance(vs, list) else str(vs) for k, vs in report.values.items()}
        print_json({"file": str(certificate), "kind": report.kind, "proven": code == 0, "lines": lines,
                    "problems": report.problems, **values})
    else:
        for line in lines:
            typer.echo(line)
    if code:
        raise typer.Exit(code)


def _say(text: str, as_json: bool) -> None:
    typer.echo(text, err=as_json)


def write_equilibrium_certificates(game, verified, directory: Path, as_json: bool = False) -> list:
    """One certificate per verified equilibrium, ``DIR/equilibrium-N.json`` (N as printed by ``solve``).

    ``verified``: ``(n, equilibrium, ...)`` tuples. Where no exact certificate exists the reason is
    printed and no file is written. Lines go to stderr with ``--json``. Returns the paths written.
    """
    from pluralign.analysis.certificates import NoExactCertificate, certify
    from pluralign.analysis.certificates.check import approx
    from pluralign.workflows.cli import fail

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        fail(f"--certify {directory}: exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for n, eq, *_ in verified:
        try:
            cert = certify(game, eq.profile)
        except NoExactCertificate as exc:
            _say(f"equilibrium {n + 1}: {exc}", as_json)
            continue
        path = cert.save(directory / f"equilibrium-{n + 1}.json")
        written.append(path)
        verdict = "exact equilibrium" if cert.exact else ("proven" if cert.proven else "NOT proven")
        _say(f"equilibrium {n + 1}: certificate {path} ({verdict}; largest certified regret "
             f"{approx(cert.max_regret)}; check with: pluralign check {path})", as_json)
    return written


def write_alignment_certificate(market, variant: str, offset: str, path: Path, as_json: bool = False) -> Path:
    """The exact WMA/SMA certificate of ``market`` written to ``path`` (``align --certify``)."""
    from pluralign.analysis.certificates import certify_alignment

    cert = certify_alignment(market, variant=variant, offset=offset)
    path = cert.save(Path(path))
    state = "proven" if cert.proven else "NOT proven"
    _say(f"alignment certificate {path} ({state}; check with: pluralign check {path})", as_json)
    return path


def register(app: typer.Typer) -> None:
    """Add ``check`` to the ``pluralign`` app."""
    app.command("check")(check_command)
