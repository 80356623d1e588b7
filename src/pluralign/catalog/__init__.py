"""Reference markets (docs/model.md §12) and seeded generators of random markets.

>>> from pluralign import catalog
>>> catalog.names()
['biased_pair', 'forecast', 'match_mismatch', 'private_judge', 'prosecutor']
>>> catalog.load("prosecutor")
Market('prosecutor': 2 states, 2 observations, 2 actions, 1 users, 2 providers)
"""

from pluralign.catalog.bundled import choice, load, names, path
from pluralign.catalog.generators import (
    AlignedConstruction,
    aligned_construction,
    aligned_market,
    aligned_or_bundled,
    perturbed,
    random_market,
)

__all__ = ["names", "load", "path", "choice", "random_market", "aligned_market", "aligned_construction", "AlignedConstruction", "perturbed",
           "aligned_or_bundled"]
