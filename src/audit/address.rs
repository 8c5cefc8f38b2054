//! Values under address-like keys (`url`, `host`, `port`, ...) in changed configuration, judged
//! before they ship. In incident 003 a config push gave the authentication servers an address the
//! auth library could not resolve; it blocked, and every serving thread hung with it. The mistakes
//! checked here pass review because they look like addresses: placeholders left in, a URL without
//! `//` or with an unescaped `/` in its password, a URL where a bare host is expected, an impossible
//! IP address or port, a loopback or private address in production, a slip from the old value.
//! Values resolved later (`${LDAP_HOST}`, `{{ ldap_host }}`) and empty values are not judged.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a key's value should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A URL with a scheme: `url`, `uri`, `endpoint`, `issuer`, `dsn`, `proxy` keys.
    Url,
    /// A host name or IP address, optionally with `:port`: `host`, `hostname`, `server`, `address` keys.
    Host,
    /// A port number.
    Port,
}

/// The situation a value is judged in.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Loopback, private and link-local addresses are findings (true for production environments).
    pub forbid_private: bool,
    /// The environment name, for messages ("in production").
    pub environment: Option<String>,
}

/// One thing wrong with a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// A stable kebab-case code for the kind of mistake (`missing-scheme`, `typo`, ...): part
    /// of a finding's identity, so machine formats can tell one mistake from another.
    pub code: &'static str,
    /// What is wrong, for a person: names the value and the mistake.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// Schemes whose URLs carry an authority (`//host:port`); without the `//` the host is read as a path.
const AUTHORITY_SCHEMES: &str = "http https ws wss ldap ldaps postgres postgresql mysql mariadb redis rediss amqp amqps \
     mongodb mongodb+srv smtp smtps ftp sftp ssh nats kafka grpc grpcs tcp udp s3";

/// Words people write instead of an address, as a whole value or as one token of its address part.
const PLACEHOLDER_WORDS: &str = "changeme change-me change_me todo tbd fixme replace-me replace_me replaceme hostname";

/// The scheme a bare `host:port` most likely wants, by its well-known port; https otherwise.
const SCHEME_BY_PORT: &str = "80:http 389:ldap 636:ldaps 5432:postgres 3306:mysql 6379:redis 5672:amqp 27017:mongodb";

/// Checks a new value (and, when the key existed before, its old value) of an address-like key.
/// Returns no problem for a value it cannot judge (a templated `${VAR}` / `{{ var }}` / `%(var)s`, an empty string).
///
/// `name` is the key, lower-cased (`auth.ldap_url`, `spec.ports[=80].targetport`): it tells a listen
/// address (`bind`, `listen`) from a peer to connect to, a Kubernetes `targetPort` (which may
/// name a port) from a port number, and a key that must hold a full URL (`url`, `uri`) from one
/// where `host:port` is right (`endpoint: minio:9000`).
pub fn check(expect: Expect, name: &str, old: Option<&str>, new: &str, cx: &Context) -> Vec<Problem> {
    let value = new.trim();
    // YAML's and JSON's null (`nodePort: null`, `~`) leaves the setting unset: nothing to judge.
    let unset = value.is_empty() || matches!(value, "null" | "Null" | "NULL" | "~");
    if unset || is_templated(value) || not_an_address(expect, name, value) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(token) = placeholder(value) {
        let what =
            if token == value { "is a placeholder".into() } else { format!("contains the placeholder `{token}`") };
        let help = "write the real address, or a variable resolved at deploy time (`${NAME}`)";
        out.push(problem("placeholder", format!("`{value}` {what}, not an address"), help));
        // A value that is nothing but a placeholder has no syntax worth judging and no typo to find.
        if token == value {
            return out;
        }
    }
    match expect {
        Expect::Url => check_url(value, needs_scheme(name, old), cx, &mut out),
        Expect::Host => check_host_value(value, cx, &mut out),
        Expect::Port => out.extend(port_problem(value.trim_matches(['"', '\'']))),
    }
    if out.is_empty() {
        out.extend(old.and_then(|old| typo(expect, old.trim(), value)));
    }
    out
}

/// Checks an OIDC issuer for a trailing `/`. Call it beside `check(Expect::Url, ..)` for issuer keys.
///
/// Token validation compares the `iss` claim with the configured issuer as exact strings. Some
/// providers do end their issuer with `/`, so a slash the old value already had is left alone.
pub fn check_issuer(old: Option<&str>, new: &str) -> Vec<Problem> {
    let new = new.trim();
    let old = old.map(str::trim).filter(|old| !old.is_empty() && !is_templated(old));
    if is_templated(new) || !new.ends_with('/') || old.is_some_and(|old| old.ends_with('/')) {
        return Vec::new();
    }
    let why = "issuers are compared as exact strings; a trailing `/` the provider does not have makes every token \
               fail validation";
    let message = match old {
        Some(old) => format!("`{new}` ends with `/` and the old value `{old}` had none: {why}"),
        None => format!("`{new}` ends with `/`: {why}"),
    };
    let without = new.trim_end_matches('/');
    vec![problem(
        "issuer-trailing-slash",
        message,
        format!("copy `issuer` from the provider's discovery document; if it has no `/`, write {without}"),
    )]
}

