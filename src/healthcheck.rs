//! `latchkey healthcheck`: one `GET /healthz` to the configured listen
//! address, for a container's HEALTHCHECK. The runtime image has no shell
//! and no curl, and an HTTP client crate would be a lot of code for one
//! request line and one status line.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The longest status line read; anything longer is not our server.
const MAX_STATUS_LINE: usize = 1024;

/// Ok when the server at `listen` answers `/healthz` with 200 within `timeout`.
pub fn probe(listen: SocketAddr, timeout: Duration) -> Result<(), String> {
    let target = reachable(listen);
    let deadline = Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&target, timeout)
        .map_err(|e| format!("can't connect to {target}: {e}"))?;
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let io = |e: std::io::Error| format!("{target}: {e}");
    stream.set_write_timeout(Some(left())).map_err(io)?;
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {target}\r\nUser-Agent: latchkey-healthcheck\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut head = Vec::with_capacity(128);
    let mut chunk = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < MAX_STATUS_LINE {
        stream.set_read_timeout(Some(left())).map_err(io)?;
        match stream.read(&mut chunk).map_err(io)? {
            0 => break,
            n => head.extend_from_slice(&chunk[..n]),
        }
    }
    match status_of(&head) {
        Some(200) => Ok(()),
        Some(status) => Err(format!("{target} answered /healthz with {status}")),
        None => Err(format!("{target} did not answer /healthz over HTTP")),
    }
}

/// Where to connect for a listen address: a server listening on every
/// address (`0.0.0.0`, `[::]`, as in a container) is reached on loopback.
fn reachable(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// The status code of `HTTP/1.x NNN …`.
fn status_of(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let version = parts.next()?;
    let code = parts.next()?;
    (version.starts_with("HTTP/1.") && code.len() == 3)
        .then(|| code.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_on_every_address_is_reached_on_loopback() {
        let at = |s: &str| reachable(s.parse().unwrap()).to_string();
        assert_eq!(at("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(at("[::]:8080"), "[::1]:8080");
        assert_eq!(at("10.0.0.5:80"), "10.0.0.5:80");
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            status_of(b"HTTP/1.1 200 OK\r\ncontent-length: 2"),
            Some(200)
        );
        assert_eq!(
            status_of(b"HTTP/1.0 503 Service Unavailable\r\n"),
            Some(503)
        );
        for bad in [
            &b""[..],
            b"SSH-2.0-OpenSSH\r\n",
            b"HTTP/1.1 2000 OK\r\n",
            b"\x80\r\n",
        ] {
            assert_eq!(status_of(bad), None);
        }
    }
}
