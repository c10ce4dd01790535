"""Runtime support shared by the generated servers and clients of one output tree.

protoforge copies this module, unchanged but for its header, into every generated tree (once: at
the package prefix, else at the top of `out`), so that services need only grpcio, protobuf,
grpcio-health-checking and grpcio-reflection at run time, not protoforge itself. Its source is
`protoforge/runtime/_protoforge_runtime.py`, type-checked and linted with protoforge.

- `GrpcError` and one subclass per status code (`NotFound`, `Unavailable`, ...): clients raise
  them instead of `grpc.RpcError`; servicers may raise them to end a call with that status.
- `Client` / `AsyncClient`: the bases of the generated clients (channel, `connect`, `close`,
  context manager, the calls themselves); `Servicer` / `AsyncServicer`: of the servicers.
- `serve` / `serve_async`: run servicers until SIGTERM or SIGINT, with health checking,
  reflection, interceptors, message-size limits, TLS and a graceful shutdown.
- `start` / `start_async`: the same without blocking, for tests and embedding.
- `server_credentials` (TLS from PEM files, checked) and `parse_arguments` (the command line
  of the implementation modules: address, TLS, reflection, limits, shutdown times, web).
- `web_address=`: the same servicers also answer gRPC-Web and Connect over HTTP (browsers,
  curl), through the sibling module `_protoforge_web` (needs hypercorn).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import enum
import errno
import importlib
import importlib.util
import inspect
import json
import logging
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from concurrent import futures
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Generic, NoReturn, Self, TypeVar, cast

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # type: ignore[import-untyped, unused-ignore]
from grpc_reflection.v1alpha import reflection  # type: ignore[import-untyped, unused-ignore]

DEFAULT_ADDRESS = "[::]:50051"
DEFAULT_GRACE = 10.0  # seconds in-flight calls get to finish when the server stops
# A sync server runs each call, streams included, on a thread of its own until the call ends:
# ten threads (gRPC's usual example) let ten long streams block every other call.
DEFAULT_MAX_WORKERS = 128
DEFAULT_MAX_CONCURRENT_RPCS_ASYNC = 1000  # calls an asyncio server runs at once

Request = TypeVar("Request")
Response = TypeVar("Response")
Reply = TypeVar("Reply", bound=Message)  # the response message of a client call
Metadata = Sequence[tuple[str, str | bytes]]
# Whether the servicers being registered validate their requests (`start(validate=...)`); read
# once, at registration, by the generated servers of methods with protovalidate rules.
VALIDATE_REQUESTS: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "protoforge_validate_requests", default=True
)
_log = logging.getLogger(__name__)


# --- errors ----------------------------------------------------------------------------------

Detail = TypeVar("Detail", bound=Message)  # a google.rpc detail type, or a contract's message
STATUS_DETAILS_KEY = "grpc-status-details-bin"  # the trailer carrying a google.rpc.Status
_DETAILS_NEED = (
    "error details need grpcio-status and googleapis-common-protos: pip install grpcio-status"
)


class DetailsUnavailable(ImportError):
    """Error details were sent or read, but grpcio-status (or googleapis-common-protos, which
    holds `google.rpc.Status` and the detail types) is not installed."""


class GrpcError(Exception):
    """A call ended with a non-OK status. Subclasses name the status code.

    Keeps the status `code`, the status `message`, the `details` (the decoded messages of the
    `google.rpc.Status` in the `grpc-status-details-bin` trailer: `BadRequest`, `ErrorInfo`, a
    contract's own message, ...; `google.protobuf.Any` for a type this process does not know)
    and the `trailing_metadata` of the call. Raised by a servicer with `details=[...]`, it
    sends them in that trailer, where any gRPC client (grpc-go, grpc-js, Connect, ...) reads them.
    """

    CODE: ClassVar[grpc.StatusCode] = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str = "",
        *,
        details: Sequence[Message] = (),
        trailing_metadata: Metadata = (),
        code: grpc.StatusCode | None = None,
        debug_error_string: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code or self.CODE
        self.message = message
        self.trailing_metadata = tuple(trailing_metadata)
        self.debug_error_string = debug_error_string
        # Given details are sent as they are; without them, they are read from the trailer
        # when first asked for (an error nobody inspects decodes nothing).
        self._details: tuple[Message, ...] | None = tuple(details) if details else None

    @property
    def details(self) -> tuple[Message, ...]:
        """The error details: those given, else those decoded from `grpc-status-details-bin`
        (raises `DetailsUnavailable` when that needs googleapis-common-protos, not installed)."""
        if self._details is None:
            encoded = _status_trailer(self.trailing_metadata)
            self._details = () if encoded is None else decode_details(encoded)
        return self._details

    def detail(self, kind: type[Detail]) -> Detail | None:
        """The first detail of type `kind` (e.g. `BadRequest`), None if there is none."""
        return next((found for found in self.details if isinstance(found, kind)), None)

    def details_of(self, kind: type[Detail]) -> tuple[Detail, ...]:
        """Every detail of type `kind`, in the order sent."""
        return tuple(found for found in self.details if isinstance(found, kind))

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}" if self.message else self.code.name


class Cancelled(GrpcError):
    CODE = grpc.StatusCode.CANCELLED


class Unknown(GrpcError):
    CODE = grpc.StatusCode.UNKNOWN


class InvalidArgument(GrpcError):
    CODE = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(GrpcError):
    CODE = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(GrpcError):
    CODE = grpc.StatusCode.NOT_FOUND


class AlreadyExists(GrpcError):
    CODE = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(GrpcError):
    CODE = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(GrpcError):
    CODE = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(GrpcError):
    CODE = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(GrpcError):
    CODE = grpc.StatusCode.ABORTED


class OutOfRange(GrpcError):
    CODE = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(GrpcError):
    CODE = grpc.StatusCode.UNIMPLEMENTED


class Internal(GrpcError):
    CODE = grpc.StatusCode.INTERNAL


class Unavailable(GrpcError):
    CODE = grpc.StatusCode.UNAVAILABLE


class DataLoss(GrpcError):
    CODE = grpc.StatusCode.DATA_LOSS


class Unauthenticated(GrpcError):
    CODE = grpc.StatusCode.UNAUTHENTICATED


ERRORS: dict[grpc.StatusCode, type[GrpcError]] = {
    cls.CODE: cls
    for cls in (
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    )
}


def error_from_rpc_error(error: grpc.RpcError) -> GrpcError:
    """The typed exception for a failed call (sync or asyncio); its `details` are decoded from
    the call's `grpc-status-details-bin` trailer when first read."""
    code = error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
    message = error.details() if callable(getattr(error, "details", None)) else None
    trailing: Any = (
        error.trailing_metadata() if callable(getattr(error, "trailing_metadata", None)) else None
    )
    debug = getattr(error, "debug_error_string", None)
    cls = ERRORS.get(code, GrpcError)
    return cls(
        message or "",
        trailing_metadata=tuple(trailing or ()),
        code=code,
        debug_error_string=debug() if callable(debug) else None,
    )


def _status_trailer(metadata: Metadata) -> bytes | None:
    for key, value in metadata:
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            return value
    return None


def decode_details(encoded: bytes) -> tuple[Message, ...]:
    """The detail messages of a serialized `google.rpc.Status`: each `Any` unpacked into the
    class of its type when the default descriptor pool knows the type (every
    `google/rpc/error_details.proto` type, and the messages of every imported `_pb2` module),
    else left an `Any`. A trailer that does not parse gives no details.

    Read from the trailer directly rather than through `grpc_status.rpc_status.from_call`,
    which needs the live call and raises when the Status's code or message differ from the
    call's (a proxy may rewrite the message): a client should still see the details then."""
    try:
        from google.protobuf import descriptor_pool, message_factory
        from google.protobuf.message import DecodeError
        from google.rpc import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            error_details_pb2,
            status_pb2,
        )
    except ImportError as missing:
        raise DetailsUnavailable(_DETAILS_NEED) from missing
    del error_details_pb2  # imported to register BadRequest, ErrorInfo, ... in the default pool
    try:
        status = status_pb2.Status.FromString(encoded)
    except DecodeError:
        return ()
    pool = descriptor_pool.Default()
    details: list[Message] = []
    for packed in status.details:
        try:
            detail = message_factory.GetMessageClass(
                pool.FindMessageTypeByName(packed.TypeName())
            )()
            unpacked = packed.Unpack(detail)
        except (KeyError, DecodeError):
            unpacked = False  # a type this process does not know, or a broken payload
        details.append(detail if unpacked else packed)
    return tuple(details)


