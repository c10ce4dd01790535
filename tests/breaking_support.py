"""Helpers for the check-breaking / diff tests: real git repositories in tmp_path."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, make_project, run_cli, run_python, write_files

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": os.devnull,
}

ORDERS_V1 = """
    syntax = "proto3";
    package acme.orders.v1;

    message Order {
      string id = 1;
      int32 quantity = 2;
      string note = 3;
    }

    enum Status {
      STATUS_UNSPECIFIED = 0;
      STATUS_OPEN = 1;
    }

    service OrderService {
      rpc GetOrder(Order) returns (Order);
      rpc DeleteOrder(Order) returns (Order);
    }
"""


@pytest.fixture(autouse=True)
def isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """check-breaking caches baselines in the user's cache directory: keep the tests' own."""
    cache = tmp_path_factory.getbasetemp() / "protoforge-cache"
    monkeypatch.setenv("PROTOFORGE_CACHE_DIR", str(cache))
    return cache


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=repo,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def git_project(base: Path, protos: Mapping[str, str], extra: Mapping[str, str] = {}) -> Path:
    """A project committed on `main` (tagged v1.0.0) with contracts under proto/."""
    make_project(base, protos)
    write_files(base, extra)
    git(base, "init", "-q")
    git(base, "add", ".")
    git(base, "commit", "-qm", "v1")
    git(base, "tag", "v1.0.0")
    return base


def change(base: Path, protos: Mapping[str, str]) -> None:
    write_files(base, {f"proto/{name}": text for name, text in protos.items()})


def check(base: Path, *args: str) -> Result:
    return run_cli("check-breaking", *args, cwd=base)


def check_json(base: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = check(base, *args, "--format", "json")
    assert result.code in (0, 1), result.output
    return result.code, json.loads(result.stdout)


def rules(document: dict[str, Any]) -> set[str]:
    return {finding["rule"] for finding in document["findings"]}


# --- the differential harness: protoforge against the real `buf breaking` ---------------------
#
# A case is a pair of trees (previous, current), each a mapping of relative path -> text that may
# hold a buf.yaml and a protoforge.toml. `buf breaking . --against PREVIOUS` runs inside the
# current tree (buf reads each side's own buf.yaml, and reports paths relative to its working
# directory); protoforge runs `check-breaking --against PREVIOUS --format json` in the same
# directory, once on its fast path and once with --full. Both must give the same set of
# (path, line, column, rule, message). A finding that buf cannot place in a file (a deleted file,
# a deletion from a package) has no path in buf's output; protoforge places it for people and
# marks it `inferred_location`, and such findings are compared by (rule, message) alone.

BUF = Path(sys.executable).parent / "buf"

Key = tuple[str, int, int, str, str]


@dataclass
class Pair:
    name: str
    previous: dict[str, str]
    current: dict[str, str]


def write_tree(base: Path, files: Mapping[str, str]) -> Path:
    for name, content in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return base


def buf_keys(current: Path, previous: Path) -> tuple[int, set[Key]]:
    done = subprocess.run(
        [str(BUF), "breaking", ".", "--against", str(previous), "--error-format", "json"],
        cwd=current,
        capture_output=True,
        text=True,
        check=False,
    )
    if "resultRules was empty" in done.stderr:
        # buf's own bug on a config whose rules all fall away (a deprecated ID whose
        # replacement is excepted): not a pair buf can compare (protoforge exits 2 with buf's
        # message)
        pytest.skip("buf fails on this configuration: no rules left")
    keys: set[Key] = set()
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            item = json.loads(line)
            path = item.get("path", "")
            keys.add(
                (
                    path,
                    item.get("start_line", 0) if path else 0,
                    item.get("start_column", 0) if path else 0,
                    item["type"],
                    item["message"],
                )
            )
    assert done.returncode in (0, 100), f"buf rejected the pair: {done.stderr}{done.stdout}"
    assert (done.returncode == 100) == bool(keys), done.stderr
    return done.returncode, keys


# The CLI, with the fast path forced on however small the tree (by default trees of up to
# FULL_CHECK_UP_TO contracts are checked in full, which is quicker there).
FAST_PATH_ALWAYS = (
    "import sys, protoforge.breaking as b; b.FULL_CHECK_UP_TO = 0; sys.argv[0] = 'protoforge'; "
    "from protoforge.cli.direct import main; main()"
)


def run_fast_path(*args: str, cwd: Path) -> Result:
    return run_python(("-c", FAST_PATH_ALWAYS), *args, cwd=cwd)


def protoforge_keys(current: Path, against: str, *extra: str) -> tuple[int, set[Key]]:
    args = ("check-breaking", "--against", against, "--format", "json", *extra)
    result = run_cli(*args, cwd=current) if extra else run_fast_path(*args, cwd=current)
    assert result.code in (0, 1), result.output
    document = json.loads(result.stdout)
    keys: set[Key] = set()
    for finding in document["findings"]:
        if finding["inferred_location"]:
            keys.add(("", 0, 0, finding["rule"], finding["message"]))
        else:
            keys.add(
                (
                    finding["path"],
                    finding["line"],
                    finding["column"],
                    finding["rule"],
                    finding["message"],
                )
            )
    return result.code, keys


def compare_with_buf(
    pair: Pair, base: Path, *, git_too: bool = False, diff_too: bool = False
) -> set[Key]:
    """Run buf and protoforge (fast path and --full, directory baseline and optionally the same
    previous tree as a git commit) on `pair`; assert they agree; return buf's findings."""
    previous = write_tree(base / "previous", pair.previous)
    current = write_tree(base / "current", pair.current)
    _, expected = buf_keys(current, previous)
    for extra in ((), ("--full",)):
        ours_code, ours = protoforge_keys(current, str(previous), *extra)
        assert ours == expected, _explain(pair.name, extra, expected, ours)
        assert ours_code == (1 if expected else 0)
    if diff_too:  # the changelog calls the change major exactly when buf finds something
        result = run_cli("diff", "--against", str(previous), "--format", "json", cwd=current)
        assert result.code == 0, result.output
        assert (json.loads(result.stdout)["level"] == "major") == bool(expected), result.stdout
    if git_too:
        repo = base / "repo"
        write_tree(repo, pair.previous)
        git(repo, "init", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "previous")
        for stale in list(repo.iterdir()):
            if stale.name != ".git":
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        write_tree(repo, pair.current)
        for extra in ((), ("--full",)):
            ours_code, ours = protoforge_keys(repo, "main", *extra)
            assert ours == expected, _explain(pair.name + " (git)", extra, expected, ours)
    return expected


