#!/usr/bin/env bash
# Benchmark: `gate check` on ranges of public repositories, beside the git commands that do the
# same kind of work, with the ratio of their times.
#
#   scripts/bench.sh [RUNS]
#
# Repositories are cloned (bare) from GitHub into $GATE_BENCH_DIR (default: target/bench) on the
# first run. To use clones you already have, set GATE_BENCH_RUFF and GATE_BENCH_GIT to their git
# directories; gate writes its cache into GIT_DIR/gate/ there.
#
# For each range it reports the median wall time of RUNS runs (default 5) of:
#   gate cold   gate check with its cache removed before every run
#   gate warm   gate check run again on the same range (cache in place)
#   git -C      git diff -M -C --find-copies-harder -l0 --name-status (git's closest operation:
#               every added file against every file of the tree)
#   git stat    git diff --stat
# and gate's peak memory (from GNU time, when /usr/bin/time is there). All runs read the
# repository from a warm page cache; "cold" means gate's own cache is empty.
set -euo pipefail

runs=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
bench_dir=${GATE_BENCH_DIR:-$root/target/bench}
mkdir -p "$bench_dir"

echo "building gate (release)..." >&2
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
gate=$root/target/release/gate

# name  url  base  release  env-var-with-an-existing-clone
ranges=(
  "ruff https://github.com/astral-sh/ruff.git 0.10.0 0.14.0 GATE_BENCH_RUFF"
  "git https://github.com/git/git.git v2.40.0 v2.47.0 GATE_BENCH_GIT"
)

# Median wall time in seconds of running "$@" $runs times; `before` runs untimed before each.
median() {
  local before=$1
  shift
  local times=()
  for _ in $(seq "$runs"); do
    eval "$before"
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    times+=("$(( (end - start) / 1000000 ))")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]/1000}'
}

peak_kb() {
  if [ -x /usr/bin/time ]; then
    { /usr/bin/time -f %M "$@" 2>&1 >/dev/null || true; } | tail -n 1
  else
    echo "n/a"
  fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

printf '\n%-6s %-18s %8s %8s %8s %8s %10s %10s %9s\n' \
  repo range "gate cold" "gate warm" "git -C" "git stat" "cold/git-C" "warm/stat" "peak MiB"
for spec in "${ranges[@]}"; do
  read -r name url base release var <<<"$spec"
  repo=${!var:-$bench_dir/$name.git}
  if [ ! -d "$repo" ]; then
    echo "cloning $url into $repo (once)..." >&2
    git clone --quiet --bare "$url" "$repo"
  fi
  export GIT_DIR=$repo
  files=$(git diff --no-renames --name-only "$base" "$release" | wc -l)
  check=("$gate" check --base "$base" --release "$release" --format json)
  cold=$(median "rm -rf '${repo:?}/gate'" "${check[@]}")
  "${check[@]}" >/dev/null 2>&1 || true
  warm=$(median ":" "${check[@]}")
  copies=$(median ":" git diff -M -C --find-copies-harder -l0 --name-status "$base" "$release")
  stat=$(median ":" git diff --stat "$base" "$release")
  rm -rf "${repo:?}/gate"
  peak=$(peak_kb "${check[@]}")
  [ "$peak" != "n/a" ] && peak=$(awk -v k="$peak" 'BEGIN { printf "%.0f", k / 1024 }')
  unset GIT_DIR
  printf '%-6s %-18s %8s %8s %8s %8s %10s %10s %9s\n' \
    "$name" "$base..$release" "$cold" "$warm" "$copies" "$stat" "$(ratio "$cold" "$copies")x" "$(ratio "$warm" "$stat")x" "$peak"
  echo "       ($files files changed; median of $runs runs, seconds)"
done

# Reading the largest JUnit report of the corpus (615 KB, 4,239 test cases) and recording it as
# evidence, in a throwaway repository.
junit_repo=$(mktemp -d)
trap 'rm -rf "${junit_repo:?}"' EXIT
git -C "$junit_repo" init --quiet
git -C "$junit_repo" -c user.name=bench -c user.email=bench@example.com commit --quiet --allow-empty -m bench
report=$root/tests/fixtures/junit/jest-junit_large-4239-cases.xml
junit=$(cd "$junit_repo" && median ":" "$gate" evidence add tests --junit "$report")
junit_peak=$(cd "$junit_repo" && peak_kb "$gate" evidence add tests --junit "$report")
printf '\ngate evidence add tests --junit %s: %s s (median of %s runs), peak %s KiB\n' \
  "$(basename "$report")" "$junit" "$runs" "$junit_peak"
