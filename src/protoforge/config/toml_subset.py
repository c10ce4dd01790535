"""A fast path for the TOML that protoforge configurations are made of (protoforge.toml, and the
pyproject.toml that holds a [tool.protoforge] table); tomllib stays the authority.

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
- keys: bare (ASCII letters, digits, `_`, `-`) or quoted, as basic or literal strings (below),
  the empty key `""` included (`"a"` and `a` are the same key); dotted keys of those parts, with
  spaces or tabs around the dots; in headers, in `key = value` and in inline tables;
- table headers `[a.b]` and array-of-tables headers `[[a.b]]` (spaces or tabs inside the
  brackets, none between the two of `[[` or `]]`);
- `key = value`. Which table a header, an array-of-tables header (a new element, which the
  `[a.b]` after it fill), a dotted key or an inline table may declare, extend or add to is
  decided as tomllib decides it, its FROZEN and EXPLICIT_NEST flags mirrored (`_Flags`): a key or
  a table defined twice, a dotted key or header into an inline table or an array, `[a]` after
  `a.b = 1`, `[[a]]` after `a = []` or after `[a]`, ..., are errors for tomllib, None here;
- values: basic strings `"..."` with the escapes \\b \\t \\n \\f \\r \\" \\\\ (not \\u, \\U),
  literal strings `'...'`, decimal integers without leading zeros or underscores (`0`, `-7`,
  `+3`), floats of the form `1.5`, `-0.25` (no exponent, underscore, inf or nan), `true`,
  `false`; arrays of values (nested too), on one line or over several, with comments and blank
  lines between the items and an optional trailing comma; inline tables `{ a = 1, b.c = [] }`,
  nested too, on one line (but for the items of an array in them) and without a trailing comma,
  as tomllib wants them. No multi-line strings, dates or times;
- `\\r\\n` line endings (tomllib turns them into `\\n` first, so does this); a raw control
  character anywhere (a lone `\\r` included; TOML allows none but the tab) is None.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from typing import Any

    Key = tuple[str, ...]

__all__ = ["loads_simple"]

# A frozenset, not a string: `"" in "abc"` is true, and a slice at the end of the text is "".
_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_KEY_INITIAL_CHARS = _BARE_KEY_CHARS | frozenset("\"'")
_DIGITS = frozenset("0123456789")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
# Deeper arrays and inline tables are declined rather than risk a RecursionError; no
# configuration nests them.
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
    """The document, or `_Decline`: tomllib.loads, statement by statement. Every error tomllib
    raises is a `_Decline` here, so the order of the checks does not matter, only that each of
    them is made. A statement is read from its line with str methods (keys and headers are most
    of a short file's characters, and a loop over characters is what would cost the time)."""
    src = text.replace("\r\n", "\n")
    if _has_control_chars(src):
        raise _Decline
    end = len(src)
    document = _Document()
    pos = 0
    while pos < end:
        newline = src.find("\n", pos)
        line = src[pos : end if newline < 0 else newline]
        body = line.lstrip(" \t")
        if not body or body[0] == "#":  # a blank line, a comment
            pos += len(line) + 1
            continue
        start = pos + len(line) - len(body)
        char = body[0]
        if char in _KEY_INITIAL_CHARS:
            after = document.key_value_rule(src, start, end)
        elif char == "[":
            document.finalize_pending()  # before the header's own checks, as tomllib
            if body.startswith("[["):
                after = document.create_list_rule(src, start + 2, end)
            else:
                after = document.create_dict_rule(src, start + 1, end)
        else:
            raise _Decline  # a BOM, `=`, junk
        # The statement ends with its line (the last line of a multi-line array), or a comment
        # (whose characters were checked with the rest).
        newline = src.find("\n", after)
        if newline < 0:
            newline = end
        tail = src[after:newline].lstrip(" \t")
        if tail and tail[0] != "#":
            raise _Decline  # `a = 1 2`, `[a] b`, `[a]]`
        pos = newline + 1
    return document.data


def _has_control_chars(src: str) -> bool:
    """Whether `src` holds a character TOML allows nowhere: U+0000 to U+001F but the tab and the
    newline, and U+007F. tomllib rejects them in comments and strings as well."""
    rest = src.replace("\n", "").replace("\t", "")
    if rest.isprintable():  # the usual case, at C speed
        return False
    # Not printable: a control character, or something TOML allows in strings and comments
    # that str.isprintable() does not (U+00A0, U+2028, ...).
    return any(char < " " or char == "\x7f" for char in rest)


def _skip_spaces(src: str, pos: int, end: int) -> int:
    """Past spaces and tabs (a few at most, between the tokens of a line)."""
    while pos < end and (src[pos] == " " or src[pos] == "\t"):
        pos += 1
    return pos


# --- tables: tomllib's Flags and NestedDict ----------------------------------------------------


class _Flags:
    """tomllib's Flags: a tree with a node per key that has flags, or has a descendant that has.
    They are the flags of a key, not of a table object: a new element of an array of tables
    starts without any (`_unset_all`). tomllib has two flags, each only ever set one way:
    - FROZEN, set recursively, on the key of a value that is an inline table or an array: nothing
      may be added to it nor to anything in it, by a header or a dotted key;
    - EXPLICIT_NEST, set on the key alone, by `[a]` and `[[a]]`, and at the next header on the
      tables a dotted key made: `[a]` may not declare it (again), and it may not be on the way of
      a dotted key (`a.x = 1` in the section above it), though headers of its sub-tables may
      follow (`[a.b]`)."""

    __slots__ = ("explicit", "frozen", "nested")

    def __init__(self) -> None:
        self.explicit = False
        self.frozen = False
        self.nested: dict[str, _Flags] = {}


def _node(flags: _Flags, key: Key) -> _Flags:
    """The node of `key`, created if need be (tomllib's Flags.set)."""
    for name in key:
        child = flags.nested.get(name)
        if child is None:
            child = flags.nested[name] = _Flags()
        flags = child
    return flags


def _is_frozen(flags: _Flags, key: Key) -> bool:
    """`Flags.is_(key, FROZEN)`: FROZEN being recursive, `key` is frozen if a key on its way,
    or itself, is."""
    for name in key:
        child = flags.nested.get(name)
        if child is None:
            return False
        if child.frozen:
            return True
        flags = child
    return False


def _is_explicit(flags: _Flags, key: Key) -> bool:
    """`Flags.is_(key, EXPLICIT_NEST)`: the flag of `key` itself (it is never recursive). The
    root (an empty key) has no flags."""
    for name in key:
        child = flags.nested.get(name)
        if child is None:
            return False
        flags = child
    return flags.explicit


def _unset_all(flags: _Flags, key: Key) -> None:
    """`Flags.unset_all`: the flags of `key` and of everything under it are gone."""
    for name in key[:-1]:
        child = flags.nested.get(name)
        if child is None:
            return
        flags = child
    flags.nested.pop(key[-1], None)


def _get_or_create_nest(table: dict[str, Any], key: Key, access_lists: bool) -> dict[str, Any]:
    """tomllib's NestedDict.get_or_create_nest: the table at `key` under `table`, the tables on
    the way created; through an array of tables, its last element (not in inline tables:
    `access_lists`). A value on the way is tomllib's "Cannot overwrite a value"."""
    for name in key:
        if name not in table:
            table[name] = {}
        child = table[name]
        if access_lists and type(child) is list:
            if not child:  # an empty array is frozen, the callers check that first
                raise _Decline
            child = child[-1]
        if type(child) is not dict:
            raise _Decline
        table = child
    return table


class _Document:
    """What tomllib.loads keeps between statements: the data, the flags (and the flags that the
    dotted keys of the current section will set at the next header), and the current header.
    The rules are tomllib's, check by check."""

    __slots__ = ("data", "flags", "header", "pending", "table")

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.flags = _Flags()
        self.pending: list[Key] = []
        self.header: Key = ()
        # The table of the header, get_or_create_nest(header), which tomllib looks up again at
        # each key: the same object all through the section (keys are only ever added to it).
        self.table = self.data

    def finalize_pending(self) -> None:
        """At a header: the tables made by the dotted keys of the section just ended become
        explicit (`[x]` then `a.b = 1` allows `a.c = 2` below, not `[x.a]` later)."""
        for key in self.pending:
            _node(self.flags, key).explicit = True
        self.pending.clear()

    def create_dict_rule(self, src: str, pos: int, end: int) -> int:
        """`[key]`, `pos` after the `[`: a table that no header declared before (`[key]`,
        `[[key]]`), nor the dotted keys of an earlier section made, that is not frozen (an inline
        table or an array, or in one), nor a value or through one. Its table may exist: one
        made on the way by an earlier header (`[a.b]` then `[a]`)."""
        pos, key = _key(src, _skip_spaces(src, pos, end), end, "]")
        flags = self.flags
        if _is_explicit(flags, key) or _is_frozen(flags, key):
            raise _Decline  # "Cannot declare ... twice"
        _node(flags, key).explicit = True
        table = _get_or_create_nest(self.data, key, access_lists=True)
        if not src.startswith("]", pos):
            raise _Decline
        self.header, self.table = key, table
        return pos + 1

    def create_list_rule(self, src: str, pos: int, end: int) -> int:
        """`[[key]]`, `pos` after the `[[`: a new element of the array of tables at `key`, or a
        new array; the flags under `key` are the last element's, so they start anew ([a.b] may
        follow each [[a]]), but `key` itself stays explicit."""
        pos, key = _key(src, _skip_spaces(src, pos, end), end, "]")
        flags = self.flags
        if _is_frozen(flags, key):
            raise _Decline  # "Cannot mutate immutable namespace": `a = []` then [[a]]
        _unset_all(flags, key)
        _node(flags, key).explicit = True
        parent = _get_or_create_nest(self.data, key[:-1], access_lists=True)
        name = key[-1]
        if name in parent:
            tables = parent[name]
            if type(tables) is not list:
                raise _Decline  # "Cannot overwrite a value": a value or a table, [a] then [[a]]
            tables.append({})
        else:
            tables = parent[name] = [{}]
        if not src.startswith("]]", pos):
            raise _Decline
        self.header, self.table = key, tables[-1]
        return pos + 2

    def key_value_rule(self, src: str, pos: int, end: int) -> int:
        """`key = value` in the current section. A dotted key may not run through a table
        declared by a header, nor through one an earlier section's dotted keys made (pending
        until the next header), nor into a frozen table; the tables it makes become explicit at
        the next header. An inline table or array value is frozen."""
        pos, key, value = _key_value_pair(src, pos, end, 0)
        table = self.table
        if len(key) > 1:
            flags, header = self.flags, self.header
            for length in range(1, len(key)):
                namespace = header + key[:length]
                if _is_explicit(flags, namespace):
                    raise _Decline  # "Cannot redefine namespace"
                self.pending.append(namespace)
            if _is_frozen(flags, header + key[:-1]):
                raise _Decline  # "Cannot mutate immutable namespace"
            # get_or_create_nest(header + key[:-1]) from the root goes through self.table
            table = _get_or_create_nest(table, key[:-1], access_lists=True)
        # A key without dots needs no check of its own but the one below: tomllib's frozen
        # check of the header, made when it was declared, cannot have changed since.
        name = key[-1]
        if name in table:
            raise _Decline  # "Cannot overwrite a value"
        if type(value) is dict or type(value) is list:
            _node(self.flags, self.header + key).frozen = True
        table[name] = value
        return pos


# --- keys ---------------------------------------------------------------------------------------


def _key(src: str, pos: int, end: int, stop: str) -> tuple[int, Key]:
    """tomllib's parse_key: parts joined by dots, spaces or tabs around them; the position
    returned is past the spaces that follow. `stop` is what comes next, `=` or `]`."""
    # The usual key is bare parts, the text up to `stop`: nothing else to scan.
    close = src.find(stop, pos)
    if close > pos:
        bare = _bare_key(src[pos:close])
        if bare is not None:
            return close, bare
    pos, part = _key_part(src, pos, end)
    key: Key = (part,)
    pos = _skip_spaces(src, pos, end)
    while pos < end and src[pos] == ".":
        pos, part = _key_part(src, _skip_spaces(src, pos + 1, end), end)
        key += (part,)
        pos = _skip_spaces(src, pos, end)
    return pos, key


def _bare_key(text: str) -> Key | None:
    """`text` as a key of bare parts (`a`, ` a . b `), or None (a quoted part, a newline, `a b`,
    an empty part: then a character at a time, as tomllib)."""
    if "." not in text:
        name = text.strip(" \t")
        return (name,) if _is_bare_key(name) else None
    key = tuple([name.strip(" \t") for name in text.split(".")])
    for name in key:
        if not _is_bare_key(name):
            return None
    return key


def _is_bare_key(name: str) -> bool:
    """ASCII letters, digits, `_` and `-`, at least one (for ASCII text, isalnum() is letters
    and digits)."""
    if name.isalnum() and name.isascii():
        return True
    rest = name.replace("-", "").replace("_", "")
    return name != "" and name.isascii() and (rest == "" or rest.isalnum())


def _key_part(src: str, pos: int, end: int) -> tuple[int, str]:
    """A bare key (the longest run of its characters, as tomllib takes it), a basic string or a
    literal string. `\"\"\"a\"\"\"` is the key "" followed by junk, for tomllib as for this."""
    char = src[pos : pos + 1]
    if char in _BARE_KEY_CHARS:  # (a key with a quoted part: short, and rare)
        stop = pos + 1
        while stop < end and src[stop] in _BARE_KEY_CHARS:
            stop += 1
        return stop, src[pos:stop]
    if char == '"':
        return _basic_string(src, pos + 1)
    if char == "'":
        return _literal_string(src, pos + 1)
    raise _Decline  # "Invalid initial character for a key part": `=`, `.a`, `[]`, `é`


def _key_value_pair(src: str, pos: int, end: int, depth: int) -> tuple[int, Key, Any]:
    """tomllib's parse_key_value_pair: the key, `=` right after it (and its spaces), then spaces
    and the value."""
    pos, key = _key(src, pos, end, "=")
    if not src.startswith("=", pos):
        raise _Decline
    pos, value = _value(src, _skip_spaces(src, pos + 1, end), end, depth)
    return pos, key, value


# --- values -------------------------------------------------------------------------------------


def _value(src: str, pos: int, end: int, depth: int) -> tuple[int, Any]:
    """The value at `pos` and the position after it. What follows is the caller's to check (the
    end of the statement, `,`/`]` in an array, `,`/`}` in an inline table), as in tomllib:
    `truex` is `true` then junk."""
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
        return _literal_string(src, pos + 1)
    if char == "t" and src.startswith("true", pos):
        return pos + 4, True
    if char == "f" and src.startswith("false", pos):
        return pos + 5, False
    if char == "[":
        return _array(src, pos + 1, end, depth + 1)
    if char == "{":
        return _inline_table(src, pos + 1, end, depth + 1)
    return _number(src, pos, end)


def _basic_string(src: str, pos: int) -> tuple[int, str]:
    """The basic string whose opening quote is before `pos`."""
    parts: list[str] = []
    close = src.find('"', pos)
    while True:
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
        if pos > close:  # that was `\"`: the string ends further on
            close = src.find('"', pos)


def _literal_string(src: str, pos: int) -> tuple[int, str]:
    """The literal string whose opening quote is before `pos`: no escapes, on one line."""
    close = src.find("'", pos)
    if close < 0 or src.find("\n", pos, close) >= 0:
        raise _Decline
    return close + 1, src[pos:close]


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


def _inline_table(src: str, pos: int, end: int, depth: int) -> tuple[int, dict[str, Any]]:
    """The inline table whose `{` is before `pos`: tomllib's parse_inline_table. Only spaces and
    tabs around its keys, `=`, `,` and `}` (so one line, but for the arrays in it, whose items
    may be on lines of their own), and no trailing comma (a key must follow `,`). A dotted key
    makes tables that a later key may extend, unlike a key whose value is an inline table or an
    array (frozen), and no key is set twice."""
    if depth > _MAX_DEPTH:
        raise _Decline
    table: dict[str, Any] = {}
    pos = _skip_spaces(src, pos, end)
    if src.startswith("}", pos):
        return pos + 1, table
    frozen = _Flags()  # the table's own flags, FROZEN only
    while True:
        pos, key, value = _key_value_pair(src, pos, end, depth)
        if _is_frozen(frozen, key):
            raise _Decline  # "Cannot mutate immutable namespace"
        nest = _get_or_create_nest(table, key[:-1], access_lists=False)
        if key[-1] in nest:
            raise _Decline  # "Duplicate inline table key"
        nest[key[-1]] = value
        pos = _skip_spaces(src, pos, end)
        char = src[pos : pos + 1]
        if char == "}":
            return pos + 1, table
        if char != ",":
            raise _Decline  # "Unclosed inline table": a newline, the end, junk
        if type(value) is dict or type(value) is list:
            _node(frozen, key).frozen = True
        pos = _skip_spaces(src, pos + 1, end)


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