def _explain(name: str, extra: tuple[str, ...], expected: set[Key], ours: set[Key]) -> str:
    lines = [f"{name} {' '.join(extra) or '(fast path)'}: protoforge differs from buf"]
    lines += [f"  only buf:        {k}" for k in sorted(expected - ours)]
    lines += [f"  only protoforge: {k}" for k in sorted(ours - expected)]
    return "\n".join(lines)


# --- a seeded mutation generator -------------------------------------------------------------
#
# A small contract model (files, messages, fields, enums, services) is rendered to .proto text;
# a mutation edits a copy the way each rule family looks at it (delete / rename / renumber /
# retype / relabel / json_name / oneof / options / packages / files / streaming / syntax). After
# an edit, `repair` keeps the tree compilable (a reference to a deleted type becomes a scalar) so
# that every pair is one buf accepts; imports are derived from the references.

SCALARS = ("string", "int32", "int64", "bool", "bytes", "double", "uint32", "sint64", "fixed32")
FILE_OPTIONS = {
    "go_package": ('"example.com/a"', '"example.com/b"'),
    "java_package": ('"com.example.a"', '"com.example.b"'),
    "java_multiple_files": ("true", "false"),
    "java_outer_classname": ('"OuterA"', '"OuterB"'),
    "csharp_namespace": ('"Example.A"', '"Example.B"'),
    "objc_class_prefix": ('"EXA"', '"EXB"'),
    "optimize_for": ("SPEED", "CODE_SIZE"),
    "cc_enable_arenas": ("true", "false"),
    "php_namespace": ('"Ex\\\\A"', '"Ex\\\\B"'),
    "ruby_package": ('"Ex::A"', '"Ex::B"'),
    "swift_prefix": ('"EXA"', '"EXB"'),
}


