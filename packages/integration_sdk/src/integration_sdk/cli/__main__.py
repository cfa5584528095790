"""``python -m integration_sdk.cli``: the same as the ``atraxion`` command."""

from integration_sdk.cli import main

main()
