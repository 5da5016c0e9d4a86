//! The command line's end of the admin socket: send one request, read one
//! answer.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::AdminError;
use super::protocol::{Output, PROTOCOL_VERSION, Request, RequestLine, ResponseLine};

/// Long enough for a hash queued behind a burst of sign-ins; short enough
/// that a wedged server doesn't hang a script forever.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// A listing of many users is long, but not this long.
const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;

pub(super) async fn send(socket: &Path, request: Request) -> Result<Output, AdminError> {
    let talking = |source| AdminError::Talking {
        socket: socket.to_owned(),
        source,
    };
    let mut line = serde_json::to_vec(&RequestLine {
        version: PROTOCOL_VERSION,
        request,
    })
    .map_err(|e| AdminError::Answer(e.to_string()))?;
    line.push(b'\n');
    let exchange = async {
        let mut stream = UnixStream::connect(socket).await?;
        stream.write_all(&line).await?;
        let mut answer = String::new();
        BufReader::new(stream)
            .take(MAX_ANSWER_BYTES)
            .read_line(&mut answer)
            .await?;
        std::io::Result::Ok(answer)
    };
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, exchange)
        .await
        .map_err(|_| AdminError::Answer("no answer in time".into()))?
        .map_err(talking)?;
    if answer.is_empty() {
        return Err(AdminError::Answer(
            "the server closed the connection without answering".into(),
        ));
    }
    let response: ResponseLine =
        serde_json::from_str(&answer).map_err(|e| AdminError::Answer(e.to_string()))?;
    if response.version != PROTOCOL_VERSION {
        return Err(AdminError::Answer(format!(
            "the server speaks admin protocol {}, this command line {PROTOCOL_VERSION}",
            response.version
        )));
    }
    Ok(response.output)
}
