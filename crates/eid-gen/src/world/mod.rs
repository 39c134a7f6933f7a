//! The world: communes, provinces and every table, built once.

use eid_domain::{Level, Sex, Tree, UnitCode, Units};
use time::Date;

use crate::names::{self, Ethnic, Region, Village};
use crate::naming::NameTables;
use crate::rng::{ages, geo, Pick, Rng};
use crate::{GenConfig, EARLIEST};

mod household;
mod person;

/// How urban a commune is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Phường.
    Ward,
    /// Thị trấn.
    Town,
    /// Xã.
    Rural,
}

/// What decides phones, cards and family size: urban, rural, or a rural minority household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    Urban,
    Rural,
    Remote,
}

impl Tier {
    fn index(self) -> usize {
        match self {
            Tier::Urban => 0,
            Tier::Rural => 1,
            Tier::Remote => 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Shape {
    #[default]
    Single,
    Couple,
    Nuclear,
    SingleParent,
    ThreeGenerations,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Commune {
    code: UnitCode,
    district: Option<UnitCode>,
    province: u8,
    kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) struct Province {
    num: u8,
    code: UnitCode,
    /// The province's communes: `communes[lo..hi]`.
    lo: usize,
    hi: usize,
    districts: Vec<UnitCode>,
    minorities: &'static [(Ethnic, u16)],
    region: Region,
    villages: Pick<Village>,
}

pub(crate) struct World {
    today: Date,
    today_jd: i32,
    earliest_jd: i32,
    seed: u64,
    communes: Vec<Commune>,
    /// Cumulative residence weights of `communes`, over the whole country.
    commune_cum: Vec<u64>,
    provinces: Vec<Province>,
    /// Province number → index in `provinces`.
    province_pos: [Option<usize>; 100],
    /// Provinces weighted by population, for the birthplaces and origins of migrants.
    by_population: Pick<usize>,
    /// Where residents are drawn from: `communes[home.0..home.1]`.
    home: (usize, usize),
    names: NameTables,
    shapes: [Pick<Shape>; 3],
    kids: [Pick<i32>; 3],
    father_nuclear: Pick<i32>,
    father_three: Pick<i32>,
    husband_young: Pick<i32>,
    husband_old: Pick<i32>,
    single_young: Pick<i32>,
    single_old: Pick<i32>,
    single_parent: Pick<i32>,
    first_birth: Pick<i32>,
    spacing: Pick<i32>,
    spouse_gap: Pick<i32>,
    grand_gap: Pick<i32>,
    /// Indices into [`names::PHONE_PREFIXES`]: under 35, from 35.
    phone_young: Pick<usize>,
    phone_old: Pick<usize>,
}

/// Counters that make IDs, phone numbers and household IDs unique.
pub(crate) struct Counters {
    /// Next serial per (birth province, century and sex digit, two-digit year).
    pub(crate) ids: Vec<u32>,
    /// Next subscriber number per phone prefix.
    pub(crate) phones: Vec<u32>,
    pub(crate) households: u64,
}

/// One member of a household being built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    sex: Sex,
    age: i32,
    family: &'static str,
    born_in: u8,
    hometown: Option<UnitCode>,
    /// A son or daughter of the couple (who may study or work elsewhere).
    child: bool,
}

/// What the members of a household share.
pub(crate) struct Household {
    commune: usize,
    province: usize,
    eth: Ethnic,
    tier: Tier,
    rural: bool,
    address: String,
    id: String,
}

impl World {
    /// The world of `cfg`; the provinces in `heavy` (numbers) together hold `heavy_pct` % of
    /// the residents, in equal shares, and the others the rest, by population.
    pub(crate) fn new(cfg: &GenConfig, heavy: &[u8], heavy_pct: u64) -> Result<World, String> {
        let units = Units::get();
        let heavy_pct = if heavy.is_empty() {
            0
        } else {
            heavy_pct.min(99)
        };
        let light: u64 = names::PROVINCES
            .iter()
            .filter(|(n, _)| !heavy.contains(n))
            .map(|&(_, p)| u64::from(p))
            .sum();
        let heavy_pop = (light * heavy_pct / (100 - heavy_pct))
            .checked_div(heavy.len() as u64)
            .unwrap_or(0)
            .max(1);
        let wanted = match cfg.province {
            None => None,
            Some(code) => {
                if code.level() != Level::Province {
                    return Err(format!(
                        "{code} is not a province code (provinces have 2 digits)"
                    ));
                }
                if units.unit(Tree::Gso2024, &code).is_none() {
                    return Err(format!("unknown province {code} in the 2024 tree"));
                }
                Some(code)
            }
        };

        let mut communes = Vec::with_capacity(10_100);
        let mut commune_cum = Vec::with_capacity(10_100);
        let mut provinces = Vec::with_capacity(63);
        let mut province_pos = [None; 100];
        let mut population = Vec::with_capacity(63);
        let mut home = None;
        let mut total = 0u64;
        for unit in units.provinces(Tree::Gso2024) {
            let Ok(num) = u8::try_from(unit.code.number()) else {
                continue;
            };
            let pop = names::PROVINCES
                .iter()
                .find(|(n, _)| *n == num)
                .map_or(1000, |&(_, p)| p);
            let weighed = if heavy.contains(&num) {
                heavy_pop
            } else {
                u64::from(pop)
            };
            let lo = communes.len();
            let in_province: Vec<Commune> = units
                .communes_under(Tree::Gso2024, &unit.code)
                .into_iter()
                .map(|c| Commune {
                    code: c.code,
                    district: c.parent,
                    province: num,
                    kind: match (c.urban, c.folded.starts_with("phuong")) {
                        (true, true) => Kind::Ward,
                        (true, false) => Kind::Town,
                        (false, _) => Kind::Rural,
                    },
                })
                .collect();
            if in_province.is_empty() {
                continue;
            }
            let weight = |c: &Commune| match c.kind {
                Kind::Ward => 25u64,
                Kind::Town => 16,
                Kind::Rural => 10,
            };
            let sum: u64 = in_province.iter().map(weight).sum();
            for c in &in_province {
                total += (weighed * 1_000_000 * weight(c) / sum.max(1)).max(1);
                commune_cum.push(total);
            }
            communes.extend(in_province);
            let hi = communes.len();
            if wanted == Some(unit.code) {
                home = Some((lo, hi));
            }
            if let Some(slot) = province_pos.get_mut(usize::from(num)) {
                *slot = Some(provinces.len());
            }
            population.push((provinces.len(), u64::from(pop)));
            provinces.push(Province {
                num,
                code: unit.code,
                lo,
                hi,
                districts: units
                    .children(Tree::Gso2024, &unit.code)
                    .iter()
                    .map(|d| d.code)
                    .collect(),
                minorities: names::minorities(num),
                region: names::region(num),
                villages: Pick::of(names::villages(num)),
            });
        }
        let home = match (wanted, home) {
            (None, _) => (0, communes.len()),
            (Some(_), Some(range)) => range,
            (Some(code), None) => {
                return Err(format!("province {code} has no communes in the 2024 tree"))
            }
        };
        if home.0 >= home.1 {
            return Err("the 2024 tree has no communes".to_owned());
        }

        let shapes = |single, couple, nuclear, parent, three| {
            Pick::new([
                (Shape::Single, single),
                (Shape::Couple, couple),
                (Shape::Nuclear, nuclear),
                (Shape::SingleParent, parent),
                (Shape::ThreeGenerations, three),
            ])
        };
        let prefixes = |old: bool| {
            Pick::new(
                names::PHONE_PREFIXES
                    .iter()
                    .enumerate()
                    .map(|(i, &(_, young, older))| (i, u64::from(if old { older } else { young }))),
            )
        };
        Ok(World {
            today: cfg.today,
            today_jd: cfg.today.to_julian_day(),
            earliest_jd: EARLIEST.to_julian_day(),
            seed: cfg.seed,
            communes,
            commune_cum,
            provinces,
            province_pos,
            by_population: Pick::new(population),
            home,
            names: NameTables::new(),
            shapes: [
                shapes(120, 130, 480, 60, 210),
                shapes(90, 120, 470, 50, 270),
                shapes(50, 80, 520, 40, 310),
            ],
            kids: [
                Pick::new([(1, 30), (2, 50), (3, 15), (4, 5)]),
                Pick::new([(1, 22), (2, 48), (3, 22), (4, 8)]),
                Pick::new([(1, 15), (2, 30), (3, 30), (4, 25)]),
            ],
            father_nuclear: ages(&[
                (23, 27, 3),
                (28, 32, 7),
                (33, 37, 10),
                (38, 42, 11),
                (43, 47, 11),
                (48, 52, 10),
                (53, 57, 7),
                (58, 64, 3),
            ]),
            father_three: ages(&[
                (23, 27, 7),
                (28, 32, 11),
                (33, 37, 11),
                (38, 42, 9),
                (43, 47, 6),
                (48, 52, 3),
            ]),
            husband_young: ages(&[(21, 25, 8), (26, 30, 10), (31, 35, 5)]),
            husband_old: ages(&[
                (48, 54, 6),
                (55, 59, 9),
                (60, 64, 11),
                (65, 69, 11),
                (70, 74, 9),
                (75, 79, 7),
                (80, 84, 4),
                (85, 92, 1),
            ]),
            single_young: ages(&[
                (18, 22, 6),
                (23, 27, 8),
                (28, 34, 8),
                (35, 44, 6),
                (45, 59, 6),
            ]),
            single_old: ages(&[
                (60, 64, 4),
                (65, 69, 6),
                (70, 74, 7),
                (75, 79, 7),
                (80, 84, 6),
                (85, 89, 4),
                (90, 94, 2),
                (95, 100, 1),
            ]),
            single_parent: ages(&[(25, 29, 4), (30, 39, 8), (40, 49, 7), (50, 55, 3)]),
            first_birth: ages(&[
                (20, 21, 10),
                (22, 24, 14),
                (25, 27, 10),
                (28, 30, 6),
                (31, 34, 3),
                (35, 38, 1),
            ]),
            spacing: ages(&[(2, 2, 6), (3, 3, 8), (4, 4, 6), (5, 5, 4), (6, 8, 2)]),
            spouse_gap: ages(&[
                (-3, -1, 1),
                (0, 1, 6),
                (2, 3, 8),
                (4, 5, 6),
                (6, 8, 3),
                (9, 12, 1),
            ]),
            grand_gap: ages(&[
                (20, 22, 3),
                (23, 26, 8),
                (27, 30, 8),
                (31, 35, 5),
                (36, 40, 2),
            ]),
            phone_young: prefixes(false),
            phone_old: prefixes(true),
        })
    }

    fn province(&self, num: u8) -> Option<usize> {
        *self.province_pos.get(usize::from(num))?
    }

    /// A commune of `communes[lo..hi]`, weighted.
    fn pick_commune(&self, rng: &mut Rng, lo: usize, hi: usize) -> usize {
        let base = lo
            .checked_sub(1)
            .and_then(|i| self.commune_cum.get(i))
            .copied()
            .unwrap_or(0);
        let top = hi
            .checked_sub(1)
            .and_then(|i| self.commune_cum.get(i))
            .copied()
            .unwrap_or(0);
        let r = base + rng.below(top.saturating_sub(base));
        self.commune_cum
            .partition_point(|&c| c <= r)
            .clamp(lo, hi.saturating_sub(1))
    }

    /// A province (index) weighted by population.
    fn random_province(&self, rng: &mut Rng) -> usize {
        self.by_population.pick(rng)
    }

    /// Where a lineage comes from: the residence province with probability `local` per mille
    /// (nearly always for minorities), else anywhere, weighted by population.
    fn origin(&self, rng: &mut Rng, residence: usize, minority: bool, local: u64) -> usize {
        if rng.per_mille(if minority { 970 } else { local }) {
            residence
        } else {
            self.random_province(rng)
        }
    }

    /// The province (number) a birth was registered in: usually `usual`.
    fn born_in(&self, rng: &mut Rng, usual: usize, per_mille: u64) -> u8 {
        let p = if rng.per_mille(per_mille) {
            usual
        } else {
            self.random_province(rng)
        };
        self.provinces.get(p).map_or(1, |p| p.num)
    }

    /// A hometown (quê quán) in the province `origin`: mostly a district, sometimes the province
    /// or a commune; the residence's own district or commune when the lineage is local; a few
    /// unknown.
    fn hometown(&self, rng: &mut Rng, origin: usize, residence: &Commune) -> Option<UnitCode> {
        let p = self.provinces.get(origin)?;
        let local = p.num == residence.province;
        let r = rng.below(1000);
        if r < 25 {
            return None;
        }
        if r < 620 {
            if local && rng.per_mille(600) {
                if let Some(d) = residence.district {
                    return Some(d);
                }
            }
            let n = p.districts.len() as u64;
            if n > 0 {
                return p
                    .districts
                    .get(usize::try_from(rng.below(n)).ok()?)
                    .copied();
            }
            return Some(p.code);
        }
        if r < 930 {
            return Some(p.code);
        }
        if local && rng.per_mille(500) {
            return Some(residence.code);
        }
        let i = p.lo + usize::try_from(rng.below((p.hi - p.lo) as u64)).ok()?;
        self.communes.get(i).map(|c| c.code)
    }

    /// An address within commune `c`: street and alley in wards, tổ dân phố or street in towns,
    /// a village (the same few villages for every household of the commune) in the country.
    fn address(&self, rng: &mut Rng, c: &Commune, p: &Province) -> String {
        let code = c.code.number();
        let south = p.num >= 48;
        let street = |rng: &mut Rng| {
            let count = 4 + geo(code, 1) % 9;
            let s = rng.below(count);
            let name = names::STREETS
                .get(usize::try_from(geo(code, 100 + s) % names::STREETS.len() as u64).unwrap_or(0))
                .copied()
                .unwrap_or("Lê Lợi");
            let road = if matches!(p.num, 1 | 31) && geo(code, 200 + s) & 3 != 0 {
                "phố"
            } else {
                "đường"
            };
            (road, name)
        };
        let n = 1 + rng.below(180);
        let k = 1 + rng.below(if south { 12 } else { 25 });
        match c.kind {
            Kind::Ward => {
                let (road, name) = street(rng);
                let r = rng.below(100);
                let m = 1 + rng.below(160);
                match names::alley(p.num) {
                    "hẻm" => {
                        let m = 2 * m + 1 + rng.below(300);
                        match r {
                            0..=34 => format!("Số {m}/{n} đường {name}, khu phố {k}"),
                            35..=54 => format!("Số {n}, hẻm {m}, đường {name}"),
                            55..=84 => format!("Số {n}, đường {name}, khu phố {k}"),
                            _ => format!(
                                "Số {m}/{}/{} đường {name}",
                                1 + rng.below(40),
                                1 + rng.below(30)
                            ),
                        }
                    }
                    alley => match r {
                        0..=39 => format!("Số {n}, {alley} {m}, {road} {name}"),
                        40..=79 => format!("Số {n}, {road} {name}"),
                        _ if alley == "kiệt" => format!("Số {n}, tổ {k}"),
                        _ => format!("Số {n}, tổ dân phố {k}"),
                    },
                }
            }
            Kind::Town => {
                if rng.per_mille(500) {
                    let (road, name) = street(rng);
                    format!("Số {n}, {road} {name}")
                } else if p.num == 25 {
                    format!("Khu {k}")
                } else if south {
                    format!("Khu phố {k}")
                } else {
                    format!("Tổ dân phố {k}")
                }
            }
            Kind::Rural => {
                let count = 5 + geo(code, 2) % 12;
                let v = 1 + rng.below(count);
                // One kind of village per commune: bản in the hills, thôn in the plain.
                let style = p.villages.at(geo(code, 300));
                let names = style.names();
                let named =
                    !names.is_empty() && geo(code, 400 + v) % 1000 >= style.numbered_per_mille();
                let village = if named {
                    let i = usize::try_from(geo(code, 500 + v) % names.len() as u64).unwrap_or(0);
                    names.get(i).copied().unwrap_or("Đông").to_owned()
                } else {
                    v.to_string()
                };
                if style == Village::Ap && rng.per_mille(300) {
                    format!(
                        "Số {}, {} {village}",
                        1 + rng.below(400),
                        style.word_lower()
                    )
                } else {
                    format!("{} {village}", style.word())
                }
            }
        }
    }

    /// The naming system of a household of province `p`: minorities live mostly in rural
    /// communes.
    fn ethnic(&self, rng: &mut Rng, p: &Province, urban: bool) -> Ethnic {
        let scaled = |w: u16| -> u64 {
            let w = u64::from(w);
            if urban {
                w * 35 / 100
            } else {
                w * 125 / 100
            }
        };
        let total: u64 = p.minorities.iter().map(|&(_, w)| scaled(w)).sum();
        let out_of = total.max(1000);
        let mut r = rng.below(out_of);
        for &(eth, w) in p.minorities {
            let w = scaled(w);
            if r < w {
                return eth;
            }
            r -= w;
        }
        Ethnic::Kinh
    }
}
