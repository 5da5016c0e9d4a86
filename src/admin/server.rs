//! The server's end of the admin socket: `<data_dir>/admin.sock`, mode 0600,
//! answering only processes of the user the server runs as.
//!
//! Each connection carries one request line and gets one response line. The
//! request is bounded in size and must arrive promptly; the command then runs
//! through [`Commands`] like any other use case (store work on the blocking
//! pool, hashing on the server's bounded hasher).

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use super::commands::Commands;
use super::protocol::{
    MAX_REQUEST_BYTES, Output, PROTOCOL_VERSION, Request, RequestLine, ResponseLine,
};
use super::socket_path;

/// How long a connection may take to send its request line.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the client may take to read the answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("another process already answers on the admin socket {0}")]
    Answering(PathBuf),
    #[error("{0} is in the way of the admin socket and is not a socket; move it away")]
    NotASocket(PathBuf),
    #[error("can't open the admin socket {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The running socket. Dropping it stops accepting and removes the file, so
/// a stopped server leaves nothing for the command line to mistake for it.
pub struct AdminSocket {
    path: PathBuf,
    task: JoinHandle<()>,
}

impl AdminSocket {
    /// Binds the socket in `data_dir` and starts answering. A socket file
    /// that nothing answers on (left by a server that was killed) is
    /// replaced. Must run inside a Tokio runtime.
    pub fn start(data_dir: &Path, commands: Commands) -> Result<Self, StartError> {
        let path = socket_path(data_dir);
        let io = |source| StartError::Io {
            path: path.clone(),
            source,
        };
        remove_stale(&path)?;
        restrict_folder(data_dir).map_err(io)?;
        let listener = UnixListener::bind(&path).map_err(io)?;
        // Set before anyone is told the socket exists; the uid check below
        // is what actually keeps other users out.
        let owner = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .and_then(|()| std::fs::metadata(&path))
            .map(|meta| meta.uid())
            .map_err(|e| {
                let _ = std::fs::remove_file(&path);
                io(e)
            })?;
        tracing::info!(path = %path.display(), "admin socket ready");
        let task = tokio::spawn(accept(listener, commands, owner));
        Ok(Self { path, task })
    }
}

impl Drop for AdminSocket {
    fn drop(&mut self) {
        self.task.abort();
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove the admin socket");
        }
    }
}

/// Removes a socket file nobody answers on; refuses to touch anything else.
fn remove_stale(path: &Path) -> Result<(), StartError> {
    let io = |source| StartError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
        Ok(meta) if !meta.file_type().is_socket() => Err(StartError::NotASocket(path.to_owned())),
        Ok(_) => match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => Err(StartError::Answering(path.to_owned())),
            Err(_) => std::fs::remove_file(path).map_err(io),
        },
    }
}

/// Keeps other users out of the data folder, and so away from the socket.
fn restrict_folder(data_dir: &Path) -> std::io::Result<()> {
    let mode = std::fs::metadata(data_dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(mode & !0o077))?;
    }
    Ok(())
}

async fn accept(listener: UnixListener, commands: Commands, owner: u32) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(answer(stream, commands.clone(), owner));
            }
            Err(e) => {
                // Out of file descriptors, usually: wait instead of spinning.
                tracing::warn!(error = %e, "admin socket: could not accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn answer(stream: UnixStream, commands: Commands, owner: u32) {
    match stream.peer_cred() {
        Ok(peer) if peer.uid() == owner => {}
        Ok(peer) => {
            tracing::warn!(
                uid = peer.uid(),
                "admin socket: refused a connection from another user"
            );
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "admin socket: can't tell who connected; refused");
            return;
        }
    }
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read).take(MAX_REQUEST_BYTES as u64 + 1);
    let mut line = Vec::new();
    let output = match tokio::time::timeout(IDLE_TIMEOUT, reader.read_until(b'\n', &mut line)).await
    {
        Err(_) => {
            tracing::debug!("admin socket: no request in time; closed");
            return;
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "admin socket: could not read the request");
            return;
        }
        // Connected and closed: the command line checking that we answer.
        Ok(Ok(0)) => return,
        Ok(Ok(_)) if line.len() > MAX_REQUEST_BYTES => Output::failure(format!(
            "the request is longer than {} KiB",
            MAX_REQUEST_BYTES / 1024
        )),
        Ok(Ok(_)) => run(&commands, &line).await,
    };
    let response = ResponseLine {
        version: PROTOCOL_VERSION,
        output,
    };
    let mut bytes = match serde_json::to_vec(&response) {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "admin socket: could not encode the answer");
            return;
        }
    };
    bytes.push(b'\n');
    match tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&bytes)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "admin socket: could not send the answer"),
        Err(_) => tracing::debug!("admin socket: the answer was not read in time"),
    }
}

