//! Attachments: scans of documents, checked by what their bytes are (the magic numbers of JPEG,
//! PNG and PDF) — never by the content type the browser sent — and by size, and kept
//! content-addressed: the key is the hex SHA-256 of the bytes, so a scan sent twice is kept once.

use sha2::{Digest, Sha256};

use crate::error::Error;

/// The limits on attachments (the web configuration sets them; these are the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes per file (default 5 MB).
    pub max_bytes: usize,
    /// Files per request or answer (default 5).
    pub max_files: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 5 * 1024 * 1024,
            max_files: 5,
        }
    }
}

/// A file as received.
#[derive(Clone, PartialEq, Eq)]
pub struct Upload {
    /// The file's name as the browser gave it (shown to officers; cut to 100 characters).
    pub name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upload({} bytes)", self.bytes.len())
    }
}

/// A checked file: its kind by its bytes and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub name: String,
    pub mime: &'static str,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// What the bytes are: JPEG, PNG or PDF, else `None`.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// The hex SHA-256 of `bytes`: the key a file is kept under.
pub fn key(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks a set of uploads (empty files — a file input left empty — are dropped first).
/// Refused: more than `max_files` (`residence.too_many_files`), a file over `max_bytes`
/// (`residence.file_too_large`), a file that is not JPEG, PNG or PDF
/// (`residence.file_type`).
pub fn check(uploads: Vec<Upload>, limits: Limits) -> Result<Vec<Checked>, Error> {
    let uploads: Vec<Upload> = uploads
        .into_iter()
        .filter(|u| !u.bytes.is_empty())
        .collect();
    if uploads.len() > limits.max_files {
        return Err(Error::bad(
            "residence.too_many_files",
            format!("at most {} files", limits.max_files),
        ));
    }
    let mut out = Vec::with_capacity(uploads.len());
    for u in uploads {
        if u.bytes.len() > limits.max_bytes {
            return Err(Error::bad(
                "residence.file_too_large",
                format!("a file is larger than {} bytes", limits.max_bytes),
            ));
        }
        let Some(mime) = sniff(&u.bytes) else {
            return Err(Error::bad(
                "residence.file_type",
                "only JPEG, PNG and PDF files are accepted",
            ));
        };
        let name: String = u
            .name
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        out.push(Checked {
            name: if name.trim().is_empty() {
                "scan".into()
            } else {
                name
            },
            mime,
            sha256: key(&u.bytes),
            bytes: u.bytes,
        });
    }
    Ok(out)
}
