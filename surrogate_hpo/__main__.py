"""``python -m surrogate_hpo`` = the ``surrogate-hpo`` command."""

from .cli import main

main()
