"""Studio: the local web UI served by `arkor dev`, and its server that proxies to the backend.

May import: arkor.sdk, arkor.protocol, arkor.errors.
"""
