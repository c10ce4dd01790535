"""Read a `buf.yaml` with PyYAML, keeping the line of every key for error messages.

`yaml.safe_load` gives the data and `yaml.compose` the node tree, whose marks say where each key
and list item starts; `Document.line(path)` answers "which line is `breaking.use`?" so that an
error points at the failing line, not at the first line where a key of that name appears.

buf reads buf.yaml with Go's yaml.v3, which accepts a tab after `key:`; PyYAML does not, so such
tabs are turned into spaces first (same length, so columns stay put). Bytes that are not UTF-8
are an input error with the line where they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_TAB_SEPARATOR = re.compile(r"(?m)^([^#\"'\n]*?:)(\t+)")


class YamlError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Document:
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


def parse(text: str) -> Document:
    import yaml

    text = _TAB_SEPARATOR.sub(lambda m: m.group(1) + " " * len(m.group(2)), text)
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlError(line, str(exc.problem or exc.context or "invalid YAML")) from None
    except yaml.YAMLError as exc:
        raise YamlError(0, str(exc)) from None
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _walk(node, (), lines)
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
