"""config/toml_subset.py: `loads_simple(text)` is `tomllib.loads(text)` or None, never anything
else, and never raises. Checked against tomllib itself: on the repository's config files, on
hand-written corner cases, and on a few thousand seeded random documents made of fragments in
and out of the subset. Also checked: the fast path is taken for ordinary configurations (a
parser that always said None would pass the rest), and the module imports nothing."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from protoforge.config import toml_subset
from protoforge.config.toml_subset import loads_simple

REPO = Path(__file__).resolve().parents[2]


def same(a: Any, b: Any) -> bool:
    """Equal with equal types all the way down: `1 == 1.0 == True` in Python, and -0.0 == 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return repr(a) == repr(b)
    return bool(a == b)


def fast(text: str) -> dict[str, Any] | None:
    """toml_subset's answer without loads_simple's safety net: a bug that raises fails the test
    instead of passing as a decline."""
    try:
        return toml_subset._parse(text)
    except toml_subset._Decline:
        return None


def reference(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except ValueError:  # TOMLDecodeError, and int()'s digit limit
        return None


def check(text: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The fast answer and tomllib's, after asserting the contract between them."""
    got, expected = fast(text), reference(text)
    if expected is None:
        assert got is None, f"tomllib rejects {text!r}, the fast path gave {got!r}"
    else:
        assert got is None or same(got, expected), f"{text!r}: {got!r} != {expected!r}"
    public = loads_simple(text)
    assert public is got if got is None else same(public, got)
    return got, expected


# --- the repository's own files -----------------------------------------------------------------


def config_files() -> list[Path]:
    found = [
        path
        for top in ("examples", "tests")
        for name in ("protoforge.toml", "pyproject.toml")
        for path in (REPO / top).rglob(name)
    ]
    return sorted(found)


def readme_blocks() -> list[str]:
    """The ```toml blocks of README.md and docs/: what users copy into their configs."""
    blocks = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for part in text.split("```toml\n")[1:]:
            blocks.append(part.split("```", 1)[0])
    return blocks


def test_the_repository_config_files() -> None:
    files = config_files()
    assert len(files) >= 10, files
    for path in files:
        check(path.read_text(encoding="utf-8"))
    check((REPO / "pyproject.toml").read_text(encoding="utf-8"))  # declined: [[overrides]]
    for path in files:
        if path.name == "protoforge.toml":  # all of them are plain configurations
            assert fast(path.read_text(encoding="utf-8")) is not None, path


def test_the_documented_examples() -> None:
    blocks = readme_blocks()
    assert blocks
    for block in blocks:
        got, _ = check(block)
        assert got is not None, block


# --- the fast path is taken ---------------------------------------------------------------------

TYPICAL = [
    'proto_roots = ["proto"]\nout = "gen"\n',
    'proto_roots = ["proto"]\nout = "gen"',  # no final newline
    '# protoforge configuration\nproto_roots = ["proto", "contracts"]\nout = "gen"  # committed\n'
    'package = "acme_api"  # prefix\njobs = 4\n',
    'proto_roots = ["proto"]\nout = "gen"\n\n[client]\ntimeout = 1.5\n\n[client.retry]\n'
    "max_attempts = 4\ninitial_backoff = 0.25\nmax_backoff = 2.0\nbackoff_multiplier = 1.5\n"
    'retryable_status_codes = ["UNAVAILABLE", "DEADLINE_EXCEEDED"]\n',
    'proto_roots = ["proto"]\nout = "gen"\n\n[targets.docs]\nplugin = "protoc-gen-doc"\n'
    'out = "docs/gen"\noptions = ["markdown,api.md"]\n\n[targets.es]\nout = "web/src/gen"\n'
    'options = ["target=ts"]\n',
    'proto_roots = ["proto"]\nout = "gen"\nexclude = [\n    "vendor/*",  # third party\n\n'
    '    # generated elsewhere\n    "legacy/**/*.proto",\n]\n',
    '[project]\nname = "svc"\nversion = "1.0.0"\ndependencies = [\n    "grpcio>=1.72",\n'
    '    "protobuf",\n]\n\n[tool.protoforge]\nproto_roots = ["proto"]\nout = "gen"\n'
    "dependency_roots = ['third_party']\ntemplates_dir = 'templates'\n",
    'proto_roots = ["proto"]\r\nout = "gen"\r\n[client]\r\ntimeout = 10\r\n',
    'proto_roots = [ "proto" ]\nout="gen"\njobs\t=\t0\n[ client ]\ntimeout = 3 # seconds\n',
    'proto_roots = ["proto"]\nout = "C:\\\\work\\\\gen"\nname = "say \\"hi\\"\\n"\n',
    "proto_roots = ['proto']\nout = 'gen # not a comment'\nimpl_out = \"impl#1\"  # a comment\n",
    '[tool.protoforge]\nproto_roots = ["proto"]\nout = "gen"\n[tool.protoforge.client.retry]\n'
    "max_attempts = 2\n",
    "",
    "\n\n# only comments\n   \n\t# indented\n",
]


@pytest.mark.parametrize("text", TYPICAL)
def test_typical_configurations_take_the_fast_path(text: str) -> None:
    got, expected = check(text)
    assert expected is not None
    assert got is not None, f"declined: {text!r}"


def test_the_fast_path_sees_what_tomllib_sees() -> None:
    text = TYPICAL[3]
    assert loads_simple(text) == {
        "proto_roots": ["proto"],
        "out": "gen",
        "client": {
            "timeout": 1.5,
            "retry": {
                "max_attempts": 4,
                "initial_backoff": 0.25,
                "max_backoff": 2.0,
                "backoff_multiplier": 1.5,
                "retryable_status_codes": ["UNAVAILABLE", "DEADLINE_EXCEEDED"],
            },
        },
    }


# --- corner cases -------------------------------------------------------------------------------

# Valid TOML that the fast path must parse (and get right).
ACCEPTED = [
    "a = 1",
    "a = 0\nb = -0\nc = +0\nd = -7\ne = +3\nf = 1234567890123456789012345678901234567890",
    "a = 1.5\nb = -0.25\nc = 10.0\nd = +0.5\ne = -0.0\nf = 0.0\ng = 3.14159265358979323846264",
    "a = 1.0\nb = 1\nc = true",  # float, int, bool: same() tells them apart
    "a = true\nb = false\nc = [true, false]",
    'a = ""\nb = \'\'\nc = " "',
    'a = "# not a comment"\nb = \'# nor this\'\nc = "x" # but this\nd = "x"#this too',
    'a = "\\b\\t\\n\\f\\r\\"\\\\"',
    'a = "\\\\"\nb = "\\\\\\""\nc = "x\\\\"',
    "a = 'C:\\path\\no\\escapes'",
    "a = \"tab\there\"\nb = 'tab\tthere'\n# tab\tin comment",
    'a = "é ü 中文 \u00a0 \u2028 \U0001f600"\n# comment é \u2028 \x85',
    "a\t=\t1\t\n  b  =  2  \n\t[t]\t\n",
    'a=1\nb=[1,2]\n[c]\nd="x"',
    "a = [1, 2, 3]\nb = []\nc = [ ]\nd = [\n]\ne = [1,]\nf = [\n  1,\n  2,\n]",
    "a = [ # comment\n  1, # one\n  # alone\n\n  2 # two\n  , 3\n  # before ]\n]",
    "a = [[1, 2], [], [[3]], ['x', \"y\"]]",
    'a = [1, "mixed", 1.5, true, [false]]',
    "a = [1]#c\nb = [\n#c\n]",
    "[a]\n[b]\n[c]",
    "[a.b.c]\nx = 1\n[a]\ny = 2\n[a.b]\nz = 3",
    "[a.b]\n[a]\n[a.c]",
    "[ a . b ]\n[\ta\t.\tc\t]\n[a.d]   # comment",
    "[a]\nb = 1\n[c.b]\nb = 2",  # the same key in different tables
    "1 = 2\ntrue = false\n-_- = 'face'\nA-Z_0 = 0",  # bare keys made of digits, true, dashes
    "a = 1\n[x]\na = 1",
    "a = 1\r\nb = [\r\n 1, # c\r\n]\r\n",
    "a = 1\n\n\n",
    "\n\n\na = 1",
    "# comment\n",
    "#",
    "#\n#\n",
    "a = 1 #",
]

# Valid TOML outside the subset: the fast path must decline it (tomllib parses it).
DECLINED = [
    "a.b = 1",
    "a . b = 1",
    '"a" = 1',
    "'a' = 1",
    '"" = 1',
    "[[a]]\nx = 1",
    '["a"]',
    "[a.'b']",
    "a = {}",
    "a = {b = 1}",
    "a = [{b = 1}]",
    'a = """x"""',
    "a = '''x'''",
    'a = """\nx"""',
    'a = "\\u00e9"',
    'a = "\\U0001F600"',
    "a = 1_000",
    "a = 1e3",
    "a = 1E3",
    "a = 1.5e-3",
    "a = 1.5_0",
    "a = 0x1f",
    "a = 0o17",
    "a = 0b101",
    "a = inf",
    "a = +inf",
    "a = -inf",
    "a = nan",
    "a = +nan",
    "a = 1979-05-27",
    "a = 1979-05-27T07:32:00Z",
    "a = 1979-05-27 07:32:00",
    "a = 07:32:00",
    "a = 12:00:00",
    "a = " + "[" * 40 + "]" * 40,  # deeper than the fast path goes
    "a = 1\n[b]\nc = 2\n[[d]]",
]

# Not TOML: tomllib raises, so the fast path must decline (tomllib's message is the one shown).
ERROR = [
    "a",
    "a =",
    "a = ",
    "a =\nb = 1",
    "= 1",
    "a = 1 2",
    "a = 1,",
    "a = 1]",
    "a = 1 # ok\nb = 2 3",
    'a = "x" "y"',
    "a = 'x'y",
    "a = truex",
    "a = truefalse",
    "a = True",
    "a = TRUE",
    "a = falsey",
    "a = 1\na = 2",
    "a = 1\na = 1",
    "a = [1]\na = [1]",
    "[a]\n[a]",
    "[a]\nx = 1\n[a]",
    "[a.b]\n[a.b]",
    "[ a . b ]\n[a.b]",
    "a = 1\n[a]",
    "a = 'x'\n[a.b]",
    "a = [1]\n[a]",
    "a = []\n[a]",
    "a = [1]\n[a.b]",
    "[a]\nb = 1\n[a.b]",
    "[a]\nb = 1\n[a.b.c]",
    "[a.b]\n[a]\nb = 1",
    "[x]\n[a.b]\nc = 1\n[a]\nb = 2",
    "[]",
    "[ ]",
    "[a.]",
    "[.a]",
    "[a..b]",
    "[a",
    "[a]x",
    "[a] b = 1",
    "[a b]",
    "[é]",
    "[a]]",
    "a = 01",
    "a = 00",
    "a = -01",
    "a = 1.",
    "a = .5",
    "a = -.5",
    "a = 1.5.3",
    "a = 1..5",
    "a = --1",
    "a = +-1",
    "a = - 1",
    "a = +",
    "a = -",
    "a = 1__0",
    "a = 1_",
    "a = 1e",
    "a = 0x",
    "a = 1979-13-01",
    'a = "unterminated',
    "a = 'unterminated",
    'a = "line\nbreak"',
    "a = 'line\nbreak'",
    'a = "\\x41"',
    'a = "\\q"',
    'a = "\\ "',
    'a = "\\',
    'a = "x\\"',
    'a = "\\u12"',
    'a = "\\uD800"',
    "a = [",
    "a = [1",
    "a = [1,",
    "a = [1 2]",
    "a = [,]",
    "a = [1,,2]",
    "a = [,1]",
    "a = [1]]",
    "a = ]",
    "a = [1]\n]",
    "a = {",
    "a = 1\r",
    "a = 1\rb = 2",
    "a = 'x\ry'",
    "# comment\r",
    "a = 1\n\r\n\r",
    "a = 1\x00",
    "a = 'x\x00'",
    'a = "x\x7f"',
    "# \x7f",
    "# \x01",
    "a = 1 # \x1b[31m",
    "a = 'x\x0cy'",
    'a = "x\x1f"',
    "# \x1f",
    "a = 'x\x08'",
    "a = 1\x0c",
    "\x0ca = 1",
    "\x0ba = 1",
    "\ufeffa = 1",  # tomllib does not skip a byte-order mark
    "\ufeff",
    "\u00a0a = 1",
    "a\u00a0= 1",
    "a =\u00a01",
    "a = 1\u00a0",
    "a = 1\u2028b = 2",
    "a = 1\x85b = 2",
    "é = 1",
    "a b = 1",
    "a = = 1",
    "junk",
    "]",
    "=",
    ",",
    "a = 1 2\n" + "b = 1\n" * 3,
    # tomllib raises ValueError (int() reads 4300 digits at most), not TOMLDecodeError
    "a = " + "9" * 5000,
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted(text: str) -> None:
    got, expected = check(text)
    assert expected is not None, "not TOML after all"
    assert got is not None, "declined"


@pytest.mark.parametrize("text", DECLINED)
def test_declined(text: str) -> None:
    got, expected = check(text)
    assert expected is not None, "not TOML after all"
    assert got is None


@pytest.mark.parametrize("text", ERROR)
def test_not_toml(text: str) -> None:
    got, expected = check(text)
    assert expected is None, "tomllib parses it"
    assert got is None


def test_never_raises() -> None:
    # tomllib raises RecursionError for the first two, ValueError for the third
    deep = ["a = " + "[" * 5000 + "]" * 5000, "a = " + "[" * 5000, "a = " + "9" * 5000]
    for text in deep:
        assert fast(text) is None
        assert loads_simple(text) is None
    assert loads_simple(None) is None  # type: ignore[arg-type]
    assert loads_simple(b"a = 1") is None  # type: ignore[arg-type]


# --- random documents ---------------------------------------------------------------------------

GOOD_KEYS = ["a", "b", "out", "proto_roots", "x-y", "_k", "1", "true", "A9"]
BAD_KEYS = ['"q"', "'l'", "a.b", "a . b", '"a".b', "", "é", "a b", "a=", "[a]", "#"]
GOOD_SCALARS = [
    "0", "42", "-7", "+3", "-0", "+0", "1234567890",
    "1.5", "-0.25", "10.0", "+0.5", "-0.0", "0.0", "0.1",
    "true", "false",
    '"x"', '"a # b"', '"[t]"', "'lit # x'", '""', "''", '"é ü"', '"tab\there"', "'a\"b'",
    '"esc \\" \\\\ \\n \\t \\b \\f \\r"', '"\\\\"', "'\\'", '"x = 1"', '"]"', "','",
]  # fmt: skip
BAD_SCALARS = [
    "1_000", "1e3", "1E-2", "1.5e3", "0x1f", "0o7", "0b1", "inf", "nan", "-inf", "+nan",
    "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", '"""ml"""', "'''ml'''", "{a = 1}", "{}",
    '"\\u00e9"', '"\\U0001F600"',
    "01", "00", "1.", ".5", "1.5.3", "--1", "- 1", "+", "-", "1__0", "1_", '"\\x"', '"\\q"',
    '"unterminated', "'unterminated", "truex", "True", "[1 2]", "[,]", "[1,,2]", "[", "", "1 2",
    '"a" "b"', "1,", "1]", "[1]]", '"\\"', "'a''b'", '"a"b',
]  # fmt: skip
GOOD_HEADERS = ["a", "b", "a.b", "client", "client.retry", "out", " a . b ", "\tx\t", "t.1.-"]
BAD_HEADERS = ["[a]", '"q"', "a.", ".a", "", " ", "a b", "a..b", "'l'"]
COMMENTS = ["# c", "#", '# "q" [x] = 1', "#\ttab", "# é", "## ", "#]"]
SPACES = ["", " ", "\t", "  ", " \t "]
# What TOML allows nowhere (the first eight), and what it allows only in strings and comments
CONTROL = [
    "\x00", "\x08", "\x1f", "\x7f", "\r", "\x0c", "\x0b", "\x1b",
    "\ufeff", "\u00a0", "\u2028", "\x85",
]  # fmt: skip


class Generator:
    """Documents of up to eight statements. A clean one is made of fragments inside the subset
    only (tomllib may still reject it: a duplicate key, a table declared twice, a table over a
    value); otherwise each fragment is out of the subset or not TOML at times, junk follows a
    statement at times, and a control character or a non-ASCII space lands anywhere."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, good: list[str], bad: list[str], clean: bool) -> str:
        if clean or self.rng.random() < 0.85:
            return self.rng.choice(good)
        return self.rng.choice(bad)

    def value(self, clean: bool, depth: int = 0) -> str:
        if depth < 3 and self.rng.random() < 0.25:
            return self.array(clean, depth + 1)
        return self.pick(GOOD_SCALARS, BAD_SCALARS, clean)

    def array(self, clean: bool, depth: int) -> str:
        rng = self.rng
        items = [self.value(clean, depth) for _ in range(rng.choice([0, 1, 1, 2, 3, 5]))]
        multiline = rng.random() < 0.4
        parts = ["["]
        for index, item in enumerate(items):
            if multiline:
                parts.append(rng.choice(["\n", "\n  ", "\n\n\t", " # c\n ", "\n# alone\n"]))
            parts.append(rng.choice(SPACES[:3]) + item + rng.choice(SPACES[:3]))
            if index < len(items) - 1 or rng.random() < 0.3:
                parts.append(",")
        if multiline:
            parts.append(rng.choice(["\n", " # end\n", ""]))
        parts.append("]")
        return "".join(parts)

    def statement(self, clean: bool) -> str:
        rng = self.rng
        kind = rng.random()
        if kind < 0.6:
            key = self.pick(GOOD_KEYS, BAD_KEYS, clean)
            line = key + rng.choice(SPACES) + "=" + rng.choice(SPACES) + self.value(clean)
        elif kind < 0.8:
            name = self.pick(GOOD_HEADERS, BAD_HEADERS, clean)
            line = "[" + name + "]"
        elif kind < 0.9:
            return rng.choice(SPACES) + rng.choice(COMMENTS)
        else:
            return rng.choice(SPACES)
        if rng.random() < 0.3:
            line += rng.choice(SPACES) + rng.choice(COMMENTS)
        if not clean and rng.random() < 0.05:
            line += rng.choice([" junk", " 2", ",", "]", " =", "x"])
        return rng.choice(["", " ", "\t"]) + line

    def document(self, clean: bool) -> str:
        rng = self.rng
        lines = [self.statement(clean) for _ in range(rng.randint(0, 8))]
        newline = "\r\n" if rng.random() < 0.2 else "\n"
        text = newline.join(lines) + (newline if rng.random() < 0.7 else "")
        if not clean and rng.random() < 0.1:
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(CONTROL) + text[at:]
        return text

    def mutate(self, text: str) -> str:
        """One character inserted, deleted or replaced: near-misses of valid documents."""
        rng = self.rng
        at = rng.randint(0, len(text))
        alphabet = " \t\n\r#\"'[]=,.\\-+_0123456789abefxtrlsu{}\x00é"
        action = rng.random()
        if action < 0.4 or not text:
            return text[:at] + rng.choice(alphabet) + text[at:]
        at = min(at, len(text) - 1)
        if action < 0.7:
            return text[:at] + text[at + 1 :]
        return text[:at] + rng.choice(alphabet) + text[at + 1 :]


def test_random_documents() -> None:
    generator = Generator(seed=20240612)
    clean_valid = valid = accepted = 0
    for _ in range(2500):
        clean = generator.rng.random() < 0.5
        text = generator.document(clean)
        got, expected = check(text)
        if expected is not None:
            valid += 1
            accepted += got is not None
            if clean:
                clean_valid += 1
                # a clean document that tomllib accepts is in the subset by construction
                assert got is not None, f"declined: {text!r}"
        for _ in range(2):
            check(generator.mutate(text))
    # enough of each kind for the comparison to mean something (measured: 879 clean documents
    # that tomllib accepts, 562 others, 92% of the 1441 accepted by the fast path)
    assert clean_valid > 500, clean_valid
    assert valid - clean_valid > 100, (valid, clean_valid)
    assert accepted / valid > 0.8, (accepted, valid)


def test_random_documents_are_varied() -> None:
    """The generator produces what it claims: CRLF, arrays over lines, redefined tables,
    duplicate keys; tomllib rejects a fair share (so the None side is exercised)."""
    generator = Generator(seed=7)
    texts = [generator.document(clean=generator.rng.random() < 0.5) for _ in range(500)]
    rejected = sum(reference(text) is None for text in texts)
    assert 0.2 < rejected / len(texts) < 0.8, rejected
    assert any("\r\n" in text for text in texts)
    assert any("[\n" in text for text in texts)
    messages = set()
    for text in texts:
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            messages.add(str(exc).split(" (at ")[0].split(" ('")[0].split(" (")[0])
    for kind in ["Cannot overwrite a value", "Unclosed array", "Invalid value"]:
        assert kind in messages, sorted(messages)
    assert any(message.startswith("Cannot declare") for message in messages), sorted(messages)


# --- imports ------------------------------------------------------------------------------------

NEW_MODULES = """
import sys
before = set(sys.modules)
{imports}
data = loads_simple('a = [1, "x"]\\n[b.c]\\nd = 1.5 # c\\n')
assert data == {{"a": [1, "x"], "b": {{"c": {{"d": 1.5}}}}}}, data
print(" ".join(sorted(set(sys.modules) - before)))
"""


def new_modules(imports: str, path: Path) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(path)}
    completed = subprocess.run(
        [sys.executable, "-c", NEW_MODULES.format(imports=imports)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return set(completed.stdout.split())


def test_the_module_imports_nothing() -> None:
    """On its own (the file as a top-level module, without the protoforge.config package,
    whose load.py imports re and pathlib), the module adds nothing to sys.modules but itself
    and __future__ (which the rest of protoforge imports anyway): no re, no typing, no
    tomllib, and parsing imports nothing either."""
    directory = Path(toml_subset.__file__).parent
    added = new_modules("from toml_subset import loads_simple", directory)
    assert added <= {"toml_subset", "__future__"}, added


def test_importing_it_through_the_package_does_not_load_typing_or_tomllib() -> None:
    source = Path(toml_subset.__file__).parents[2]
    added = new_modules("from protoforge.config.toml_subset import loads_simple", source)
    assert "protoforge.config.toml_subset" in added
    assert not added & {"typing", "tomllib", "datetime", "string"}, added