def encode_status(error: GrpcError) -> tuple[str, bytes]:
    """The `grpc-status-details-bin` trailer for an error raised with details: a
    `google.rpc.Status` of its code, message and details (each packed into an `Any`), encoded by
    grpcio-status."""
    try:
        from google.protobuf import any_pb2
        from google.rpc import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            status_pb2,
        )
        from grpc_status import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            rpc_status,
        )
    except ImportError as missing:
        raise DetailsUnavailable(_DETAILS_NEED) from missing
    packed = []
    for detail in error.details:
        if isinstance(detail, any_pb2.Any):
            packed.append(detail)  # already packed (e.g. a detail of unknown type passed on)
            continue
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    status = status_pb2.Status(code=error.code.value[0], message=error.message, details=packed)
    ((key, value),) = rpc_status.to_status(status).trailing_metadata
    return str(key), cast(bytes, value)


# --- client support --------------------------------------------------------------------------


def channel_options(
    service_config: dict[str, Any] | None,
    options: Sequence[tuple[str, Any]] = (),
    max_message_bytes: int | None = None,
) -> list[tuple[str, Any]]:
    """Channel options for a client that owns its channel: retries through the service config,
    optional message-size limits, then the caller's own options (which win)."""
    result: list[tuple[str, Any]] = []
    if service_config is not None:
        result.append(("grpc.enable_retries", 1))
        result.append(("grpc.service_config", json.dumps(service_config, sort_keys=True)))
    if max_message_bytes is not None:
        result.append(("grpc.max_send_message_length", max_message_bytes))
        result.append(("grpc.max_receive_message_length", max_message_bytes))
    result.extend(options)
    return result


def sync_channel(
    target: str,
    credentials: grpc.ChannelCredentials | None,
    options: list[tuple[str, Any]],
) -> grpc.Channel:
    if credentials is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, credentials, options=options)


def async_channel(
    target: str,
    credentials: grpc.ChannelCredentials | None,
    options: list[tuple[str, Any]],
) -> grpc.aio.Channel:
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(target, credentials, options=options)


def request_iterator(
    requests: AsyncIterable[Request] | Iterable[Request],
) -> AsyncIterator[Request] | Iterator[Request]:
    if isinstance(requests, AsyncIterable):
        return aiter(requests)
    return iter(requests)


Pairs = tuple[tuple[str, str | bytes], ...]


def _pairs(metadata: Any) -> Pairs:
    """gRPC's metadata (a tuple of `_Metadatum`s, or `grpc.aio.Metadata`) as plain pairs."""
    return tuple((key, value) for key, value in metadata or ())


@dataclass
class ResponseMetadata:
    """What a call given `response_metadata=` fills in: the response headers
    (`initial_metadata`) and trailers (`trailing_metadata`) the server sent, once the call has
    ended (a stream: once it is exhausted or failed), successful or not."""

    initial_metadata: Pairs = ()
    trailing_metadata: Pairs = ()

    def _fill(self, call: Any) -> None:
        self.initial_metadata = _pairs(call.initial_metadata())
        self.trailing_metadata = _pairs(call.trailing_metadata())

    async def _fill_async(self, call: Any) -> None:
        self.initial_metadata = _pairs(await call.initial_metadata())
        self.trailing_metadata = _pairs(await call.trailing_metadata())


def _fill_from_error(seen: ResponseMetadata | None, error: grpc.RpcError) -> None:
    """A failed call's metadata; the sync and asyncio errors both answer without waiting."""
    if seen is not None and callable(getattr(error, "initial_metadata", None)):
        seen._fill(error)


class ResponseStream(Iterator[Response], Generic[Response]):
    """The responses of a server-streaming call; failures raise `GrpcError` subclasses.
    `cancel()` ends the call early; `initial_metadata()` waits for the response headers,
    `trailing_metadata()` for the end of the call."""

    def __init__(
        self,
        call: Any,
        response_metadata: ResponseMetadata | None = None,
        raise_first: Callable[[], None] | None = None,
    ) -> None:
        self._call = call
        self._seen = response_metadata
        # a bidi call's check of the requests it sent: a broken rule ended the call, and its
        # error is raised in place of the cancellation
        self._raise_first = raise_first

    def __iter__(self) -> ResponseStream[Response]:
        return self

    def __next__(self) -> Response:
        try:
            response: Response = next(self._call)
        except grpc.RpcError as error:
            _fill_from_error(self._seen, error)
            if self._raise_first is not None:
                self._raise_first()
            raise error_from_rpc_error(error) from error
        except StopIteration:
            if self._seen is not None:
                self._seen._fill(self._call)
            raise
        return response

    def cancel(self) -> bool:
        return bool(self._call.cancel())

    def initial_metadata(self) -> Pairs:
        """The response headers (waits for them)."""
        return _pairs(self._call.initial_metadata())

    def trailing_metadata(self) -> Pairs:
        """The trailers (waits until the call ends: read them after iterating)."""
        return _pairs(self._call.trailing_metadata())


class AsyncResponseStream(AsyncIterator[Response], Generic[Response]):
    """The responses of a server-streaming asyncio call; failures raise `GrpcError`
    subclasses. `cancel()` ends the call early; `await initial_metadata()` /
    `await trailing_metadata()` as in `ResponseStream`."""

    def __init__(
        self,
        call: Any,
        response_metadata: ResponseMetadata | None = None,
        raise_first: Callable[[], None] | None = None,
    ) -> None:
        self._call = call
        self._seen = response_metadata
        self._raise_first = raise_first  # as in ResponseStream

    def __aiter__(self) -> AsyncResponseStream[Response]:
        return self

    async def __anext__(self) -> Response:
        try:
            response = await self._call.read()
        except grpc.RpcError as error:
            _fill_from_error(self._seen, error)
            if self._raise_first is not None:
                self._raise_first()
            raise error_from_rpc_error(error) from error
        except asyncio.CancelledError:
            # grpc.aio cancels the call when the request iterator raises
            if self._raise_first is not None:
                self._raise_first()
            raise
        if response is grpc.aio.EOF:
            if self._seen is not None:
                await self._seen._fill_async(self._call)
            raise StopAsyncIteration
        result: Response = response
        return result

    def cancel(self) -> bool:
        return bool(self._call.cancel())

    async def initial_metadata(self) -> Pairs:
        """The response headers (waits for them)."""
        return _pairs(await self._call.initial_metadata())

    async def trailing_metadata(self) -> Pairs:
        """The trailers (waits until the call ends: read them after iterating)."""
        return _pairs(await self._call.trailing_metadata())


# --- client bases ------------------------------------------------------------------------------


