//! Administration from the shell (`latchkey user …`, `check-store`,
//! `backup`), whether or not the server is running; and `restore`, which
//! only runs with the server stopped.
//!
//! The data file can be open in one process only. With no server running,
//! the command line opens it itself ([`Target::Direct`]); while a server holds
//! it, the command line sends the command over the server's admin socket
//! (`<data_dir>/admin.sock`, see [`server`]) and the server runs it
//! ([`Target::Server`]). Either way the same code in [`commands`] runs the
//! command and returns an [`Output`], so the operator sees the same text and
//! exit code. [`protocol`] is the wire format; [`client`] the sending side.

pub mod client;
pub mod commands;
pub mod protocol;
pub mod server;

use std::path::{Path, PathBuf};

pub use commands::Commands;
pub use protocol::{BackupTo, Output, Request, UserAdd, UserResetTwoFactor};
pub use server::AdminSocket;

use crate::accounts::PasswordHasher;
use crate::config::Config;
use crate::store::{Store, StoreError};

/// The socket's file name inside the data folder.
pub const SOCKET_FILE: &str = "admin.sock";

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_FILE)
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("opening the data file")]
    Open(#[source] StoreError),
    #[error(
        "the data file {data_file} is in use (a running Latchkey server seems to hold it), \
         but its admin socket {socket} isn't answering"
    )]
    NotAnswering {
        data_file: PathBuf,
        socket: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("talking to the server through {socket}")]
    Talking {
        socket: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the server's answer can't be used: {0}")]
    Answer(String),
}

/// Where a command runs.
pub enum Target {
    /// No server holds the data file: run here, on the file.
    Direct(Commands),
    /// A server holds it and answers on this socket.
    Server(PathBuf),
}

impl Target {
    /// Opens the data file or, if a server holds it, checks that its admin
    /// socket answers. Both happen before a password is asked for, so a
    /// dead end is reported first.
    pub fn open(config: &Config) -> Result<Self, AdminError> {
        match Store::open(&config.data_dir, config.accounts) {
            Ok(store) => Ok(Target::Direct(Commands::new(
                store,
                PasswordHasher::new(config.sign_in.max_concurrent_hashes),
            ))),
            Err(StoreError::InUse(data_file)) => Self::server(config, data_file),
            Err(e) => Err(AdminError::Open(e)),
        }
    }

    /// [`Target::open`] for the commands that read the file as it is
    /// (`check-store`, `backup`): the file must exist, and is neither
    /// created nor migrated (see [`Store::open_existing`]).
    pub fn open_as_is(config: &Config) -> Result<Self, AdminError> {
        match Store::open_existing(&config.data_dir) {
            Ok(store) => Ok(Target::Direct(Commands::new(store, PasswordHasher::new(1)))),
            Err(StoreError::InUse(data_file)) => Self::server(config, data_file),
            Err(e) => Err(AdminError::Open(e)),
        }
    }

    fn server(config: &Config, data_file: PathBuf) -> Result<Self, AdminError> {
        let socket = socket_path(&config.data_dir);
        match std::os::unix::net::UnixStream::connect(&socket) {
            Ok(_) => Ok(Target::Server(socket)),
            Err(source) => Err(AdminError::NotAnswering {
                data_file,
                socket,
                source,
            }),
        }
    }

    pub async fn run(&self, request: Request) -> Result<Output, AdminError> {
        match self {
            Target::Direct(commands) => Ok(commands.run(request).await),
            Target::Server(socket) => client::send(socket, request).await,
        }
    }
}
