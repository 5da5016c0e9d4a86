//! `config.toml` → a validated [`Config`].
//!
//! Loading happens in two steps, so that a bad file never leaves half-started
//! state behind: the TOML (with `LATCHKEY_…` environment overrides applied) is
//! read into a raw, all-optional shape that refuses unknown keys, then every
//! value is checked and turned into its typed form. Every error names the file
//! (or the environment variable), the key and the reason.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Prefix of environment variables that override keys of the file.
pub const ENV_PREFIX: &str = "LATCHKEY_";

/// Environment variables with the prefix that are not config keys.
const ENV_NOT_KEYS: [&str; 1] = ["LATCHKEY_CONFIG"];

#[derive(Clone, Debug)]
pub struct Config {
    pub source: PathBuf,
    /// Things worth telling the operator that don't stop start-up (ignored
    /// environment variables); logged once logging is set up.
    pub warnings: Vec<String>,
    pub server: ServerConfig,
    pub data_dir: PathBuf,
    pub sessions: SessionConfig,
    pub sign_in: SignInConfig,
    pub accounts: crate::domain::AccountSettings,
    pub two_factor: TwoFactorConfig,
    pub log: LogConfig,
}

#[derive(Clone, Debug)]
pub struct TwoFactorConfig {
    /// The name authenticator apps show beside the account.
    pub issuer: String,
    /// How long a confirmed password or code lets a user do sensitive
    /// things without being asked again.
    pub reauthentication_window: Duration,
    /// Encrypts 2FA secrets in the data file; `None` stores them plain.
    pub encryption_key: Option<crate::domain::EncryptionKey>,
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Without a trailing slash.
    pub public_url: String,
    /// Take the client address from `X-Forwarded-For`, as appended by this
    /// many trusted proxies; `None` when the header is not trusted.
    pub forwarded_hops: Option<usize>,
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long a whole request may take, body and answer included.
    pub request_timeout: Duration,
}

