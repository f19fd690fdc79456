"""The two transports that drive `_wait_flow.wait_flow`: blocking (httpx.Client) and asyncio.

They only open the stream, read chunks, sleep (abort-aware) and run callbacks; every decision is
the flow's. The open response is always closed when the flow ends, however it ends.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import httpx

from ._wait_flow import Call, Open, Read, Sleep
from .abort import AbortSignal
from .client import AsyncCloudApiClient, CloudApiClient


def run_awaitable(value: Any) -> Any:
    """Finish an async callback's awaitable from blocking code (in a helper thread if a loop runs here)."""

    async def finish() -> Any:
        return await value

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(finish())
    outcome: dict[str, Any] = {}

    def in_thread() -> None:
        try:
            outcome["value"] = asyncio.run(finish())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=in_thread, name="arkor-callback")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _interrupt_socket(response: httpx.Response) -> None:
    """Shut the socket down so a read blocked in another thread returns now (close alone does not)."""
    try:
        network_stream = response.extensions.get("network_stream")
        sock = network_stream.get_extra_info("socket") if network_stream is not None else None
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # noqa: BLE001 - best effort: the socket may already be gone
        pass


def drive_sync(
    flow: Generator[Any, Any, Any],
    *,
    client: CloudApiClient,
    job_id: str,
    scope: Any,
    signal: AbortSignal | None,
    sleep: Callable[[float], None] | None,
) -> Any:
    response: list[httpx.Response] = []
    chunks: list[Any] = []

    def close_open() -> None:
        while response:
            opened = response.pop()
            _interrupt_socket(opened)
            try:
                opened.close()
            except Exception:  # noqa: BLE001 - closing races an abort from another thread
                pass

    remove_listener = signal.add_listener(close_open) if signal is not None else (lambda: None)
    send: Any = None
    throw: BaseException | None = None
    try:
        while True:
            try:
                command = flow.throw(throw) if throw is not None else flow.send(send)
            except StopIteration as stop:
                return stop.value
            send, throw = None, None
            if signal is not None and signal.aborted:
                raise signal._reason_exception()
            try:
                if isinstance(command, Open):
                    close_open()
                    opened = client.open_event_stream(job_id, scope, last_event_id=command.last_event_id)
                    response.append(opened)
                    chunks[:] = [opened.iter_text()]
                elif isinstance(command, Read):
                    send = next(chunks[0], None) if response else None
                elif isinstance(command, Sleep):
                    if sleep is not None:
                        sleep(command.seconds)
                    elif signal is not None:
                        signal.wait(command.seconds)
                    else:
                        threading.Event().wait(command.seconds)
                elif isinstance(command, Call):
                    result = command.callback(command.context)
                    if inspect.isawaitable(result):
                        run_awaitable(result)
            except Exception as exc:  # noqa: BLE001 - the flow decides what is fatal
                throw = exc
    finally:
        remove_listener()
        close_open()
        flow.close()


async def _race_abort(awaitable: Awaitable[Any], signal: AbortSignal | None) -> Any:
    if signal is None:
        return await awaitable
    work = asyncio.ensure_future(awaitable)
    aborted = asyncio.ensure_future(signal.wait_async())
    try:
        await asyncio.wait({work, aborted}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        aborted.cancel()
    if not work.done():
        work.cancel()
        raise signal._reason_exception()
    return work.result()


async def drive_async(
    flow: Generator[Any, Any, Any],
    *,
    client: AsyncCloudApiClient,
    job_id: str,
    scope: Any,
    signal: AbortSignal | None,
    sleep: Callable[[float], Awaitable[None]] | None,
) -> Any:
    response: httpx.Response | None = None
    chunks: Any = None
    send: Any = None
    throw: BaseException | None = None
    try:
        while True:
            try:
                command = flow.throw(throw) if throw is not None else flow.send(send)
            except StopIteration as stop:
                return stop.value
            send, throw = None, None
            if signal is not None and signal.aborted:
                raise signal._reason_exception()
            try:
                if isinstance(command, Open):
                    if response is not None:
                        await response.aclose()
                        response = None
                    response = await _race_abort(
                        client.open_event_stream(job_id, scope, last_event_id=command.last_event_id), signal
                    )
                    chunks = response.aiter_text()
                elif isinstance(command, Read):
                    send = await _race_abort(anext(chunks, None), signal) if chunks is not None else None
                elif isinstance(command, Sleep):
                    if sleep is not None:
                        await sleep(command.seconds)
                    elif signal is not None:
                        try:
                            await asyncio.wait_for(signal.wait_async(), timeout=command.seconds)
                        except TimeoutError:
                            pass
                    else:
                        await asyncio.sleep(command.seconds)
                elif isinstance(command, Call):
                    result = command.callback(command.context)
                    if inspect.isawaitable(result):
                        await result
            except Exception as exc:  # noqa: BLE001 - the flow decides what is fatal
                if signal is not None and signal.aborted and exc is signal.reason:
                    raise
                throw = exc
    finally:
        flow.close()
        if response is not None:
            await response.aclose()
