//! gate's INI, `.env` and `.properties` readers compared with other readers of the same
//! formats on real-shaped sample files: rust-ini and Python's configparser (the INI most
//! services mean), dotenvy (`.env`), and java-properties (`java.util.Properties`). Each sample
//! must yield the same keys, in the same order, with the same values.

use std::io::Write;
use std::process::{Command, Stdio};

use gate::audit::document::{Format, read};

/// `(key, value)` as gate reads them: keys are section-qualified, a key with a dot is quoted.
fn gate(format: Format, text: &str) -> Vec<(String, String)> {
    let entries = read(format, text).unwrap_or_else(|e| panic!("gate refuses {text:?}: {e:?}"));
    entries.into_iter().map(|e| (e.key, e.text.unwrap_or_default())).collect()
}

/// A key as gate writes it: `section.key`, with a component that has a dot in quotes.
fn key(section: Option<&str>, key: &str) -> String {
    let part = |s: &str| if s.contains('.') { format!("\"{s}\"") } else { s.to_string() };
    match section {
        Some(section) => format!("{}.{}", part(section), part(key)),
        None => part(key),
    }
}

const INI: &[&str] = &[
    // php.ini
    "; About php.ini\n[PHP]\nengine = On\nmemory_limit = 128M\nerror_reporting = E_ALL & ~E_DEPRECATED\n\n[Date]\ndate.timezone = \"UTC\"\n",
    // supervisord
    "[supervisord]\nnodaemon=true\n\n[program:web]\ncommand=/usr/bin/gunicorn app:app --bind 0.0.0.0:8000\nautorestart=true\nstdout_logfile=/dev/stdout\n",
    // git config, keys indented with tabs
    "[core]\n\trepositoryformatversion = 0\n\tbare = false\n[remote \"origin\"]\n\turl = https://example.com/app.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
    // pip.conf, with colons as separators
    "[global]\nindex-url: https://pypi.example.com/simple\ntimeout: 60\n",
];

#[test]
fn ini_files_read_as_rust_ini_reads_them() {
    // configparser has no escapes, and neither have the services' INI readers gate stands for.
    let options = || ini::ParseOption { enabled_escape: false, ..ini::ParseOption::default() };
    for text in INI {
        let oracle = ini::Ini::load_from_str_opt(text, options()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let expected: Vec<(String, String)> = oracle
            .iter()
            .flat_map(|(section, props)| props.iter().map(move |(k, v)| (key(section, k), v.to_string())))
            .collect();
        assert_eq!(gate(Format::Ini, text), expected, "{text:?}");
    }
}

/// Dialects rust-ini refuses or reads otherwise, which configparser (with `allow_no_value`, as
/// MySQL's and uWSGI's files need) reads as the services do.
const INI_DIALECTS: &[&str] = &[
    // MySQL
    "[mysqld]\nskip-name-resolve\nskip-external-locking\nbind-address = 127.0.0.1\n!includedir /etc/mysql/conf.d/\n",
    // uWSGI
    "[uwsgi]\nstrict\nmaster = true\nprocesses = 4\nvacuum\n",
    // alembic.ini / logging, with values continued on deeper lines
    "[loggers]\nkeys = root,sqlalchemy\n\n[handler_console]\nclass = StreamHandler\nargs =\n    (sys.stderr,)\nformat = %(levelname)-5.5s\n    [%(name)s] %(message)s\n",
    // setup.cfg
    "[options]\ninstall_requires =\n    requests>=2\n    click\npython_requires = >=3.9\n",
];

#[test]
fn ini_dialects_with_bare_keys_and_continuations_read_as_configparser_reads_them() {
    const SCRIPT: &str = "import configparser, json, sys\n\
        p = configparser.ConfigParser(allow_no_value=True, interpolation=None, strict=False, default_section='\\x00')\n\
        p.optionxform = str\n\
        p.read_string(sys.stdin.read())\n\
        print(json.dumps([[s, k, v] for s in p.sections() for k, v in p.items(s, raw=True)]))\n";
    for text in INI_DIALECTS {
        let mut python = Command::new("python3")
            .args(["-c", SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("these tests need python3");
        python.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let output = python.wait_with_output().unwrap();
        assert!(output.status.success(), "configparser refuses {text:?}");
        let items: Vec<(String, String, Option<String>)> = serde_json::from_slice(&output.stdout).unwrap();
        let expected: Vec<(String, String)> = items
            .into_iter()
            .map(|(section, k, v)| {
                // configparser starts a value continued from an empty first line with a line
                // break; gate does not (nothing is lost, and the diff reads better).
                let v = v.map_or_else(String::new, |v| v.strip_prefix('\n').map(str::to_string).unwrap_or(v));
                (key(Some(&section), &k), v)
            })
            .collect();
        assert_eq!(gate(Format::Ini, text), expected, "{text:?}");
    }
    // The bare keys really are what rust-ini cannot read.
    assert!(ini::Ini::load_from_str(INI_DIALECTS[0]).is_err());
}

const ENV: &[&str] = &[
    // Compose / twelve-factor
    "# Database\nDATABASE_URL=postgres://app:secret@db:5432/app\nPOOL_SIZE=10 # per worker\nexport REDIS_URL=redis://cache:6379/0\n",
    // quoted values and comments after them
    "APP_NAME=\"Gate Demo\" # shown in the title\nGREETING='hello world'\nEMPTY=\nQUOTE=\"say \\\"hi\\\"\"\n",
    // a multi-line key in double quotes, and one with an escaped line break
    "PRIVATE_KEY=\"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\"\nBANNER=\"line one\\nline two\"\nNEXT=1\n",
    // single quotes keep backslashes; `#` inside a value is not a comment
    "REGEX='^\\d+$'\nURL=https://example.com/#/home\nCOLOR=\"#ff0000\"\n",
];

#[test]
fn env_files_read_as_dotenvy_reads_them() {
    for text in ENV {
        let expected: Vec<(String, String)> = dotenvy::from_read_iter(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("dotenvy refuses {text:?}: {e}"));
        assert_eq!(gate(Format::Env, text), expected, "{text:?}");
    }
}

const PROPERTIES: &[&str] = &[
    // Spring Boot
    "# Server\nserver.port=8080\nspring.datasource.url=jdbc:postgresql://db:5432/app\nspring.datasource.username = app\nlogging.level.root: INFO\n",
    // escapes in keys and values, unicode escapes, a key with no separator but a space
    "a\\=b=c\nkey\\:with\\:colons = v\ngreeting=caf\\u00e9\nwindows.path=C:\\\\Program Files\\\\App\ntab\\tvalue = x\\ty\nmessage Hello there\n",
    // continuations, including one whose next line starts with `#`, and trailing whitespace
    "servers = alpha, \\\n          beta, \\\n          gamma\nnote = starts \\\n# not a comment\npadded = kept   \n! bang comment\nlast = \\\\\n",
];

#[test]
fn properties_files_read_as_java_properties_reads_them() {
    for text in PROPERTIES {
        let mut expected = Vec::new();
        for line in java_properties::PropertiesIter::new(text.as_bytes()) {
            let line = line.unwrap_or_else(|e| panic!("java-properties refuses {text:?}: {e}"));
            let number = line.line_number() as u32;
            if let java_properties::LineContent::KVPair(k, v) = line.consume_content() {
                expected.push((key(None, &k), v, number));
            }
        }
        let read: Vec<(String, String, u32)> = read(Format::Properties, text)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.text.unwrap_or_default(), e.line))
            .collect();
        assert_eq!(read, expected, "{text:?}");
    }
}
