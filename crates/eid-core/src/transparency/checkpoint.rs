//! Signed checkpoints of the data-use log: the tree's size and root as a signed note (the C2SP
//! format: `origin`, size and base64 root on three lines, a blank line, and a signature line
//! `— <name> <base64(key id ‖ Ed25519 signature)>`), signed by the provider's current EdDSA key
//! (`oidc::keys`; the key id is the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)).
//! Published whenever the tree grew; inclusion and consistency proofs are given against them.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::merkle::{self, Hash};
use super::tree;
use crate::oidc::jose::{self, Alg};
use crate::oidc::keys::{self, Kek};
use crate::sql::{self, SqlRow, Tx, Val};
use crate::store::{from_ms, to_ms};
use crate::{Error, Store, StoreError};

/// The log's origin line and the signature's key name.
pub const ORIGIN: &str = "eid.gov.vn/data-use";

/// One signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub size: u64,
    pub root: Hash,
    /// The signing key's id in the provider's JWKS.
    pub kid: String,
    /// The signed note, as published.
    pub note: String,
    pub signed_at: OffsetDateTime,
}

/// The note's signed text.
pub fn body(size: u64, root: &Hash) -> String {
    format!("{ORIGIN}\n{size}\n{}\n", B64.encode(root))
}

fn key_id(public: &[u8]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(ORIGIN.as_bytes());
    h.update(b"\n\x01");
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn from_row(r: &SqlRow) -> Result<Checkpoint, StoreError> {
    let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
    let root = <[u8; 32]>::try_from(g(1).blob()?.as_slice())
        .map_err(|_| StoreError::Corrupt("a checkpoint root is not 32 bytes".into()))?;
    Ok(Checkpoint {
        size: u64::try_from(g(0).int()?)
            .map_err(|_| StoreError::Corrupt("a negative checkpoint size".into()))?,
        root,
        kid: g(2).text()?,
        note: g(3).text()?,
        signed_at: from_ms(g(4).int()?),
    })
}

const COLS: &str = "size, root, kid, note, signed_at";

/// Signs and stores a checkpoint of the log as it is now, unless the newest checkpoint already
/// has this size. Returns the new checkpoint, if one was made.
pub fn publish(
    store: &dyn Store,
    kek: &Kek,
    now: OffsetDateTime,
) -> Result<Option<Checkpoint>, Error> {
    let (size, last) = sql::read(store.db(), |tx| {
        let size = tx.int("SELECT size FROM transparency_head WHERE id = 1", &[])?;
        Ok::<_, StoreError>((u64::try_from(size).unwrap_or(0), latest_in(tx)?))
    })?;
    if size == 0 || last.as_ref().is_some_and(|c| c.size >= size) {
        return Ok(None);
    }
    keys::ensure(store, kek, now)?;
    let signing = keys::signing_keys(store, kek)?;
    let key = signing
        .get(Alg::EdDsa)
        .ok_or_else(|| Error::Store(StoreError::Db("no current EdDSA signing key".into())))?;
    let public = key
        .public_jwk()
        .and_then(|j| j.get("x").and_then(|x| x.as_str()).and_then(jose::unb64))
        .ok_or_else(|| Error::Store(StoreError::Db("the EdDSA key has no public half".into())))?;
    // The tree's new complete subtrees, the root from them and the signed checkpoint commit
    // together: a checkpoint's size is never beyond the stored tree.
    let made = sql::transact(store.db(), |tx| {
        tree::fill(tx, size)?;
        let root = tree::root(tx, size)?;
        let text = body(size, &root);
        let sig = key.sign_bytes(text.as_bytes()).map_err(StoreError::Db)?;
        let mut stamp = key_id(&public).to_vec();
        stamp.extend_from_slice(&sig);
        let note = format!("{text}\n\u{2014} {ORIGIN} {}\n", B64.encode(stamp));
        let cp = Checkpoint {
            size,
            root,
            kid: key.kid.clone(),
            note,
            signed_at: from_ms(to_ms(now)),
        };
        let added = tx.exec(
            "INSERT INTO transparency_checkpoint (size, root, kid, note, signed_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (size) DO NOTHING",
            &[
                (size as i64).into(),
                root.to_vec().into(),
                cp.kid.as_str().into(),
                cp.note.as_str().into(),
                to_ms(now).into(),
            ],
        )?;
        Ok::<_, StoreError>((added == 1).then_some(cp))
    })?;
    Ok(made)
}

fn latest_in(tx: &mut dyn Tx) -> Result<Option<Checkpoint>, StoreError> {
    tx.row(
        &format!("SELECT {COLS} FROM transparency_checkpoint ORDER BY size DESC LIMIT 1"),
        &[],
    )?
    .map(|r| from_row(&r))
    .transpose()
}

/// The newest checkpoint.
pub fn latest(store: &dyn Store) -> Result<Option<Checkpoint>, Error> {
    Ok(sql::read(store.db(), latest_in)?)
}

/// Every checkpoint, smallest first.
pub fn all(store: &dyn Store) -> Result<Vec<Checkpoint>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            &format!("SELECT {COLS} FROM transparency_checkpoint ORDER BY size"),
            &[],
        )
    })?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// The checkpoint of `size`.
