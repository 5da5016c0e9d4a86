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
    pub mail: MailConfig,
    pub password_reset: PasswordResetConfig,
    /// How long an email-change confirmation link works.
    pub email_change_link_lifetime: Duration,
    /// How long an invitation link works.
    pub invitation_link_lifetime: Duration,
    /// Prometheus metrics; `None` when they are off (the default).
    pub metrics: Option<MetricsConfig>,
    /// Scheduled backups; `None` when off (the default).
    pub backup: Option<BackupConfig>,
}

/// Where `/metrics` is served and what it asks of a scraper.
#[derive(Clone, Debug)]
pub struct MetricsConfig {
    /// A listener of its own that serves `/metrics` alone; `None` serves it
    /// on `server.listen`, where the bearer token is then required.
    pub listen: Option<SocketAddr>,
    /// Required as `Authorization: Bearer …` wherever `/metrics` is served.
    pub bearer_token: Option<Secret>,
}

/// Scheduled backups of the data file (see `store::backup`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupConfig {
    /// Where backups go, relative to the working directory.
    pub dir: PathBuf,
    pub interval: Duration,
    /// How many scheduled backups to keep; older ones are deleted.
    pub keep: usize,
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

/// Outgoing mail: how messages leave, who they come from, and how failed
/// deliveries are retried.
#[derive(Clone, Debug)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub from: Mailbox,
    pub retry: RetrySchedule,
    /// Messages that requests (a reset, an email change, an invitation, a
    /// test message) may send to one address in an hour, so nobody can use
    /// Latchkey to flood a mailbox.
    pub max_per_recipient: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailTransport {
    /// Each message becomes an `.eml` file in this folder: no mail server needed.
    File {
        dir: PathBuf,
    },
    Smtp(SmtpConfig),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub credentials: Option<SmtpCredentials>,
    /// How long connecting, and each step of the conversation, may take.
    pub timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server can't.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or network.
    None,
}

impl SmtpSecurity {
    pub fn label(self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "STARTTLS",
            SmtpSecurity::Tls => "TLS",
            SmtpSecurity::None => "no encryption",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpCredentials {
    pub user: String,
    pub password: Secret,
}

/// A secret from the configuration: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A sender: display name and address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub name: String,
    pub address: String,
}

impl Mailbox {
    /// Parses `Name <address>` or a bare `address`. Deliberately lenient
    /// (`latchkey@localhost` is fine): the mail server has the last word.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (name, address) = match text.rsplit_once('<') {
            Some((name, rest)) => {
                let address = rest.strip_suffix('>').ok_or_else(|| {
                    format!("`{text}` is not an address like \"Latchkey <latchkey@example.com>\"")
                })?;
                (name.trim().trim_matches('"').trim(), address.trim())
            }
            None => ("", text),
        };
        let valid = address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        }) && !address.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
        });
        if !valid || name.chars().any(|c| c.is_control() || c == '"') {
            return Err(format!(
                "`{text}` is not an address like \"Latchkey <latchkey@example.com>\""
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            address: address.to_owned(),
        })
    }

    /// The part after the `@`, which names our Message-IDs.
    pub fn domain(&self) -> &str {
        self.address.rsplit('@').next().unwrap_or("localhost")
    }
}

/// When a failed delivery is tried again: after attempt `n` (from 1) the
/// wait is `first × 2^(n-1)`, never more than `max`; after `max_attempts`
/// attempts the message is marked failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    pub first: Duration,
    pub max: Duration,
    pub max_attempts: u32,
}

