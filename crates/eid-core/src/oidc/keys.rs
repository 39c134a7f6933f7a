//! The provider's signing keys: generated per algorithm (ES256, RS256, EdDSA), kept with their
//! private halves sealed under the key-encryption key (AES-256-GCM, the key id as associated
//! data), and rotated `next → current → previous → retired`. The JWKS publishes next, current and
//! previous, so a relying party that cached the JWKS before a rotation already knows the new key,
//! and tokens signed just before it still verify after it.
//!
//! RSA keys are generated with the `rsa` crate (ring cannot generate them) at rotation time only;
//! every signature is ring's.

use std::io::Write;
use std::path::Path;

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::jose::{self, Alg, SigningKey};
use crate::sql::{self, Val};
use crate::{Actor, Error, Store, StoreError};

/// The 32-byte key-encryption key of `[oidc] key_file`.
pub struct Kek([u8; 32]);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(…)")
    }
}

impl Kek {
    pub fn from_bytes(bytes: &[u8]) -> Option<Kek> {
        <[u8; 32]>::try_from(bytes).ok().map(Kek)
    }

    /// A fresh random key (tests).
    pub fn random() -> Kek {
        let mut k = [0u8; 32];
        let _ = SystemRandom::new().fill(&mut k);
        Kek(k)
    }

    /// Reads the key file, or creates it with 32 random bytes (mode 0600) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Kek, String> {
        match std::fs::read(path) {
            Ok(bytes) => Kek::from_bytes(&bytes).ok_or_else(|| {
                format!(
                    "{}: a key-encryption key is 32 bytes, this file has {}",
                    path.display(),
                    bytes.len()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut k = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut k)
                    .map_err(|_| "no randomness".to_owned())?;
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts
                    .open(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                f.write_all(&k)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(Kek(k))
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    fn key(&self) -> Result<LessSafeKey, Error> {
        UnboundKey::new(&aead::AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| Error::Store(StoreError::Db("bad key-encryption key".into())))
    }

    /// nonce ‖ ciphertext ‖ tag.
    fn seal(&self, kid: &str, plain: &[u8]) -> Result<Vec<u8>, Error> {
        let mut nonce = [0u8; 12];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| Error::Store(StoreError::Db("no randomness".into())))?;
        let mut buf = plain.to_vec();
        self.key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut buf,
            )
            .map_err(|_| Error::Store(StoreError::Db("sealing failed".into())))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, Error> {
        let bad = || {
            Error::Store(StoreError::Corrupt(
                "a signing key does not open with this key-encryption key".into(),
            ))
        };
        let (nonce, body) = (
            sealed.get(..12).ok_or_else(bad)?,
            sealed.get(12..).ok_or_else(bad)?,
        );
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let mut buf = body.to_vec();
        let plain = self
            .key()?
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buf)
            .map_err(|_| bad())?;
        Ok(plain.to_vec())
    }
}

/// The hour a sealed token's key belongs to (its key is derived per hour, so that no key seals
/// more than an hour's tokens: far below AES-GCM's bound for random nonces).
fn token_hour(now: OffsetDateTime) -> u32 {
    u32::try_from(now.unix_timestamp().div_euclid(3600)).unwrap_or(0)
}

impl Kek {
    /// The AES-256-GCM key of `purpose` for `hour`: HMAC-SHA-256 of both under the KEK.
    fn token_key(&self, purpose: &str, hour: u32) -> Result<LessSafeKey, Error> {
        let mac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        let tag = ring::hmac::sign(&mac, format!("eid-token:{purpose}:{hour}").as_bytes());
        UnboundKey::new(&aead::AES_256_GCM, tag.as_ref())
            .map(LessSafeKey::new)
            .map_err(|_| Error::Store(StoreError::Db("bad token key".into())))
    }

    /// Seals `plain` into a URL-safe token that only this provider opens, for `purpose` (the
    /// associated data: a token of one purpose never opens as another): base64url of the hour,
    /// a random nonce, the ciphertext and its tag. What a token says is private to the provider
    /// (a code carries the person it is for through the browser).
    pub fn seal_token(
        &self,
        purpose: &str,
        plain: &[u8],
        now: OffsetDateTime,
    ) -> Result<String, Error> {
        let hour = token_hour(now);
        let mut nonce = [0u8; 12];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| Error::Store(StoreError::Db("no randomness".into())))?;
        let mut buf = plain.to_vec();
        self.token_key(purpose, hour)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut buf,
            )
            .map_err(|_| Error::Store(StoreError::Db("sealing failed".into())))?;
        let mut out = hour.to_be_bytes().to_vec();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(jose::b64(&out))
    }

