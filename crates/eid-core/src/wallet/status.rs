//! The status list of presentations, in the style of the IETF Token Status List: one bit per
//! index (1 = revoked), the bytes zlib-compressed and base64url-encoded in a JWT of type
//! `statuslist+jwt` signed with the provider's ES256 key, published at `/wallet/status`. A
//! verifier caches it and checks a credential's index without asking the server about it.
//!
//! Indices wrap around [`CAPACITY`]: a credential lives a minute, so a bit is set only by a
//! revoked credential that has not expired yet (with [`GRACE_SECONDS`] to spare), and the list
//! stays [`CAPACITY`] bits (128 KiB before compression, a few hundred bytes after).

use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::oidc::jose::{self, Alg, Jws};
use crate::oidc::keys::SigningKeys;
use crate::sql::{self, Val};
use crate::store::{to_ms, Store};
use crate::Error;

/// Bits in the list; a credential's index is its row number modulo this.
pub const CAPACITY: u64 = 1 << 20;
/// How long after its expiry a revoked credential still sets its bit.
pub const GRACE_SECONDS: i64 = 600;
/// How long a published list may be cached (`ttl`) and when it expires (`exp`).
pub const TTL_SECONDS: i64 = 300;
pub const LIST_EXP_SECONDS: i64 = 24 * 3600;
/// The JWT `typ` of the list.
pub const TYP: &str = "statuslist+jwt";
/// Where the list is published, under the issuer.
pub const PATH: &str = "/wallet/status";

/// A status list: bit `i` of byte `i / 8` (least significant first), 1 = revoked.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    pub bits: Vec<u8>,
}

impl std::fmt::Debug for StatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StatusList({} bytes)", self.bits.len())
    }
}

impl StatusList {
    pub fn empty() -> StatusList {
        StatusList {
            bits: vec![0u8; (CAPACITY / 8) as usize],
        }
    }

    pub fn set(&mut self, idx: u64) {
        if let Some(b) = self.bits.get_mut((idx / 8) as usize) {
            *b |= 1 << (idx % 8);
        }
    }

    /// Whether `idx` is revoked; an index outside the list is treated as revoked.
    pub fn revoked(&self, idx: u64) -> bool {
        self.bits
            .get((idx / 8) as usize)
            .is_none_or(|b| b & (1 << (idx % 8)) != 0)
    }

    /// zlib (RFC 1950) of the bytes.
    pub fn compress(&self) -> Vec<u8> {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
        let _ = z.write_all(&self.bits);
        z.finish().unwrap_or_default()
    }

    /// From zlib bytes (at most [`CAPACITY`] bits).
    pub fn decompress(z: &[u8]) -> Option<StatusList> {
        let mut bits = Vec::new();
        ZlibDecoder::new(z)
            .take(CAPACITY / 8 + 1)
            .read_to_end(&mut bits)
            .ok()?;
        (bits.len() as u64 <= CAPACITY / 8).then_some(StatusList { bits })
    }
}

/// The list as it is now: the bits of revoked credentials not long expired.
pub fn current(store: &dyn Store, now: OffsetDateTime) -> Result<StatusList, Error> {
    let since = to_ms(now) - GRACE_SECONDS * 1000;
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT status_idx FROM wallet_cred WHERE revoked_at IS NOT NULL AND expires_at > $1",
            &[since.into()],
        )
    })?;
    let mut list = StatusList::empty();
    for r in rows {
        let idx = r.first().cloned().unwrap_or(Val::Null).int()?;
        list.set(idx.unsigned_abs());
    }
    Ok(list)
}

/// The signed list to publish (ES256, typ `statuslist+jwt`).
pub fn token(
    store: &dyn Store,
    keys: &SigningKeys,
    issuer: &str,
    now: OffsetDateTime,
) -> Result<String, Error> {
    let list = current(store, now)?;
    let key = keys
        .get(Alg::Es256)
        .ok_or_else(|| Error::Store(crate::StoreError::Db("no ES256 signing key".into())))?;
    let t = now.unix_timestamp();
    let claims = json!({
        "sub": format!("{issuer}{PATH}"),
        "iat": t,
        "exp": t + LIST_EXP_SECONDS,
        "ttl": TTL_SECONDS,
        "status_list": { "bits": 1, "lst": jose::b64(&list.compress()) },
    });
    key.sign_jwt(TYP, &claims)
        .map_err(|e| Error::Store(crate::StoreError::Db(e)))
}

/// Why a published list is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListError {
    Malformed,
    BadSignature,
    Expired,
}

/// Reads and checks a published list with the JWKS: signature by a key of the set, type, expiry.
pub fn read_token(token: &str, jwks: &Value, now: OffsetDateTime) -> Result<StatusList, ListError> {
    let jws = Jws::parse(token.trim()).ok_or(ListError::Malformed)?;
    if jws.header.get("typ").and_then(Value::as_str) != Some(TYP) {
        return Err(ListError::Malformed);
    }
    let kid = jws.header.get("kid").and_then(Value::as_str);
    let key = jwks
        .get("keys")
        .and_then(Value::as_array)
        .and_then(|ks| {
            ks.iter()
                .find(|k| kid.is_some() && k.get("kid").and_then(Value::as_str) == kid)
        })
        .ok_or(ListError::BadSignature)?;
    if !jws.verify(key) {
        return Err(ListError::BadSignature);
    }
    let exp = jws.claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp <= now.unix_timestamp() {
        return Err(ListError::Expired);
    }
    let lst = jws
        .claims
        .pointer("/status_list/lst")
        .and_then(Value::as_str)
        .and_then(jose::unb64)
        .ok_or(ListError::Malformed)?;
    if jws
        .claims
        .pointer("/status_list/bits")
        .and_then(Value::as_u64)
        != Some(1)
    {
        return Err(ListError::Malformed);
    }
    StatusList::decompress(&lst).ok_or(ListError::Malformed)
}
