"""gRPC-Web and Connect for browsers and HTTP clients, served next to the gRPC server.

The web endpoint is a translating gateway *inside the server process*: every HTTP request becomes
a call on the gRPC server itself, over a private Unix socket that only this process's user can
open. So a call through it meets exactly what a gRPC call meets: the same servicers,
interceptors, deadlines, metadata, status codes, error details and health service.

Protocols (HTTP/1.1 or HTTP/2, plaintext or behind a TLS-terminating proxy):
- gRPC-Web: `application/grpc-web`, `application/grpc-web+proto`, `application/grpc-web-text`
  (base64); `grpc-timeout`; status and trailers in the body's trailer frame.
- Connect: unary (`application/proto`, `application/json`, and GET for methods whose
  `idempotency_level` is NO_SIDE_EFFECTS) and server streaming (`application/connect+proto`,
  `application/connect+json`); `connect-timeout-ms`; errors as Connect's JSON with the
  `google.rpc.Status` details the servicer attached.
Client-streaming and bidirectional methods answer UNIMPLEMENTED: gRPC-Web cannot carry them at
all and Connect only over HTTP/2 with full-duplex bodies, which browsers' fetch does not offer.

The HTTP server is hypercorn (HTTP/1.1, and HTTP/2 without TLS for clients that use it, such as
`buf curl` for streaming methods), an optional dependency of the generated code: nothing here
imports it until a web endpoint is started.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib
import json
import os
import shutil
import socket
import tempfile
import threading
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.descriptor_pb2 import MethodOptions
from google.protobuf.message import DecodeError, Message

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_REQUEST_BYTES = 4 * 1024 * 1024  # gRPC's default receive limit
DATA_FLAG, TRAILER_FLAG, END_STREAM_FLAG, COMPRESSED_FLAG = 0x00, 0x80, 0x02, 0x01

# Request headers that belong to HTTP, CORS or the web protocols, not to the call's metadata.
_NOT_METADATA = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "connection",
        "content-length",
        "content-type",
        "content-encoding",
        "host",
        "origin",
        "referer",
        "te",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-grpc-web",
        "x-user-agent",
        "grpc-timeout",
        "grpc-accept-encoding",
        "grpc-encoding",
    }
)
_NOT_METADATA_PREFIXES = ("connect-", "sec-", "access-control-", ":")

# Connect's HTTP status for each gRPC code (connectrpc.com/docs/protocol, "Error Codes").
_CONNECT_HTTP_STATUS = {
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
_GRPC_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


class WebError(Exception):
    """A call that fails before it reaches the gRPC server (bad framing, unknown method, ...)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def connect_code(code: grpc.StatusCode) -> str:
    """Connect's name of a gRPC code: `invalid_argument`, `canceled` (one l), ..."""
    return "canceled" if code is grpc.StatusCode.CANCELLED else code.name.lower()


@dataclass(frozen=True)
class _Method:
    path: str
    descriptor: MethodDescriptor
    request: type[Message]
    response: type[Message]

    @property
    def streaming_requests(self) -> bool:
        return bool(self.descriptor.client_streaming)

    @property
    def streaming_responses(self) -> bool:
        return bool(self.descriptor.server_streaming)

    @property
    def side_effect_free(self) -> bool:
        options = self.descriptor.GetOptions()
        return bool(options.idempotency_level == MethodOptions.NO_SIDE_EFFECTS)


def methods_of(services: Sequence[ServiceDescriptor]) -> dict[str, _Method]:
    """`/pkg.Service/Method` -> the method and its message classes, for every served service."""
    found: dict[str, _Method] = {}
    for service in services:
        for method in service.methods:
            path = f"/{service.full_name}/{method.name}"
            found[path] = _Method(
                path,
                method,
                message_factory.GetMessageClass(method.input_type),
                message_factory.GetMessageClass(method.output_type),
            )
    return found


# --- wire helpers ------------------------------------------------------------------------------


def frame(flags: int, payload: bytes) -> bytes:
    """One length-prefixed message: gRPC's framing, which gRPC-Web and Connect streams share."""
    return bytes([flags]) + len(payload).to_bytes(4, "big") + payload


