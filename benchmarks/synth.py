"""Deterministic synthetic contract trees for benchmarks: `python benchmarks/synth.py OUT -n 1000`.

Realistic shape: ~20 files per package, nested packages (`org/teamN/domainM/v1`), each file imports
a few files that came before it (same package and others), well-known types, maps, oneofs, enums,
nested messages, comments, and a service with all four streaming kinds in every third file.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

FILES_PER_PACKAGE = 20
WKT = (
    ("google/protobuf/timestamp.proto", "google.protobuf.Timestamp"),
    ("google/protobuf/duration.proto", "google.protobuf.Duration"),
    ("google/protobuf/struct.proto", "google.protobuf.Struct"),
    ("google/protobuf/wrappers.proto", "google.protobuf.StringValue"),
    ("google/protobuf/empty.proto", "google.protobuf.Empty"),
)
SCALARS = ("string", "int32", "int64", "bool", "double", "bytes", "uint32")


def package_of(index: int) -> tuple[str, str]:
    """(proto package, directory) of file number `index`."""
    package_number = index // FILES_PER_PACKAGE
    team, domain = divmod(package_number, 5)
    return f"org.team{team}.domain{domain}.v1", f"org/team{team}/domain{domain}/v1"


def file_name(index: int) -> str:
    return f"{package_of(index)[1]}/entity{index:05}.proto"


def message_name(index: int) -> str:
    return f"Entity{index:05}"


def render_file(index: int, rng: random.Random) -> str:
    package, _ = package_of(index)
    imports: list[str] = []
    refs: list[str] = []
    # Up to three earlier files: usually the same package, sometimes another one.
    for _ in range(min(index, rng.randint(1, 3))):
        other = (
            rng.randrange(max(0, index - FILES_PER_PACKAGE), index)
            if rng.random() < 0.7
            else (rng.randrange(0, index))
        )
        name = file_name(other)
        if name not in imports:
            imports.append(name)
            refs.append(f"{package_of(other)[0]}.{message_name(other)}")
    wkt_file, wkt_type = WKT[index % len(WKT)]
    imports.append(wkt_file)

    lines = ['syntax = "proto3";', "", f"package {package};", ""]
    lines += [f'import "{name}";' for name in sorted(imports)]
    lines.append("")
    me = message_name(index)
    lines.append(f"// {me} is a synthetic entity number {index}.")
    lines.append(f"message {me} {{")
    last = 2 + index % 3
    lines.append(f"  enum State {{ STATE_UNSPECIFIED = 0; STATE_A = 1; STATE_B = {last}; }}")
    lines.append("  message Detail { string key = 1; int64 value = 2; }")
    number = 1
    lines.append(f"  string id = {number};")
    for field_index in range(rng.randint(3, 8)):
        number += 1
        lines.append(f"  // Field {field_index}.")
        lines.append(f"  {rng.choice(SCALARS)} f{field_index} = {number};")
    number += 1
    lines.append(f"  map<string, Detail> details = {number};")
    number += 1
    lines.append(f"  State state = {number};")
    number += 1
    lines.append(f"  {wkt_type} meta = {number};")
    for ref_index, ref in enumerate(refs):
        number += 1
        lines.append(f"  repeated {ref} rel{ref_index} = {number};")
    lines.append("  oneof choice {")
    lines.append(f"    string text = {number + 1};")
    lines.append(f"    Detail detail = {number + 2};")
    lines.append("  }")
    lines.append("}")
    lines.append("")
    lines.append(f"message {me}Request {{ string id = 1; optional int32 limit = 2; }}")
    if index % 3 == 0:
        lines += [
            "",
            f"// Service over {me}.",
            f"service {me}Service {{",
            f"  rpc Get({me}Request) returns ({me});",
            f"  rpc List({me}Request) returns (stream {me});",
            f"  rpc Upload(stream {me}) returns ({me}Request);",
            f"  rpc Sync(stream {me}Request) returns (stream {me});",
            "}",
        ]
    return "\n".join(lines) + "\n"


def generate_tree(out: Path, count: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    written = []
    for index in range(count):
        path = out / file_name(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_file(index, rng), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("-n", "--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    files = generate_tree(args.out, args.count, args.seed)
    print(f"wrote {len(files)} contracts under {args.out}")


if __name__ == "__main__":
    main()