    /// Opens a token of [`Kek::seal_token`] for `purpose`, sealed within the last `max_hours`
    /// hours; `None` for anything else (tampered, another purpose, another KEK, too old).
    pub fn open_token(
        &self,
        purpose: &str,
        token: &str,
        max_hours: u32,
        now: OffsetDateTime,
    ) -> Option<Vec<u8>> {
        if token.len() > 8192 {
            return None;
        }
        let raw = jose::unb64(token)?;
        let hour = u32::from_be_bytes(raw.get(..4)?.try_into().ok()?);
        let current = token_hour(now);
        if hour > current || current - hour > max_hours {
            return None;
        }
        let nonce = Nonce::try_assume_unique_for_key(raw.get(4..16)?).ok()?;
        let mut buf = raw.get(16..)?.to_vec();
        let plain = self
            .token_key(purpose, hour)
            .ok()?
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut buf)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Current,
    Previous,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Current => "current",
            KeyState::Previous => "previous",
            KeyState::Retired => "retired",
        }
    }
    fn parse(s: &str) -> Result<KeyState, StoreError> {
        Ok(match s {
            "next" => KeyState::Next,
            "current" => KeyState::Current,
            "previous" => KeyState::Previous,
            "retired" => KeyState::Retired,
            other => return Err(StoreError::Corrupt(format!("unknown key state {other:?}"))),
        })
    }
}

/// A key as listed (no private half).
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: Alg,
    pub state: KeyState,
    pub created_at: OffsetDateTime,
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_ms(n: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(n) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A new key pair: (PKCS#8 DER, public JWK without kid).
fn new_pair(alg: Alg) -> Result<(Vec<u8>, Value), Error> {
    let fail = |what: &str| Error::Store(StoreError::Db(format!("key generation failed: {what}")));
    let rng = SystemRandom::new();
    match alg {
        Alg::Es256 => {
            let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| fail("P-256"))?;
            let key = SigningKey::from_pkcs8("", alg, der.as_ref()).map_err(|e| fail(&e))?;
            let jwk = key.public_jwk().ok_or_else(|| fail("P-256 JWK"))?;
            Ok((der.as_ref().to_vec(), jwk))
        }
        Alg::EdDsa => {
            let der = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| fail("Ed25519"))?;
            let key = SigningKey::from_pkcs8("", alg, der.as_ref()).map_err(|e| fail(&e))?;
            let jwk = key.public_jwk().ok_or_else(|| fail("Ed25519 JWK"))?;
            Ok((der.as_ref().to_vec(), jwk))
        }
        Alg::Rs256 => {
            use rsa::pkcs8::EncodePrivateKey;
            use rsa::traits::PublicKeyParts;
            let key =
                rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|_| fail("RSA"))?;
            let der = key.to_pkcs8_der().map_err(|_| fail("RSA PKCS#8"))?;
            let jwk = json!({
                "kty": "RSA",
                "n": jose::b64(&key.n().to_bytes_be()),
                "e": jose::b64(&key.e().to_bytes_be()),
            });
            Ok((der.as_bytes().to_vec(), jwk))
        }
    }
}

/// Generates one key of `alg` in `state`, sealed; returns (kid, sealed, public JWK with kid).
fn generate(kek: &Kek, alg: Alg) -> Result<(String, Vec<u8>, Value), Error> {
    let (der, mut jwk) = new_pair(alg)?;
    let kid = jose::thumbprint(&jwk)
        .ok_or_else(|| Error::Store(StoreError::Db("no thumbprint".into())))?;
    if let Some(o) = jwk.as_object_mut() {
        o.insert("kid".into(), kid.clone().into());
        o.insert("alg".into(), alg.as_str().into());
        o.insert("use".into(), "sig".into());
    }
    let sealed = kek.seal(&kid, &der)?;
    Ok((kid, sealed, jwk))
}