def frames(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The frames of a body; a truncated frame is a protocol error."""
    offset = 0
    while offset < len(data):
        if len(data) - offset < 5:
            raise WebError(grpc.StatusCode.INVALID_ARGUMENT, "truncated message frame")
        flags = data[offset]
        length = int.from_bytes(data[offset + 1 : offset + 5], "big")
        start, offset = offset + 5, offset + 5 + length
        if offset > len(data):
            raise WebError(grpc.StatusCode.INVALID_ARGUMENT, "truncated message frame")
        yield flags, data[start:offset]


def decode_base64_chunks(text: bytes) -> bytes:
    """grpc-web-text bodies: base64, possibly several padded chunks one after another."""
    compact = b"".join(text.split())
    out, start = bytearray(), 0
    while start < len(compact):
        end = start
        while end < len(compact) and compact[end : end + 1] != b"=":
            end += 1
        while end < len(compact) and compact[end : end + 1] == b"=":
            end += 1
        chunk = compact[start:end]
        try:
            out += base64.b64decode(chunk + b"=" * (-len(chunk) % 4), validate=True)
        except ValueError as error:
            raise WebError(grpc.StatusCode.INVALID_ARGUMENT, "invalid base64 body") from error
        start = end
    return bytes(out)


def parse_grpc_timeout(value: str) -> float:
    """`grpc-timeout: 1500m` -> 1.5 (seconds)."""
    if len(value) < 2 or value[-1] not in _GRPC_TIMEOUT_UNITS or not value[:-1].isdigit():
        raise WebError(grpc.StatusCode.INVALID_ARGUMENT, f"invalid grpc-timeout {value!r}")
    return int(value[:-1]) * _GRPC_TIMEOUT_UNITS[value[-1]]


def parse_connect_timeout(value: str) -> float:
    if not value.isdigit() or len(value) > 10:
        raise WebError(grpc.StatusCode.INVALID_ARGUMENT, f"invalid connect-timeout-ms {value!r}")
    return int(value) / 1000


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _b64_decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def request_metadata(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[str, str | bytes]]:
    """HTTP request headers -> the call's metadata (binary `-bin` values base64-decoded)."""
    metadata: list[tuple[str, str | bytes]] = []
    for raw_key, raw_value in headers:
        key = raw_key.decode("latin-1").lower()
        if key in _NOT_METADATA or key.startswith(_NOT_METADATA_PREFIXES):
            continue
        value = raw_value.decode("latin-1")
        if key.endswith("-bin"):
            try:
                metadata.append((key, _b64_decode(value)))
            except ValueError as error:
                raise WebError(
                    grpc.StatusCode.INVALID_ARGUMENT, f"header {key}: invalid base64"
                ) from error
        else:
            metadata.append((key, value))
    return metadata


def metadata_headers(
    metadata: Sequence[tuple[str, str | bytes]] | None, prefix: str = ""
) -> list[tuple[bytes, bytes]]:
    """gRPC metadata -> HTTP header pairs (binary values base64, as both protocols send them)."""
    pairs: list[tuple[bytes, bytes]] = []
    for key, value in metadata or ():
        text = _b64(value) if isinstance(value, bytes) else value
        pairs.append(((prefix + key).encode("latin-1"), text.encode("latin-1")))
    return pairs


def status_details(trailing: Sequence[tuple[str, str | bytes]] | None) -> list[dict[str, str]]:
    """The `google.rpc.Status` details a servicer attached (`grpc-status-details-bin`), as
    Connect's `{"type", "value"}` objects. Decoded by hand (three fields) so that the gateway
    needs no googleapis-common-protos."""
    for key, value in trailing or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            try:
                return [
                    {"type": type_url.rsplit("/", 1)[-1], "value": _b64(payload)}
                    for type_url, payload in _status_any_details(value)
                ]
            except (IndexError, ValueError):
                return []
    return []


def _fields(data: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, value) of a serialized message: varints and length-delimited only."""
    offset = 0
    while offset < len(data):
        key, offset = _varint(data, offset)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, offset = _varint(data, offset)
            yield number, value
        elif wire_type == 2:
            length, offset = _varint(data, offset)
            yield number, data[offset : offset + length]
            offset += length
        else:
            raise ValueError(f"unexpected wire type {wire_type}")


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, offset
        shift += 7


def _status_any_details(status: bytes) -> Iterator[tuple[str, bytes]]:
    for number, value in _fields(status):
        if number == 3 and isinstance(value, bytes):  # repeated google.protobuf.Any details
            parts = dict(_fields(value))
            type_url, payload = parts.get(1, b""), parts.get(2, b"")
            if isinstance(type_url, bytes) and isinstance(payload, bytes):
                yield type_url.decode("utf-8"), payload


# --- the ASGI application ----------------------------------------------------------------------


class WebGateway:
    """An ASGI application that forwards gRPC-Web and Connect calls to a gRPC channel."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        services: Sequence[ServiceDescriptor],
        cors_origins: Sequence[str] = (),
    ) -> None:
        self._channel = channel
        self._methods = methods_of(services)
        self._origins = frozenset(cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = _header_dict(scope["headers"])
        cors = self._cors(headers.get("origin"))
        if scope["method"] == "OPTIONS":
            await self._preflight(headers, cors, send)
            return
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        method = self._methods.get(scope["path"])
        if content_type.startswith("application/grpc-web"):
            await self._grpc_web(scope, receive, send, headers, content_type, method, cors)
        elif scope["method"] == "GET" and _query(scope).get("connect") == "v1":
            await self._connect_get(scope, send, headers, method, cors)
        elif content_type in ("application/proto", "application/json"):
            await self._connect_unary(scope, receive, send, headers, content_type, method, cors)
        elif content_type in ("application/connect+proto", "application/connect+json"):
            await self._connect_stream(scope, receive, send, headers, content_type, method, cors)
        else:
            await _plain(send, 415, b"unsupported content type: use gRPC-Web or Connect", cors)

    # -- CORS ------------------------------------------------------------------------------------

    def _cors(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        if origin is None or not (origin in self._origins or "*" in self._origins):
            return []
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"vary", b"Origin"),
            (
                b"access-control-expose-headers",
                b"grpc-status, grpc-message, grpc-status-details-bin, *",
            ),
        ]

    async def _preflight(
        self, headers: Mapping[str, str], cors: list[tuple[bytes, bytes]], send: Send
    ) -> None:
        if not cors:
            await _plain(send, 403, b"origin not allowed", [])
            return
        requested = headers.get("access-control-request-headers", "")
        extra = [
            (b"access-control-allow-methods", b"POST, GET"),
            (b"access-control-allow-headers", requested.encode("latin-1") or b"*"),
            (b"access-control-max-age", b"7200"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": cors + extra})
        await send({"type": "http.response.body", "body": b""})

    # -- gRPC-Web --------------------------------------------------------------------------------

    async def _grpc_web(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: Mapping[str, str],
        content_type: str,
        method: _Method | None,
        cors: list[tuple[bytes, bytes]],
    ) -> None:
        text = content_type.startswith("application/grpc-web-text")
        response_type = content_type.encode("latin-1")
        start = _StreamStart(send, response_type, cors)

        async def write(data: bytes, more: bool = True) -> None:
            body = base64.b64encode(data) if text else data
            await send({"type": "http.response.body", "body": body, "more_body": more})

        async def finish(
            code: grpc.StatusCode, message: str, trailing: Sequence[tuple[str, str | bytes]] | None
        ) -> None:
            lines = [f"grpc-status: {code.value[0]}"]
            if message:
                lines.append(f"grpc-message: {urllib.parse.quote(message, safe=' ')}")
            for key, value in metadata_headers(trailing):
                lines.append(f"{key.decode('latin-1')}: {value.decode('latin-1')}")
            await write(frame(TRAILER_FLAG, ("\r\n".join(lines) + "\r\n").encode("latin-1")), False)

        try:
            # The body first, also for calls refused below: a client still sending when the
            # answer comes would see a reset connection instead of the status.
            body = await _read_body(receive)
            method = _require(method, scope["path"])
            _refuse_client_streaming(method, "gRPC-Web")
            timeout = None
            if "grpc-timeout" in headers:
                timeout = parse_grpc_timeout(headers["grpc-timeout"])
            if text:
                body = decode_base64_chunks(body)
            messages = list(frames(body))
            if len(messages) != 1 or messages[0][0] & COMPRESSED_FLAG:
                raise WebError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "expected exactly one uncompressed request message",
                )
            metadata = request_metadata(scope["headers"])
        except WebError as error:
            await start(None)
            await finish(error.code, error.message, None)
            return
        outcome = _Outcome()
        async for item in self._call(method, messages[0][1], metadata, timeout, outcome):
            await start(outcome.initial)
            await write(frame(DATA_FLAG, item))
        await start(outcome.initial)
        await finish(outcome.code, outcome.message, outcome.trailing)

    # -- Connect ---------------------------------------------------------------------------------

    async def _connect_unary(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: Mapping[str, str],
        content_type: str,
        method: _Method | None,
        cors: list[tuple[bytes, bytes]],
    ) -> None:
        try:
            body = await _read_body(receive)  # first: see _grpc_web
            method = _require(method, scope["path"])
            _refuse_client_streaming(method, "Connect")
            if method.streaming_responses:
                raise WebError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"{method.path} is server-streaming: use application/connect+proto or "
                    "application/connect+json",
                )
            if headers.get("content-encoding", "identity") != "identity":
                raise WebError(
                    grpc.StatusCode.UNIMPLEMENTED, "compressed requests are not supported"
                )
            timeout = _connect_timeout(headers)
            codec = _Codec(content_type.endswith("json"))
            request = codec.to_wire(method.request, body)
            metadata = request_metadata(scope["headers"])
        except WebError as error:
            await _connect_error(send, error.code, error.message, None, None, cors)
            return
        await self._connect_unary_call(send, method, request, metadata, timeout, codec, cors)

    async def _connect_get(
        self,
        scope: Scope,
        send: Send,
        headers: Mapping[str, str],
        method: _Method | None,
        cors: list[tuple[bytes, bytes]],
    ) -> None:
        query = _query(scope)
        try:
            method = _require(method, scope["path"])
            if (
                not method.side_effect_free
                or method.streaming_requests
                or method.streaming_responses
            ):
                raise WebError(
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"{method.path} cannot be called with GET: only unary methods with "
                    "idempotency_level = NO_SIDE_EFFECTS can",
                )
            if query.get("compression", "identity") != "identity":
                raise WebError(
                    grpc.StatusCode.UNIMPLEMENTED, "compressed requests are not supported"
                )
            encoding = query.get("encoding", "")
            if encoding not in ("proto", "json"):
                raise WebError(grpc.StatusCode.INVALID_ARGUMENT, "encoding must be proto or json")
            raw = query.get("message", "")
            data = _b64_decode(raw) if query.get("base64") == "1" else raw.encode("utf-8")
            codec = _Codec(encoding == "json")
            request = codec.to_wire(method.request, data)
            timeout = _connect_timeout(headers)
            metadata = request_metadata(scope["headers"])
        except (WebError, ValueError) as error:
            code = error.code if isinstance(error, WebError) else grpc.StatusCode.INVALID_ARGUMENT
            await _connect_error(send, code, str(error), None, None, cors)
            return
        await self._connect_unary_call(send, method, request, metadata, timeout, codec, cors)

    async def _connect_unary_call(
        self,
        send: Send,
        method: _Method,
        request: bytes,
        metadata: list[tuple[str, str | bytes]],
        timeout: float | None,
        codec: _Codec,
        cors: list[tuple[bytes, bytes]],
    ) -> None:
        outcome = _Outcome()
        replies = [item async for item in self._call(method, request, metadata, timeout, outcome)]
        if outcome.code is not grpc.StatusCode.OK or len(replies) != 1:
            await _connect_error(
                send, outcome.code, outcome.message, outcome.initial, outcome.trailing, cors
            )
            return
        head = [
            (b"content-type", codec.unary_content_type),
            *cors,
            *metadata_headers(outcome.initial),
            *metadata_headers(outcome.trailing, prefix="trailer-"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": head})
        body = codec.from_wire(method.response, replies[0])
        await send({"type": "http.response.body", "body": body})

    async def _connect_stream(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: Mapping[str, str],
        content_type: str,
        method: _Method | None,
        cors: list[tuple[bytes, bytes]],
    ) -> None:
        codec = _Codec(content_type.endswith("json"))
        start = _StreamStart(send, content_type.encode(), cors)

        async def end(
            code: grpc.StatusCode, message: str, trailing: Sequence[tuple[str, str | bytes]] | None
        ) -> None:
            end_message: dict[str, Any] = {}
            if code is not grpc.StatusCode.OK:
                end_message["error"] = _connect_error_json(code, message, trailing)
            grouped: dict[str, list[str]] = {}
            for key, value in metadata_headers(trailing):
                grouped.setdefault(key.decode("latin-1"), []).append(value.decode("latin-1"))
            if grouped:
                end_message["metadata"] = grouped
            payload = frame(END_STREAM_FLAG, json.dumps(end_message).encode())
            await send({"type": "http.response.body", "body": payload, "more_body": False})

        try:
            body = await _read_body(receive)  # first: see _grpc_web
            method = _require(method, scope["path"])
            _refuse_client_streaming(method, "Connect")
            timeout = _connect_timeout(headers)
            messages = list(frames(body))
            if len(messages) != 1 or messages[0][0] & COMPRESSED_FLAG:
                raise WebError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "expected exactly one uncompressed request message",
                )
            request = codec.to_wire(method.request, messages[0][1])
            metadata = request_metadata(scope["headers"])
        except WebError as error:
            await start(None)
            await end(error.code, error.message, None)
            return
        outcome = _Outcome()
        async for item in self._call(method, request, metadata, timeout, outcome):
            await start(outcome.initial)
            payload = frame(DATA_FLAG, codec.from_wire(method.response, item))
            await send({"type": "http.response.body", "body": payload, "more_body": True})
        await start(outcome.initial)
        await end(outcome.code, outcome.message, outcome.trailing)

    # -- the forwarded call ----------------------------------------------------------------------

    async def _call(
        self,
        method: _Method,
        request: bytes,
        metadata: list[tuple[str, str | bytes]],
        timeout: float | None,
        outcome: _Outcome,
    ) -> AsyncIterator[bytes]:
        """The call on the gRPC server, request and responses as bytes; `outcome` receives the
        metadata and the status as soon as they are known."""
        # No serializers: the request and the responses pass through as bytes.
        multicallable: Any = (
            self._channel.unary_stream(method.path)
            if method.streaming_responses
            else self._channel.unary_unary(method.path)
        )
        call = multicallable(request, timeout=timeout, metadata=metadata)
        try:
            outcome.initial = _pairs(await call.initial_metadata())
            if method.streaming_responses:
                async for item in call:
                    yield item
            else:
                yield await call
        except grpc.aio.AioRpcError as error:
            outcome.initial = outcome.initial or _pairs(error.initial_metadata())
            outcome.code, outcome.message = error.code(), error.details() or ""
            outcome.trailing = _pairs(error.trailing_metadata())
            return
        except asyncio.CancelledError:
            call.cancel()
            raise
        outcome.code = grpc.StatusCode.OK
        outcome.trailing = _pairs(await call.trailing_metadata())


def _pairs(metadata: Any) -> tuple[tuple[str, str | bytes], ...]:
    """grpc.aio's Metadata (or None) as plain (key, value) pairs."""
    return tuple((str(key), value) for key, value in metadata or ())


class _StreamStart:
    """The 200 response start of a streamed answer (gRPC-Web, Connect streaming), sent once,
    with the call's initial metadata as soon as it is known."""

    def __init__(self, send: Send, content_type: bytes, cors: list[tuple[bytes, bytes]]) -> None:
        self._send, self._content_type, self._cors = send, content_type, cors
        self._sent = False

    async def __call__(self, initial: Sequence[tuple[str, str | bytes]] | None) -> None:
        if not self._sent:
            self._sent = True
            head = [(b"content-type", self._content_type), *self._cors, *metadata_headers(initial)]
            await self._send({"type": "http.response.start", "status": 200, "headers": head})


class _Outcome:
    def __init__(self) -> None:
        self.initial: Sequence[tuple[str, str | bytes]] | None = None
        self.trailing: Sequence[tuple[str, str | bytes]] | None = None
        self.code = grpc.StatusCode.UNKNOWN
        self.message = ""


class _Codec:
    """Connect's two codecs: the binary message as is, or protobuf's canonical JSON."""

    def __init__(self, json_codec: bool) -> None:
        self.json = json_codec
        self.unary_content_type = b"application/json" if json_codec else b"application/proto"

    def to_wire(self, cls: type[Message], data: bytes) -> bytes:
        if not self.json:
            return data
        try:
            return json_format.Parse(data.decode("utf-8") or "{}", cls()).SerializeToString()
        except (json_format.ParseError, UnicodeDecodeError, DecodeError) as error:
            raise WebError(
                grpc.StatusCode.INVALID_ARGUMENT, f"invalid JSON request: {error}"
            ) from error

    def from_wire(self, cls: type[Message], data: bytes) -> bytes:
        if not self.json:
            return data
        message = cls.FromString(data)
        return json_format.MessageToJson(message, indent=None).encode("utf-8")


def _connect_error_json(
    code: grpc.StatusCode, message: str, trailing: Sequence[tuple[str, str | bytes]] | None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": connect_code(code)}
    if message:
        error["message"] = message
    details = status_details(trailing)
    if details:
        error["details"] = details
    return error


async def _connect_error(
    send: Send,
    code: grpc.StatusCode,
    message: str,
    initial: Sequence[tuple[str, str | bytes]] | None,
    trailing: Sequence[tuple[str, str | bytes]] | None,
    cors: list[tuple[bytes, bytes]],
) -> None:
    if code is grpc.StatusCode.OK:  # a unary call that ended without a response
        code, message = grpc.StatusCode.INTERNAL, "the server sent no response message"
    head = [
        (b"content-type", b"application/json"),
        *cors,
        *metadata_headers(initial),
        *metadata_headers(trailing, prefix="trailer-"),
    ]
    status = _CONNECT_HTTP_STATUS.get(code, 500)
    await send({"type": "http.response.start", "status": status, "headers": head})
    body = json.dumps(_connect_error_json(code, message, trailing)).encode()
    await send({"type": "http.response.body", "body": body})


def _require(method: _Method | None, path: str) -> _Method:
    if method is None:
        raise WebError(grpc.StatusCode.UNIMPLEMENTED, f"unknown method {path}")
    return method


def _refuse_client_streaming(method: _Method, protocol: str) -> None:
    if method.streaming_requests:
        kind = "bidirectional" if method.streaming_responses else "client-streaming"
        raise WebError(
            grpc.StatusCode.UNIMPLEMENTED,
            f"{method.path} is {kind}: {protocol} calls through the web endpoint are unary "
            "or server-streaming (browsers cannot stream requests); call it over gRPC",
        )


def _connect_timeout(headers: Mapping[str, str]) -> float | None:
    value = headers.get("connect-timeout-ms")
    return None if value is None else parse_connect_timeout(value)


def _header_dict(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    return {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in raw}


def _query(scope: Scope) -> dict[str, str]:
    query = scope.get("query_string", b"").decode("latin-1")
    return dict(urllib.parse.parse_qsl(query, keep_blank_values=True))


async def _read_body(receive: Receive) -> bytes:
    body = bytearray()
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            raise WebError(grpc.StatusCode.CANCELLED, "the client went away")
        body += event.get("body", b"")
        if len(body) > MAX_REQUEST_BYTES:
            raise WebError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"request larger than {MAX_REQUEST_BYTES} bytes",
            )
        if not event.get("more_body", False):
            return bytes(body)


async def _plain(send: Send, status: int, text: bytes, cors: list[tuple[bytes, bytes]]) -> None:
    head = [(b"content-type", b"text/plain; charset=utf-8"), *cors]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": text})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif event["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


# --- running it next to a grpc server ---------------------------------------------------------


def private_socket() -> tuple[str, str]:
    """A Unix socket address in a new directory only this user can enter: the gateway's way
    into the gRPC server, closed to other users (and, unlike a loopback port, to other
    machines' traffic and to TLS or mTLS being skipped by anyone else). (directory, target)."""
    directory = tempfile.mkdtemp(prefix="protoforge-web-")
    os.chmod(directory, 0o700)
    return directory, f"unix:{os.path.join(directory, 'grpc.sock')}"


def bind_web_socket(address: str) -> socket.socket:
    """A listening socket for `HOST:PORT` (`[::]:8080`, `127.0.0.1:0`); bound now, so that a port
    in use fails here with the address in the message and port 0 is known at once."""
    host, _, port_text = address.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    if not port_text.isdigit():
        raise ValueError(f"web address {address!r}: expected HOST:PORT")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, int(port_text)))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class WebEndpoint:
    """The HTTP server (hypercorn: HTTP/1.1, and HTTP/2 in cleartext for clients that ask for it
    with prior knowledge) of one gateway, run on the current event loop or, for a threaded gRPC
    server, on an event loop in a thread of its own."""

    def __init__(
        self,
        sock: socket.socket,
        target: str,
        services: Sequence[ServiceDescriptor],
        cors: Sequence[str],
    ) -> None:
        self._sock, self._target, self._services, self._cors = sock, target, services, cors
        self.port: int = sock.getsockname()[1]
        self._channel: grpc.aio.Channel | None = None
        self._stopping: asyncio.Event | None = None
        self._task: asyncio.Future[Any] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start_async(self) -> None:
        # Imported by name: hypercorn is optional (the generated package's `web` extra), and the
        # generated code type-checks without it.
        hypercorn_asyncio = importlib.import_module("hypercorn.asyncio")
        config = importlib.import_module("hypercorn.config").Config()
        # hypercorn takes over the socket bound in bind_web_socket (port 0 is resolved, and a
        # port in use failed before the gRPC server started).
        config.bind = [f"fd://{self._sock.detach()}"]
        config.accesslog = None
        config.loglevel = "WARNING"
        config.graceful_timeout = 5.0
        config.include_server_header = False
        self._channel = grpc.aio.insecure_channel(self._target)
        app = WebGateway(self._channel, self._services, self._cors)
        self._stopping = asyncio.Event()
        # A shutdown trigger of our own: the gRPC server's serve() / serve_async() owns the
        # signals, and hypercorn installs no handlers when given one.
        self._task = asyncio.ensure_future(
            hypercorn_asyncio.serve(app, config, shutdown_trigger=self._stopping.wait, mode="asgi")
        )
        for _ in range(3):  # let it start listening, so that a failure shows here
            await asyncio.sleep(0)
        if self._task.done():
            self._task.result()

    async def stop_async(self, grace: float | None = None) -> None:
        if self._stopping is not None and self._task is not None:
            self._stopping.set()
            with contextlib.suppress(TimeoutError):  # wait_for cancelled it then
                await asyncio.wait_for(self._task, grace)
        if self._channel is not None:
            await self._channel.close()

    def start(self) -> None:
        """Start on an event loop in a thread of its own (for the threaded grpc.server)."""
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as error:  # reported to start()'s caller
                failure.append(error)
                ready.set()
                return
            ready.set()
            assert self._task is not None
            with contextlib.suppress(BaseException):
                loop.run_until_complete(self._task)

        self._thread = threading.Thread(target=run, name="protoforge-web", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            loop.close()
            raise failure[0]

    def stop(self, grace: float | None = None) -> None:
        if self._loop is None or self._thread is None:
            return
        if self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(grace)
        if self._thread.is_alive() and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
            self._thread.join()
        if self._channel is not None:
            self._loop.run_until_complete(self._channel.close())
        self._loop.close()


def remove_private_socket(directory: str) -> None:
    shutil.rmtree(directory, ignore_errors=True)
