//! Presentations: a CWT (RFC 8392) in a tagged COSE_Sign1 (RFC 9052), signed with the
//! provider's current ES256 key, carrying only the claims the citizen picked, `iat`, `exp`, a
//! random `cti` and a status-list index; written for a QR as `EID1:` and the bytes in base45
//! (RFC 9285, the QR code's alphanumeric mode: 8.25 bits a byte against 10.7 for base64).
//!
//! ES256 rather than EdDSA: both signatures are 64 bytes, so the QR is the same size, and every
//! browser's WebCrypto verifies ECDSA P-256 (Ed25519 only in recent ones) — the offline
//! verifier page needs nothing but WebCrypto.
//!
//! Protected header: `alg` ES256 (-7), `kid` (the JWK's `kid`, UTF-8), `typ` (16)
//! [`TYP`]. Claims: `iat` (6), `exp` (4), `cti` (7, 16 bytes), `status` (65535,
//! `{"status_list": {"idx", "uri"}}`), `purpose`, and the disclosed ones by [`Attr::key`].

use coset::cbor::value::Value as Cbor;
use coset::{iana, CoseSign1, Header, Label, ProtectedHeader};
use coset::{RegisteredLabelWithPrivate, TaggedCborSerializable};
use rand::RngCore;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use serde_json::Value;
use time::{Date, OffsetDateTime};

use super::status::{self, StatusList};
use super::{at_least, DocKind};
use crate::oidc::jose::{self, Alg};
use crate::oidc::keys::SigningKeys;
use crate::sql::{self, Tx, Val};
use crate::store::{to_ms, Store, StoreError};
use crate::Error;
use eid_domain::{BirthDate, PersonalId};

/// What a presentation's text begins with.
pub const PREFIX: &str = "EID1:";
/// The COSE `typ` (header 16) of a presentation.
pub const TYP: &str = "application/eid-presentation+cwt";
/// How long a QR lives unless configured otherwise.
pub const DEFAULT_TTL_SECONDS: i64 = 60;
/// The CWT claim key of the status (Token Status List).
pub const STATUS_CLAIM: i64 = 65535;
const HEADER_TYP: i64 = 16;
/// A presentation's text is refused past this length before any decoding.
const MAX_TEXT: usize = 4096;

/// An attribute the citizen may disclose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attr {
    Over18,
    Name,
    BirthDate,
    Sex,
    Nationality,
    PersonalId,
    HealthInsurance,
    DrivingLicence,
}

impl Attr {
    pub const ALL: [Attr; 8] = [
        Attr::Over18,
        Attr::Name,
        Attr::BirthDate,
        Attr::Sex,
        Attr::Nationality,
        Attr::PersonalId,
        Attr::HealthInsurance,
        Attr::DrivingLicence,
    ];

    /// The claim name (and form field) of the attribute; a document adds `<key>_to`.
    pub fn key(self) -> &'static str {
        match self {
            Attr::Over18 => "over18",
            Attr::Name => "name",
            Attr::BirthDate => "birth",
            Attr::Sex => "sex",
            Attr::Nationality => "nat",
            Attr::PersonalId => "pid",
            Attr::HealthInsurance => "hi",
            Attr::DrivingLicence => "dl",
        }
    }

    pub fn parse(s: &str) -> Option<Attr> {
        Attr::ALL.into_iter().find(|a| a.key() == s)
    }

    /// The integrated document the attribute needs.
    pub fn document(self) -> Option<DocKind> {
        match self {
            Attr::HealthInsurance => Some(DocKind::HealthInsurance),
            Attr::DrivingLicence => Some(DocKind::DrivingLicence),
            _ => None,
        }
    }
}

/// The purposes a citizen can state.
pub const PURPOSES: [&str; 5] = ["age", "health", "bank", "travel", "other"];

/// A presentation made.
#[derive(Clone)]
pub struct Issued {
    /// `EID1:` and base45: what the QR holds.
    pub text: String,
    /// The CWT id, hex.
    pub cti: String,
    pub expires_at: OffsetDateTime,
    pub status_idx: u64,
    /// The COSE_Sign1 bytes.
    pub bytes: usize,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Issued({}, {} bytes)", self.cti, self.bytes)
    }
}

