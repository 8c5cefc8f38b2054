//! Secrets recognised by their shape, wherever they appear: the password in a URL's userinfo,
//! tokens with a well-known prefix (GitHub, GitLab, Slack, AWS, Stripe, Google, npm), and PEM
//! private-key blocks. Reports pass every text they print through [`mask`], so a secret never
//! reaches a terminal, a CI log, a PR comment or a code-scanning alert, whatever key it sits
//! under or whichever check quoted it.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// What a masked secret reads as.
pub const HIDDEN: &str = "(hidden)";

struct Shape {
    regex: Regex,
    /// The replacement: `$keep` keeps the part that says what it is.
    replace: &'static str,
}

static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    let shape = |pattern: &str, replace: &'static str| Shape {
        regex: Regex::new(pattern).unwrap_or_else(|e| panic!("static secret pattern {pattern}: {e}")),
        replace,
    };
    vec![
        // `-----BEGIN RSA PRIVATE KEY----- ... -----END RSA PRIVATE KEY-----`, or to the end of the
        // text when it is cut.
        shape(
            r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
            "-----BEGIN ${1}PRIVATE KEY----- (hidden) -----END ${1}PRIVATE KEY-----",
        ),
        shape(r"\b(gh[pousr]_)[A-Za-z0-9]{20,}", "${1}(hidden)"),
        shape(r"\b(github_pat_)[A-Za-z0-9_]{20,}", "${1}(hidden)"),
        shape(r"\b(glpat-)[A-Za-z0-9_-]{20,}", "${1}(hidden)"),
        shape(r"\b(xox[abposr]-)[A-Za-z0-9-]{10,}", "${1}(hidden)"),
        shape(r"\b((?:AKIA|ASIA)[A-Z0-9]{4})[A-Z0-9]{12}\b", "${1}(hidden)"),
        shape(r"\b([sr]k_live_)[A-Za-z0-9]{16,}", "${1}(hidden)"),
        shape(r"\b(AIza)[A-Za-z0-9_-]{35}", "${1}(hidden)"),
        shape(r"\b(npm_)[A-Za-z0-9]{36}", "${1}(hidden)"),
    ]
});

/// `text` with every secret of a known shape replaced by [`HIDDEN`].
pub fn mask(text: &str) -> Cow<'_, str> {
    let mut masked = mask_userinfo(text);
    for shape in SHAPES.iter() {
        if shape.regex.is_match(&masked) {
            masked = Cow::Owned(shape.regex.replace_all(&masked, shape.replace).into_owned());
        }
    }
    masked
}

/// Whether `text` holds a secret of a known shape.
pub fn holds_secret(text: &str) -> bool {
    holds_password(text) || holds_key(text)
}

/// Whether `text` holds a URL with a password (`postgres://app:s3cret@db/app`).
fn holds_password(text: &str) -> bool {
    matches!(mask_userinfo(text), Cow::Owned(_))
}

/// Whether `text` holds a token or key of a known shape (`ghp_`, `AKIA`, a PEM private key).
pub fn holds_key(text: &str) -> bool {
    SHAPES.iter().any(|shape| shape.regex.is_match(text))
}

/// `scheme://user:password@host` -> `scheme://user:(hidden)@host`. The password may hold an
/// unencoded `/` (config-address reports that), so the userinfo runs to the last `@` before
/// the next space; `host:8080/x@y` is a port and a path, not a password.
fn mask_userinfo(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("://") {
        let start = at + 3;
        let token_end = rest[start..].find(char::is_whitespace).map_or(rest.len(), |i| start + i);
        let token = &rest[start..token_end];
        let masked = token.rfind('@').and_then(|a| {
            let (user, password) = token[..a].split_once(':')?;
            let is_port = password
                .split('/')
                .next()
                .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
                && password.contains('/');
            (!user.contains('/') && !password.is_empty() && !is_port).then(|| format!("{user}:{HIDDEN}{}", &token[a..]))
        });
        out.push_str(&rest[..start]);
        match masked {
            Some(masked) => {
                out.push_str(&masked);
                changed = true;
            }
            None => out.push_str(token),
        }
        rest = &rest[token_end..];
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_by_shape_and_the_rest_is_kept() {
        assert_eq!(
            mask("dsn = postgres://app:s3cr/t@db.internal:5432/app"),
            "dsn = postgres://app:(hidden)@db.internal:5432/app"
        );
        assert_eq!(mask("token: ghp_abcdefghijklmnopqrstuvwxyz0123456789"), "token: ghp_(hidden)");
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "AKIAIOSF(hidden)");
        assert_eq!(mask("xoxb-1234567890-abcdefghij"), "xoxb-(hidden)");
        let pem = "key: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  b3BlbnNzaC1rZXktdjEA\n  -----END OPENSSH PRIVATE KEY-----\nnext: 1";
        assert_eq!(
            mask(pem),
            "key: |\n  -----BEGIN OPENSSH PRIVATE KEY----- (hidden) -----END OPENSSH PRIVATE KEY-----\nnext: 1"
        );
        for plain in ["https://example.com/path", "user@example.com", "ldap.corp:389", "http://host:8080/x@y"] {
            assert_eq!(mask(plain), plain, "{plain}");
        }
        assert!(holds_secret("https://u:p@h") && !holds_secret("https://h"));
    }
}
