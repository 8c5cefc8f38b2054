//! Container images are dependencies too: `FROM` in Dockerfiles, `image:` in compose files and
//! Kubernetes manifests, and `image: {repository, tag}` in Helm values. `redis:7` becoming
//! `valkey/valkey:8` removes one package and adds another. An image is named without its tag
//! (`ghcr.io/acme/api`); its version is the tag (`latest` when there is none) and the start of
//! its digest. Template expressions (`{{ .Values.image }}`) are not images.

use super::Packages;

/// Whether the file at `path` may name container images.
pub fn may_name_images(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    is_dockerfile(&name) || name.ends_with(".yaml") || name.ends_with(".yml")
}

fn is_dockerfile(name: &str) -> bool {
    name.starts_with("dockerfile") || name.starts_with("containerfile") || name.ends_with(".dockerfile")
}

/// The images the file names, or `None` when it names none.
pub fn read(path: &str, content: &str) -> Option<Packages> {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let mut out = Packages { format: "container images".to_string(), ..Packages::default() };
    if is_dockerfile(&name) {
        dockerfile(content, &mut out);
    } else {
        yaml(content, &mut out);
    }
    (!out.packages.is_empty()).then_some(out)
}

/// `FROM [--platform=...] IMAGE [AS stage]`; a stage named earlier and `scratch` are not images,
/// and `ARG` defaults declared before are filled in.
fn dockerfile(content: &str, out: &mut Packages) {
    let mut stages: Vec<String> = Vec::new();
    let mut args: Vec<(String, String)> = Vec::new();
    for line in content.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("ARG") => {
                if let Some((key, value)) = words.get(1).and_then(|w| w.split_once('=')) {
                    args.push((key.to_string(), value.trim_matches('"').to_string()));
                }
            }
            Some("FROM") => {
                let mut rest = words[1..].iter().filter(|w| !w.starts_with("--"));
                let Some(image) = rest.next() else { continue };
                let mut image = image.to_string();
                for (key, value) in &args {
                    image = image.replace(&format!("${{{key}}}"), value).replace(&format!("${key}"), value);
                }
                if let (Some(as_word), Some(stage)) = (rest.next(), rest.next())
                    && as_word.eq_ignore_ascii_case("as")
                {
                    stages.push(stage.to_ascii_lowercase());
                }
                if !image.eq_ignore_ascii_case("scratch") && !stages[..].contains(&image.to_ascii_lowercase()) {
                    add_image(&image, out);
                }
            }
            _ => {}
        }
    }
}

/// `image: NAME[:TAG]` lines, and `image:` mappings of `registry`, `repository` and `tag`.
fn yaml(content: &str, out: &mut Packages) {
    let lines: Vec<&str> = content.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
        let Some(value) = trimmed.strip_prefix("image:") else { continue };
        let value = value.split(" #").next().unwrap_or("").trim().trim_matches(['"', '\'']);
        if value.contains("{{") {
            continue;
        }
        if !value.is_empty() {
            add_image(value, out);
            continue;
        }
        // A mapping below, indented deeper.
        let indent = line.len() - line.trim_start().len();
        let (mut registry, mut repository, mut tag) = (None, None, None);
        for below in
            lines[i + 1..].iter().take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
        {
            let Some((key, value)) = below.trim().split_once(':') else { continue };
            let value = value.split(" #").next().unwrap_or("").trim().trim_matches(['"', '\'']).to_string();
            if value.is_empty() || value.contains("{{") {
                continue;
            }
            match key.trim() {
                "registry" => registry = Some(value),
                "repository" => repository = Some(value),
                "tag" => tag = Some(value),
                _ => {}
            }
        }
        if let Some(repository) = repository {
            let name = registry.map_or(repository.clone(), |r| format!("{r}/{repository}"));
            out.add(&name, tag.as_deref().unwrap_or("latest"));
        }
    }
}

/// `ghcr.io/acme/api:1.2@sha256:abcd...` -> (`ghcr.io/acme/api`, `1.2@sha256:abcd1234abcd`).
fn add_image(reference: &str, out: &mut Packages) {
    let (reference, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest.chars().take(19).collect::<String>())),
        None => (reference, None),
    };
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match reference[last_slash..].rfind(':') {
        Some(colon) => (&reference[..last_slash + colon], &reference[last_slash + colon + 1..]),
        None => (reference, if digest.is_some() { "" } else { "latest" }),
    };
    let version = match digest {
        Some(digest) if tag.is_empty() => digest,
        Some(digest) => format!("{tag}@{digest}"),
        None => tag.to_string(),
    };
    if !name.is_empty() {
        out.add(name, &version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::lockfiles::diff;

    fn images(path: &str, content: &str) -> Vec<(String, Vec<String>)> {
        read(path, content)
            .map(|p| p.packages.into_iter().map(|(n, v)| (n, v.into_iter().collect())).collect())
            .unwrap_or_default()
    }

    #[test]
    fn dockerfiles_name_their_base_images_not_their_stages() {
        let dockerfile = "ARG NODE=20\nFROM --platform=$BUILDPLATFORM node:${NODE}-alpine AS build\nRUN make\n\
                          FROM build AS test\nFROM gcr.io/distroless/nodejs:20@sha256:0123456789abcdef0123\nFROM scratch\n";
        assert_eq!(
            images("web/Dockerfile", dockerfile),
            [
                ("gcr.io/distroless/nodejs".to_string(), vec!["20@sha256:0123456789ab".to_string()]),
                ("node".to_string(), vec!["20-alpine".to_string()]),
            ]
        );
    }

    #[test]
    fn compose_files_and_manifests_name_images() {
        let compose = "services:\n  cache:\n    image: redis:7 # the cache\n  db:\n    image: \"localhost:5000/pg\"\n";
        let old = read("docker-compose.yml", compose).unwrap();
        let new = read("docker-compose.yml", &compose.replace("redis:7", "valkey/valkey:8")).unwrap();
        assert_eq!(diff(&old, &new).lines(), ["+ valkey/valkey 8", "- redis 7"]);
        assert_eq!(
            images("docker-compose.yml", compose)[0],
            ("localhost:5000/pg".to_string(), vec!["latest".to_string()])
        );
        let values = "image:\n  registry: ghcr.io\n  repository: acme/api\n  tag: \"1.4.2\"\nreplicas: 2\n";
        assert_eq!(images("chart/values.yaml", values), [("ghcr.io/acme/api".to_string(), vec!["1.4.2".to_string()])]);
        let template =
            "containers:\n  - name: api\n    image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n";
        assert!(read("chart/templates/deployment.yaml", template).is_none());
        assert!(read("config/app.yml", "port: 80\n").is_none());
    }
}
