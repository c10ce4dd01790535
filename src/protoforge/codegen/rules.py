"""Which messages carry protovalidate rules, read from the descriptors alone.

A message carries rules when its options hold `(buf.validate.message)` (message rules, CEL
included), one of its oneofs holds `(buf.validate.oneof)`, one of its fields holds
`(buf.validate.field)`, or a message-typed field (singular, repeated or a map's value) refers to
a message that carries rules. The servers of methods whose input carries none get no validation
code at all.

The options are read from their wire form: protoc keeps every extension it does not generate
code for as bytes, and gen never imports `buf.validate.validate_pb2` (which may not even be
installed where gen runs), so the extension field number (1159 on MessageOptions, OneofOptions
and FieldOptions, validate.proto) is looked for in those bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from protoforge.source.descriptors import file_messages
from protoforge.wire import fields

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import DescriptorProto, FileDescriptorProto

VALIDATE_PROTO = "buf/validate/validate.proto"
RULES_EXTENSION = 1159  # buf.validate.message / .oneof / .field
_TYPE_MESSAGE = 11  # FieldDescriptorProto.TYPE_MESSAGE


def messages_with_rules(files: Iterable[FileDescriptorProto]) -> frozenset[str]:
    """Full names (`.pkg.Msg`, as method input types spell them) of every message that carries
    rules, itself or through its message-typed fields, transitively (cycles included)."""
    by_name: dict[str, DescriptorProto] = {}
    own: set[str] = set()
    for proto_file in files:
        for full_name, _, message in file_messages(proto_file):
            key = f".{full_name}"
            by_name[key] = message
            if _has_own_rules(message):
                own.add(key)
    if not own:
        return frozenset()
    # Who refers to whom through message-typed fields; rules flow from referee to referrer.
    referrers: dict[str, set[str]] = {}
    for key, message in by_name.items():
        for field in message.field:
            if field.type == _TYPE_MESSAGE:
                referrers.setdefault(field.type_name, set()).add(key)
    found = set(own)
    pending = list(own)
    while pending:
        for referrer in referrers.get(pending.pop(), ()):
            if referrer not in found:
                found.add(referrer)
                pending.append(referrer)
    return frozenset(found)


def _has_own_rules(message: DescriptorProto) -> bool:
    if _has_field(message.options.SerializeToString(), RULES_EXTENSION):
        return True
    if any(_has_field(o.options.SerializeToString(), RULES_EXTENSION) for o in message.oneof_decl):
        return True
    return any(_has_field(f.options.SerializeToString(), RULES_EXTENSION) for f in message.field)


def _has_field(data: bytes, number: int) -> bool:
    """Whether the serialized message `data` holds field `number` (a wire-format scan; a group,
    which options protoc writes never hold, stops it rather than being misread)."""
    try:
        return any(found == number for found, _, _ in fields(data))
    except (ValueError, IndexError):
        return False
