#!/usr/bin/env bash
# Measures variant-name's recall on held-out repositories: for each marked copy in
# backtest/variants.toml (a `_v2`, `_old`, ` copy` or `.bak` script added beside its original),
# runs `gate check` on exactly the commit that added it and says whether the copy blocked.
#
#   scripts/variant-recall.sh DIR [LIST]
#
# LIST is the list to measure (default backtest/variants.toml; backtest/variants-heldout.toml is
# the second held-out list). A row's `path` ending in `/` is a copied directory (`app_old/`): the
# commit adds files under it, and gate's finding on the directory decides. A merge commit's
# changes are those against its first parent, the base.
# DIR holds the repositories, as bare or normal clones, each at DIR/owner+name/repo,
# DIR/owner+name, DIR/owner/name or DIR/name. Each is cloned once more with --shared into
# $RECALL_WORK (default target/variant-recall), so gate's cache is written there and never into
# DIR; the JSON reports land there too (owner+name-COMMIT.json). $GATE is the gate binary
# (default: a release build, built when missing). The base is the commit's first parent; for a
# root commit, an empty commit made in the work clone.
#
# A snapshot without its large files (a store that drops files of 4 MiB and more) cannot be
# checked as it is: gate reads the whole tree and stops, undecided, on a missing file. Then the
# base and the release are rebuilt in the work clone with each missing file replaced by a short
# placeholder naming its blob (the same in both trees, so an unchanged file stays unchanged),
# and the row says so.
#
# Prints, per row: the copy (or a control, a name that is not a copy), what was expected, what gate did (`block`: variant-name or
# near-duplicate denies the copy itself; `warn`: a finding on it that does not block; `miss`:
# none), the original variant-name named, the near-duplicate and untested-change findings on
# the copy, and whether that differs from the verdict recorded in the list. Then recall =
# copies blocked that should block / copies that should block, and the controls blocked.
# Needs git and python3 (3.11 or later, for tomllib).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: scripts/variant-recall.sh DIR [LIST]}
list=${2:-$root/backtest/variants.toml}
work=${RECALL_WORK:-$root/target/variant-recall}
gate=${GATE:-$root/target/release/gate}

