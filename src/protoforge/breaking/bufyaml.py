"""Read a `buf.yaml` with PyYAML, keeping the line of every key for error messages.

`yaml.safe_load` gives the data and `yaml.compose` the node tree, whose marks say where each key
and list item starts; `Document.line(path)` answers "which line is `breaking.use`?" so that an
error points at the failing line, not at the first line where a key of that name appears.

buf reads buf.yaml with Go's yaml.v3, which accepts a tab after `key:`; PyYAML does not, so such
tabs are turned into spaces first (same length, so columns stay put). Bytes that are not UTF-8
are an input error with the line where they are.

Importing PyYAML costs about 30 ms (its reader compiles a large character-class regex at import),
a fifth of a check-breaking run on a small tree, for a file that rarely changes. So PyYAML is
the last resort: the simple YAML most buf.yaml files are is read by yaml_subset (PyYAML's
answer, data and lines, without its import); anything else is remembered once parsed, in this
process (a run reads the same buf.yaml for the layout and for the rules) and in the user's cache
directory (cachedir), keyed by the text itself: an entry is used only if its text is exactly the
text being parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from typing import Any

_TAB_SEPARATOR = re.compile(r"(?m)^([^#\"'\n]*?:)(\t+)")


class YamlError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Document:
    """A parsed buf.yaml: its data and the line of every key and list item."""

    data: Any
    lines: dict[tuple[str | int, ...], int]  # key path -> 1-based line

    def line(self, *path: str | int) -> int:
        """The line of `path`, else of its nearest parent that has one (0: unknown)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 0


def decode(data: bytes) -> str:
    """UTF-8 text (a BOM is dropped); YamlError with the line of the first invalid byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlError(line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x})") from None
    return text.removeprefix("\ufeff")


_parsed: dict[str, Document] = {}  # this process's documents by text


def parse(text: str) -> Document:
    """The document `text` holds; YamlError with the line of the first problem."""
    document = _parsed.get(text)
    if document is None:
        document = _parsed[text] = _simple(text) or _from_cache(text) or _parse_with_pyyaml(text)
    return document


def _simple(text: str) -> Document | None:
    from protoforge.breaking.yaml_subset import parse_simple

    parsed = parse_simple(text)
    return Document(*parsed) if parsed is not None else None


def _cache_name(text: str) -> str:
    import zlib

    return f"{zlib.crc32(text.encode()):08x}-{len(text)}"


def _from_cache(text: str) -> Document | None:
    from protoforge.cachedir import load_value

    match load_value("buf-yaml", _cache_name(text)):
        case (str(cached_text), data, dict(lines)) if cached_text == text:
            return Document(data, lines)
    return None


def _parse_with_pyyaml(text: str) -> Document:
    import yaml

    from protoforge.cachedir import store_value

    readable = _TAB_SEPARATOR.sub(lambda m: m.group(1) + " " * len(m.group(2)), text)
    try:
        data = yaml.safe_load(readable)
        node = yaml.compose(readable, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlError(line, str(exc.problem or exc.context or "invalid YAML")) from None
    except yaml.YAMLError as exc:
        raise YamlError(0, str(exc)) from None
    except ValueError as exc:  # a timestamp that is no date (2001-02-30): PyYAML's own error
        raise YamlError(0, f"invalid value: {exc}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise YamlError(0, "collections nested too deeply") from None
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _walk(node, (), lines)
    # not stored if marshal cannot write the data (a YAML timestamp): parsed anew next time
    store_value("buf-yaml", _cache_name(text), (text, data, lines))
    return Document(data, lines)


def _walk(node: Any, path: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            lines.setdefault(child, key.start_mark.line + 1)
            _walk(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines.setdefault(child, item.start_mark.line + 1)
            _walk(item, child, lines)
