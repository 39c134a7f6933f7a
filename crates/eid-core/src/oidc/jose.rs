//! Compact JWS over ring: signing ID tokens, access tokens and logout tokens with the provider's
//! keys (ES256, RS256, EdDSA), and verifying client assertions and DPoP proofs with public JWKs.
//! Only what the provider needs: no JWE, no `crit`, no `none`, and the algorithm is always
//! decided by the key, never by the token's header alone.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A JWS algorithm the provider signs or verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    Es256,
    Rs256,
    EdDsa,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::Es256, Alg::Rs256, Alg::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Rs256 => "RS256",
            Alg::EdDsa => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding.
pub fn unb64(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s.as_bytes()).ok()
}

/// SHA-256 in base64url: `at_hash` (left half), JWK thumbprints, `ath`, PKCE S256.
pub fn sha256_b64(bytes: &[u8]) -> String {
    b64(&Sha256::digest(bytes))
}

enum Inner {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private key loaded for signing.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    inner: Inner,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({} {})", self.alg.as_str(), self.kid)
    }
}

impl SigningKey {
    /// Loads a PKCS#8 private key of `alg`.
    pub fn from_pkcs8(kid: &str, alg: Alg, der: &[u8]) -> Result<SigningKey, String> {
        let inner = match alg {
            Alg::Es256 => Inner::Ec(
                EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    der,
                    &SystemRandom::new(),
                )
                .map_err(|e| format!("bad P-256 key: {e}"))?,
            ),
            Alg::Rs256 => {
                Inner::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|e| format!("bad RSA key: {e}"))?)
            }
            Alg::EdDsa => Inner::Ed(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(|e| format!("bad Ed25519 key: {e}"))?,
            ),
        };
        Ok(SigningKey {
            kid: kid.to_owned(),
            alg,
            inner,
        })
    }

    /// A fresh ES256 or EdDSA key (a relying party's own key in tests and the demo; the
    /// provider's keys come from `keys`). `None` for RS256, which ring cannot generate.
    pub fn generate(kid: &str, alg: Alg) -> Option<SigningKey> {
        let rng = SystemRandom::new();
        let der = match alg {
            Alg::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .ok()?
            }
            Alg::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng).ok()?,
            Alg::Rs256 => return None,
        };
        SigningKey::from_pkcs8(kid, alg, der.as_ref()).ok()
    }

    /// Signs `signing_input` (`header.payload`).
    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, String> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Ec(k) => k
                .sign(&rng, input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ECDSA signing failed".to_owned()),
            Inner::Rsa(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, input, &mut sig)
                    .map_err(|_| "RSA signing failed".to_owned())?;
                Ok(sig)
            }
            Inner::Ed(k) => Ok(k.sign(input).as_ref().to_vec()),
        }
    }

    /// Signs raw bytes, not a JWS (the transparency log's signed notes sign their text; a
    /// wallet credential its COSE `Sig_structure`): ES256 as r ‖ s, EdDSA as its 64 bytes.
    pub fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        self.sign(message)
    }

    /// A compact JWS of `claims` with header `{alg, kid, typ}`.
    pub fn sign_jwt(&self, typ: &str, claims: &Value) -> Result<String, String> {
        let header = json!({"alg": self.alg.as_str(), "kid": self.kid, "typ": typ});
        self.sign_with_header(&header, claims)
    }

    /// A compact JWS of `claims` under `header` as given (DPoP proofs carry their `jwk`).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, String> {
        let mut out = b64(header.to_string().as_bytes());
        out.push('.');
        out.push_str(&b64(claims.to_string().as_bytes()));
        let sig = self.sign(out.as_bytes())?;
        out.push('.');
        out.push_str(&b64(&sig));
        Ok(out)
    }

    /// The public half as a JWK (without `kid`, `use`, `alg`), for keys ring can describe.
    pub fn public_jwk(&self) -> Option<Value> {
        match &self.inner {
            Inner::Ec(k) => ec_jwk(k.public_key().as_ref()),
            Inner::Ed(k) => {
                Some(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.public_key().as_ref())}))
            }
            Inner::Rsa(_) => None,
        }
    }
}

/// A P-256 JWK from an uncompressed point (0x04 ‖ x ‖ y).
pub fn ec_jwk(point: &[u8]) -> Option<Value> {
    if point.len() != 65 || point.first() != Some(&4) {
        return None;
    }
    Some(json!({
        "kty": "EC", "crv": "P-256",
        "x": b64(point.get(1..33)?), "y": b64(point.get(33..65)?),
    }))
}

