//! The container and the compose example, checked without Docker: the
//! Dockerfile's invariants (stages, what the build copies, a non-root user,
//! the volume, the health check), the compose file's settings loaded as a
//! real configuration, and the binary started the way the image starts it:
//! its JSON log carries the set-up link, and `latchkey healthcheck` follows
//! the server up and down.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey::config::{Config, MailTransport};

use crate::support::free_port;

const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One Dockerfile instruction: keyword in capitals and its arguments, with
/// continuation lines joined.
#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

/// The Dockerfile's instructions, stage by stage (each starts with FROM).
fn stages() -> Vec<Vec<Instruction>> {
    let text = read("Dockerfile");
    let mut stages: Vec<Vec<Instruction>> = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(more) = trimmed.strip_suffix('\\') {
            pending.push_str(more);
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let whole = std::mem::take(&mut pending);
        let (keyword, args) = whole.split_once(' ').unwrap_or((&whole, ""));
        let instruction = Instruction {
            keyword: keyword.to_uppercase(),
            args: args.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        if instruction.keyword == "FROM" {
            stages.push(Vec::new());
        }
        stages
            .last_mut()
            .expect("the Dockerfile starts with FROM")
            .push(instruction);
    }
    stages
}

fn args_of<'a>(stage: &'a [Instruction], keyword: &str) -> Vec<&'a str> {
    stage
        .iter()
        .filter(|i| i.keyword == keyword)
        .map(|i| i.args.as_str())
        .collect()
}

/// The runtime stage's `ENV` settings.
fn image_env() -> BTreeMap<String, String> {
    let stages = stages();
    let runtime = stages.last().expect("a stage");
    let mut env = BTreeMap::new();
    for args in args_of(runtime, "ENV") {
        for pair in args.split_whitespace() {
            let (key, value) = pair.split_once('=').expect("ENV KEY=value");
            env.insert(key.to_owned(), value.trim_matches('"').to_owned());
        }
    }
    env
}

