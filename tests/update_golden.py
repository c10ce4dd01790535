"""Regenerate every committed expected output: `python tests/update_golden.py`.

- tests/golden/<case>/: the full `protoforge gen` output for representative contracts
- tests/fixtures/broken/<case>/expected.txt: CLI output snapshots of broken inputs

Review the resulting `git diff` like any code change: it is exactly what users will get.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "source"))  # test_broken_inputs

from conftest import FIXTURES, run_cli
from golden_cases import GOLDEN, generate_case, golden_cases
from test_broken_inputs import BROKEN, render_result


def update_goldens() -> None:
    for case in golden_cases():
        output = generate_case(case)
        target = GOLDEN / case.name / "expected"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(output, target)
        print(f"golden: {case.name}")


def update_broken_snapshots() -> None:
    import tempfile

    for case in sorted(p for p in BROKEN.iterdir() if p.is_dir()):
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp) / case.name
            shutil.copytree(case, project, ignore=shutil.ignore_patterns("expected.txt"))
            result = run_cli("gen", cwd=project)
        (case / "expected.txt").write_text(render_result(result.code, result.stderr))
        print(f"broken: {case.name} (exit {result.code})")


if __name__ == "__main__":
    assert FIXTURES.is_dir()
    update_goldens()
    update_broken_snapshots()
