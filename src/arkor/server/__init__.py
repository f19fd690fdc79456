"""The training backend: the original's cloud API served by ourselves (FastAPI), its durable store
(SQLAlchemy: SQLite or PostgreSQL), the event log and stream, auth and tenancy, inference serving.

May import: arkor.protocol, arkor.errors, arkor.model_families, arkor.executors, and arkor.engine's inference part
(lazily, to serve chat). Never the SDK.
"""
