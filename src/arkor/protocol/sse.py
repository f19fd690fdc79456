"""Server-sent events, I/O-free: encode frames, and decode a byte stream into frames."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class SSEFrame:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None  # the reconnection delay (ms) a `retry:` line in this frame's block set

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


DONE_FRAME = b"data: [DONE]\n\n"
"""The frame that ends an OpenAI-style stream of chat completion chunks."""


_LINE_END = re.compile(r"\r\n|\r|\n")


class SSEDecoder:
    """Feed chunks of text; get complete frames, however the stream was cut into chunks.

    Lines end in LF, CR or CRLF (a CR that ends a chunk is held back: its LF may open the next one);
    `:` lines are comments; several `data:` lines join with LF; `retry:` takes digits only; an `id`
    containing NUL is ignored, as the HTML standard says.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._started = False
        self.retry: int | None = None  # the last `retry:` value seen on the stream
        self._reset()

    def _reset(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None
        self._has_field = False

    def feed(self, chunk: str) -> Iterator[SSEFrame]:
        """The frames `chunk` completes (decoded now, so a half-read iterator loses nothing)."""
        return iter(self._decode(chunk))

    def _decode(self, chunk: str) -> list[SSEFrame]:
        frames: list[SSEFrame] = []
        text = self._buffer + chunk
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        start = 0
        while True:
            match = _LINE_END.search(text, start)
            if match is None or (match.group() == "\r" and match.end() == len(text)):
                break
            frame = self._line(text[start : match.start()])
            start = match.end()
            if frame is not None:
                frames.append(frame)
        self._buffer = text[start:]
        return frames

    def flush(self) -> Iterator[SSEFrame]:
        """End of stream: the last line and frame even without their terminators."""
        rest, self._buffer = self._buffer, ""
        if rest.endswith("\r"):
            rest = rest[:-1]
        if rest:
            frame = self._line(rest)
            if frame is not None:
                yield frame
        frame = self._line("")
        if frame is not None:
            yield frame

    def _line(self, line: str) -> SSEFrame | None:
        if line == "":
            if not self._has_field:  # a blank line, or a block of only comments / `retry:`
                self._reset()
                return None
            frame = SSEFrame(event=self._event or "message", data="\n".join(self._data), id=self._id, retry=self._retry)
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
            if "\0" in value:
                return None
            self._id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = self.retry = int(value)
            return None
        else:
            return None
        self._has_field = True
        return None
