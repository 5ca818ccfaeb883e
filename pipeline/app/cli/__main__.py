"""`python -m pipeline.app.cli`: the same as `kyb`."""

from pipeline.app.cli import main

main()
