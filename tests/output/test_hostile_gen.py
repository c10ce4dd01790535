"""Hostile and unlucky input to `gen`: every test names the harm it guards against.

gen must never write or delete outside what it owns, never leave a tree the next run cannot
repair, and report what the user got wrong as exit 2 with the file and line, never as a bug.
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import SHOP_PROTOS, make_project, run_cli, snapshot_tree

from protoforge.config import load_config
from protoforge.config.model import duration_text
from protoforge.errors import ProtoforgeError

BASE = 'proto_roots = ["proto"]\nout = "gen"\n'

# --- config values that would render broken code -------------------------------------------


@pytest.mark.parametrize(
    ("table", "key", "reason"),
    [
        ("[client]\ntimeout = inf\n", "client.timeout", "finite"),
        ("[client]\ntimeout = nan\n", "client.timeout", "finite"),
        ("[client]\ntimeout = -1\n", "client.timeout", "positive"),
        ("[client]\ntimeout = 400000000000\n", "client.timeout", "limit"),
        ("[client]\ntimeout = 0.0000000015\n", "client.timeout", "nanoseconds"),
        ("[client.retry]\ninitial_backoff = 0.001\n", "initial_backoff", "milliseconds"),
        ("[client.retry]\ninitial_backoff = 0.0150000000001\n", "initial_backoff", "nanoseconds"),
        ("[client.retry]\ninitial_backoff = 0.1\nmax_backoff = inf\n", "max_backoff", "finite"),
        ("[client.retry]\nbackoff_multiplier = inf\n", "backoff_multiplier", "finite"),
        ("[client.retry]\nbackoff_multiplier = nan\n", "backoff_multiplier", "finite"),
    ],
)
def test_config_values_that_render_broken_clients_are_rejected(
    tmp_path: Path, table: str, key: str, reason: str
) -> None:
    """Harm: `timeout = inf` rendered `DEFAULT_TIMEOUT = inf` (NameError on import), a backoff
    of 0.0001 rendered "0s" and `inf` rendered "infs" (gRPC then fails every call with
    INVALID_ARGUMENT) - all with exit 0. Now: exit 2 naming the key, the file and its line."""
    project = make_project(tmp_path, SHOP_PROTOS, config=BASE + table)
    result = run_cli("gen", cwd=project)
    assert result.code == 2, result.output
    name = key.rsplit(".", 1)[-1]
    line = next(n for n, text in enumerate(table.splitlines(), 3) if text.startswith(name))
    assert f"protoforge.toml:{line}:1: error: " in result.stderr
    assert key in result.stderr and reason in result.stderr
    assert not (project / "gen").exists()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0001, "0.0001s"),
        (0.000000001, "0.000000001s"),
        (0.1, "0.1s"),
        (1.5, "1.5s"),
        (2, "2s"),
        (123.456789012, "123.456789012s"),
        (315_576_000_000, "315576000000s"),
    ],
)
def test_durations_render_exactly(seconds: float, text: str) -> None:
    """Harm: durations were rounded to milliseconds, so a small backoff became "0s", which
    gRPC rejects. A protobuf Duration in JSON is decimal seconds, up to 9 fractional digits, and
    an "s" suffix: every accepted value renders exactly."""
    assert duration_text(seconds) == text


def test_grpc_accepts_the_rendered_extremes() -> None:
    """Harm: a service config gRPC cannot parse fails every call. The smallest and largest
    durations the config accepts, in a real retry policy, make a retried call succeed."""
    attempts = []

    def flaky(request: bytes, context: grpc.ServicerContext) -> bytes:
        attempts.append(request)
        if len(attempts) == 1:
            context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
        return request

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.unary_unary_rpc_method_handler(flaky)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.S", {"M": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    policy = {
        "maxAttempts": 2,
        "initialBackoff": duration_text(0.01),
        "maxBackoff": duration_text(315_576_000_000),
        "backoffMultiplier": 2.0,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    config = {"methodConfig": [{"name": [{"service": "t.S"}], "retryPolicy": policy}]}
    try:
        with grpc.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.service_config", json.dumps(config))]
        ) as channel:
            assert channel.unary_unary("/t.S/M")(b"ping", timeout=10) == b"ping"
    finally:
        server.stop(None)
    assert len(attempts) == 2


def test_accepted_extreme_values_generate_importable_clients(tmp_path: Path) -> None:
    """Harm: exit 0 with a client module that does not import. The extremes the config accepts
    render a client that imports and carries them."""
    table = (
        "[client]\ntimeout = 0.000000001\n[client.retry]\ninitial_backoff = 0.010000001\n"
        "max_backoff = 315576000000\nbackoff_multiplier = 1e300\n"
    )
    project = make_project(tmp_path, SHOP_PROTOS, config=BASE + table)
    assert run_cli("gen", cwd=project).code == 0
    client = project / "gen" / "shop" / "v1" / "cart_pf_client.py"
    code = (
        "import shop.v1.cart_pf_client as c, json\n"
        "print(c.DEFAULT_TIMEOUT)\n"
        "print(json.dumps(c.SERVICE_CONFIG['methodConfig'][0]['retryPolicy']))\n"
    )
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project / "gen",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr + client.read_text()[:2000]
    timeout, policy = done.stdout.splitlines()
    assert float(timeout) == 1e-9
    assert '"initialBackoff": "0.010000001s"' in policy
    assert '"maxBackoff": "315576000000s"' in policy


# --- user input that was reported as a protoforge bug -----------------------------------------


@pytest.mark.parametrize("where", ["service", "method"])
def test_non_utf8_comment_is_a_user_error_with_file_and_line(tmp_path: Path, where: str) -> None:
    """Harm: a Latin-1 byte in a service or method comment crashed gen with "internal error"
    (exit 3, "please report a bug"), without saying which file to fix."""
    lines = [
        b'syntax = "proto3";',
        b"package shop.v1;",
        b"message Item { string sku = 1; }",
        b"// Caf\xe9 service" if where == "service" else b"// fine",
        b"service S {",
        b"  // r\xe9sum\xe9 of the item" if where == "method" else b"  // fine",
        b"  rpc Get(Item) returns (Item);",
        b"}",
    ]
    project = make_project(tmp_path, {})
    proto = project / "proto" / "shop" / "v1" / "item.proto"
    proto.parent.mkdir(parents=True)
    proto.write_bytes(b"\n".join(lines) + b"\n")
    result = run_cli("gen", cwd=project)
    assert result.code == 2, result.output
    line = 4 if where == "service" else 6
    assert f"proto/shop/v1/item.proto:{line}: error: comment has a byte that is not UTF-8" in (
        result.stderr
    )
    assert "internal error" not in result.output
    assert not (project / "gen").exists()


@pytest.mark.parametrize(
    ("template", "text", "message"),
    [
        ("client.py.jinja", "{{ header }}\n{% if services %}\n", "Unexpected end of template"),
        ("client.py.jinja", "{{ header }}\n\n{{ 1 // 0 }}\n", "ZeroDivisionError"),
        ("impl.py.jinja", "{{ header }}\n{{ file.name + 1 }}\n", "TypeError"),
        ("server.py.jinja", "{{ header }}\n{{ services[0].nope }}\n", "has no attribute 'nope'"),
    ],
)
def test_broken_user_template_is_a_user_error_naming_the_template(
    tmp_path: Path, template: str, text: str, message: str
) -> None:
    """Harm: a user's template that raises was reported as a protoforge bug (exit 3) without
    the template's name; the user could not tell their template was at fault."""
    project = make_project(tmp_path, SHOP_PROTOS, config=BASE + 'templates_dir = "tpl"\n')
    (project / "tpl").mkdir()
    (project / "tpl" / template).write_text(text)
    result = run_cli("gen", cwd=project)
    assert result.code == 2, result.output
    line = text.count("\n")
    assert f"tpl/{template}:{line}: error: " in result.stderr
    assert message in result.stderr
    assert snapshot_tree(project / "gen") == {}


