"""The WeChat protocol: API client, token store, signatures, message crypto, XML.

Its offline stand-in for WeChat is the `wechat_sandbox` package beside it (which imports
this one, never the reverse).

This package imports nothing from the project's apps: callers pass in what it
needs (a Redis client, a base URL, credentials).
"""
