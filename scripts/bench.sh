#!/usr/bin/env bash
# Benchmark: `gate check` on releases of public and synthetic repositories, beside the git
# commands that do the same kind of work.
#
#   scripts/bench.sh [RUNS]
#
# Every figure is CPU seconds (user + system, from GNU time: the machine may be shared, and CPU
# time moves less than wall time under load), printed as "median (min-max)" of RUNS runs
# (default 5). All runs read the repository from a warm page cache; "cold" means only that
# gate's own cache (GIT_DIR/gate/) is removed before each run; "warm" is a re-run of the same
# release (gate keeps what it found for it), and "the next release" a release tree gate has not
# seen, right after a run on its parent.
#
# Repositories are cloned (bare) from GitHub into $GATE_BENCH_DIR (default: target/bench) on
# the first run. To use clones you already have, point these at their git directories (gate
# writes its cache into GIT_DIR/gate/ there):
#   GATE_BENCH_RUFF   astral-sh/ruff; range GATE_BENCH_RUFF_RANGE (default "0.10.0 0.14.0")
#   GATE_BENCH_GIT    git/git;        range GATE_BENCH_GIT_RANGE (default "v2.40.0 v2.47.0")
# Another repository can stand in for either (set both the directory and the range); `skip`
# as the directory leaves the repository out. One more range is timed only when a clone is
# given (it is 3 GB to fetch):
#   GATE_BENCH_VCPKG  microsoft/vcpkg; range GATE_BENCH_VCPKG_RANGE (default
#                     "39344dff01 127402f1c7": three weeks, 256 commits, 1,456 files, most of
#                     them JSON: ports/*/vcpkg.json and the versions/ database)
#
# Sections:
#   ranges     each range, and two one-commit releases picked from it: the newest commit that
#              changes one file no script pattern matches (`.rs`, `.go`, `.java`, `.md`) and
#              the newest that changes one script (`.py`, `.sh`); then the vcpkg range, alone
#   synthetic  scripts/synth-repo.sh repositories of GATE_BENCH_SIZES files (default
#              "10000 100000 300000"), made once in $GATE_BENCH_DIR, each with ranges of
#              GATE_BENCH_COMMITS commits (default "1 10 100 1000"), every commit changing one
#              `.py` script; and the next release's run: HEAD~1..(a new tree that changes what
#              HEAD changes, made for each run) right after HEAD~2..HEAD~1
#              (the blob cache warm, the files kept for the previous release tree); and a
#              commit on top of HEAD that adds one `.py` file (made by the script, on no branch)
#   junit      reading the largest JUnit report of the corpus (615 KB, 4,239 test cases) and
#              recording it as evidence, in a throwaway repository
# GATE_BENCH_SECTIONS (default "ranges synthetic junit") picks sections.
#
# Beside each release, the git commands that bound what gate does:
#   diff --raw    git diff --raw A B                    which files changed (the floor)
#   ls-tree       git ls-tree -r B                      listing the whole release tree
#   cat-file      git cat-file --batch over the blobs   reading the changed files, both sides
#                 of the changed files
#   every blob    git cat-file --batch over every blob  reading the whole release tree: what a
#                 of the release tree                   cold run that must know who loads a
#                                                       changed script reads at most
#                                                       (it lists the tree too: add the
#                                                       ls-tree column for its whole floor)
#   stat          git diff --stat A B                   reading and diffing the changed files
#   copies        git diff -M -C --find-copies-harder -l0 --name-status A B
#                 git's copy detection: every added file against every file of the tree
#   read          git cat-file --batch over the blobs   the blobs gate itself read, cold
#                 a cold run of gate read               (GATE_READS_LOG, each once): reading
#                                                       them and doing nothing else, the
#                                                       floor of a cold range
set -euo pipefail

runs=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
bench_dir=${GATE_BENCH_DIR:-$root/target/bench}
sections=${GATE_BENCH_SECTIONS:-ranges synthetic junit}
sizes=${GATE_BENCH_SIZES:-10000 100000 300000}
commit_counts=${GATE_BENCH_COMMITS:-1 10 100 1000}
mkdir -p "$bench_dir"

# GATE_BENCH_GATE names a gate binary to time instead of building this checkout (to compare
# two versions on the same machine).
gate=${GATE_BENCH_GATE:-}
if [ -z "$gate" ]; then
  echo "building gate (release)..." >&2
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  gate=$root/target/release/gate
fi
[ -x /usr/bin/time ] || { echo "bench.sh: GNU time (/usr/bin/time) is needed for CPU times" >&2; exit 2; }
timing=$(mktemp)
scratch=$(mktemp -d)
trap 'rm -rf "${timing:?}" "${scratch:?}"' EXIT

# CPU seconds of one run of "$@" (output discarded; a non-zero exit is expected: a blocked
# release exits 1).
cpu() {
  /usr/bin/time -o "$timing" -f '%U %S' "$@" >/dev/null 2>&1 || true
  # The last line: GNU time puts "Command exited with non-zero status N" before the figures.
  tail -n 1 "$timing" | awk '{ printf "%.3f", $1 + $2 }'
}

