"""Event pushes that other apps handle (e.g. certification's 微信认证事件).

An app registers a handler for event names from its `AppConfig.ready()`, the way
`accounts.admin_extensions` lets apps add account columns; `routing.route_message`
calls it for those events only. The messaging app imports no other app.

A handler is called as ``handler(account=…, message=…, now=…)`` for every delivery,
retries included (the callback routes before it de-duplicates): it must be
idempotent. It gets no reply to send — WeChat expects none for these events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

EventHandler = Callable[..., None]

_handlers: dict[str, EventHandler] = {}


def register_event_handler(events: Iterable[str], handler: EventHandler) -> None:
    """Route the pushes of these event names (case-sensitive, as sent) to `handler`."""
    for event in events:
        _handlers[event] = handler


def handler_for(event: str) -> EventHandler | None:
    return _handlers.get(event)
