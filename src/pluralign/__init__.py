"""pluralign: markets of competing, misaligned AI providers and the diverse users who rely on them.

The model (MODEL.md) lives in :mod:`pluralign.model`, the analyses in
:mod:`pluralign.analysis`, and the command line and other workflows in
:mod:`pluralign.workflows`. The names most people need are re-exported here.
"""

from importlib.metadata import PackageNotFoundError, version

from pluralign.analysis.alignment import align, strong_alignment, weak_alignment
from pluralign.analysis.benchmarks import benchmarks, monopoly, noinfo, opt
from pluralign.analysis.equilibria import solve, verify
from pluralign.analysis.guarantees import check_guarantee
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
    "align",
    "check_guarantee",
    "solve",
    "strong_alignment",
    "verify",
    "weak_alignment",
    "Market",
    "MarketError",
    "MarketFileError",
    "Profile",
    "ResponseRule",
    "benchmarks",
    "dump_market",
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
]
