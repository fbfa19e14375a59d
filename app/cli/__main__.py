"""`python -m app.cli`: the `stanceline` command."""

from app.cli.main import main

main()
