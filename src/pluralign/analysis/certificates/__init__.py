"""Exact certificates that anyone can check without a solver (docs/certificates.md).

* :func:`certify` — an equilibrium certificate of a profile in a :class:`~pluralign.analysis.game.ProviderGame`;
* :func:`certify_alignment` — Weak and Strong Market Alignment certificates (docs/model.md §7);
* :func:`check_file` / :func:`check_document` — the checker (:mod:`.check`: rational arithmetic,
  standard library only, no solver, no floating point).
"""

from pluralign.analysis.certificates.build import (
    Certificate,
    NoExactCertificate,
    certify,
    certify_alignment,
    exact_market,
    exact_profile,
)
from pluralign.analysis.certificates.check import Malformed, Report, check_document, check_file, load_document

__all__ = [
    "Certificate",
    "Malformed",
    "NoExactCertificate",
    "Report",
    "certify",
    "certify_alignment",
    "check_document",
    "check_file",
    "exact_market",
    "exact_profile",
    "load_document",
]
