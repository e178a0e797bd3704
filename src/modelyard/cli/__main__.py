"""``python -m modelyard.cli``: the same command as the ``modelyard`` script."""

from modelyard.cli.app import main

main()