class Default(enum.Enum):
    """The default of a client's `timeout` argument: the `DEFAULT_TIMEOUT` of its class (the
    `DEFAULT_TIMEOUT` of the generated module, config `client.timeout`)."""

    TIMEOUT = "the class's DEFAULT_TIMEOUT"


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _metadata(metadata: Metadata | None) -> tuple[tuple[str, str | bytes], ...] | None:
    return None if metadata is None else tuple(metadata)


class _ClientBase:
    """What the sync and asyncio clients share: the default deadline, the retry policy and one
    multi-callable per RPC, created on first use."""

    DEFAULT_TIMEOUT: ClassVar[float | None] = None
    """The deadline in seconds of every call unless given (None for none)."""
    SERVICE_CONFIG: ClassVar[dict[str, Any] | None] = None
    """The gRPC service config (retry policy) of clients that own their channel."""

    channel: Any
    timeout: float | None
    _owns_channel: bool
    _pf_calls: dict[str, Any]
    _pf_validate: bool  # check requests against protovalidate rules before sending

    def _pf_setup(self, channel: Any, timeout: float | Default | None, validate: bool) -> None:
        self.channel = channel
        self.timeout = self.DEFAULT_TIMEOUT if timeout is Default.TIMEOUT else timeout
        self._owns_channel = False
        self._pf_calls = {}
        self._pf_validate = validate

    def _pf_callable(self, kind: str, path: str, response: type[Message]) -> Any:
        call = self._pf_calls.get(path)
        if call is None:
            call = getattr(self.channel, kind)(
                path,
                request_serializer=_serialize,
                response_deserializer=response.FromString,
            )
            self._pf_calls[path] = call
        return call

    def _pf_deadline(self, timeout: float | None) -> float | None:
        return self.timeout if timeout is None else timeout


class Client(_ClientBase):
    """The base of the generated sync clients: the channel and its lifecycle. Each generated
    method is one call through `_pf_unary_unary`, `_pf_unary_stream`, `_pf_stream_unary` or
    `_pf_stream_stream`; failures raise `GrpcError` subclasses."""

    channel: grpc.Channel

    def __init__(
        self,
        channel: grpc.Channel,
        *,
        timeout: float | Default | None = Default.TIMEOUT,
        validate: bool = False,
    ) -> None:
        """A client on an existing channel, which `close()` leaves open.

        `timeout` is the default deadline in seconds of every call (None for none; by default
        the class's `DEFAULT_TIMEOUT`). With `validate`, the methods whose request carries
        protovalidate rules check it before sending (each call's `validate=` overrides this).
        """
        self._pf_setup(channel, timeout, validate)

    @classmethod
    def connect(
        cls,
        target: str,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
        max_message_bytes: int | None = None,
        timeout: float | Default | None = Default.TIMEOUT,
        validate: bool = False,
    ) -> Self:
        """A client that owns a new channel to `target` (closed by `close()`), with the retry
        policy of `SERVICE_CONFIG`. Without `credentials` the channel is insecure."""
        merged = channel_options(cls.SERVICE_CONFIG, options, max_message_bytes)
        client = cls(sync_channel(target, credentials, merged), timeout=timeout, validate=validate)
        client._owns_channel = True
        return client

    def close(self) -> None:
        """Close the channel if this client opened it."""
        if self._owns_channel:
            self.channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _pf_unary_unary(
        self,
        path: str,
        request: Message,
        response: type[Reply],
        *,
        timeout: float | None,
        metadata: Metadata | None,
        wait_for_ready: bool | None,
        compression: grpc.Compression | None,
        response_metadata: ResponseMetadata | None = None,
    ) -> Reply:
        return self._pf_single_response(
            "unary_unary",
            path,
            request,
            response,
            timeout=timeout,
            metadata=metadata,
            wait_for_ready=wait_for_ready,
            compression=compression,
            response_metadata=response_metadata,
        )

    def _pf_unary_stream(
        self,
        path: str,
        request: Message,
        response: type[Reply],
        *,
        timeout: float | None,
        metadata: Metadata | None,
        wait_for_ready: bool | None,
        compression: grpc.Compression | None,
        response_metadata: ResponseMetadata | None = None,
    ) -> ResponseStream[Reply]:
        call = self._pf_callable("unary_stream", path, response)(
            request,
            timeout=self._pf_deadline(timeout),
            metadata=_metadata(metadata),
            wait_for_ready=wait_for_ready,
            compression=compression,
        )
        return ResponseStream(call, response_metadata)

    def _pf_stream_unary(
        self,
        path: str,
        requests: Iterable[Message],
        response: type[Reply],
        *,
        timeout: float | None,
        metadata: Metadata | None,
        wait_for_ready: bool | None,
        compression: grpc.Compression | None,
        response_metadata: ResponseMetadata | None = None,
    ) -> Reply:
        return self._pf_single_response(
            "stream_unary",
            path,
            iter(requests),
            response,
            timeout=timeout,
            metadata=metadata,
            wait_for_ready=wait_for_ready,
            compression=compression,
            response_metadata=response_metadata,
        )

    def _pf_stream_stream(
        self,
        path: str,
        requests: Iterable[Message],
        response: type[Reply],
        *,
        timeout: float | None,
        metadata: Metadata | None,
        wait_for_ready: bool | None,
        compression: grpc.Compression | None,
        response_metadata: ResponseMetadata | None = None,
        raise_first: Callable[[], None] | None = None,
    ) -> ResponseStream[Reply]:
        call = self._pf_callable("stream_stream", path, response)(
            iter(requests),
            timeout=self._pf_deadline(timeout),
            metadata=_metadata(metadata),
            wait_for_ready=wait_for_ready,
            compression=compression,
        )
        return ResponseStream(call, response_metadata, raise_first)

    def _pf_single_response(
        self,
        kind: str,
        path: str,
        request: Message | Iterator[Message],
        response: type[Reply],
        *,
        timeout: float | None,
        metadata: Metadata | None,
        wait_for_ready: bool | None,
        compression: grpc.Compression | None,
        response_metadata: ResponseMetadata | None,
    ) -> Reply:
        """A unary or client-streaming call; `with_call` (which also returns the call, for its
        metadata) only when the caller asked for the metadata."""
        multi_callable = self._pf_callable(kind, path, response)
        invoke = multi_callable if response_metadata is None else multi_callable.with_call
        try:
            result = invoke(
                request,
                timeout=self._pf_deadline(timeout),
                metadata=_metadata(metadata),
                wait_for_ready=wait_for_ready,
                compression=compression,
            )
        except grpc.RpcError as error:
            _fill_from_error(response_metadata, error)
            raise error_from_rpc_error(error) from error
        if response_metadata is None:
            reply: Reply = result
            return reply
        reply, call = result
        response_metadata._fill(call)
        return reply