async fn run(commands: &Commands, line: &[u8]) -> Output {
    let request = match parse(line) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    // The name only: a request may carry a password.
    let name = request.name();
    tracing::info!(command = name, "admin command received");
    let output = commands.run(request).await;
    tracing::info!(
        command = name,
        exit_code = output.exit_code,
        "admin command finished"
    );
    output
}

/// Reads the version first, so a release mismatch gets its own message.
fn parse(line: &[u8]) -> Result<Request, Output> {
    let envelope: RequestLine<serde_json::Value> = serde_json::from_slice(line)
        .map_err(|e| Output::failure(format!("the server can't read the request: {e}")))?;
    if envelope.version != PROTOCOL_VERSION {
        return Err(Output::failure(format!(
            "the server speaks admin protocol {PROTOCOL_VERSION}, the command line {}: \
             use the command line of the server's Latchkey release",
            envelope.version
        )));
    }
    serde_json::from_value(envelope.request).map_err(|e| {
        Output::failure(format!(
            "the server does not understand the request ({e}); \
             use the command line of the server's Latchkey release"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_unknown_and_foreign_version_requests_get_a_clear_refusal() {
        let bad = parse(b"not json").err().unwrap();
        assert!(bad.stderr.contains("can't read the request"), "{bad:?}");
        assert_eq!(bad.exit_code, 1);
        let newer = parse(br#"{"version":2,"request":{"command":"user-list"}}"#)
            .err()
            .unwrap();
        assert!(newer.stderr.contains("admin protocol 1"), "{newer:?}");
        let unknown = parse(br#"{"version":1,"request":{"command":"launch-rockets"}}"#)
            .err()
            .unwrap();
        assert!(
            unknown.stderr.contains("does not understand"),
            "{unknown:?}"
        );
        assert!(parse(br#"{"version":1,"request":{"command":"user-list"}}"#).is_ok());
    }

    #[tokio::test]
    async fn an_oversized_request_is_refused_without_being_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path(), Default::default()).unwrap();
        let commands = Commands::new(store, crate::accounts::PasswordHasher::new(1));
        let (mut client, server) = UnixStream::pair().unwrap();
        let uid = std::fs::metadata(dir.path()).unwrap().uid();
        let answering = tokio::spawn(answer(server, commands, uid));
        client
            .write_all(&vec![b'a'; MAX_REQUEST_BYTES + 10])
            .await
            .unwrap();
        let mut response = String::new();
        BufReader::new(client)
            .read_line(&mut response)
            .await
            .unwrap();
        answering.await.unwrap();
        let response: ResponseLine = serde_json::from_str(&response).unwrap();
        assert_eq!(response.output.exit_code, 1);
        assert!(
            response.output.stderr.contains("longer than 64 KiB"),
            "{:?}",
            response.output
        );
    }

    #[tokio::test]
    async fn a_process_of_another_user_gets_no_answer() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path(), Default::default()).unwrap();
        let commands = Commands::new(store, crate::accounts::PasswordHasher::new(1));
        let (mut client, server) = UnixStream::pair().unwrap();
        let ours = std::fs::metadata(dir.path()).unwrap().uid();
        let answering = tokio::spawn(answer(server, commands, ours.wrapping_add(1)));
        client
            .write_all(b"{\"version\":1,\"request\":{\"command\":\"user-list\"}}\n")
            .await
            .unwrap();
        answering.await.unwrap();
        let mut response = String::new();
        // Closed unread: an end of file or a reset, never an answer.
        let read = BufReader::new(client).read_line(&mut response).await;
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}: {response}");
        assert!(response.is_empty(), "{response}");
    }
}
