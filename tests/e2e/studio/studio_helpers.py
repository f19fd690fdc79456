"""Constants and helpers the Studio end-to-end tests share (a uniquely named module: test files
import from here, never from `conftest`)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SCREENSHOTS = REPO / "artifacts" / "studio-screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
FAKE_WORKER = REPO / "tests" / "integration" / "server" / "fake_worker.py"
READY = re.compile(r"Arkor Studio is running at (http://\S+)")

TRAINER_PY = """from arkor import create_trainer

trainer = create_trainer(
    name="{name}",
    model="arkor/tiny-test",
    dataset={{"type": "file", "path": "data/chat.jsonl"}},
    lora={{"r": 8, "alpha": 16}},
    max_steps={max_steps},
    save_steps=3,
    logging_steps=1,
    batch_size=4,
    learning_rate=3e-2,
)
"""
INDEX_PY = """from arkor import create_arkor

from .trainer import trainer

arkor = create_arkor(trainer=trainer)
"""


def write_trainer(project: Path, *, name: str, max_steps: int) -> None:
    (project / "src" / "arkor" / "trainer.py").write_text(TRAINER_PY.format(name=name, max_steps=max_steps))


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
