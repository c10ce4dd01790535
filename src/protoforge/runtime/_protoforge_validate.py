"""protovalidate for the generated servers and clients of one output tree.

gen copies this module next to `_protoforge_runtime` only when some contract imports
`buf/validate/validate.proto`, and only the servers and clients of methods whose input carries
rules import it: a tree without rules never loads it, protovalidate or googleapis-common-protos.
Its source is `protoforge/runtime/_protoforge_validate.py`, type-checked and linted with
protoforge.

- `check(message)`: raise `InvalidArgument` with a `google.rpc.BadRequest` (one field violation
  per broken rule: the field path, the rule id as `reason`, protovalidate's message as
  `description`) when `message` breaks a rule. One `protovalidate.Validator` per process:
  it compiles each message type's rules (CEL included) once and caches them.
- `unary`, `unary_stream`, `stream`, ... wrap a servicer method so that its request (every
  message of a client stream, as the servicer reads it) is checked before the servicer sees it.
- `enabled(...)`: which methods a server validates (`serve(validate=False)` and a servicer's
  `NOT_VALIDATED`).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar

from google.protobuf.message import Message

from protoforge.runtime._protoforge_runtime import VALIDATE_REQUESTS, InvalidArgument

Request = TypeVar("Request", bound=Message)
Response = TypeVar("Response")
Context = TypeVar("Context")

_NEEDS = "request validation needs protovalidate: pip install 'protovalidate>=2.1'"


class ValidationUnavailable(ImportError):
    """A method with protovalidate rules was validated, but protovalidate is not installed."""


@functools.cache
def _validator() -> Any:
    """The process's one validator (it caches the compiled rules of every message type)."""
    try:
        import protovalidate
    except ImportError as missing:
        raise ValidationUnavailable(_NEEDS) from missing
    return protovalidate.Validator()


def field_path(violation: Any) -> str:
    """The path of a violation's field as protovalidate's other runtimes print it
    (`items[0].sku`, `by_name["k"].sku`, `[ext.name]`); "" for a message-level rule."""
    parts: list[str] = []
    for element in violation.field.elements if violation.field is not None else ():
        name = element.field_name or str(element.field_number)
        subscript = element.subscript
        if subscript is None:
            parts.append(name)
            continue
        kind, value = subscript.field, subscript.value
        if kind == "string_key":
            shown = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif kind == "bool_key":
            shown = "true" if value else "false"
        else:  # index, int_key, uint_key
            shown = str(value)
        parts.append(f"{name}[{shown}]")
    return ".".join(parts)


def bad_request(violations: Iterable[Any]) -> Any:
    """The `google.rpc.BadRequest` of protovalidate's violations, in their order (typed `Any`:
    googleapis-common-protos ships no stubs, and the tree has them only when a contract imports
    google/rpc/error_details.proto)."""
    from google.rpc.error_details_pb2 import (  # type: ignore[import-untyped, unused-ignore]
        BadRequest,
    )

    return BadRequest(
        field_violations=[
            BadRequest.FieldViolation(
                field=field_path(violation.proto),
                description=violation.proto.message,
                reason=violation.proto.rule_id,
            )
            for violation in violations
        ]
    )


def validation_error(message: Message, violations: list[Any]) -> InvalidArgument:
    """The error a request that breaks rules ends with (servers) or raises (clients): the
    status message names the first violation, the BadRequest lists every one."""
    details = bad_request(violations)
    first = details.field_violations[0]
    where = f"{first.field}: " if first.field else ""
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    text = f"invalid {message.DESCRIPTOR.name}: {where}{first.description}{more}"
    return InvalidArgument(text, details=[details])


def check(message: Message) -> None:
    """Raise `InvalidArgument` when `message` breaks one of its protovalidate rules."""
    violations = _validator().collect_violations(message)
    if violations:
        raise validation_error(message, violations)


# --- servers ---------------------------------------------------------------------------------


def enabled(servicer: object, validated: Iterable[str]) -> frozenset[str]:
    """The methods (Python names) among `validated`, those whose input carries rules, that the
    server now registering `servicer` validates: none under `start(..., validate=False)`, and
    never those in the servicer's `NOT_VALIDATED`. A name there that is no validated method is
    an error (a typo would silently keep validation on)."""
    names = frozenset(validated)
    skipped = frozenset(getattr(servicer, "NOT_VALIDATED", frozenset()))
    unknown = sorted(skipped - names)
    if unknown:
        raise ValueError(
            f"{type(servicer).__name__}.NOT_VALIDATED names {', '.join(unknown)}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not a method with protovalidate rules "
            f"(those are: {', '.join(sorted(names)) or 'none'})"
        )
    if not VALIDATE_REQUESTS.get():
        return frozenset()
    checked = names - skipped
    if checked:
        _validator()  # loading protovalidate takes ~0.2 s: at start, not in the first call
    return checked


