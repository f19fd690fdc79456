"""Where jobs run: a local pool of worker subprocesses, or a Ray cluster. Both run the same worker
(`python -m arkor.engine.worker`) and it reports to the backend over HTTP.

May import: arkor.protocol, arkor.errors. Never the server, the SDK or the engine's internals.
"""
