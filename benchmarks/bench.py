"""protoforge against the tools a user would otherwise run, in the same run, on the same tree.

    python benchmarks/bench.py --sizes 100 1000 5000
    python benchmarks/bench.py --breaking-only --sizes 10 100 1000 5000 --repeat 7

For each size it generates a synthetic tree (benchmarks/synth.py) and measures wall time, CPU time
and peak memory (whole process tree) of:

- gen, cold:        protoforge gen (no cache)            vs one raw grpc_tools.protoc call with the
                                                           same four outputs (python, grpc, mypy,
                                                           mypy_grpc)
- gen, no-op:       protoforge gen again (nothing changed) vs protoforge's cold time
- gen, one edit:    protoforge gen after editing one contract vs protoforge's cold time
- watch, one edit:  protoforge gen --watch running on the tree, one contract saved: the time
                    from the save until its outputs are rewritten (median of --repeat edits) vs
                    a one-shot protoforge gen after the same kind of edit (median likewise);
                    CPU: the watcher's own and its protoc/mypy-protobuf children's per edit
- breaking, 1 edit: protoforge check-breaking --against DIR vs buf breaking DIR --against BASE,
                    run alternately --repeat times (medians compared: the machine's load
                    changes less between two neighbouring runs than over a whole series);
                    the baseline's compiled set comes from check-breaking's cache after the
                    first run (as on a pull request's later runs), so it is also measured with
                    an empty cache every time ("no cache"; and against buf with an empty cache of
                    its own too, as on a new CI runner: "both caches empty"), and with --full
                    (every contract on both sides) for reference; then again, without
                    --full, with a v1 buf.yaml in the module on both sides ("buf.yaml ..."):
                    most trees that buf checks have one, and protoforge reads it itself
- --help:           protoforge --help (absolute)
- the machine:      how much faster N CPU-bound processes at once finish than one after another
                    (N = the CPU count; ideal N x). protoforge's cold gen spreads its work over the
                    cores, raw protoc uses one, so this bounds what sharding can win here.

Ratios < 1 mean protoforge is faster / smaller. Results go to stdout (and --json FILE).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Measurement, measure
from synth import file_name, generate_tree

PY = sys.executable
BIN = Path(sys.executable).parent


def raw_protoc(project: Path, out: Path) -> list[str]:
    import grpc_tools

    wkt = Path(grpc_tools.__file__).parent / "_proto"
    names = sorted(
        p.relative_to(project / "proto").as_posix() for p in (project / "proto").rglob("*.proto")
    )
    args = [
        f"-I{project / 'proto'}",
        f"-I{wkt}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out=quiet:{out}",
        f"--mypy_grpc_out=quiet:{out}",
        f"--plugin=protoc-gen-mypy={BIN / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={BIN / 'protoc-gen-mypy_grpc'}",
        *names,
    ]
    response = project / "raw-args.txt"
    response.write_text("\n".join(args) + "\n")
    return [PY, "-m", "grpc_tools.protoc", f"@{response}"]


def _spin(_: int) -> float:
    import time

    start = time.perf_counter()
    total = 0
    for number in range(5_000_000):  # about 0.3 s: best of three is a steady enough reading
        total += number * number
    return time.perf_counter() - start


def parallel_throughput() -> tuple[int, float]:
    """(CPUs, how many times one process's throughput they give when all are busy at once)."""
    from concurrent.futures import ProcessPoolExecutor

    cpus = os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=cpus) as pool:
        # best of three of each: a shared machine's noise only ever makes a run slower
        alone = min(_spin(0) for _ in range(3))
        together = min(max(pool.map(_spin, range(cpus))) for _ in range(3))
    return cpus, cpus * alone / together


def protoforge(*args: str) -> list[str]:
    """The `protoforge` command as users run it (the console script pip installs next to
    python), as buf is run as its binary; `python -m protoforge` where there is no script
    (it also loads runpy, ~8 ms)."""
    script = BIN / ("protoforge.exe" if os.name == "nt" else "protoforge")
    return [str(script), *args] if script.is_file() else [PY, "-m", "protoforge", *args]


