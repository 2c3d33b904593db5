// Build script of the acs-edge package. Sets, for `acs-edge --version`:
//   ACS_EDGE_GIT_REV  `git rev-parse --short HEAD`, or "unknown" without git or .git
//   ACS_EDGE_TARGET   the target triple cargo builds for
// Reruns only when HEAD or the branch it points at moves (or ACS_EDGE_GIT_REV is set by hand,
// e.g. by a packager building from a tarball), not on every build.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=ACS_EDGE_TARGET={target}");

    println!("cargo:rerun-if-env-changed=ACS_EDGE_GIT_REV");
    let rev = match std::env::var("ACS_EDGE_GIT_REV") {
        Ok(r) if !r.is_empty() => r,
        _ => git_rev().unwrap_or_else(|| "unknown".into()),
    };
    println!("cargo:rustc-env=ACS_EDGE_GIT_REV={rev}");
}

fn git_rev() -> Option<String> {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let git_dir = git_dir(&manifest)?;
    watch(&git_dir);
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(&manifest)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let rev = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!rev.is_empty()).then_some(rev)
}

/// The git dir for `dir`: `.git` may be a directory, or a file `gitdir: <path>` (worktrees,
/// submodules). Looks in `dir` and its parents.
fn git_dir(dir: &Path) -> Option<PathBuf> {
    for d in dir.ancestors() {
        let dot_git = d.join(".git");
        if dot_git.is_dir() {
            return Some(dot_git);
        }
        if dot_git.is_file() {
            let text = std::fs::read_to_string(&dot_git).ok()?;
            let p = text.strip_prefix("gitdir:")?.trim();
            return Some(d.join(p)); // join keeps p when it is absolute
        }
    }
    None
}

/// rerun-if-changed on HEAD, on the ref HEAD names, on the refs/heads directory (cargo
/// scans a directory for newer files: a commit on a packed branch writes a new loose ref there)
/// and on packed-refs. In a worktree the refs live in the common dir named by `commondir`.
/// Only existing paths are named: cargo reruns every build for a path that does not exist.
fn watch(git_dir: &Path) {
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|_| git_dir.to_path_buf());
    let mut paths = vec![
        git_dir.join("HEAD"),
        common.join("refs/heads"),
        common.join("packed-refs"),
    ];
    if let Ok(text) = std::fs::read_to_string(git_dir.join("HEAD")) {
        if let Some(r) = text.strip_prefix("ref:") {
            paths.push(git_dir.join(r.trim()));
            paths.push(common.join(r.trim()));
        }
    }
    paths.sort();
    paths.dedup();
    for p in paths.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}
