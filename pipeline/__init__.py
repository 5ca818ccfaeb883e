"""The core: stages, topology, runtimes, stores and the `kyb` CLI."""
