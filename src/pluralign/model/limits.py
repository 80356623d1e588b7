"""The documented limits on what pluralign reads (README, "Market files").

Every input beyond a limit is refused with a message naming the limit, before any
work proportional to it is done. Readers look the values up at call time, so a test
may lower one with ``monkeypatch.setattr(limits, "MAX_FILE_BYTES", 100)``.

Documents (market files and sweep configs):

* ``MAX_FILE_BYTES``  bytes in a market file (32 MiB);
* ``MAX_CONFIG_BYTES`` bytes in a sweep config (1 MiB);
* ``MAX_DEPTH``       nesting of lists and mappings (64 levels; a market file needs 7);
* ``MAX_INT_CHARS``   characters in one integer literal (400: any integer beyond float range
  already has 310 digits, so longer ones are reported as too large, never converted);
* ``MAX_VALUES``      values in a document once YAML aliases are expanded (50 million;
  without aliases a file within ``MAX_FILE_BYTES`` never reaches it; 1 million,
  ``MAX_CONFIG_VALUES``, for a sweep config);
* ``MAX_PROBLEMS``    problems listed in full (1,000); further ones are counted.

Markets:

* ``MAX_STATES``, ``MAX_SIGNALS``, ``MAX_ACTIONS`` (5,000 each; the joint prior ``P[x, y]``
  has at most 25 million entries), ``MAX_USERS`` (100,000), ``MAX_PROVIDERS`` (1,000);
* ``MAX_ENTRIES``     utility entries, ``users × actions × states × (1 + providers)`` (50 million:
  400 MB as float64; the alignment benchmark's 10,000 users × 20 providers × 10 × 10 is 21 million).

Sweep configs: ``MAX_SEEDS`` seeds (1,000,000), each below ``SEED_LIMIT`` (2**63, SQLite's
integers), and ``MAX_TASKS`` grid points × seeds (1,000,000).
"""

from __future__ import annotations

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_CONFIG_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_INT_CHARS = 400
MAX_VALUES = 50_000_000
MAX_CONFIG_VALUES = 1_000_000
MAX_PROBLEMS = 1000

MAX_STATES = 5000
MAX_SIGNALS = 5000
MAX_ACTIONS = 5000
MAX_USERS = 100_000
MAX_PROVIDERS = 1000
MAX_ENTRIES = 50_000_000

MAX_SEEDS = 1_000_000
SEED_LIMIT = 2**63
MAX_TASKS = 1_000_000


def size_text(n: int) -> str:
    """``33554432`` → ``'32 MiB'``; ``1500`` → ``'1,500 bytes'``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n:,} bytes"
