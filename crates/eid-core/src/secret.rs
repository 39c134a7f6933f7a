//! Credentials: password hashing with Argon2id, random tokens, and their stored hashes.
//!
//! Passwords are hashed with Argon2id (m = 19 MiB, t = 2, p = 1, the OWASP baseline) into PHC
//! strings. Session cookies and API tokens are 32 random bytes shown once to their holder; the
//! store keeps only their SHA-256, so a copy of the database grants nothing. Verification of an
//! unknown user costs the same as a wrong password ([`verify_password`] with `None`).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
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
    argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && real
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