fn insert(
    tx: &mut dyn sql::Tx,
    key: &(String, Vec<u8>, Value),
    alg: Alg,
    state: KeyState,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO oidc_key (kid, alg, state, private_enc, public_jwk, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
        &[
            key.0.clone().into(),
            alg.as_str().into(),
            state.as_str().into(),
            key.1.clone().into(),
            key.2.to_string().into(),
            ms(now).into(),
        ],
    )?;
    Ok(())
}

/// Makes sure each algorithm has a current and a next key (first start; idempotent, and two
/// nodes starting together do not both add keys). Returns whether keys were added.
pub fn ensure(store: &dyn Store, kek: &Kek, now: OffsetDateTime) -> Result<bool, Error> {
    sql::transact(store.db(), |tx| super::claims::pairwise_key(tx).map(|_| ()))?;
    let have = list(store)?;
    let missing: Vec<Alg> = Alg::ALL
        .into_iter()
        .filter(|a| {
            !have
                .iter()
                .any(|k| k.alg == *a && k.state == KeyState::Current)
        })
        .collect();
    if missing.is_empty() {
        return Ok(false);
    }
    let mut made = Vec::new();
    for alg in &missing {
        made.push((*alg, generate(kek, *alg)?, generate(kek, *alg)?));
    }
    sql::transact(store.db(), |tx| {
        let mut added = false;
        for (alg, current, next) in &made {
            let n = tx.int(
                "SELECT count(*) FROM oidc_key WHERE alg = $1 AND state = 'current'",
                &[alg.as_str().into()],
            )?;
            if n > 0 {
                continue;
            }
            insert(tx, current, *alg, KeyState::Current, now)?;
            insert(tx, next, *alg, KeyState::Next, now)?;
            added = true;
        }
        Ok::<_, Error>(added)
    })
}

/// Rotates every algorithm's keys: previous → retired, current → previous, next → current, and a
/// new next. Audited as `oidc.keys.rotate` for `actor`.
pub fn rotate(
    store: &dyn Store,
    kek: &Kek,
    actor: &Actor,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<Vec<KeyInfo>, Error> {
    ensure(store, kek, now)?;
    let mut fresh = Vec::new();
    for alg in Alg::ALL {
        fresh.push((alg, generate(kek, alg)?));
    }
    let result = sql::transact(store.db(), |tx| {
        for (alg, next) in &fresh {
            let a: Val = alg.as_str().into();
            let t: Val = ms(now).into();
            for (from, to) in [
                ("previous", "retired"),
                ("current", "previous"),
                ("next", "current"),
            ] {
                tx.exec(
                    "UPDATE oidc_key SET state = $1, updated_at = $2 WHERE alg = $3 AND state = $4",
                    &[to.into(), t.clone(), a.clone(), from.into()],
                )?;
            }
            insert(tx, next, *alg, KeyState::Next, now)?;
        }
        Ok::<_, Error>(())
    });
    store.audit(
        actor,
        "oidc.keys.rotate",
        "oidc_key",
        if result.is_ok() { "ok" } else { "failed" },
        request_id,
        now,
    )?;
    result?;
    list(store)
}

/// Every key, newest first (no private halves).
pub fn list(store: &dyn Store) -> Result<Vec<KeyInfo>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT kid, alg, state, created_at FROM oidc_key ORDER BY created_at DESC, kid",
            &[],
        )
    })?;
    rows.iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            let alg = g(1).text()?;
            Ok(KeyInfo {
                kid: g(0).text()?,
                alg: Alg::parse(&alg)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown alg {alg:?}")))?,
                state: KeyState::parse(&g(2).text()?)?,
                created_at: from_ms(g(3).int()?),
            })
        })
        .collect::<Result<_, StoreError>>()
        .map_err(Error::from)
}

