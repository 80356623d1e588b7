"""``python -m pluralign`` runs the command line."""

from pluralign.workflows.cli import main

main()