# --- confinement: plugin responses, manifests, caches, symlinks -------------------------------

# A protoc plugin that returns one file per name in its parameter (names separated by ":").
NAMING_PLUGIN = """#!{python}
import sys
from google.protobuf.compiler import plugin_pb2

request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
response = plugin_pb2.CodeGeneratorResponse()
for name in request.parameter.split(":"):
    out = response.file.add()
    out.name = name
    out.content = "// from the plugin\\n"
sys.stdout.buffer.write(response.SerializeToString())
"""


def target_project(tmp_path: Path, names: str = "api/shop.ts") -> Path:
    """A project under tmp_path/p whose target `ts` (out = "ts") writes `names`."""
    plugin = tmp_path / "bin" / "protoc-gen-names"
    plugin.parent.mkdir(parents=True, exist_ok=True)
    plugin.write_text(NAMING_PLUGIN.format(python=sys.executable))
    plugin.chmod(0o755)
    table = f'[targets.ts]\nout = "ts"\nplugin = "{plugin}"\noptions = ["{names}"]\n'
    return make_project(tmp_path / "p", SHOP_PROTOS, config=BASE + table)


def everything_below(directory: Path) -> dict[str, bytes]:
    """Every file (and link target text) below `directory`, to prove nothing changed."""
    found: dict[str, bytes] = {}
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if path.is_symlink():
            found[name] = b"-> " + str(path.readlink()).encode()
        elif path.is_file():
            found[name] = path.read_bytes()
    return found