@dataclass
class MField:
    name: str
    number: int
    type: str
    label: str = ""  # "", "optional", "repeated"
    json_name: str = ""
    oneof: str = ""
    ctype: str = ""
    jstype: str = ""
    deprecated: bool = False


@dataclass
class MMessage:
    name: str
    fields: list[MField]
    reserved_numbers: list[int]
    reserved_names: list[str]


@dataclass
class MEnum:
    name: str
    values: list[tuple[str, int]]
    reserved_numbers: list[int]


@dataclass
class MRpc:
    name: str
    request: str
    response: str
    client_streaming: bool = False
    server_streaming: bool = False
    idempotency: str = ""


@dataclass
class MFile:
    path: str  # import path
    package: str
    syntax: str
    options: dict[str, str]
    messages: list[MMessage]
    enums: list[MEnum]
    services: list[tuple[str, list[MRpc]]]
    module: int = 0  # with two v2 modules: which one holds the file (stable across edits)

    def full(self, name: str) -> str:
        return f".{self.package}.{name}" if self.package else f".{name}"


def _copy(files: list[MFile]) -> list[MFile]:
    import copy

    return copy.deepcopy(files)


def generate_model(rng: random.Random, *, odd_names: bool = False) -> list[MFile]:
    """2-4 files in 1-3 packages, some with an unstable version suffix."""
    packages = rng.sample(
        ["acme.orders.v1", "acme.billing.v1", "acme.orders.v1beta1", "acme.ledger.v2alpha1"],
        rng.randint(1, 3),
    )
    files: list[MFile] = []
    for index in range(rng.randint(2, 4)):
        package = packages[index % len(packages)]
        directory = package.replace(".", "/")
        stem = rng.choice(["1", "my-api", "2", "x.y"]) if odd_names else f"file{index}"
        if any(f.path == f"{directory}/{stem}.proto" for f in files):
            stem = f"file{index}"
        prefix = f"M{index}"
        messages = [
            MMessage(
                f"{prefix}{chr(65 + m)}",
                [
                    MField(f"f{n}", n, rng.choice(SCALARS), rng.choice(["", "", "repeated"]))
                    for n in range(1, rng.randint(2, 5))
                ],
                [],
                [],
            )
            for m in range(rng.randint(1, 3))
        ]
        enum = MEnum(f"E{index}", [(f"E{index}_UNSPECIFIED", 0), (f"E{index}_ONE", 1)], [])
        enum.values += [(f"E{index}_TWO", 2)] if rng.random() < 0.5 else []
        messages[0].fields.append(MField("kind", 20, f"E{index}"))
        if len(messages) > 1:
            messages[0].fields.append(MField("child", 21, messages[1].name))
        if len(messages[0].fields) > 2 and rng.random() < 0.5:
            for f in messages[0].fields[-2:]:
                f.oneof, f.label = "choice", ""
        options = {k: rng.choice(v) for k, v in rng.sample(sorted(FILE_OPTIONS.items()), 2)}
        rpcs = [
            MRpc(f"Call{r}", messages[0].name, messages[-1].name, r == 1, r == 2)
            for r in range(rng.randint(1, 3))
        ]
        services = [(f"Service{index}", rpcs)] if rng.random() < 0.7 else []
        files.append(
            MFile(
                f"{directory}/{stem}.proto",
                package,
                "proto3",
                options,
                messages,
                [enum],
                services,
                module=index % 2,
            )
        )
    # a cross-file reference: the last file uses the first file's message
    if len(files) > 1:
        files[-1].messages[0].fields.append(
            MField("other", 22, files[0].full(files[0].messages[0].name))
        )
    return files