pub fn at_size(store: &dyn Store, size: u64) -> Result<Option<Checkpoint>, Error> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            &format!("SELECT {COLS} FROM transparency_checkpoint WHERE size = $1"),
            &[(size as i64).into()],
        )
    })?;
    Ok(row.map(|r| from_row(&r)).transpose()?)
}

/// Whether `cp`'s note is its size and root signed by the key `kid` whose public JWK is `jwk`.
pub fn signature_valid(cp: &Checkpoint, jwk: &serde_json::Value) -> bool {
    let Some(public) = jwk.get("x").and_then(|x| x.as_str()).and_then(jose::unb64) else {
        return false;
    };
    let Ok(public) = <[u8; 32]>::try_from(public.as_slice()) else {
        return false;
    };
    let Ok(vk) = VerifyingKey::from_bytes(&public) else {
        return false;
    };
    let text = body(cp.size, &cp.root);
    let Some(rest) = cp.note.strip_prefix(&text) else {
        return false;
    };
    let prefix = format!("\n\u{2014} {ORIGIN} ");
    let Some(stamp) = rest
        .strip_prefix(&prefix)
        .and_then(|s| s.strip_suffix('\n'))
        .and_then(|s| B64.decode(s).ok())
    else {
        return false;
    };
    let (Some(id), Some(sig)) = (stamp.get(..4), stamp.get(4..)) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(sig) else {
        return false;
    };
    id == key_id(&public) && vk.verify(text.as_bytes(), &sig).is_ok()
}

/// The public JWK of key `kid`, in any state (checkpoints signed before a rotation still verify).
pub fn public_jwk(store: &dyn Store, kid: &str) -> Result<Option<serde_json::Value>, Error> {
    let row = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT public_jwk FROM oidc_key WHERE kid = $1",
            &[kid.into()],
        )
    })?;
    let Some(r) = row else { return Ok(None) };
    let text = r.first().cloned().unwrap_or(Val::Null).text()?;
    Ok(serde_json::from_str(&text).ok())
}

/// An entry's inclusion proof against a checkpoint.
#[derive(Debug, Clone)]
pub struct Inclusion {
    pub seq: u64,
    pub leaf: Hash,
    pub checkpoint: Checkpoint,
    pub proof: Vec<Hash>,
}

impl Inclusion {
    pub fn verifies(&self) -> bool {
        merkle::verify_inclusion(
            self.seq,
            self.checkpoint.size,
            &self.leaf,
            &self.proof,
            &self.checkpoint.root,
        )
    }
}

/// Inclusion proofs of `seqs` against the newest checkpoint (entries it does not cover yet get
/// none), each from the O(log n) stored nodes it needs.
pub fn inclusions(store: &dyn Store, seqs: &[u64]) -> Result<Vec<Option<Inclusion>>, Error> {
    let Some(cp) = latest(store)? else {
        return Ok(seqs.iter().map(|_| None).collect());
    };
    let out = sql::read(store.db(), |tx| {
        let mut out = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            if seq >= cp.size {
                out.push(None);
                continue;
            }
            let leaf = tx
                .row(
                    "SELECT leaf_hash FROM data_use WHERE seq = $1",
                    &[(seq as i64).into()],
                )?
                .and_then(|r| r.first().cloned())
                .map(|v| v.blob())
                .transpose()?
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok());
            let proof = tree::inclusion_proof(tx, seq, cp.size)?;
            out.push(leaf.zip(proof).map(|(leaf, proof)| Inclusion {
                seq,
                leaf,
                checkpoint: cp.clone(),
                proof,
            }));
        }
        Ok::<_, StoreError>(out)
    })?;
    Ok(out)
}

/// The consistency proof between the trees of `old` and `new` leaves (from stored nodes).
pub fn consistency(store: &dyn Store, old: u64, new: u64) -> Result<Option<Vec<Hash>>, Error> {
    if old > new {
        return Ok(None);
    }
    let head = sql::read(store.db(), |tx| {
        tx.int("SELECT size FROM transparency_head WHERE id = 1", &[])
    })?;
    if (head.max(0) as u64) < new {
        return Ok(None);
    }
    Ok(sql::read(store.db(), |tx| {
        tree::consistency_proof(tx, old, new)
    })?)
}
