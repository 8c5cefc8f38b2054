#!/usr/bin/env bash
# Times two gate binaries against each other, cold, on one release of one repository, with the
# git commands that bound a cold one-commit run in the same rounds:
#
#   scripts/bench-pair.sh RUNS OLD NEW GIT_DIR BASE RELEASE
#
# Each round runs OLD, then NEW, each with GIT_DIR/gate removed first (a cold run), then
# `git ls-tree -r RELEASE` and `git cat-file --batch` over every blob of RELEASE's tree. The
# rounds alternate so that a machine that slows down or speeds up during the runs weighs on both
# binaries alike. Prints, for each command, the median (min-max) CPU seconds (user + system, from
# GNU time) and peak memory; then NEW/OLD per round (median, min-max), the figure to quote for a
# change; and each binary against every blob, and against ls-tree + every blob (what a cold run
# must read: the listing and the blobs).
#
# Both binaries must give the same verdict for the comparison to mean anything: the script stops
# if their JSON reports differ. Needs GNU time (/usr/bin/time) and awk. GIT_DIR is written to
# (GIT_DIR/gate), so give it a clone, not a repository you work in.
set -euo pipefail
runs=${1:?usage: scripts/bench-pair.sh RUNS OLD NEW GIT_DIR BASE RELEASE}
old=${2:?OLD binary}
new=${3:?NEW binary}
git_dir=${4:?GIT_DIR}
base=${5:?BASE}
release=${6:?RELEASE}
export GIT_DIR=$git_dir
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

git ls-tree -r "$release" | awk '$2 == "blob" { print $3 }' >"$work/blobs"
for bin in "$old" "$new"; do
  rm -rf "${GIT_DIR:?}/gate"
  "$bin" check --base "$base" --release "$release" --format json >"$work/report.$(basename "$bin")" || true
done
if ! cmp -s "$work/report.$(basename "$old")" "$work/report.$(basename "$new")"; then
  echo "bench-pair: the two binaries' reports differ; compare them before timing them" >&2
  exit 2
fi

timed() { # NAME COMMAND...: appends "NAME cpu-seconds peak-KiB" to $work/times
  local name=$1
  shift
  /usr/bin/time -o "$work/one" -f "%U %S %M" "$@" >/dev/null 2>&1 || true
  awk -v n="$name" '{ printf "%s %.3f %d\n", n, $1 + $2, $3 }' "$work/one" >>"$work/times"
}
for _ in $(seq "$runs"); do
  for bin in old new; do
    rm -rf "${GIT_DIR:?}/gate"
    if [ $bin = old ]; then b=$old; else b=$new; fi
    timed $bin "$b" check --base "$base" --release "$release" --format json
  done
  timed ls-tree git ls-tree -r "$release"
  timed every-blob git cat-file --batch <"$work/blobs"
done

awk '
  function median(a, n,   i, j, t, s) {
    for (i = 1; i <= n; i++) s[i] = a[i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
    return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
  }
  function range(a, n,   i, lo, hi) {
    lo = hi = a[1]
    for (i = 2; i <= n; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
    return sprintf("%.2f-%.2f", lo, hi)
  }
  { n[$1]++; t[$1, n[$1]] = $2; if ($3 > peak[$1]) peak[$1] = $3 }
  END {
    split("old new ls-tree every-blob", names, " ")
    for (k = 1; k <= 4; k++) {
      c = names[k]; delete a
      for (i = 1; i <= n[c]; i++) a[i] = t[c, i]
      printf "%-10s %.3f s (%s), peak %d MiB\n", c, median(a, n[c]), range(a, n[c]), peak[c] / 1024
    }
    r = n["old"]
    delete a; for (i = 1; i <= r; i++) a[i] = t["new", i] / t["old", i]
    printf "new/old    %.3fx (%s) over %d paired runs\n", median(a, r), range(a, r), r
    for (k = 1; k <= 2; k++) {
      c = names[k]
      delete a; for (i = 1; i <= r; i++) a[i] = t[c, i] / t["every-blob", i]
      line = sprintf("%-10s %.2fx every blob (%s)", c, median(a, r), range(a, r))
      delete a; for (i = 1; i <= r; i++) a[i] = t[c, i] / (t["every-blob", i] + t["ls-tree", i])
      printf "%s, %.2fx ls-tree + every blob (%s)\n", line, median(a, r), range(a, r)
    }
  }' "$work/times"
