//! The signed application packet an intake device sends, and its verification.
//!
//! A device holds an Ed25519 key; its public half is registered with the device. The device
//! sends `{"packet": hex(bytes), "signature": hex(64 bytes)}` where `bytes` is a JSON document
//! (below). The signature covers exactly those bytes, so no canonical form is needed: the
//! server checks the signature over what it received, then parses. The SHA-256 of the bytes is
//! the packet's identity; the store refuses a hash it has seen (a replay).
//!
//! ```json
//! {"v": 1, "device": 7, "personal_id": "062090001234", "phone": "0912345678",
//!  "portrait_sha256": "…64 hex…",
//!  "match": {"method": "fingerprint", "against": "card", "result": "match", "score": 0.97},
//!  "officer": "cand.kontum.dakha", "collected_at": "2026-11-23T09:15:00+07:00",
//!  "nonce": "…32 hex…"}
//! ```

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use eid_domain::redact::{Hidden, Id, Phone};
use eid_domain::{PersonalId, PhoneNumber};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::secret::hex;

/// How the device compared the applicant with their records.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchResult {
    /// `fingerprint` or `portrait`.
    pub method: String,
    /// `card`, `register` or `immigration`.
    pub against: String,
    /// Whether the device found a match.
    pub matched: bool,
    pub score: Option<f64>,
}

/// A verified, parsed packet. Its `Debug` masks the applicant.
#[derive(Clone, PartialEq)]
pub struct Packet {
    pub device: i64,
    pub personal_id: PersonalId,
    pub phone: PhoneNumber,
    pub portrait_sha256: [u8; 32],
    pub matching: MatchResult,
    pub officer: String,
    pub collected_at: OffsetDateTime,
    pub nonce: String,
    /// SHA-256 of the signed bytes.
    pub hash: [u8; 32],
}

/// Why a packet is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketError {
    /// Not hex, or not the right length.
    Encoding(&'static str),
    /// The signature does not verify with the device's key.
    BadSignature,
    /// The signed bytes are not a packet; says which field.
    Field(String),
}

impl std::fmt::Display for PacketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PacketError::Encoding(what) => write!(f, "{what} is not valid hex of the right length"),
            PacketError::BadSignature => {
                f.write_str("the signature does not match the packet and the device's key")
            }
            PacketError::Field(why) => f.write_str(why),
        }
    }
}

/// Decodes lower- or upper-case hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Parses a device's public key from hex (32 bytes).
pub fn parse_public_key(hex_key: &str) -> Result<[u8; 32], PacketError> {
    let bytes = unhex(hex_key).ok_or(PacketError::Encoding("public key"))?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| PacketError::Encoding("public key"))?;
    VerifyingKey::from_bytes(&key).map_err(|_| PacketError::Encoding("public key"))?;
    Ok(key)
}

/// The device id named inside a packet, read before the signature is checked so that the right
/// key can be fetched. Nothing else in the packet is trusted before [`verify`].
pub fn claimed_device(packet_hex: &str) -> Result<i64, PacketError> {
    let bytes = unhex(packet_hex).ok_or(PacketError::Encoding("packet"))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| PacketError::Field("the packet is not JSON".into()))?;
    v.get("device")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| PacketError::Field("device: missing or not a number".into()))
}

/// Checks the signature over the packet's bytes with `public_key`, then parses the packet.
pub fn verify(
    packet_hex: &str,
    signature_hex: &str,
    public_key: &[u8; 32],
) -> Result<Packet, PacketError> {
    let bytes = unhex(packet_hex).ok_or(PacketError::Encoding("packet"))?;
    if bytes.len() > 16 * 1024 {
        return Err(PacketError::Field(
            "the packet is larger than 16 KiB".into(),
        ));
    }
    let sig: [u8; 64] = unhex(signature_hex)
        .and_then(|b| b.try_into().ok())
        .ok_or(PacketError::Encoding("signature"))?;
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| PacketError::BadSignature)?;
    key.verify_strict(&bytes, &Signature::from_bytes(&sig))
        .map_err(|_| PacketError::BadSignature)?;
    parse(&bytes)
}

fn field<'a>(v: &'a serde_json::Value, name: &str) -> Result<&'a serde_json::Value, PacketError> {
    v.get(name)
        .ok_or_else(|| PacketError::Field(format!("{name}: missing")))
}

