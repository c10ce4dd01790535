"""Read the simple YAML of a typical buf.yaml without importing PyYAML.

Importing PyYAML costs about 30 ms, which is on `protoforge check-breaking`'s critical path (a
small tree's whole check races buf's ~150 ms). `parse_simple` reads the subset of YAML that
buf.yaml files actually use; PyYAML stays the authority for everything else.

The contract: `parse_simple(text)` is either exactly `(yaml.safe_load(text), lines)`, with `lines`
what `bufyaml._walk` makes of `yaml.compose(text)` (key path -> 1-based line), or None: the text
is outside the subset, or in doubt, and PyYAML decides. It never gives a different value and never
raises. An earlier hand-written subset refused valid files; this one only ever declines.

The subset: block mappings and block sequences (including `- key: value` items and a sequence at
its key's indentation), one-line flow sequences of scalars, `key:` with nothing (None), comments,
a leading `---`, CRLF line ends. Scalars: quoted strings without escapes (`''` in single quotes),
plain strings that start with a letter, `_`, `/` or `.` (not a number), the YAML 1.1 booleans
and nulls of PyYAML's resolver (`yes`, `Off`, `~`, `NULL`...). Keys are strings. Everything else
(numbers, tabs, anchors, tags, block scalars, flow mappings, multi-line scalars, duplicate keys,
non-ASCII outside comments) is declined.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Any

    KeyPath = tuple[str | int, ...]
    Lines = dict[KeyPath, int]  # key path -> 1-based line
    Token = tuple[int, int, Any]  # kind, column, value
    Rows = list[tuple[int, list[Token]]]  # (line number, tokens) of each line with content

# PyYAML's bool resolver (YAML 1.1, tried on plain scalars that start with one of yYnNtTfFoO)
# and SafeConstructor's values; the null resolver (~, n, N).
_BOOLS = {
    spelling: value
    for word, value in (
        ("yes", True),
        ("no", False),
        ("true", True),
        ("false", False),
        ("on", True),
        ("off", False),
    )
    for spelling in (word, word.capitalize(), word.upper())
}
_NULLS = frozenset(("~", "null", "Null", "NULL"))
_FLOATS = frozenset((".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"))

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
# The first character of a plain scalar: no resolver is keyed on `_` or `/`, the float resolver
# on `.`, bool and null on some letters (see _resolve); digits, `+` and `-` (numbers, dates)
# and YAML's indicators decline.
_FIRST = frozenset(_LETTERS + "_/.~")
# The rest of a plain scalar, in a block (`#` only right after a non-space, `:` only before a
# non-space) and in a flow sequence (where `,[]{}?:#` end or break it).
_BLOCK_BODY = frozenset(_LETTERS + _DIGITS + "_./-+@=~,()#*!?%&$^;:")
_FLOW_BODY = frozenset(_LETTERS + _DIGITS + "_./-+@=~()$^%;")
_MAX_KEY = 1000  # PyYAML refuses a simple key longer than 1024 characters

_DASH = 0  # a block sequence entry, `- `
_KEY = 1  # `key:`
_VALUE = 2  # a scalar or a flow sequence


class _Decline(Exception):
    pass


def parse_simple(text: str) -> tuple[Any, dict[tuple[str | int, ...], int]] | None:
    """`(yaml.safe_load(text), lines)` when `text` is in the subset, else None (never raises)."""
    try:
        return _parse(text)
    except Exception:  # _Decline, or a doubt of any other kind: PyYAML decides
        return None


def _parse(text: str) -> tuple[Any, Lines]:
    if "\r" in text:
        text = text.replace("\r\n", "\n")  # one line break for PyYAML's marks too
        if "\r" in text:
            raise _Decline
    rows: Rows = []
    started = False
    for number, line in enumerate(text.split("\n"), 1):
        # Python's printable characters are printable in YAML and break no line: a tab, a
        # control character, "\x85", "\u2028" or a BOM declines.
        if not line.isprintable():
            raise _Decline
        if line.startswith(("---", "...")):
            if started or line[0] == "." or line[3:4] not in ("", " ") or _end(line, 3) != -1:
                raise _Decline  # a second document, an end marker, content after `---`
            started = True  # `---` before any content: the explicit start of the one document
            continue
        tokens = _tokens(line)
        if tokens:
            started = True
            rows.append((number, tokens))
    lines: Lines = {}
    if not rows:
        return None, lines
    if rows[0][1][0][0] == _VALUE:
        raise _Decline  # a document that is a scalar
    data, end = _node(rows, 0, 0, (), lines)
    if end != len(rows):
        raise _Decline
    return data, lines


def _node(rows: Rows, i: int, j: int, path: KeyPath, lines: Lines) -> tuple[Any, int]:
    """The node that starts at token `j` of row `i`, and the index of the row after it."""
    kind, column, value = rows[i][1][j]
    if kind == _DASH:
        return _sequence(rows, i, j, column, path, lines)
    if kind == _KEY:
        return _mapping(rows, i, j, column, path, lines)
    _items(value, path, rows[i][0], lines)
    return value, i + 1


def _items(value: Any, path: KeyPath, number: int, lines: Lines) -> None:
    """The lines of a flow sequence's items: all on the line of the sequence."""
    if isinstance(value, list):
        for index in range(len(value)):
            lines.setdefault((*path, index), number)