@pytest.mark.parametrize("name", ["../escaped.ts", "sub/../../escaped.ts", "ABSOLUTE"])
def test_plugin_file_names_outside_the_target_are_refused(tmp_path: Path, name: str) -> None:
    """Harm: a plugin (buggy, or fed hostile options) returning `../x`, `sub/../../x` or
    `/abs/x` made gen write those files outside the target directory and list them in the
    manifest, whose next run could then delete them."""
    outside = tmp_path / "outside"
    outside.mkdir()
    name = name.replace("ABSOLUTE", str(outside / "escaped.ts"))
    project = target_project(tmp_path, f"api/fine.ts:{name}")
    before = everything_below(tmp_path)
    result = run_cli("gen", cwd=project)
    assert result.code == 2, result.output
    assert f"targets.ts: error: {name!r} is not a relative path inside ts" in result.stderr
    assert everything_below(tmp_path) == before  # nothing written, here or anywhere


def gen_ok(project: Path, *args: str) -> None:
    result = run_cli("gen", *args, cwd=project)
    assert result.code == 0, result.output


@pytest.mark.parametrize("line", ["ABSOLUTE", "../victim.txt", "api/../../victim.txt"])
def test_manifest_naming_files_outside_is_an_error(tmp_path: Path, line: str) -> None:
    """Harm: a committed `.protoforge-manifest` with an absolute path (or `..`) made gen delete
    that file - any file the user can delete, anywhere on the machine."""
    project = target_project(tmp_path)
    gen_ok(project)
    victim = project / "victim.txt"
    victim.write_text("precious\n")
    manifest = project / "ts" / ".protoforge-manifest"
    line = line.replace("ABSOLUTE", str(victim))
    manifest.write_text(manifest.read_text() + f"{line}\n")
    for args in ((), ("--no-cache",)):
        result = run_cli("gen", *args, cwd=project)
        assert result.code == 2, result.output
        number = len(manifest.read_text().splitlines())
        assert f"ts/.protoforge-manifest:{number}: error: {line!r} is not a relative path" in (
            result.stderr
        )
        assert victim.read_text() == "precious\n"


