"""``python -m api`` runs the ``oms`` command."""

from api.cli import main

main()