def _nested(rows: Rows, i: int, column: int) -> bool:
    """Whether row `i` starts a block deeper than `column` (a mapping or a sequence)."""
    if i == len(rows):
        return False
    kind, first, _ = rows[i][1][0]
    if first <= column:
        return False
    if kind == _VALUE:
        raise _Decline  # a scalar on a line of its own, maybe the rest of a multi-line one
    return True


def _sequence(
    rows: Rows, i: int, j: int, column: int, path: KeyPath, lines: Lines
) -> tuple[list[Any], int]:
    """The block sequence whose entries are at `column`, the first one at token `j` of row `i`."""
    items: list[Any] = []
    while True:
        number, tokens = rows[i]
        child = (*path, len(items))
        if j + 1 < len(tokens):  # `- item`
            lines.setdefault(child, number)
            item, i = _node(rows, i, j + 1, child, lines)
        elif _nested(rows, i + 1, column):  # the item starts on the next line
            lines.setdefault(child, rows[i + 1][0])
            item, i = _node(rows, i + 1, 0, child, lines)
        else:  # `-` alone: None, at the line of the dash
            lines.setdefault(child, number)
            item, i = None, i + 1
        items.append(item)
        if i == len(rows):
            return items, i
        kind, first, _ = rows[i][1][0]
        if first > column:
            raise _Decline
        if first < column or kind != _DASH:
            return items, i  # the parent's (a key at `column`: this was the sequence of a key)
        j = 0


def _mapping(
    rows: Rows, i: int, j: int, column: int, path: KeyPath, lines: Lines
) -> tuple[dict[str, Any], int]:
    """The block mapping whose keys are at `column`, the first one at token `j` of row `i`."""
    mapping: dict[str, Any] = {}
    while True:
        number, tokens = rows[i]
        key = tokens[j][2]
        if key in mapping:
            raise _Decline  # PyYAML keeps the last value, the lines would keep the first key
        child = (*path, key)
        lines.setdefault(child, number)
        if j + 1 < len(tokens):  # `key: value`
            value, i = tokens[j + 1][2], i + 1
            _items(value, child, number, lines)
        elif _nested(rows, i + 1, column):
            value, i = _node(rows, i + 1, 0, child, lines)
        elif i + 1 < len(rows) and rows[i + 1][1][0][:2] == (_DASH, column):
            value, i = _sequence(rows, i + 1, 0, column, child, lines)  # at the key's column
        else:  # `key:` alone
            value, i = None, i + 1
        mapping[key] = value
        if i == len(rows):
            return mapping, i
        kind, first, _ = rows[i][1][0]
        if first > column or (first == column and kind != _KEY):
            raise _Decline
        if first < column:
            return mapping, i
        j = 0


