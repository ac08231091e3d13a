"""The migration benchmark: a stack made before the native provider, handed over with `ops.migrate` while
the HA registry serves a pull loop (`python -m bench.migration`, `make migration-demo`)."""