/// Values under address-like keys that are something else by convention: a UUID, a URL path
/// (`nonResourceURLs: /metrics`, a site link `/docs/...`), a Kubernetes named port
/// (`targetPort: metrics`), a listen address (`:8080`, `0.0.0.0:80` under `listen`/`bind`).
fn not_an_address(expect: Expect, name: &str, value: &str) -> bool {
    let leaf = name.rsplit('.').next().unwrap_or(name);
    let listening = leaf.contains("listen") || leaf.contains("bind");
    // Kubernetes lets a probe or a service name its port (`httpGet.port: http`).
    let named_port_allowed = leaf.ends_with("targetport")
        || name.contains("httpget.")
        || name.contains("tcpsocket.")
        || name.contains("probe");
    // Ansible `hosts:` and `no_proxy` lists name groups and patterns, not one host to reach.
    let host_patterns = leaf.starts_with("hosts") || name.contains("no_proxy");
    (host_patterns && !value.contains('.'))
        || is_uuid(value)
        || is_flag(value)
        || (expect == Expect::Host && is_host_pattern(value))
        || (expect != Expect::Port && value.starts_with('/'))
        || (expect == Expect::Port && named_port_allowed && is_port_name(value))
        || (expect != Expect::Port && value.starts_with(':') && value[1..].bytes().all(|b| b.is_ascii_digit()))
        || (listening && reach_of(split_host_port(value).0) == Some("unspecified"))
}

/// Whether a scheme-less value must have one: the key says it is a URL, or the old value had a
/// scheme. Elsewhere (`endpoint`, `proxy`, `dsn`), `host:port` is what many clients expect.
fn needs_scheme(name: &str, old: Option<&str>) -> bool {
    let leaf = name.rsplit('.').next().unwrap_or(name);
    leaf.contains("url") || leaf.contains("uri") || old.is_some_and(|old| old.contains("://"))
}

/// A switch, not an address: `0`, `1`, `true`, `no`, ... (`REJECT_UNKNOWN_CLIENT_HOSTNAME=0`).
fn is_flag(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "0" | "1" | "true" | "false" | "yes" | "no" | "on" | "off")
}

/// An inventory pattern that selects hosts rather than naming one: Ansible's `bastion[0]`,
/// `web[01:20]`, `all`, `*`, `webservers:&staging`.
fn is_host_pattern(value: &str) -> bool {
    if value == "all" || value.contains(['*', '&', '!']) {
        return true;
    }
    match value.split_once('[') {
        Some((name, range)) if !name.is_empty() => range
            .strip_suffix(']')
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit() || b == b':' || b == b'-')),
        _ => false,
    }
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A named port as Kubernetes (and IANA service names) spell it: up to 15 lower-case letters,
/// digits and inner `-`, at least one letter.
fn is_port_name(value: &str) -> bool {
    (1..=15).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && value.bytes().any(|b| b.is_ascii_lowercase())
        && !value.starts_with('-')
        && !value.ends_with('-')
}

fn problem(code: &'static str, message: impl Into<String>, help: impl Into<String>) -> Problem {
    Problem { code, message: message.into(), help: help.into() }
}

/// Values filled in at deploy time: `${VAR}`, `$VAR`, `{{ var }}`, `%(var)s`, `<%= var %>`. A password
/// with `$` before a letter reads as a variable too: such a value goes unjudged rather than misjudged.
fn is_templated(value: &str) -> bool {
    ["${", "{{", "%(", "<%"].iter().any(|marker| value.contains(marker))
        || value.match_indices('$').any(|(at, _)| value[at + 1..].starts_with(|c: char| c.is_alphabetic() || c == '_'))
}

/// The placeholder in a value's address part, if any. Paths are not searched: `/todo` is a real path.
/// The placeholder a value carries, as it would be written elsewhere in the same file: the
/// `<...>`, the word, or for an example host (`mail.example.com`) the example domain.
pub fn placeholder_mark(value: &str) -> Option<String> {
    let token = placeholder(value.trim())?.to_lowercase();
    let domain =
        ["example.com", "example.org", "example.net"].into_iter().find(|d| token.trim_end_matches('.').ends_with(d));
    Some(domain.map_or(token, str::to_string))
}