def _types(files: list[MFile]) -> dict[str, str]:
    """Every message/enum full name (`.pkg.Name`) -> its kind."""
    found: dict[str, str] = {}
    for f in files:
        found.update((f.full(m.name), "message") for m in f.messages)
        found.update((f.full(e.name), "enum") for e in f.enums)
    return found


def _resolve(f: MFile, type_name: str, known: dict[str, str]) -> str | None:
    if type_name in SCALARS:
        return None
    return type_name if type_name.startswith(".") else f.full(type_name)


def repair(files: list[MFile]) -> None:
    """Keep the tree compilable after a mutation."""
    known = _types(files)
    closed_enums = {f.full(e.name) for f in files if f.syntax == "proto2" for e in f.enums}
    for f in files:
        for m in f.messages:
            seen_numbers: set[int] = set()
            for field_ in list(m.fields):
                target = _resolve(f, field_.type, known)
                if target is not None and target not in known:
                    field_.type = "string"
                if field_.number in seen_numbers or field_.number in m.reserved_numbers:
                    m.fields.remove(field_)
                seen_numbers.add(field_.number)
                if field_.oneof and field_.label:
                    field_.label = ""
                if f.syntax == "proto2" and field_.label == "":
                    field_.label = "optional"
                if field_.ctype and field_.type not in ("string", "bytes"):
                    field_.ctype = ""
                if field_.jstype and field_.type not in ("int64", "sint64"):
                    field_.jstype = ""
                if f.syntax == "proto3" and target in closed_enums:
                    field_.type = "string"
            json_names: set[str] = set()
            for field_ in m.fields:
                json = field_.json_name or _camel(field_.name)
                if json in json_names:
                    field_.json_name = field_.name + "Json"
                json_names.add(field_.json_name or _camel(field_.name))
        for _name, rpcs in f.services:
            for rpc in list(rpcs):
                for attr in ("request", "response"):
                    target = _resolve(f, getattr(rpc, attr), known)
                    if target not in known or known[target] != "message":
                        if f.messages:
                            setattr(rpc, attr, f.messages[0].name)
                        else:
                            rpcs.remove(rpc)
                            break
        f.services = [(n, r) for n, r in f.services if r]
        for m in f.messages:
            used = {x.number for x in m.fields}
            m.reserved_numbers = sorted(set(m.reserved_numbers) - used)
            names = {x.name for x in m.fields}
            m.reserved_names = sorted(set(m.reserved_names) - names)
        for e in f.enums:
            e.reserved_numbers = sorted(set(e.reserved_numbers) - {n for _, n in e.values})
            if f.syntax == "proto3" and (not e.values or e.values[0][1] != 0):
                e.values.insert(0, (f"{e.name.upper()}_ZERO", 0))
            numbers = [n for _, n in e.values]
            e.values = [v for i, v in enumerate(e.values) if v[1] not in numbers[:i]]
    # a package's files must not declare the same name twice
    seen: set[str] = set()
    for f in files:
        f.messages = [
            m for m in f.messages if f.full(m.name) not in seen and not seen.add(f.full(m.name))
        ]  # type: ignore[func-returns-value]
        f.enums = [
            e for e in f.enums if f.full(e.name) not in seen and not seen.add(f.full(e.name))
        ]  # type: ignore[func-returns-value]
    # enum value names are scoped to the package: keep them unique
    values_seen: set[str] = set()
    for f in files:
        for e in f.enums:
            kept = []
            for value in e.values:
                scoped = f"{f.package}.{value[0]}"
                if scoped not in values_seen:
                    values_seen.add(scoped)
                    kept.append(value)
            e.values = kept


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def render_file(f: MFile, files: list[MFile]) -> str:
    known = _types(files)
    owner = {f2.full(m.name): f2.path for f2 in files for m in f2.messages}
    owner.update({f2.full(e.name): f2.path for f2 in files for e in f2.enums})
    imports: set[str] = set()
    lines = [f'syntax = "{f.syntax}";', ""]
    if f.package:
        lines.append(f"package {f.package};")
    body: list[str] = []
    for key, value in sorted(f.options.items()):
        body.append(f"option {key} = {value};")
    for m in f.messages:
        body.append(f"message {m.name} {{")
        oneofs: dict[str, list[MField]] = {}
        for field_ in m.fields:
            target = _resolve(f, field_.type, known)
            if target is not None and owner.get(target, f.path) != f.path:
                imports.add(owner[target])
            if field_.oneof:
                oneofs.setdefault(field_.oneof, []).append(field_)
                continue
            body.append("  " + _field(field_))
        for name, members in oneofs.items():
            body.append(f"  oneof {name} {{")
            body += ["    " + _field(x, in_oneof=True) for x in members]
            body.append("  }")
        if m.reserved_numbers:
            body.append(f"  reserved {', '.join(map(str, m.reserved_numbers))};")
        if m.reserved_names:
            quoted = ", ".join(f'"{n}"' for n in m.reserved_names)
            body.append(f"  reserved {quoted};")
        body.append("}")
    for e in f.enums:
        body.append(f"enum {e.name} {{")
        body += [f"  {name} = {number};" for name, number in e.values]
        if e.reserved_numbers:
            body.append(f"  reserved {', '.join(map(str, e.reserved_numbers))};")
        body.append("}")
    for name, rpcs in f.services:
        body.append(f"service {name} {{")
        for rpc in rpcs:
            for t in (rpc.request, rpc.response):
                target = _resolve(f, t, known)
                if target is not None and owner.get(target, f.path) != f.path:
                    imports.add(owner[target])
            request = ("stream " if rpc.client_streaming else "") + rpc.request
            response = ("stream " if rpc.server_streaming else "") + rpc.response
            if rpc.idempotency:
                body.append(f"  rpc {rpc.name}({request}) returns ({response}) {{")
                body.append(f"    option idempotency_level = {rpc.idempotency};")
                body.append("  }")
            else:
                body.append(f"  rpc {rpc.name}({request}) returns ({response});")
        body.append("}")
    lines += [""] + [f'import "{name}";' for name in sorted(imports)] + [""] + body
    return "\n".join(lines) + "\n"