def test_manifest_path_through_a_symlink_is_refused(tmp_path: Path) -> None:
    """Harm: a manifest line `link/victim.txt`, with `link` a symlink inside the target
    directory pointing elsewhere, deleted the file the link leads to."""
    project = target_project(tmp_path)
    gen_ok(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "victim.txt").write_text("precious\n")
    (project / "ts" / "link").symlink_to(elsewhere)
    manifest = project / "ts" / ".protoforge-manifest"
    manifest.write_text(manifest.read_text() + "link/victim.txt\n")
    result = run_cli("gen", "--no-cache", cwd=project)
    assert result.code == 2, result.output
    assert "ts/link/victim.txt: error: is below ts/link, a symbolic link" in result.stderr
    assert (elsewhere / "victim.txt").read_text() == "precious\n"


@pytest.mark.parametrize("recorded", ["legacy", "wrong digest"])
def test_tampered_manifest_cannot_delete_a_user_file_inside_the_target(
    tmp_path: Path, recorded: str
) -> None:
    """Harm: a manifest line naming a user's own file inside the target directory (a README)
    deleted it as a "stale generated file". Removal needs the file's content to match the
    digest gen recorded when it wrote the file."""
    project = target_project(tmp_path)
    gen_ok(project)
    mine = project / "ts" / "README.md"
    mine.write_text("my notes\n")
    manifest = project / "ts" / ".protoforge-manifest"
    fake = "README.md" if recorded == "legacy" else f"{'0' * 64} README.md"
    manifest.write_text(manifest.read_text() + f"{fake}\n")
    for args in ((), ("--no-cache",)):
        gen_ok(project, *args)
        assert mine.read_text() == "my notes\n"


def test_stale_target_file_is_removed_when_it_is_what_gen_wrote(tmp_path: Path) -> None:
    """The other side of the digest rule: a target file gen wrote and that is no longer
    generated is still removed (and a hand-edited one is kept)."""
    project = target_project(tmp_path, "api/a.ts:api/b.ts:api/c.ts")
    gen_ok(project)
    (project / "ts" / "api" / "b.ts").write_text("// my edit\n")
    toml = project / "protoforge.toml"
    toml.write_text(toml.read_text().replace("api/a.ts:api/b.ts:api/c.ts", "api/c.ts"))
    gen_ok(project)
    assert not (project / "ts" / "api" / "a.ts").exists()
    assert (project / "ts" / "api" / "b.ts").read_text() == "// my edit\n"
    assert (project / "ts" / "api" / "c.ts").exists()
    assert "api/c.ts" in (project / "ts" / ".protoforge-manifest").read_text()


def test_stale_file_of_a_manifest_without_digests_is_removed_when_the_cache_vouches(
    tmp_path: Path,
) -> None:
    """Upgrade path: a manifest written before digests were recorded (paths only). A stale file
    it lists is removed when the cache recorded it exactly as it is on disk; without that
    evidence (no cache) it is left alone rather than trusted."""
    project = target_project(tmp_path, "api/a.ts:api/b.ts")
    gen_ok(project)
    manifest = project / "ts" / ".protoforge-manifest"
    lines = manifest.read_text().splitlines()
    manifest.write_text(
        "\n".join([lines[0], *(line.split(" ", 1)[1] for line in lines[1:])]) + "\n"
    )
    toml = project / "protoforge.toml"
    toml.write_text(toml.read_text().replace("api/a.ts:api/b.ts", "api/b.ts"))
    gen_ok(project)
    assert not (project / "ts" / "api" / "a.ts").exists()
    assert (project / "ts" / "api" / "b.ts").exists()


def test_cache_entry_outside_out_is_an_error(tmp_path: Path) -> None:
    """Harm: a tampered `.protoforge-cache` listing a file outside `out` made gen delete it as
    stale whenever it carried protoforge's header (a copy of a generated file elsewhere)."""
    project = make_project(tmp_path / "p", SHOP_PROTOS)
    gen_ok(project)
    victim = tmp_path / "elsewhere" / "copy_pb2.py"
    victim.parent.mkdir()
    victim.write_bytes((project / "gen" / "shop" / "v1" / "item_pb2.py").read_bytes())
    state_path = project / ".protoforge-cache" / "gen-state.json"
    state = json.loads(state_path.read_text())
    some = next(iter(state["files"].values()))
    state["files"][str(victim)] = some
    state_path.write_text(json.dumps(state))
    (project / "proto" / "shop" / "v1" / "cart.proto").unlink()  # makes gen look for stale
    result = run_cli("gen", cwd=project)
    assert result.code == 2, result.output
    assert f"{str(victim)!r} is outside what protoforge owns" in result.stderr
    assert ".protoforge-cache/gen-state.json" in result.stderr
    assert victim.exists()