/// A presentation that verified: what it discloses and its bookkeeping.
#[derive(Clone, PartialEq)]
pub struct Verified {
    pub cti: String,
    pub kid: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub status_idx: u64,
    pub purpose: String,
    /// The disclosed claims in the credential's order (`over18` is `true`/`false`).
    pub claims: Vec<(String, String)>,
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.claims.iter().map(|(k, _)| k.as_str()).collect();
        write!(f, "Verified({}, {:?})", self.cti, names)
    }
}

/// Why a presentation is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Not a presentation (prefix, base45, CBOR, header or claims).
    Malformed,
    /// Signed by no key of the published set.
    UnknownKey,
    /// The signature does not verify (altered, or forged).
    BadSignature,
    Expired,
    Revoked,
    /// Online: read before (a presentation is read once).
    Replayed,
    /// Online: the platform never issued it.
    NotIssued,
    /// Online: the reader stated a purpose other than the one the citizen chose.
    PurposeMismatch,
}

impl Invalid {
    pub fn code(self) -> &'static str {
        match self {
            Invalid::Malformed => "malformed",
            Invalid::UnknownKey => "unknown_key",
            Invalid::BadSignature => "bad_signature",
            Invalid::Expired => "expired",
            Invalid::Revoked => "revoked",
            Invalid::Replayed => "replayed",
            Invalid::NotIssued => "not_issued",
            Invalid::PurposeMismatch => "purpose_mismatch",
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const B45: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Base45 (RFC 9285).
pub fn base45(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3 / 2 + 2);
    let ch = |n: usize| char::from(B45.get(n % 45).copied().unwrap_or(b'0'));
    for pair in bytes.chunks(2) {
        match pair {
            [a, b] => {
                let n = usize::from(*a) * 256 + usize::from(*b);
                out.push(ch(n));
                out.push(ch(n / 45));
                out.push(ch(n / 2025));
            }
            [a] => {
                let n = usize::from(*a);
                out.push(ch(n));
                out.push(ch(n / 45));
            }
            _ => {}
        }
    }
    out
}

/// Decodes base45; `None` on a character outside the alphabet or a value out of range.
pub fn unbase45(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<usize> = s
        .bytes()
        .map(|c| B45.iter().position(|x| *x == c))
        .collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(digits.len() * 2 / 3 + 1);
    for group in digits.chunks(3) {
        match group {
            [c, d, e] => {
                let n = c + d * 45 + e * 2025;
                if n > 0xFFFF {
                    return None;
                }
                out.push((n >> 8) as u8);
                out.push((n & 0xFF) as u8);
            }
            [c, d] => {
                let n = c + d * 45;
                if n > 0xFF {
                    return None;
                }
                out.push(n as u8);
            }
            _ => return None,
        }
    }
    Some(out)
}

fn text(k: &str, v: impl Into<String>) -> (Cbor, Cbor) {
    (Cbor::Text(k.to_owned()), Cbor::Text(v.into()))
}

fn birth_text(b: BirthDate) -> String {
    match b {
        BirthDate::Full(d) => eid_domain::iso(d),
        BirthDate::Year(y) => format!("{y}"),
    }
}

/// Everything [`issue`] needs besides the store.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    pub purpose: &'a str,
    pub attrs: &'a [Attr],
    pub ttl_seconds: i64,
    /// The issuer URL; the status list is at `{issuer}/wallet/status`.
    pub issuer: &'a str,
}