fn text<'a>(v: &'a serde_json::Value, name: &str) -> Result<&'a str, PacketError> {
    field(v, name)?
        .as_str()
        .ok_or_else(|| PacketError::Field(format!("{name}: not text")))
}

fn parse(bytes: &[u8]) -> Result<Packet, PacketError> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| PacketError::Field("the packet is not JSON".into()))?;
    if field(&v, "v")?.as_i64() != Some(1) {
        return Err(PacketError::Field("v: only version 1 is known".into()));
    }
    let device = field(&v, "device")?
        .as_i64()
        .ok_or_else(|| PacketError::Field("device: not a number".into()))?;
    let personal_id = PersonalId::parse(text(&v, "personal_id")?)
        .map_err(|e| PacketError::Field(format!("personal_id: {e}")))?;
    let phone = PhoneNumber::parse(text(&v, "phone")?)
        .map_err(|e| PacketError::Field(format!("phone: {e}")))?;
    let portrait_sha256: [u8; 32] = unhex(text(&v, "portrait_sha256")?)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| PacketError::Field("portrait_sha256: not 64 hex digits".into()))?;
    let m = field(&v, "match")?;
    let method = text(m, "method")?;
    if !matches!(method, "fingerprint" | "portrait") {
        return Err(PacketError::Field(
            "match.method: must be fingerprint or portrait".into(),
        ));
    }
    let against = text(m, "against")?;
    if !matches!(against, "card" | "register" | "immigration") {
        return Err(PacketError::Field(
            "match.against: must be card, register or immigration".into(),
        ));
    }
    let matched = match text(m, "result")? {
        "match" => true,
        "no_match" => false,
        _ => {
            return Err(PacketError::Field(
                "match.result: must be match or no_match".into(),
            ))
        }
    };
    let score = match m.get("score") {
        None | Some(serde_json::Value::Null) => None,
        Some(s) => Some(
            s.as_f64()
                .filter(|f| (0.0..=1.0).contains(f))
                .ok_or_else(|| PacketError::Field("match.score: must be between 0 and 1".into()))?,
        ),
    };
    let officer = text(&v, "officer")?;
    if officer.is_empty() || officer.len() > 64 {
        return Err(PacketError::Field("officer: 1 to 64 characters".into()));
    }
    let collected_at = OffsetDateTime::parse(text(&v, "collected_at")?, &Rfc3339)
        .map_err(|_| PacketError::Field("collected_at: not an RFC 3339 time".into()))?;
    let nonce = text(&v, "nonce")?;
    if nonce.len() < 16 || nonce.len() > 64 || unhex(nonce).is_none() {
        return Err(PacketError::Field("nonce: 16 to 64 hex digits".into()));
    }
    Ok(Packet {
        device,
        personal_id,
        phone,
        portrait_sha256,
        matching: MatchResult {
            method: method.to_owned(),
            against: against.to_owned(),
            matched,
            score,
        },
        officer: officer.to_owned(),
        collected_at,
        nonce: nonce.to_owned(),
        hash: Sha256::digest(bytes).into(),
    })
}

/// What a device puts in a packet (the signing side, used by `eid client` and the tests).
/// Its `Debug` masks the applicant.
#[derive(Clone)]
pub struct PacketFields<'a> {
    pub device: i64,
    pub personal_id: &'a str,
    pub phone: &'a str,
    pub portrait_sha256: [u8; 32],
    pub method: &'a str,
    pub against: &'a str,
    pub matched: bool,
    pub score: f64,
    pub officer: &'a str,
    pub collected_at: OffsetDateTime,
    pub nonce: [u8; 16],
}

/// Builds and signs a packet: returns `(packet_hex, signature_hex)`.
pub fn sign(fields: &PacketFields<'_>, key: &SigningKey) -> Result<(String, String), String> {
    let at = fields
        .collected_at
        .format(&Rfc3339)
        .map_err(|e| format!("collected_at: {e}"))?;
    let doc = serde_json::json!({
        "v": 1,
        "device": fields.device,
        "personal_id": fields.personal_id,
        "phone": fields.phone,
        "portrait_sha256": hex(&fields.portrait_sha256),
        "match": {
            "method": fields.method,
            "against": fields.against,
            "result": if fields.matched { "match" } else { "no_match" },
            "score": fields.score,
        },
        "officer": fields.officer,
        "collected_at": at,
        "nonce": hex(&fields.nonce),
    });
    let bytes = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
    let sig = key.sign(&bytes);
    Ok((hex(&bytes), hex(&sig.to_bytes())))
}