def unary(
    behavior: Callable[[Request, Context], Response], on: bool
) -> Callable[[Request, Context], Response]:
    """A sync servicer method (one request) that checks its request first; `behavior` itself
    when validation is off."""
    if not on:
        return behavior

    def checked(request: Request, context: Context) -> Response:
        check(request)
        return behavior(request, context)

    return checked


def unary_stream(
    behavior: Callable[[Request, Context], Iterator[Response]], on: bool
) -> Callable[[Request, Context], Iterator[Response]]:
    """A sync response-streaming servicer method that checks its request first."""
    if not on:
        return behavior

    def checked(request: Request, context: Context) -> Iterator[Response]:
        check(request)
        yield from behavior(request, context)

    return checked


def checked_requests(requests: Iterable[Request]) -> Iterator[Request]:
    """The messages of `requests`, each checked as it is taken (a client stream: the messages
    before a bad one reach the servicer, the bad one ends the call)."""
    for request in requests:
        check(request)
        yield request


def stream(
    behavior: Callable[[Iterator[Request], Context], Response], on: bool
) -> Callable[[Iterator[Request], Context], Response]:
    """A sync request-streaming servicer method (either response shape) whose requests are
    checked as it reads them."""
    if not on:
        return behavior

    def checked(requests: Iterator[Request], context: Context) -> Response:
        return behavior(checked_requests(requests), context)

    return checked


def async_unary(
    behavior: Callable[[Request, Context], Awaitable[Response]], on: bool
) -> Callable[[Request, Context], Awaitable[Response]]:
    """An asyncio servicer method (one request) that checks its request first."""
    if not on:
        return behavior

    async def checked(request: Request, context: Context) -> Response:
        check(request)
        return await behavior(request, context)

    return checked


def async_unary_stream(
    behavior: Callable[[Request, Context], AsyncIterator[Response]], on: bool
) -> Callable[[Request, Context], AsyncIterator[Response]]:
    """An asyncio response-streaming servicer method that checks its request first."""
    if not on:
        return behavior

    async def checked(request: Request, context: Context) -> AsyncIterator[Response]:
        check(request)
        async for response in behavior(request, context):
            yield response

    return checked


async def async_checked_requests(requests: AsyncIterable[Request]) -> AsyncIterator[Request]:
    """`checked_requests` for an asyncio client stream."""
    async for request in requests:
        check(request)
        yield request


def async_stream(
    behavior: Callable[[AsyncIterator[Request], Context], Response], on: bool
) -> Callable[[AsyncIterator[Request], Context], Response]:
    """An asyncio request-streaming servicer method (either response shape) whose requests are
    checked as it reads them."""
    if not on:
        return behavior

    def checked(requests: AsyncIterator[Request], context: Context) -> Response:
        return behavior(async_checked_requests(requests), context)

    return checked


# --- clients ---------------------------------------------------------------------------------


def wanted(per_call: bool | None, per_client: bool) -> bool:
    """Whether a client call validates: its own `validate=` if given, else its client's."""
    return per_client if per_call is None else per_call


class CheckedRequests(Iterator[Request]):
    """A client stream whose messages are checked (when `on`) as gRPC sends them. A bad
    message stops the stream, and gRPC cancels the call (the messages before it were sent);
    `raise_violation()` then raises its `InvalidArgument` in place of the cancellation."""

    def __init__(self, requests: Iterable[Request], on: bool) -> None:
        self._requests = iter(requests)
        self._on = on
        self.violation: InvalidArgument | None = None

    def __iter__(self) -> CheckedRequests[Request]:
        return self

    def __next__(self) -> Request:
        request = next(self._requests)
        if self._on:
            _checked_or_recorded(self, request)
        return request

    def raise_violation(self) -> None:
        if self.violation is not None:
            raise self.violation


class AsyncCheckedRequests(AsyncIterator[Request]):
    """`CheckedRequests` for an asyncio client stream (an async or a plain iterable)."""

    def __init__(self, requests: AsyncIterable[Request] | Iterable[Request], on: bool) -> None:
        self._async = aiter(requests) if isinstance(requests, AsyncIterable) else None
        self._sync = None if isinstance(requests, AsyncIterable) else iter(requests)
        self._on = on
        self.violation: InvalidArgument | None = None

    def __aiter__(self) -> AsyncCheckedRequests[Request]:
        return self

    async def __anext__(self) -> Request:
        if self._async is not None:
            request = await anext(self._async)
        else:
            assert self._sync is not None
            try:
                request = next(self._sync)
            except StopIteration:
                raise StopAsyncIteration from None
        if self._on:
            _checked_or_recorded(self, request)
        return request

    def raise_violation(self) -> None:
        if self.violation is not None:
            raise self.violation


def _checked_or_recorded(
    stream: CheckedRequests[Any] | AsyncCheckedRequests[Any], request: Message
) -> None:
    try:
        check(request)
    except InvalidArgument as error:
        stream.violation = error
        raise
