"""``pluralign.alignment``: the public name of :mod:`pluralign.analysis.alignment` (see there)."""

from pluralign.analysis.alignment import *  # noqa: F401,F403
from pluralign.analysis.alignment import __all__  # noqa: F401
