"""Server-sent events, I/O-free: encode frames, and decode a byte stream into frames."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator


@dataclass
class SSEFrame:
    event: str = "message"
    data: str = ""
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


def encode_frame(event: str | None, data: Any, id: str | int | None = None) -> bytes:
    """One SSE frame; `data` is JSON-encoded unless it is already a string."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    lines = []
    if id is not None:
        lines.append(f"id: {id}")
    if event:
        lines.append(f"event: {event}")
    for line in text.split("\n"):
        lines.append(f"data: {line}")
    return ("\n".join(lines) + "\n\n").encode()


def encode_comment(text: str = "") -> bytes:
    return f": {text}\n\n".encode()


class SSEDecoder:
    """Feed chunks of text; get complete frames. Handles CRLF, comments and multi-line data."""

    def __init__(self) -> None:
        self._buffer = ""
        self._reset()

    def _reset(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self._has_field = False

    def feed(self, chunk: str) -> Iterator[SSEFrame]:
        self._buffer += chunk.replace("\r\n", "\n").replace("\r", "\n")
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            frame = self._line(line)
            if frame is not None:
                yield frame

    def flush(self) -> Iterator[SSEFrame]:
        if self._buffer:
            frame = self._line(self._buffer)
            self._buffer = ""
            if frame is not None:
                yield frame
        frame = self._line("")
        if frame is not None:
            yield frame

    def _line(self, line: str) -> SSEFrame | None:
        if line == "":
            if not self._has_field:
                return None
            frame = SSEFrame(event=self._event or "message", data="\n".join(self._data), id=self._id)
            self._reset()
            return frame
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        else:
            return None
        self._has_field = True
        return None
