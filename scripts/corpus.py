"""What scripts/backtest.sh and scripts/variant-recall.sh share: where a repository of the
corpus is, and the clone of it that gate is run in."""
import os
import subprocess


def find_repo(source_dir, name):
    """The repository `owner/name` under `source_dir`, as DIR/owner+name/repo, DIR/owner+name,
    DIR/owner/name, DIR/name or DIR/name.git; None when it is not there."""
    owner, repo = name.split("/")
    for candidate in (f"{owner}+{repo}/repo", f"{owner}+{repo}", f"{owner}/{repo}", repo, f"{repo}.git"):
        path = os.path.join(source_dir, candidate)
        if os.path.isdir(path):
            return path
    return None


def work_clone(source_dir, work, name, env=None):
    """A bare `--shared` clone of `owner/name` in `work`, made on first use, so gate's cache is
    written there and never into `source_dir`; None when the repository is not found."""
    source = find_repo(source_dir, name)
    if source is None:
        return None
    clone = os.path.join(work, name.replace("/", "+") + ".git")
    if not os.path.isdir(clone):
        subprocess.run(["git", "clone", "--quiet", "--bare", "--shared", source, clone], check=True, env=env)
    return clone