/// Makes a presentation of `id` disclosing `ask.attrs` (in [`Attr::ALL`] order, each once),
/// signed with the current ES256 key, and records it (its claim names, not values) with its
/// status-list index. Refused: no attribute, an unknown purpose, a document not integrated.
pub fn issue(
    store: &dyn Store,
    keys: &SigningKeys,
    id: &PersonalId,
    ask: &Ask<'_>,
    now: OffsetDateTime,
    today: Date,
) -> Result<Issued, Error> {
    if !PURPOSES.contains(&ask.purpose) {
        return Err(Error::bad("wallet.bad_purpose", "choose a purpose"));
    }
    let attrs: Vec<Attr> = Attr::ALL
        .into_iter()
        .filter(|a| ask.attrs.contains(a))
        .collect();
    if attrs.is_empty() {
        return Err(Error::bad(
            "wallet.nothing_disclosed",
            "choose at least one thing to show",
        ));
    }
    let card = super::identity_card(store, id, today)?;
    let person = store
        .person(id)?
        .ok_or_else(|| Error::not_found("person.not_found", "no such person"))?
        .person;
    let docs = super::integrated(store, id)?;
    let mut claims: Vec<(Cbor, Cbor)> = vec![text("purpose", ask.purpose)];
    for a in &attrs {
        match a {
            Attr::Over18 => claims.push((
                Cbor::Text("over18".into()),
                Cbor::Bool(at_least(person.birth, 18, today)),
            )),
            Attr::Name => claims.push(text("name", card.full_name.clone())),
            Attr::BirthDate => claims.push(text("birth", birth_text(card.birth))),
            Attr::Sex => claims.push(text("sex", card.sex)),
            Attr::Nationality => claims.push(text("nat", card.nationality)),
            Attr::PersonalId => claims.push(text("pid", card.personal_id.clone())),
            Attr::HealthInsurance | Attr::DrivingLicence => {
                let kind = a.document().unwrap_or(DocKind::HealthInsurance);
                let doc = docs.iter().find(|d| d.kind == kind).ok_or_else(|| {
                    Error::bad(
                        "wallet.not_integrated",
                        "integrate the document in the wallet first",
                    )
                })?;
                let main = match kind {
                    DocKind::DrivingLicence => doc.get("class").or(doc.get("card_number")),
                    _ => doc.get("card_number"),
                };
                claims.push(text(a.key(), main.unwrap_or_default()));
                if let Some(to) = doc.get("valid_to") {
                    claims.push(text(&format!("{}_to", a.key()), to));
                }
            }
        }
    }
    let key = keys
        .get(Alg::Es256)
        .ok_or_else(|| Error::Store(StoreError::Db("no ES256 signing key".into())))?;
    let mut cti = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut cti);
    let cti_hex = hex(&cti);
    let ttl = ask.ttl_seconds.clamp(10, 3600);
    let (iat, exp) = (now.unix_timestamp(), now.unix_timestamp() + ttl);
    let names: Vec<&str> = attrs.iter().map(|a| a.key()).collect();
    let names = names.join(",");
    let idx = sql::transact(store.db(), |tx| {
        let row_id = tx
            .row(
                "INSERT INTO wallet_cred (cti, personal_id, purpose, claims, status_idx, issued_at, expires_at) \
                 VALUES ($1, $2, $3, $4, 0, $5, $6) RETURNING id",
                &[cti_hex.as_str().into(), id.as_str().into(), ask.purpose.into(), names.as_str().into(),
                  to_ms(now).into(), (exp * 1000).into()],
            )?
            .and_then(|r| r.first().cloned())
            .unwrap_or(Val::Null)
            .int()?;
        let idx = row_id.unsigned_abs() % status::CAPACITY;
        tx.exec(
            "UPDATE wallet_cred SET status_idx = $1 WHERE cti = $2",
            &[(idx as i64).into(), cti_hex.as_str().into()],
        )?;
        Ok::<_, StoreError>(idx)
    })?;
    let mut map = vec![
        (Cbor::from(6), Cbor::from(iat)),
        (Cbor::from(4), Cbor::from(exp)),
        (Cbor::from(7), Cbor::Bytes(cti.to_vec())),
        (
            Cbor::from(STATUS_CLAIM),
            Cbor::Map(vec![(
                Cbor::Text("status_list".into()),
                Cbor::Map(vec![
                    (Cbor::Text("idx".into()), Cbor::from(idx)),
                    (
                        Cbor::Text("uri".into()),
                        Cbor::Text(format!("{}{}", ask.issuer, status::PATH)),
                    ),
                ]),
            )]),
        ),
    ];
    map.extend(claims);
    let mut payload = Vec::new();
    coset::cbor::ser::into_writer(&Cbor::Map(map), &mut payload)
        .map_err(|e| Error::Store(StoreError::Db(format!("CBOR: {e}"))))?;
    let header = Header {
        alg: Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256)),
        key_id: key.kid.as_bytes().to_vec(),
        rest: vec![(Label::Int(HEADER_TYP), Cbor::Text(TYP.into()))],
        ..Header::default()
    };
    let mut sign1 = CoseSign1 {
        protected: ProtectedHeader {
            original_data: None,
            header,
        },
        unprotected: Header::default(),
        payload: Some(payload),
        signature: Vec::new(),
    };
    sign1.signature = key
        .sign_bytes(&sign1.tbs_data(b""))
        .map_err(|e| Error::Store(StoreError::Db(e)))?;
    let bytes = sign1
        .to_tagged_vec()
        .map_err(|e| Error::Store(StoreError::Db(format!("COSE: {e}"))))?;
    Ok(Issued {
        text: format!("{PREFIX}{}", base45(&bytes)),
        cti: cti_hex,
        expires_at: OffsetDateTime::from_unix_timestamp(exp).unwrap_or(now),
        status_idx: idx,
        bytes: bytes.len(),
    })
}

