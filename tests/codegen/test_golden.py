"""Golden trees: the committed output of `protoforge gen` for representative contracts. Any change
to generation shows up as a reviewable diff; regenerate with `python tests/update_golden.py`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import mypy_strict, snapshot_tree
from golden_cases import GOLDEN, GoldenCase, generate_case, golden_cases

CASES = golden_cases()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_generated_output_matches_golden(case: GoldenCase, tmp_path: Path) -> None:
    expected = snapshot_tree(GOLDEN / case.name / "expected")
    assert expected, f"no golden output for {case.name}: run `python tests/update_golden.py`"
    actual = snapshot_tree(generate_case(case, tmp_path))
    changed = sorted(
        name for name in set(expected) | set(actual) if expected.get(name) != actual.get(name)
    )
    assert not changed, (
        f"generated output differs from tests/golden/{case.name} in {changed[:10]}; if the change "
        "is intended, run `python tests/update_golden.py` and review the diff"
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_golden_output_passes_mypy_strict(case: GoldenCase) -> None:
    gen = GOLDEN / case.name / "expected" / "gen"
    done = mypy_strict(gen)
    assert done.returncode == 0, done.stdout + done.stderr
