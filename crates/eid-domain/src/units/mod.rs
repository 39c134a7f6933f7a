//! Vietnam's administrative units, in both trees the register has to know.
//!
//! Until 30 June 2025 the country had three levels: 63 provinces (tỉnh, thành phố), 696
//! districts (quận, huyện, thị xã, thành phố thuộc tỉnh) and about ten thousand communes (xã,
//! phường, thị trấn): the [`Tree::Gso2024`] tree. From 1 July 2025 (Resolution 202/2025/QH15)
//! it has two: 34 provinces and 3,321 communes (xã, phường, đặc khu): [`Tree::Gso2025`].
//!
//! Units are named by their GSO code, zero-padded to the width of their level: 2 digits for a
//! province, 3 for a district, 5 for a commune ([`UnitCode`]). A 2025 commune reuses the code of
//! one of the old communes merged into it, so one code can name two different units (commune
//! `00004` is Phường Trúc Bạch in 2024 and Phường Ba Đình in 2025): every lookup takes a
//! [`Tree`].
//!
//! The data is `data/admin-units.tsv`, derived by `tools/derive-admin-units.py` from the GSO lists
//! as packaged by the PyPI package vietnam-provinces, compiled into the binary and parsed once
//! ([`Units::get`]). The old-to-new mappings are the province merger table, and for communes only
//! what the data shows: an old commune whose code the 2025 tree reuses maps to that commune; the
//! others have no known mapping.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;

use time::macros::date;
use time::Date;

use crate::name::fold;

mod code;
mod load;
mod tree;

pub use code::{UnitCode, UnitError};
pub use tree::{Unit, Units};

/// The shipped data. See its header for the source and the counts.
const DATA: &str = include_str!("../../data/admin-units.tsv");

/// Which tree of administrative units a code belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tree {
    /// Three levels (province, district, commune), in force until 2025-06-30.
    Gso2024,
    /// Two levels (province, commune), in force from 2025-07-01.
    Gso2025,
}

/// The last day of the three-level tree.
const LAST_DAY_2024: Date = date!(2025 - 06 - 30);
/// The first day of the two-level tree.
const FIRST_DAY_2025: Date = date!(2025 - 07 - 01);

impl Tree {
    /// Both trees, oldest first.
    pub const ALL: [Tree; 2] = [Tree::Gso2024, Tree::Gso2025];

    /// The days the tree is in force: (first day, last day), both inclusive, `None` when open.
    pub fn in_force(self) -> (Option<Date>, Option<Date>) {
        match self {
            Tree::Gso2024 => (None, Some(LAST_DAY_2024)),
            Tree::Gso2025 => (Some(FIRST_DAY_2025), None),
        }
    }

    /// The tree in force on `date`.
    pub fn at(date: Date) -> Tree {
        if date <= LAST_DAY_2024 {
            Tree::Gso2024
        } else {
            Tree::Gso2025
        }
    }

    /// `"2024"` or `"2025"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tree::Gso2024 => "2024",
            Tree::Gso2025 => "2025",
        }
    }

    /// The inverse of [`Tree::as_str`]: exactly `"2024"` or `"2025"`.
    pub fn parse(s: &str) -> Option<Tree> {
        match s {
            "2024" => Some(Tree::Gso2024),
            "2025" => Some(Tree::Gso2025),
            _ => None,
        }
    }
}

impl fmt::Display for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The level of a unit, from the root down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// The country itself, the root of both trees ([`UnitCode::NATION`]).
    Nation,
    /// Tỉnh or thành phố trực thuộc trung ương; 2-digit codes.
    Province,
    /// Quận, huyện, thị xã or thành phố thuộc tỉnh; 3-digit codes; only in [`Tree::Gso2024`].
    District,
    /// Xã, phường, thị trấn or đặc khu; 5-digit codes.
    Commune,
}

impl Level {
    /// `"nation"`, `"province"`, `"district"` or `"commune"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Nation => "nation",
            Level::Province => "province",
            Level::District => "district",
            Level::Commune => "commune",
        }
    }

    /// How many digits a code of this level has (the 2 letters of `VN` for the nation).
    fn width(self) -> usize {
        match self {
            Level::Nation | Level::Province => 2,
            Level::District => 3,
            Level::Commune => 5,
        }
    }

    /// The largest code of this level (0 for the nation, whose code has no number).
    fn max(self) -> u32 {
        match self {
            Level::Nation => 0,
            Level::Province => 99,
            Level::District => 999,
            Level::Commune => 99_999,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
