//! The command line: `serve` (the default), `user add|list|reset-2fa`,
//! `check-config`, `healthcheck`, `check-store`, `backup`, `restore`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "latchkey",
    version,
    about = "A self-hosted account portal in one binary"
)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        default_value = "./config.toml",
        env = "LATCHKEY_CONFIG"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (what happens with no command).
    Serve,
    /// Manage users from the shell (through the server if it is running).
    #[command(subcommand)]
    User(UserCommand),
    /// Check the configuration file and environment, then exit.
    CheckConfig,
    /// Ask the server at `server.listen` for `/healthz`: exit 0 if it is
    /// healthy, 1 if not (for a container's HEALTHCHECK).
    Healthcheck,
    /// Check the data file: every record reads, every index agrees with its
    /// table; exit 1 on any problem (through the server if it is running).
    CheckStore,
    /// Write a consistent copy of the data file (through the server if it
    /// is running, without stopping it).
    Backup(BackupArgs),
    /// Replace the data file with a backup, after checking the backup; the
    /// server must be stopped.
    Restore(RestoreArgs),
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Where to write the backup (mode 0600).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup to restore.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Replace the existing data file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an active local user; the password is read from standard input.
    Add(AddUser),
    /// List every user.
    List,
    /// Turn off two-factor authentication for a local user (who lost their
    /// phone and recovery codes) and sign them out everywhere.
    #[command(name = "reset-2fa")]
    ResetTwoFactor(ResetTwoFactor),
}

#[derive(Args, Debug)]
pub struct ResetTwoFactor {
    #[arg(long)]
    pub email: String,
}

#[derive(Args, Debug)]
pub struct AddUser {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub first_name: String,
    #[arg(long)]
    pub last_name: String,
    /// Make the user a Global Administrator.
    #[arg(long)]
    pub admin: bool,
}
