//! The `latchkey` binary: parse the command line, load and check the
//! configuration, set up logging, then run the command.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use latchkey::accounts::AccountsError;
use latchkey::accounts::users::{NewUserForm, add_user_now};
use latchkey::app::{App, shutdown_signal};
use latchkey::cli::{AddUser, Cli, Command, UserCommand};
use latchkey::config::Config;
use latchkey::domain::time;
use latchkey::store::Store;

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
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latchkey: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::CheckConfig => {
            println!("{}: configuration is valid", config.source.display());
            Ok(())
        }
        Command::Serve => serve(config),
        Command::User(UserCommand::Add(args)) => add_user(&config, &args),
        Command::User(UserCommand::List) => list_users(&config),
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
        let app = App::build(config).context("opening the data file")?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let local = listener.local_addr()?;
        tracing::info!(
            address = %local,
            data = %data_dir.display(),
            version = env!("CARGO_PKG_VERSION"),
            "Latchkey listening on http://{local}"
        );
        app.announce_setup_link().await?;
        app.serve(listener, shutdown).await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}

fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::open(&config.data_dir, config.accounts).context("opening the data file")
}

fn add_user(config: &Config, args: &AddUser) -> anyhow::Result<()> {
    let store = open_store(config)?;
    if std::io::stdin().is_terminal() {
        eprint!("Password for {} (12–128 characters): ", args.email);
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
    let form = NewUserForm {
        first_name: args.first_name.clone(),
        last_name: args.last_name.clone(),
        email: args.email.clone(),
        password_confirm: password.clone(),
        password,
    };
    match add_user_now(&store, &form, args.admin) {
        Ok(user) => {
            let role = if args.admin {
                " as Global Administrator"
            } else {
                ""
            };
            println!("created user {} <{}>{role}", user.id, user.email);
            Ok(())
        }
        Err(AccountsError::Invalid(errors)) => {
            let lines: Vec<String> = errors
                .iter()
                .map(|(field, message)| format!("  {field}: {message}"))
                .collect();
            bail!("the user was not created:\n{}", lines.join("\n"))
        }
        Err(e) => Err(e.into()),
    }
}

fn list_users(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let roles = store.roles()?;
    println!(
        "{:<6} {:<32} {:<28} {:<8} {:<24} LAST SIGN-IN",
        "ID", "EMAIL", "NAME", "STATUS", "ROLES"
    );
    for user in store.users()? {
        let names: Vec<&str> = user
            .roles
            .iter()
            .filter_map(|id| roles.iter().find(|r| r.id == *id).map(|r| r.name.as_str()))
            .collect();
        println!(
            "{:<6} {:<32} {:<28} {:<8} {:<24} {}",
            user.id,
            user.email,
            user.full_name(),
            format!("{:?}", user.status),
            if names.is_empty() {
                "-".to_owned()
            } else {
                names.join(", ")
            },
            user.last_sign_in_at
                .map_or_else(|| "never".to_owned(), time::display),
        );
    }
    Ok(())
}
