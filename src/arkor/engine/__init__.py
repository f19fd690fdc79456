"""The machine learning: model resolution and cache, datasets and formats, the LoRA training loop,
checkpoints, the worker entry point, and inference.

May import: arkor.protocol, arkor.errors, torch and the Hugging Face stack. Never the server, the
SDK, the CLI or Studio: a worker reports to the backend over HTTP, not by import.
"""
