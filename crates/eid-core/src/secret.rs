//! Credentials: password hashing with Argon2id, random tokens, and their stored hashes.
//!
//! Passwords are hashed with Argon2id (m = 19 MiB, t = 2, p = 1, the OWASP baseline) into PHC
//! strings. Session cookies and API tokens are 32 random bytes shown once to their holder; the
//! store keeps only their SHA-256, so a copy of the database grants nothing. Verification of an
//! unknown user costs the same as a wrong password ([`verify_password`] with `None`).

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Argon2id with the parameters every secret in eid uses.
pub fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string. Slow on purpose: call it off the async runtime.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// A PHC hash of a random password, verified against when the user does not exist so that an
/// unknown user costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// Checks a password against a stored hash; with `None` it does the same work and fails.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (dummy_hash(), false),
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    verify_phc(password.as_bytes(), &parsed) && real
}

/// Working memories kept between checks, at most: one per hashing thread of the server (one per
/// core) and a few for the other threads that check secrets.
const MEMORIES_KEPT: usize = 8;
/// A check whose stored parameters ask for more memory than this (in 1 KiB blocks) gets it for
/// itself and gives it back to the system afterwards.
const MEMORY_KEPT_BLOCKS: usize = 64 * 1024;

/// Argon2's working memories (19 MiB each with eid's parameters), kept between checks. Taking a
/// new one for every check, as `PasswordVerifier` does, zeroes it and makes the kernel fault in
/// and clear every page again: on the server's hashing threads that was about a tenth of a
/// sign-in's CPU (`perf`, `bench/oidc-token.sh`). Argon2 writes each block before reading it,
/// so a reused memory needs no clearing.
static MEMORIES: std::sync::Mutex<Vec<Vec<Block>>> = std::sync::Mutex::new(Vec::new());

fn take_memory(blocks: usize) -> Vec<Block> {
    let kept = MEMORIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop();
    let mut memory = kept.unwrap_or_default();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    memory
}

fn give_back(memory: Vec<Block>) {
    if memory.len() > MEMORY_KEPT_BLOCKS {
        return;
    }
    let mut kept = MEMORIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if kept.len() < MEMORIES_KEPT {
        kept.push(memory);
    }
}

/// Verifies a password against a parsed PHC string with the algorithm, version and parameters
/// it names, in a kept working memory; the outputs are compared in constant time.
fn verify_phc(password: &[u8], parsed: &PasswordHash<'_>) -> bool {
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    let mut memory = take_memory(blocks);
    let mut out = vec![0u8; expected.len()];
    let done = match memory.get_mut(..blocks) {
        Some(m) => Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password, salt, &mut out, m)
            .is_ok(),
        None => false,
    };
    give_back(memory);
    done && constant_time_eq(&out, expected.as_bytes())
}

/// The password policy for staff: at least 12 characters, not all of one class.
pub fn check_password_policy(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < 12 {
        return Err("password must have at least 12 characters");
    }
    if n > 256 {
        return Err("password must have at most 256 characters");
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|&&b| b).count() < 3 {
        return Err("password must mix at least three of: lower case, upper case, digits, symbols");
    }
    Ok(())
}

/// 32 random bytes from the OS, hex-encoded: a session cookie, an API token, a CSRF token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// A readable random password for printed demo credentials (meets the policy).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 14];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let body: String = bytes
        .iter()
        .map(|b| {
            ALPHABET
                .get(usize::from(*b) % ALPHABET.len())
                .map_or('x', |&c| char::from(c))
        })
        .collect();
    format!("{body}-7Ab")
}

/// SHA-256 of a token, the form the store keeps.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Compares two secrets in constant time.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let h = hash_password("correct horse 1A").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse 1A", Some(&h)));
        assert!(!verify_password("correct horse 1a", Some(&h)));
        assert!(!verify_password("correct horse 1A", None));
        assert!(!verify_password("x", Some("not a phc string")));
    }

    #[test]
    fn a_kept_memory_gives_the_answers_of_a_fresh_one() {
        use argon2::password_hash::PasswordVerifier;
        // Hashes with other parameters than eid's (smaller and larger memories, more passes)
        // check as argon2's own verifier checks them, whichever memory is taken from the kept
        // ones, and one kept memory serves checks one after the other.
        let salt = SaltString::generate(&mut OsRng);
        let mut phcs = vec![hash_password("correct horse 1A").unwrap()];
        for (m, t) in [(8 * 1024, 3), (24 * 1024, 1), (19 * 1024, 2)] {
            let a = Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(m, t, 1, None).unwrap(),
            );
            phcs.push(
                a.hash_password(b"correct horse 1A", &salt)
                    .unwrap()
                    .to_string(),
            );
        }
        for _ in 0..2 {
            for phc in &phcs {
                let parsed = PasswordHash::new(phc).unwrap();
                for (pw, right) in [("correct horse 1A", true), ("correct horse 1B", false)] {
                    let theirs = argon2().verify_password(pw.as_bytes(), &parsed).is_ok();
                    assert_eq!(theirs, right, "{phc}");
                    assert_eq!(verify_password(pw, Some(phc)), right, "{phc} {pw}");
                }
            }
        }
        let kept = MEMORIES.lock().unwrap();
        assert!(!kept.is_empty() && kept.len() <= MEMORIES_KEPT);
        drop(kept);
        // A stored hash that is altered fails, and one asking for more memory than is kept
        // still verifies (its memory is not kept).
        let (head, output) = phcs[0].rsplit_once('$').unwrap();
        let first = if output.starts_with('A') { 'B' } else { 'A' };
        let altered = format!("{head}${first}{}", &output[1..]);
        assert!(!verify_password("correct horse 1A", Some(&altered)));
        let big = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(65 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse 1A", &salt)
        .unwrap()
        .to_string();
        assert!(verify_password("correct horse 1A", Some(&big)));
        assert!(MEMORIES
            .lock()
            .unwrap()
            .iter()
            .all(|m| m.len() <= MEMORY_KEPT_BLOCKS));
    }

    #[test]
    fn the_policy_names_what_is_missing() {
        assert_eq!(
            check_password_policy("short1A!"),
            Err("password must have at least 12 characters")
        );
        assert!(check_password_policy("alllowercaseletters").is_err());
        assert!(check_password_policy("Lower and Upper 12").is_ok());
        assert!(check_password_policy(&random_password()).is_ok());
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a).len(), 32);
        assert!(constant_time_eq(&token_hash(&a), &token_hash(&a)));
        assert!(!constant_time_eq(&token_hash(&a), &token_hash(&b)));
    }
}