def test_symlinked_directory_inside_out_is_not_written_through(tmp_path: Path) -> None:
    """Harm: `out/shop` being a symlink to another directory made gen write (and remove) the
    generated files there instead of inside `out`."""
    project = make_project(tmp_path / "p", SHOP_PROTOS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "gen").mkdir()
    (project / "gen" / "shop").symlink_to(elsewhere, target_is_directory=True)
    result = run_cli("gen", cwd=project)
    assert result.code == 2, result.output
    assert "is below gen/shop, a symbolic link; protoforge does not follow links" in (result.stderr)
    assert list(elsewhere.iterdir()) == []


def test_symlink_at_a_generated_path_is_refused(tmp_path: Path) -> None:
    """Harm: a generated path that is a symlink to a user's file would be read through and
    replaced; gen writes only regular files, and says so."""
    project = make_project(tmp_path / "p", SHOP_PROTOS)
    gen_ok(project)
    victim = tmp_path / "victim.py"
    victim.write_text("mine\n")
    generated = project / "gen" / "shop" / "v1" / "item_pb2.py"
    generated.unlink()
    generated.symlink_to(victim)
    result = run_cli("gen", cwd=project)
    assert result.code == 2, result.output
    assert "gen/shop/v1/item_pb2.py: error: is a symbolic link" in result.stderr
    assert victim.read_text() == "mine\n"
    assert generated.is_symlink()


# --- full disk ----------------------------------------------------------------------------------


def many_contracts(count: int, start: int = 0) -> dict[str, str]:
    return {
        f"bulk/v{index}/thing.proto": f'syntax = "proto3";\npackage bulk.v{index};\n'
        f"// {'padding ' * 200}\nmessage Thing {{ string name = 1; }}\n"
        "service Things { rpc Get(Thing) returns (Thing); }\n"
        for index in range(start, start + count)
    }


def assert_no_debris(tree: Path) -> None:
    """No 0-byte files and no temporary files left anywhere below `tree`."""
    for path in tree.rglob("*"):
        assert not path.name.endswith(".protoforge-tmp"), path
        if path.is_file():
            assert path.stat().st_size > 0, f"0-byte file at {path}"


