//! Java: pom.xml (every `<dependency>` but a plugin's own, and the `<parent>`; a version written
//! `${spring.version}` is read from the file's `<properties>`, so changing the property changes
//! the dependency, and a `...version` property no dependency uses counts on its own),
//! build.gradle and build.gradle.kts (programs, so only string coordinates are read and version
//! catalog references are not resolved), and gradle.lockfile. Packages are named
//! `group:artifact`; `<scope>test</scope>` and `test...` configurations are test dependencies.

use std::sync::LazyLock;

use quick_xml::events::{BytesRef, Event as XmlEvent};
use quick_xml::reader::Reader;
use regex::Regex;

use super::{Packages, ReadError, excerpt, invalid};

/// pom.xml: every `<dependency>`, including those in `<dependencyManagement>` (they pin versions),
/// except a `<plugin>`'s own. Versions stay as written: `${spring.version}` is what changed.
pub(super) fn pom_xml(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let mut reader = Reader::from_str(content);
    reader.config_mut().check_end_names = true;
    let mut open: Vec<String> = Vec::new();
    let mut dependency: Option<MavenDependency> = None;
    let mut dependencies: Vec<MavenDependency> = Vec::new();
    let mut properties: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut parent = MavenDependency::default();
    let mut root_seen = false;
    loop {
        let event = reader.read_event().map_err(|err| {
            invalid(format!("not valid XML at line {}: {err}", line_at(content, reader.error_position())))
        })?;
        match event {
            XmlEvent::Start(ref element) | XmlEvent::Empty(ref element) if open.is_empty() => {
                let name = element.local_name().as_ref().to_string();
                if root_seen {
                    return Err(invalid(format!("a second root element <{name}> after </project>")));
                }
                if name != "project" {
                    return Err(invalid(format!("its root element is <{name}>, not <project>")));
                }
                root_seen = true;
                if matches!(event, XmlEvent::Start(_)) {
                    open.push(name);
                }
            }
            XmlEvent::Start(element) => {
                let name = element.local_name().as_ref().to_string();
                if name == "dependency" && dependency.is_none() && !open.iter().any(|parent| parent == "plugin") {
                    dependency = Some(MavenDependency { depth: open.len(), ..MavenDependency::default() });
                }
                open.push(name);
            }
            XmlEvent::Text(_) | XmlEvent::CData(_) | XmlEvent::GeneralRef(_) => {
                let text = match &event {
                    XmlEvent::Text(text) => text.xml10_content().to_string(),
                    XmlEvent::CData(text) => {
                        let text: &str = text;
                        text.to_string()
                    }
                    XmlEvent::GeneralRef(reference) => entity_text(reference),
                    _ => String::new(),
                };
                match open.as_slice() {
                    [_, section, name] if section == "properties" => {
                        properties.entry(name.clone()).or_default().push_str(&text);
                    }
                    [_, section, field] if section == "parent" => match field.as_str() {
                        "groupId" => parent.group.push_str(&text),
                        "artifactId" => parent.artifact.push_str(&text),
                        "version" => parent.version.push_str(&text),
                        _ => {}
                    },
                    _ => maven_text(&mut dependency, &open, &text),
                }
            }
            XmlEvent::End(_) => {
                open.pop();
                if let Some(done) = dependency.take_if(|d| d.depth == open.len()) {
                    dependencies.push(done);
                }
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    match open.last() {
        Some(element) => return Err(invalid(format!("it ends inside <{element}>: the file is truncated"))),
        None if !root_seen => return Err(invalid("it has no XML element at all")),
        None => {}
    }
    let mut used = std::collections::BTreeSet::new();
    for dependency in dependencies.into_iter().chain((!parent.artifact.trim().is_empty()).then_some(parent)) {
        dependency.finish(&properties, &mut used, out)?;
    }
    // A version property no dependency uses still names one: a plugin's, a BOM's, the JDK's.
    for (name, value) in &properties {
        if name.to_lowercase().contains("version") && !used.contains(name) && !value.trim().is_empty() {
            out.add(&format!("${{{name}}}"), value.trim());
        }
    }
    Ok(())
}

#[derive(Debug, Default)]
struct MavenDependency {
    /// How many elements were open around `<dependency>`.
    depth: usize,
    group: String,
    artifact: String,
    version: String,
    scope: String,
}

impl MavenDependency {
    /// Adds the dependency, its `${property}` version read from `properties` (and recorded in
    /// `used`); a test-scoped one is a test dependency.
    fn finish(
        self,
        properties: &std::collections::BTreeMap<String, String>,
        used: &mut std::collections::BTreeSet<String>,
        out: &mut Packages,
    ) -> Result<(), ReadError> {
        let (group, artifact, version) = (self.group.trim(), self.artifact.trim(), self.version.trim());
        if artifact.is_empty() {
            return Err(invalid(format!("a <dependency> in group `{group}` has no <artifactId>")));
        }
        let name = if group.is_empty() { artifact.to_string() } else { format!("{group}:{artifact}") };
        let property = version.strip_prefix("${").and_then(|v| v.strip_suffix('}'));
        let version = match property.and_then(|p| properties.get(p).map(|value| (p, value.trim()))) {
            Some((property, value)) if !value.is_empty() => {
                used.insert(property.to_string());
                value
            }
            _ if version.is_empty() => "*",
            _ => version,
        };
        if self.scope.trim() == "test" {
            out.dev_section(|out| out.add(&name, version));
        } else {
            out.add(&name, version);
        }
        Ok(())
    }
}

/// Text goes to the dependency's field when it sits directly in `<groupId>`, `<artifactId>` or
/// `<version>` of that `<dependency>` (not in an `<exclusion>` below it).
fn maven_text(dependency: &mut Option<MavenDependency>, open: &[String], text: &str) {
    let Some(dependency) = dependency.as_mut() else { return };
    if open.len() != dependency.depth + 2 {
        return;
    }
    let field = match open.last().map(String::as_str) {
        Some("groupId") => &mut dependency.group,
        Some("artifactId") => &mut dependency.artifact,
        Some("version") => &mut dependency.version,
        Some("scope") => &mut dependency.scope,
        _ => return,
    };
    field.push_str(text);
}

/// XML's predefined entities and character references; any other entity stays as written.
fn entity_text(reference: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return c.to_string();
    }
    let name: &str = reference;
    match name {
        "lt" => "<".to_string(),
        "gt" => ">".to_string(),
        "amp" => "&".to_string(),
        "apos" => "'".to_string(),
        "quot" => "\"".to_string(),
        other => format!("&{other};"),
    }
}

/// The 1-based line holding byte `position`.
fn line_at(content: &str, position: u64) -> usize {
    let end = usize::try_from(position).unwrap_or(usize::MAX).min(content.len());
    content.as_bytes()[..end].iter().filter(|b| **b == b'\n').count() + 1
}

/// The dependency configurations of the Java, Kotlin and Android plugins, and of custom source sets.
const GRADLE_CONFIGURATION: &str = concat!(
    r"\b(?:implementation|api|compileOnly|compileOnlyApi|runtimeOnly|annotationProcessor|kapt\w*|ksp\w*|classpath",
    r"|compile|runtime|testCompile|testRuntime|developmentOnly",
    r"|[a-z]\w*(?:Implementation|Api|CompileOnly|RuntimeOnly|AnnotationProcessor))\b",
);

/// `implementation 'g:a:1.2'`, `implementation("g:a:1.2")`, `api(platform("g:a:1.2"))`.
static GRADLE_STRING: LazyLock<Regex> = LazyLock::new(|| {
    let wrapper = r"(?:(?:platform|enforcedPlatform|testFixtures)\s*\(\s*)?";
    let coordinates = r#"['"]([^'"\s:]+):([^'"\s:]+)(?::([^'"\s:@]+))?[^'"\s]*['"]"#;
    Regex::new(&format!(r"{GRADLE_CONFIGURATION}\s*\(?\s*{wrapper}{coordinates}")).expect("the Gradle pattern is valid")
});

/// `implementation group: 'g', name: 'a', version: '1.2'` and Kotlin's `group = "g", ...`.
static GRADLE_MAP: LazyLock<Regex> = LazyLock::new(|| {
    let part = |key: &str| format!(r#"{key}\s*[:=]\s*['"]([^'"]+)['"]"#);
    let (group, name, version) = (part("group"), part("name"), part("version"));
    Regex::new(&format!(r"{GRADLE_CONFIGURATION}\s*\(?\s*{group}\s*,\s*{name}(?:\s*,\s*{version})?"))
        .expect("the Gradle map pattern is valid")
});

/// Comments, so that a commented-out dependency is not read as one.
static GRADLE_COMMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)/\*.*?\*/|//[^\n]*").expect("the comment pattern is valid"));

/// build.gradle and build.gradle.kts are programs: string coordinates are read, and version
/// catalog references (`libs.okhttp`) are not resolved. Nothing in them is an error.
pub(super) fn build_gradle(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    let code = GRADLE_COMMENT.replace_all(content, " ");
    for found in GRADLE_STRING.captures_iter(&code).chain(GRADLE_MAP.captures_iter(&code)) {
        let part = |index: usize| found.get(index).map(|m| m.as_str());
        let whole = part(0).unwrap_or("");
        if let (Some(group), Some(artifact)) = (part(1), part(2)) {
            let (name, version) = (format!("{group}:{artifact}"), part(3).unwrap_or("*"));
            if whole.starts_with("test") || whole.starts_with("androidTest") {
                out.dev_section(|out| out.add(&name, version));
            } else {
                out.add(&name, version);
            }
        }
    }
    Ok(())
}

/// gradle.lockfile: `group:artifact:version=configurations`; `empty=` lists unused configurations.
pub(super) fn gradle_lockfile(content: &str, out: &mut Packages) -> Result<(), ReadError> {
    for (index, line) in content.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("empty=") {
            continue;
        }
        let coordinates = line.split('=').next().unwrap_or_default();
        match coordinates.split(':').collect::<Vec<_>>()[..] {
            [group, artifact, version] if !group.is_empty() && !artifact.is_empty() && !version.is_empty() => {
                out.add(&format!("{group}:{artifact}"), version);
            }
            _ => {
                let found = excerpt(line);
                return Err(invalid(format!(
                    "line {}: expected `group:artifact:version=...`, found `{found}`",
                    index + 1
                )));
            }
        }
    }
    Ok(())
}

// Its samples are also fed to every parser by the format-spanning tests in mod.rs.
#[cfg(test)]
pub(super) mod tests {
    use crate::audit::lockfiles::tests::{invalid_message, names, read_ok, versions};

    pub(in crate::audit::lockfiles) const POM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>3.2.5</version>
  </parent>
  <groupId>com.acme</groupId>
  <artifactId>shop</artifactId>
  <version>1.4.0-SNAPSHOT</version>
  <properties>
    <spring.version>6.1.6</spring.version>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>com.fasterxml.jackson</groupId>
        <artifactId>jackson-bom</artifactId>
        <version>2.17.1</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.springframework</groupId>
      <artifactId>spring-web</artifactId>
      <version>${spring.version}</version>
      <exclusions>
        <exclusion>
          <groupId>commons-logging</groupId>
          <artifactId>commons-logging</artifactId>
        </exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.postgresql</groupId>
      <artifactId>postgresql</artifactId>
      <scope>runtime</scope>
    </dependency>
    <!-- <dependency><groupId>old</groupId><artifactId>gone</artifactId></dependency> -->
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-surefire-plugin</artifactId>
        <version>3.2.5</version>
        <dependencies>
          <dependency>
            <groupId>org.junit.platform</groupId>
            <artifactId>junit-platform-surefire-provider</artifactId>
            <version>1.3.2</version>
          </dependency>
        </dependencies>
      </plugin>
    </plugins>
  </build>
</project>
"#;

    #[test]
    fn pom_reads_dependencies_their_management_and_the_parent_but_not_plugins() {
        let packages = read_ok("services/shop/pom.xml", POM);
        assert_eq!(
            names(&packages),
            [
                "com.fasterxml.jackson:jackson-bom",
                "org.postgresql:postgresql",
                "org.springframework.boot:spring-boot-starter-parent",
                "org.springframework:spring-web"
            ]
        );
        // The property's value, so that changing the property changes the dependency.
        assert_eq!(versions(&packages, "org.springframework:spring-web"), ["6.1.6"]);
        assert_eq!(versions(&packages, "org.springframework.boot:spring-boot-starter-parent"), ["3.2.5"]);
        assert_eq!(versions(&packages, "org.postgresql:postgresql"), ["*"]);
        assert_eq!(versions(&packages, "com.fasterxml.jackson:jackson-bom"), ["2.17.1"]);

        assert!(read_ok("pom.xml", "<project/>").packages.is_empty(), "an empty project is not truncated");
        assert!(invalid_message("pom.xml", "<project/><project/>").contains("second root"));
    }

    #[test]
    fn pom_properties_count_and_test_scope_is_a_test_dependency() {
        let pom = |spring: &str, junit: &str| {
            format!(
                "<project><properties><spring.version>{spring}</spring.version><java.version>17</java.version>\
                 <junit.version>{junit}</junit.version></properties><dependencies>\
                 <dependency><groupId>org.springframework</groupId><artifactId>spring-web</artifactId><version>${{spring.version}}</version></dependency>\
                 <dependency><groupId>org.junit</groupId><artifactId>junit</artifactId><version>${{junit.version}}</version><scope>test</scope></dependency>\
                 </dependencies></project>"
            )
        };
        let old = read_ok("pom.xml", &pom("5.3.31", "4.13"));
        let new = read_ok("pom.xml", &pom("6.1.6", "5.10"));
        assert_eq!(versions(&old, "${java.version}"), ["17"]);
        assert!(new.dev.contains("org.junit:junit"));
        let changes = crate::audit::lockfiles::diff(&old, &new);
        assert_eq!(changes.part(false).lines(), ["org.springframework:spring-web 5.3.31 -> 6.1.6 (major upgrade)"]);
        assert_eq!(changes.part(true).lines(), ["org.junit:junit 4.13 -> 5.10 (major upgrade)"]);
    }

    #[test]
    fn build_gradle_reads_groovy_and_kotlin_declarations() {
        let groovy = r#"plugins {
    id 'java'
    id 'org.springframework.boot' version '3.2.5'
}

repositories { maven { url 'https://repo.acme.com/maven2' } }

dependencies {
    implementation 'org.springframework.boot:spring-boot-starter-web'
    implementation "com.squareup.okhttp3:okhttp:4.12.0"
    api platform('com.fasterxml.jackson:jackson-bom:2.17.1')
    compileOnly 'org.projectlombok:lombok:1.18.32'
    annotationProcessor 'org.projectlombok:lombok:1.18.32'
    runtimeOnly group: 'org.postgresql', name: 'postgresql', version: '42.7.3'
    testImplementation 'org.junit.jupiter:junit-jupiter:5.10.2'
    implementation libs.guava
    // implementation 'commons-io:commons-io:2.16.1'
    /* kapt 'com.google.dagger:dagger-compiler:2.51' */
}
"#;
        let packages = read_ok("build.gradle", groovy);
        assert_eq!(
            names(&packages),
            [
                "com.fasterxml.jackson:jackson-bom",
                "com.squareup.okhttp3:okhttp",
                "org.junit.jupiter:junit-jupiter",
                "org.postgresql:postgresql",
                "org.projectlombok:lombok",
                "org.springframework.boot:spring-boot-starter-web"
            ]
        );
        assert_eq!(versions(&packages, "org.springframework.boot:spring-boot-starter-web"), ["*"]);
        assert_eq!(versions(&packages, "org.postgresql:postgresql"), ["42.7.3"]);

        let kotlin = r#"dependencies {
    implementation("io.ktor:ktor-server-core:2.3.11")
    kapt("com.google.dagger:dagger-compiler:2.51")
    testImplementation(kotlin("test"))
    androidTestImplementation("androidx.test.espresso:espresso-core:3.5.1")
}
"#;
        let packages = read_ok("app/build.gradle.kts", kotlin);
        assert_eq!(
            names(&packages),
            ["androidx.test.espresso:espresso-core", "com.google.dagger:dagger-compiler", "io.ktor:ktor-server-core"]
        );
    }

    #[test]
    fn gradle_lockfile_reads_coordinates_and_skips_empty() {
        let lock = "# This is a Gradle generated file for dependency locking.
# Manual edits can break the build and are not advised.
# This file is expected to be part of source control.
com.google.guava:failureaccess:1.0.2=compileClasspath,runtimeClasspath
com.google.guava:guava:33.2.0-jre=compileClasspath,runtimeClasspath
org.slf4j:slf4j-api:2.0.13=runtimeClasspath,testRuntimeClasspath
empty=annotationProcessor,testAnnotationProcessor
";
        let packages = read_ok("gradle.lockfile", lock);
        assert_eq!(
            names(&packages),
            ["com.google.guava:failureaccess", "com.google.guava:guava", "org.slf4j:slf4j-api"]
        );
        assert_eq!(versions(&packages, "com.google.guava:guava"), ["33.2.0-jre"]);
    }
}