def edit_one(project: Path, count: int) -> None:
    """Add a field to a contract in the middle of the tree (it has dependents)."""
    path = project / "proto" / file_name(count // 2)
    text = path.read_text()
    path.write_text(
        text.replace("  string id = 1;\n", "  string id = 1;\n  string added = 999;\n", 1)
    )


def edit_field(project: Path, count: int, number: int) -> tuple[Path, str]:
    """Add field number `number` to the contract `edit_one` edits: (its path, the field's name)."""
    path = project / "proto" / file_name(count // 2)
    field = f"watched_{number}"
    text = path.read_text()
    path.write_text(
        text.replace("  string id = 1;\n", f"  string id = 1;\n  string {field} = {number};\n", 1)
    )
    return path, field


def output_of(project: Path, contract: Path) -> Path:
    """The contract's generated message module (gen/<same path>_pb2.py)."""
    relative = contract.relative_to(project / "proto").with_suffix("")
    return project / "gen" / relative.parent / f"{relative.name}_pb2.py"


def wait_for(predicate: object, timeout: float, what: str) -> float:
    """Poll `predicate` every millisecond; the perf_counter time when it first held."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():  # type: ignore[operator]
            return time.perf_counter()
        time.sleep(0.001)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


def process_cpu(pid: int) -> float:
    """CPU seconds of a running process and of its children it has waited for (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def bench_watch(project: Path, count: int, repeat: int) -> dict[str, object]:
    """`gen --watch`, one contract saved: from the save to its rewritten `_pb2.py`, against a
    one-shot gen after the same kind of edit, both medians of `repeat` edits in this run."""
    number = 5000
    one_shot: list[Measurement] = []
    for _ in range(repeat):
        number += 1
        edit_field(project, count, number)
        one_shot.append(measure(protoforge("gen", "--quiet"), cwd=project))

    watcher = subprocess.Popen(
        protoforge("gen", "--watch"),
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in watcher.stdout], daemon=True
    ).start()  # type: ignore[union-attr]
    latencies: list[float] = []
    status_lines: list[float] = []
    cpu: list[float] = []
    try:
        first = lines.get(timeout=600)
        if not first.startswith("watch: first run"):
            raise RuntimeError(f"unexpected first line of gen --watch: {first!r}")
        time.sleep(1.0)  # let the watch threads settle after the first run's own writes
        for _ in range(repeat):
            number += 1
            cpu_before = process_cpu(watcher.pid)
            saved = time.perf_counter()
            contract, field = edit_field(project, count, number)
            output = output_of(project, contract)
            written = wait_for(
                lambda output=output, field=field: field in output.read_text(),
                60,
                f"{output} to change",
            )
            status = lines.get(timeout=60)
            reported = time.perf_counter()
            if "updated" not in status:
                raise RuntimeError(f"unexpected status line: {status!r}")
            latencies.append(written - saved)
            status_lines.append(reported - saved)
            time.sleep(0.5)  # the run is over (its cache state recorded) before its CPU is read
            cpu.append(process_cpu(watcher.pid) - cpu_before)
    finally:
        watcher.send_signal(signal.SIGINT)
        if watcher.wait(timeout=30) != 0:
            raise RuntimeError(f"gen --watch exited {watcher.returncode} on SIGINT")
    watch_s = statistics.median(latencies)
    watch_cpu = statistics.median(cpu)
    gen_s = median_of(one_shot).wall
    gen_cpu = statistics.median(m.cpu for m in one_shot)
    result: dict[str, object] = {
        "scenario": "watch one edit",
        "against": "protoforge gen (one-shot)",
        "watch_to_written_s": round(watch_s, 3),
        "watch_to_status_line_s": round(statistics.median(status_lines), 3),
        "watch_runs_s": [round(value, 3) for value in latencies],
        "watch_cpu_s": round(watch_cpu, 3),
        "other_wall_s": round(gen_s, 3),
        "other_cpu_s": round(gen_cpu, 3),
        "wall_ratio": round(watch_s / gen_s, 3),
        "cpu_ratio": round(watch_cpu / gen_cpu, 3) if gen_cpu else None,
    }
    print(
        f"  {'watch one edit':<22} protoforge {watch_s:7.2f}s {watch_cpu:7.2f}cpu save->written"
        f" (status line {result['watch_to_status_line_s']}s)"
        f" | {'protoforge gen (one-shot)':<26} {gen_s:7.2f}s {gen_cpu:7.2f}cpu"
        f" | ratios wall {result['wall_ratio']} cpu {result['cpu_ratio']}",
        flush=True,
    )
    return result


def row(label: str, ours: Measurement, theirs: Measurement, against: str) -> dict[str, object]:
    result = {
        "scenario": label,
        "against": against,
        "protoforge_wall_s": round(ours.wall, 3),
        "protoforge_cpu_s": round(ours.cpu, 3),
        "protoforge_peak_mb": round(ours.peak_rss_mb, 1),
        "other_wall_s": round(theirs.wall, 3),
        "other_cpu_s": round(theirs.cpu, 3),
        "other_peak_mb": round(theirs.peak_rss_mb, 1),
        "wall_ratio": round(ours.wall / theirs.wall, 3),
        "cpu_ratio": round(ours.cpu / theirs.cpu, 3) if theirs.cpu else None,
        "peak_ratio": round(ours.peak_rss_mb / theirs.peak_rss_mb, 3),
    }
    print(
        f"  {label:<28} protoforge {ours.wall:7.2f}s {ours.cpu:7.2f}cpu {ours.peak_rss_mb:7.0f}MB"
        f" | {against:<26} {theirs.wall:7.2f}s {theirs.cpu:7.2f}cpu {theirs.peak_rss_mb:7.0f}MB"
        f" | ratios wall {result['wall_ratio']} cpu {result['cpu_ratio']}"
        f" mem {result['peak_ratio']}",
        flush=True,
    )
    return result


def median_of(runs: list[Measurement]) -> Measurement:
    ordered = sorted(runs, key=lambda m: m.wall)
    return ordered[len(ordered) // 2]


BUF_YAML = "version: v1\nbreaking:\n  use:\n    - FILE\n  except:\n    - FIELD_SAME_JSON_NAME\n"


def bench_breaking(
    project: Path, baseline: Path, repeat: int, *, buf_yaml: bool = False
) -> list[dict[str, object]]:
    buf = str(BIN / "buf") if (BIN / "buf").exists() else "buf"
    theirs_command = [buf, "breaking", "proto", "--against", str(baseline / "proto")]
    ours_command = protoforge("check-breaking", "--against", str(baseline), "--format", "json")
    full_command = [*ours_command, "--full"]
    # check-breaking keeps a directory baseline's compiled set by content (and a git baseline's
    # files by commit) in the user's cache: after the first run here, as on a pull request's
    # later runs, the baseline comes from there. The "no cache" runs each get an empty one.
    # The "no cache" runs compare with buf's usual run (its own cache, ~/.cache/buf, is warm);
    # a fresh machine (a new CI runner) has neither cache: "both caches empty" runs buf with an
    # empty BUF_CACHE_DIR too.
    prefix = "buf.yaml " if buf_yaml else ""
    if buf_yaml:
        for proto in (project / "proto", baseline / "proto"):
            (proto / "buf.yaml").write_text(BUF_YAML)
    cache = project.parent / f"cache-{project.name}{'-buf-yaml' if buf_yaml else ''}"
    warm = {"PROTOFORGE_CACHE_DIR": str(cache)}
    theirs: list[Measurement] = []
    theirs_fresh: list[Measurement] = []
    ours: list[Measurement] = []
    cold: list[Measurement] = []
    full: list[Measurement] = []
    for index in range(repeat):  # alternately, so that both see the same load
        theirs.append(measure(theirs_command, cwd=project))
        ours.append(measure(ours_command, cwd=project, env=warm))
        empty = {"PROTOFORGE_CACHE_DIR": str(cache.with_name(f"{cache.name}-cold-{index}"))}
        cold.append(measure(ours_command, cwd=project, env=empty))
        empty_buf = {"BUF_CACHE_DIR": str(cache.with_name(f"{cache.name}-buf-{index}"))}
        theirs_fresh.append(measure(theirs_command, cwd=project, env=empty_buf))
        if not buf_yaml:
            full.append(measure(full_command, cwd=project, env=warm))
    rows = [
        row(f"{prefix}breaking one edit", median_of(ours), median_of(theirs), "buf breaking"),
        row(f"{prefix}breaking, no cache", median_of(cold), median_of(theirs), "buf breaking"),
        row(
            f"{prefix}both caches empty",
            median_of(cold),
            median_of(theirs_fresh),
            "buf, empty cache",
        ),
    ]
    if full:
        rows.append(row("breaking --full", median_of(full), median_of(theirs), "buf breaking"))
    return rows


def bench_size(
    count: int,
    workdir: Path,
    *,
    breaking: bool,
    gen: bool = True,
    watch: bool = True,
    repeat: int = 1,
) -> list[dict[str, object]]:
    project = workdir / f"tree-{count}"
    generate_tree(project / "proto", count)
    (project / "protoforge.toml").write_text('proto_roots = ["proto"]\nout = "gen"\n')
    baseline = workdir / f"baseline-{count}"
    shutil.copytree(project / "proto", baseline / "proto")
    print(f"{count} contracts", flush=True)
    results = []
    if not gen:
        edit_one(project, count)
        return [
            *bench_breaking(project, baseline, repeat),
            *bench_breaking(project, baseline, repeat, buf_yaml=True),
        ]

    raw_out = workdir / f"raw-{count}"
    raw_out.mkdir()
    raw = measure(raw_protoc(project, raw_out), cwd=project)
    cold = measure(protoforge("gen", "--quiet", "--no-cache"), cwd=project)
    results.append(row("gen cold", cold, raw, "raw protoc (1 call)"))

    measure(protoforge("gen", "--quiet"), cwd=project)  # fill the cache
    noop = measure(protoforge("gen", "--quiet"), cwd=project)
    results.append(row("gen no-op", noop, cold, "protoforge gen cold"))

    edit_one(project, count)
    edited = measure(protoforge("gen", "--quiet"), cwd=project)
    results.append(row("gen one edit", edited, cold, "protoforge gen cold"))
    if watch:
        results.append(bench_watch(project, count, repeat))

    if breaking:
        results += bench_breaking(project, baseline, repeat)
        results += bench_breaking(project, baseline, repeat, buf_yaml=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-breaking", action="store_true", help="skip the breaking scenario")
    parser.add_argument(
        "--breaking-only", action="store_true", help="only the breaking scenarios (no gen)"
    )
    parser.add_argument("--no-watch", action="store_true", help="skip the watch scenario")
    parser.add_argument(
        "--repeat", type=int, default=5, help="breaking and watch: runs of each (median)"
    )
    args = parser.parse_args()

    # As installed from a wheel: bytecode compiled (pip does it at install). With
    # PYTHONDONTWRITEBYTECODE set (as in some CI images) a source checkout would otherwise
    # recompile every module on every run and the numbers would measure the bytecode compiler.
    import compileall

    import protoforge as installed

    compileall.compile_dir(Path(installed.__file__).parent, quiet=1)
    help_run = measure(protoforge("--help"), cwd=Path.cwd())
    print(f"protoforge --help: {help_run.wall:.3f}s wall", flush=True)
    cpus, throughput = parallel_throughput()
    print(f"machine: {cpus} CPUs give {throughput:.2f}x one process's throughput", flush=True)
    results: dict[str, object] = {
        "help_wall_s": round(help_run.wall, 3),
        "cpus": cpus,
        "parallel_throughput": round(throughput, 2),
        "sizes": {},
    }
    with tempfile.TemporaryDirectory(prefix="protoforge-bench-") as tmp:
        for count in args.sizes:
            results["sizes"][count] = bench_size(  # type: ignore[index]
                count,
                Path(tmp),
                breaking=not args.no_breaking,
                gen=not args.breaking_only,
                watch=not args.no_watch,
                repeat=args.repeat,
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
