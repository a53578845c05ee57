"""What happened on a call: the attempts on the response, and the events a ``Router`` emits.

Every call through a ``Router`` records one ``Attempt`` per deployment it tried (or skipped, with
why), on ``resp.router.attempts`` (a stream's ``stream.receipt.attempts``), the answering one last.
Hooks receive an ``Event`` at each step:

    request    before an attempt is sent (deployment chosen, request translated)
    retry      the transport is about to retry the same deployment (reason, wait)
    fallback   an attempt failed with an error that falls back; the next deployment is next
    response   the answer is complete (whole, or the stream's end): usage, cost, timings
    error      the call failed for good (the error it raises)

>>> class Log(router.Hooks):
...     def on_fallback(self, event: router.Event) -> None:
...         print(event.deployment, event.reason)
>>> r = router.Router([...], hooks=[Log()])

A hook that raises is logged under the ``router`` logger and never changes the call's outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Literal

from router._types import Attempt
from router._types import Receipt
from router._types import Usage

__all__ = ["Attempt", "Event", "EventKind", "Hooks", "as_hooks", "emit"]

log = logging.getLogger("router")

EventKind = Literal["request", "retry", "fallback", "response", "error"]


@dataclass(slots=True)
class Event:
    kind: EventKind
    deployment: str
    provider: str
    model: str  # the provider's model id as sent
    stream: bool = False
    attempt: int = 0  # 0-based index of the deployment in this call's attempts
    started: float = 0.0  # time.monotonic() when the call began
    duration: float | None = None  # seconds since ``started``, on response / error / fallback
    time_to_first_token: float | None = None  # streams: seconds to the first content chunk
    usage: Usage | None = None
    cost: float | None = None
    receipt: Receipt | None = None
    error: BaseException | None = None
    reason: str | None = None  # retry / fallback: why (the error class and its status)
    wait: float | None = None  # retry: seconds it waits first
    finish_reasons: tuple[str, ...] = ()
    attempts: list[Attempt] = field(default_factory=list)
    call_id: int = 0  # the same for every event of one Router call, unique within the process


class Hooks:
    """Subclass and override what you need; every method is a no-op here."""

    def on_request(self, event: Event) -> None:
        pass

    def on_retry(self, event: Event) -> None:
        pass

    def on_fallback(self, event: Event) -> None:
        pass

    def on_response(self, event: Event) -> None:
        pass

    def on_error(self, event: Event) -> None:
        pass


class _Callables(Hooks):
    """``{"on_error": fn, ...}`` as Hooks."""

    def __init__(self, table: Mapping[str, Callable[[Event], None]]) -> None:
        unknown = sorted(
            set(table) - {f"on_{k}" for k in ("request", "retry", "fallback", "response", "error")}
        )
        if unknown:
            raise ValueError(
                f"unknown hook names {unknown}; expected on_request, on_retry, on_fallback, on_response, on_error"
            )
        self.table = dict(table)

    def _call(self, name: str, event: Event) -> None:
        fn = self.table.get(name)
        if fn is not None:
            fn(event)

    def on_request(self, event: Event) -> None:
        self._call("on_request", event)

    def on_retry(self, event: Event) -> None:
        self._call("on_retry", event)

    def on_fallback(self, event: Event) -> None:
        self._call("on_fallback", event)

    def on_response(self, event: Event) -> None:
        self._call("on_response", event)

    def on_error(self, event: Event) -> None:
        self._call("on_error", event)


def as_hooks(items: Sequence[Hooks | Mapping[str, Callable[[Event], None]]]) -> list[Hooks]:
    return [h if isinstance(h, Hooks) else _Callables(h) for h in items]


def emit(hooks: Sequence[Hooks], event: Event) -> None:
    """Give ``event`` to every hook; a hook's own exception is logged, never raised."""
    for h in hooks:
        try:
            getattr(h, f"on_{event.kind}")(event)
        except Exception:
            log.exception("a router hook (%s.on_%s) raised; the call goes on", type(h).__name__, event.kind)