def test_full_disk_fault_leaves_every_path_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Harm: a full disk left 0-byte files at generated paths and said "could not write .:";
    every later gen then refused them as "exists and was not generated". Injected here where
    the disk fills in real life: a write() that writes part of the data, then fails with ENOSPC
    and no file name. Works on every machine (the tmpfs test below needs mount rights)."""
    import errno
    import os

    from protoforge import paths as paths_module
    from protoforge.output.plan import compare
    from protoforge.pipeline import generate, write

    project = make_project(tmp_path, many_contracts(3))
    config = load_config(project / "protoforge.toml")
    plan = generate(config)
    write(config, plan, compare(plan))
    for name, text in many_contracts(6, start=3).items():  # created files
        (project / "proto" / name).parent.mkdir(parents=True)
        (project / "proto" / name).write_text(text)
    first = project / "proto" / "bulk" / "v0" / "thing.proto"  # updated files
    first.write_text(first.read_text().replace("string name = 1;", "string name = 1; int32 n = 2;"))
    before = snapshot_tree(project / "gen")

    real_write_fully = paths_module._write_fully
    writes = 0

    def fills_up(descriptor: int, content: bytes) -> None:
        nonlocal writes
        writes += 1
        if writes == 7:  # part of the data lands, then the disk is full
            os.write(descriptor, content[: len(content) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write_fully(descriptor, content)

    monkeypatch.setattr(paths_module, "_write_fully", fills_up)
    plan = generate(config)
    outcome = compare(plan)
    changed = [c for c in outcome.changes if c.is_change]
    assert len(changed) > 7
    with pytest.raises(ProtoforgeError) as caught:
        write(config, plan, outcome)
    monkeypatch.undo()
    message = caught.value.message
    assert message.startswith("could not write ") and message.endswith(": No space left on device")
    failed_path = message.removeprefix("could not write ").split(":")[0]
    assert failed_path.endswith(".py") or failed_path.endswith(".pyi"), message
    assert snapshot_tree(project / "gen") == before
    assert_no_debris(project / "gen")
    plan = generate(config)  # the next run repairs: nothing stands in its way
    write(config, plan, compare(plan))
    assert all(p.is_file() for p in plan.files)


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (one contract's tree fits, 40 more do not; root only: skipped where
    mounting is not permitted), unmounted after."""
    import subprocess

    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_real_full_disk_leaves_the_tree_as_it_was_and_the_next_run_repairs(
    tmp_path: Path, small_tmpfs: Path
) -> None:
    """Harm: as above, on a real full file system (a small tmpfs as `out`)."""
    import subprocess

    project = make_project(
        tmp_path / "p",
        many_contracts(1),
        config=f'proto_roots = ["proto"]\nout = "{small_tmpfs}"\n',
    )
    gen_ok(project)
    before = snapshot_tree(small_tmpfs)
    for name, text in many_contracts(40, start=1).items():
        (project / "proto" / name).parent.mkdir(parents=True)
        (project / "proto" / name).write_text(text)
    result = run_cli("gen", cwd=project)
    assert result.code == 2, result.output
    assert "protoforge: error: could not write " in result.stderr
    assert ": No space left on device" in result.stderr
    assert "could not write .:" not in result.stderr
    assert snapshot_tree(small_tmpfs) == before
    assert_no_debris(small_tmpfs)
    # Space freed: the next run succeeds with no hand repair.
    subprocess.run(["mount", "-o", "remount,size=8m", str(small_tmpfs)], check=True)
    gen_ok(project)
    assert (small_tmpfs / "bulk" / "v40" / "thing_pb2.py").is_file()


# --- concurrent gens ---------------------------------------------------------------------------


