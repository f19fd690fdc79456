"""`python serve_with_plugins.py serve ...`: the backend's own command line, with the test executor
registered first, the way a deployment that ships its own executor would start the backend."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import thread_executor  # noqa: E402

from arkor.server.__main__ import main  # noqa: E402

thread_executor.register()
sys.exit(main())
