"""The real-cluster benchmarks (`make bench-cluster`, `make bench-watches`, which run
tests/cluster/bench/*.sh), their tables and their picture."""