# "median (min-max)" of $runs runs of "$@"; `before` is evaluated, untimed, before each run.
stats() {
  local before=$1
  shift
  local times=()
  for _ in $(seq "$runs"); do
    eval "$before"
    times+=("$(cpu "$@")")
  done
  summary "${times[@]}"
}

# "median (min-max)" of the figures given.
summary() {
  printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END {
    printf "%.3f (%.3f-%.3f)", a[int((NR + 1) / 2)], a[1], a[NR] }'
}

# Peak memory of one gate run in MiB (GNU time's maximum resident set size).
peak() {
  /usr/bin/time -o "$timing" -f '%M' "$@" >/dev/null 2>&1 || true
  tail -n 1 "$timing" | awk '{ printf "%.0f", $1 / 1024 }'
}

# The blobs of the files changed from $1 to $2, both sides, one id a line.
changed_blobs() {
  git diff --raw --no-renames --no-abbrev "$1" "$2" | awk '{ print $3; print $4 }' | grep -v '^0*$' || true
}

# The blobs of the files of tree $1, one id a line.
tree_blobs() {
  git ls-tree -r "$1" | awk '$2 == "blob" { print $3 }'
}

# One row: gate cold and warm, then the git commands, for release $3 against base $2 of repo $1.
row() {
  local label=$1 base=$2 release=$3
  local check=("$gate" check --base "$base" --release "$release" --format json)
  local blobs every
  blobs=$(mktemp)
  every=$(mktemp)
  changed_blobs "$base" "$release" >"$blobs"
  tree_blobs "$release" >"$every"
  local files
  files=$(git diff --no-renames --name-only "$base" "$release" | wc -l | tr -d ' ')
  # What a cold run reads, blob by blob (GATE_READS_LOG), listed once each: its own floor.
  local read
  read=$(mktemp)
  rm -rf "${GIT_DIR:?}/gate"
  GATE_READS_LOG=$read "${check[@]}" >/dev/null 2>&1 || true
  sort -u -o "$read" "$read"
  local cold warm memory
  cold=$(stats "rm -rf '${GIT_DIR:?}/gate'" "${check[@]}")
  "${check[@]}" >/dev/null 2>&1 || true
  warm=$(stats ":" "${check[@]}")
  memory=$(peak "${check[@]}")
  printf '%s\t%s\t%s\t%s\t%s MiB\n' "$label" "$files" "$cold" "$warm" "$memory"
  printf '\t\tdiff --raw %s | ls-tree %s | cat-file %s | every blob %s | read %s (%s blobs) | stat %s | copies %s\n' \
    "$(stats ":" git diff --raw "$base" "$release")" \
    "$(stats ":" git ls-tree -r "$release")" \
    "$(stats ":" sh -c "git cat-file --batch <'$blobs'")" \
    "$(stats ":" sh -c "git cat-file --batch <'$every'")" \
    "$(stats ":" sh -c "git cat-file --batch <'$read'")" "$(wc -l <"$read" | tr -d ' ')" \
    "$(stats ":" git diff --stat "$base" "$release")" \
    "$(stats ":" git diff -M -C --find-copies-harder -l0 --name-status "$base" "$release")"
  rm -f "$blobs" "$every" "$read"
}

# The next release's run on the repository in GIT_DIR: `gate check` of HEAD~1..R, each run
# right after one of HEAD~2..HEAD~1 (untimed), so the blob cache is warm and what gate keeps
# per release tree is the previous tree's, as when every release is checked after the one
# before it. R is a release no run has seen (see `fresh_release`): gate keeps the answers of a
# release it checked, so timing HEAD again would time a re-run. Beside it, the git commands on
# HEAD~1..HEAD.
next_release() {
  local label=$1 times=() release memory
  for n in $(seq "$runs"); do
    release=$(fresh_release "$n")
    "$gate" check --base HEAD~2 --release HEAD~1 --format json >/dev/null 2>&1 || true
    times+=("$(cpu "$gate" check --base HEAD~1 --release "$release" --format json)")
  done
  release=$(fresh_release peak)
  "$gate" check --base HEAD~2 --release HEAD~1 --format json >/dev/null 2>&1 || true
  memory=$(peak "$gate" check --base HEAD~1 --release "$release" --format json)
  printf '%s\t%s\t%s\t%s\t%s MiB\n' "$label" 1 "-" "$(summary "${times[@]}")" "$memory"
  printf '\t\tdiff --raw %s | ls-tree %s\n' \
    "$(stats ":" git diff --raw HEAD~1 HEAD)" "$(stats ":" git ls-tree -r HEAD)"
}

# A commit on top of HEAD~1 that changes the file HEAD changes, with one more line naming this
# benchmark run: a release tree that no run of gate has seen. Referenced by nothing.
fresh_release() {
  local file blob tree
  file=$(git diff --name-only HEAD~1 HEAD | head -n 1)
  blob=$({ git show "HEAD:$file"; echo "# next release $1 of bench run $$-$(date +%s%N)"; } | git hash-object -w --stdin)
  GIT_INDEX_FILE=$scratch/index git read-tree HEAD
  GIT_INDEX_FILE=$scratch/index git update-index --cacheinfo "100644,$blob,$file"
  tree=$(GIT_INDEX_FILE=$scratch/index git write-tree)
  rm -f "$scratch/index"
  GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' \
    GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' \
    git commit-tree "$tree" -p HEAD~1 -m "next release $1"
}

