"""Support for tests and benchmarks (fault proxies, worker processes); imports no app."""
