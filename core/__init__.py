"""Leaf code every app uses: domain errors, typing, Redis clients, task retry, timeouts, admin
mixins, permissions, logs, metrics, secret scrubbing and health probes.

`core` imports none of the project's apps (import-linter checks it): apps lean on it, never the
other way round.
"""