fn placeholder(value: &str) -> Option<&str> {
    let head = address_head(value);
    if let Some(open) = head.find('<')
        && let Some(len) = head[open..].find('>')
    {
        return Some(&head[open..=open + len]);
    }
    head.split(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))).find(|token| {
        let lower = token.to_lowercase();
        let name = lower.trim_end_matches('.');
        let all_x = |s: &str| !s.is_empty() && s.chars().all(|c| c == 'x');
        ["example.com", "example.org", "example.net"].iter().any(|d| name == *d || name.ends_with(&format!(".{d}")))
            || PLACEHOLDER_WORDS.split_whitespace().any(|word| word == name)
            || (name.len() >= 3 && all_x(name))
            || (name.contains('.') && name.split('.').all(all_x))
            || name.starts_with("your-")
            || name.starts_with("your_")
    })
}

/// The part of a value that names where to connect, `host:port`: no scheme, credentials or path.
fn address_head(value: &str) -> &str {
    let rest = value.split_once("://").map_or(value, |(_, rest)| rest);
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    authority.rsplit_once('@').map_or(authority, |(_, host_port)| host_port)
}

fn check_url(value: &str, needs_scheme: bool, cx: &Context, out: &mut Vec<Problem>) {
    if value.contains(char::is_whitespace) {
        let help = "remove the space; several URLs need a setting that takes a list";
        return out.push(problem("space-in-url", format!("`{value}` contains a space: one URL is expected"), help));
    }
    // `jdbc:postgresql://db/app` is a postgresql URL behind a Java prefix; SQL Server's
    // `jdbc:sqlserver://db:1433;databaseName=app` adds properties after a `;`.
    let (jdbc, body) = match value.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("jdbc:") => {
            (&value[..5], value[5..].split(';').next().unwrap_or(""))
        }
        _ => ("", value),
    };
    let Some((scheme, rest)) = body.split_once("://") else {
        return match url_without_slashes(value, jdbc, body) {
            // `minio:9000` under `endpoint`: a host and port, judged as one.
            Some(p) if p.code == "missing-scheme" && !needs_scheme => check_host_value(value, cx, out),
            other => out.extend(other),
        };
    };
    if let Some(p) = unescaped_credentials(value, rest) {
        return out.push(p);
    }
    // `http://unix:/run/app.sock:/api` (nginx, NGINX Unit, requests-unixsocket): a Unix socket's
    // path where the host would be, with no host or port to judge.
    if rest.starts_with("unix:/") {
        return;
    }
    let hosts = address_head(rest);
    // `file:///etc/app.conf` has no host and needs none; `https:///token` does.
    if hosts.is_empty() && !uses_authority(scheme) {
        return;
    }
    let before = out.len();
    // `mongodb://a:27017,b:27017/app` and libpq's `postgres://a,b/app` list several hosts.
    for host_port in hosts.split(',') {
        check_host_port(host_port, cx, out);
    }
    // The `url` crate has the last word on everything else, except the multi-host lists it refuses.
    if out.len() == before
        && !hosts.contains(',')
        && let Err(err) = url::Url::parse(body)
    {
        out.push(problem(
            "invalid-url",
            format!("`{value}` is not a valid URL: {err}"),
            "write scheme://host[:port][/path]",
        ));
    }
}

fn uses_authority(scheme: &str) -> bool {
    AUTHORITY_SCHEMES.split_whitespace().any(|known| known.eq_ignore_ascii_case(scheme))
}

/// A value without `://`: a known scheme missing its `//`, a bare host, or a URL with no authority
/// (`mailto:`, `urn:`), which the `url` crate judges.
fn url_without_slashes(value: &str, jdbc: &str, body: &str) -> Option<Problem> {
    let (prefix, rest) = body.split_once(':').unwrap_or((body, ""));
    if uses_authority(prefix) {
        let fixed = format!("{jdbc}{prefix}://{}", rest.trim_start_matches('/'));
        return Some(problem(
            "missing-slashes",
            format!("`{value}` is missing `//` after `{jdbc}{prefix}:`: write {fixed}"),
            format!("without `//` the host is read as a path and the client has nowhere to connect; write {fixed}"),
        ));
    }
    let scheme_like = prefix.starts_with(|c: char| c.is_ascii_alphabetic())
        && prefix.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-'));
    // `localhost:8080` and `auth.acme.io:443/token` are hosts with ports, not schemes.
    if !body.contains(':') || !scheme_like || rest.starts_with(|c: char| c.is_ascii_digit()) {
        let port = address_head(value).rsplit_once(':').map_or("", |(_, port)| port);
        let mut by_port = SCHEME_BY_PORT.split_whitespace().filter_map(|pair| pair.split_once(':'));
        let scheme = by_port.find(|(known, _)| *known == port).map_or("https", |(_, scheme)| scheme);
        let fixed = format!("{scheme}://{value}");
        let help = format!("a URL starts with its scheme; write {fixed} (or the scheme the client expects)");
        return Some(problem("missing-scheme", format!("`{value}` has no scheme: write {fixed}"), help));
    }
    let err = url::Url::parse(body).err()?;
    Some(problem(
        "invalid-url",
        format!("`{value}` is not a valid URL: {err}"),
        "write scheme:rest, as the client expects",
    ))
}

