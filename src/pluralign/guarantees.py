"""``pluralign.guarantees``: the public name of :mod:`pluralign.analysis.guarantees` (see there)."""

from pluralign.analysis.guarantees import *  # noqa: F401,F403
from pluralign.analysis.guarantees import __all__  # noqa: F401