class AsyncClient(_ClientBase):
    """The base of the generated asyncio clients (see `Client`)."""

    channel: grpc.aio.Channel

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        timeout: float | Default | None = Default.TIMEOUT,
        validate: bool = False,
    ) -> None:
        """A client on an existing asyncio channel, which `close()` leaves open.

        `timeout` is the default deadline in seconds of every call (None for none; by default
        the class's `DEFAULT_TIMEOUT`). With `validate`, the methods whose request carries
        protovalidate rules check it before sending (each call's `validate=` overrides this).
        """
        self._pf_setup(channel, timeout, validate)

    @classmethod
    def connect(
        cls,
        target: str,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
        max_message_bytes: int | None = None,
        timeout: float | Default | None = Default.TIMEOUT,
        validate: bool = False,
    ) -> Self:
        """A client that owns a new asyncio channel to `target` (closed by `close()`), with the
        retry policy of `SERVICE_CONFIG`. Without `credentials` the channel is insecure."""
        merged = channel_options(cls.SERVICE_CONFIG, options, max_message_bytes)
        client = cls(async_channel(target, credentials, merged), timeout=timeout, validate=validate)
        client._owns_channel = True
        return client

    async def close(self) -> None:
        """Close the channel if this client opened it."""
        if self._owns_channel:
            await self.channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _pf_unary_unary(
        self,
        path: str,
        request: Message,
        response: type[Reply],
        *,
        timeout: float | None,
        metadata: Metadata | None,
        wait_for_ready: bool | None,
        compression: grpc.Compression | None,
        response_metadata: ResponseMetadata | None = None,
    ) -> Reply:
        return await self._pf_single_response(
            "unary_unary",
            path,
            request,
            response,
            timeout=timeout,
            metadata=metadata,
            wait_for_ready=wait_for_ready,
            compression=compression,
            response_metadata=response_metadata,
        )

    def _pf_unary_stream(
        self,
        path: str,
        request: Message,
        response: type[Reply],
        *,
        timeout: float | None,
        metadata: Metadata | None,
        wait_for_ready: bool | None,
        compression: grpc.Compression | None,
        response_metadata: ResponseMetadata | None = None,
    ) -> AsyncResponseStream[Reply]:
        call = self._pf_callable("unary_stream", path, response)(
            request,
            timeout=self._pf_deadline(timeout),
            metadata=_metadata(metadata),
            wait_for_ready=wait_for_ready,
            compression=compression,
        )
        return AsyncResponseStream(call, response_metadata)

    async def _pf_stream_unary(
        self,
        path: str,
        requests: AsyncIterable[Message] | Iterable[Message],
        response: type[Reply],
        *,
        timeout: float | None,
        metadata: Metadata | None,
        wait_for_ready: bool | None,
        compression: grpc.Compression | None,
        response_metadata: ResponseMetadata | None = None,
    ) -> Reply:
        return await self._pf_single_response(
            "stream_unary",
            path,
            request_iterator(requests),
            response,
            timeout=timeout,
            metadata=metadata,
            wait_for_ready=wait_for_ready,
            compression=compression,
            response_metadata=response_metadata,
        )

    def _pf_stream_stream(
        self,
        path: str,
        requests: AsyncIterable[Message] | Iterable[Message],
        response: type[Reply],
        *,
        timeout: float | None,
        metadata: Metadata | None,
        wait_for_ready: bool | None,
        compression: grpc.Compression | None,
        response_metadata: ResponseMetadata | None = None,
        raise_first: Callable[[], None] | None = None,
    ) -> AsyncResponseStream[Reply]:
        call = self._pf_callable("stream_stream", path, response)(
            request_iterator(requests),
            timeout=self._pf_deadline(timeout),
            metadata=_metadata(metadata),
            wait_for_ready=wait_for_ready,
            compression=compression,
        )
        return AsyncResponseStream(call, response_metadata, raise_first)

    async def _pf_single_response(
        self,
        kind: str,
        path: str,
        request: Message | AsyncIterator[Message] | Iterator[Message],
        response: type[Reply],
        *,
        timeout: float | None,
        metadata: Metadata | None,
        wait_for_ready: bool | None,
        compression: grpc.Compression | None,
        response_metadata: ResponseMetadata | None,
    ) -> Reply:
        """A unary or client-streaming asyncio call (the call object holds the metadata)."""
        call = self._pf_callable(kind, path, response)(
            request,
            timeout=self._pf_deadline(timeout),
            metadata=_metadata(metadata),
            wait_for_ready=wait_for_ready,
            compression=compression,
        )
        try:
            reply: Reply = await call
        except grpc.RpcError as error:
            _fill_from_error(response_metadata, error)
            raise error_from_rpc_error(error) from error
        if response_metadata is not None:
            await response_metadata._fill_async(call)
        return reply


# --- server support: handlers ----------------------------------------------------------------


def _trailer(error: GrpcError) -> tuple[tuple[str, str | bytes], ...]:
    """The trailing metadata a servicer's `GrpcError` ends its call with: its own, plus the
    encoded `google.rpc.Status` when it was raised with details (replacing any such trailer).
    Without grpcio-status the call still ends with the error's code and message, and the
    server logs why the details were left out."""
    if not error._details:
        return error.trailing_metadata
    try:
        status = encode_status(error)
    except DetailsUnavailable as missing:
        _log.error("%s: sent without its details: %s", error, missing)
        return error.trailing_metadata
    kept = [(key, value) for key, value in error.trailing_metadata if key != STATUS_DETAILS_KEY]
    return (*kept, status)


def sync_unary_response(
    behavior: Callable[[Request, grpc.ServicerContext], Response],
) -> Callable[[Request, grpc.ServicerContext], Response]:
    """Wrap a servicer method: a `GrpcError` it raises ends the call with that status."""

    def handler(request: Request, context: grpc.ServicerContext) -> Response:
        try:
            return behavior(request, context)
        except GrpcError as error:
            context.set_trailing_metadata(_trailer(error))
            context.abort(error.code, error.message)

    return handler


def sync_stream_response(
    behavior: Callable[[Request, grpc.ServicerContext], Iterator[Response]],
) -> Callable[[Request, grpc.ServicerContext], Iterator[Response]]:
    """Wrap a response-streaming servicer method (see `sync_unary_response`)."""

    def handler(request: Request, context: grpc.ServicerContext) -> Iterator[Response]:
        try:
            yield from behavior(request, context)
        except GrpcError as error:
            context.set_trailing_metadata(_trailer(error))
            context.abort(error.code, error.message)

    return handler


def async_unary_response(
    behavior: Callable[[Request, Any], Awaitable[Response]],
) -> Callable[[Request, Any], Awaitable[Response]]:
    """Wrap an asyncio servicer method: a `GrpcError` it raises ends the call with that status."""

    async def handler(request: Request, context: Any) -> Response:
        try:
            return await behavior(request, context)
        except GrpcError as error:
            context.set_trailing_metadata(_trailer(error))
            await context.abort(error.code, error.message)
            raise  # unreachable: abort raises

    return handler


def async_stream_response(
    behavior: Callable[[Request, Any], AsyncIterator[Response]],
) -> Callable[[Request, Any], AsyncIterator[Response]]:
    """Wrap a response-streaming asyncio servicer method (see `async_unary_response`)."""

    async def handler(request: Request, context: Any) -> AsyncIterator[Response]:
        try:
            async for response in behavior(request, context):
                yield response
        except GrpcError as error:
            context.set_trailing_metadata(_trailer(error))
            await context.abort(error.code, error.message)

    return handler


def unimplemented(context: grpc.ServicerContext, method: str) -> NoReturn:
    context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented")


async def unimplemented_async(context: grpc.aio.ServicerContext[Any, Any], method: str) -> NoReturn:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented")


async def unimplemented_stream(
    context: grpc.aio.ServicerContext[Any, Any], method: str
) -> AsyncIterator[Any]:
    await unimplemented_async(context, method)
    yield  # makes this an async generator; never reached


# --- server support: serve -------------------------------------------------------------------


class Servicer:
    """The base of the generated sync servicers: the service's name and descriptor (reflection
    serves it), and `add_to_server`, which the generated class implements."""

    SERVICE_NAME: ClassVar[str]
    DESCRIPTOR: ClassVar[ServiceDescriptor]

    def add_to_server(self, server: grpc.Server) -> None:
        raise NotImplementedError


class AsyncServicer:
    """The base of the generated asyncio servicers (see `Servicer`)."""

    SERVICE_NAME: ClassVar[str]
    DESCRIPTOR: ClassVar[ServiceDescriptor]

    def add_to_server(self, server: grpc.aio.Server) -> None:
        raise NotImplementedError