impl RetrySchedule {
    /// The wait after the `attempts`-th attempt failed.
    pub fn delay_after(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.first
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct PasswordResetConfig {
    pub link_lifetime: Duration,
    /// Reset requests per typed address per hour (each may send a mail).
    pub max_requests_per_email: u32,
    /// Reset requests per client address per hour.
    pub max_requests_per_client: u32,
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
    mail: RawMail,
    password_reset: RawPasswordReset,
    email_change: RawLinks,
    invitations: RawInvitations,
    metrics: RawMetrics,
    backup: RawBackup,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawMail {
    transport: String,
    from: String,
    /// `None` means `<data_dir>/outbox`.
    outbox_dir: Option<String>,
    first_retry: String,
    max_retry: String,
    max_attempts: i64,
    max_per_recipient: i64,
    smtp: RawSmtp,
}

impl Default for RawMail {
    fn default() -> Self {
        Self {
            transport: "file".into(),
            from: String::new(),
            outbox_dir: None,
            first_retry: "30s".into(),
            max_retry: "1h".into(),
            max_attempts: 20,
            max_per_recipient: 10,
            smtp: RawSmtp::default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSmtp {
    host: String,
    /// `None` means the usual port for `security`.
    port: Option<i64>,
    security: String,
    user: String,
    password: String,
    password_file: String,
    timeout: String,
}

impl Default for RawSmtp {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: None,
            security: "starttls".into(),
            user: String::new(),
            password: String::new(),
            password_file: String::new(),
            timeout: "30s".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawPasswordReset {
    link_lifetime: String,
    max_requests_per_email: i64,
    max_requests_per_client: i64,
}

impl Default for RawPasswordReset {
    fn default() -> Self {
        Self {
            link_lifetime: "1h".into(),
            max_requests_per_email: 3,
            max_requests_per_client: 20,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLinks {
    link_lifetime: String,
}

impl Default for RawLinks {
    fn default() -> Self {
        Self {
            link_lifetime: "24h".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawInvitations {
    link_lifetime: String,
}

impl Default for RawInvitations {
    fn default() -> Self {
        Self {
            link_lifetime: "7d".into(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawMetrics {
    enabled: bool,
    listen: String,
    bearer_token: String,
    bearer_token_file: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawBackup {
    /// Empty: no scheduled backups.
    directory: String,
    interval: String,
    keep: i64,
}

impl Default for RawBackup {
    fn default() -> Self {
        Self {
            directory: String::new(),
            interval: "24h".into(),
            keep: 7,
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
        config.warnings.extend(warnings);
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
    let positive = |key: &str, value: i64| whole_number(key, value, 1_000_000, fail);
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
    let data_dir = PathBuf::from(raw.storage.data_dir);
    let mut warnings = Vec::new();
    let mail = validate_mail(raw.mail, &data_dir, fail, &mut warnings)?;
    let password_reset = PasswordResetConfig {
        link_lifetime: parse_duration(&raw.password_reset.link_lifetime)
            .map_err(|r| fail("password_reset.link_lifetime", r))?,
        max_requests_per_email: positive(
            "password_reset.max_requests_per_email",
            raw.password_reset.max_requests_per_email,
        )?,
        max_requests_per_client: positive(
            "password_reset.max_requests_per_client",
            raw.password_reset.max_requests_per_client,
        )?,
    };
    let email_change_link_lifetime = parse_duration(&raw.email_change.link_lifetime)
        .map_err(|r| fail("email_change.link_lifetime", r))?;
    let invitation_link_lifetime = parse_duration(&raw.invitations.link_lifetime)
        .map_err(|r| fail("invitations.link_lifetime", r))?;
    let metrics = validate_metrics(raw.metrics, listen, fail)?;
    let backup = validate_backup(raw.backup, fail)?;
    Ok(Config {
        source: path.to_owned(),
        warnings,
        server: ServerConfig {
            listen,
            public_url,
            forwarded_hops,
            header_read_timeout,
            request_timeout,
        },
        data_dir,
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
        mail,
        password_reset,
        email_change_link_lifetime,
        invitation_link_lifetime,
        metrics,
        backup,
    })
}

/// Shortest bearer token accepted: guessing it must be hopeless.
const MIN_BEARER_TOKEN: usize = 16;

/// `[metrics]`: off, on a listener of its own, or on the main one behind a
/// bearer token. On the main listener a token is required, so that turning
/// metrics on never publishes them to everyone who can reach the portal.
fn validate_metrics(
    raw: RawMetrics,
    server_listen: SocketAddr,
    fail: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Option<MetricsConfig>, ConfigError> {
    if !raw.enabled {
        return Ok(None);
    }
    let listen = match raw.listen.trim() {
        "" => None,
        text => {
            let addr: SocketAddr = text.parse().map_err(|_| {
                fail(
                    "metrics.listen",
                    format!("`{text}` is not an address and port like 127.0.0.1:9090"),
                )
            })?;
            if addr == server_listen && addr.port() != 0 {
                return Err(fail(
                    "metrics.listen",
                    format!(
                        "{addr} is server.listen already; give metrics a port of their own, or leave this empty and set metrics.bearer_token"
                    ),
                ));
            }
            Some(addr)
        }
    };
    let token = match (raw.bearer_token.is_empty(), raw.bearer_token_file.trim()) {
        (true, "") => None,
        (false, "") => Some(("metrics.bearer_token", raw.bearer_token)),
        (true, file) => {
            let key = "metrics.bearer_token_file";
            let text = std::fs::read_to_string(file)
                .map_err(|e| fail(key, format!("can't read {file}: {e}")))?;
            // Secret files usually end with a newline that is not part of the token.
            Some((key, text.trim_end_matches(['\r', '\n']).to_owned()))
        }
        (false, _) => {
            return Err(fail(
                "metrics.bearer_token_file",
                "set either metrics.bearer_token or metrics.bearer_token_file, not both".into(),
            ));
        }
    };
    let bearer_token = match token {
        None => None,
        Some((key, token)) => {
            if token.len() < MIN_BEARER_TOKEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(fail(
                    key,
                    format!(
                        "the token must be at least {MIN_BEARER_TOKEN} visible ASCII characters without spaces (make one with `openssl rand -hex 32`)"
                    ),
                ));
            }
            Some(Secret(token))
        }
    };
    if listen.is_none() && bearer_token.is_none() {
        return Err(fail(
            "metrics.enabled",
            "metrics need a listener of their own (metrics.listen) or a token on the main one (metrics.bearer_token or metrics.bearer_token_file)".into(),
        ));
    }
    Ok(Some(MetricsConfig {
        listen,
        bearer_token,
    }))
}

/// A count from `1` to `max`, or an error naming `key`.
fn whole_number(
    key: &str,
    value: i64,
    max: u32,
    fail: &dyn Fn(&str, String) -> ConfigError,
) -> Result<u32, ConfigError> {
    u32::try_from(value)
        .ok()
        .filter(|v| (1..=max).contains(v))
        .ok_or_else(|| {
            fail(
                key,
                format!("{value} is not a whole number from 1 to {max}"),
            )
        })
}

/// Every key is checked even with backups off, so a typo shows before the
/// day they are turned on.
fn validate_backup(
    raw: RawBackup,
    fail: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Option<BackupConfig>, ConfigError> {
    let interval = parse_duration(&raw.interval).map_err(|r| fail("backup.interval", r))?;
    if interval < Duration::from_secs(60) {
        return Err(fail(
            "backup.interval",
            format!("`{}` is shorter than a minute", raw.interval),
        ));
    }
    let keep = whole_number("backup.keep", raw.keep, 1000, fail)? as usize;
    let directory = raw.directory.trim();
    Ok((!directory.is_empty()).then(|| BackupConfig {
        dir: PathBuf::from(directory),
        interval,
        keep,
    }))
}

fn validate_mail(
    raw: RawMail,
    data_dir: &Path,
    fail: &dyn Fn(&str, String) -> ConfigError,
    warnings: &mut Vec<String>,
) -> Result<MailConfig, ConfigError> {
    let transport = match raw.transport.as_str() {
        "file" => {
            let dir = match raw.outbox_dir {
                Some(dir) if dir.trim().is_empty() => {
                    return Err(fail("mail.outbox_dir", "must name a folder".into()));
                }
                Some(dir) => PathBuf::from(dir),
                None => data_dir.join("outbox"),
            };
            MailTransport::File { dir }
        }
        "smtp" => MailTransport::Smtp(validate_smtp(raw.smtp, fail, warnings)?),
        other => {
            return Err(fail(
                "mail.transport",
                format!("`{other}` is not \"file\" or \"smtp\""),
            ));
        }
    };
    let from = if raw.from.trim().is_empty() {
        if matches!(transport, MailTransport::Smtp(_)) {
            return Err(fail(
                "mail.from",
                "must be set when mail goes out by SMTP, to an address your mail server may send from".into(),
            ));
        }
        Mailbox {
            name: "Latchkey".into(),
            address: "latchkey@localhost".into(),
        }
    } else {
        Mailbox::parse(&raw.from).map_err(|r| fail("mail.from", r))?
    };
    let first = parse_duration(&raw.first_retry).map_err(|r| fail("mail.first_retry", r))?;
    let max = parse_duration(&raw.max_retry).map_err(|r| fail("mail.max_retry", r))?;
    if max < first {
        return Err(fail(
            "mail.max_retry",
            "must be at least as long as mail.first_retry".into(),
        ));
    }
    let max_attempts = whole_number("mail.max_attempts", raw.max_attempts, 1000, fail)?;
    let max_per_recipient = whole_number(
        "mail.max_per_recipient",
        raw.max_per_recipient,
        1_000_000,
        fail,
    )?;
    Ok(MailConfig {
        transport,
        from,
        retry: RetrySchedule {
            first,
            max,
            max_attempts,
        },
        max_per_recipient,
    })
}

fn validate_smtp(
    raw: RawSmtp,
    fail: &dyn Fn(&str, String) -> ConfigError,
    warnings: &mut Vec<String>,
) -> Result<SmtpConfig, ConfigError> {
    let host = raw.host.trim().to_owned();
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err(fail(
            "mail.smtp.host",
            "must name the mail server, like \"smtp.example.com\", when mail.transport is \"smtp\""
                .into(),
        ));
    }
    let security = match raw.security.as_str() {
        "starttls" => SmtpSecurity::StartTls,
        "tls" => SmtpSecurity::Tls,
        "none" => SmtpSecurity::None,
        other => {
            return Err(fail(
                "mail.smtp.security",
                format!("`{other}` is not \"starttls\", \"tls\" or \"none\""),
            ));
        }
    };
    let port = match raw.port {
        None => match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        },
        Some(n) => u16::try_from(n).ok().filter(|p| *p > 0).ok_or_else(|| {
            fail(
                "mail.smtp.port",
                format!("{n} is not a port number from 1 to 65535"),
            )
        })?,
    };
    let timeout = parse_duration(&raw.timeout).map_err(|r| fail("mail.smtp.timeout", r))?;
    let password = match (raw.password.is_empty(), raw.password_file.trim()) {
        (true, "") => None,
        (false, "") => Some(Secret(raw.password)),
        (true, file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| fail("mail.smtp.password_file", format!("can't read {file}: {e}")))?;
            // Secret files usually end with a newline that is not part of the password.
            let password = text.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                return Err(fail("mail.smtp.password_file", format!("{file} is empty")));
            }
            Some(Secret(password.to_owned()))
        }
        (false, _) => {
            return Err(fail(
                "mail.smtp.password_file",
                "set either mail.smtp.password or mail.smtp.password_file, not both".into(),
            ));
        }
    };
    let user = raw.user.trim().to_owned();
    let credentials = match (user.is_empty(), password) {
        (true, None) => None,
        (false, Some(password)) => Some(SmtpCredentials { user, password }),
        (false, None) => {
            return Err(fail(
                "mail.smtp.password",
                "mail.smtp.user is set, so a password (or password_file) is needed too".into(),
            ));
        }
        (true, Some(_)) => {
            return Err(fail(
                "mail.smtp.user",
                "a password is set, so the user name is needed too".into(),
            ));
        }
    };
    if credentials.is_some() && security == SmtpSecurity::None {
        warnings.push(
            "mail.smtp.security is \"none\": the SMTP password crosses the network unencrypted"
                .into(),
        );
    }
    Ok(SmtpConfig {
        host,
        port,
        security,
        credentials,
        timeout,
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
    fn backups_are_off_unless_a_folder_is_named_and_their_keys_are_checked() {
        assert_eq!(load("", &[]).unwrap().backup, None);
        let on = load(
            "[backup]\ndirectory = \"/var/backups/latchkey\"\ninterval = \"6h\"\nkeep = 3\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            on.backup,
            Some(BackupConfig {
                dir: PathBuf::from("/var/backups/latchkey"),
                interval: Duration::from_secs(6 * 3600),
                keep: 3,
            })
        );
        let from_env = load("", &[("LATCHKEY_BACKUP__DIRECTORY", "/b")]).unwrap();
        assert_eq!(from_env.backup.unwrap().keep, 7);
        for (text, key, reason) in [
            (
                "interval = \"30s\"",
                "backup.interval",
                "shorter than a minute",
            ),
            ("interval = \"daily\"", "backup.interval", "not a duration"),
            ("keep = 0", "backup.keep", "from 1 to 1000"),
            ("keep = 5000", "backup.keep", "from 1 to 1000"),
        ] {
            let err = load(&format!("[backup]\n{text}\n"), &[]).unwrap_err();
            assert_eq!(err.key, key, "{text}");
            assert!(err.reason.contains(reason), "{text}: {}", err.reason);
            assert_eq!(err.origin, "test.toml");
        }
        let err = load("[backup]\ndirectry = \"/b\"\n", &[]).unwrap_err();
        assert_eq!(
            (err.key.as_str(), err.reason.as_str()),
            ("backup.directry", "unknown key")
        );
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
    fn mail_defaults_to_eml_files_in_the_data_folder() {
        let config = load("[storage]\ndata_dir = \"/srv/latchkey\"\n", &[]).unwrap();
        assert_eq!(
            config.mail.transport,
            MailTransport::File {
                dir: PathBuf::from("/srv/latchkey/outbox")
            }
        );
        assert_eq!(
            config.password_reset.link_lifetime,
            Duration::from_secs(3600)
        );
        assert_eq!(
            config.invitation_link_lifetime,
            Duration::from_secs(7 * 86_400)
        );
        let shipped = load(include_str!("../config.toml"), &[]).unwrap();
        assert_eq!(
            shipped.mail.transport,
            MailTransport::File {
                dir: PathBuf::from("./data/outbox")
            }
        );
    }

    #[test]
    fn smtp_settings_are_checked_at_start() {
        let smtp = |extra: &str| {
            load(
                &format!(
                    "[mail]\ntransport = \"smtp\"\nfrom = \"Accounts <a@example.com>\"\n[mail.smtp]\nhost = \"mx.example.com\"\n{extra}"
                ),
                &[],
            )
        };
        let config = smtp("").unwrap();
        let MailTransport::Smtp(settings) = &config.mail.transport else {
            panic!("smtp");
        };
        assert_eq!(
            (settings.port, settings.security),
            (587, SmtpSecurity::StartTls)
        );
        assert_eq!(config.mail.from.name, "Accounts");
        assert_eq!(config.mail.from.domain(), "example.com");
        let MailTransport::Smtp(tls) = smtp("security = \"tls\"\n").unwrap().mail.transport else {
            panic!("smtp");
        };
        assert_eq!(tls.port, 465);
        for (extra, key) in [
            ("security = \"ssl\"\n", "mail.smtp.security"),
            ("port = 70000\n", "mail.smtp.port"),
            ("user = \"me\"\n", "mail.smtp.password"),
            ("password = \"pw\"\n", "mail.smtp.user"),
            (
                "user = \"me\"\npassword = \"pw\"\npassword_file = \"/run/x\"\n",
                "mail.smtp.password_file",
            ),
            (
                "user = \"me\"\npassword_file = \"/nonexistent/secret\"\n",
                "mail.smtp.password_file",
            ),
            ("timeout = \"soon\"\n", "mail.smtp.timeout"),
        ] {
            assert_eq!(smtp(extra).unwrap_err().key, key, "{extra}");
        }
        let err = load(
            "[mail]\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"mx.example.com\"\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(err.key, "mail.from", "SMTP needs a real sender");
        let err = load(
            "[mail]\ntransport = \"smtp\"\nfrom = \"a@example.com\"\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(err.key, "mail.smtp.host");
        assert_eq!(
            load("[mail]\ntransport = \"pigeon\"\n", &[])
                .unwrap_err()
                .key,
            "mail.transport"
        );
        assert_eq!(
            load("[mail]\nfrom = \"not an address\"\n", &[])
                .unwrap_err()
                .key,
            "mail.from"
        );
        let err = load("[mail]\nfirst_retry = \"2h\"\n", &[]).unwrap_err();
        assert_eq!(err.key, "mail.max_retry");
        // Nested keys come from the environment too (containers).
        let config = load(
            "",
            &[
                ("LATCHKEY_MAIL__TRANSPORT", "smtp"),
                ("LATCHKEY_MAIL__FROM", "Accounts <accounts@example.com>"),
                ("LATCHKEY_MAIL__SMTP__HOST", "smtp.example.com"),
                ("LATCHKEY_MAIL__SMTP__PORT", "2525"),
            ],
        )
        .unwrap();
        let MailTransport::Smtp(from_env) = config.mail.transport else {
            panic!("smtp");
        };
        assert_eq!(
            (from_env.host.as_str(), from_env.port),
            ("smtp.example.com", 2525)
        );
        let err = load("[mail.smtp]\nhots = \"x\"\n", &[]).unwrap_err();
        assert_eq!(
            (err.key.as_str(), err.reason.as_str()),
            ("mail.smtp.hots", "unknown key")
        );
    }

    #[test]
    fn the_smtp_password_comes_from_a_file_and_is_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "correct horse\n").unwrap();
        let text = format!(
            "[mail]\ntransport = \"smtp\"\nfrom = \"a@example.com\"\n[mail.smtp]\nhost = \"mx.example.com\"\nuser = \"me\"\npassword_file = \"{}\"\n",
            file.display()
        );
        let config = load(&text, &[]).unwrap();
        let MailTransport::Smtp(smtp) = &config.mail.transport else {
            panic!("smtp");
        };
        let credentials = smtp.credentials.as_ref().unwrap();
        assert_eq!(credentials.password.expose(), "correct horse");
        assert!(!format!("{config:?}").contains("correct horse"));
        let config = load(
            "[mail]\ntransport = \"smtp\"\nfrom = \"a@example.com\"\n[mail.smtp]\nhost = \"mx.example.com\"\nuser = \"me\"\n",
            &[("LATCHKEY_MAIL__SMTP__PASSWORD", "from the environment")],
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("from the environment"));
        // Plain SMTP with a password is allowed, with a warning.
        let config = load(
            "[mail]\ntransport = \"smtp\"\nfrom = \"a@example.com\"\n[mail.smtp]\nhost = \"relay\"\nsecurity = \"none\"\nuser = \"me\"\npassword = \"pw\"\n",
            &[],
        )
        .unwrap();
        assert!(config.warnings[0].contains("unencrypted"));
    }

    #[test]
    fn the_retry_schedule_doubles_up_to_its_cap() {
        let schedule = RetrySchedule {
            first: Duration::from_secs(30),
            max: Duration::from_secs(3600),
            max_attempts: 20,
        };
        let waits: Vec<u64> = (1..=9).map(|n| schedule.delay_after(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(schedule.delay_after(500).as_secs(), 3600);
        let total: u64 = (1..20).map(|n| schedule.delay_after(n).as_secs()).sum();
        assert_eq!(
            total / 3600,
            13,
            "the defaults keep trying for about 13 hours"
        );
    }

    #[test]
    fn mailboxes() {
        let plain = Mailbox::parse("latchkey@localhost").unwrap();
        assert_eq!(
            (plain.name.as_str(), plain.address.as_str()),
            ("", "latchkey@localhost")
        );
        let named = Mailbox::parse("\"Acme Accounts\" <accounts@acme.example>").unwrap();
        assert_eq!(named.name, "Acme Accounts");
        for bad in [
            "",
            "nobody",
            "a@b@c",
            "Name <a@example.com",
            "a b@example.com",
        ] {
            assert!(Mailbox::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metrics_are_off_unless_enabled_and_then_need_a_listener_or_a_token() {
        assert!(load("", &[]).unwrap().metrics.is_none());
        // Keys of a disabled section are kept for later, not checked.
        let off = load("[metrics]\nlisten = \"nonsense\"\n", &[]).unwrap();
        assert!(off.metrics.is_none());
        let own = load(
            "[metrics]\nenabled = true\nlisten = \"127.0.0.1:9090\"\n",
            &[],
        )
        .unwrap()
        .metrics
        .unwrap();
        assert_eq!(own.listen.unwrap().to_string(), "127.0.0.1:9090");
        assert!(own.bearer_token.is_none());
        let token = "0123456789abcdef0123";
        let main = load(
            "",
            &[
                ("LATCHKEY_METRICS__ENABLED", "true"),
                ("LATCHKEY_METRICS__BEARER_TOKEN", token),
            ],
        )
        .unwrap();
        let main = main.metrics.unwrap();
        assert!(main.listen.is_none());
        assert_eq!(main.bearer_token.unwrap().expose(), token);

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, format!("{token}\n")).unwrap();
        let text = format!(
            "[metrics]\nenabled = true\nbearer_token_file = {:?}\n",
            file
        );
        let from_file = load(&text, &[]).unwrap().metrics.unwrap();
        assert_eq!(from_file.bearer_token.unwrap().expose(), token);
        assert!(!format!("{:?}", load(&text, &[]).unwrap()).contains(token));

        for (extra, key, reason) in [
            ("", "metrics.enabled", "metrics.listen"),
            (
                "listen = \"localhost\"\n",
                "metrics.listen",
                "not an address",
            ),
            (
                "listen = \"127.0.0.1:8080\"\n",
                "metrics.listen",
                "server.listen already",
            ),
            (
                "bearer_token = \"short\"\n",
                "metrics.bearer_token",
                "at least 16",
            ),
            (
                "bearer_token = \"has spaces in the middle of it\"\n",
                "metrics.bearer_token",
                "without spaces",
            ),
            (
                "bearer_token = \"0123456789abcdef\"\nbearer_token_file = \"/run/x\"\n",
                "metrics.bearer_token_file",
                "not both",
            ),
            (
                "bearer_token_file = \"/nonexistent/token\"\n",
                "metrics.bearer_token_file",
                "can't read",
            ),
        ] {
            let err = load(&format!("[metrics]\nenabled = true\n{extra}"), &[]).unwrap_err();
            assert_eq!(
                (err.origin.as_str(), err.key.as_str()),
                ("test.toml", key),
                "{extra}"
            );
            assert!(err.reason.contains(reason), "{extra}: {}", err.reason);
        }
        let err = load(
            "",
            &[
                ("LATCHKEY_METRICS__ENABLED", "true"),
                ("LATCHKEY_METRICS__LISTEN", "nowhere"),
            ],
        )
        .unwrap_err();
        assert_eq!(err.origin, "environment variable LATCHKEY_METRICS__LISTEN");
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
