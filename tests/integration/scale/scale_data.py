"""A small chat dataset the scale-out tests upload."""

from __future__ import annotations

import json


def chat_rows(count: int) -> bytes:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"My invoice {i} is wrong"},
                {"role": "assistant", "content": "billing" if i % 2 else "bug"},
            ]
        }
        for i in range(count)
    ]
    return "\n".join(json.dumps(r) for r in rows).encode()
