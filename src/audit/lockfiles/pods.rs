//! CocoaPods: Podfile.lock's `PODS:` list, `  - Name (1.2.3)` with the pods each depends on
//! indented below (those are requirements, not what was installed).

use super::{Packages, ReadError, excerpt, invalid};

pub(super) fn podfile_lock(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let mut in_pods = false;
    for (index, line) in content.lines().enumerate() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_pods = line.trim_end() == "PODS:";
            continue;
        }
        let Some(entry) = line.strip_prefix("  - ").filter(|_| in_pods) else { continue };
        let entry = entry.trim_end().trim_end_matches(':').trim_matches('"');
        match entry.rsplit_once(" (") {
            Some((name, version)) if version.ends_with(')') => out.add(name, &version[..version.len() - 1]),
            _ => {
                return Err(invalid(format!(
                    "line {}: expected `- Name (version)` in PODS, found `{}`",
                    index + 1,
                    excerpt(entry)
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::audit::lockfiles::tests::{names, read_ok, versions};

    #[test]
    fn podfile_lock_reads_installed_pods_not_their_requirements() {
        let lock = "PODS:\n  - Alamofire (5.9.1)\n  - Firebase/Core (10.24.0):\n    - Firebase/CoreOnly\n    - FirebaseAnalytics (~> 10.24.0)\n  \
                    - \"GoogleUtilities/Environment (7.13.0)\":\n    - PromisesObjC (< 3.0, >= 1.2)\n\nDEPENDENCIES:\n  - Alamofire (~> 5.9)\n\n\
                    COCOAPODS: 1.15.2\n";
        let packages = read_ok("ios/Podfile.lock", lock);
        assert_eq!(names(&packages), ["Alamofire", "Firebase/Core", "GoogleUtilities/Environment"]);
        assert_eq!(versions(&packages, "Firebase/Core"), ["10.24.0"]);
    }
}
