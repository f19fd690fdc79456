"""Chat responses from `POST /v1/inference/chat`: text, JSON, and iteration over decoded deltas.

Delta extraction is lenient, as Studio's: an OpenAI chunk's `choices[0].delta.content`, else a
`content` or `text` field, else a bare JSON string, else the raw non-JSON text; `ping` frames are
skipped; `data: [DONE]` or an `end` event stops. A non-streamed answer (a chat completion) yields
its message content once. An OK answer without a body is an error.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpx

from arkor.errors import ArkorError
from arkor.protocol.sse import SSEDecoder, SSEFrame


class EmptyInferenceResponseError(ArkorError):
    """The backend answered 2xx with no body."""


_STOP = object()


def delta_of_frame(frame: SSEFrame) -> Any:
    """The text fragment of one SSE frame, None to skip it, or `_STOP` at the end sentinel."""
    if frame.event == "ping":
        return None
    if frame.event == "end" or frame.data.strip() == "[DONE]":
        return _STOP
    if frame.data == "":
        return None
    try:
        payload = json.loads(frame.data)
    except ValueError:
        return frame.data
    return delta_of_payload(payload)


def delta_of_payload(payload: Any) -> str | None:
    if isinstance(payload, str):
        return payload
    if not isinstance(payload, dict):
        return None
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        choice = choices[0]
        for key in ("delta", "message"):
            part = choice.get(key)
            if isinstance(part, dict) and isinstance(part.get("content"), str):
                return part["content"]
        if isinstance(choice.get("text"), str):
            return choice["text"]
        return None
    for key in ("content", "text"):
        if isinstance(payload.get(key), str):
            return payload[key]
    return None


def _is_sse(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")


class _ResponseBase:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._deltas: list[str] = []
        self._consumed = False

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    def _decode_body(self, body: bytes) -> list[str]:
        if not body.strip():
            raise EmptyInferenceResponseError("The inference response had no body.")
        text = body.decode("utf-8", "replace")
        try:
            delta = delta_of_payload(json.loads(text))
        except ValueError:
            delta = text
        return [delta] if delta else []

    def _take(self, frames: Iterable[SSEFrame]) -> tuple[list[str], bool]:
        """The text deltas in `frames` (also kept for replay), and whether the stream's end was seen."""
        deltas: list[str] = []
        for frame in frames:
            delta = delta_of_frame(frame)
            if delta is _STOP:
                self._deltas.extend(deltas)
                return deltas, True
            if delta:
                deltas.append(delta)
        self._deltas.extend(deltas)
        return deltas, False


class InferResponse(_ResponseBase):
    """A chat answer. Iterate for text deltas as they arrive; `text()` / `json()` read it all."""

    def __iter__(self) -> Iterator[str]:
        if self._consumed:
            yield from self._deltas
            return
        try:
            if _is_sse(self.response):
                decoder = SSEDecoder()
                saw_bytes = False
                for chunk in self.response.iter_text():
                    saw_bytes = saw_bytes or bool(chunk)
                    deltas, stopped = self._take(decoder.feed(chunk))
                    yield from deltas
                    if stopped:
                        return
                deltas, stopped = self._take(decoder.flush())
                yield from deltas
                if stopped:
                    return
                if not saw_bytes:
                    raise EmptyInferenceResponseError("The inference response had no body.")
            else:
                self._deltas = self._decode_body(self.response.read())
                yield from self._deltas
        finally:
            self._consumed = True
            self.response.close()

    def text(self) -> str:
        return "".join(self)

    def json(self) -> Any:
        return json.loads(self.text())

    def close(self) -> None:
        self.response.close()

    def __enter__(self) -> "InferResponse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncInferResponse(_ResponseBase):
    """The asyncio twin: `async for delta in response`, `await response.text()`."""

    async def __aiter__(self) -> AsyncIterator[str]:
        if self._consumed:
            for delta in self._deltas:
                yield delta
            return
        try:
            if _is_sse(self.response):
                decoder = SSEDecoder()
                saw_bytes = False
                async for chunk in self.response.aiter_text():
                    saw_bytes = saw_bytes or bool(chunk)
                    deltas, stopped = self._take(decoder.feed(chunk))
                    for delta in deltas:
                        yield delta
                    if stopped:
                        return
                deltas, stopped = self._take(decoder.flush())
                for delta in deltas:
                    yield delta
                if stopped:
                    return
                if not saw_bytes:
                    raise EmptyInferenceResponseError("The inference response had no body.")
            else:
                self._deltas = self._decode_body(await self.response.aread())
                for delta in self._deltas:
                    yield delta
        finally:
            self._consumed = True
            await self.response.aclose()

    async def text(self) -> str:
        return "".join([delta async for delta in self])

    async def json(self) -> Any:
        return json.loads(await self.text())

    async def aclose(self) -> None:
        await self.response.aclose()
