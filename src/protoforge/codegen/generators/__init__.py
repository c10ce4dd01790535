"""The generators: each module turns what the source stage compiled into one kind of output file
(paths relative to `out` or absolute, content in memory). None of them writes to disk; the
pipeline hands their files to the output stage as one Plan."""
