"""`python -m liveloop` is the `liveloop` command."""

from liveloop.cli import main

main()