/// The JWKS document: next, current and previous public keys.
pub fn jwks(store: &dyn Store) -> Result<Value, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT public_jwk FROM oidc_key WHERE state IN ('next', 'current', 'previous') \
             ORDER BY alg, state, kid",
            &[],
        )
    })?;
    let mut keys = Vec::new();
    for r in rows {
        let text = r.first().cloned().unwrap_or(Val::Null).text()?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|_| StoreError::Corrupt("a public JWK is not JSON".into()))?;
        keys.push(v);
    }
    Ok(json!({ "keys": keys }))
}

/// The current signing key of each algorithm, opened.
#[derive(Debug, Default)]
pub struct SigningKeys {
    keys: Vec<SigningKey>,
}

impl SigningKeys {
    pub fn get(&self, alg: Alg) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.alg == alg)
    }
    /// The key ids, to tell whether a rotation happened since these were loaded.
    pub fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.kid.clone()).collect()
    }
}

/// Opens the current key of each algorithm.
pub fn signing_keys(store: &dyn Store, kek: &Kek) -> Result<SigningKeys, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT kid, alg, private_enc FROM oidc_key WHERE state = 'current' ORDER BY alg",
            &[],
        )
    })?;
    let mut keys = Vec::new();
    for r in rows {
        let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
        let kid = g(0).text()?;
        let alg_s = g(1).text()?;
        let alg = Alg::parse(&alg_s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown alg {alg_s:?}")))?;
        let der = kek.open(&kid, &g(2).blob()?)?;
        let key = SigningKey::from_pkcs8(&kid, alg, &der)
            .map_err(|e| Error::Store(StoreError::Corrupt(e)))?;
        keys.push(key);
    }
    Ok(SigningKeys { keys })
}

/// The ids of the current keys (one cheap read, to notice a rotation by another node).
pub fn current_kids(store: &dyn Store) -> Result<Vec<String>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT kid FROM oidc_key WHERE state = 'current' ORDER BY alg",
            &[],
        )
    })?;
    rows.iter()
        .map(|r| r.first().cloned().unwrap_or(Val::Null).text())
        .collect::<Result<_, _>>()
        .map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_kek_and_kid() {
        let kek = Kek::random();
        let sealed = kek.seal("kid1", b"secret").unwrap();
        assert_eq!(kek.open("kid1", &sealed).unwrap(), b"secret");
        assert!(kek.open("kid2", &sealed).is_err());
        assert!(Kek::random().open("kid1", &sealed).is_err());
    }

    #[test]
    fn sealed_tokens_open_for_their_purpose_kek_and_hours_only() {
        let kek = Kek::random();
        let now = time::macros::datetime!(2026-12-04 01:59:59 UTC);
        let t = kek.seal_token("code", b"the person", now).unwrap();
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(kek.open_token("code", &t, 1, now).unwrap(), b"the person");
        let later = now + time::Duration::seconds(1);
        assert!(
            kek.open_token("code", &t, 1, later).is_some(),
            "the next hour"
        );
        assert!(kek.open_token("code", &t, 0, later).is_none(), "too old");
        assert!(
            kek.open_token("pending", &t, 1, now).is_none(),
            "another purpose"
        );
        assert!(Kek::random().open_token("code", &t, 1, now).is_none());
        let mut bad = t.clone().into_bytes();
        let i = bad.len() / 2;
        bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
        assert!(kek
            .open_token("code", &String::from_utf8(bad).unwrap(), 1, now)
            .is_none());
        let early = now - time::Duration::hours(2);
        let old = kek.seal_token("code", b"x", early).unwrap();
        assert!(kek.open_token("code", &old, 1, now).is_none());
        assert!(kek.open_token("code", "", 1, now).is_none());
        assert!(kek.open_token("code", "%%%", 1, now).is_none());
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("eid-kek-{}", crate::secret::random_token()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("oidc.key");
        let a = Kek::load_or_create(&path).unwrap();
        let b = Kek::load_or_create(&path).unwrap();
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").unwrap();
        assert!(Kek::load_or_create(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
