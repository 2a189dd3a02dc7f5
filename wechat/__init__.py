"""The WeChat protocol: API client, token store, signatures, message crypto, sandbox.

This package imports nothing from the project's apps: callers pass in what it
needs (a Redis client, a base URL, credentials).
"""