/// The COSE_Sign1 bytes of a presentation's text (`EID1:` and base45; surrounding line breaks
/// and a scanner's leading spaces are ignored — base45 itself may end with a space).
pub fn decode_text(text: &str) -> Option<Vec<u8>> {
    if text.len() > MAX_TEXT {
        return None;
    }
    let t = text.trim_start().trim_end_matches(['\r', '\n']);
    unbase45(t.strip_prefix(PREFIX)?)
}

fn jwk_by_kid<'a>(jwks: &'a Value, kid: &str) -> Option<&'a Value> {
    jwks.get("keys")?
        .as_array()?
        .iter()
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
}

fn cbor_text(v: &Cbor) -> Option<String> {
    match v {
        Cbor::Text(t) => Some(t.clone()),
        Cbor::Bool(b) => Some(b.to_string()),
        Cbor::Integer(i) => Some(i128::from(*i).to_string()),
        _ => None,
    }
}

/// Checks a presentation offline: base45 and COSE_Sign1, `alg` ES256 and `typ`, the signature
/// with the key of its `kid` in `jwks`, `exp` after `now`, and its index in `status` (when one
/// is given: a verifier without a list says so itself).
pub fn verify(
    text: &str,
    jwks: &Value,
    status: Option<&StatusList>,
    now: OffsetDateTime,
) -> Result<Verified, Invalid> {
    let bytes = decode_text(text).ok_or(Invalid::Malformed)?;
    let sign1 = CoseSign1::from_tagged_slice(&bytes).map_err(|_| Invalid::Malformed)?;
    let h = &sign1.protected.header;
    if h.alg != Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256)) {
        return Err(Invalid::Malformed);
    }
    let typ_ok = h
        .rest
        .iter()
        .any(|(l, v)| *l == Label::Int(HEADER_TYP) && *v == Cbor::Text(TYP.into()));
    if !typ_ok {
        return Err(Invalid::Malformed);
    }
    let kid = String::from_utf8(h.key_id.clone()).map_err(|_| Invalid::Malformed)?;
    let jwk = jwk_by_kid(jwks, &kid).ok_or(Invalid::UnknownKey)?;
    let s = |k: &str| jwk.get(k).and_then(Value::as_str).and_then(jose::unb64);
    if jwk.get("kty").and_then(Value::as_str) != Some("EC")
        || jwk.get("crv").and_then(Value::as_str) != Some("P-256")
    {
        return Err(Invalid::UnknownKey);
    }
    let (Some(x), Some(y)) = (s("x"), s("y")) else {
        return Err(Invalid::UnknownKey);
    };
    let mut point = vec![4u8];
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    sign1
        .verify_signature(b"", |sig, data| {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).verify(data, sig)
        })
        .map_err(|_| Invalid::BadSignature)?;
    let payload = sign1.payload.as_deref().ok_or(Invalid::Malformed)?;
    let claims: Cbor = coset::cbor::de::from_reader(payload).map_err(|_| Invalid::Malformed)?;
    let Cbor::Map(map) = claims else {
        return Err(Invalid::Malformed);
    };
    let mut v = Verified {
        cti: String::new(),
        kid,
        issued_at: 0,
        expires_at: 0,
        status_idx: u64::MAX,
        purpose: String::new(),
        claims: Vec::new(),
    };
    let int = |c: &Cbor| -> Option<i64> {
        match c {
            Cbor::Integer(i) => i64::try_from(i128::from(*i)).ok(),
            _ => None,
        }
    };
    for (k, val) in &map {
        match (int(k), k) {
            (Some(6), _) => v.issued_at = int(val).ok_or(Invalid::Malformed)?,
            (Some(4), _) => v.expires_at = int(val).ok_or(Invalid::Malformed)?,
            (Some(7), _) => match val {
                Cbor::Bytes(b) => v.cti = hex(b),
                _ => return Err(Invalid::Malformed),
            },
            (Some(STATUS_CLAIM), _) => {
                let idx = status_idx(val).ok_or(Invalid::Malformed)?;
                v.status_idx = idx;
            }
            (Some(_), _) => return Err(Invalid::Malformed),
            (None, Cbor::Text(name)) if name == "purpose" => {
                v.purpose = cbor_text(val).ok_or(Invalid::Malformed)?;
            }
            (None, Cbor::Text(name)) => v
                .claims
                .push((name.clone(), cbor_text(val).ok_or(Invalid::Malformed)?)),
            _ => return Err(Invalid::Malformed),
        }
    }
    if v.cti.is_empty() || v.expires_at == 0 || v.status_idx == u64::MAX {
        return Err(Invalid::Malformed);
    }
    if v.expires_at <= now.unix_timestamp() {
        return Err(Invalid::Expired);
    }
    if status.is_some_and(|s| s.revoked(v.status_idx)) {
        return Err(Invalid::Revoked);
    }
    Ok(v)
}