/// A device key from a 32-byte seed (hex).
pub fn signing_key(seed_hex: &str) -> Result<SigningKey, PacketError> {
    let seed: [u8; 32] = unhex(seed_hex)
        .and_then(|b| b.try_into().ok())
        .ok_or(PacketError::Encoding("key seed"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// A new random device key: `(seed_hex, public_key_hex)`.
pub fn new_key() -> (String, String) {
    use rand::RngCore;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    (hex(&seed), hex(key.verifying_key().as_bytes()))
}

/// The public key (hex) of a signing key.
pub fn public_hex(key: &SigningKey) -> String {
    hex(key.verifying_key().as_bytes())
}

// Debug without personal data: the personal ID and phone masked, the portrait hash and the
// nonce left out.

impl std::fmt::Debug for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packet")
            .field("device", &self.device)
            .field("personal_id", &self.personal_id)
            .field("phone", &self.phone)
            .field("portrait_sha256", &Hidden)
            .field("matching", &self.matching)
            .field("officer", &self.officer)
            .field("collected_at", &self.collected_at)
            .field("nonce", &Hidden)
            .field("hash", &hex(&self.hash))
            .finish()
    }
}

impl std::fmt::Debug for PacketFields<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketFields")
            .field("device", &self.device)
            .field("personal_id", &Id(self.personal_id))
            .field("phone", &Phone(self.phone))
            .field("portrait_sha256", &Hidden)
            .field("method", &self.method)
            .field("against", &self.against)
            .field("matched", &self.matched)
            .field("score", &self.score)
            .field("officer", &self.officer)
            .field("collected_at", &self.collected_at)
            .field("nonce", &Hidden)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn fields(device: i64) -> PacketFields<'static> {
        PacketFields {
            device,
            personal_id: "062090001234",
            phone: "0912345678",
            portrait_sha256: [7; 32],
            method: "fingerprint",
            against: "card",
            matched: true,
            score: 0.97,
            officer: "officer1",
            collected_at: datetime!(2026-11-23 09:15 +07:00),
            nonce: [1; 16],
        }
    }

    #[test]
    fn a_signed_packet_verifies_and_parses() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let (packet, sig) = sign(&fields(7), &key).unwrap();
        assert_eq!(claimed_device(&packet), Ok(7));
        let p = verify(&packet, &sig, key.verifying_key().as_bytes()).unwrap();
        assert_eq!(p.device, 7);
        assert_eq!(p.personal_id.as_str(), "062090001234");
        assert_eq!(p.phone.as_str(), "+84912345678");
        assert!(p.matching.matched);
        assert_eq!(p.officer, "officer1");
        assert_eq!(
            p.hash,
            <[u8; 32]>::from(Sha256::digest(unhex(&packet).unwrap()))
        );
    }

    #[test]
    fn altered_bytes_or_another_key_fail_the_signature() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let other = SigningKey::from_bytes(&[4; 32]);
        let (packet, sig) = sign(&fields(7), &key).unwrap();
        let altered = packet.replacen(&hex(b"0912345678"), &hex(b"0912345679"), 1);
        assert_ne!(altered, packet);
        assert_eq!(
            verify(&altered, &sig, key.verifying_key().as_bytes()),
            Err(PacketError::BadSignature)
        );
        assert_eq!(
            verify(&packet, &sig, other.verifying_key().as_bytes()),
            Err(PacketError::BadSignature)
        );
        assert_eq!(
            verify("zz", &sig, key.verifying_key().as_bytes()),
            Err(PacketError::Encoding("packet"))
        );
    }

    #[test]
    fn a_signed_but_malformed_packet_names_the_field() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let mut f = fields(7);
        f.personal_id = "06209000123";
        let (packet, sig) = sign(&f, &key).unwrap();
        let err = verify(&packet, &sig, key.verifying_key().as_bytes()).unwrap_err();
        assert!(
            matches!(&err, PacketError::Field(m) if m.starts_with("personal_id:")),
            "{err:?}"
        );
    }

    #[test]
    fn keys_round_trip_through_hex() {
        let (seed, public) = new_key();
        let key = signing_key(&seed).unwrap();
        assert_eq!(public_hex(&key), public);
        assert!(parse_public_key(&public).is_ok());
        assert_eq!(
            parse_public_key("abcd"),
            Err(PacketError::Encoding("public key"))
        );
    }
}