class BindError(OSError):
    """The server could not listen on its address (in use, or not a local address)."""


class TlsError(ValueError):
    """TLS material that cannot be used: a missing file, not PEM, or a key that does not
    belong to the certificate."""


# --- server support: TLS -----------------------------------------------------------------------


def _read_pem(path: str, what: str, marker: bytes) -> bytes:
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise TlsError(f"{path}: the TLS {what} file does not exist") from None
    except OSError as error:
        raise TlsError(f"{path}: cannot read the TLS {what}: {error.strerror}") from None
    if marker not in data:
        raise TlsError(f"{path}: not a PEM {what} (no '{marker.decode()}' line)")
    return data


def _no_password() -> bytes:
    raise TlsError("encrypted private keys are not supported; decrypt the key first")


def server_credentials(
    certificate: str, private_key: str, client_ca: str | None = None
) -> grpc.ServerCredentials:
    """TLS server credentials from PEM files: the certificate (chain), its private key and,
    for mutual TLS, the CA that client certificates must be signed by (clients without one
    are then refused). Raises TlsError naming the file when the material cannot be used;
    gRPC itself would only fail to bind, as if the address were wrong."""
    chain = _read_pem(certificate, "certificate", b"-----BEGIN CERTIFICATE-----")
    key = _read_pem(private_key, "private key", b"PRIVATE KEY-----")
    if b"ENCRYPTED" in key:
        raise TlsError(f"{private_key}: encrypted private keys are not supported")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certificate, private_key, password=_no_password)
    except ssl.SSLError as error:
        if "KEY_VALUES_MISMATCH" in str(error):
            raise TlsError(
                f"{private_key}: the private key does not belong to the certificate {certificate}"
            ) from None
        raise TlsError(
            f"{certificate}, {private_key}: not a usable certificate and key ({error.reason})"
        ) from None
    roots = None
    if client_ca is not None:
        roots = _read_pem(client_ca, "client CA certificate", b"-----BEGIN CERTIFICATE-----")
        try:
            context.load_verify_locations(cafile=client_ca)
        except ssl.SSLError as error:
            raise TlsError(f"{client_ca}: not a usable CA certificate ({error.reason})") from None
    return grpc.ssl_server_credentials(
        [(key, chain)], root_certificates=roots, require_client_auth=roots is not None
    )


# --- server support: limits, draining and binding -----------------------------------------------

# gRPC's own services: answered while draining (health must report NOT_SERVING) and not
# waited for (a health Watch or reflection stream may stay open for ever).
_INFRASTRUCTURE = ("/grpc.health.", "/grpc.reflection.")
_SHUTTING_DOWN = "the server is shutting down"
_FINAL_GRACE = 1.0  # seconds for the last refusals to go out once application calls ended
# gRPC answers CANCELLED (which retry policies do not retry) to a call that reaches a server
# after it began to stop, before the client saw its GOAWAY (grpc/grpc#41785). So the gate
# parks the calls that arrive last (their callers then send nothing new), stops the server
# (sending GOAWAY), and only then refuses the parked calls: their callers' next calls go to a
# new connection, or fail UNAVAILABLE, never CANCELLED.
_PARK = 0.1  # seconds arriving calls are parked before the server stops
_GOAWAY_LEAD = 0.05  # seconds between stopping the server and refusing the parked calls


def _replaced(
    handler: grpc.RpcMethodHandler[Request, Response], kind: str, behavior: Any
) -> grpc.RpcMethodHandler[Request, Response]:
    """The handler with another behaviour (gRPC's handlers are named tuples)."""
    replace: Any = getattr(handler, "_replace")  # noqa: B009 - not in the type stubs
    return cast("grpc.RpcMethodHandler[Request, Response]", replace(**{kind: behavior}))


def _kind(handler: grpc.RpcMethodHandler[Any, Any]) -> str:
    return {
        (False, False): "unary_unary",
        (False, True): "unary_stream",
        (True, False): "stream_unary",
        (True, True): "stream_stream",
    }[(bool(handler.request_streaming), bool(handler.response_streaming))]


