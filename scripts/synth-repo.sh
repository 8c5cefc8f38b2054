#!/usr/bin/env bash
# A synthetic repository for the benchmark: FILES files in a tree of nested directories, then
# COMMITS commits on top, each changing one `.py` script.
#
#   scripts/synth-repo.sh DIR FILES [COMMITS]
#
# DIR becomes a bare repository (it must not exist yet). The first commit is tagged `base`; the
# commits after it are tagged `r1`, `r10`, `r100`, `r1000` (those that exist), so `base..rN` is a
# range of N commits that changes N scripts. Files are Python, Rust, Markdown, JSON and tests
# (`tests/.../test_*.py`), a dozen lines each, with lines shared across files as real code
# shares them (imports, returns) and lines of their own. Dates are fixed: the same arguments
# give the same commit ids. Needs git and awk, nothing else.
set -euo pipefail

dir=${1:?usage: synth-repo.sh DIR FILES [COMMITS]}
files=${2:?usage: synth-repo.sh DIR FILES [COMMITS]}
commits=${3:-1000}
[ -e "$dir" ] && { echo "synth-repo.sh: $dir already exists" >&2; exit 2; }
git init --quiet --bare "$dir"

LC_ALL=C awk -v files="$files" -v commits="$commits" '
# Where file i lives: 2 levels of 40 directories, then 25 files to a directory at most.
function path(i,    a, b, c, kind) {
  a = i % 40; b = int(i / 40) % 40; c = int(i / 1600)
  kind = i % 10
  if (kind == 9) return sprintf("tests/pkg%02d/sub%02d/test_mod%d.py", a, b, i)
  if (kind == 8) return sprintf("src/pkg%02d/sub%02d/part%d/lib%d.rs", a, b, c, i)
  if (kind == 7) return sprintf("docs/pkg%02d/sub%02d/part%d/page%d.md", a, b, c, i)
  if (kind == 6) return sprintf("data/pkg%02d/sub%02d/part%d/item%d.json", a, b, c, i)
  return sprintf("app/pkg%02d/sub%02d/part%d/mod%d.py", a, b, c, i)
}
function content(i, rev,    kind, s) {
  kind = i % 10
  if (kind == 8) {
    s = sprintf("//! Module %d.\n\nuse std::collections::HashMap;\n\npub fn run_%d(input: &str) -> usize {\n", i, i)
    s = s sprintf("    let mut seen = HashMap::new();\n    for word in input.split_whitespace() {\n")
    s = s sprintf("        *seen.entry(word).or_insert(0) += %d;\n    }\n    seen.len()\n}\n", i % 97)
  } else if (kind == 7) {
    s = sprintf("# Page %d\n\nThis page describes part %d of the system.\n\n## Usage\n\nRun `tool %d`.\n", i, int(i / 1600), i)
  } else if (kind == 6) {
    s = sprintf("{\n  \"id\": %d,\n  \"name\": \"item-%d\",\n  \"enabled\": true,\n  \"weight\": %d\n}\n", i, i, i % 13)
  } else if (kind == 9) {
    # A test of the script nine files before it (kind 0).
    j = i - 9
    s = sprintf("import unittest\n\nfrom app.pkg%02d.sub%02d.part%d import mod%d\n\n\n", j % 40, int(j / 40) % 40, int(j / 1600), j)
    s = s sprintf("class TestMod%d(unittest.TestCase):\n    def test_run(self):\n        self.assertEqual(mod%d.run(%d), %d)\n", j, j, j, j + 1)
  } else {
    s = sprintf("\"\"\"Module %d.\"\"\"\n\nimport os\nimport sys\n\n\ndef run(value):\n", i)
    s = s sprintf("    total = value + %d\n    if total > %d:\n        return total - 1\n    return total\n", i % 1000, i)
    s = s sprintf("\n\ndef name():\n    return \"mod%d\"\n", i)
  }
  for (r = 1; r <= rev; r++) s = s sprintf("# revision %d\n", r)
  return s
}
function data(s) { printf "data %d\n%s\n", length(s), s }
function commit(n, msg, when) {
  printf "commit refs/heads/main\nmark :%d\n", n
  printf "author Bench <bench@example.com> %d +0000\ncommitter Bench <bench@example.com> %d +0000\n", when, when
  data(msg)
}
BEGIN {
  commit(1, "base", 1700000000)
  for (i = 0; i < files; i++) {
    printf "M 100644 inline %s\n", path(i)
    data(content(i, 0))
  }
  printf "\nreset refs/tags/base\nfrom :1\n\n"
  # Commit k changes the k-th script of a stride through the tree: scripts are kinds 0-5.
  for (k = 1; k <= commits; k++) {
    i = ((k * 7919) % int(files / 10)) * 10 + (k % 6)
    if (i >= files) i = k % 6
    commit(k + 1, sprintf("change mod%d", i), 1700000000 + 60 * k)
    printf "from :%d\n", k
    printf "M 100644 inline %s\n", path(i)
    rev[i]++
    data(content(i, rev[i]))
    if (k == 1 || k == 10 || k == 100 || k == 1000) printf "\nreset refs/tags/r%d\nfrom :%d\n", k, k + 1
    printf "\n"
  }
}' | git --git-dir="$dir" fast-import --quiet
git --git-dir="$dir" symbolic-ref HEAD refs/heads/main
git --git-dir="$dir" gc --quiet
