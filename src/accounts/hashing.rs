//! argon2id password hashing on a fixed set of threads, bounded in CPU and
//! in memory.
//!
//! Parameters are OWASP's current first choice for argon2id: 19 MiB of
//! memory, 2 passes, 1 lane. Hashes run on `max_concurrent_hashes` threads of
//! our own (`latchkey-hash-N`), each owning one argon2 memory area that it
//! allocates on its first job and reuses for every later one. So hashing
//! memory is at most N × 19 MiB whatever the load: on tokio's blocking pool
//! every thread that ever hashed kept a 19 MiB block in its allocator arena,
//! and a burst of sign-ins left hundreds of MiB behind.
//!
//! Jobs reach the threads through a queue. A running job keeps its thread
//! until it is done, so the limit holds even when the requester hangs up; a
//! queued job whose requester has gone is skipped, not computed, so a stream
//! of abandoned sign-ins costs no CPU. The threads stop once the last handle
//! to the hasher is dropped and the queue is empty.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::{OnceCell, oneshot};

use super::AccountsError;

/// Memory cost in KiB (19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over memory.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;

/// Bytes of random salt in each new hash.
const SALT_BYTES: usize = 16;

/// Largest memory cost of a stored hash we agree to verify (1 GiB): only a
/// hash made with other parameters than ours costs a one-off allocation, and
/// an absurd one must not abort the process.
const MAX_FOREIGN_MEMORY_KIB: u32 = 1024 * 1024;

fn params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("constant argon2 parameters are valid")
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

fn hashing_error(e: impl ToString) -> AccountsError {
    AccountsError::Hashing(e.to_string())
}

/// One thread's argon2 memory: allocated on first use, then reused.
#[derive(Default)]
struct Memory(Vec<Block>);

impl Memory {
    /// The first `count` blocks, or `None` when more than our own parameters
    /// need (the caller then computes with a one-off allocation).
    fn blocks(&mut self, count: usize) -> Option<&mut [Block]> {
        if self.0.is_empty() {
            self.0 = vec![Block::default(); params().block_count()];
        }
        self.0.get_mut(..count)
    }
}

/// Hashes `password` with a fresh salt into a PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
fn hash_into(password: &str, memory: &mut Memory) -> Result<String, AccountsError> {
    let mut salt = [0u8; SALT_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
    let salt_text = SaltString::encode_b64(&salt).map_err(hashing_error)?;
    let hasher = argon2();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let blocks = memory
        .blocks(params().block_count())
        .ok_or_else(|| hashing_error("argon2 memory is too small"))?;
    hasher
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, blocks)
        .map_err(hashing_error)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params()).map_err(hashing_error)?,
        salt: Some(salt_text.as_salt()),
        hash: Some(Output::new(&out).map_err(hashing_error)?),
    };
    Ok(phc.to_string())
}

/// Recomputes the hash of `password` with the salt and parameters stored in
/// `phc` and compares in constant time. A malformed hash verifies nothing.
fn verify_into(password: &str, phc: &str, memory: &mut Memory) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(stored) = Params::try_from(&parsed) else {
        return false;
    };
    if stored.m_cost() > MAX_FOREIGN_MEMORY_KIB {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out_buf = [0u8; Output::MAX_LENGTH];
    let out = &mut out_buf[..expected.len()];
    let block_count = stored.block_count();
    let hasher = Argon2::new(algorithm, version, stored);
    let computed = match memory.blocks(block_count) {
        Some(blocks) => {
            hasher.hash_password_into_with_memory(password.as_bytes(), salt, out, blocks)
        }
        None => hasher.hash_password_into(password.as_bytes(), salt, out),
    };
    computed.is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
}

/// Hashes on the current thread; for callers already off the runtime (the
/// command line). Allocates its memory for this one hash.
pub fn hash_now(password: &str) -> Result<String, AccountsError> {
    hash_into(password, &mut Memory::default())
}

/// Verifies on the current thread. A malformed stored hash verifies nothing.
pub fn verify_now(password: &str, phc: &str) -> bool {
    verify_into(password, phc, &mut Memory::default())
}