def test_two_gens_at_once_serialize_and_leave_a_current_tree(tmp_path: Path) -> None:
    """Harm: two gens on one tree interleaved; one run's rollback wrote old content over the
    other's files, and both reported success over a stale tree. Now the second waits for the
    first (saying so) and plans against its result: both succeed, the tree is current."""
    import subprocess

    project = make_project(tmp_path / "p", many_contracts(150))
    command = [sys.executable, "-m", "protoforge", "gen"]
    runs = [
        subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    errors = [err.decode() for _, err in outputs]
    assert any("waiting for another gen on this project" in text for text in errors), errors
    check = run_cli("gen", "--check", cwd=project)
    assert check.code == 0, check.output
    # One run created everything; the other found it current.
    summaries = sorted(out.decode().splitlines()[-1] for out, _ in outputs)
    assert any(" 0 created, 0 updated" in line for line in summaries), summaries


def test_gen_while_another_holds_the_lock_exits_2_after_the_bounded_wait(tmp_path: Path) -> None:
    """Harm: a second gen (a watcher, an IDE hook) silently racing the first. With the lock
    held past --lock-timeout, gen exits 2 saying another gen is running, having changed
    nothing."""
    import fcntl
    import os

    project = make_project(tmp_path / "p", SHOP_PROTOS)
    before = snapshot_tree(project)
    descriptor = os.open(project, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        result = run_cli("gen", "--lock-timeout", "0.5", cwd=project)
        check = run_cli("gen", "--check", "--lock-timeout", "0", cwd=project)
    finally:
        os.close(descriptor)
    assert result.code == 2, result.output
    assert "waiting for another gen on this project" in result.stderr
    assert "protoforge: error: another protoforge gen is running on" in result.stderr
    assert check.code == 2, check.output
    assert snapshot_tree(project) == before


# --- SIGKILL and SIGTERM at random moments of a 300-contract gen ------------------------------

KILL_SEED = 13
CONTRACTS = 300  # enough for every phase to last longer than its kill window below
# (signal, phase). "compile": a seeded 0-300 ms after the first protoc or stub-generator
# process of the run appears, while they run. "stage": a seeded 0-200 ms after gen creates
# `gen/fresh/` (the first directory of the sorted writes), while it writes temporary files.
# "commit": a seeded 0-30 ms after the first new file (`gen/fresh/new0_pb2.py`) appears, while
# temporary files replace their paths. Each moment is found by watching for what starts the
# phase, not by a delay from the start: the kill lands in its phase on a fast machine and on a
# loaded one, with a tree small enough to keep these tests cheap.
KILL_POINTS = (
    ("SIGINT", "compile"),  # Ctrl-C: protoc runs in its own process group, gen must stop it
    ("SIGTERM", "compile"),
    ("SIGTERM", "commit"),
    ("SIGKILL", "stage"),
    ("SIGKILL", "commit"),
)
WAIT_FOR = {"stage": "gen/fresh", "commit": "gen/fresh/new0_pb2.py"}
DELAYS = {"compile": (0.0, 0.3), "stage": (0.0, 0.2), "commit": (0.0, 0.03)}


def output_tree(project: Path) -> dict[str, bytes]:
    """Everything gen owns in `project` (generated tree and scaffolds), not the contracts."""
    return {
        name: content
        for name, content in snapshot_tree(project).items()
        if not name.startswith(("proto/", ".protoforge-cache/"))
    }


def edit_contracts(project: Path) -> None:
    """Changes that make the next gen update, create and remove files."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        import synth
    finally:
        sys.path.pop(0)
    proto = project / "proto"
    for index in range(0, CONTRACTS, 2):  # updated
        path = proto / synth.file_name(index)
        text = path.read_text().replace(
            "  string id = 1;", "  string id = 1;\n  int32 added = 999;"
        )
        path.write_text(text)
    for index in range(CONTRACTS - 10, CONTRACTS):  # removed (the last files: nothing imports them)
        (proto / synth.file_name(index)).unlink()
    for index in range(20):  # created
        path = proto / "fresh" / f"new{index}.proto"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f'syntax = "proto3";\npackage fresh.n{index};\nmessage M {{ string a = 1; }}\n'
            "service S { rpc Get(M) returns (M); }\n"
        )


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains `text` (protoc and the stub generator are
    started with paths inside their temporary directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def contracts_tree(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A 300-contract project generated once (the "old" tree), and the edits applied to a
    copy and generated there (the "new" tree)."""
    import shutil
    import subprocess
    import time

    base = tmp_path_factory.mktemp("contracts")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        import synth
    finally:
        sys.path.pop(0)
    pristine = base / "pristine"
    synth.generate_tree(pristine / "proto", CONTRACTS)
    (pristine / "protoforge.toml").write_text(BASE)
    gen_ok(pristine)
    reference = base / "reference"
    shutil.copytree(pristine, reference, symlinks=True)
    edit_contracts(reference)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "protoforge", "gen", "-q"], cwd=reference, check=True)
    return {
        "pristine": pristine,
        "old": output_tree(pristine),
        "new": output_tree(reference),
        "seconds": time.monotonic() - started,
    }


def kill_moments() -> list[tuple[str, str, float]]:
    rng = random.Random(KILL_SEED)
    return [(name, phase, rng.uniform(*DELAYS[phase])) for name, phase in KILL_POINTS]