def _tokens(line: str) -> list[Token]:
    """The tokens of a line: `- ` entries, then a key and its value, or a value; none for a
    blank line or a comment."""
    n = len(line)
    p = _spaces(line, 0)
    tokens: list[Token] = []
    while p < n and line[p] == "-" and (p + 1 == n or line[p + 1] == " "):
        tokens.append((_DASH, p, None))
        p = _spaces(line, p + 1)
    if p == n or line[p] == "#":  # at the start of the line or after a space
        return tokens
    start = p
    value, p = _item(line, p, flow=False)
    if p < n and line[p] == ":" and (p + 1 == n or line[p + 1] == " "):
        if not isinstance(value, str) or p - start > _MAX_KEY:
            raise _Decline  # a key that is not a string (`yes:`, `[a]:`), or too long
        tokens.append((_KEY, start, value))
        p = _spaces(line, p + 1)
        if p == n or line[p] == "#":
            return tokens
        start = p
        value, p = _item(line, p, flow=False)
    if _end(line, p) != -1:
        raise _Decline  # anything else after the value: `a: b: c`, `'a' b`, `[a]: b`
    tokens.append((_VALUE, start, value))
    return tokens


def _item(line: str, p: int, *, flow: bool) -> tuple[Any, int]:
    """The scalar (or, outside a flow, the flow sequence) at `p`, and where it ends."""
    ch = line[p]
    if ch == "'":
        chunks = []
        q = p + 1
        while True:
            e = line.find("'", q)
            if e < 0:
                raise _Decline  # unterminated or multi-line
            chunks.append(line[q:e])
            if line[e + 1 : e + 2] != "'":
                break
            chunks.append("'")
            q = e + 2
        q = e + 1
        text = "".join(chunks)
    elif ch == '"':
        e = line.find('"', p + 1)
        text = line[p + 1 : e]
        if e < 0 or "\\" in text:
            raise _Decline  # unterminated, multi-line, or escapes
        q = e + 1
    elif ch == "[" and not flow:
        return _flow(line, p)
    elif ch in _FIRST:
        q = _plain_flow(line, p) if flow else _plain_block(line, p)
        return _resolve(line[p:q].rstrip(" ")), q
    else:
        raise _Decline
    if not text.isascii():
        raise _Decline
    return text, q


def _plain_block(line: str, p: int) -> int:
    """The end of the plain scalar at `p` in a block: a space before a comment or the end of
    the line, or `:` before a space or the end of the line."""
    n = len(line)
    q = p + 1
    while q < n:
        ch = line[q]
        if ch == " ":
            r = _spaces(line, q)
            if r == n or line[r] == "#":
                return q
            q = r
        elif ch == ":" and (q + 1 == n or line[q + 1] == " "):
            if line[q - 1] == " ":
                raise _Decline  # `a : b`
            return q
        elif ch in _BLOCK_BODY:
            q += 1
        else:
            raise _Decline
    return q


def _plain_flow(line: str, p: int) -> int:
    n = len(line)
    q = p + 1
    while q < n and (line[q] in _FLOW_BODY or line[q] == " "):
        q += 1
    return q


def _flow(line: str, p: int) -> tuple[list[Any], int]:
    """A flow sequence of scalars, on one line: `[a, 'b', "c"]`."""
    n = len(line)
    items: list[Any] = []
    q = _spaces(line, p + 1)
    if q < n and line[q] == "]":
        return items, q + 1
    while q < n:
        item, q = _item(line, q, flow=True)
        items.append(item)
        q = _spaces(line, q)
        if q < n and line[q] == ",":
            q = _spaces(line, q + 1)
            if q < n and line[q] == "]":
                return items, q + 1  # PyYAML takes a trailing comma
        elif q < n and line[q] == "]":
            return items, q + 1
        else:
            break
    raise _Decline  # unterminated (maybe multi-line), or something else than `,` or `]`


def _resolve(text: str) -> Any:
    """A plain scalar's value, as PyYAML's implicit resolvers and SafeConstructor make it."""
    first = text[0]
    if first in "yYnNtTfFoO" and text in _BOOLS:
        return _BOOLS[text]
    if text in _NULLS:
        return None
    if first == "~" or (first == "." and (text[1:2].isdigit() or text in _FLOATS)):
        raise _Decline  # `.5`, `.inf`, `~x`
    return text


def _spaces(line: str, p: int) -> int:
    n = len(line)
    while p < n and line[p] == " ":
        p += 1
    return p


def _end(line: str, p: int) -> int:
    """-1 if only spaces and maybe a comment follow `p`, else where something else starts."""
    q = _spaces(line, p)
    if q == len(line) or (line[q] == "#" and q > p):
        return -1
    return q
