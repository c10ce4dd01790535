"""config/toml_subset.py: `loads_simple(text)` is `tomllib.loads(text)` or None, never anything
else, and never raises. Checked against tomllib itself: on the repository's config files, on
realistic pyproject.toml files and single-character mutations of them, on hand-written corner
cases (tomllib's rules for tables, dotted keys, inline tables and arrays of tables one by one),
on tomllib's own test data when the stdlib's test package is installed, and on a few thousand
seeded random documents made of fragments in and out of the subset. Also checked: the fast path
is taken for ordinary configurations and pyproject files (a parser that always said None would
pass the rest), and the module imports nothing."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import sysconfig
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
    for path in [*files, REPO / "pyproject.toml"]:  # all of them are in the subset
        assert fast(path.read_text(encoding="utf-8")) is not None, path
    got, _ = check((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert got is not None and got["tool"]["mypy"]["overrides"], "[[tool.mypy.overrides]]"


def test_tomllib_own_test_data() -> None:
    """The documents tomllib is tested with, valid and not, where the stdlib's test package is
    installed (not everywhere: Debian's python3 leaves it out)."""
    data = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_tomllib" / "data"
    files = sorted(data.rglob("*.toml"))
    if not files:
        pytest.skip(f"no {data}")
    accepted = 0
    for path in files:
        try:
            text = path.read_bytes().decode()
        except UnicodeDecodeError:  # tomllib.load's error, not loads'
            continue
        got, _ = check(text)
        accepted += got is not None
    assert accepted, "every file declined"


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


# --- pyproject.toml files -----------------------------------------------------------------------

# What projects that keep their configuration in [tool.protoforge] have around it: the packaging
# tools' and the linters' tables, which use inline tables, arrays of tables, dotted and quoted
# keys. Each must take the fast path.
PYPROJECTS = {
    "hatchling": """\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "acme-api"
version = "1.4.0"
readme = "README.md"
license = { text = "Apache-2.0" }
authors = [{ name = "Acme", email = "api@acme.test" }]
requires-python = ">=3.11"
dependencies = ["grpcio>=1.60", "protobuf>=4.25"]

[project.optional-dependencies]
dev = ["pytest>=8", "mypy>=1.11"]

[project.scripts]
acme = "acme.cli:main"

[tool.protoforge]
proto_roots = ["proto"]
out = "gen"

[tool.ruff]
line-length = 100
lint.select = ["E", "F"]

[tool.ruff.lint.per-file-ignores]
"tests/*" = ["S101"]

[[tool.mypy.overrides]]
module = "gen.*"
ignore_errors = true

[tool.pytest.ini_options]
addopts = "-q"
""",
    "poetry": """\
[tool.poetry]
name = "acme-api"
version = "0.3.0"
description = "Acme's gRPC API"
authors = ["Acme <api@acme.test>"]
readme = "README.md"
packages = [{ include = "acme", from = "src" }]

[tool.poetry.dependencies]
python = "^3.11"
grpcio = { version = ">=1.60", optional = true }
protobuf = "^4.25"
acme-common = { path = "../common", develop = true }

[tool.poetry.group.dev.dependencies]
pytest = "^8.0"
mypy = { version = "^1.11", extras = ["reports"] }

[tool.poetry.extras]
grpc = ["grpcio"]

[tool.poetry.scripts]
acme = "acme.cli:main"

[tool.protoforge]
proto_roots = ["proto"]
out = "src/acme/gen"

[build-system]
requires = ["poetry-core>=1.0.0"]
build-backend = "poetry.core.masonry.api"
""",
    "hatch": """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "acme-contracts"
dynamic = ["version"]
description = "Contracts of the Acme services"
license = "MIT"
authors = [
  { name = "Acme API team", email = "api@acme.test" },
  { name = "Jane Doe" },
]
classifiers = [
  "Programming Language :: Python :: 3",
  "Programming Language :: Python :: 3.11",
]
dependencies = [
  "grpcio>=1.60",
]

[project.urls]
Homepage = "https://acme.test"
"Bug Tracker" = "https://acme.test/issues"

[tool.hatch.version]
path = "src/acme/__about__.py"

[tool.hatch.envs.default]
dependencies = ["pytest", "pytest-cov"]

[tool.hatch.envs.default.scripts]
test = "pytest {args:tests}"
cov = ["test-cov", "cov-report"]

[[tool.hatch.envs.all.matrix]]
python = ["3.11", "3.12"]

[tool.hatch.build.targets.wheel]
packages = ["src/acme"]

[tool.protoforge]
proto_roots = ["proto"]
out = "src/acme/gen"
package = "acme.gen"

[tool.protoforge.client]
timeout = 5.0

[tool.coverage.run]
source_pkgs = ["acme", "tests"]
branch = true
omit = ["src/acme/__about__.py"]

[tool.coverage.report]
exclude_lines = ["no cov", "if __name__ == .__main__.:", "if TYPE_CHECKING:"]
""",
    "setuptools": """\
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "acme_api"
version = "2.0.0"
requires-python = ">=3.11"
license = {file = "LICENSE"}
keywords = ["grpc", "protobuf"]
dependencies = [
    "grpcio>=1.60",
    "protobuf>=4.25,<6",
    'importlib-metadata; python_version<"3.12"',
]

[project.optional-dependencies]
test = ["pytest>=8", "pytest-xdist"]

[project.entry-points."acme.plugins"]
json = "acme.plugins:JsonPlugin"

[tool.setuptools]
include-package-data = true
zip-safe = false

[tool.setuptools.packages.find]
where = ["src"]
include = ["acme*"]
exclude = ["acme.tests*"]

[tool.setuptools.package-data]
"acme.gen" = ["*.pyi", "py.typed"]

[tool.setuptools.dynamic]
readme = {file = ["README.md"], content-type = "text/markdown"}

[tool.protoforge]
proto_roots = ["proto", "third_party/googleapis"]
out = "src/acme/gen"
exclude = ["third_party/**/internal/*.proto"]

[tool.mypy]
strict = true
python_version = "3.11"

[[tool.mypy.overrides]]
module = "acme.gen.*"
ignore_errors = true

[[tool.mypy.overrides]]
module = ["grpc.*", "grpc_tools.*"]
ignore_missing_imports = true

[tool.black]
line-length = 100
target-version = ['py311']
extend-exclude = '^/src/acme/gen/'
""",
    "uv workspace": """\
[project]
name = "acme"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["acme-common", "grpcio>=1.60"]

[dependency-groups]
dev = ["pytest>=8", { include-group = "lint" }]
lint = ["ruff>=0.6"]

[tool.uv]
package = true

[tool.uv.sources]
acme-common = { workspace = true }
torch = [
  { index = "pytorch-cpu", marker = "sys_platform != 'darwin'" },
]

[tool.uv.workspace]
members = ["packages/*"]

[[tool.uv.index]]
name = "pytorch-cpu"
url = "https://download.pytorch.org/whl/cpu"
explicit = true

[tool.ruff]
src = ["src", "tests"]
lint.select = ["E", "F", "I", "UP"]
lint.ignore = ["E501"]
lint.isort.known-first-party = ["acme"]
format.quote-style = "double"

[tool.ruff.lint.per-file-ignores]
"__init__.py" = ["F401"]
"tests/**" = ["S101", "D"]
'gen/*.py' = ["ALL"]

[tool.protoforge]
proto_roots = ["proto"]
out = "gen"
targets.docs = { plugin = "protoc-gen-doc", out = "docs/gen", options = ["markdown,api.md"] }

[tool.pytest.ini_options]
addopts = ["-q", "--strict-markers"]
markers = [
    "slow: long tests",  # run with -m slow
]
""",
    "flit, CRLF": """\
[build-system]
requires = ["flit_core >=3.2,<4"]
build-backend = "flit_core.buildapi"

[project]
name = "acme"
authors = [{name = "Acme", email = "a@acme.test"}]
dynamic = ["version", "description"]

[project.urls]
Home = "https://acme.test"

[tool.protoforge]
proto_roots = ["proto"]
out = "gen"
""".replace("\n", "\r\n"),
}


@pytest.mark.parametrize("name", PYPROJECTS)
def test_pyproject_files_take_the_fast_path(name: str) -> None:
    got, expected = check(PYPROJECTS[name])
    assert expected is not None
    assert got is not None, "declined"
    assert type(got["tool"]["protoforge"]["proto_roots"]) is list


def test_the_fast_path_sees_what_tomllib_sees_in_a_pyproject() -> None:
    data = loads_simple(PYPROJECTS["hatchling"])
    assert data is not None
    assert data["project"]["license"] == {"text": "Apache-2.0"}
    assert data["project"]["authors"] == [{"name": "Acme", "email": "api@acme.test"}]
    assert data["tool"]["ruff"] == {
        "line-length": 100,
        "lint": {"select": ["E", "F"], "per-file-ignores": {"tests/*": ["S101"]}},
    }
    assert data["tool"]["mypy"] == {"overrides": [{"module": "gen.*", "ignore_errors": True}]}
    setuptools = loads_simple(PYPROJECTS["setuptools"])
    assert setuptools is not None
    modules = [override["module"] for override in setuptools["tool"]["mypy"]["overrides"]]
    assert modules == ["acme.gen.*", ["grpc.*", "grpc_tools.*"]]  # [[tool.mypy.overrides]] twice


def test_mutated_pyproject_files() -> None:
    """Single-character near-misses of the files above (a brace, a bracket, a quote, a dot, a
    newline that lands in an inline table, ...): tomllib's answer or None."""
    generator = Generator(seed=31)
    valid = accepted = 0
    for text in PYPROJECTS.values():
        for _ in range(80):
            got, expected = check(generator.mutate(text))
            valid += expected is not None
            accepted += got is not None
    # measured: 68% of the mutants are still TOML, all of them in the subset
    assert 0.4 < valid / (80 * len(PYPROJECTS)) < 0.9, valid
    assert accepted / valid > 0.9, (accepted, valid)


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
    # quoted keys: basic strings (the escapes of values), literal strings, the empty key
    '"a" = 1\n\'b\' = 2\n"" = 3\n"a b" = 4\n"a.b" = 5\n"=" = 6\n"#" = 7\n"[x]" = 8\n"é 中" = 9',
    "'' = 1",
    '"\\t\\n\\"\\\\" = 1\n\'C:\\path\' = 2\n"\'" = 3\n\'"\' = 4',
    "'a' = 1\n[x]\n\"a\" = 1",  # the same key in different tables
    # dotted keys: tables made on the way, extended by the keys after them in the section
    "a.b = 1",
    "a . b = 1\nc\t.\td\t=\t2",
    "a.b = 1\na.c = 2\na.d.e = 3\na.d.f = [4]",
    'a."b.c".\'d\' = 1\n"".""."" = 2\n"a".e = 3',
    "1.2 = 3\ntrue.false = 4\n-.- = 5",  # not a float, not booleans: bare keys
    "a.b = 1\n[c]\na.b = 2",
    "[x]\na.b = 1\na.c = 2",
    # headers of quoted keys
    '["a"]\n[\'b\']\n[""]\n["a".c]\n[a."c d"]\n[ "e" . \'f\' ]',
    '["a.b"]\nx = 1',
    '[a]\nx = 1\n["b"]\n"x" = 2',
    # inline tables
    "a = {}\nb = { }\nc = {\t}",
    "a = {b = 1}\nb = {b=1,c='x'}\nc = { d = true , e = 1.5 }",
    'a = { b = 1, "c d" = [1, {e = {}}], f.g = true, \'h\' = "i" }',
    "a = {b.c = 1, b.d = 2, b.e.f = [3]}",
    "a = {b = {c = {d = 1}}}",
    "a = [{}, {b = 1}, {c = [{}]}]",
    "a = {b = [\n  1,  # one\n\n  2,\n]}",  # newlines and comments inside an array, still
    "a = {b = 1} # c\nb = {a = 1}#c",
    "a = {\"\" = 1, 'x' = 2}",
    "[t]\na = {b = 1}\n[t.c]\nd = {e = {f = 1}}",
    "a.b = {c = 1}\na.d = {}",
    # arrays of tables
    "[[a]]",
    "[[a]]\n[[a]]\n[[a]]",
    "[[a]]\nx = 1\n[[a]]\nx = 2",
    "[[ a . b ]]\n[[\"a\".'b']]\n[[a.c]]",
    "[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2",  # [a.b] is in the last element, each time
    "[[a]]\n[[a.b]]\n[[a.b]]\n[[a]]\n[[a.b]]",
    "[a]\n[[a.b]]\n[[a.b]]\n[a.c]",
    "[[a.b]]\n[[a.b]]\n[a]\nc = 1",  # the table above an array of tables, declared after it
    "[[a]]\nb.c = 1\n[[a]]\nb.c = 2",
    "[[t]]\na = [1]\n[[t]]\n[t.a]",  # the array was the first element's
    "[[a]]\nb.c = 1\n[[a]]\n[a.b]",  # and so was the table made by the dotted key
    "[[a]]\nb = [{}]\n[[a]]\n[[a.b]]",
    "a = 1\n[b]\nc = 2\n[[d]]",
    # what tomllib lets a dotted key or a header extend
    "a.b = 1\n[a.c]",  # a sub-table of a table made by a dotted key
    "[x]\na.b = 1\n[x.a.c]",
    "[a.b.c]\n[a]\nb.d = 1",  # a dotted key into a table a header made on its way
    "[a.b]\n[a]\nc.d = 1",
    "[a]\nb.c = 1\nb.d = 2\n[a.b.e]",
    "[a.b]\nc = 1\n[a]\nd = 2",
]