/// A password with `/`, `?` or `#` ends the authority early: in `postgres://app:pa/ss@db/app` the
/// parser reads host `app` and port `pa`. The sign is an `@` after that character.
fn unescaped_credentials(value: &str, rest: &str) -> Option<Problem> {
    let cut = rest.find(['/', '?', '#'])?;
    let at = cut + rest[cut..].find('@')?;
    let (user, after_colon) = rest[..cut].split_once(':')?;
    let read_as = if user.is_empty() { "empty".to_string() } else { format!("`{user}`") };
    // `https://api.acme.io:8443/users/me@acme.io` has a port before the `/` and an address in its
    // path; only a lone segment between the `/` and the `@` still reads as the rest of a password.
    let port_before = after_colon.chars().all(|c| c.is_ascii_digit());
    if port_before && rest[cut + 1..at].contains(['/', '?', '#', '=', '&']) {
        return None;
    }
    let ch = &rest[cut..=cut];
    let encoded = [("/", "%2F"), ("?", "%3F"), ("#", "%23")].into_iter().find(|(c, _)| *c == ch)?.1;
    Some(problem(
        "unencoded-password",
        format!(
            "in `{value}`, the part before `@` contains `{ch}`: a password with `{ch}` must be percent-encoded as \
             {encoded}, or the host is read as {read_as}"
        ),
        format!("write every `{ch}` in the user name and password as {encoded}"),
    ))
}

fn check_host_value(value: &str, cx: &Context, out: &mut Vec<Problem>) {
    if value.contains("://") {
        let host = split_host_port(address_head(value)).0;
        out.push(problem(
            "url-as-host",
            format!(
                "`{value}` is a URL where a host name is expected: the client will try to resolve `{value}` as a \
                 host name; write {host} (and put the scheme/port in their own settings)"
            ),
            format!("write {host}; if the client needs TLS or a port, set them in their own settings"),
        ));
    } else if value.contains([',', ';']) || value.contains(char::is_whitespace) {
        out.push(problem(
            "several-hosts",
            format!("`{value}` is not one host: one host is expected here, and a list needs its own list setting"),
            "write one host name or IP address, without spaces or commas",
        ));
    } else {
        check_host_port(value, cx, out);
    }
}

/// `host`, `host:port`, `[ipv6]:port` or a bare IPv6 address: the host part and the port text.
fn split_host_port(text: &str) -> (&str, Option<&str>) {
    if let Some(inner) = text.strip_prefix('[')
        && let Some((host, after)) = inner.split_once(']')
    {
        return (host, after.strip_prefix(':'));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (text, None),
    }
}

fn check_host_port(text: &str, cx: &Context, out: &mut Vec<Problem>) {
    let (host, port) = split_host_port(text);
    out.extend(port.and_then(port_problem));
    if let Some(p) = host_problem(host, text.starts_with('[')) {
        out.push(p);
    } else if let Some(kind) = reach_of(host).filter(|_| cx.forbid_private) {
        out.push(reach_problem(kind, host, cx));
    }
}

fn port_problem(port: &str) -> Option<Problem> {
    let message = if port.is_empty() {
        "the port after `:` is empty".to_string()
    } else if !port.chars().all(|c| c.is_ascii_digit()) {
        format!("port `{port}` is not a number")
    } else if matches!(port.parse::<u32>(), Ok(1..=65535)) {
        return None;
    } else {
        format!("port {port} is out of range (1-65535)")
    };
    Some(problem("invalid-port", message, "A port is a number from 1 to 65535."))
}

fn host_problem(host: &str, bracketed: bool) -> Option<Problem> {
    if host.is_empty() {
        Some(problem(
            "empty-host",
            "the host is empty: there is nothing to connect to",
            "write the host name or IP address",
        ))
    } else if bracketed || host.contains(':') {
        let help = "write an IPv6 address in brackets when a port follows: [2001:db8::1]:443";
        host.parse::<Ipv6Addr>()
            .is_err()
            .then(|| problem("invalid-ipv6", format!("`{host}` is not a valid IPv6 address"), help))
    } else if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let help = "an IPv4 address is four numbers from 0 to 255 separated by dots, like 10.0.0.5";
        host.parse::<Ipv4Addr>()
            .is_err()
            .then(|| problem("invalid-ipv4", format!("`{host}` is not a valid IPv4 address"), help))
    } else {
        let help = "host names use letters, digits, `-` (never `_`) and `.` only";
        hostname_mistake(host)
            .map(|why| problem("invalid-host-name", format!("`{host}` is not a valid host name: {why}"), help))
    }
}

