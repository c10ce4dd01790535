"""A reader for the small subset of YAML that `buf.yaml` files use.

protoforge has no YAML dependency, and a buf.yaml is a handful of nested mappings, block or flow
lists of scalars and comments. This reader handles exactly that (block mappings and sequences,
flow `[...]` / `{...}` collections, plain and quoted scalars, `#` comments) and rejects anything
else (anchors, aliases, tags, multi-line scalars, several documents) with the line number, instead
of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class YamlSubsetError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class _Line:
    number: int
    indent: int
    text: str


def loads(text: str) -> Any:
    lines = _lines(text)
    if not lines:
        return None
    value, index = _block(lines, 0, lines[0].indent)
    if index < len(lines):
        raise YamlSubsetError(lines[index].number, "unexpected indentation")
    return value


def _strip_comment(raw: str) -> str:
    quote: str | None = None
    for position, char in enumerate(raw):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or raw[position - 1] in " \t"):
            return raw[:position].rstrip()
    return raw.rstrip()


def _lines(text: str) -> list[_Line]:
    result: list[_Line] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlSubsetError(number, "tabs are not allowed in YAML indentation")
        stripped = _strip_comment(raw)
        if not stripped.strip():
            continue
        if stripped.strip() in ("---", "..."):
            if result:
                raise YamlSubsetError(number, "only one YAML document is supported")
            continue
        content = stripped.lstrip(" ")
        if content[0] in "&*!|>":
            raise YamlSubsetError(
                number, f"YAML feature {content[0]!r} is not supported in buf.yaml by protoforge"
            )
        result.append(_Line(number, len(stripped) - len(content), content))
    return result


def _is_item(text: str) -> bool:
    return text == "-" or text.startswith("- ")


def _block(lines: list[_Line], index: int, indent: int) -> tuple[Any, int]:
    if _is_item(lines[index].text):
        return _sequence(lines, index, indent)
    return _mapping(lines, index, indent)


def _sequence(lines: list[_Line], index: int, indent: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    while index < len(lines) and lines[index].indent == indent and _is_item(lines[index].text):
        line = lines[index]
        rest = line.text[1:].lstrip(" ")
        if not rest:
            if index + 1 < len(lines) and lines[index + 1].indent > indent:
                value, index = _block(lines, index + 1, lines[index + 1].indent)
            else:
                value, index = None, index + 1
            items.append(value)
            continue
        column = indent + (len(line.text) - len(rest))
        if _split_key(rest, line.number) is not None and rest[0] not in "[{":
            # `- key: value` starts a mapping whose keys sit at the item's column.
            lines = [*lines[:index], _Line(line.number, column, rest), *lines[index + 1 :]]
            value, index = _mapping(lines, index, column)
        else:
            value, index = _flow_or_scalar(rest, line.number), index + 1
        items.append(value)
    return items, index


def _mapping(lines: list[_Line], index: int, indent: int) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    while index < len(lines) and lines[index].indent == indent:
        line = lines[index]
        if _is_item(line.text):
            raise YamlSubsetError(line.number, "a list item where a key was expected")
        split = _split_key(line.text, line.number)
        if split is None:
            raise YamlSubsetError(line.number, f"expected `key: value`, got {line.text!r}")
        key, rest = split
        if key in result:
            raise YamlSubsetError(line.number, f"duplicate key {key!r}")
        index += 1
        if rest:
            result[key] = _flow_or_scalar(rest, line.number)
        elif index < len(lines) and (
            lines[index].indent > indent
            or (lines[index].indent == indent and _is_item(lines[index].text))
        ):
            result[key], index = _block(lines, index, lines[index].indent)
        else:
            result[key] = None
    if index < len(lines) and lines[index].indent > indent:
        raise YamlSubsetError(lines[index].number, "unexpected indentation")
    return result, index


def _split_key(text: str, number: int) -> tuple[str, str] | None:
    if text[0] in "'\"":
        end = text.find(text[0], 1)
        if end < 0:
            raise YamlSubsetError(number, "unterminated quoted string")
        after = text[end + 1 :]
        if after == ":" or after.startswith(": "):
            return text[1:end], after[1:].strip()
        return None
    if text[0] in "[{":
        return None
    for position, char in enumerate(text):
        if char == ":" and (position + 1 == len(text) or text[position + 1] == " "):
            return text[:position].strip(), text[position + 1 :].strip()
    return None


def _flow_or_scalar(text: str, number: int) -> Any:
    if text[0] in "&*!|>":
        raise YamlSubsetError(
            number, f"YAML feature {text[0]!r} is not supported in buf.yaml by protoforge"
        )
    if text[0] in "[{":
        value, end = _flow(text, 0, number)
        if text[end:].strip():
            raise YamlSubsetError(
                number, f"unexpected text after a flow collection: {text[end:]!r}"
            )
        return value
    return _scalar(text, number)


def _flow(text: str, position: int, number: int) -> tuple[Any, int]:
    opening = text[position]
    closing = "]" if opening == "[" else "}"
    items: list[Any] = []
    mapping: dict[str, Any] = {}
    position += 1
    while True:
        while position < len(text) and text[position] == " ":
            position += 1
        if position >= len(text):
            raise YamlSubsetError(number, f"unterminated flow collection (missing {closing!r})")
        if text[position] == closing:
            return (items if opening == "[" else mapping), position + 1
        if text[position] in "[{":
            value, position = _flow(text, position, number)
            key = None
        else:
            start = position
            quote: str | None = None
            while position < len(text):
                char = text[position]
                if quote:
                    if char == quote:
                        quote = None
                elif char in "'\"":
                    quote = char
                elif char in ",]}" or (char == ":" and opening == "{"):
                    break
                position += 1
            token = text[start:position].strip()
            key = None
            if opening == "{" and position < len(text) and text[position] == ":":
                key = str(_scalar(token, number))
                position += 1
                while position < len(text) and text[position] == " ":
                    position += 1
                if position < len(text) and text[position] in "[{":
                    value, position = _flow(text, position, number)
                else:
                    start = position
                    while position < len(text) and text[position] not in ",}":
                        position += 1
                    value = _scalar(text[start:position].strip(), number)
            else:
                value = _scalar(token, number)
        if opening == "[":
            items.append(value)
        else:
            if key is None:
                raise YamlSubsetError(number, "expected `key: value` inside `{...}`")
            mapping[key] = value
        while position < len(text) and text[position] == " ":
            position += 1
        if position < len(text) and text[position] == ",":
            position += 1


def _scalar(text: str, number: int) -> Any:
    if not text:
        return None
    if text[0] in "'\"":
        if len(text) < 2 or text[-1] != text[0]:
            raise YamlSubsetError(number, "unterminated quoted string")
        inner = text[1:-1]
        return inner.replace("''", "'") if text[0] == "'" else inner.replace('\\"', '"')
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("null", "~"):
        return None
    return text
