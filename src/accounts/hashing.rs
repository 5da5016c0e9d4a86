//! argon2id password hashing, off the async runtime and bounded.
//!
//! Parameters are OWASP's current first choice for argon2id: 19 MiB of
//! memory, 2 passes, 1 lane. Each hash runs on the blocking pool behind a
//! semaphore, so a burst of sign-ins queues for hashing instead of starving
//! every other request of threads and memory.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};

use super::AccountsError;

/// Memory cost in KiB (19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over memory.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Hash of a random password, verified against when an email is unknown so
    /// that the answer takes as long as for a wrong password.
    decoy: Arc<OnceCell<String>>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on the current thread; for callers already off the runtime.
pub fn hash_now(password: &str) -> Result<String, AccountsError> {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| AccountsError::Hashing(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountsError::Hashing(e.to_string()))
}

/// Verifies on the current thread. A malformed stored hash verifies nothing.
pub fn verify_now(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            decoy: Arc::new(OnceCell::new()),
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, AccountsError> {
        self.run(move || hash_now(&password)).await?
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
        let matches = self.run(move || verify_now(&password, &phc)).await?;
        Ok(matches && real)
    }

    /// Computes the decoy ahead of the first sign-in.
    pub async fn warm_up(&self) -> Result<(), AccountsError> {
        self.decoy().await.map(|_| ())
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

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountsError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AccountsError::Hashing(e.to_string()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| AccountsError::Hashing(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
