//! What the face check and its development stand-in share: the photo's SHA-256 (its address in
//! content-addressed storage) and the development portrait. The verifiers themselves are adapters
//! in `eid-web` (`verifier`); the demo and `eid client` use the portrait to play a citizen.

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes` (also the address of a content-addressed photo).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The reference portrait of a person in development: the bytes
/// `eid-dev-portrait:<personal_id>`. The demo client and the tests send it as the photo; only the
/// development verifier, which runs in development mode, accepts it.
pub fn dev_portrait(personal_id: &str) -> Vec<u8> {
    format!("eid-dev-portrait:{personal_id}").into_bytes()
}
