"""python -m bench [--articles N] [--json PATH]: ingest throughput as ratios to extraction alone."""

from bench.ingest import main

main()