def _field(field_: MField, *, in_oneof: bool = False) -> str:
    options = []
    if field_.json_name:
        options.append(f'json_name = "{field_.json_name}"')
    if field_.ctype:
        options.append(f"ctype = {field_.ctype}")
    if field_.jstype:
        options.append(f"jstype = {field_.jstype}")
    if field_.deprecated:
        options.append("deprecated = true")
    label = "" if in_oneof or not field_.label else field_.label + " "
    suffix = f" [{', '.join(options)}]" if options else ""
    return f"{label}{field_.type} {field_.name} = {field_.number}{suffix};"


def _pick(rng: random.Random, items: list[Any]) -> Any:
    return rng.choice(items) if items else None


def mutate(files: list[MFile], rng: random.Random) -> str:
    """Apply one random edit in place; return its name."""
    f = rng.choice(files)
    m = _pick(rng, f.messages)
    fld = _pick(rng, m.fields) if m else None
    e = _pick(rng, f.enums)
    svc = _pick(rng, f.services)
    rpc = _pick(rng, svc[1]) if svc else None
    kinds = ["file_option", "package", "move_file", "delete_file", "syntax", "add_message"]
    if m:
        kinds += ["delete_message", "rename_message", "add_field", "reserve"]
    if fld:
        kinds += ["delete_field", "rename_field", "renumber_field", "retype_field"]
        kinds += ["relabel_field", "json_name", "oneof", "ctype", "jstype", "deprecated"]
        kinds += ["delete_field_reserved"]
    if e:
        kinds += ["delete_enum", "delete_enum_value", "rename_enum_value", "renumber_enum_value"]
    if svc:
        kinds += ["delete_service", "delete_rpc", "rpc_type", "streaming", "idempotency"]
    kind = rng.choice(kinds)
    if kind == "file_option":
        key = rng.choice(sorted(FILE_OPTIONS))
        choices = [v for v in FILE_OPTIONS[key] if v != f.options.get(key)]
        if key in f.options and rng.random() < 0.3:
            del f.options[key]
        else:
            f.options[key] = rng.choice(choices)
    elif kind == "package":
        f.package = rng.choice(["acme.orders.v1", "acme.billing.v1", "acme.moved.v1", ""])
    elif kind == "move_file":
        new_dir = rng.choice(["acme/orders/v1", "acme/moved/v1", "elsewhere"])
        f.path = f"{new_dir}/{f.path.rsplit('/', 1)[-1]}"
        if any(other.path == f.path and other is not f for other in files):
            f.path = f.path.replace(".proto", "_moved.proto")
        if rng.random() < 0.5:
            f.package = new_dir.replace("/", ".")
    elif kind == "delete_file" and len(files) > 1:
        files.remove(f)
    elif kind == "syntax":
        f.syntax = "proto2" if f.syntax == "proto3" else "proto3"
        if f.syntax == "proto3":
            for msg in f.messages:
                for x in msg.fields:
                    if x.label == "optional" and rng.random() < 0.5:
                        x.label = ""
    elif kind == "add_message":
        f.messages.append(
            MMessage(f"Added{rng.randint(0, 99)}", [MField("a", 1, "string")], [], [])
        )
    elif kind == "delete_message":
        f.messages.remove(m)
    elif kind == "rename_message":
        m.name += "Renamed"
    elif kind == "add_field":
        m.fields.append(MField(f"added{rng.randint(0, 99)}", rng.randint(30, 60), "string"))
    elif kind == "reserve":
        m.reserved_numbers.append(rng.randint(70, 80))
    elif kind == "delete_field":
        m.fields.remove(fld)
    elif kind == "delete_field_reserved":
        m.fields.remove(fld)
        if rng.random() < 0.5:
            m.reserved_numbers.append(fld.number)
        else:
            m.reserved_names.append(fld.name)
    elif kind == "rename_field":
        fld.name += "_renamed"
    elif kind == "renumber_field":
        fld.number = rng.randint(40, 60)
    elif kind == "retype_field":
        targets = list(SCALARS) + [x.name for x in f.messages] + [x.name for x in f.enums]
        fld.type = rng.choice([t for t in targets if t != fld.type])
    elif kind == "relabel_field":
        fld.label = rng.choice([x for x in ("", "optional", "repeated") if x != fld.label])
        fld.oneof = ""
    elif kind == "json_name":
        fld.json_name = rng.choice(["", "customName", fld.name + "X"])
    elif kind == "oneof":
        fld.oneof = "" if fld.oneof else rng.choice(["choice", "other"])
        if fld.oneof in {x.name for x in m.fields}:  # a field's name: protoc would refuse it
            fld.oneof += "_of"
        fld.label = ""
    elif kind == "ctype":
        fld.type = "string"
        fld.label = fld.label if fld.label != "" or f.syntax == "proto3" else "optional"
        fld.ctype = rng.choice(["", "CORD", "STRING_PIECE"])
    elif kind == "jstype":
        fld.type = "int64"
        fld.jstype = rng.choice(["", "JS_STRING", "JS_NUMBER"])
    elif kind == "deprecated":
        fld.deprecated = not fld.deprecated
    elif kind == "delete_enum":
        f.enums.remove(e)
    elif kind == "delete_enum_value" and len(e.values) > 1:
        removed = e.values.pop(rng.randrange(1, len(e.values)))
        if rng.random() < 0.5:
            e.reserved_numbers.append(removed[1])
    elif kind == "rename_enum_value" and len(e.values) > 1:
        index = rng.randrange(len(e.values))
        e.values[index] = (e.values[index][0] + "_RENAMED", e.values[index][1])
    elif kind == "renumber_enum_value" and len(e.values) > 1:
        index = rng.randrange(1, len(e.values))
        e.values[index] = (e.values[index][0], rng.randint(5, 9))
    elif kind == "delete_service":
        f.services.remove(svc)
    elif kind == "delete_rpc":
        svc[1].remove(rpc)
    elif kind == "rpc_type":
        names = [x.name for x in f.messages]
        setattr(rpc, rng.choice(["request", "response"]), rng.choice(names))
    elif kind == "streaming":
        if rng.random() < 0.5:
            rpc.client_streaming = not rpc.client_streaming
        else:
            rpc.server_streaming = not rpc.server_streaming
    elif kind == "idempotency":
        rpc.idempotency = rng.choice(["", "NO_SIDE_EFFECTS", "IDEMPOTENT"])
    repair(files)
    return kind