if [ ! -x "$gate" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
fi
mkdir -p "$work"

PYTHONPATH="$root/scripts${PYTHONPATH:+:$PYTHONPATH}" exec python3 - "$list" "$dir" "$work" "$gate" <<'PY'
import json, os, subprocess, sys, tomllib

from corpus import work_clone

list_path, source_dir, work, gate = sys.argv[1:5]
with open(list_path, "rb") as f:
    rows = tomllib.load(f)["variant"]

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
# Commits made in the work clone have a fixed author, committer and clock, so their ids are
# the same on every run.
FIXED = {
    "GIT_AUTHOR_NAME": "variant-recall", "GIT_AUTHOR_EMAIL": "variant-recall@localhost",
    "GIT_COMMITTER_NAME": "variant-recall", "GIT_COMMITTER_EMAIL": "variant-recall@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
}
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GATE_"))}

def git(clone, *args, env=None, stdin=None):
    run = subprocess.run(["git", "-C", clone, *args], env={**CLEAN, **(env or {})},
                         input=stdin, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {run.stderr.strip()}")
    return run.stdout

def missing_blobs(clone, commit):
    """Paths of `commit`'s tree whose blob the clone lacks, with their mode and blob id."""
    entries = []
    for line in git(clone, "ls-tree", "-r", "-z", commit).split("\0"):
        if not line:
            continue
        meta, path = line.split("\t", 1)
        mode, kind, blob = meta.split()
        if kind == "blob":
            entries.append((mode, blob, path))
    present = git(clone, "cat-file", "--batch-check=%(objectname) %(objecttype)",
                  stdin="".join(f"{blob}\n" for _, blob, _ in entries))
    absent = {line.split()[0] for line in present.splitlines() if line.endswith(" missing")}
    return [(mode, blob, path) for mode, blob, path in entries if blob in absent]

def rebuilt(clone, commit, parents, force=False):
    """`commit` again, on `parents`, with every missing blob replaced by a placeholder; None
    when nothing is missing and nothing forces a new commit."""
    missing = missing_blobs(clone, commit)
    if not missing and not force:
        return None, 0
    index = os.path.join(clone, "variant-recall.index")
    env = {**FIXED, "GIT_INDEX_FILE": index}
    git(clone, "read-tree", commit, env=env)
    for mode, blob, path in missing:
        placeholder = git(clone, "hash-object", "-w", "--stdin",
                          stdin=f"absent from the snapshot: blob {blob}\n").strip()
        git(clone, "update-index", "--cacheinfo", f"{mode},{placeholder},{path}", env=env)
    tree = git(clone, "write-tree", env=env).strip()
    os.remove(index)
    args = ["commit-tree", tree, "-m", f"{commit} without the snapshot's missing files"]
    for parent in parents:
        args += ["-p", parent]
    return git(clone, *args, env=FIXED).strip(), len(missing)

def measure(row):
    name = row["repository"]
    clone = work_clone(source_dir, work, name, env=CLEAN)
    if clone is None:
        return None, f"not found in {source_dir}"
    commit = row["commit"]
    try:
        parents = git(clone, "rev-list", "--parents", "-n1", commit).split()[1:]
        # Against the first parent, so that a merge commit lists what it adds to the branch it
        # lands on (the same as `diff-tree COMMIT` for any other commit).
        added = git(clone, "diff-tree", "--no-commit-id", "--name-status", "--no-renames", "-r", "--root",
                    *parents[:1], commit).splitlines()
        if row["path"].endswith("/"):
            # A copied directory: some file is added under it.
            adds = any(line.startswith(f"A\t{row['path']}") for line in added)
        else:
            adds = f"A\t{row['path']}" in added
        if not adds:
            return None, f"{commit[:10]} does not add {row['path']}"
        if parents:
            base = parents[0]
        else:
            base = git(clone, "commit-tree", EMPTY_TREE, "-m", "empty base for a root commit", env=FIXED).strip()
        # The base keeps its own parents, so its history reads as it was.
        new_base, base_missing = rebuilt(clone, base, git(clone, "rev-list", "--parents", "-n1", base).split()[1:])
        base = new_base or base
        # A root commit is put on the empty base, so that the base is its parent.
        release, release_missing = rebuilt(clone, commit, [base], force=bool(new_base) or not parents)
        release = release or commit
    except RuntimeError as error:
        return None, str(error)
    args = [gate, "check", "--base", base, "--release", release, "--format", "json"]
    print(f"variant-recall: {name} {commit[:10]} ...", file=sys.stderr, flush=True)
    run = subprocess.run(args, cwd=clone, env={**CLEAN, "GIT_DIR": clone}, capture_output=True, text=True)
    if run.returncode not in (0, 1):
        return None, run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}"
    with open(os.path.join(work, f"{name.replace('/', '+')}-{commit[:10]}.json"), "w") as f:
        f.write(run.stdout)
    report = json.loads(run.stdout)
    report["_exit"] = run.returncode
    report["_placeholders"] = max(base_missing, release_missing)
    return report, None

def verdict(report, path):
    # A directory (`app_old/`) is the directory's finding and those on the files under it.
    def on(f):
        return f.get("path") == path or (path.endswith("/") and (f.get("path") or "").startswith(path))
    on_copy = [f for f in report["findings"] if on(f)]
    # variant-name's finding first, so a directory's columns read from its own finding.
    on_copy.sort(key=lambda f: f.get("path") != path)
    copy_checks = [f for f in on_copy if f["check"] in ("variant-name", "near-duplicate")]
    if any(f["severity"] == "deny" for f in copy_checks):
        got = "block"
    elif on_copy:
        got = "warn"
    else:
        got = "miss"
    variant = next((f for f in on_copy if f["check"] == "variant-name"), None)
    original = "-"
    if variant is not None:
        original = (variant.get("data") or {}).get("original") or "(none)"
    def sev(check):
        return next((f["severity"] for f in on_copy if f["check"] == check), "-")
    return got, original, sev("variant-name"), sev("near-duplicate"), sev("untested-change")

header = ("repository", "commit", "copy", "expected", "gate", "variant", "original", "near-dup", "untested", "exit", "recorded")
table, should, blocked, controls, false_blocks, changed, notes = [], 0, 0, 0, 0, [], []
for row in rows:
    report, error = measure(row)
    expected = row["expected"]
    if report is None:
        table.append((row["repository"], row["commit"][:10], row["path"], expected, "error", error))
        if expected == "block":
            should += 1
        continue
    got, original, variant, near, untested = verdict(report, row["path"])
    if expected == "block":
        should += 1
        blocked += got == "block"
    else:
        controls += 1
        false_blocks += got == "block"
    recorded = "same" if got == row["gate"] else f"was {row['gate']}"
    if got != row["gate"]:
        changed.append(row)
    if report["_placeholders"] and not any(n.startswith(f"{row['repository']} {row['commit'][:10]}:") for n in notes):
        notes.append(f"{row['repository']} {row['commit'][:10]}: {report['_placeholders']} file(s) missing from the snapshot, checked as placeholders")
    table.append((row["repository"], row["commit"][:10], row["path"], expected, got, variant, original,
                  near, untested, str(report["_exit"]), recorded))

widths = [max(len(str(r[i])) for r in [header] + [t for t in table if len(t) == len(header)]) for i in range(len(header))]
print("  ".join(f"{h:<{w}}" for h, w in zip(header, widths)))
for line in table:
    if len(line) != len(header):
        print("  ".join(f"{c:<{w}}" for c, w in zip(line[:5], widths)) + f"  could not run: {line[5]}")
        continue
    print("  ".join(f"{c:<{w}}" for c, w in zip(line, widths)))
repositories = len({row["repository"] for row in rows})
share = f"{100 * blocked / should:.0f}%" if should else "-"
print(f"\n{len(rows)} rows in {repositories} repositories: {should} copies that should block, {controls} controls")
print(f"recall: {blocked} of {should} copies that should block did block ({share})")
print(f"controls blocked: {false_blocks} of {controls}")
for note in notes:
    print(f"  note: {note}")
if changed:
    print(f"\n{len(changed)} row(s) differ from the verdict recorded in {list_path}:")
    for row in changed:
        print(f"  {row['repository']} {row['commit'][:10]} {row['path']}: recorded {row['gate']} ({row['why']})")
PY