#[test]
fn the_image_runs_unprivileged_from_a_minimal_base_with_a_volume_and_a_health_check() {
    let stages = stages();
    assert!(stages.len() >= 2, "a build stage and a runtime stage");
    let runtime = stages.last().unwrap();
    let base = runtime[0].args.as_str();
    assert!(
        base.starts_with("gcr.io/distroless/cc-debian12") && base.ends_with(":nonroot"),
        "{base}"
    );
    assert!(
        args_of(runtime, "RUN").is_empty(),
        "distroless has no shell to RUN anything in"
    );

    let users = args_of(runtime, "USER");
    let user = *users.last().expect("the runtime stage sets USER");
    let uid = user.split(':').next().unwrap();
    assert!(
        uid.parse::<u32>().is_ok_and(|uid| uid != 0),
        "a numeric non-root user, for runAsNonRoot: {user}"
    );
    // The data folder is the runtime user's own.
    let chown = format!("--chown={uid}:");
    assert!(
        args_of(runtime, "COPY")
            .iter()
            .any(|c| c.contains(&chown) && c.ends_with(" /data")),
        "/data is created for user {uid}"
    );

    let volumes = args_of(runtime, "VOLUME").join(" ");
    assert!(volumes.contains("\"/data\"") || volumes.split(' ').any(|v| v == "/data"));
    let env = image_env();
    assert_eq!(env["LATCHKEY_STORAGE__DATA_DIR"], "/data");
    assert_eq!(env["LATCHKEY_LOG__FORMAT"], "json");
    assert_eq!(env["LATCHKEY_CONFIG"], "/etc/latchkey/config.toml");
    assert!(env["LATCHKEY_SERVER__LISTEN"].starts_with("0.0.0.0:"));
    assert!(
        args_of(runtime, "COPY").contains(&"config.toml /etc/latchkey/config.toml"),
        "the documented defaults are where LATCHKEY_CONFIG points"
    );

    // Exec form (no shell in the image), the binary's own check.
    let health = args_of(runtime, "HEALTHCHECK");
    let health = health.first().expect("a HEALTHCHECK");
    let command = health.split_once("CMD ").expect("HEALTHCHECK … CMD").1;
    assert_eq!(command, r#"["/usr/local/bin/latchkey", "healthcheck"]"#);
    assert_eq!(
        args_of(runtime, "ENTRYPOINT"),
        [r#"["/usr/local/bin/latchkey"]"#]
    );
    assert_eq!(args_of(runtime, "CMD"), [r#"["serve"]"#]);
    let exposed = env["LATCHKEY_SERVER__LISTEN"].rsplit(':').next().unwrap();
    assert_eq!(args_of(runtime, "EXPOSE"), [exposed]);
}

#[test]
fn the_build_stage_caches_dependencies_and_copies_everything_the_build_reads() {
    let stages = stages();
    let build = &stages[0];
    assert!(build[0].args.starts_with("rust:"), "{}", build[0].args);
    assert!(
        build[0].args.contains("bookworm"),
        "the same Debian as the runtime image, for the same glibc"
    );
    let copied: Vec<&str> = args_of(build, "COPY")
        .iter()
        .flat_map(|c| {
            let parts: Vec<&str> = c.split(' ').collect();
            parts[..parts.len() - 1].to_vec()
        })
        .collect();
    let mut needed = vec!["Cargo.toml", "Cargo.lock", "src", "assets"];
    let manifest = read("Cargo.toml");
    if manifest.contains("[[bench]]") {
        needed.push("benches");
    }
    if repo("build.rs").exists() {
        needed.push("build.rs");
    }
    for path in needed {
        assert!(copied.contains(&path), "the build stage copies {path}");
    }
    // Every file the embedded-assets macro reads is inside what is copied.
    let assets = read("src/web/assets.rs");
    let folder = assets
        .split("#[folder = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("rust-embed folder");
    assert!(copied.contains(&folder.trim_end_matches('/')), "{folder}");

    // The dependencies are built before any of our code is copied.
    let position = |needle: &str| {
        build
            .iter()
            .position(|i| i.keyword == "COPY" && i.args.starts_with(needle))
    };
    let first_build = build
        .iter()
        .position(|i| i.keyword == "RUN" && i.args.contains("cargo build"))
        .expect("a cargo build");
    assert!(position("Cargo.toml").unwrap() < first_build);
    assert!(position("src").unwrap() > first_build);
    for run in args_of(build, "RUN") {
        if run.contains("cargo build") {
            assert!(
                run.contains("--release") && run.contains("--locked"),
                "{run}"
            );
        }
    }

    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_matches('/').to_owned())
        .collect();
    for excluded in ["target", "data", ".git"] {
        assert!(ignored.iter().any(|i| i == excluded), "{excluded}");
    }
    for path in copied {
        assert!(
            !ignored.iter().any(|i| i == path),
            "{path} is copied but .dockerignore leaves it out"
        );
    }
}

/// The lines of a YAML block (`services:` › `latchkey:` › `environment:`),
/// found by indentation: enough for our own compose file.
fn yaml_block<'a>(text: &'a str, path: &[&str]) -> Vec<&'a str> {
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    for key in path {
        let indent = lines.first().map_or(0, |l| l.len() - l.trim_start().len());
        let start = lines
            .iter()
            .position(|l| l.len() - l.trim_start().len() == indent && l.trim() == format!("{key}:"))
            .unwrap_or_else(|| panic!("no `{key}:` in {path:?}"));
        lines = lines[start + 1..]
            .iter()
            .take_while(|l| l.len() - l.trim_start().len() > indent)
            .copied()
            .collect();
    }
    lines
}

/// `KEY: value` lines as a map, quotes removed.
fn yaml_map(lines: &[&str]) -> BTreeMap<String, String> {
    lines
        .iter()
        .filter_map(|l| l.trim().split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
}

fn yaml_list(lines: &[&str]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(|v| v.trim_matches('"').to_owned())
        .collect()
}

/// `${NAME:-default}` → default, as compose does with NAME unset.
fn with_defaults(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        let inner = &rest[start + 2..end];
        out.push_str(inner.split_once(":-").map_or("", |(_, d)| d));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_compose_example_puts_caddy_in_front_and_takes_secrets_from_files() {
    let compose = read("deploy/compose.yaml");
    let latchkey = yaml_block(&compose, &["services", "latchkey"]);
    assert!(
        !latchkey.iter().any(|l| l.trim() == "ports:"),
        "only Caddy publishes ports"
    );
    let env = yaml_map(&yaml_block(
        &compose,
        &["services", "latchkey", "environment"],
    ));
    assert_eq!(env["LATCHKEY_SERVER__TRUST_FORWARDED_FOR"], "true");
    assert_eq!(env["LATCHKEY_SERVER__TRUSTED_PROXY_HOPS"], "1");
    assert!(env["LATCHKEY_SERVER__PUBLIC_URL"].starts_with("https://"));
    let volumes = yaml_list(&yaml_block(&compose, &["services", "latchkey", "volumes"]));
    assert!(volumes.iter().any(|v| v.ends_with(":/data")), "{volumes:?}");

    // Secrets only through files, each one declared with its file.
    let granted = yaml_list(&yaml_block(&compose, &["services", "latchkey", "secrets"]));
    let declared = yaml_block(&compose, &["secrets"]);
    let scratch = tempfile::tempdir().unwrap();
    let mut settings: Vec<(String, String)> = image_env().into_iter().collect();
    for (key, value) in &env {
        let upper = key.to_uppercase();
        assert!(
            !(upper.ends_with("PASSWORD") || upper.ends_with("TOKEN") || upper.ends_with("KEY")),
            "{key} holds a secret in the file; use the _FILE key"
        );
        let value = with_defaults(value);
        let value = match value.strip_prefix("/run/secrets/") {
            Some(name) => {
                assert!(key.ends_with("_FILE"), "{key}");
                assert!(granted.iter().any(|g| g == name), "{name} is not granted");
                let file = yaml_map(&yaml_block(&compose, &["secrets", name]));
                assert!(file["file"].starts_with("./secrets/"), "{name}");
                assert!(!declared.is_empty());
                // Stand-in secret: 64 hex characters suit every kind.
                let path = scratch.path().join(name);
                std::fs::write(&path, format!("{}\n", "0123456789abcdef".repeat(4))).unwrap();
                path.display().to_string()
            }
            None => value,
        };
        settings.push((key.clone(), value));
    }
    // What the container would start with: the shipped file under the
    // image's and the compose file's environment.
    let config = Config::from_parts(Path::new("config.toml"), &read("config.toml"), settings)
        .unwrap_or_else(|e| panic!("the compose settings don't load: {e}"));
    assert_eq!(config.server.forwarded_hops, Some(1));
    assert!(config.server.is_https());
    assert!(config.two_factor.encryption_key.is_some());
    match &config.mail.transport {
        MailTransport::Smtp(smtp) => assert!(smtp.credentials.is_some()),
        MailTransport::File { .. } => panic!("the example sends by SMTP"),
    }

    // Caddy: the Caddyfile mounted, the site named by the domain, proxied to
    // the port the image listens on, Latchkey healthy first.
    let caddy_volumes = yaml_list(&yaml_block(&compose, &["services", "caddy", "volumes"]));
    assert!(
        caddy_volumes
            .iter()
            .any(|v| v.starts_with("./Caddyfile:/etc/caddy/Caddyfile"))
    );
    let caddy_env = yaml_map(&yaml_block(&compose, &["services", "caddy", "environment"]));
    assert!(caddy_env.contains_key("LATCHKEY_DOMAIN"));
    let depends = yaml_block(&compose, &["services", "caddy", "depends_on", "latchkey"]);
    assert_eq!(depends, ["        condition: service_healthy"]);
    let caddyfile = read("deploy/Caddyfile");
    assert!(caddyfile.contains("{$LATCHKEY_DOMAIN} {"));
    let port = config.server.listen.port();
    assert!(caddyfile.contains(&format!("reverse_proxy latchkey:{port}")));
    // Trusting proxies before Caddy would put more entries on the right.
    assert!(
        !caddyfile
            .lines()
            .any(|l| l.trim_start().starts_with("trusted_proxies"))
    );
}

/// The binary run as the image runs it: no arguments but `CMD`, the image's
/// environment (pointed at a scratch folder and a free port), nothing
/// inherited.
fn as_in_the_image(args: &[&str], data: &Path, port: u16) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env_clear();
    for (key, value) in image_env() {
        command.env(key, value);
    }
    command
        .env("LATCHKEY_CONFIG", repo("config.toml"))
        .env("LATCHKEY_STORAGE__DATA_DIR", data)
        .env("LATCHKEY_SERVER__LISTEN", format!("0.0.0.0:{port}"))
        .stdin(Stdio::null());
    command
}

fn healthcheck(data: &Path, port: u16) -> (bool, String) {
    let output = as_in_the_image(&["healthcheck"], data, port)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_first_start_logs_the_set_up_link_as_json_and_the_health_check_follows_the_server() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    let port = free_port();
    let (up, said) = healthcheck(&data, port);
    assert!(!up && said.contains("unhealthy"), "{said}");

    let mut child = as_in_the_image(&["serve"], &data, port)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Killed(child);
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let setup = loop {
        assert!(Instant::now() < deadline, "no set-up link in the log");
        let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let record: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let message = record["fields"]["message"].as_str().unwrap_or_default();
        if message.contains("/setup?token=") {
            assert_eq!(record["level"], "WARN");
            break message.to_owned();
        }
    };
    assert!(setup.contains("one-time link"), "{setup}");

    let (up, said) = healthcheck(&data, port);
    assert!(up, "{said}");

    let stopped = Command::new("kill")
        .arg("-TERM")
        .arg(server.0.id().to_string())
        .status()
        .unwrap();
    assert!(stopped.success());
    let mut server = server;
    let status = server.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let (up, said) = healthcheck(&data, port);
    assert!(!up && said.contains("can't connect"), "{said}");
}