/// What the hashing threads have done, for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingStats {
    /// Hashing threads started.
    pub workers: usize,
    /// Jobs handed to the threads.
    pub submitted: u64,
    /// Jobs computed.
    pub computed: u64,
    /// Jobs dropped unstarted because their requester had gone.
    pub skipped: u64,
    /// Hashes being computed now.
    pub running: usize,
    /// Most hashes ever computed at the same moment.
    pub peak_running: usize,
}

impl HashingStats {
    /// Every submitted job has been computed or skipped.
    pub fn is_idle(&self) -> bool {
        self.computed + self.skipped == self.submitted
    }
}

#[derive(Default)]
struct Counters {
    workers: AtomicUsize,
    submitted: AtomicU64,
    computed: AtomicU64,
    skipped: AtomicU64,
    running: AtomicUsize,
    peak_running: AtomicUsize,
}

enum Job {
    Hash {
        password: String,
        reply: oneshot::Sender<Result<String, AccountsError>>,
    },
    Verify {
        password: String,
        phc: String,
        reply: oneshot::Sender<bool>,
    },
}

impl Job {
    /// The requester stopped waiting (its request was dropped).
    fn abandoned(&self) -> bool {
        match self {
            Job::Hash { reply, .. } => reply.is_closed(),
            Job::Verify { reply, .. } => reply.is_closed(),
        }
    }

    fn run(self, memory: &mut Memory) {
        // A requester that left meanwhile simply misses the answer.
        match self {
            Job::Hash { password, reply } => {
                let _ = reply.send(hash_into(&password, memory));
            }
            Job::Verify {
                password,
                phc,
                reply,
            } => {
                let _ = reply.send(verify_into(&password, &phc, memory));
            }
        }
    }
}

/// One hashing thread: takes jobs until every sender is gone.
fn work(jobs: Arc<Mutex<mpsc::Receiver<Job>>>, counters: Arc<Counters>) {
    let mut memory = Memory::default();
    loop {
        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else {
            return;
        };
        if job.abandoned() {
            counters.skipped.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        let now = counters.running.fetch_add(1, Ordering::SeqCst) + 1;
        counters.peak_running.fetch_max(now, Ordering::SeqCst);
        // A panic costs this job (its requester sees an error), not the thread.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job.run(&mut memory)));
        counters.running.fetch_sub(1, Ordering::SeqCst);
        counters.computed.fetch_add(1, Ordering::SeqCst);
    }
}

/// Hashes and verifies passwords on the hashing threads. Clones share the
/// threads; the threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: Arc<mpsc::Sender<Job>>,
    counters: Arc<Counters>,
    /// Hash of a random password, verified against when an email is unknown so
    /// that the answer takes as long as for a wrong password.
    decoy: Arc<OnceCell<String>>,
}

