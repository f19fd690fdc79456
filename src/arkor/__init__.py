"""arkor: fine-tune open-weight LLMs from ordinary Python code.

Importing arkor stays light: no torch, transformers, fastapi or ray is loaded here.
"""

__version__ = "0.1.0"