/// The RFC 7638 thumbprint of a public JWK (SHA-256, base64url), or `None` for a key of a kind
/// the provider does not know.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str);
    let canonical = match s("kty")? {
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            s("crv")?,
            s("x")?,
            s("y")?
        ),
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e")?, s("n")?),
        "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, s("crv")?, s("x")?),
        _ => return None,
    };
    Some(sha256_b64(canonical.as_bytes()))
}

/// A compact JWS split into its parts; nothing is trusted until [`Jws::verify`].
#[derive(Debug)]
pub struct Jws {
    pub header: Value,
    pub claims: Value,
    input: String,
    sig: Vec<u8>,
}

impl Jws {
    /// Splits and decodes a compact JWS; `None` if it is not one.
    pub fn parse(token: &str) -> Option<Jws> {
        if token.len() > 16 * 1024 {
            return None;
        }
        let mut parts = token.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&unb64(h)?).ok()?;
        let claims: Value = serde_json::from_slice(&unb64(p)?).ok()?;
        if !header.is_object() || !claims.is_object() {
            return None;
        }
        Some(Jws {
            header,
            claims,
            input: format!("{h}.{p}"),
            sig: unb64(s)?,
        })
    }

    /// The header's `alg`, parsed.
    pub fn alg(&self) -> Option<Alg> {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Alg::parse)
    }

    /// Verifies the signature with a public JWK; the header's `alg` must be the key's kind.
    pub fn verify(&self, jwk: &Value) -> bool {
        let s = |k: &str| jwk.get(k).and_then(Value::as_str).and_then(unb64);
        let kty = jwk.get("kty").and_then(Value::as_str);
        let input = self.input.as_bytes();
        match (self.alg(), kty) {
            (Some(Alg::Es256), Some("EC")) => {
                if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                    return false;
                }
                let (Some(x), Some(y)) = (s("x"), s("y")) else {
                    return false;
                };
                let mut point = Vec::with_capacity(65);
                point.push(4u8);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(input, &self.sig)
                    .is_ok()
            }
            (Some(Alg::Rs256), Some("RSA")) => {
                let (Some(n), Some(e)) = (s("n"), s("e")) else {
                    return false;
                };
                signature::RsaPublicKeyComponents { n, e }
                    .verify(&signature::RSA_PKCS1_2048_8192_SHA256, input, &self.sig)
                    .is_ok()
            }
            (Some(Alg::EdDsa), Some("OKP")) => {
                if jwk.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                    return false;
                }
                let Some(x) = s("x") else { return false };
                signature::UnparsedPublicKey::new(&signature::ED25519, x)
                    .verify(input, &self.sig)
                    .is_ok()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    fn es256() -> SigningKey {
        let der = EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &SystemRandom::new(),
        )
        .unwrap();
        SigningKey::from_pkcs8("k1", Alg::Es256, der.as_ref()).unwrap()
    }

    #[test]
    fn a_signed_token_verifies_with_its_public_key_only() {
        let key = es256();
        let other = es256();
        let token = key.sign_jwt("JWT", &json!({"sub": "a"})).unwrap();
        let jws = Jws::parse(&token).unwrap();
        assert_eq!(jws.claims["sub"], "a");
        assert_eq!(jws.header["kid"], "k1");
        assert!(jws.verify(&key.public_jwk().unwrap()));
        assert!(!jws.verify(&other.public_jwk().unwrap()));
        let tampered = format!("{}x", token);
        assert!(Jws::parse(&tampered).is_none_or(|j| !j.verify(&key.public_jwk().unwrap())));
    }

    #[test]
    fn eddsa_signs_and_the_algorithm_must_match_the_key() {
        let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let key = SigningKey::from_pkcs8("e1", Alg::EdDsa, der.as_ref()).unwrap();
        let token = key.sign_jwt("JWT", &json!({"x": 1})).unwrap();
        let jws = Jws::parse(&token).unwrap();
        assert!(jws.verify(&key.public_jwk().unwrap()));
        assert!(!jws.verify(&es256().public_jwk().unwrap()));
    }

    #[test]
    fn thumbprints_follow_rfc_7638() {
        // RFC 7638, section 3.1.
        let jwk = json!({"kty": "RSA", "e": "AQAB", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }
}
