//! Splitting a quota down the unit tree, and checking a split.

use super::*;

/// Splits a parent quota among children in proportion to their weights (for example their
/// eligible population), by the largest-remainder method.
///
/// Each child first gets the whole part of its exact share `total × weight ÷ Σ weights`; what is
/// left (fewer units than there are children) goes one by one to the children with the largest
/// fractional parts, earlier children first among equals. The parts therefore always add up to
/// `total` exactly and each differs from its exact share by less than one. If every weight is
/// zero the total is split evenly the same way. With no children the result is empty.
pub fn split_proportional<K: Clone>(total: u64, weights: &[(K, u64)]) -> Vec<(K, u64)> {
    let all_zero = weights.iter().all(|(_, w)| *w == 0);
    let weight = |w: u64| if all_zero { 1 } else { u128::from(w) };
    let sum: u128 = weights.iter().map(|(_, w)| weight(*w)).sum();
    if sum == 0 {
        return Vec::new();
    }
    let total_wide = u128::from(total);

    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, (_, w)) in weights.iter().enumerate() {
        // total and w are both below 2^64, so the product fits in a u128.
        let exact = total_wide * weight(*w);
        // A share is at most the total, so it fits in a u64.
        parts.push(u64::try_from(exact / sum).unwrap_or(total));
        remainders.push((i, exact % sum));
    }
    let given: u128 = parts.iter().map(|&p| u128::from(p)).sum();
    let leftover = usize::try_from(total_wide.saturating_sub(given)).unwrap_or(usize::MAX);
    remainders.sort_by_key(|&(i, r)| (Reverse(r), i));
    for &(i, _) in remainders.iter().take(leftover) {
        if let Some(part) = parts.get_mut(i) {
            *part += 1;
        }
    }
    weights
        .iter()
        .zip(parts)
        .map(|((key, _), part)| (key.clone(), part))
        .collect()
}

/// Whether children's quotas add up to their parent's. See [`check_split`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitCheck {
    /// The parent's quota.
    pub parent: u64,
    /// The sum of the children's quotas.
    pub children_sum: u128,
    /// `children_sum − parent`: positive when the children were given more than the parent
    /// has, negative when part of the parent's quota was not given to any child.
    pub difference: i128,
    /// Whether the sum equals the parent's quota.
    pub matches: bool,
}

/// Compares a parent's quota with the sum of its children's.
pub fn check_split(parent: u64, children: &[u64]) -> SplitCheck {
    let children_sum: u128 = children.iter().map(|&c| u128::from(c)).sum();
    let difference = i128::try_from(children_sum).unwrap_or(i128::MAX) - i128::from(parent);
    SplitCheck {
        parent,
        children_sum,
        difference,
        matches: difference == 0,
    }
}