@pytest.mark.slow
@pytest.mark.parametrize(("signal_name", "phase", "delay"), kill_moments())
def test_killed_gen_leaves_old_or_new_files_and_the_next_run_repairs(
    tmp_path: Path, contracts_tree: dict[str, Any], signal_name: str, phase: str, delay: float
) -> None:
    """Harm: a gen killed midway (CI timeout, OOM killer, Ctrl-C, `kill`) left half-written
    files that every later gen refused ("exists and was not generated"), protoc and stub
    processes still running and temporary directories behind (SIGTERM; SIGINT was clean).

    Here gen is killed at a seeded random moment of a 300-contract run that updates, creates
    and removes files: every path must hold its old or its new content (or be absent where it
    was absent before or after), the next gen must produce exactly the new tree, and after
    SIGTERM or SIGINT (exit 143 / 130) no process of that run and none of its temporary
    directories may remain."""
    import os
    import shutil
    import signal
    import subprocess
    import time

    project = tmp_path / "p"
    shutil.copytree(contracts_tree["pristine"], project, symlinks=True)
    edit_contracts(project)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary)}
    gen = subprocess.Popen(
        [sys.executable, "-m", "protoforge", "gen", "-q"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def phase_started() -> bool:
        if phase == "compile":
            return bool(processes_mentioning(str(temporary)))
        return (project / WAIT_FOR[phase]).exists()

    deadline = time.monotonic() + 120
    while not phase_started() and gen.poll() is None:
        assert time.monotonic() < deadline, f"gen never reached its {phase} phase"
        time.sleep(0.002)
    time.sleep(delay)
    gen.send_signal(getattr(signal, signal_name))
    _, stderr = gen.communicate(timeout=120)
    if signal_name in ("SIGTERM", "SIGINT"):
        code, word = (143, "terminated") if signal_name == "SIGTERM" else (130, "interrupted")
        assert gen.returncode in (0, code), stderr.decode()
        if gen.returncode == code:
            assert stderr.decode().strip().endswith(f"protoforge: {word}"), stderr.decode()
        deadline = time.monotonic() + 5
        while processes_mentioning(str(temporary)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_mentioning(str(temporary)) == []
        assert list(temporary.iterdir()) == []
    else:
        for pid in processes_mentioning(str(temporary)):  # orphans of the killed run
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    old, new, now = contracts_tree["old"], contracts_tree["new"], output_tree(project)
    # SIGKILL while staging can leave the hidden temporary files of paths not yet replaced:
    # not generated paths (the next run replaces them, checked below).
    now = {name: content for name, content in now.items() if not is_temporary(name)}
    mixed = [
        name
        for name in sorted(old.keys() | new.keys() | now.keys())
        if now.get(name) not in (old.get(name), new.get(name))
    ]
    assert mixed == [], f"{len(mixed)} paths are neither old nor new, e.g. {mixed[:5]}"

    repair = run_cli("gen", "-q", cwd=project, env={"TMPDIR": str(temporary)})
    assert repair.code == 0, repair.output
    assert output_tree(project) == new  # temporary files included: none is left
    assert_no_debris(project / "gen")


def is_temporary(name: str) -> bool:
    return name.rsplit("/", 1)[-1].endswith(".protoforge-tmp")


def test_a_killed_runs_temporary_file_next_to_a_current_file_is_removed(tmp_path: Path) -> None:
    """Harm: a run killed between linking a new file in and unlinking its temporary file left
    `.NAME.protoforge-tmp` behind, and no later run removed it (the path needed no write)."""
    project = make_project(tmp_path, SHOP_PROTOS, config=BASE)
    assert run_cli("gen", "-q", cwd=project).code == 0
    current = next((project / "gen").rglob("cart_pb2.py"))
    leftover = current.with_name(f".{current.name}.protoforge-tmp")
    leftover.write_bytes(current.read_bytes())
    assert run_cli("gen", "--check", "--no-cache", cwd=project).code == 0
    assert leftover.exists()  # --check writes nothing
    assert run_cli("gen", "-q", "--no-cache", cwd=project).code == 0
    assert not leftover.exists()
