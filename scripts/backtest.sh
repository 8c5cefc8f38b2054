#!/usr/bin/env bash
# Runs `gate backtest` over the corpus in backtest/corpus.toml and measures precision: of the
# findings that would have blocked a release, how many the release owner would agree with.
#
#   scripts/backtest.sh DIR [CORPUS]
#
# DIR holds the corpus repositories, as bare or normal clones, each at DIR/owner+name/repo,
# DIR/owner+name, DIR/owner/name or DIR/name. Each is cloned once more with --shared into
# $BACKTEST_WORK (default target/backtest), so gate's cache is written there and never into DIR;
# the JSON reports land there too (NAME.json). $GATE is the gate binary (default: a release
# build, built when missing). Prints, per repository: releases, blocked, share blocked, the
# blocking findings judged real / false / unjudged, and precision = real / (real + false); then
# the false blocks by class, and every unjudged finding with the `git diff` that shows it, so it
# can be judged in the corpus.
# Needs git and python3 (3.11 or later, for tomllib).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: scripts/backtest.sh DIR [CORPUS]}
corpus=${2:-$root/backtest/corpus.toml}
work=${BACKTEST_WORK:-$root/target/backtest}
gate=${GATE:-$root/target/release/gate}

if [ ! -x "$gate" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
fi
mkdir -p "$work"

PYTHONPATH="$root/scripts${PYTHONPATH:+:$PYTHONPATH}" exec python3 - "$corpus" "$dir" "$work" "$gate" <<'PY'
import fnmatch, json, os, subprocess, sys, tomllib

from corpus import find_repo, work_clone

corpus_path, source_dir, work, gate = sys.argv[1:5]
with open(corpus_path, "rb") as f:
    corpus = tomllib.load(f)

def judgement(judged, release, finding):
    """The first judgement that matches a blocking finding: `release` and `path` are globs
    (default `*`), `message` a substring; more specific entries are listed first."""
    for index, j in enumerate(judged):
        if j["check"] != finding["check"]:
            continue
        if not fnmatch.fnmatchcase(release, j.get("release", "*")):
            continue
        if not fnmatch.fnmatchcase(finding.get("path") or "", j.get("path", "*")):
            continue
        if j.get("message", "") not in finding["message"]:
            continue
        return index
    return None

def backtest(entry):
    name = entry["name"]
    clone = work_clone(source_dir, work, name)
    if clone is None:
        return None, f"not found in {source_dir}"
    args = [gate, "backtest", "--last", str(entry.get("last", 15)), "--format", "json", "--keep-going"]
    for pattern in entry["tags"]:
        args += ["--tags", pattern]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GATE_"))}
    env["GIT_DIR"] = clone
    print(f"backtest: {name} ...", file=sys.stderr, flush=True)
    run = subprocess.run(args, cwd=clone, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        return None, run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}"
    with open(os.path.join(work, name.replace("/", "+") + ".json"), "w") as f:
        f.write(run.stdout)
    return json.loads(run.stdout), None

rows, unjudged, stale, classes, by_check = [], [], [], {}, {}
for entry in corpus["repo"]:
    name = entry["name"]
    report, error = backtest(entry)
    if report is None:
        rows.append((name, entry.get("ecosystem", ""), None, error))
        continue
    judged = entry.get("judged", [])
    used = set()
    real = false = open_ = rightly = 0
    for release in report["releases"]:
        any_real = False
        for finding in release["blocking"]:
            index = judgement(judged, release["release_rev"], finding)
            used.add(index)
            verdict = judged[index]["block"] if index is not None else None
            per_check = by_check.setdefault(finding["check"], {"real": 0, "false": 0, "unjudged": 0})
            per_check[verdict if verdict in ("real", "false") else "unjudged"] += 1
            if verdict == "real":
                real += 1
                any_real = True
            elif verdict == "false":
                false += 1
                classes[judged[index].get("class", "unclassified")] = classes.get(judged[index].get("class", "unclassified"), 0) + 1
            else:
                open_ += 1
                unjudged.append((name, source_dir, release, finding))
        rightly += any_real
    stale += [(name, j) for i, j in enumerate(judged) if i not in used]
    s = report["summary"]
    rows.append((name, entry.get("ecosystem", ""), (s["releases"], s["blocked"], s["undecided"], real, false, open_, rightly), None))

def pct(a, b):
    return f"{100 * a / b:.0f}%" if b else "-"

def precision(real, false):
    return f"{100 * real / (real + false):.1f}%" if real + false else "-"

# `rightly`: blocked releases with at least one blocking finding judged real.
header = ("repository", "releases", "blocked", "share", "real", "false", "unjudged", "precision", "rightly", "undecided")
width = max(len(r[0]) for r in rows + [("repository",)])
print(f"{header[0]:<{width}}  " + "  ".join(f"{h:>9}" for h in header[1:]))
totals = [0] * 7
for name, ecosystem, counts, error in rows:
    if counts is None:
        print(f"{name:<{width}}  could not run: {error}")
        continue
    releases, blocked, undecided, real, false, open_, rightly = counts
    totals = [t + c for t, c in zip(totals, counts)]
    cells = (releases, blocked, pct(blocked, releases), real, false, open_, precision(real, false), rightly, undecided)
    print(f"{name:<{width}}  " + "  ".join(f"{c:>9}" for c in cells))
releases, blocked, undecided, real, false, open_, rightly = totals
cells = (releases, blocked, pct(blocked, releases), real, false, open_, precision(real, false), rightly, undecided)
print(f"{'total':<{width}}  " + "  ".join(f"{c:>9}" for c in cells))
print(f"blocked releases with at least one real finding: {rightly} of {blocked} ({pct(rightly, blocked)})")

print("\nblocking findings by check:")
print(f"  {'check':<18}  {'real':>6}  {'false':>6}  {'unjudged':>8}  precision")
for check, counts in sorted(by_check.items(), key=lambda item: -sum(item[1].values())):
    real_, false_ = counts["real"], counts["false"]
    print(f"  {check:<18}  {real_:>6}  {false_:>6}  {counts['unjudged']:>8}  {precision(real_, false_):>9}")

if classes:
    print("\nfalse blocks by class:")
    for name, count in sorted(classes.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {count:>6}  {name}")

if unjudged:
    print(f"\n{len(unjudged)} unjudged blocking finding(s); read the diff and add a `judged` entry to {corpus_path}:")
    for name, _, release, finding in unjudged:
        path = finding.get("path") or ""
        print(f"  {name} {release['release_rev']} {finding['check']} {path}: {finding['message']}")
        print(f"      git -C {find_repo(source_dir, name)} diff {release['base']} {release['release']} -- '{path}'")
if stale:
    print(f"\n{len(stale)} judgement(s) match no blocking finding any more (gate changed, or the corpus did):")
    for name, j in stale:
        print(f"  {name} {j.get('release', '*')} {j['check']} {j.get('path', '*')}: {j['why']}")
PY