/// What breaks host name syntax (RFC 1123: dot-separated labels of letters, digits and `-`).
fn hostname_mistake(host: &str) -> Option<String> {
    // One trailing dot marks a fully qualified name and is fine.
    let name = host.strip_suffix('.').unwrap_or(host);
    if let Some(bad) = name.chars().find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '.'))) {
        return Some(format!("`{bad}` is not allowed in host names"));
    }
    if name.len() > 253 {
        return Some(format!("it is {} characters long; the limit is 253", name.len()));
    }
    name.split('.').find_map(|label| match label {
        "" => Some("it has an empty label (a leading dot or `..`)".to_string()),
        _ if label.len() > 63 => Some(format!("the label `{label}` is longer than 63 characters")),
        _ if label.starts_with('-') || label.ends_with('-') => Some(format!("`{label}` starts or ends with `-`")),
        _ => None,
    })
}

/// The kind of an address that stays on the server or its network, if it is one.
fn reach_of(host: &str) -> Option<&'static str> {
    let name = host.trim_end_matches('.').to_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return Some("loopback");
    }
    let kinds = match name.parse::<IpAddr>().ok()?.to_canonical() {
        IpAddr::V4(ip) => [ip.is_loopback(), ip.is_private(), ip.is_link_local(), ip.is_unspecified()],
        // fc00::/7 is the IPv6 private range, fe80::/10 its link-local one.
        IpAddr::V6(ip) => {
            let first = ip.segments()[0];
            [ip.is_loopback(), first & 0xfe00 == 0xfc00, first & 0xffc0 == 0xfe80, ip.is_unspecified()]
        }
    };
    kinds.iter().position(|&is| is).map(|i| ["loopback", "private", "link-local", "unspecified"][i])
}

fn reach_problem(kind: &str, host: &str, cx: &Context) -> Problem {
    let place = cx.environment.as_deref().map_or("in this environment".to_string(), |env| format!("in {env}"));
    let (article, consequence) = match kind {
        "loopback" => ("a", "it points at the server itself"),
        "private" => ("a", "it reaches whatever holds that address on the server's own network"),
        "link-local" => ("a", "it only reaches the server's own network segment"),
        _ => ("the", "a client cannot connect to it (it means \"every interface\" only to a server that listens)"),
    };
    problem(
        "private-address",
        format!("`{host}` is {article} {kind} address: {place} {consequence}"),
        "write the DNS name of the service; if this address is intended, waive the finding",
    )
}

/// A new value one or two edits from the old one is more often a slip than a move.
fn typo(expect: Expect, old: &str, new: &str) -> Option<Problem> {
    if old.is_empty() || old == new || is_templated(old) {
        return None;
    }
    let (was, now) = match (host_part(expect, old), host_part(expect, new)) {
        (Some(was), Some(now)) => (was.to_lowercase(), now.to_lowercase()),
        _ => (old.to_lowercase(), new.to_lowercase()),
    };
    // Host names are case-insensitive, and renumbering (`db1` -> `db2`, `10.0.0.5` -> `10.0.0.6`) is normal.
    let digitless = |s: &str| s.chars().filter(|c| !c.is_ascii_digit()).collect::<String>();
    if was == now || digitless(&was) == digitless(&now) {
        return None;
    }
    // In a very short name two edits make a different name, not a slip.
    let shortest = was.chars().count().min(now.chars().count());
    let edits = match strsim::damerau_levenshtein(&was, &now) {
        1 => "one edit",
        2 if shortest > 4 => "two edits",
        _ => return None,
    };
    Some(problem(
        "typo",
        format!("`{new}` is {edits} away from the old value `{old}`: a typo?"),
        format!("check the spelling of `{now}` against `{was}`; if the change is intended, waive the finding"),
    ))
}