# A commit on top of HEAD of the repository in GIT_DIR that adds one small `.py` file, made
# without a work tree (a scratch index); fixed dates, so its id is the same on every run. The
# commit is referenced by nothing: the repository's branches do not move.
add_one_file() {
  local blob tree
  blob=$(printf 'def added_by_bench():\n    return "one new file"\n' | git hash-object -w --stdin)
  GIT_INDEX_FILE=$scratch/index git read-tree HEAD
  GIT_INDEX_FILE=$scratch/index git update-index --add --cacheinfo "100644,$blob,src/added_by_bench.py"
  tree=$(GIT_INDEX_FILE=$scratch/index git write-tree)
  rm -f "$scratch/index"
  GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' \
    GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' \
    git commit-tree "$tree" -p HEAD -m "add one file"
}

# The newest non-merge commit of base..release that changes exactly one file, matching the
# extended regular expression $3. (Leaving the loop early stops `git log` with SIGPIPE, which
# pipefail would make an error.)
one_commit() {
  git log --no-merges --format=%H "$1..$2" | while read -r commit; do
    local files
    files=$(git diff-tree --no-commit-id --name-only -r "$commit")
    if [ "$(printf '%s\n' "$files" | wc -l)" -eq 1 ] && printf '%s\n' "$files" | grep -qE "$3"; then
      echo "$commit"
      break
    fi
  done || true
}

header() {
  printf '\n%s\n' "$1"
  printf 'release\tfiles\tgate cold, CPU s\tgate warm, CPU s\tpeak\n'
}

if [[ " $sections " == *" ranges "* ]]; then
  header "== ranges (median (min-max) of $runs runs)"
  # name  url  default-range  env-var-with-a-clone  env-var-with-a-range
  for spec in \
    "ruff https://github.com/astral-sh/ruff.git 0.10.0:0.14.0 GATE_BENCH_RUFF GATE_BENCH_RUFF_RANGE" \
    "git https://github.com/git/git.git v2.40.0:v2.47.0 GATE_BENCH_GIT GATE_BENCH_GIT_RANGE"; do
    read -r name url range var range_var <<<"$spec"
    repo=${!var:-$bench_dir/$name.git}
    [ "$repo" = skip ] && continue
    read -r base release <<<"${!range_var:-${range/:/ }}"
    if [ ! -d "$repo" ]; then
      echo "cloning $url into $repo (once)..." >&2
      git clone --quiet --bare "$url" "$repo"
    fi
    export GIT_DIR=$repo
    row "$name $base..$release" "$base" "$release"
    for kind in "non-script:\.(rs|go|java|md)$" "script:\.(py|sh)$"; do
      commit=$(one_commit "$base" "$release" "${kind#*:}")
      if [ -n "$commit" ]; then
        row "$name ${commit:0:10} (one ${kind%%:*} file)" "$commit^" "$commit"
      fi
    done
    unset GIT_DIR
  done
  # A range of a thousand changed config files: what a warm run costs beside `git diff --stat`.
  if [ -n "${GATE_BENCH_VCPKG:-}" ]; then
    read -r base release <<<"${GATE_BENCH_VCPKG_RANGE:-39344dff01 127402f1c7}"
    export GIT_DIR=$GATE_BENCH_VCPKG
    row "vcpkg $base..$release" "$base" "$release"
    unset GIT_DIR
  fi
fi

if [[ " $sections " == *" synthetic "* ]]; then
  header "== synthetic repositories, scripts/synth-repo.sh (median (min-max) of $runs runs)"
  for size in $sizes; do
    repo=$bench_dir/synth-$size.git
    if [ ! -d "$repo" ]; then
      echo "making a $size-file repository in $repo (once)..." >&2
      "$root/scripts/synth-repo.sh" "$repo" "$size" 1000
    fi
    export GIT_DIR=$repo
    for n in $commit_counts; do
      row "synth $size files, $n commit(s)" base "r$n"
    done
    next_release "synth $size files, the next release (HEAD~1..a new tree)"
    row "synth $size files, one file added" HEAD "$(add_one_file)"
    unset GIT_DIR
  done
fi

if [[ " $sections " == *" junit "* ]]; then
  junit_repo=$scratch/junit
  git init --quiet "$junit_repo"
  git -C "$junit_repo" -c user.name=bench -c user.email=bench@example.com commit --quiet --allow-empty -m bench
  report=$root/tests/fixtures/junit/jest-junit_large-4239-cases.xml
  junit=$(cd "$junit_repo" && stats ":" "$gate" evidence add tests --junit "$report")
  junit_peak=$(cd "$junit_repo" && peak "$gate" evidence add tests --junit "$report")
  printf '\n== gate evidence add tests --junit %s: %s CPU s, peak %s MiB\n' "$(basename "$report")" "$junit" "$junit_peak"
fi