fn status_idx(val: &Cbor) -> Option<u64> {
    let Cbor::Map(m) = val else { return None };
    let (_, list) = m
        .iter()
        .find(|(k, _)| *k == Cbor::Text("status_list".into()))?;
    let Cbor::Map(l) = list else { return None };
    let (_, idx) = l.iter().find(|(k, _)| *k == Cbor::Text("idx".into()))?;
    match idx {
        Cbor::Integer(i) => u64::try_from(i128::from(*i)).ok(),
        _ => None,
    }
}

/// Who reads a presentation online.
#[derive(Clone, PartialEq, Eq)]
pub enum Reader {
    /// A desk of the anonymous check (`/verify/online`), as it names itself (trimmed to 120
    /// characters; `-` when it gives no name).
    Desk(String),
    /// A relying party that authenticated with its client credentials: its client id and
    /// registered name.
    RelyingParty { client_id: String, name: String },
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reader::Desk(_) => f.write_str("Reader::Desk(…)"),
            Reader::RelyingParty { client_id, .. } => {
                write!(f, "Reader::RelyingParty({client_id})")
            }
        }
    }
}

impl Reader {
    /// The name the citizen's wallet page shows for the read.
    fn name(&self) -> String {
        match self {
            Reader::Desk(name) => {
                let name: String = name.trim().chars().take(120).collect();
                if name.is_empty() {
                    "-".into()
                } else {
                    name
                }
            }
            Reader::RelyingParty { name, .. } => name.clone(),
        }
    }

    /// Who the "who used my data" entry names, and the purpose it records: `wallet.<purpose>`
    /// for a desk, `wallet.rp.<purpose>` for a relying party (the citizen's page says that a
    /// service checked a QR code they showed).
    fn data_use(&self, purpose: &str) -> (crate::transparency::Who, String) {
        match self {
            Reader::Desk(_) => {
                let name = self.name();
                (
                    crate::transparency::Who::Verifier {
                        id: name.clone(),
                        name,
                    },
                    format!("wallet.{purpose}"),
                )
            }
            Reader::RelyingParty { client_id, name } => (
                crate::transparency::Who::RelyingParty {
                    client_id: client_id.clone(),
                    name: name.clone(),
                },
                format!("wallet.rp.{purpose}"),
            ),
        }
    }
}

/// A read of a person's presentation, as the citizen's wallet page lists it.
#[derive(Clone, PartialEq, Eq)]
pub struct Read {
    pub cti: String,
    pub personal_id: String,
    /// Who read it: a desk as it named itself, or a relying party's registered name.
    pub verifier: String,
    pub purpose: String,
    /// The names of the disclosed claims, comma-separated (never their values).
    pub claims: String,
    pub at: OffsetDateTime,
}

impl std::fmt::Debug for Read {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Read({}, {})", self.cti, self.claims)
    }
}

/// Records that `reader` read a person's presentation, inside the caller's transaction: the one
/// place such a read is written (the wallet's list of reads and the "who used my data" log).
fn record_read_in(tx: &mut dyn Tx, read: &Read, reader: &Reader) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO wallet_read (cti, personal_id, verifier, purpose, claims, read_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            read.cti.as_str().into(),
            read.personal_id.as_str().into(),
            read.verifier.as_str().into(),
            read.purpose.as_str().into(),
            read.claims.as_str().into(),
            to_ms(read.at).into(),
        ],
    )?;
    let (who, purpose) = reader.data_use(&read.purpose);
    crate::transparency::note_in(
        tx,
        &crate::transparency::DataUse {
            personal_id: read.personal_id.clone(),
            who,
            what: read
                .claims
                .split(',')
                .map(|c| format!("wallet_{c}"))
                .collect::<Vec<_>>()
                .join(" "),
            purpose,
            at: read.at,
        },
    )?;
    Ok(())
}