impl ServerConfig {
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[derive(Clone, Copy, Debug)]
pub struct SessionConfig {
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
}

#[derive(Clone, Copy, Debug)]
pub struct SignInConfig {
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
    pub lockout: Duration,
    pub max_concurrent_hashes: usize,
}

#[derive(Clone, Debug)]
pub struct LogConfig {
    pub level: String,
    pub json: bool,
}

/// What went wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, or `environment variable NAME`.
    pub origin: String,
    /// Dotted key, like `server.listen`; empty when the whole file is at fault.
    pub key: String,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.origin, self.reason)
        } else {
            write!(f, "{}: key `{}`: {}", self.origin, self.key, self.reason)
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    server: RawServer,
    storage: RawStorage,
    sessions: RawSessions,
    sign_in: RawSignIn,
    accounts: RawAccounts,
    two_factor: RawTwoFactor,
    log: RawLog,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawServer {
    listen: String,
    public_url: String,
    trust_forwarded_for: bool,
    trusted_proxy_hops: i64,
    header_read_timeout: String,
    request_timeout: String,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            trust_forwarded_for: false,
            trusted_proxy_hops: 1,
            header_read_timeout: "10s".into(),
            request_timeout: "30s".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawStorage {
    data_dir: String,
}

impl Default for RawStorage {
    fn default() -> Self {
        Self {
            data_dir: "./data".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSessions {
    idle_timeout: String,
    absolute_timeout: String,
}

impl Default for RawSessions {
    fn default() -> Self {
        Self {
            idle_timeout: "30m".into(),
            absolute_timeout: "12h".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSignIn {
    max_failures_per_account: i64,
    max_failures_per_address: i64,
    lockout: String,
    max_concurrent_hashes: i64,
}

impl Default for RawSignIn {
    fn default() -> Self {
        Self {
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            lockout: "15m".into(),
            max_concurrent_hashes: 0,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawAccounts {
    self_service_profile_updates: bool,
    require_2fa_for_local_users: bool,
}

impl Default for RawAccounts {
    fn default() -> Self {
        let defaults = crate::domain::AccountSettings::default();
        Self {
            self_service_profile_updates: defaults.self_service_profile_updates,
            require_2fa_for_local_users: defaults.require_2fa_for_local_users,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawTwoFactor {
    issuer: String,
    reauthentication_window: String,
    encryption_key_file: String,
}

impl Default for RawTwoFactor {
    fn default() -> Self {
        Self {
            issuer: "Latchkey".into(),
            reauthentication_window: "10m".into(),
            encryption_key_file: String::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLog {
    level: String,
    format: String,
}

impl Default for RawLog {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

impl Config {
    /// Reads `path` and the process environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: path.display().to_string(),
            key: String::new(),
            reason: format!("can't read the file: {e}"),
        })?;
        Self::from_parts(path, &text, std::env::vars())
    }

    /// Builds a config from file text and environment variables; the seam tests use.
    pub fn from_parts(
        path: &Path,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
            origin: file.clone(),
            key: String::new(),
            reason: format!("not valid TOML: {}", e.message()),
        })?;
        let (overrides, warnings) = apply_env(&mut table, env)?;
        let origin_of = |key: &str| {
            overrides
                .get(key)
                .map(|var| format!("environment variable {var}"))
                .unwrap_or_else(|| file.clone())
        };
        let raw: RawConfig = serde_path_to_error::deserialize(table).map_err(|e| {
            let (key, reason) = describe_serde_error(&e);
            ConfigError {
                origin: origin_of(&key),
                key,
                reason,
            }
        })?;
        let fail = |key: &str, reason: String| ConfigError {
            origin: origin_of(key),
            key: key.to_owned(),
            reason,
        };
        let mut config = validate(path, raw, &fail)?;
        config.warnings = warnings;
        Ok(config)
    }
}

fn validate(
    path: &Path,
    raw: RawConfig,
    fail: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Config, ConfigError> {
    let listen: SocketAddr = raw.server.listen.parse().map_err(|_| {
        fail(
            "server.listen",
            format!(
                "`{}` is not an address and port like 127.0.0.1:8080",
                raw.server.listen
            ),
        )
    })?;
    let public_url = raw.server.public_url.trim_end_matches('/').to_owned();
    let host = public_url
        .strip_prefix("https://")
        .or_else(|| public_url.strip_prefix("http://"));
    if host.is_none_or(|h| h.is_empty() || h.contains(char::is_whitespace)) {
        return Err(fail(
            "server.public_url",
            format!(
                "`{}` must be an http:// or https:// URL",
                raw.server.public_url
            ),
        ));
    }
    let forwarded_hops = match raw.server.trusted_proxy_hops {
        n @ 1..=16 => raw.server.trust_forwarded_for.then_some(n as usize),
        n => {
            return Err(fail(
                "server.trusted_proxy_hops",
                format!("{n} is not a whole number from 1 to 16"),
            ));
        }
    };
    let header_read_timeout = parse_duration(&raw.server.header_read_timeout)
        .map_err(|r| fail("server.header_read_timeout", r))?;
    let request_timeout = parse_duration(&raw.server.request_timeout)
        .map_err(|r| fail("server.request_timeout", r))?;
    if raw.storage.data_dir.trim().is_empty() {
        return Err(fail("storage.data_dir", "must name a folder".into()));
    }
    let idle_timeout =
        parse_duration(&raw.sessions.idle_timeout).map_err(|r| fail("sessions.idle_timeout", r))?;
    let absolute_timeout = parse_duration(&raw.sessions.absolute_timeout)
        .map_err(|r| fail("sessions.absolute_timeout", r))?;
    if absolute_timeout < idle_timeout {
        return Err(fail(
            "sessions.absolute_timeout",
            "must be at least as long as sessions.idle_timeout".into(),
        ));
    }
    let positive = |key: &str, value: i64| -> Result<u32, ConfigError> {
        u32::try_from(value)
            .ok()
            .filter(|v| (1..=1_000_000).contains(v))
            .ok_or_else(|| {
                fail(
                    key,
                    format!("{value} is not a whole number from 1 to 1000000"),
                )
            })
    };
    let max_concurrent_hashes = match raw.sign_in.max_concurrent_hashes {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n @ 1..=256 => n as usize,
        n => {
            return Err(fail(
                "sign_in.max_concurrent_hashes",
                format!("{n} is not a whole number from 0 to 256"),
            ));
        }
    };
    let sign_in = SignInConfig {
        max_failures_per_account: positive(
            "sign_in.max_failures_per_account",
            raw.sign_in.max_failures_per_account,
        )?,
        max_failures_per_address: positive(
            "sign_in.max_failures_per_address",
            raw.sign_in.max_failures_per_address,
        )?,
        lockout: parse_duration(&raw.sign_in.lockout).map_err(|r| fail("sign_in.lockout", r))?,
        max_concurrent_hashes,
    };
    let two_factor = validate_two_factor(raw.two_factor, fail)?;
    let json = match raw.log.format.as_str() {
        "text" => false,
        "json" => true,
        other => {
            return Err(fail(
                "log.format",
                format!("`{other}` is not \"text\" or \"json\""),
            ));
        }
    };
    if tracing_subscriber::EnvFilter::try_new(&raw.log.level).is_err() {
        return Err(fail(
            "log.level",
            format!("`{}` is not a log filter like \"info\"", raw.log.level),
        ));
    }
    Ok(Config {
        source: path.to_owned(),
        warnings: Vec::new(),
        server: ServerConfig {
            listen,
            public_url,
            forwarded_hops,
            header_read_timeout,
            request_timeout,
        },
        data_dir: PathBuf::from(raw.storage.data_dir),
        sessions: SessionConfig {
            idle_timeout,
            absolute_timeout,
        },
        sign_in,
        accounts: crate::domain::AccountSettings {
            self_service_profile_updates: raw.accounts.self_service_profile_updates,
            require_2fa_for_local_users: raw.accounts.require_2fa_for_local_users,
        },
        two_factor,
        log: LogConfig {
            level: raw.log.level,
            json,
        },
    })
}

fn validate_two_factor(
    raw: RawTwoFactor,
    fail: &dyn Fn(&str, String) -> ConfigError,
) -> Result<TwoFactorConfig, ConfigError> {
    let issuer = raw.issuer.trim().to_owned();
    if issuer.is_empty()
        || issuer.chars().count() > 64
        || issuer.contains(':')
        || issuer
            .chars()
            .any(|c| c.is_control() || crate::domain::text::is_hidden(c))
    {
        return Err(fail(
            "two_factor.issuer",
            format!(
                "`{}` must be 1 to 64 visible characters without a colon (apps show it beside the account)",
                raw.issuer
            ),
        ));
    }
    let reauthentication_window = parse_duration(&raw.reauthentication_window)
        .map_err(|r| fail("two_factor.reauthentication_window", r))?;
    if reauthentication_window > Duration::from_secs(86_400) {
        return Err(fail(
            "two_factor.reauthentication_window",
            "must be at most a day (\"24h\")".into(),
        ));
    }
    let key_file = raw.encryption_key_file.trim();
    let encryption_key = if key_file.is_empty() {
        None
    } else {
        let key = "two_factor.encryption_key_file";
        let text = std::fs::read_to_string(key_file)
            .map_err(|e| fail(key, format!("can't read the key file {key_file}: {e}")))?;
        let parsed = crate::domain::EncryptionKey::parse(&text)
            .map_err(|reason| fail(key, format!("the key file {key_file} {reason}")))?;
        Some(parsed)
    };
    Ok(TwoFactorConfig {
        issuer,
        reauthentication_window,
        encryption_key,
    })
}

/// Applies `LATCHKEY_SECTION__KEY=value` overrides; returns which keys came
/// from where, and warnings about `LATCHKEY_…` variables that are not keys.
///
/// Only names with a `__` are keys: a typo in one still stops start-up, but
/// variables an orchestrator adds on its own (Kubernetes gives every pod
/// `LATCHKEY_PORT=tcp://…` and `LATCHKEY_SERVICE_HOST=…` when a Service is
/// named `latchkey`) are ignored with a warning.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(BTreeMap<String, String>, Vec<String>), ConfigError> {
    let mut overrides = BTreeMap::new();
    let mut warnings = Vec::new();
    for (var, value) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if ENV_NOT_KEYS.contains(&var.as_str()) {
            continue;
        }
        if !rest.contains("__") {
            warnings.push(format!(
                "environment variable {var} ignored: configuration overrides are named LATCHKEY_SECTION__KEY"
            ));
            continue;
        }
        let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
        let key = path.join(".");
        let bad = |reason: &str| ConfigError {
            origin: format!("environment variable {var}"),
            key: key.clone(),
            reason: reason.to_owned(),
        };
        if path.iter().any(String::is_empty) {
            return Err(bad("is not of the form LATCHKEY_SECTION__KEY"));
        }
        let parsed = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(value.clone()));
        let (last, parents) = path.split_last().expect("split yields at least one part");
        let mut node = &mut *table;
        for part in parents {
            let entry = node
                .entry(part.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = entry
                .as_table_mut()
                .ok_or_else(|| bad("names a key inside a value that is not a section"))?;
        }
        node.insert(last.clone(), parsed);
        overrides.insert(key, var);
    }
    Ok((overrides, warnings))
}

fn describe_serde_error(e: &serde_path_to_error::Error<toml::de::Error>) -> (String, String) {
    let path = e.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let message = e.inner().message().to_owned();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let key = if path.is_empty() || path.ends_with(field) {
            if path.is_empty() {
                field.to_owned()
            } else {
                path
            }
        } else {
            format!("{path}.{field}")
        };
        return (key, "unknown key".to_owned());
    }
    (path, message)
}

/// Parses "90s", "30m", "12h", "7d".
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let reason = || format!("`{text}` is not a duration like \"30s\", \"15m\", \"12h\" or \"7d\"");
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(reason)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| reason())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(reason()),
    };
    if number == 0 || number > 3650 * 86_400 {
        return Err(format!(
            "`{text}` must be more than zero and at most ten years"
        ));
    }
    Ok(Duration::from_secs(number * seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::from_parts(Path::new("test.toml"), text, env)
    }

    #[test]
    fn the_shipped_file_is_valid_and_documented() {
        let text = include_str!("../config.toml");
        let config = load(text, &[]).unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.sessions.idle_timeout, Duration::from_secs(1800));
        // Every key line is preceded by a comment.
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains(" = ") && !line.starts_with('#') {
                assert!(
                    lines[i - 1].starts_with('#'),
                    "key without a comment: {line}"
                );
            }
        }
    }

    #[test]
    fn empty_file_gives_defaults() {
        let config = load("", &[]).unwrap();
        assert!(config.accounts.self_service_profile_updates);
        assert_eq!(config.sign_in.max_failures_per_account, 5);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = load("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n", &[]).unwrap_err();
        assert_eq!(
            (err.origin.as_str(), err.key.as_str()),
            ("test.toml", "server.lisen")
        );
        assert_eq!(err.reason, "unknown key");
        let err = load("[nope]\n", &[]).unwrap_err();
        assert_eq!(err.key, "nope");
    }

    #[test]
    fn bad_values_are_named() {
        let err = load("[server]\nlisten = \"localhost\"\n", &[]).unwrap_err();
        assert_eq!(err.key, "server.listen");
        let err = load("[sessions]\nidle_timeout = \"soon\"\n", &[]).unwrap_err();
        assert_eq!(err.key, "sessions.idle_timeout");
        let err = load("[sign_in]\nmax_failures_per_account = \"five\"\n", &[]).unwrap_err();
        assert_eq!(err.key, "sign_in.max_failures_per_account");
        let err = load("[sign_in]\nmax_failures_per_account = 0\n", &[]).unwrap_err();
        assert_eq!(err.key, "sign_in.max_failures_per_account");
        let err = load("[log]\nformat = \"xml\"\n", &[]).unwrap_err();
        assert_eq!(err.key, "log.format");
        assert!(load("[server\n", &[]).unwrap_err().reason.contains("TOML"));
    }

    #[test]
    fn environment_overrides_the_file_and_is_named_in_errors() {
        let config = load(
            "",
            &[
                ("LATCHKEY_SERVER__LISTEN", "0.0.0.0:9000"),
                ("PATH", "/bin"),
            ],
        )
        .unwrap();
        assert_eq!(config.server.listen.to_string(), "0.0.0.0:9000");
        let config = load(
            "",
            &[("LATCHKEY_ACCOUNTS__SELF_SERVICE_PROFILE_UPDATES", "false")],
        )
        .unwrap();
        assert!(!config.accounts.self_service_profile_updates);
        let err = load("", &[("LATCHKEY_SERVER__LISTEN", "nowhere")]).unwrap_err();
        assert_eq!(err.origin, "environment variable LATCHKEY_SERVER__LISTEN");
        let err = load("", &[("LATCHKEY_SERVER__COLOUR", "blue")]).unwrap_err();
        assert_eq!(err.key, "server.colour");
        assert_eq!(err.origin, "environment variable LATCHKEY_SERVER__COLOUR");
    }

    #[test]
    fn variables_an_orchestrator_adds_are_ignored_with_a_warning() {
        // What Kubernetes injects for a Service named `latchkey`.
        let config = load(
            "",
            &[
                ("LATCHKEY_PORT", "tcp://10.0.0.7:8080"),
                ("LATCHKEY_PORT_8080_TCP_ADDR", "10.0.0.7"),
                ("LATCHKEY_SERVICE_HOST", "10.0.0.7"),
                ("LATCHKEY_SERVER__LISTEN", "0.0.0.0:9000"),
            ],
        )
        .unwrap();
        assert_eq!(config.server.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.warnings.len(), 3);
        assert!(config.warnings[0].contains("LATCHKEY_PORT ignored"));
        // A typo in a real key still stops start-up.
        let err = load("", &[("LATCHKEY_SERVER__LISTN", "0.0.0.0:1")]).unwrap_err();
        assert_eq!(err.key, "server.listn");
    }

    #[test]
    fn forwarded_for_is_trusted_for_a_number_of_hops() {
        assert_eq!(load("", &[]).unwrap().server.forwarded_hops, None);
        let trusted = load("[server]\ntrust_forwarded_for = true\n", &[]).unwrap();
        assert_eq!(trusted.server.forwarded_hops, Some(1));
        let two = "[server]\ntrust_forwarded_for = true\ntrusted_proxy_hops = 2\n";
        assert_eq!(load(two, &[]).unwrap().server.forwarded_hops, Some(2));
        let err = load("[server]\ntrusted_proxy_hops = 0\n", &[]).unwrap_err();
        assert_eq!(err.key, "server.trusted_proxy_hops");
    }

    #[test]
    fn two_factor_settings_are_checked() {
        let config = load("", &[]).unwrap();
        assert_eq!(config.two_factor.issuer, "Latchkey");
        assert_eq!(
            config.two_factor.reauthentication_window,
            Duration::from_secs(600)
        );
        assert!(config.two_factor.encryption_key.is_none());
        let err = load("[two_factor]\nissuer = \"Acme: HQ\"\n", &[]).unwrap_err();
        assert_eq!(err.key, "two_factor.issuer");
        let err = load("[two_factor]\nreauthentication_window = \"2d\"\n", &[]).unwrap_err();
        assert_eq!(err.key, "two_factor.reauthentication_window");

        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, format!("{}\n", "0123456789abcdef".repeat(4))).unwrap();
        let config = load(
            "",
            &[(
                "LATCHKEY_TWO_FACTOR__ENCRYPTION_KEY_FILE",
                key_file.to_str().unwrap(),
            )],
        )
        .unwrap();
        assert!(config.two_factor.encryption_key.is_some());
        std::fs::write(&key_file, "too short").unwrap();
        let text = format!("[two_factor]\nencryption_key_file = {:?}\n", key_file);
        let err = load(&text, &[]).unwrap_err();
        assert_eq!(
            (err.origin.as_str(), err.key.as_str()),
            ("test.toml", "two_factor.encryption_key_file")
        );
        assert!(err.reason.contains("64 hexadecimal"), "{}", err.reason);
        let err = load(
            "[two_factor]\nencryption_key_file = \"/nonexistent/key\"\n",
            &[],
        )
        .unwrap_err();
        assert!(err.reason.contains("can't read"), "{}", err.reason);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604_800));
        for bad in [
            "",
            "m",
            "10",
            "10 m",
            "0s",
            "-5m",
            "1y",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
