"""``pluralign.ensembles``: the public name of :mod:`pluralign.analysis.ensembles` (see there)."""

from pluralign.analysis.ensembles import *  # noqa: F401,F403
from pluralign.analysis.ensembles import __all__  # noqa: F401