# Valid TOML outside the subset: the fast path must decline it (tomllib parses it).
DECLINED = [
    '"\\u0061" = 1',
    '["\\u0061"]',
    'a."\\U0001F600" = 1',
    "a = {b = 1979-05-27}",
    "a = {b = 1e3}",
    "a = {b = inf}",
    "a = {b = '''x'''}",
    'a = {b = """x"""}',
    "a = [{b = 0x1f}]",
    "[[a]]\nb = 1_000",
    "a.b = 07:32:00",
    "a = " + "{b = " * 20 + "1" + "}" * 20,  # deeper than the fast path goes
    "a = " + "{b = [" * 9 + "]}" * 9,
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
    "a = " + "[" * 40 + "]" * 40,
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
    # a quoted key and a bare one are the same key
    '"a" = 1\na = 2',
    "'a' = 1\na = 2",
    'a = 1\n"a" = 2',
    "\"\" = 1\n'' = 2",
    '[a]\n["a"]',
    "[a.b]\n[a.'b']",
    'a."b" = 1\na.b = 2',
    # quoted keys that are not keys
    '"a = 1',
    "'a = 1",
    '"a\nb" = 1',
    "'a\nb' = 1",
    '"a""b" = 1',
    '"a"b = 1',
    'a"b" = 1',
    '"""a""" = 1',
    "'''a''' = 1",
    '"\\q" = 1',
    '"\\x41" = 1',
    '["a]',
    "['a'",
    '["a"b]',
    # dotted keys that are not keys
    "a. = 1",
    ".a = 1",
    "a..b = 1",
    "a.b. = 1",
    "a . = 1",
    "a.\nb = 1",
    "a\n.b = 1",
    "a.é = 1",
    "a b.c = 1",
    "a.b c = 1",
    # dotted keys: not through a value, not twice, not over a table
    "a = 1\na.b = 2",
    "a.b = 1\na.b = 2",
    "a.b = 1\na = 2",
    "a.b.c = 1\na.b = 2",
    "a = [1]\na.b = 2",
    # ... nor into a table declared by a header, nor made by another section's dotted keys
    "[a.b]\n[a]\nb.c = 1",  # "Cannot redefine namespace"
    "[a.b.c]\n[a]\nb.c.d = 1",
    "[[a.b]]\n[a]\nb.c = 1",
    "a.b = 1\n[a]",  # "Cannot declare ('a',) twice"
    "[x]\na.b = 1\n[x.a]",
    "[a]\nb.c = 1\n[a.b]",
    "[a]\nb.c.d = 1\n[a.b.c]",
    "[a]\nb = 1\n[a.b]",
    "a.b = 1\n[[a]]",
    "[[a]]\nb.c = 1\n[a.b]",  # within one element of an array of tables
    # inline tables and arrays are immutable: no dotted key, header or [[header]] into them
    "a = {}\na.b = 1",
    "a = {b = 1}\na.c = 2",
    "a = {b = 1}\na.b = 2",
    "a = {b = 1}\n[a]",
    "a = {b = 1}\n[a.c]",
    "a = {b = {}}\n[a.b]",
    "a = {b = {}}\n[a.b.c]",
    "a = {}\n[[a]]",
    "a = {b = 1}\n[[a.c]]",
    "[t]\na = {}\n[t.a]",
    "[t]\na = {}\n[t.a.b]",
    "a.b = {}\na.b.c = 1",
    "a.b = {}\n[a.b]",
    "a = {b.c = 1}\na.b.d = 2",
    "a = {b.c = 1}\n[a.b]",
    "a = [{}]\na.b = 1",
    # inline tables: one line, no trailing comma, no key twice
    "a = {b = 1,}",
    "a = {,}",
    "a = {b = 1,,c = 2}",
    "a = {b = 1 c = 2}",
    "a = {b = 1",
    "a = {b = [1]",
    "a = {b}",
    "a = {b =}",
    "a = {b = }",
    "a = {= 1}",
    "a = {\n}",
    "a = {\nb = 1}",
    "a = {b = 1\n}",
    "a = {b = 1,\nc = 2}",
    "a = {b = 1 # c\n}",
    "a = {b = 1} c = 2",
    "a = {b = 1}}",
    "a = {b = 1}\n}",
    "a = {{}}",
    "a = {b = 1, b = 2}",
    'a = {b = 1, "b" = 2}',
    "a = {b.c = 1, b = 2}",
    "a = {b = 1, b.c = 2}",
    "a = {b.c = 1, b.c = 2}",
    "a = {b.c = 1, b.c.d = 2}",
    # ... and in an inline table too, a table or array value is immutable
    "a = {b = {}, b.c = 1}",
    "a = {b = [], b.c = 1}",
    "a = {b = {c = 1}, b.d = 2}",
    "a = {b = [{}], b.c = 1}",
    "a = {b.c = [], b.c.d = 1}",
    # arrays of tables and static arrays, arrays of tables and tables
    "a = []\n[[a]]",
    "a = [{}]\n[[a]]",
    "a = [1]\n[[a]]",
    "a = [{}]\n[a]",
    "a = [{b = 1}]\n[a.c]",
    "a.b = [1]\n[[a.b]]",
    "a = 1\n[[a]]",
    "a = 'x'\n[[a.b]]",
    "[a]\n[[a]]",
    "[a.b]\n[[a]]",
    "[[a]]\n[a]",
    "[[a]]\nb = 1\n[a]",
    "[[a.b]]\n[[a]]",
    "[[a]]\n[[a.b]]\n[a.b]",
    "[[a]]\n[a.b]\n[[a.b]]",
    "[[a]]\nb = []\n[[a.b]]",
    "[[a]]\nb = 1\n[[a.b]]",
    "[[a]]\nb = {}\n[[a.b]]",
    "[[a]]\nx = 1\nx = 2",
    "[[a]]\n[a.b]\n[a.b]",
    # array-of-tables headers that are not headers
    "[[a]",
    "[[a] ]",
    "[ [a]]",
    "[[a]]]",
    "[[a]] ]",
    "[[]]",
    "[[ ]]",
    "[[a.]]",
    "[[.a]]",
    "[[a]]x",
    "[[a]] b = 1",
    "[[a b]]",
    "[[[a]]]",
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
    # tomllib raises RecursionError for these but the third, ValueError for the third
    deep = ["a = " + "[" * 5000 + "]" * 5000, "a = " + "[" * 5000, "a = " + "9" * 5000]
    deep += ["a = " + "{b = " * 5000 + "1" + "}" * 5000, "a = " + "{b = [" * 3000]
    for text in deep:
        assert fast(text) is None
        assert loads_simple(text) is None
    assert loads_simple(None) is None  # type: ignore[arg-type]
    assert loads_simple(b"a = 1") is None  # type: ignore[arg-type]


# --- random documents ---------------------------------------------------------------------------

# Few names, so that keys and tables meet: `a` and `"a"`, `a.b` and [a], [[a]] and [a.b], ...
GOOD_KEYS = [
    "a", "b", "out", "proto_roots", "x-y", "_k", "1", "true", "A9",
    '"q"', "'l'", '""', '"a"', "'b'", '"a b"', "a.b", "a . b", '"a".b', "b.'c d'", "a.b.c",
]  # fmt: skip
BAD_KEYS = [
    "", "é", "a b", "a=", "[a]", "#", "a.", ".a", "a..b", "a.é", '"a', "'a", 'a"b"', '"a"b',
    "'''a'''", '"\\u0041"',
]  # fmt: skip
GOOD_SCALARS = [
    "0", "42", "-7", "+3", "-0", "+0", "1234567890",
    "1.5", "-0.25", "10.0", "+0.5", "-0.0", "0.0", "0.1",
    "true", "false",
    '"x"', '"a # b"', '"[t]"', "'lit # x'", '""', "''", '"é ü"', '"tab\there"', "'a\"b'",
    '"esc \\" \\\\ \\n \\t \\b \\f \\r"', '"\\\\"', "'\\'", '"x = 1"', '"]"', "','",
]  # fmt: skip
BAD_SCALARS = [
    "1_000", "1e3", "1E-2", "1.5e3", "0x1f", "0o7", "0b1", "inf", "nan", "-inf", "+nan",
    "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", '"""ml"""', "'''ml'''", "{a = 1e3}",
    '"\\u00e9"', '"\\U0001F600"',
    "01", "00", "1.", ".5", "1.5.3", "--1", "- 1", "+", "-", "1__0", "1_", '"\\x"', '"\\q"',
    '"unterminated', "'unterminated", "truex", "True", "[1 2]", "[,]", "[1,,2]", "[", "", "1 2",
    '"a" "b"', "1,", "1]", "[1]]", '"\\"', "'a''b'", '"a"b',
    "{a = 1,}", "{,}", "{a = 1", "{a}", "{a = 1 b = 2}", "{\n}", "{a = 1\n}", "{{}}", "}",
]  # fmt: skip
GOOD_HEADERS = [
    "a", "b", "a.b", "client", "client.retry", "out", " a . b ", "\tx\t", "t.1.-",
    '"q"', "'l'", '""', '"a"', "a.'b'", 'a."b.c"', ' "a" . b ', "a.b.c",
]  # fmt: skip
BAD_HEADERS = ["a.", ".a", "", " ", "a b", "a..b", "a.é", '"a', "a]", "[a", '"\\u0041"']
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
        draw = self.rng.random()
        if depth < 3 and draw < 0.2:
            return self.array(clean, depth + 1)
        if depth < 3 and draw < 0.3:
            return self.inline_table(clean, depth + 1)
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

    def inline_table(self, clean: bool, depth: int) -> str:
        """`{ key = value, ... }`: on one line, but for the arrays inside; when not clean, a
        trailing comma or a newline at times (both errors for tomllib)."""
        rng = self.rng
        items = []
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            key = self.pick(GOOD_KEYS, BAD_KEYS, clean)
            items.append(key + rng.choice(SPACES[:3]) + "=" + rng.choice(SPACES[:3]))
            items[-1] += self.value(clean, depth) + rng.choice(SPACES[:3])
        inside = rng.choice(SPACES[:3]) + ",".join(items)
        if not clean and rng.random() < 0.15:
            inside += rng.choice([",", "\n", ", ", ",\n"])
        return "{" + inside + "}"

    def statement(self, clean: bool) -> str:
        rng = self.rng
        kind = rng.random()
        if kind < 0.6:
            key = self.pick(GOOD_KEYS, BAD_KEYS, clean)
            line = key + rng.choice(SPACES) + "=" + rng.choice(SPACES) + self.value(clean)
        elif kind < 0.8:
            name = self.pick(GOOD_HEADERS, BAD_HEADERS, clean)
            line = "[[" + name + "]]" if rng.random() < 0.3 else "[" + name + "]"
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
    # enough of each kind for the comparison to mean something (measured: 792 clean documents
    # that tomllib accepts, 449 others, 97% of the 1241 accepted by the fast path: most
    # fragments outside the subset are not TOML either)
    assert clean_valid > 500, clean_valid
    assert valid - clean_valid > 100, (valid, clean_valid)
    assert 0.8 < accepted / valid < 0.99, (accepted, valid)


def raises(texts: list[str], *kinds: str) -> None:
    """Asserts that tomllib's error messages for `texts` include each of `kinds` (a message's
    beginning: "Cannot declare" for "Cannot declare ('a',) twice (at line 2, column 3)")."""
    found = set()
    for text in texts:
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found.add(str(exc).split(" (at ")[0])
    for kind in kinds:
        assert any(message.startswith(kind) for message in found), (kind, sorted(found))


def test_random_documents_are_varied() -> None:
    """The generator produces what it claims: CRLF, arrays over lines, redefined tables,
    duplicate keys, inline tables, arrays of tables, dotted and quoted keys (in documents the
    fast path accepts, too); tomllib rejects a fair share (so the None side is exercised)."""
    generator = Generator(seed=7)
    texts = [generator.document(clean=generator.rng.random() < 0.5) for _ in range(500)]
    rejected = sum(reference(text) is None for text in texts)
    assert 0.2 < rejected / len(texts) < 0.8, rejected
    accepted = [text for text in texts if fast(text) is not None]
    for fragment in ["\r\n", "[\n", "[[", "{", "a.b", "a . b", '"q"', "'l'", '""', '"a"']:
        assert any(fragment in text for text in accepted), fragment
    raises(
        texts, "Cannot overwrite a value", "Unclosed array", "Invalid value", "Cannot declare",
        "Cannot mutate immutable namespace", "Unclosed inline table", "Duplicate inline table key",
        "Invalid initial character for a key part", "Expected ']]' at the end of an array",
    )  # fmt: skip


# Documents made of nothing but tables: headers, arrays of tables, dotted keys, inline tables
# and arrays, over four names (two of them twice, bare and quoted), so that every rule of
# tomllib's about which table may be declared, extended or added to comes up, again and again.
TABLE_NAMES = ["a", "b", '"a"', "'b'"]
TABLE_VALUES = ["1", "[]", "[1]", "[{}]", "{}", "{ a = 1 }", "{a.b = 1, a.c = []}", "{b = {}}"]


def table_document(rng: random.Random) -> str:
    def key() -> str:
        return rng.choice([".", " . "]).join(rng.choices(TABLE_NAMES, k=rng.choice([1, 2, 2, 3])))

    def value() -> str:
        if rng.random() < 0.7:
            return rng.choice(TABLE_VALUES)
        items = [key() + " = " + rng.choice(TABLE_VALUES) for _ in range(rng.randint(0, 3))]
        return "{" + ", ".join(items) + "}"

    lines = []
    for _ in range(rng.randint(1, 7)):
        kind = rng.random()
        if kind < 0.25:
            lines.append("[" + key() + "]")
        elif kind < 0.4:
            lines.append("[[" + key() + "]]")
        else:
            lines.append(key() + " = " + value())
    return "\n".join(lines)


def test_random_tables() -> None:
    """All of these are in the subset: the fast path must accept exactly what tomllib accepts."""
    rng = random.Random(1207)
    texts = [table_document(rng) for _ in range(1500)]
    valid = 0
    for text in texts:
        got, expected = check(text)
        assert (got is None) == (expected is None), text
        valid += expected is not None
    assert 0.2 < valid / len(texts) < 0.6, valid  # measured: 37%
    raises(
        texts, "Cannot declare", "Cannot redefine namespace", "Cannot mutate immutable namespace",
        "Cannot overwrite a value", "Duplicate inline table key",
    )  # fmt: skip


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
