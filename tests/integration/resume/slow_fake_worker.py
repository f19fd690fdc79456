"""The scripted fake worker in its `fake/slow` mode for a job whose model is a real id (the SDK accepts
only supported models): rewrites the spec's model, then runs `fake_worker.py` on it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

FAKE_WORKER = Path(__file__).parents[1] / "server" / "fake_worker.py"

spec_path = Path(sys.argv[sys.argv.index("--spec") + 1])
spec = json.loads(spec_path.read_text())
spec["config"]["model"] = "fake/slow"
slow = spec_path.with_name(spec_path.stem + ".slow.json")
slow.write_text(json.dumps(spec))
os.execv(sys.executable, [sys.executable, str(FAKE_WORKER), "--spec", str(slow)])