class _Gate:
    """Counts the application calls in flight, and refuses new ones once the server shuts
    down: at first at once, with UNAVAILABLE (which retry policies retry); while `parking`,
    only after `release()` (see `_PARK`). A sync server parks at most `park_limit` calls, each
    holding a worker thread; later ones are refused at once."""

    def __init__(self, park_limit: int) -> None:
        self._condition = threading.Condition()
        self._in_flight = 0
        self._parked = 0
        self._park_limit = park_limit
        self._released = threading.Event()
        self.closed = False
        self.parking = False

    def enter(self) -> bool:
        """True: serve the call (then `leave()`); False: refuse it."""
        with self._condition:
            if not self.closed:
                self._in_flight += 1
                return True
            if not self.parking or self._parked >= self._park_limit:
                return False
            self._parked += 1
        self._released.wait(_PARK + _GOAWAY_LEAD + _FINAL_GRACE)
        with self._condition:
            self._parked -= 1
        return False

    def leave(self) -> None:
        with self._condition:
            self._in_flight -= 1
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self.closed = True

    def park(self) -> None:
        with self._condition:
            self.parking = True

    def release(self) -> None:
        self._released.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def wait_idle(self, timeout: float, give_up: threading.Event) -> bool:
        """Wait until no application call is in flight, at most `timeout` seconds or until
        `give_up` is set. True when none is in flight."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._in_flight and not give_up.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._condition.wait(min(left, 0.05))
            return self._in_flight == 0


class _GateInterceptor(grpc.ServerInterceptor):
    def __init__(self, gate: _Gate) -> None:
        self._gate = gate

    def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], grpc.RpcMethodHandler[Request, Response] | None
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Request, Response] | None:
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(_INFRASTRUCTURE):
            return handler
        kind = _kind(handler)
        behavior = getattr(handler, kind)
        gate = self._gate
        if handler.response_streaming:

            def streaming(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                if not gate.enter():
                    context.abort(grpc.StatusCode.UNAVAILABLE, _SHUTTING_DOWN)
                try:
                    yield from behavior(request, context)
                finally:
                    gate.leave()

            return _replaced(handler, kind, streaming)

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            if not gate.enter():
                context.abort(grpc.StatusCode.UNAVAILABLE, _SHUTTING_DOWN)
            try:
                return behavior(request, context)
            finally:
                gate.leave()

        return _replaced(handler, kind, unary)


class _AsyncGate:
    """`_Gate` for an asyncio server (used on the event loop only: no lock; parking costs
    no thread, so there is no limit)."""

    def __init__(self) -> None:
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._released = asyncio.Event()
        self.closed = False
        self.parking = False

    async def enter(self) -> bool:
        if not self.closed:
            self._in_flight += 1
            self._idle.clear()
            return True
        if self.parking:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), _PARK + _GOAWAY_LEAD + _FINAL_GRACE)
        return False

    def leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    def close(self) -> None:
        self.closed = True

    def park(self) -> None:
        self.parking = True

    def release(self) -> None:
        self._released.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def wait_idle(self, timeout: float, give_up: asyncio.Event) -> bool:
        """As `_Gate.wait_idle`."""
        idle = asyncio.ensure_future(self._idle.wait())
        stop = asyncio.ensure_future(give_up.wait())
        try:
            await asyncio.wait({idle, stop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            idle.cancel()
            stop.cancel()
        return self._in_flight == 0


class _AsyncGateInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, gate: _AsyncGate) -> None:
        self._gate = gate

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Request, Response] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Request, Response] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(_INFRASTRUCTURE):
            return handler
        kind = _kind(handler)
        behavior = getattr(handler, kind)
        gate = self._gate
        if inspect.isasyncgenfunction(behavior):

            async def streaming(request: Any, context: Any) -> AsyncIterator[Any]:
                if not await gate.enter():
                    await context.abort(grpc.StatusCode.UNAVAILABLE, _SHUTTING_DOWN)
                try:
                    async for response in behavior(request, context):
                        yield response
                finally:
                    gate.leave()

            return _replaced(handler, kind, streaming)
        if inspect.iscoroutinefunction(behavior):

            async def coroutine(request: Any, context: Any) -> Any:
                if not await gate.enter():
                    await context.abort(grpc.StatusCode.UNAVAILABLE, _SHUTTING_DOWN)
                try:
                    return await behavior(request, context)
                finally:
                    gate.leave()

            return _replaced(handler, kind, coroutine)
        return handler  # a sync behaviour, run in an executor: not counted


def server_options(
    options: Sequence[tuple[str, Any]], max_message_bytes: int | None
) -> list[tuple[str, Any]]:
    # Without this, gRPC sets SO_REUSEPORT and a second server "binds" a port in use silently.
    result: list[tuple[str, Any]] = [("grpc.so_reuseport", 0)]
    if max_message_bytes is not None:
        result.append(("grpc.max_send_message_length", max_message_bytes))
        result.append(("grpc.max_receive_message_length", max_message_bytes))
    result.extend(options)
    return result


def _check_port_free(address: str) -> None:
    """Bind the address once with a plain socket first: gRPC would log a core error line and
    report only "failed to add port"; this names the problem."""
    host, _, port = address.rpartition(":")
    if not port.isdigit() or "/" in host:
        return
    if int(port) > 65535:  # gRPC would silently listen on the port modulo 65536
        raise BindError(f"cannot listen on {address}: port {port} is not 0 to 65535")
    if int(port) == 0:
        return
    try:
        infos = socket.getaddrinfo(host.strip("[]") or None, int(port), type=socket.SOCK_STREAM)
    except OSError:
        return  # not resolvable here: let gRPC report it
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC does
        try:
            probe.bind(sockaddr)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise BindError(f"cannot listen on {address}: port {port} is in use") from None


def _bind(
    server: grpc.Server | grpc.aio.Server,
    address: str,
    credentials: grpc.ServerCredentials | None,
) -> int:
    _check_port_free(address)
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError:
        port = 0
    if port != 0:
        return port
    if credentials is not None:
        # Credentials from `server_credentials` were checked; others may be the cause.
        raise BindError(
            f"cannot listen on {address} with TLS: the address is invalid or the credentials"
            " are unusable (build them with server_credentials() to check them)"
        )
    if not address.endswith(":0"):
        raise BindError(f"cannot listen on {address}: the port is in use or the address is invalid")
    raise BindError(f"cannot listen on {address}: the address is invalid")


def _register(
    servicers: Sequence[Servicer] | Sequence[AsyncServicer],
    server: Any,
    validate: bool,
) -> None:
    """Add every servicer to `server`; with `validate=False` the generated servers of methods
    with protovalidate rules register them without checking their requests."""
    token = VALIDATE_REQUESTS.set(validate)
    try:
        for servicer in servicers:
            servicer.add_to_server(server)
    finally:
        VALIDATE_REQUESTS.reset(token)


def _service_names(servicers: Sequence[Servicer] | Sequence[AsyncServicer]) -> list[str]:
    return sorted({servicer.SERVICE_NAME for servicer in servicers})


def _shown_address(address: str, port: int) -> str:
    host = address.rsplit(":", 1)[0] if ":" in address else address
    return f"{host}:{port}"


# --- server support: the web endpoint -------------------------------------------------------


class WebUnavailable(ImportError):
    """`web_address` was given but the web endpoint's dependency (hypercorn) is missing."""


def _web_module() -> Any:
    """The gateway module gen writes next to this one (`_protoforge_web`), imported on first
    use: servers without a web endpoint never load it or hypercorn."""
    name = f"{__package__}._protoforge_web" if __package__ else "_protoforge_web"
    web = importlib.import_module(name)
    if importlib.util.find_spec("hypercorn") is None:
        raise WebUnavailable(
            "web_address needs hypercorn, the web endpoint's HTTP server: pip install hypercorn"
        )
    return web


