"""The library API of `import protoforge`: lazy, and stable across repeated use in one process
(a lazily imported submodule named like a function used to replace it after the first call)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_generate_works_twice_in_one_process(tmp_path: Path) -> None:
    (tmp_path / "proto" / "acme").mkdir(parents=True)
    (tmp_path / "proto" / "acme" / "a.proto").write_text(
        'syntax = "proto3";\npackage acme;\nmessage A { string name = 1; }\n'
    )
    (tmp_path / "protoforge.toml").write_text('proto_roots = ["proto"]\nout = "gen"\n')
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path

        import protoforge

        assert "grpc_tools" not in sys.modules and "jinja2" not in sys.modules
        config = protoforge.load_config(Path("protoforge.toml"))
        assert isinstance(config, protoforge.Config)
        first = protoforge.generate(config, use_cache=False)
        second = protoforge.generate(config, use_cache=False)
        assert isinstance(first, protoforge.Plan) and isinstance(second, protoforge.Plan)
        assert first.files == second.files and first.files
        assert callable(protoforge.generate) and callable(protoforge.write)
        assert protoforge.load_config is protoforge.load_config
        assert "generate" in vars(protoforge)  # cached after the first access
        try:
            protoforge.nothing_here
        except AttributeError:
            pass
        else:
            raise AssertionError("unknown attributes must raise AttributeError")
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