# Layouts: where the contracts live on one side and how buf.yaml describes it.
SINGLE_MODULE = ("none", "v1", "v1beta1", "v2")
LAYOUTS = (*SINGLE_MODULE, "v2-two-modules")
TWO_MODULES = ("v2-two-modules", "v1-workspace")  # v1-workspace only when asked for

CATEGORIES = ("FILE", "PACKAGE", "WIRE_JSON", "WIRE")
RULES_SAMPLE = {
    "v1beta1": (
        "FIELD_SAME_CTYPE",
        "FIELD_SAME_LABEL",
        "FILE_SAME_PACKAGE",
        "FIELD_NO_DELETE",
        "ENUM_VALUE_NO_DELETE",
        "RPC_NO_DELETE",
        "FILE_SAME_GO_PACKAGE",
        "FIELD_SAME_JSTYPE",
        "FIELD_SAME_CPP_STRING_TYPE",
        "PACKAGE_NO_DELETE",
    ),
    "v1": (
        "FIELD_SAME_CTYPE",
        "FIELD_SAME_LABEL",
        "FIELD_SAME_CARDINALITY",
        "FIELD_WIRE_COMPATIBLE_TYPE",
        "FILE_SAME_PACKAGE",
        "FIELD_NO_DELETE",
        "ENUM_VALUE_SAME_NAME",
        "RPC_SAME_REQUEST_TYPE",
        "FIELD_SAME_CPP_STRING_TYPE",
    ),
    "v2": (
        "FIELD_SAME_CARDINALITY",
        "FIELD_SAME_DEFAULT",
        "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
        "FILE_SAME_PACKAGE",
        "FIELD_NO_DELETE",
        "PACKAGE_MESSAGE_NO_DELETE",
        "FIELD_SAME_CPP_STRING_TYPE",
        "EXTENSION_NO_DELETE",
        "MESSAGE_NO_DELETE",
    ),
}


