"""The bundled sample site and the loopback server that serves it (used by ``archiver demo``,
the tests and the benchmarks)."""
