"""pytest in this example: the generated code (`generated/`) and this directory on sys.path."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (HERE / "generated", HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