/// The host a value connects to, when it has one.
fn host_part(expect: Expect, value: &str) -> Option<&str> {
    let head = match expect {
        Expect::Url if value.contains("://") => address_head(value),
        Expect::Host if !value.contains("://") => value,
        _ => return None,
    };
    Some(split_host_port(head).0).filter(|host| !host.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> Context {
        Context { forbid_private: true, environment: Some("production".into()) }
    }

    fn judged(expect: Expect, old: Option<&str>, new: &str, cx: &Context) -> Vec<String> {
        check(expect, "url", old, new, cx).into_iter().map(|p| p.message).collect()
    }

    /// Asserts that the value, judged outside production, gets a message containing `phrase`.
    fn fires(expect: Expect, value: &str, phrase: &str) {
        let found = judged(expect, None, value, &Context::default());
        assert!(found.iter().any(|m| m.contains(phrase)), "{value}: no message contains {phrase:?}: {found:#?}");
    }

    fn passes(expect: Expect, values: &[&str]) {
        for value in values {
            assert_eq!(judged(expect, None, value, &Context::default()), Vec::<String>::new(), "{value}");
        }
    }

    #[test]
    fn correct_addresses_pass() {
        passes(Expect::Host, &["ldap.acme.io:636", "ldap.acme.io.", "10.20.0.5", "[2001:db8::1]:443", "2001:db8::1"]);
        passes(Expect::Url, &["https://auth.acme.io/oauth2/token", "https://api.acme.io/todo", "mailto:ops@acme.io"]);
        passes(Expect::Url, &["postgres://app:s3cret@db.acme.io:5432/app", "postgres://app:pa%2Fss@db.acme.io/app"]);
        passes(Expect::Url, &["jdbc:postgresql://db.acme.io:5432/app", "mongodb://db1.acme.io:27017,db2.acme.io/app"]);
        passes(Expect::Url, &["https://api.acme.io:8443/users/me@acme.io/profile", "file:///etc/app.conf"]);
        passes(
            Expect::Url,
            &["jdbc:sqlserver://db.acme.io:1433;databaseName=app", "jdbc:oracle:thin:@db.acme.io:1521:APP"],
        );
        passes(Expect::Port, &["8080", "\"8080\"", "65535"]);
    }

    #[test]
    fn values_resolved_at_deploy_time_are_not_judged() {
        for value in ["${LDAP_HOST}", "{{ ldap_host }}", "%(host)s", "$LDAP_HOST", "https://${AUTH}/token", "", "  "] {
            assert!(check(Expect::Host, "host", Some("ldap.corp"), value, &production()).is_empty(), "{value}");
            assert!(check(Expect::Url, "url", None, value, &production()).is_empty(), "{value}");
        }
    }

    #[test]
    fn placeholders_left_in_are_refused() {
        // Regression: incident 003 shipped an address nobody had filled in.
        for value in ["<your ldap host>", "changeme", "ldap.example.com", "TODO", "tbd", "FIXME", "XXX", "x.x.x.x"] {
            let found = judged(Expect::Host, None, value, &Context::default());
            assert_eq!(found, [format!("`{value}` is a placeholder, not an address")]);
        }
        for value in ["your-ldap-host", "your_host", "replace-me", "hostname", "change_me", "example.org."] {
            fires(Expect::Host, value, "is a placeholder");
        }
        fires(Expect::Url, "https://auth.example.net/token", "contains the placeholder `auth.example.net`, not an");
        fires(Expect::Url, "https://<your auth host>/token", "placeholder `<your auth host>`");
    }

    #[test]
    fn names_that_only_resemble_placeholders_pass() {
        passes(Expect::Host, &["hostname.acme.io", "examples.com", "todo-api.acme.io", "xerox.acme.io", "x.acme.io"]);
    }

    #[test]
    fn a_url_without_its_scheme_or_double_slash_is_reported_with_the_fix() {
        fires(Expect::Url, "ldap:x.x.x.x:389", "missing `//` after `ldap:`: write ldap://x.x.x.x:389");
        fires(Expect::Url, "ldap:x.x.x.x:389", "contains the placeholder `x.x.x.x`");
        fires(Expect::Url, "jdbc:postgresql:/db.acme.io/app", "write jdbc:postgresql://db.acme.io/app");
        fires(Expect::Url, "auth.acme.io/token", "no scheme: write https://auth.acme.io/token");
        fires(Expect::Url, "db.acme.io:5432", "no scheme: write postgres://db.acme.io:5432");
        fires(Expect::Url, "localhost:8080", "no scheme");
    }

    #[test]
    fn a_password_with_a_slash_must_be_percent_encoded() {
        let found = judged(Expect::Url, None, "postgres://app:pa/ss@db.acme.io:5432/app", &Context::default());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("before `@` contains `/`: a password with `/` must be percent-encoded as %2F"));
        assert!(found[0].contains("or the host is read as `app`"));
        fires(Expect::Url, "redis://:se?cret@cache.acme.io:6379", "contains `?`");
        fires(Expect::Url, "amqp://app:p#w@mq.acme.io/", "percent-encoded as %23");
    }

    #[test]
    fn broken_hosts_and_ports_inside_urls_are_reported() {
        fires(Expect::Url, "https://auth.acme.io:70000/token", "port 70000 is out of range (1-65535)");
        fires(Expect::Url, "ldap://10.0.0.256:389", "`10.0.0.256` is not a valid IPv4 address");
        fires(Expect::Url, "https://auth_server.acme.io/", "`_` is not allowed in host names");
        fires(Expect::Url, "https://auth.acme.io /token", "contains a space");
        fires(Expect::Url, "https:///token", "the host is empty");
        let found = judged(Expect::Url, None, "https://127.0.0.1:8443/", &production());
        assert!(found[0].contains("is a loopback address"));
    }

    #[test]
    fn an_issuer_must_not_gain_a_trailing_slash() {
        let found = check_issuer(Some("https://login.acme.io"), "https://login.acme.io/");
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("the old value `https://login.acme.io` had none"));
        assert!(found[0].message.contains("issuers are compared as exact strings"));
        assert!(check_issuer(None, "https://login.acme.io/")[0].message.contains("ends with `/`"));
    }

    #[test]
    fn an_issuer_without_a_new_slash_passes() {
        assert!(check_issuer(Some("https://login.acme.io"), "https://login.acme.io").is_empty());
        assert!(check_issuer(None, "https://login.acme.io").is_empty());
        // Some providers' issuers do end with `/`; one the old value had is theirs.
        assert!(check_issuer(Some("https://acme.eu.auth0.com/"), "https://acme.us.auth0.com/").is_empty());
    }

    #[test]
    fn a_url_where_a_host_is_expected_would_be_resolved_as_a_name() {
        let found = judged(Expect::Host, None, "ldaps://ldap.acme.io", &Context::default());
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("a URL where a host name is expected: the client will try to resolve `ldaps://"));
        assert!(found[0].contains("write ldap.acme.io (and put the scheme/port in their own settings)"));
        fires(Expect::Host, "https://x:443/", "write x (and");
    }

    #[test]
    fn a_unix_socket_in_a_url_has_no_port_to_judge() {
        assert!(check(Expect::Url, "proxy", None, "http://unix:/opt/unit/unit.sock", &Context::default()).is_empty());
        assert!(!check(Expect::Url, "proxy", None, "http://unixhost:/x", &Context::default()).is_empty());
    }

    #[test]
    fn a_null_leaves_the_setting_unset() {
        for value in ["null", "~", "NULL"] {
            assert!(check(Expect::Port, "nodePort", Some("30080"), value, &Context::default()).is_empty(), "{value}");
            assert!(check(Expect::Host, "host", None, value, &Context::default()).is_empty(), "{value}");
        }
        assert!(!check(Expect::Port, "port", None, "\"null\"", &Context::default()).is_empty());
    }

    #[test]
    fn impossible_hosts_ports_and_lists_are_reported() {
        fires(Expect::Host, "10.0.0.256", "`10.0.0.256` is not a valid IPv4 address");
        fires(Expect::Host, "10.0.0", "`10.0.0` is not a valid IPv4 address");
        fires(Expect::Host, "db_1.acme.io", "`_` is not allowed in host names");
        fires(Expect::Host, "-db.acme.io", "starts or ends with `-`");
        fires(Expect::Host, "db..acme.io", "empty label");
        fires(Expect::Host, ".acme.io", "empty label");
        fires(Expect::Host, &format!("{}.io", "a".repeat(64)), "longer than 63");
        fires(Expect::Host, &["abcdefghi"; 26].join("."), "the limit is 253");
        fires(Expect::Host, "ldap.acme.io/x", "`/` is not allowed");
        fires(Expect::Host, "[2001:db8::zz]:443", "not a valid IPv6 address");
        fires(Expect::Host, "ldap.acme.io:70000", "port 70000 is out of range (1-65535)");
        fires(Expect::Host, "ldap.acme.io:0", "port 0 is out of range");
        fires(Expect::Host, "ldap.acme.io:ldaps", "port `ldaps` is not a number");
        fires(Expect::Host, "ldap.acme.io:", "the port after `:` is empty");
        fires(Expect::Port, "70000", "port 70000 is out of range");
        fires(Expect::Port, "http", "port `http` is not a number");
        fires(Expect::Host, "a.acme.io, b.acme.io", "one host is expected here, and a list needs its own list setting");
        fires(Expect::Host, "a.acme.io b.acme.io", "one host is expected");
    }

    #[test]
    fn loopback_in_production_points_at_the_server_itself() {
        let found = judged(Expect::Host, None, "127.0.0.1:5432", &production());
        assert_eq!(found, ["`127.0.0.1` is a loopback address: in production it points at the server itself"]);
        passes(Expect::Host, &["127.0.0.1:5432"]);
    }

    #[test]
    fn addresses_that_stay_inside_the_network_are_refused_in_production() {
        for (kind, values) in [
            ("a loopback", &["localhost", "api.localhost:80", "[::1]:443", "::ffff:127.0.0.1"][..]),
            ("a private", &["10.20.0.5", "172.16.4.1", "192.168.1.10:22", "fd00::5"]),
            ("a link-local", &["169.254.169.254", "fe80::1"]),
            ("the unspecified", &["0.0.0.0", "::"]),
        ] {
            for value in values {
                let found = judged(Expect::Host, None, value, &production());
                assert!(found[0].contains(&format!("is {kind} address: in production")), "{value}: {found:?}");
            }
        }
        for value in ["172.32.0.1", "8.8.8.8", "2001:db8::1", "ldap.acme.io"] {
            assert!(judged(Expect::Host, None, value, &production()).is_empty(), "{value}");
        }
        let unnamed = Context { forbid_private: true, environment: None };
        assert!(judged(Expect::Host, None, "10.0.0.1", &unnamed)[0].contains("in this environment"));
    }

    #[test]
    fn a_host_one_edit_from_the_old_value_is_a_likely_typo() {
        let found = judged(Expect::Host, Some("ldap.corp:389"), "ldap.crop:389", &Context::default());
        assert_eq!(found, ["`ldap.crop:389` is one edit away from the old value `ldap.corp:389`: a typo?"]);
        let found = judged(Expect::Url, Some("https://auth.acme.io/t"), "https://auht.acme.oi/t", &Context::default());
        assert!(found[0].contains("two edits away"));
    }

    #[test]
    fn real_moves_and_renumbering_are_not_typos() {
        let moves = [("db1.acme.io", "db2.acme.io"), ("10.0.0.5", "10.0.0.6"), ("ldap.acme.io", "ldap1.acme.io")];
        let edits = [("ldap.corp:389", "ldap.corp:636"), ("ldap.corp", "LDAP.corp"), ("ldap.corp", "auth.acme.io")];
        for (old, new) in moves.into_iter().chain(edits).chain([("${LDAP}", "ldap.crop")]) {
            assert!(judged(Expect::Host, Some(old), new, &Context::default()).is_empty(), "{old} -> {new}");
        }
        assert!(judged(Expect::Port, Some("8080"), "8081", &Context::default()).is_empty());
    }

    #[test]
    fn conventions_that_are_not_addresses_are_left_alone() {
        let cx = production();
        let none = |expect, word: &str, value: &str| check(expect, word, None, value, &cx).is_empty();
        assert!(none(Expect::Port, "targetport", "metrics"), "a Kubernetes named port");
        assert!(none(Expect::Port, "targetport", "grpc-web"));
        assert!(!none(Expect::Port, "port", "http"), "elsewhere a port is a number");
        assert!(none(Expect::Port, "livenessprobe.spec.httpget.port", "live"), "a probe's named port");
        assert!(none(Expect::Host, "[name=upgrade].hosts", "k8s_cluster:etcd:calico_rr"), "an Ansible pattern");
        assert!(!none(Expect::Host, "hosts", "db_1.corp"), "a name with a dot is still a host");
        assert!(none(Expect::Host, "address", ":8080"), "a listen address");
        assert!(none(Expect::Host, "listen_address", "0.0.0.0:80"), "every interface, to listen on");
        assert!(!none(Expect::Host, "host", "0.0.0.0"), "a peer at 0.0.0.0 is still unreachable in production");
        assert!(none(Expect::Url, "url", "/metrics"), "a URL path");
        assert!(none(Expect::Host, "server", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"), "a UUID");
        assert!(none(Expect::Host, "reject_unknown_client_hostname", "0"), "a flag");
        assert!(none(Expect::Host, "hosts", "bastion[0]") && none(Expect::Host, "hosts", "web[01:20]"), "patterns");
        assert!(!none(Expect::Host, "host", "[2001:db8::1"), "a broken IPv6 literal is still judged");
    }

    #[test]
    fn host_and_port_is_right_where_the_key_does_not_say_url() {
        let cx = Context::default();
        assert!(check(Expect::Url, "endpoint", None, "minio:9000", &cx).is_empty());
        assert!(check(Expect::Url, "dsn", Some("zookeeper:2181"), "zookeeper:2182", &cx).is_empty());
        // Where the key says url, or the old value had a scheme, a scheme is still required.
        assert!(!check(Expect::Url, "url", None, "minio:9000", &cx).is_empty());
        assert!(!check(Expect::Url, "endpoint", Some("https://minio:9000"), "minio:9000", &cx).is_empty());
        // A known scheme missing its `//` is a mistake under any key.
        assert!(!check(Expect::Url, "endpoint", None, "ldap:10.0.0.1:389", &cx).is_empty());
    }
}
