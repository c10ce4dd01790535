"""The fast path of check-breaking (only the touched packages) reports exactly what the full check
reports: every kind of edit to a small multi-package tree, against a git ref and a directory; the
compiled-baseline cache; falling back; no changes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from breaking_support import FAST_PATH_ALWAYS, git, git_project, isolated_cache  # noqa: F401
from conftest import run_cli, run_python

from protoforge.breaking import basecache, check_breaking
from protoforge.breaking import full as full_check
from protoforge.breaking.bufconfig import load_buf_settings
from protoforge.breaking.findings import Report
from protoforge.breaking.incremental import check as fastpath
from protoforge.config import Config, load_config
from protoforge.errors import ProtoforgeError

TREE = {
    "acme/deep/v1/deep.proto": """
        syntax = "proto3";
        package acme.deep.v1;

        import "google/protobuf/struct.proto";

        enum Level {
          LEVEL_UNSPECIFIED = 0;
          LEVEL_HIGH = 1;
        }

        message Deep {
          map<string, Level> levels = 1;
          google.protobuf.Struct extra = 2;
          message Inner { Level level = 1; }
          Inner inner = 3;
        }
    """,
    "acme/common/v1/types.proto": """
        syntax = "proto3";
        package acme.common.v1;

        import "acme/deep/v1/deep.proto";

        enum Currency {
          CURRENCY_UNSPECIFIED = 0;
          CURRENCY_EUR = 1;
          CURRENCY_USD = 2;
        }

        message Money {
          Currency currency = 1;
          int64 units = 2;
          acme.deep.v1.Deep deep = 3;
        }
    """,
    "acme/common/v1/ids.proto": """
        syntax = "proto3";
        package acme.common.v1;

        message Id { string value = 1; }
    """,
    "acme/common/v1/reexport.proto": """
        syntax = "proto3";
        package acme.common.v1;
        import public "acme/common/v1/ids.proto";
    """,
    "acme/orders/v1/orders.proto": """
        syntax = "proto3";
        package acme.orders.v1;

        import "acme/common/v1/types.proto";
        import "acme/common/v1/reexport.proto";
        import "google/protobuf/timestamp.proto";

        message Order {
          acme.common.v1.Id id = 1;
          acme.common.v1.Money total = 2;
          string note = 3;
          google.protobuf.Timestamp created = 4;
        }

        message Line {
          string sku = 1;
          int32 quantity = 2;
        }
    """,
    "acme/orders/v1/service.proto": """
        syntax = "proto3";
        package acme.orders.v1;

        import "acme/orders/v1/orders.proto";

        service OrderService {
          rpc GetOrder(Order) returns (Order);
          rpc WatchOrders(Order) returns (stream Order);
        }
    """,
    "acme/billing/v1/billing.proto": """
        syntax = "proto3";
        package acme.billing.v1;

        import "acme/common/v1/types.proto";

        // protoforge:allow-breaking FIELD_SAME_TYPE -- invoices are recomputed nightly
        message Invoice {
          acme.common.v1.Money amount = 1;
          int32 lines = 2;
        }
    """,
    "acme/audit/v1/audit.proto": """
        syntax = "proto3";
        package acme.audit.v1;

        import "google/protobuf/duration.proto";

        message Entry {
          string actor = 1;
          google.protobuf.Duration took = 2;
        }
    """,
}

ORDERS = "acme/orders/v1/orders.proto"
SERVICE = "acme/orders/v1/service.proto"
TYPES = "acme/common/v1/types.proto"
IDS = "acme/common/v1/ids.proto"
AUDIT = "acme/audit/v1/audit.proto"
BILLING = "acme/billing/v1/billing.proto"

Edit = Callable[[Path], None]


def replace_in(name: str, old: str, new: str) -> Edit:
    def edit(proto: Path) -> None:
        path = proto / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def chain(*edits: Edit) -> Edit:
    def edit(proto: Path) -> None:
        for one in edits:
            one(proto)

    return edit


def delete(name: str) -> Edit:
    return lambda proto: (proto / name).unlink()


def add(name: str, text: str) -> Edit:
    def edit(proto: Path) -> None:
        (proto / name).parent.mkdir(parents=True, exist_ok=True)
        (proto / name).write_text(text, encoding="utf-8")

    return edit


EDITS: dict[str, Edit] = {
    "add-field": replace_in(ORDERS, "string note = 3;", "string note = 3;\n  bool rush = 5;"),
    "remove-field": replace_in(ORDERS, "  string note = 3;\n", ""),
    "rename-field": replace_in(ORDERS, "string note = 3;", "string remark = 3;"),
    "change-field-type": replace_in(ORDERS, "int32 quantity = 2;", "int64 quantity = 2;"),
    "delete-message": replace_in(
        ORDERS, "message Line {\n  string sku = 1;\n  int32 quantity = 2;\n}\n", ""
    ),
    "delete-enum-value": replace_in(TYPES, "  CURRENCY_USD = 2;\n", ""),
    "change-imported-type": replace_in(TYPES, "int64 units = 2;", "int32 units = 2;"),
    "delete-file": delete(AUDIT),
    "add-file": add(
        "acme/audit/v1/more.proto",
        'syntax = "proto3";\npackage acme.audit.v1;\nmessage More { string x = 1; }\n',
    ),
    "add-package": add(
        "acme/fresh/v1/fresh.proto", 'syntax = "proto3";\npackage acme.fresh.v1;\nmessage F {}\n'
    ),
    "move-type-within-package": chain(
        replace_in(ORDERS, "message Line {\n  string sku = 1;\n  int32 quantity = 2;\n}\n", ""),
        replace_in(
            SERVICE,
            "service OrderService",
            "message Line {\n  string sku = 1;\n  int32 quantity = 2;\n}\n\nservice OrderService",
        ),
    ),
    "rename-package": chain(
        replace_in(AUDIT, "package acme.audit.v1;", "package acme.audit.v2;"),
    ),
    "rpc-streaming": replace_in(
        SERVICE,
        "rpc GetOrder(Order) returns (Order);",
        "rpc GetOrder(Order) returns (stream Order);",
    ),
    "re-exported-type": replace_in(IDS, "string value = 1;", "bytes value = 1;"),
    "suppressed-change": replace_in(BILLING, "int32 lines = 2;", "int64 lines = 2;"),
    "drop-an-import": chain(
        replace_in(AUDIT, 'import "google/protobuf/duration.proto";\n', ""),
        replace_in(AUDIT, "google.protobuf.Duration took = 2;", "int64 took = 2;"),
    ),
    "deep-change": replace_in("acme/deep/v1/deep.proto", "LEVEL_HIGH = 1;", "LEVEL_HIGH = 2;"),
    "comment-only": replace_in(ORDERS, "message Line {", "// A line.\nmessage Line {"),
    "several-packages": chain(
        replace_in(ORDERS, "string note = 3;", "string remark = 3;"),
        replace_in(AUDIT, "string actor = 1;", "bytes actor = 1;"),
        delete(BILLING),
    ),
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return git_project(tmp_path_factory.mktemp("fast"), TREE)


def reset(base: Path) -> None:
    git(base, "checkout", "-q", "--", ".")
    git(base, "clean", "-qfd", "proto")


def outcome(run: Callable[[], Report | None]) -> Report | str | None:
    try:
        return run()
    except ProtoforgeError as exc:  # the same error, word for word
        return f"{type(exc).__name__}: {exc.message} {exc.diagnostics}"


def both(config: Config, against: str) -> tuple[Report | str | None, Report | str | None]:
    settings = load_buf_settings(config)
    fast = outcome(lambda: fastpath.check(config, against, settings))
    full = outcome(lambda: full_check.check(config, against, settings))
    return fast, full


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_fast_path_reports_what_the_full_check_reports(
    repo: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    reset(repo)
    try:
        EDITS[kind](repo / "proto")
        config = load_config(repo / "protoforge.toml")
        fast, full = both(config, "main")
        assert fast is not None, "the fast path fell back to the full check"
        assert fast == full
        if kind == "comment-only" or kind.startswith("add-"):
            assert isinstance(fast, Report) and not fast.breaking
        elif kind != "suppressed-change":
            assert isinstance(fast, Report) and fast.breaking, fast
    finally:
        reset(repo)


def test_directory_baseline_and_compile_errors(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    reset(repo)
    baseline = repo.parent / "fast-dir-baseline"
    shutil.rmtree(baseline, ignore_errors=True)
    shutil.copytree(repo / "proto", baseline / "proto")
    config = load_config(repo / "protoforge.toml")
    try:
        for kind in ("rename-field", "delete-file", "rename-package", "move-type-within-package"):
            EDITS[kind](repo / "proto")
            fast, full = both(config, str(baseline))
            assert fast is not None and fast == full, kind
            reset(repo)
        # a renamed message that another package uses: the fast path leaves compile errors to
        # the full check, which lists every file they reach
        replace_in(TYPES, "message Money {", "message Cash {")(repo / "proto")
        fast, full = both(config, "main")
        assert fast is None and isinstance(full, str) and "do not compile" in full
        report = outcome(lambda: check_breaking(config, "main"))
        assert report == full
    finally:
        reset(repo)


def test_no_changes_runs_no_protoc(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    reset(repo)
    config = load_config(repo / "protoforge.toml")
    compiled: list[int] = []
    import protoforge.breaking.inprocess

    real = protoforge.breaking.inprocess.compile_descriptor_set

    def counting(contracts, *args, **kwargs):  # type: ignore[no-untyped-def]
        compiled.append(len(contracts))
        return real(contracts, *args, **kwargs)

    monkeypatch.setattr(protoforge.breaking.inprocess, "compile_descriptor_set", counting)
    report = fastpath.check(config, "main", load_buf_settings(config))
    assert isinstance(report, Report) and report.findings == ()
    assert report.baseline.startswith("git ref main (")
    # only the file with a suppression comment is compiled (to validate the comment)
    assert compiled == [1]


def test_baseline_cache_by_commit(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    reset(repo)
    config = load_config(repo / "protoforge.toml")
    shutil.rmtree(basecache.directory(config), ignore_errors=True)
    settings = load_buf_settings(config)
    EDITS["rename-field"](repo / "proto")
    try:
        first = fastpath.check(config, "main", settings)
        entries = list(basecache.directory(config).glob("*.binpb"))
        assert len(entries) == 1

        def no_compile(*args: object, **kwargs: object) -> bytes:
            raise AssertionError("the baseline was compiled again")

        with monkeypatch.context() as patch:
            patch.setattr(fastpath, "compile_baseline", no_compile)
            assert fastpath.check(config, "main", settings) == first
        # a damaged entry is a miss, never an error or a wrong answer
        for damage in (b"", b"garbage", entries[0].read_bytes()[:-7]):
            entries[0].write_bytes(damage)
            assert fastpath.check(config, "main", settings) == first
        assert basecache.load(config, entries[0].stem)  # rewritten after the miss
    finally:
        reset(repo)


def test_excluded_file_change_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = git_project(tmp_path, {AUDIT: TREE[AUDIT], "vendor/x.proto": 'syntax = "proto3";\n'})
    (base / "protoforge.toml").write_text(
        'proto_roots = ["proto"]\nout = "gen"\nexclude = ["vendor/*"]\n', encoding="utf-8"
    )
    git(base, "commit", "-qam", "exclude")
    monkeypatch.chdir(base)
    (base / "proto/vendor/x.proto").write_text('syntax = "proto3";\nmessage X {}\n')
    config = load_config(base / "protoforge.toml")
    assert fastpath.check(config, "main", load_buf_settings(config)) is None


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast path", "full"])
def test_the_cache_is_not_in_the_project(tmp_path: Path, fast_path: bool) -> None:
    """check-breaking leaves nothing in the project: the fast path keeps a git baseline's
    compiled files in the user's cache directory (here PROTOFORGE_CACHE_DIR, this test's own),
    and the full check of a git baseline keeps none."""
    base = git_project(
        tmp_path / "project",
        {"a/v1/a.proto": 'syntax = "proto3";\npackage a.v1;\nmessage A { string x = 1; }\n'},
    )
    (base / "proto/a/v1/a.proto").write_text('syntax = "proto3";\npackage a.v1;\nmessage A {}\n')
    before = set(base.iterdir())
    cache = tmp_path / "cache"
    args = ("check-breaking", "--against", "main")
    env = {"PROTOFORGE_CACHE_DIR": str(cache)}
    result = (
        run_python(("-c", FAST_PATH_ALWAYS), *args, cwd=base, env=env)
        if fast_path
        else run_cli(*args, cwd=base, env=env)
    )
    assert result.code == 1, result.output
    assert set(base.iterdir()) == before
    if fast_path:
        assert list((cache / "breaking-baselines").glob("*.binpb"))
    else:  # a git baseline's files are compiled anew (no cache); nothing else was written
        assert not cache.exists() or not list(cache.rglob("*.binpb"))
