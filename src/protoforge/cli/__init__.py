"""The command line: flags -> library call -> printing -> exit code.

`direct` is the entry point: it runs `check-breaking` without importing the CLI framework (a
breaking gate in CI pays for no typer import) and hands everything else to `app`, the typer
application, which registers one module per command (`gen`, `init`, `breaking`). Nothing here is
imported eagerly, so that importing `protoforge.cli.direct` stays cheap.
"""
