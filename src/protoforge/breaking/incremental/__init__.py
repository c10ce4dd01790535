"""The fast path of check-breaking: compile and compare only the packages a change touches.

On a tree of thousands of contracts, one edited file should not cost a compile of every file on
both sides. The fast path gives the same findings as the full check (`check-breaking --full`)
because of two facts:

1. A file's FileDescriptorProto depends only on its own text and on the files it can *see*: its
   imports and, transitively, their `import public`s. A file whose text is unchanged and that sees
   no changed file is byte-identical on both sides, so buf finds nothing in it.
2. buf's FILE rules compare files by name, its PACKAGE rules compare packages as a whole. So the
   findings of the full check all lie in the packages of the changed files and of the unchanged
   files that see a changed file ("affected": their resolved types and, for rules that look at a
   referenced enum or message, the referenced declaration may differ).

The steps:

- **changes**: every `.proto` below the proto roots on both sides, by git blob id (for a git
  baseline straight from `git ls-tree`; for the work tree and a directory baseline the same SHA-1
  over the bytes). Nothing changed: exit 0 without compiling (only buf.yaml and suppression
  comments are still validated, as the full check would).
- **touched packages**: the packages (on either side) of the changed files and of the affected
  files, read with a small scanner (comments stripped, `package` and `import` statements). The
  scanner is checked against the real descriptors of every file compiled; a disagreement falls
  back to the full check.
- **targets**: every file of a touched package, on each side. protoc compiles the targets (and the
  files that carry `protoforge:allow-breaking` comments, so that those are validated as in the
  full check) with their imports; a git baseline's compiled files come from the cache
  (`basecache`) when it holds them.
- **images**: a file compiled on one side only as an import (not a target, so unchanged) is copied
  to the other side when the full image of that side would contain it too, so that both images
  hold the same untouched files and buf reports nothing about them. buf then runs over the two
  small images with the project's rules, exactly as in the full check.

Falls back to the full check (returns None): snapshot baselines (they carry no source to compare
without compiling today's side in full), a changed, added or removed `.proto` file that `exclude`
hides, a baseline without contracts or that discovery would reject, a compile error on either side
(so that the full check lists every file the error reaches, as protoc does), and a scanner
disagreement.
"""

# The modules, in the order of the steps: `scan` (what a contract's text says: package, imports,
# its git blob id), `trees` (both sides' files, what changed, which packages it touches),
# `images` (the two small images buf compares), `check` (the steps, and the fall-backs).
