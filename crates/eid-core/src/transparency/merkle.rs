//! The Merkle tree of RFC 6962 §2.1 (RFC 9162 §2.1): leaf hash `SHA-256(0x00 ‖ entry)`, node hash
//! `SHA-256(0x01 ‖ left ‖ right)`, the tree split at the largest power of two below its size;
//! audit paths (inclusion proofs), consistency proofs, and their verification as RFC 9162
//! §2.1.3.2 and §2.1.4.2 give it. Pure: no storage, no IO.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The hash of a leaf whose entry is `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The root of the tree over `leaves` (leaf hashes); the empty tree's root is SHA-256("").
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => Sha256::digest([]).into(),
        [one] => *one,
        _ => {
            let k = split(leaves.len());
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` in the tree over `leaves` (RFC 6962 §2.1.1); `None` when the
/// index is outside the tree.
pub fn inclusion_proof(index: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut out = Vec::new();
    path(index, leaves, &mut out);
    Some(out)
}

fn path(m: usize, d: &[Hash], out: &mut Vec<Hash>) {
    if d.len() <= 1 {
        return;
    }
    let k = split(d.len());
    if m < k {
        path(m, &d[..k], out);
        out.push(root(&d[k..]));
    } else {
        path(m - k, &d[k..], out);
        out.push(root(&d[..k]));
    }
}

/// The consistency proof from the tree of the first `old` leaves to the tree over all of
/// `leaves` (RFC 6962 §2.1.2); `None` when `old` is 0 or larger than the tree.
pub fn consistency_proof(old: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    if old == 0 || old > leaves.len() {
        return None;
    }
    let mut out = Vec::new();
    subproof(old, leaves, true, &mut out);
    Some(out)
}

fn subproof(m: usize, d: &[Hash], whole: bool, out: &mut Vec<Hash>) {
    let n = d.len();
    if m == n {
        if !whole {
            out.push(root(d));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &d[..k], whole, out);
        out.push(root(&d[k..]));
    } else {
        subproof(m - k, &d[k..], false, out);
        out.push(root(&d[..k]));
    }
}

/// Whether `proof` shows leaf `leaf` at `index` in a tree of `size` leaves with root `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// Whether `proof` shows that the tree of `new_size` with root `new_root` extends the tree of
/// `old_size` with root `old_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    fr == *old_root && sr == *new_root && s == 0
}

/// The hashes of complete subtrees, as a stored tree gives them: `(level, idx)` is the root of
/// leaves `[idx·2^level, (idx+1)·2^level)` (level 0 is the leaf itself).
pub trait Nodes {
    fn node(&mut self, level: u32, idx: u64) -> Hash;
}

/// Records which nodes a computation asks for (answering zeros): the set does not depend on
/// the hashes, so one pass finds every row a proof needs and one read fetches them.
#[derive(Default)]
pub struct Wanted(pub std::collections::BTreeSet<(u32, u64)>);

impl Nodes for Wanted {
    fn node(&mut self, level: u32, idx: u64) -> Hash {
        self.0.insert((level, idx));
        [0; 32]
    }
}

impl Nodes for std::collections::HashMap<(u32, u64), Hash> {
    fn node(&mut self, level: u32, idx: u64) -> Hash {
        self.get(&(level, idx)).copied().unwrap_or([0; 32])
    }
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split64(n: u64) -> u64 {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The root of the subtree over leaves `[start, start+len)` as RFC 6962's recursion meets it
/// (`start` a multiple of the largest power of two not above `len`): complete subtrees are
/// read, the rest split — O(log n) nodes.
pub fn range_root(start: u64, len: u64, nodes: &mut dyn Nodes) -> Hash {
    if len == 0 {
        return Sha256::digest([]).into();
    }
    if len.is_power_of_two() {
        let level = len.trailing_zeros();
        return nodes.node(level, start >> level);
    }
    let k = split64(len);
    let left = nodes.node(k.trailing_zeros(), start >> k.trailing_zeros());
    let right = range_root(start + k, len - k, nodes);
    node_hash(&left, &right)
}

/// [`inclusion_proof`] of leaf `index` in the tree of the first `size` leaves, from stored
/// complete subtrees: O(log n) nodes instead of every leaf.
pub fn inclusion_proof_from(index: u64, size: u64, nodes: &mut dyn Nodes) -> Option<Vec<Hash>> {
    if index >= size {
        return None;
    }
    let mut out = Vec::new();
    let (mut m, mut start, mut n) = (index, 0u64, size);
    // RFC 6962 §2.1.1 from the top: the siblings come out root-first, the proof is leaf-first.
    while n > 1 {
        let k = split64(n);
        if m < k {
            out.push(range_root(start + k, n - k, nodes));
            n = k;
        } else {
            out.push(range_root(start, k, nodes));
            m -= k;
            start += k;
            n -= k;
        }
    }
    out.reverse();
    Some(out)
}

/// [`consistency_proof`] from the tree of the first `old` leaves to that of the first `size`,
/// from stored complete subtrees.
pub fn consistency_proof_from(old: u64, size: u64, nodes: &mut dyn Nodes) -> Option<Vec<Hash>> {
    if old == 0 || old > size {
        return None;
    }
    let mut out = Vec::new();
    let (mut m, mut start, mut n, mut whole) = (old, 0u64, size, true);
    // RFC 6962 §2.1.2 SUBPROOF unrolled; pushed root-first, returned leaf-first.
    loop {
        if m == n {
            if !whole {
                out.push(range_root(start, n, nodes));
            }
            break;
        }
        let k = split64(n);
        if m <= k {
            out.push(range_root(start + k, n - k, nodes));
            n = k;
        } else {
            out.push(range_root(start, k, nodes));
            m -= k;
            start += k;
            n -= k;
            whole = false;
        }
    }
    out.reverse();
    Some(out)
}

/// Every complete subtree's hash above the leaves, level by level (`out[l-1][i]` is node
/// `(l, i)`): what a stored tree over `leaves` must hold.
pub fn complete_levels(leaves: &[Hash]) -> Vec<Vec<Hash>> {
    let mut out: Vec<Vec<Hash>> = Vec::new();
    let mut cur: Vec<Hash> = pairs(leaves);
    while !cur.is_empty() {
        let next = pairs(&cur);
        out.push(cur);
        cur = next;
    }
    out
}

fn pairs(level: &[Hash]) -> Vec<Hash> {
    level
        .chunks_exact(2)
        .map(|p| node_hash(&p[0], &p[1]))
        .collect()
}