impl PasswordHasher {
    /// Starts `max_concurrent` hashing threads (at least one).
    pub fn new(max_concurrent: usize) -> Self {
        let (sender, receiver) = mpsc::channel();
        let receiver = Arc::new(Mutex::new(receiver));
        let counters = Arc::new(Counters::default());
        for n in 0..max_concurrent.max(1) {
            let (jobs, thread_counters) = (receiver.clone(), counters.clone());
            match std::thread::Builder::new()
                .name(format!("latchkey-hash-{n}"))
                .spawn(move || work(jobs, thread_counters))
            {
                Ok(_) => {
                    counters.workers.fetch_add(1, Ordering::SeqCst);
                }
                // With no thread at all the queue is closed and every hash
                // fails with an error instead of waiting forever.
                Err(e) => tracing::warn!(error = %e, "could not start a hashing thread"),
            }
        }
        Self {
            jobs: Arc::new(sender),
            counters,
            decoy: Arc::new(OnceCell::new()),
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, AccountsError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password, reply })?;
        answer
            .await
            .map_err(|_| hashing_error("the hash was not computed"))?
    }

    /// Checks `password` against `phc`; with no hash (unknown user, or one who
    /// has never set a password) it checks a decoy and answers false.
    pub async fn verify(
        &self,
        password: String,
        phc: Option<String>,
    ) -> Result<bool, AccountsError> {
        let (phc, real) = match phc {
            Some(phc) => (phc, true),
            None => (self.decoy().await?, false),
        };
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            password,
            phc,
            reply,
        })?;
        let matches = answer
            .await
            .map_err(|_| hashing_error("the password was not checked"))?;
        Ok(matches && real)
    }

    /// Computes the decoy ahead of the first sign-in.
    pub async fn warm_up(&self) -> Result<(), AccountsError> {
        self.decoy().await.map(|_| ())
    }

    /// A snapshot of what the hashing threads have done.
    pub fn stats(&self) -> HashingStats {
        let c = &self.counters;
        // Finished counts first: read before `submitted`, they can never
        // make a busy hasher look idle.
        let computed = c.computed.load(Ordering::SeqCst);
        let skipped = c.skipped.load(Ordering::SeqCst);
        HashingStats {
            workers: c.workers.load(Ordering::SeqCst),
            submitted: c.submitted.load(Ordering::SeqCst),
            computed,
            skipped,
            running: c.running.load(Ordering::SeqCst),
            peak_running: c.peak_running.load(Ordering::SeqCst),
        }
    }

    fn submit(&self, job: Job) -> Result<(), AccountsError> {
        self.counters.submitted.fetch_add(1, Ordering::SeqCst);
        self.jobs.send(job).map_err(|_| {
            self.counters.submitted.fetch_sub(1, Ordering::SeqCst);
            hashing_error("no hashing thread is running")
        })
    }

    async fn decoy(&self) -> Result<String, AccountsError> {
        self.decoy
            .get_or_try_init(|| async {
                let random = crate::domain::Token::generate().as_text();
                self.hash(random).await
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    #[tokio::test]
    async fn hashes_verify_and_decoys_never_match() {
        let hasher = PasswordHasher::new(2);
        let phc = hasher
            .hash("correct horse battery staple".into())
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify("correct horse battery staple".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("wrong".into(), Some(phc)).await.unwrap());
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
        assert!(!verify_now("x", "not a hash"));
    }

    /// Hashes stored before the hashing threads (made by argon2's own
    /// `hash_password`) still verify, and ours verify with argon2's verifier.
    #[test]
    fn stored_hashes_and_new_ones_are_the_same_format() {
        let salt = SaltString::encode_b64(&[7u8; SALT_BYTES]).unwrap();
        let old = argon2()
            .hash_password(b"amber kettle horizon 1987", &salt)
            .unwrap()
            .to_string();
        assert!(verify_now("amber kettle horizon 1987", &old));
        assert!(!verify_now("amber kettle horizon 1988", &old));

        let new = hash_now("amber kettle horizon 1987").unwrap();
        let parsed = PasswordHash::new(&new).unwrap();
        assert!(
            argon2()
                .verify_password(b"amber kettle horizon 1987", &parsed)
                .is_ok()
        );
        assert_eq!(new.len(), old.len());
    }

    /// A hash made with other parameters verifies (in a one-off computation
    /// when it needs more memory than ours); a truncated one verifies nothing.
    #[test]
    fn other_parameters_verify_and_malformed_hashes_do_not() {
        let salt = SaltString::encode_b64(&[9u8; SALT_BYTES]).unwrap();
        for (m, t, p) in [(8 * 1024, 3, 2), (32 * 1024, 1, 1)] {
            let other = Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(m, t, p, None).unwrap(),
            );
            let phc = other.hash_password(b"pass", &salt).unwrap().to_string();
            assert!(verify_now("pass", &phc), "{phc}");
            assert!(!verify_now("pasS", &phc), "{phc}");
            assert!(!verify_now("pass", &phc[..phc.len() - 4]), "{phc}");
        }
        let huge = "$argon2id$v=19$m=4294967295,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$\
                    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!verify_now("pass", huge));
    }

    #[tokio::test]
    async fn a_job_whose_requester_left_is_skipped() {
        let hasher = PasswordHasher::new(1);
        // Occupies the only thread while the next job waits in the queue.
        let busy = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.hash("first".into()).await }
        });
        while hasher.stats().running == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let abandoned = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.hash("second".into()).await }
        });
        while hasher.stats().submitted < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        abandoned.abort();
        let _ = abandoned.await;
        busy.await.unwrap().unwrap();
        while !hasher.stats().is_idle() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let stats = hasher.stats();
        assert_eq!((stats.computed, stats.skipped), (1, 1), "{stats:?}");
        assert_eq!((stats.workers, stats.peak_running), (1, 1), "{stats:?}");
    }
}
