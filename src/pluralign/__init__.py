"""pluralign: markets of competing, misaligned AI providers and the diverse users who rely on them.

The theory is docs/model.md. The model lives in :mod:`pluralign.model`, the analyses in
:mod:`pluralign.analysis`, and the command line and other workflows in
:mod:`pluralign.workflows`. The names most people need are here:

>>> import pluralign as pa
>>> game = pa.ProviderGame(pa.catalog.load("match_mismatch"), "anonymous")
>>> result = pa.enumerate_solve(game)
>>> [e.utilities.tolist() for e in result.verified][0]     # both providers silent: users at ½
[0.5, 0.5]
"""

from importlib.metadata import PackageNotFoundError, version

from pluralign import catalog
from pluralign.analysis.alignment import align, strong_alignment, weak_alignment
from pluralign.analysis.benchmarks import benchmarks, monopoly, noinfo, opt
from pluralign.analysis.certificates import Certificate, NoExactCertificate, certify, certify_alignment
from pluralign.analysis.game import ProviderGame, Verification, best_response, verify
from pluralign.analysis.guarantees import GuaranteeCheck, SearchGuarantees, assess, check_guarantee
from pluralign.analysis.induced import InducedGame
from pluralign.analysis.limits import SizeError
from pluralign.analysis.responses.result import BestResponse
from pluralign.analysis.solvers.construction import construct_solve
from pluralign.analysis.solvers.dynamics import dynamics_solve
from pluralign.analysis.solvers.enumeration import enumerate_solve
from pluralign.analysis.solvers.results import (
    ConstructionResult,
    DynamicsResult,
    DynamicsRun,
    EnumerationResult,
    Equilibrium,
    EquilibriumSearch,
)
from pluralign.model.io import dump_market, load_market, save_market
from pluralign.model.market import Market
from pluralign.model.schemes import Profile, full_revelation, no_information, recommendation
from pluralign.model.users import ResponseRule, provider_payoffs, respond
from pluralign.model.validation import MarketError, MarketFileError

try:
    __version__ = version("pluralign")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "BestResponse",
    "Certificate",
    "ConstructionResult",
    "DynamicsResult",
    "DynamicsRun",
    "EnumerationResult",
    "Equilibrium",
    "EquilibriumSearch",
    "GuaranteeCheck",
    "InducedGame",
    "Market",
    "MarketError",
    "MarketFileError",
    "NoExactCertificate",
    "Profile",
    "ProviderGame",
    "ResponseRule",
    "SearchGuarantees",
    "SizeError",
    "Verification",
    "align",
    "assess",
    "benchmarks",
    "best_response",
    "catalog",
    "certify",
    "certify_alignment",
    "check_guarantee",
    "construct_solve",
    "dump_market",
    "dynamics_solve",
    "enumerate_solve",
    "full_revelation",
    "load_market",
    "monopoly",
    "no_information",
    "noinfo",
    "opt",
    "provider_payoffs",
    "recommendation",
    "respond",
    "save_market",
    "strong_alignment",
    "verify",
    "weak_alignment",
]
