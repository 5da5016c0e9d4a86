//! The `latchkey` binary: parse the command line, load and check the
//! configuration, set up logging, then run the command.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use latchkey::admin::{BackupTo, Output, Request, Target, UserAdd, UserResetTwoFactor};
use latchkey::app::{App, shutdown_signal};
use latchkey::cli::{Cli, Command, UserCommand};
use latchkey::config::Config;

/// How long `latchkey healthcheck` waits for an answer, in all.
const HEALTHCHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Parse cheaply first: a bad config stops us before any port or file is touched.
    let config = match Config::load(&cli.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("latchkey: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if !matches!(command, Command::Serve) {
        for warning in &config.warnings {
            eprintln!("latchkey: warning: {warning}");
        }
    }
    match run(command, config) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("latchkey: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::CheckConfig => {
            println!("{}: configuration is valid", config.source.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => serve(config).map(|()| ExitCode::SUCCESS),
        Command::User(command) => user_command(&config, command),
        Command::Healthcheck => Ok(healthcheck(&config)),
        Command::CheckStore => run_on(&Target::open_as_is(&config)?, Request::CheckStore),
        Command::Backup(args) => {
            // The server may run elsewhere than here: send it a whole path.
            let to = std::path::absolute(&args.to)
                .with_context(|| format!("the path {}", args.to.display()))?;
            let request = Request::Backup(BackupTo {
                to,
                replace: args.force,
            });
            run_on(&Target::open_as_is(&config)?, request)
        }
        Command::Restore(args) => Ok(print(latchkey::admin::commands::restore(
            &config, &args.from, args.force,
        ))),
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if config.log.json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    init_logging(&config);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listen = config.server.listen;
        let data_dir = config.data_dir.clone();
        let shutdown = shutdown_signal();
        let mut app = App::build(config).context("opening the data file")?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let metrics = app.listen_metrics().await?;
        let local = listener.local_addr()?;
        tracing::info!(
            address = %local,
            data = %data_dir.display(),
            version = env!("CARGO_PKG_VERSION"),
            "Latchkey listening on http://{local}"
        );
        if let Some(metrics) = metrics {
            tracing::info!(address = %metrics, "metrics on http://{metrics}/metrics");
        }
        app.announce_setup_link().await?;
        app.serve(listener, shutdown).await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}

/// `latchkey healthcheck`: what the container's HEALTHCHECK runs (the
/// runtime image has no curl). Exit 0 when `/healthz` answers 200.
fn healthcheck(config: &Config) -> ExitCode {
    match latchkey::healthcheck::probe(config.server.listen, HEALTHCHECK_TIMEOUT) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latchkey: unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `latchkey user …`: on the data file, or through the running server's
/// admin socket; either way the same output and exit code.
fn user_command(config: &Config, command: UserCommand) -> anyhow::Result<ExitCode> {
    let target = Target::open(config)?;
    let request = match command {
        UserCommand::Add(args) => Request::UserAdd(UserAdd {
            password: read_password(&args.email)?,
            email: args.email,
            first_name: args.first_name,
            last_name: args.last_name,
            admin: args.admin,
        }),
        UserCommand::List => Request::UserList,
        UserCommand::ResetTwoFactor(args) => {
            Request::UserResetTwoFactor(UserResetTwoFactor { email: args.email })
        }
    };
    run_on(&target, request)
}

/// Runs `request` on the file or through the server, and prints its output.
fn run_on(target: &Target, request: Request) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let output = runtime.block_on(target.run(request))?;
    Ok(print(output))
}

fn print(output: Output) -> ExitCode {
    print!("{}", output.stdout);
    eprint!("{}", output.stderr);
    ExitCode::from(output.exit_code)
}

fn read_password(email: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        eprint!("Password for {email} (12–128 characters): ");
    }
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}