def breaking_yaml(version: str, rng: random.Random, files: list[MFile], prefix: str) -> str:
    """A random breaking section: categories or rules of `version` (deprecated IDs included),
    except, ignore (a file or a directory), ignore_only, ignore_unstable_packages. Paths are
    written the way `version` wants them (`prefix` is the proto root as seen from the module or
    workspace directory)."""
    use = rng.sample(CATEGORIES, 1) if rng.random() < 0.6 else rng.sample(RULES_SAMPLE[version], 2)
    lines = ["breaking:", f"  use: [{', '.join(use)}]"]
    if rng.random() < 0.3:
        lines.append(f"  except: [{rng.choice(RULES_SAMPLE[version])}]")
    paths = sorted({f.path for f in files} | {f.path.rsplit("/", 1)[0] for f in files})
    if rng.random() < 0.3:
        lines.append(f"  ignore: [{prefix}{rng.choice(paths)}]")
    if rng.random() < 0.3:
        rule = rng.choice(["FIELD_NO_DELETE", "FILE_NO_DELETE", "FIELD_SAME_TYPE", "FILE"])
        lines.append(f"  ignore_only:\n    {rule}:\n      - {prefix}{rng.choice(paths)}")
    if rng.random() < 0.3:
        lines.append("  ignore_unstable_packages: true")
    return "\n".join(lines) + "\n"


