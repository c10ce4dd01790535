"""What the fast path reads from a contract's text without compiling it: its package and
imports (a small scanner: comments and strings stripped), and its git blob id. The scanner is
checked against the real descriptors of every file compiled (`scanner_agrees`); a disagreement
makes the fast path fall back to the full check."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto

# comments and string literals, in one pass, so that a `//` inside a string is not a comment
_TOKENS = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'", re.S)

_PACKAGE = re.compile(r"(?:^|[;}\s])package\s+([A-Za-z_][\w.]*)\s*;")

_IMPORT = re.compile(r"(?:^|[;}\s])import\s+(?:(public|weak)\s+)?(\"[^\"\n]*\"|'[^'\n]*')\s*;")

_STRING_MARK = "\0S"


class Scan(NamedTuple):
    """What the scanner reads from a contract's text."""

    package: str
    imports: tuple[str, ...]
    public: tuple[str, ...]


def scan(data: bytes) -> Scan:
    text = data.decode("utf-8", "replace")
    strings: list[str] = []

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token[0] in "\"'":
            strings.append(token[1:-1])
            return f'"{_STRING_MARK}{len(strings) - 1}"'
        return " "

    code = _TOKENS.sub(replace, text)
    package = _PACKAGE.search(code)
    imports: list[str] = []
    public: list[str] = []
    for match in _IMPORT.finditer(code):
        literal = match.group(2)[1:-1]
        name = strings[int(literal[2:])] if literal.startswith(_STRING_MARK) else literal
        imports.append(name)
        if match.group(1) == "public":
            public.append(name)
    return Scan(package.group(1) if package else "", tuple(imports), tuple(public))


def blob_id(data: bytes) -> str:
    """git's object id of a blob with these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def scanner_agrees(files: Mapping[str, FileDescriptorProto], scans: Mapping[str, Scan]) -> bool:
    for name, proto_file in files.items():
        scanned = scans.get(name)
        if scanned is None:
            continue  # not a contract of this side
        if proto_file.package != scanned.package:
            return False
        if list(proto_file.dependency) != list(scanned.imports):
            return False
    return True
