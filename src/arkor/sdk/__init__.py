"""The Python SDK users import: trainers, callbacks, the backend client, credentials and project state.

May import: arkor.protocol, arkor.errors, arkor.transport (all HTTP goes through it), the standard
library, httpx, pydantic. Never the
server, the engine or torch (a user's `import arkor` must stay light).
"""
