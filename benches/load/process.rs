//! The servers under test as separate processes, what `/proc` says about
//! them, and the raw argon2id rate of this machine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use latchkey::accounts::hashing;

/// A server process; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks it to stop as `docker stop` would, and waits: the data file is
    /// then closed cleanly, as the next cold start expects.
    pub fn stop(mut self) {
        terminate(&mut self.child);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

fn terminate(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A free port on loopback (free now; the server binds it a moment later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Writes the server's configuration: defaults but for where it listens and
/// keeps its data.
pub fn write_config(dir: &Path, data_dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
             [storage]\ndata_dir = \"{}\"\n[log]\nlevel = \"warn\"\n",
            data_dir.display()
        ),
    )
    .expect("config");
    path
}

/// Starts the release server and times it from the start of the process to
/// the first 200 on `/healthz`.
pub fn start_latchkey(config: &Path, port: u16, log: &Path) -> (Server, Duration) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    // Only our file configures the server: LATCHKEY_* variables (this
    // suite's included) would be read as configuration overrides.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LATCHKEY_") {
            command.env_remove(name);
        }
    }
    let log = std::fs::File::create(log).expect("log file");
    command
        .env_remove("RUST_LOG")
        .arg("--config")
        .arg(config)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    let child = command.spawn().expect("start the release server");
    let mut server = Server { child, addr };
    loop {
        if healthz_ok(addr) {
            return (server, started.elapsed());
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("the server stopped at start ({status}); see its log");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no answer on /healthz"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Starts this very binary as the baseline server (see `baseline`).
pub fn start_baseline() -> Server {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .arg(super::BASELINE_FLAG)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("baseline server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("baseline address");
    let addr = line.trim().parse().expect("baseline address");
    Server { child, addr }
}

/// One `GET /healthz` on a fresh connection: true on a 200.
fn healthz_ok(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_nodelay(true);
    if stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && &head[9..12] == b"200"
}

/// A field of `/proc/PID/status` in MiB (`VmRSS`, `VmHWM`).
pub fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .expect("field in status");
    kib / 1024.0
}

/// CPU time (user + system) process `pid` has used.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which ends with the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Bytes process `pid` has had written to storage (`/proc/PID/io`).
pub fn written_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// What `threads` threads reach with the server's argon2id parameters,
/// each reusing one memory area as the server's hashing threads do.
pub fn raw_hash_rate(threads: usize, run_for: Duration) -> f64 {
    let params = Params::new(
        hashing::MEMORY_KIB,
        hashing::ITERATIONS,
        hashing::PARALLELISM,
        None,
    )
    .expect("params");
    let start = Instant::now();
    let hashes: u32 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let params = params.clone();
                scope.spawn(move || {
                    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                    let mut memory = vec![Block::default(); params.block_count()];
                    let mut out = [0u8; 32];
                    let mut n = 0;
                    while start.elapsed() < run_for {
                        argon2
                            .hash_password_into_with_memory(
                                super::seed::PASSWORD.as_bytes(),
                                b"sixteen byte salt",
                                &mut out,
                                &mut memory,
                            )
                            .expect("hash");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("thread")).sum()
    });
    f64::from(hashes) / start.elapsed().as_secs_f64()
}

/// "Intel(R) Xeon(R) Processor, 2 cores, 23.5 GiB, Linux 6.1"
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores, {memory:.1} GiB, Linux {}",
        kernel.trim()
    )
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}
