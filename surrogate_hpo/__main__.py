"""``python -m surrogate_hpo`` = the ``surrogate-hpo`` command."""

from .cli.study import main

main()
