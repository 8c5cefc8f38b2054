//! Python tools some tests drive for real (check-jsonschema, pre-commit), installed once into a
//! virtual environment under `target/test-tools`, so `cargo test` needs nothing but the Rust
//! toolchain and the machine's Python 3. The first test that needs one pays for the install.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// What is installed, pinned so every run tests against the same tools.
const PACKAGES: &[&str] = &["check-jsonschema==0.39.0", "pre-commit==4.7.0"];

/// The path of a tool's executable in the test virtual environment.
pub fn tool(name: &str) -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(install).join("bin").join(name)
}

fn install() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("test-tools");
    let venv = root.join("venv");
    let marker = root.join(format!("ready-{}", PACKAGES.join("-").replace(['=', '.'], "_")));
    if marker.exists() {
        return venv;
    }
    std::fs::create_dir_all(&root).expect("create target/test-tools");
    // Another test binary may be installing at the same moment: take a lock directory.
    let lock = root.join("installing");
    let started = std::time::Instant::now();
    while std::fs::create_dir(&lock).is_err() {
        assert!(started.elapsed().as_secs() < 600, "waited 10 minutes for {} to go away", lock.display());
        std::thread::sleep(std::time::Duration::from_millis(500));
        if marker.exists() {
            return venv;
        }
    }
    let run = |command: &mut Command, what: &str| {
        let output = command.output().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
        assert!(
            output.status.success(),
            "{what} failed (these tests need Python 3 and PyPI):\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv), "python3 -m venv");
    run(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(PACKAGES),
        "pip install",
    );
    std::fs::write(&marker, "").expect("write the ready marker");
    let _ = std::fs::remove_dir(&lock);
    venv
}
