//! Randomness: a seeded xoshiro256** with integer-only sampling, keyed permutations and
//! weighted choices.

pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit mixing function (one splitmix64 step).
pub(crate) fn mix64(x: u64) -> u64 {
    let mut s = x;
    splitmix64(&mut s)
}

/// xoshiro256**, seeded through splitmix64.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut s = [0u64; 4];
        for slot in &mut s {
            *slot = splitmix64(&mut x);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.s;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// Uniform in `0..n` (0 when `n` is 0), by multiply-shift.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi` (`lo` when the range is empty).
    pub(crate) fn between(&mut self, lo: i32, hi: i32) -> i32 {
        if hi <= lo {
            return lo;
        }
        let span = u64::from(hi.abs_diff(lo)) + 1;
        lo + i32::try_from(self.below(span)).unwrap_or(0)
    }

    /// True with probability `p` per mille.
    pub(crate) fn per_mille(&mut self, p: u64) -> bool {
        self.below(1000) < p
    }
}

/// A keyed bijection on `0..2^(2 * half_bits)`: a four-round Feistel network.
pub(crate) fn feistel(x: u64, half_bits: u32, key: u64) -> u64 {
    let mask = (1u64 << half_bits) - 1;
    let mut l = (x >> half_bits) & mask;
    let mut r = x & mask;
    for round in 0..4u64 {
        let f = mix64(key ^ round.wrapping_mul(0xA076_1D64_78BD_642F) ^ r) & mask;
        (l, r) = (r, l ^ f);
    }
    (l << half_bits) | r
}

/// A keyed bijection on `0..n` for `x < n <= 2^(2 * half_bits)`, by cycle walking: the walk
/// returns below `n` at the latest when the cycle comes back to `x`.
pub(crate) fn permute(x: u64, n: u64, half_bits: u32, key: u64) -> u64 {
    let mut y = feistel(x, half_bits, key);
    while y >= n {
        y = feistel(y, half_bits, key);
    }
    y
}

/// A fixed hash for geography (villages and streets of a commune): the same for every seed.
pub(crate) fn geo(code: u32, salt: u64) -> u64 {
    mix64((u64::from(code) << 24) ^ salt ^ 0x5EED_0F0A_11CE)
}

/// A weighted choice among values, by binary search in cumulative integer weights.
#[derive(Debug, Clone)]
pub(crate) struct Pick<T> {
    items: Vec<T>,
    cum: Vec<u64>,
    total: u64,
}

impl<T: Copy + Default> Pick<T> {
    pub(crate) fn new(pairs: impl IntoIterator<Item = (T, u64)>) -> Pick<T> {
        let mut items = Vec::new();
        let mut cum = Vec::new();
        let mut total = 0u64;
        for (item, weight) in pairs {
            if weight == 0 {
                continue;
            }
            total += weight;
            items.push(item);
            cum.push(total);
        }
        Pick { items, cum, total }
    }

    pub(crate) fn of(table: &[(T, u16)]) -> Pick<T> {
        Pick::new(table.iter().map(|&(t, w)| (t, u64::from(w))))
    }

    /// The value where `r` (taken modulo the total weight) falls.
    pub(crate) fn at(&self, r: u64) -> T {
        let r = r.checked_rem(self.total).unwrap_or(0);
        let i = self.cum.partition_point(|&c| c <= r);
        self.items.get(i).copied().unwrap_or_default()
    }

    pub(crate) fn pick(&self, rng: &mut Rng) -> T {
        self.at(rng.below(self.total))
    }
}

/// Ages from piecewise-constant weights: `(from, to, weight per year)`, both ends inclusive.
pub(crate) fn ages(pieces: &[(i32, i32, u64)]) -> Pick<i32> {
    Pick::new(
        pieces
            .iter()
            .flat_map(|&(from, to, w)| (from..=to).map(move |a| (a, w))),
    )
}
