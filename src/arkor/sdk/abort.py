"""`AbortController` / `AbortSignal`: stop a local `wait()` from any thread or event loop.

Aborting only stops waiting; it never cancels the backend job (use `Trainer.cancel()` for that).
A signal can be waited on by threads (`wait(timeout)`) and by coroutines (`await wait_async()`),
and listeners run once, in the aborting thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any


class AbortError(Exception):
    """The default abort reason (the DOM's `AbortError`)."""

    def __init__(self, message: str = "This operation was aborted") -> None:
        super().__init__(message)


class AbortSignal:
    """Read side of an `AbortController`. Thread-safe; usable from asyncio."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._reason: BaseException | None = None
        self._listeners: list[Callable[[], Any]] = []

    @property
    def aborted(self) -> bool:
        return self._event.is_set()

    @property
    def reason(self) -> BaseException | None:
        return self._reason

    def throw_if_aborted(self) -> None:
        if self.aborted:
            raise self._reason_exception()

    def _reason_exception(self) -> BaseException:
        reason = self._reason
        return reason if isinstance(reason, BaseException) else AbortError()

    def add_listener(self, listener: Callable[[], Any]) -> Callable[[], None]:
        """Call `listener()` once on abort (at once if already aborted). Returns a remover."""
        with self._lock:
            if not self._event.is_set():
                self._listeners.append(listener)

                def remove() -> None:
                    with self._lock:
                        if listener in self._listeners:
                            self._listeners.remove(listener)

                return remove
        listener()
        return lambda: None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until aborted or `timeout` seconds pass; True when aborted."""
        return self._event.wait(timeout)

    async def wait_async(self) -> None:
        """Return once aborted (cancel-safe)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            def settle() -> None:
                if not future.done():
                    future.set_result(None)

            try:
                loop.call_soon_threadsafe(settle)
            except RuntimeError:  # loop closed: nobody is waiting any more
                pass

        remove = self.add_listener(wake)
        try:
            await future
        finally:
            remove()

    def _abort(self, reason: BaseException | None) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._reason = reason if reason is not None else AbortError()
            self._event.set()
            listeners, self._listeners = self._listeners, []
        for listener in listeners:
            try:
                listener()
            except Exception:  # a listener's failure must not stop the others
                pass

    def __repr__(self) -> str:
        return f"AbortSignal(aborted={self.aborted})"


class AbortController:
    """Owns an `AbortSignal`; `abort(reason)` sets it (once; later calls are ignored)."""

    def __init__(self) -> None:
        self.signal = AbortSignal()

    def abort(self, reason: BaseException | str | None = None) -> None:
        if isinstance(reason, str):
            reason = AbortError(reason)
        self.signal._abort(reason)
