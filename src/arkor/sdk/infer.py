"""Chat responses from `POST /v1/inference/chat`: text, JSON, and iteration over decoded deltas.

Delta extraction is lenient, as Studio's: an OpenAI chunk's `choices[0].delta.content`, else a
`content` or `text` field, else a bare JSON string, else the raw non-JSON text; `ping` frames are
skipped; `data: [DONE]` or an `end` event stops. A non-streamed answer (a chat completion) yields
its message content once. An OK answer without a body is an error, and so is an error reported in
band (`event: error` with `{"error": ...}`, or an error object in place of a chunk): it raises
`InferenceStreamError` from iteration, `text()` and `json()` alike, never a silently short answer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpx

from arkor.errors import ArkorError
from arkor.protocol.sse import SSEDecoder, SSEFrame

from .errors import InferenceStreamError


class EmptyInferenceResponseError(ArkorError):
    """The backend answered 2xx with no body."""


_STOP = object()


class InBandError:
    """An error the backend reported inside an answer it had already started."""

    def __init__(self, message: str) -> None:
        self.message = message


def error_of_payload(payload: Any) -> str | None:
    """The message of `{"error": "..."}` / `{"error": {"message": ...}}` when that is all a payload is."""
    if not isinstance(payload, dict) or "error" not in payload or "choices" in payload:
        return None
    error = payload["error"]
    if isinstance(error, dict):
        error = error.get("message") or json.dumps(error)
    return str(error) if error else "the backend reported an error without a message"


def delta_of_frame(frame: SSEFrame) -> Any:
    """The text fragment of one SSE frame, None to skip it, `_STOP` at the end sentinel, or an `InBandError`."""
    if frame.event == "ping":
        return None
    if frame.event == "error":
        try:
            payload = json.loads(frame.data)
        except ValueError:
            payload = {"error": frame.data}
        return InBandError(
            error_of_payload(payload if isinstance(payload, dict) else {"error": payload})
            or frame.data
            or "the backend reported an error without a message"
        )
    if frame.event == "end" or frame.data.strip() == "[DONE]":
        return _STOP
    if frame.data == "":
        return None
    try:
        payload = json.loads(frame.data)
    except ValueError:
        return frame.data
    message = error_of_payload(payload)
    if message is not None:
        return InBandError(message)
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
        self._error: InferenceStreamError | None = None  # kept so a second read raises it again

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
            payload = json.loads(text)
        except ValueError:
            return [text]
        message = error_of_payload(payload)
        if message is not None:
            self._error = InferenceStreamError(message)
            raise self._error
        delta = delta_of_payload(payload)
        return [delta] if delta else []

    def _take(self, frames: Iterable[SSEFrame]) -> tuple[list[str], bool]:
        """The text deltas in `frames` (also kept for replay), and whether the stream ended (an
        in-band error ends it too: `_raise_if_failed()` after yielding the deltas before it)."""
        deltas: list[str] = []
        for frame in frames:
            delta = delta_of_frame(frame)
            if isinstance(delta, InBandError):
                self._deltas.extend(deltas)
                self._error = InferenceStreamError(delta.message, "".join(self._deltas))
                return deltas, True
            if delta is _STOP:
                self._deltas.extend(deltas)
                return deltas, True
            if delta:
                deltas.append(delta)
        self._deltas.extend(deltas)
        return deltas, False

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


class InferResponse(_ResponseBase):
    """A chat answer. Iterate for text deltas as they arrive; `text()` / `json()` read it all."""

    def __iter__(self) -> Iterator[str]:
        if self._consumed:
            yield from self._deltas
            self._raise_if_failed()
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
                        self._raise_if_failed()
                        return
                deltas, stopped = self._take(decoder.flush())
                yield from deltas
                if stopped:
                    self._raise_if_failed()
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

    def __enter__(self) -> InferResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncInferResponse(_ResponseBase):
    """The asyncio twin: `async for delta in response`, `await response.text()`."""

    async def __aiter__(self) -> AsyncIterator[str]:
        if self._consumed:
            for delta in self._deltas:
                yield delta
            self._raise_if_failed()
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
                        self._raise_if_failed()
                        return
                deltas, stopped = self._take(decoder.flush())
                for delta in deltas:
                    yield delta
                if stopped:
                    self._raise_if_failed()
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