/// The reads of a person's presentations, newest first (at most 50).
pub fn reads(store: &dyn Store, id: &PersonalId) -> Result<Vec<Read>, Error> {
    let rows = sql::read(store.db(), |tx| {
        tx.query(
            "SELECT cti, verifier, purpose, claims, read_at FROM wallet_read \
             WHERE personal_id = $1 ORDER BY read_at DESC, id DESC LIMIT 50",
            &[id.as_str().into()],
        )
    })?;
    rows.iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or(Val::Null);
            Ok(Read {
                cti: g(0).text()?,
                personal_id: id.as_str().to_owned(),
                verifier: g(1).text()?,
                purpose: g(2).text()?,
                claims: g(3).text()?,
                at: crate::store::from_ms(g(4).int()?),
            })
        })
        .collect::<Result<_, StoreError>>()
        .map_err(Error::from)
}

/// The anonymous online check of a desk named `verifier`: [`read_online`].
pub fn check_online(
    store: &dyn Store,
    jwks: &Value,
    text: &str,
    verifier: &str,
    now: OffsetDateTime,
) -> Result<Result<Verified, Invalid>, Error> {
    read_online(
        store,
        jwks,
        text,
        &Reader::Desk(verifier.to_owned()),
        None,
        now,
    )
}

/// The online check: [`verify`] against the list as it is now; the platform must have issued
/// it and the holder not withdrawn it; a purpose the reader states must be the one the citizen
/// chose ([`Invalid::PurposeMismatch`], the presentation stays unread). Then, in one
/// transaction, the presentation is marked used (a second read is [`Invalid::Replayed`]) and
/// the read recorded for its holder, naming `reader`. A stated purpose that is not one of
/// [`PURPOSES`] is refused as bad input.
pub fn read_online(
    store: &dyn Store,
    jwks: &Value,
    text: &str,
    reader: &Reader,
    stated_purpose: Option<&str>,
    now: OffsetDateTime,
) -> Result<Result<Verified, Invalid>, Error> {
    if stated_purpose.is_some_and(|p| !PURPOSES.contains(&p)) {
        return Err(Error::bad(
            "presentation.bad_purpose",
            "purpose must be one of age, health, bank, travel, other",
        ));
    }
    let list = status::current(store, now)?;
    let v = match verify(text, jwks, Some(&list), now) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let row = sql::read(store.db(), |tx| {
        tx.row(
            "SELECT personal_id, revoked_at FROM wallet_cred WHERE cti = $1",
            &[v.cti.as_str().into()],
        )
    })?;
    let Some(row) = row else {
        return Ok(Err(Invalid::NotIssued));
    };
    let g = |i: usize| row.get(i).cloned().unwrap_or(Val::Null);
    let personal_id = g(0).text()?;
    if g(1).opt_int()?.is_some() {
        return Ok(Err(Invalid::Revoked));
    }
    if stated_purpose.is_some_and(|p| p != v.purpose) {
        return Ok(Err(Invalid::PurposeMismatch));
    }
    let names: Vec<&str> = v.claims.iter().map(|(k, _)| k.as_str()).collect();
    let read = Read {
        cti: v.cti.clone(),
        personal_id,
        verifier: reader.name(),
        purpose: v.purpose.clone(),
        claims: names.join(","),
        at: now,
    };
    let first = sql::transact(store.db(), |tx| {
        let marked = tx.exec(
            "UPDATE wallet_cred SET used_at = $2 WHERE cti = $1 AND used_at IS NULL",
            &[v.cti.as_str().into(), to_ms(now).into()],
        )?;
        if marked == 0 {
            return Ok::<_, StoreError>(false);
        }
        record_read_in(tx, &read, reader)?;
        Ok(true)
    })?;
    if !first {
        return Ok(Err(Invalid::Replayed));
    }
    Ok(Ok(v))
}

/// Withdraws one of the citizen's own presentations: its bit is set in the status list.
/// `false` if it is not theirs or already withdrawn.
pub fn revoke(
    store: &dyn Store,
    id: &PersonalId,
    cti: &str,
    now: OffsetDateTime,
) -> Result<bool, Error> {
    let n = sql::transact(store.db(), |tx| {
        tx.exec(
            "UPDATE wallet_cred SET revoked_at = $3 WHERE cti = $1 AND personal_id = $2 AND revoked_at IS NULL",
            &[cti.into(), id.as_str().into(), to_ms(now).into()],
        )
    })?;
    Ok(n > 0)
}
