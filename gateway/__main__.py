"""`python -m gateway` is the `mailfeed` command."""

from gateway.cli import main

main()
