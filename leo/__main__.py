"""``python -m leo``: the same as the ``leo`` command."""

from leo.cli import main

main()