class _WebSide:
    """What serving the web protocols adds to a server: the private socket the gateway calls
    the gRPC server through, and the HTTP listener, bound before the gRPC server starts so
    that a port in use fails before anything runs."""

    def __init__(
        self,
        web_address: str,
        servicers: Sequence[Servicer] | Sequence[AsyncServicer],
        cors_origins: Sequence[str],
    ) -> None:
        self.module = _web_module()
        self.address = web_address
        try:
            self.sock = self.module.bind_web_socket(web_address)
        except (OSError, ValueError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise BindError(f"cannot listen on {web_address} (web endpoint): {reason}") from None
        self.directory, self.target = self.module.private_socket()
        descriptors: list[Any] = [servicer.DESCRIPTOR for servicer in servicers]
        descriptors.append(health_pb2.DESCRIPTOR.services_by_name["Health"])
        self.endpoint = self.module.WebEndpoint(self.sock, self.target, descriptors, cors_origins)
        self.port: int = self.endpoint.port

    def add_port(self, server: grpc.Server | grpc.aio.Server) -> None:
        if server.add_insecure_port(self.target) == 0:
            raise BindError(f"cannot listen on {self.target} (the web endpoint's way in)")

    def discard(self) -> None:
        """Undo the binds of a server that failed to start."""
        self.sock.close()
        self.module.remove_private_socket(self.directory)

    def stop(self) -> None:
        self.endpoint.stop(_FINAL_GRACE)
        self.module.remove_private_socket(self.directory)

    async def stop_async(self) -> None:
        await self.endpoint.stop_async(_FINAL_GRACE)
        self.module.remove_private_socket(self.directory)


# --- server support: sync servers ---------------------------------------------------------------


class RunningServer:
    """A started sync server: `port` is the bound port (useful with port 0); `web_port` the
    web endpoint's (None without one)."""

    def __init__(
        self,
        server: grpc.Server,
        port: int,
        health_servicer: Any,
        services: list[str],
        gate: _Gate,
        web: _WebSide | None = None,
    ) -> None:
        self.server = server
        self.port = port
        self.health = health_servicer
        self.services = services
        self._gate = gate
        self._stop_now = threading.Event()
        self._web = web
        self.web_port = None if web is None else web.port

    @property
    def in_flight(self) -> int:
        """Application calls running now (health and reflection not counted)."""
        return self._gate.in_flight

    def set_serving(self, service: str, serving: bool) -> None:
        """Change the health status of one service ("" is the whole server)."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        self.health.set(service, status)

    def shutdown(self, grace: float = DEFAULT_GRACE, drain: float = 0.0) -> int:
        """Graceful shutdown. Health reports NOT_SERVING at once; for `drain` seconds (time for
        load balancers to notice) calls are still served; then new calls are refused with
        UNAVAILABLE while the calls in flight get up to `grace` seconds to finish (calls still
        running then are cancelled). Once none is, the server stops; the calls arriving in its
        last moments are refused just after it told clients to go away (see `_PARK`). Returns
        when the server has stopped, with the number of calls cancelled. `stop_now()` (from
        another thread or a signal handler) cuts these waits short."""
        self.health.enter_graceful_shutdown()
        if drain > 0:
            self._stop_now.wait(drain)
        self._gate.close()
        finished = self._gate.wait_idle(grace, self._stop_now)
        cut_off = self._gate.in_flight
        try:
            if self._stop_now.is_set() or not finished:
                self.server.stop(0).wait()
                return cut_off
            self._gate.park()
            self._stop_now.wait(_PARK)
            stopped = self.server.stop(_FINAL_GRACE)
            self._stop_now.wait(_GOAWAY_LEAD)
            self._gate.release()
            stopped.wait()
            return cut_off
        finally:
            # Web calls reach the servicers through the gRPC server: they were served and
            # refused exactly as gRPC calls were until now.
            if self._web is not None:
                self._web.stop()

    def stop_now(self) -> None:
        """End a `shutdown` in progress at once, cancelling the calls in flight."""
        self._stop_now.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.server.wait_for_termination(timeout)


def start(
    servicers: Sequence[Servicer],
    address: str = DEFAULT_ADDRESS,
    *,
    credentials: grpc.ServerCredentials | None = None,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    max_message_bytes: int | None = None,
    max_workers: int = DEFAULT_MAX_WORKERS,
    max_concurrent_rpcs: int | None = None,
    options: Sequence[tuple[str, Any]] = (),
    reflection_enabled: bool = True,
    web_address: str | None = None,
    cors_origins: Sequence[str] = (),
    validate: bool = True,
) -> RunningServer:
    """Start a sync server for `servicers` on `address` (port 0 picks a free port) and return
    at once. Raises BindError when the address cannot be bound.

    The servicers of methods whose request carries protovalidate rules check every request
    (every message of a client stream) and end a call that breaks one with INVALID_ARGUMENT and
    a `google.rpc.BadRequest`; `validate=False` turns that off for this server, a servicer's
    `NOT_VALIDATED` for some of its methods.

    With `web_address` the same servicers also answer gRPC-Web and Connect calls over HTTP
    there (`RunningServer.web_port` is the bound port), from browsers whose origin is in
    `cors_origins` ("*" for any) and from any non-browser client. Raises WebUnavailable
    without hypercorn.

    Every call, streams included, holds one of `max_workers` threads until it ends. Calls
    beyond `max_concurrent_rpcs` (default: `max_workers`; health checks count too) are refused
    at once with RESOURCE_EXHAUSTED instead of waiting, unseen, for a thread."""
    limit = max_workers if max_concurrent_rpcs is None else max_concurrent_rpcs
    gate = _Gate(park_limit=max_workers // 2)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc-call"),
        interceptors=[_GateInterceptor(gate), *interceptors],
        options=server_options(options, max_message_bytes),
        maximum_concurrent_rpcs=limit,
    )
    _register(servicers, server, validate)
    services = _service_names(servicers)
    health_servicer = health.HealthServicer()
    for name in services:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if reflection_enabled:
        reflection.enable_server_reflection(
            [*services, health.SERVICE_NAME, reflection.SERVICE_NAME], server
        )
    web = None if web_address is None else _WebSide(web_address, servicers, cors_origins)
    try:
        port = _bind(server, address, credentials)
        if web is not None:
            web.add_port(server)
        server.start()
        if web is not None:
            web.endpoint.start()
    except BaseException:
        server.stop(0)
        if web is not None:
            web.discard()
        raise
    return RunningServer(server, port, health_servicer, services, gate, web)


def serve(
    servicers: Sequence[Servicer],
    address: str = DEFAULT_ADDRESS,
    *,
    grace: float = DEFAULT_GRACE,
    drain: float = 0.0,
    credentials: grpc.ServerCredentials | None = None,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    max_message_bytes: int | None = None,
    max_workers: int = DEFAULT_MAX_WORKERS,
    max_concurrent_rpcs: int | None = None,
    options: Sequence[tuple[str, Any]] = (),
    reflection_enabled: bool = True,
    web_address: str | None = None,
    cors_origins: Sequence[str] = (),
    validate: bool = True,
) -> None:
    """Run a sync server until SIGTERM or SIGINT, then shut it down gracefully (see
    `RunningServer.shutdown`); a second signal stops it at once. Call it from the main thread.
    A port in use exits with status 2 and a one-line message."""
    try:
        running = start(
            servicers,
            address,
            credentials=credentials,
            interceptors=interceptors,
            max_message_bytes=max_message_bytes,
            max_workers=max_workers,
            max_concurrent_rpcs=max_concurrent_rpcs,
            options=options,
            reflection_enabled=reflection_enabled,
            web_address=web_address,
            cors_origins=cors_origins,
            validate=validate,
        )
    except (BindError, WebUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        # The first signal starts the graceful shutdown, the next one ends it at once.
        if stop.is_set():
            running.stop_now()
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in _SIGNALS}
    try:
        _announce(running.services, address, running.port, web_address, running.web_port)
        while not stop.wait(0.5):
            pass
        _announce_shutdown(grace, drain)
        cut_off = running.shutdown(grace, drain)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _announce_stopped(cut_off)


_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _announce(
    services: list[str],
    address: str,
    port: int,
    web_address: str | None = None,
    web_port: int | None = None,
) -> None:
    shown = _shown_address(address, port)
    web = ""
    if web_address is not None and web_port is not None:
        web = f"; gRPC-Web and Connect on {_shown_address(web_address, web_port)}"
    print(f"serving {', '.join(services)} on {shown}{web}", file=sys.stderr, flush=True)


def _announce_shutdown(grace: float, drain: float) -> None:
    drained = f", drain {drain:g}s" if drain > 0 else ""
    print(
        f"shutting down (grace {grace:g}s{drained}; a second signal stops at once)",
        file=sys.stderr,
        flush=True,
    )


def _announce_stopped(cut_off: int) -> None:
    if cut_off:
        calls = "1 call in flight was" if cut_off == 1 else f"{cut_off} calls in flight were"
        print(f"stopped; {calls} cancelled", file=sys.stderr, flush=True)


# --- server support: asyncio servers ------------------------------------------------------------


class AsyncRunningServer:
    """A started asyncio server: `port` is the bound port (useful with port 0)."""

    def __init__(
        self,
        server: grpc.aio.Server,
        port: int,
        health_servicer: Any,
        services: list[str],
        gate: _AsyncGate,
        web: _WebSide | None = None,
    ) -> None:
        self.server = server
        self.port = port
        self.health = health_servicer
        self.services = services
        self._gate = gate
        self._stop_now = asyncio.Event()
        self._web = web
        self.web_port = None if web is None else web.port

    @property
    def in_flight(self) -> int:
        """Application calls running now (health and reflection not counted)."""
        return self._gate.in_flight

    async def set_serving(self, service: str, serving: bool) -> None:
        """Change the health status of one service ("" is the whole server)."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        await self.health.set(service, status)

    async def shutdown(self, grace: float = DEFAULT_GRACE, drain: float = 0.0) -> int:
        """Graceful shutdown, as `RunningServer.shutdown`."""
        await self.health.enter_graceful_shutdown()
        await self._pause(drain)
        self._gate.close()
        finished = await self._gate.wait_idle(grace, self._stop_now)
        cut_off = self._gate.in_flight
        try:
            if self._stop_now.is_set() or not finished:
                await self.server.stop(0)
            else:
                self._gate.park()
                await self._pause(_PARK)
                stopping = asyncio.ensure_future(self.server.stop(_FINAL_GRACE))
                await self._pause(_GOAWAY_LEAD)
                self._gate.release()
                await stopping
        finally:
            if self._web is not None:
                await self._web.stop_async()
        if cut_off:
            # Let the cancelled handlers unwind now: cancelled later, when `asyncio.run`
            # ends, gRPC would log each one's CancelledError traceback.
            others = asyncio.all_tasks() - {asyncio.current_task()}
            if others:
                await asyncio.wait(others, timeout=_FINAL_GRACE)
        return cut_off

    def stop_now(self) -> None:
        """End a `shutdown` in progress at once (call it on the server's event loop)."""
        self._stop_now.set()

    async def _pause(self, seconds: float) -> None:
        """Sleep `seconds`, or less if `stop_now()` is called."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_now.wait(), seconds)

    async def wait(self, timeout: float | None = None) -> bool:
        return await self.server.wait_for_termination(timeout)


async def start_async(
    servicers: Sequence[AsyncServicer],
    address: str = DEFAULT_ADDRESS,
    *,
    credentials: grpc.ServerCredentials | None = None,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    max_message_bytes: int | None = None,
    max_concurrent_rpcs: int = DEFAULT_MAX_CONCURRENT_RPCS_ASYNC,
    options: Sequence[tuple[str, Any]] = (),
    reflection_enabled: bool = True,
    web_address: str | None = None,
    cors_origins: Sequence[str] = (),
    validate: bool = True,
) -> AsyncRunningServer:
    """Start an asyncio server (see `start`, also for `web_address`, which is served on this
    event loop). Calls beyond `max_concurrent_rpcs` are refused with RESOURCE_EXHAUSTED."""
    gate = _AsyncGate()
    server = grpc.aio.server(
        interceptors=[_AsyncGateInterceptor(gate), *interceptors],
        options=server_options(options, max_message_bytes),
        maximum_concurrent_rpcs=max_concurrent_rpcs,
    )
    _register(servicers, server, validate)
    services = _service_names(servicers)
    health_servicer = health.aio.HealthServicer()
    for name in services:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if reflection_enabled:
        reflection.enable_server_reflection(
            [*services, health.SERVICE_NAME, reflection.SERVICE_NAME], server
        )
    web = None if web_address is None else _WebSide(web_address, servicers, cors_origins)
    try:
        port = _bind(server, address, credentials)
        if web is not None:
            web.add_port(server)
        await server.start()
        if web is not None:
            await web.endpoint.start_async()
    except BaseException:
        await server.stop(0)
        if web is not None:
            web.discard()
        raise
    return AsyncRunningServer(server, port, health_servicer, services, gate, web)


async def serve_async(
    servicers: Sequence[AsyncServicer],
    address: str = DEFAULT_ADDRESS,
    *,
    grace: float = DEFAULT_GRACE,
    drain: float = 0.0,
    credentials: grpc.ServerCredentials | None = None,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    max_message_bytes: int | None = None,
    max_concurrent_rpcs: int = DEFAULT_MAX_CONCURRENT_RPCS_ASYNC,
    options: Sequence[tuple[str, Any]] = (),
    reflection_enabled: bool = True,
    web_address: str | None = None,
    cors_origins: Sequence[str] = (),
    validate: bool = True,
) -> None:
    """Run an asyncio server until SIGTERM or SIGINT, then shut it down gracefully; a second
    signal stops it at once. Use it as `asyncio.run(serve_async([MyServicer()]))`."""
    try:
        running = await start_async(
            servicers,
            address,
            credentials=credentials,
            interceptors=interceptors,
            max_message_bytes=max_message_bytes,
            max_concurrent_rpcs=max_concurrent_rpcs,
            options=options,
            reflection_enabled=reflection_enabled,
            web_address=web_address,
            cors_origins=cors_origins,
            validate=validate,
        )
    except (BindError, WebUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    stop = asyncio.Event()

    def on_signal() -> None:
        if stop.is_set():
            running.stop_now()
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in _SIGNALS:
        loop.add_signal_handler(sig, on_signal)
    try:
        _announce(running.services, address, running.port, web_address, running.web_port)
        await stop.wait()
        _announce_shutdown(grace, drain)
        cut_off = await running.shutdown(grace, drain)
    finally:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
    _announce_stopped(cut_off)


# --- the implementation module's command line ---------------------------------------------------


@dataclass(frozen=True)
class ServerArguments:
    """What `parse_arguments` read from the command line, ready for `serve`."""

    address: str
    credentials: grpc.ServerCredentials | None
    reflection: bool
    max_workers: int
    max_concurrent_rpcs: int | None
    grace: float
    drain: float
    web_address: str | None = None
    cors_origins: tuple[str, ...] = ()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds (0 or more), not {text!r}")
    return value


def parse_arguments(argv: Sequence[str], prog: str | None = None) -> ServerArguments:
    """Parse a server command line (`ADDRESS`, TLS files, reflection, limits, shutdown times).
    A bad option or unusable TLS material exits with status 2 and a message naming it.
    `prog` (the name in messages) defaults to `python -m MODULE` when run that way."""
    if prog is None:
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        prog = f"python -m {spec.name}" if spec is not None else None
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve until SIGTERM or Ctrl-C, then stop gracefully.",
    )
    parser.add_argument(
        "address",
        nargs="?",
        default=DEFAULT_ADDRESS,
        help=f"host:port to listen on (default {DEFAULT_ADDRESS}: every interface)",
    )
    tls = parser.add_argument_group("TLS (default: plaintext)")
    tls.add_argument("--tls-cert", metavar="PEM", help="the server's certificate (chain)")
    tls.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    tls.add_argument(
        "--tls-client-ca",
        metavar="PEM",
        help="require client certificates signed by this CA (mutual TLS)",
    )
    parser.add_argument(
        "--no-reflection",
        dest="reflection",
        action="store_false",
        help="do not serve gRPC reflection (it lists every service and message)",
    )
    parser.add_argument(
        "--max-workers",
        type=_positive_int,
        default=DEFAULT_MAX_WORKERS,
        metavar="N",
        help=f"threads, one per call in progress (default {DEFAULT_MAX_WORKERS})",
    )
    parser.add_argument(
        "--max-concurrent-rpcs",
        type=_positive_int,
        metavar="N",
        help="refuse calls beyond N with RESOURCE_EXHAUSTED (default: --max-workers)",
    )
    parser.add_argument(
        "--grace",
        type=_seconds,
        default=DEFAULT_GRACE,
        metavar="SECONDS",
        help=f"time calls in flight get to finish on shutdown (default {DEFAULT_GRACE:g})",
    )
    parser.add_argument(
        "--drain",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="keep serving this long after health turns NOT_SERVING (default 0)",
    )
    web = parser.add_argument_group(
        "web (gRPC-Web and Connect over HTTP, for browsers; needs hypercorn)"
    )
    web.add_argument(
        "--web-address",
        metavar="ADDRESS",
        help="also serve the web protocols on host:port (port 0 picks one)",
    )
    web.add_argument(
        "--cors-origin",
        dest="cors_origins",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let pages from ORIGIN (e.g. http://localhost:5173, or *) call it; repeatable",
    )
    args = parser.parse_args(list(argv))
    if args.cors_origins and args.web_address is None:
        parser.error("--cors-origin needs --web-address")
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if args.tls_client_ca is not None and args.tls_cert is None:
        parser.error("--tls-client-ca needs --tls-cert and --tls-key")
    credentials = None
    if args.tls_cert is not None:
        try:
            credentials = server_credentials(args.tls_cert, args.tls_key, args.tls_client_ca)
        except TlsError as error:
            parser.exit(2, f"error: {error}\n")
    return ServerArguments(
        address=args.address,
        credentials=credentials,
        reflection=args.reflection,
        max_workers=args.max_workers,
        max_concurrent_rpcs=args.max_concurrent_rpcs,
        grace=args.grace,
        drain=args.drain,
        web_address=args.web_address,
        cors_origins=tuple(args.cors_origins),
    )
