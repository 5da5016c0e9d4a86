//! The load generator: HTTP/1.1 over keep-alive connections, written for
//! low cost per request (pre-built request bytes, one buffer per
//! connection, no header maps), since it shares the machine with the
//! server it measures. And `wrk`, when installed, for the throughput runs.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A request, ready to write: `GET` or a form `POST`.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: latchkey-bench\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if method == "POST" {
        out.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// One keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Where the last response's head ends and its body begins and ends.
    head_end: usize,
    body: (usize, usize),
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(64 * 1024),
            head_end: 0,
            body: (0, 0),
        })
    }

    /// Sends `request` and reads the whole answer; returns its status.
    pub async fn send(&mut self, request: &[u8]) -> std::io::Result<u16> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        self.head_end = head_end;
        let head = &self.buf[..head_end];
        let status = head
            .get(9..12)
            .and_then(|s| std::str::from_utf8(s).ok()?.parse().ok())
            .ok_or_else(|| bad("no status line"))?;
        if let Some(length) = header(head, "content-length") {
            let length: usize = length.parse().map_err(|_| bad("content-length"))?;
            while self.buf.len() < head_end + length {
                self.fill().await?;
            }
            self.body = (head_end, head_end + length);
        } else if header(head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            self.read_chunked().await?;
        } else {
            return Err(bad("a response without a length"));
        }
        Ok(status)
    }

    /// The last response's head (status line and headers).
    pub fn head(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.head_end]).unwrap_or("")
    }

    /// The last response's body.
    pub fn body(&self) -> &str {
        std::str::from_utf8(&self.buf[self.body.0..self.body.1]).unwrap_or("")
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let len = self.buf.len();
        if self.buf.capacity() - len < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        self.buf.resize(self.buf.capacity(), 0);
        let n = self.stream.read(&mut self.buf[len..]).await;
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(len);
                return Err(e);
            }
        };
        self.buf.truncate(len + n);
        if n == 0 {
            return Err(bad("connection closed"));
        }
        Ok(())
    }

    /// Decodes a chunked body in place, after the head.
    async fn read_chunked(&mut self) -> std::io::Result<()> {
        let mut at = self.head_end;
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf[at..], b"\r\n") {
                    break at + i;
                }
                self.fill().await?;
            };
            let size_text =
                std::str::from_utf8(&self.buf[at..line_end]).map_err(|_| bad("chunk"))?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad("chunk size"))?;
            at = line_end + 2;
            while self.buf.len() < at + size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.buf[at..at + size]);
            at += size + 2;
            if size == 0 {
                break;
            }
        }
        self.buf.truncate(self.head_end);
        self.buf.extend_from_slice(&body);
        self.body = (self.head_end, self.buf.len());
        Ok(())
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A header's value in a response head (names compared without case).
pub fn header<'a>(head: &'a [u8], name: &str) -> Option<&'a str> {
    std::str::from_utf8(head)
        .ok()?
        .split("\r\n")
        .find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
}

/// What a load run saw.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Latency of every answered request, in microseconds.
    pub micros: Vec<u32>,
    /// Answers with the expected status.
    pub ok: u64,
    /// Any other answer, and connection errors.
    pub bad: u64,
    pub elapsed: Duration,
    /// p50 and p99 in ms as another tool reported them, when there are no
    /// samples.
    pub reported: Option<(f64, f64)>,
}

impl Outcome {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` quantile of latency in milliseconds (`q` in 0..=1).
    pub fn quantile_ms(&mut self, q: f64) -> f64 {
        if let Some((p50, p99)) = self.reported {
            return if q <= 0.5 { p50 } else { p99 };
        }
        if self.micros.is_empty() {
            return f64::NAN;
        }
        self.micros.sort_unstable();
        let i = ((self.micros.len() - 1) as f64 * q).round() as usize;
        f64::from(self.micros[i]) / 1e3
    }

    fn merge(&mut self, other: Outcome) {
        self.micros.extend(other.micros);
        self.ok += other.ok;
        self.bad += other.bad;
    }
}

/// Keeps `requests.len()` connections busy for `run_for`: each sends its
/// requests in turn, the next as soon as an answer is in (closed loop).
/// `expect` is the status every answer should have.
pub async fn closed_loop(
    addr: SocketAddr,
    requests: Vec<Vec<Vec<u8>>>,
    run_for: Duration,
    expect: u16,
) -> Outcome {
    let start = Instant::now();
    let deadline = start + run_for;
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|mine| {
            tokio::task::spawn_local(async move {
                let mut out = Outcome::default();
                let mut conn = match Conn::open(addr).await {
                    Ok(conn) => conn,
                    Err(_) => {
                        out.bad += 1;
                        return out;
                    }
                };
                let mut i = 0;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match conn.send(&mine[i % mine.len()]).await {
                        Ok(status) if status == expect => {
                            out.ok += 1;
                            out.micros.push(sent.elapsed().as_micros() as u32);
                        }
                        Ok(_) => out.bad += 1,
                        Err(_) => {
                            out.bad += 1;
                            match Conn::open(addr).await {
                                Ok(fresh) => conn = fresh,
                                Err(_) => return out,
                            }
                        }
                    }
                    i += 1;
                }
                out
            })
        })
        .collect();
    let mut total = Outcome::default();
    for task in tasks {
        total.merge(task.await.expect("load task"));
    }
    total.elapsed = start.elapsed();
    total
}

/// Sends `request` every `every` on one connection until `stop` says so
/// (an open loop, for latency under someone else's load).
pub async fn probe(
    addr: SocketAddr,
    request: Vec<u8>,
    every: Duration,
    expect: u16,
    stop: impl Fn() -> bool,
) -> Outcome {
    let start = Instant::now();
    let mut out = Outcome::default();
    let mut conn = Conn::open(addr).await.expect("probe connection");
    while !stop() {
        let sent = Instant::now();
        match conn.send(&request).await {
            Ok(status) if status == expect => {
                out.ok += 1;
                out.micros.push(sent.elapsed().as_micros() as u32);
            }
            _ => out.bad += 1,
        }
        tokio::time::sleep(every).await;
    }
    out.elapsed = start.elapsed();
    out
}

/// `wrk`, if it is on the PATH.
pub fn wrk_available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok_and(|o| !o.stdout.is_empty() || !o.stderr.is_empty())
}

/// Runs wrk on one URL with extra headers; returns requests/s, p50 and p99
/// in ms, and how many answers were not 2xx or 3xx.
pub fn wrk(
    url: &str,
    headers: &[(&str, &str)],
    connections: usize,
    threads: usize,
    run_for: Duration,
) -> (f64, f64, f64, u64) {
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", run_for.as_secs().max(1)))
        .arg("--latency");
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    let output = command.arg(url).output().expect("wrk runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("wrk said:\n{text}"));
    let percentile = |p: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(p).map(str::trim))
            .map_or(f64::NAN, wrk_duration_ms)
    };
    let failed = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (rps, percentile("50%"), percentile("99%"), failed)
}

/// `812.00us`, `1.23ms`, `2.01s` in milliseconds.
fn wrk_duration_ms(text: &str) -> f64 {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => number / 1e3,
        "ms" => number,
        "s" => number * 1e3,
        "m" => number * 60e3,
        _ => f64::NAN,
    }
}