def layout_tree(
    files: list[MFile], layout: str, rng: random.Random, *, root: str = "proto"
) -> dict[str, str]:
    """The tree of one side: contracts, buf.yaml and protoforge.toml for `layout`."""
    tree: dict[str, str] = {}
    if layout in ("none", "v1"):
        for f in files:
            tree[f.path] = render_file(f, files)
        toml_roots = '["."]'
        if layout == "v1":
            version = rng.choice(["v1", "v1beta1"]) if rng.random() < 0.3 else "v1"
            tree["buf.yaml"] = f"version: {version}\n" + breaking_yaml(version, rng, files, "")
    elif layout == "v1beta1":
        for f in files:
            tree[f"{root}/{f.path}"] = render_file(f, files)
        toml_roots = f'["{root}"]'
        tree["buf.yaml"] = f"version: v1beta1\nbuild:\n  roots: [{root}]\n" + breaking_yaml(
            "v1beta1", rng, files, ""
        )
    elif layout == "v2":
        for f in files:
            tree[f"{root}/{f.path}"] = render_file(f, files)
        toml_roots = f'["{root}"]'
        tree["buf.yaml"] = f"version: v2\nmodules:\n  - path: {root}\n" + breaking_yaml(
            "v2", rng, files, f"{root}/"
        )
    elif layout == "v1-workspace":  # buf.work.yaml: two directories, each a module of its own
        for f in files:
            side = root if f.module == 0 else "more"
            tree[f"{side}/{f.path}"] = render_file(f, files)
        toml_roots = f'["{root}", "more"]'
        tree["buf.work.yaml"] = f"version: v1\ndirectories:\n  - {root}\n  - more\n"
        for side, number in ((root, 0), ("more", 1)):
            if rng.random() < 0.8:  # else the directory has none: buf's defaults
                own = [f for f in files if f.module == number]
                tree[f"{side}/buf.yaml"] = "version: v1\n" + breaking_yaml("v1", rng, own, "")
    else:  # two modules, the second one with its own breaking section
        for f in files:
            side = root if f.module == 0 else "more"
            tree[f"{side}/{f.path}"] = render_file(f, files)
        toml_roots = f'["{root}", "more"]'
        module = breaking_yaml("v2", rng, files, "more/").replace("\n", "\n    ").rstrip()
        tree["buf.yaml"] = (
            f"version: v2\nmodules:\n  - path: {root}\n  - path: more\n    {module}\n"
            + breaking_yaml("v2", rng, files, f"{root}/")
        )
    tree["protoforge.toml"] = f'proto_roots = {toml_roots}\nout = "gen"\n'
    return tree


def mutation_pair(seed: int, *, two_modules: str | None = None) -> Pair:
    """A reproducible (previous, current) pair: a random tree, 1-3 random edits, a random layout
    (sometimes a different one on each side). `two_modules` forces that two-module layout
    (`v1-workspace`, `v2-two-modules`) wherever both sides have files in both modules."""
    rng = random.Random(seed)
    previous = generate_model(rng, odd_names=rng.random() < 0.3)
    repair(previous)
    current = _copy(previous)
    edits = [mutate(current, rng) for _ in range(rng.randint(1, 3))]
    layout = rng.choice(LAYOUTS)
    if two_modules is not None:
        layout = two_modules
    if layout in TWO_MODULES and any(
        {f.module for f in side} != {0, 1} for side in (previous, current)
    ):
        layout = "v2"  # buf refuses a module without files
    state = rng.getstate()
    current_tree = layout_tree(current, layout, rng)
    rng.setstate(state)  # the same buf.yaml on both sides (unless the layout changes)
    previous_layout = layout
    if rng.random() < 0.2 and layout in SINGLE_MODULE:
        # buf compares images module by module: a layout change keeps one module
        previous_layout = rng.choice(SINGLE_MODULE)
    previous_tree = layout_tree(previous, previous_layout, rng)
    name = f"seed {seed}: {previous_layout}->{layout} {', '.join(edits)}"
    return Pair(name, previous_tree, current_tree)
