"""A fast path for the small TOML that protoforge configurations are made of; tomllib stays the
authority.

`protoforge check-breaking` on a small tree is a race against the buf binary (~150 ms in all),
and with an empty user cache, importing tomllib to read a protoforge.toml of a few lines costs
~15 ms: tomllib imports typing, datetime and string, and compiles its regular expressions at
import. This module imports nothing (`from __future__` and the `TYPE_CHECKING` idiom only), uses
only `str` methods, and parses the subset of TOML that such files use.

The contract: `loads_simple(text)` is exactly `tomllib.loads(text)` (the same dict, the same
types), or None when the text is outside that subset. It never returns anything else and never
raises: anything it is not sure of is None, and the caller then hands the text to tomllib, whose
answer (or error message, for text that is not TOML) is the one that counts.

The subset, everything else being None:
- blank lines, `#` comments on their own line or after a statement;
- table headers `[a]`, `[a.b.c]` of bare keys (ASCII letters, digits, `_`, `-`), with spaces or
  tabs around the names and dots; a table declared twice, or one whose path runs through a
  value that is not a table, is None (tomllib raises);
- `key = value` with a bare key (no dotted nor quoted keys), not already in its table;
- values: basic strings `"..."` with the escapes \\b \\t \\n \\f \\r \\" \\\\ (not \\u, \\U),
  literal strings `'...'`, decimal integers without leading zeros or underscores (`0`, `-7`,
  `+3`), floats of the form `1.5`, `-0.25` (no exponent, underscore, inf or nan), `true`,
  `false`, and arrays of values (nested too), on one line or over several, with comments and
  blank lines between the items and an optional trailing comma. No multi-line strings, inline
  tables, arrays of tables, dates or times.
- `\\r\\n` line endings (tomllib turns them into `\\n` first, so does this); a raw control
  character anywhere (a lone `\\r` included; TOML allows none but the tab) is None.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["loads_simple"]

# A frozenset, not a string: `"" in "abc"` is true, and a slice at the end of the text is "".
_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DIGITS = frozenset("0123456789")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
# Deeper arrays are declined rather than risk a RecursionError; no configuration nests them.
_MAX_DEPTH = 16
# int() refuses more than 4300 digits (sys.int_info.str_digits_check_threshold), where tomllib
# raises ValueError; no configuration has numbers that long.
_MAX_NUMBER = 100


class _Decline(Exception):
    """The text is outside the subset (or is not TOML): tomllib must read it."""


def loads_simple(text: str) -> dict[str, Any] | None:
    """`tomllib.loads(text)`, or None when `text` is outside the subset this module parses (see
    the module's docstring). Never raises."""
    try:
        return _parse(text)
    except Exception:  # _Decline, or a bug here: either way tomllib reads the file
        return None


def _parse(text: str) -> dict[str, Any]:
    """The document, or `_Decline`. Follows tomllib.loads statement by statement; a statement
    is read from its line with str methods (the keys and headers of a short file are most of
    its characters, and a loop over characters is what would cost the time)."""
    src = text.replace("\r\n", "\n")
    if _has_control_chars(src):
        raise _Decline
    end = len(src)
    root: dict[str, Any] = {}
    table = root
    declared: set[tuple[str, ...]] = set()  # the tables opened by a header
    pos = 0
    while pos < end:
        newline = src.find("\n", pos)
        line = src[pos : end if newline < 0 else newline]
        body = line.lstrip(" \t")
        if not body or body[0] == "#":  # a blank line, a comment
            pos += len(line) + 1
            continue
        start = pos + len(line) - len(body)
        if body[0] == "[":
            close = body.find("]")
            if close < 0:
                raise _Decline
            table = _open_table(body[1:close], root, declared)
            after = start + close + 1
        elif body[0] in _BARE_KEY_CHARS:
            equals = body.find("=")
            if equals < 0:
                raise _Decline  # a key without a value
            key = body[:equals].rstrip(" \t")
            if not _is_bare_key(key):
                raise _Decline  # a dotted or quoted key, `a b`, or `=` on a later line
            if key in table:  # a duplicate key, or a key naming a table opened by [table.key]
                raise _Decline
            rest = body[equals + 1 :]
            at = start + equals + 1 + len(rest) - len(rest.lstrip(" \t"))
            after, value = _value(src, at, end, 0)
            table[key] = value
        else:
            raise _Decline  # a quoted key, a BOM, junk
        # The statement ends with its line (a multi-line array's last line), or a comment.
        newline = src.find("\n", after)
        if newline < 0:
            newline = end
        tail = src[after:newline].lstrip(" \t")
        if tail and tail[0] != "#":
            raise _Decline  # `a = 1 2`, `[a] b`, `[a]]`
        pos = newline + 1
    return root


def _has_control_chars(src: str) -> bool:
    """Whether `src` holds a character TOML allows nowhere: U+0000 to U+001F but the tab and the
    newline, and U+007F. tomllib rejects them in comments and strings as well."""
    rest = src.replace("\n", "").replace("\t", "")
    if rest.isprintable():  # the usual case, at C speed
        return False
    # Not printable: a control character, or something TOML allows in strings and comments
    # that str.isprintable() does not (U+00A0, U+2028, ...).
    return any(char < " " or char == "\x7f" for char in rest)


def _is_bare_key(name: str) -> bool:
    """ASCII letters, digits, `_` and `-`, at least one (for ASCII text, isalnum() is letters
    and digits)."""
    if name.isalnum() and name.isascii():
        return True
    rest = name.replace("-", "").replace("_", "")
    return name != "" and name.isascii() and (rest == "" or rest.isalnum())


def _open_table(
    inside: str, root: dict[str, Any], declared: set[tuple[str, ...]]
) -> dict[str, Any]:
    """The table of the header `[inside]`: bare keys joined by dots, spaces or tabs around each
    (tomllib's parse_key). `[[array of tables]]` is declined here: `[a` is not a key."""
    names = [name.strip(" \t") for name in inside.split(".")]
    if not all(_is_bare_key(name) for name in names):
        raise _Decline
    key = tuple(names)
    if key in declared:  # tomllib: "Cannot declare ... twice"
        raise _Decline
    declared.add(key)
    # Tables on the way are created as tomllib does ([a.b] opens a, which [a] may still declare);
    # a value on the way (`b = 1` and then [b.c], an array) is tomllib's "Cannot overwrite".
    table = root
    for name in names:
        child = table.setdefault(name, {})
        if type(child) is not dict:
            raise _Decline
        table = child
    return table


def _value(src: str, pos: int, end: int, depth: int) -> tuple[int, Any]:
    """The value at `pos` and the position after it. What follows is the caller's to check (the
    end of the statement, or `,`/`]` in an array), as in tomllib: `truex` is `true` then junk."""
    if pos == end:
        raise _Decline
    char = src[pos]
    if char == '"':
        if src.startswith('"""', pos):
            raise _Decline
        return _basic_string(src, pos + 1)
    if char == "'":
        if src.startswith("'''", pos):
            raise _Decline
        close = src.find("'", pos + 1)
        if close < 0 or "\n" in src[pos + 1 : close]:
            raise _Decline
        return close + 1, src[pos + 1 : close]
    if char == "t" and src.startswith("true", pos):
        return pos + 4, True
    if char == "f" and src.startswith("false", pos):
        return pos + 5, False
    if char == "[":
        return _array(src, pos + 1, end, depth + 1)
    return _number(src, pos, end)


def _basic_string(src: str, pos: int) -> tuple[int, str]:
    """The basic string whose opening quote is before `pos`."""
    parts: list[str] = []
    while True:
        close = src.find('"', pos)
        if close < 0:
            raise _Decline
        backslash = src.find("\\", pos, close)
        chunk = src[pos : close if backslash < 0 else backslash]
        if "\n" in chunk:  # the string does not end on its line
            raise _Decline
        parts.append(chunk)
        if backslash < 0:
            return close + 1, "".join(parts)
        escaped = _ESCAPES.get(src[backslash + 1 : backslash + 2])
        if escaped is None:  # \u, \U, or what TOML does not allow
            raise _Decline
        parts.append(escaped)
        pos = backslash + 2


def _array(src: str, pos: int, end: int, depth: int) -> tuple[int, list[Any]]:
    """The array whose `[` is before `pos`: tomllib's parse_array."""
    if depth > _MAX_DEPTH:
        raise _Decline
    items: list[Any] = []
    pos = _skip_array_ws(src, pos, end)
    if pos < end and src[pos] == "]":
        return pos + 1, items
    while True:
        pos, item = _value(src, pos, end, depth)
        items.append(item)
        pos = _skip_array_ws(src, pos, end)
        if pos == end:
            raise _Decline
        if src[pos] == "]":
            return pos + 1, items
        if src[pos] != ",":
            raise _Decline
        pos = _skip_array_ws(src, pos + 1, end)
        if pos < end and src[pos] == "]":
            return pos + 1, items


def _skip_array_ws(src: str, pos: int, end: int) -> int:
    """Past spaces, tabs, newlines and comments, between the items of an array."""
    while pos < end:
        char = src[pos]
        if char == " " or char == "\t" or char == "\n":
            pos += 1
        elif char == "#":
            newline = src.find("\n", pos)
            pos = end if newline < 0 else newline
        else:
            break
    return pos


def _number(src: str, pos: int, end: int) -> tuple[int, int | float]:
    """`[+-]?(0|[1-9][0-9]*)(\\.[0-9]+)?`, a part of the language of tomllib's RE_NUMBER that the
    regular expression, being greedy, matches to the same end; tomllib converts the matched text
    with int() or float(), so does this. Whatever stops the scan must then be the end of the
    value (checked by the caller) or the text is declined: `1_000`, `1e3`, `0x1f`, `01`, `1.`,
    and dates and times (`1979-05-27`, `07:32:00`), which tomllib tries before numbers."""
    start = pos
    if pos < end and (src[pos] == "+" or src[pos] == "-"):
        pos += 1
    digits = pos
    while pos < end and src[pos] in _DIGITS:
        pos += 1
    if pos == digits or (src[digits] == "0" and pos - digits > 1):
        raise _Decline  # no digits (inf, nan, a stray character), or a leading zero
    is_float = pos < end and src[pos] == "."
    if is_float:
        pos += 1
        fraction = pos
        while pos < end and src[pos] in _DIGITS:
            pos += 1
        if pos == fraction:
            raise _Decline
    if pos - start > _MAX_NUMBER:
        raise _Decline
    text = src[start:pos]
    return pos, float(text) if is_float else int(text)
