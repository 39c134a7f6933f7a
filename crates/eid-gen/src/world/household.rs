//! Households: a commune, an ethnic naming system, a shape, and members with coherent ages.

use std::collections::VecDeque;

use eid_domain::{Person, Sex, UnitCode};

use super::{Counters, Household, Kind, Member, Shape, Tier, World};
use crate::rng::Rng;
use crate::MAX_AGE;

impl World {
    pub(crate) fn household(&self, rng: &mut Rng, ctr: &mut Counters, out: &mut VecDeque<Person>) {
        let ci = self.pick_commune(rng, self.home.0, self.home.1);
        let Some(commune) = self.communes.get(ci).copied() else {
            return;
        };
        let Some(pi) = self.province(commune.province) else {
            return;
        };
        let Some(p) = self.provinces.get(pi) else {
            return;
        };
        let urban = commune.kind != Kind::Rural;
        let eth = self.ethnic(rng, p, urban);
        let minority = eth.minority();
        let tier = match (urban, minority) {
            (true, _) => Tier::Urban,
            (false, false) => Tier::Rural,
            (false, true) => Tier::Remote,
        };
        ctr.households += 1;
        let hh = Household {
            commune: ci,
            province: pi,
            eth,
            tier,
            rural: !urban,
            address: self.address(rng, &commune, p),
            id: format!("HK{:02}-{:07}", p.num, ctr.households),
        };

        let origin_f = self.origin(rng, pi, minority, 850);
        let origin_m = self.origin(rng, pi, minority, 800);
        let home_f = self.hometown(rng, origin_f, &commune);
        let home_m = self.hometown(rng, origin_m, &commune);
        let fam_f = self.names.family(rng, eth, p.region);
        let mut fam_m = self.names.family(rng, eth, p.region);
        // Clans marry out.
        for _ in 0..4 {
            if !eth.matrilineal() || fam_m != fam_f {
                break;
            }
            fam_m = self.names.family(rng, eth, p.region);
        }
        let matrilineal = eth.matrilineal();
        let kids_family = if matrilineal { fam_m } else { fam_f };

        let mut members: Vec<Member> = Vec::with_capacity(7);
        let adult = |sex, age, family, born_in, hometown| Member {
            sex,
            age,
            family,
            born_in,
            hometown,
            child: false,
        };
        // A husband and wife, each with their own family name, birthplace and hometown.
        let couple = |rng: &mut Rng, members: &mut Vec<Member>, husband, wife| {
            members.push(adult(
                Sex::Male,
                husband,
                fam_f,
                self.born_in(rng, origin_f, 900),
                home_f,
            ));
            members.push(adult(
                Sex::Female,
                wife,
                fam_m,
                self.born_in(rng, origin_m, 900),
                home_m,
            ));
        };
        match self
            .shapes
            .get(tier.index())
            .map_or(Shape::Nuclear, |s| s.pick(rng))
        {
            Shape::Single => {
                let old = rng.per_mille(if tier == Tier::Urban { 400 } else { 520 });
                let (age, sex) = if old {
                    (
                        self.single_old.pick(rng),
                        if rng.per_mille(700) {
                            Sex::Female
                        } else {
                            Sex::Male
                        },
                    )
                } else {
                    (
                        self.single_young.pick(rng),
                        if rng.per_mille(550) {
                            Sex::Male
                        } else {
                            Sex::Female
                        },
                    )
                };
                members.push(adult(
                    sex,
                    age,
                    fam_f,
                    self.born_in(rng, origin_f, 900),
                    home_f,
                ));
            }
            Shape::Couple => {
                let husband = if rng.per_mille(250) {
                    self.husband_young.pick(rng)
                } else {
                    self.husband_old.pick(rng)
                };
                let wife = (husband - self.spouse_gap.pick(rng)).max(18);
                couple(rng, &mut members, husband, wife);
            }
            Shape::Nuclear => {
                let shift = if tier == Tier::Remote { 3 } else { 0 };
                let father = (self.father_nuclear.pick(rng) - shift).max(21);
                let mother = (father - self.spouse_gap.pick(rng)).max(19);
                couple(rng, &mut members, father, mother);
                self.children(
                    rng,
                    &mut members,
                    (father, mother),
                    4,
                    tier,
                    kids_family,
                    (pi, origin_f),
                    home_f,
                );
            }
            Shape::SingleParent => {
                let age = self.single_parent.pick(rng);
                let (sex, family, origin, home) = if rng.per_mille(800) {
                    (Sex::Female, fam_m, origin_m, home_m)
                } else {
                    (Sex::Male, fam_f, origin_f, home_f)
                };
                members.push(adult(
                    sex,
                    age,
                    family,
                    self.born_in(rng, origin, 900),
                    home,
                ));
                // The absent parent's family name, where children take it.
                let kids_family = match (sex, matrilineal) {
                    (Sex::Female, false) | (Sex::Male, true) => {
                        self.names.family(rng, eth, p.region)
                    }
                    _ => family,
                };
                self.children(
                    rng,
                    &mut members,
                    (age, age),
                    3,
                    tier,
                    kids_family,
                    (pi, origin),
                    home,
                );
            }
            Shape::ThreeGenerations => {
                let shift = if tier == Tier::Remote { 2 } else { 0 };
                let father = (self.father_three.pick(rng) - shift).max(21);
                let mother = (father - self.spouse_gap.pick(rng)).max(19);
                // Mostly the husband's parents; sometimes the wife's.
                let maternal = rng.per_mille(150);
                let (anchor, line_family, line_origin, line_home) = if maternal {
                    (mother, fam_m, origin_m, home_m)
                } else {
                    (father, fam_f, origin_f, home_f)
                };
                let grandpa = anchor + self.grand_gap.pick(rng);
                let grandma = (grandpa - self.spouse_gap.pick(rng)).max(anchor + 20);
                let other_family = self.names.family(rng, eth, p.region);
                let other_origin = self.origin(rng, line_origin, minority, 700);
                let other_home = self.hometown(rng, other_origin, &commune);
                // The grandparent who passed the family name on shares the hometown too.
                let (pa_family, pa_home, ma_family, ma_home) = if matrilineal {
                    (other_family, other_home, line_family, line_home)
                } else {
                    (line_family, line_home, other_family, other_home)
                };
                let both = rng.per_mille(600);
                if (both || rng.per_mille(300)) && grandpa <= MAX_AGE {
                    members.push(adult(
                        Sex::Male,
                        grandpa,
                        pa_family,
                        self.born_in(rng, line_origin, 950),
                        pa_home,
                    ));
                }
                if (both || members.is_empty()) && grandma <= MAX_AGE {
                    members.push(adult(
                        Sex::Female,
                        grandma,
                        ma_family,
                        self.born_in(rng, line_origin, 900),
                        ma_home,
                    ));
                }
                couple(rng, &mut members, father, mother);
                self.children(
                    rng,
                    &mut members,
                    (father, mother),
                    3,
                    tier,
                    kids_family,
                    (pi, origin_f),
                    home_f,
                );
            }
        }

        for m in &members {
            if let Some(person) = self.person(rng, ctr, &hh, m) {
                out.push_back(person);
            }
        }
    }

    /// Children of parents aged `(father, mother)` (equal for a single parent), oldest first:
    /// the mother 20–38 at the first birth, 2–8 years apart, most over 25 gone to their own home.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn children(
        &self,
        rng: &mut Rng,
        members: &mut Vec<Member>,
        (father, mother): (i32, i32),
        max: i32,
        tier: Tier,
        family: &'static str,
        (residence, origin): (usize, usize),
        hometown: Option<UnitCode>,
    ) {
        let wanted = self
            .kids
            .get(tier.index())
            .map_or(2, |k| k.pick(rng))
            .min(max);
        let first = self
            .first_birth
            .pick(rng)
            .max(20 + (mother - father).max(0));
        let youngest_possible = father.max(mother) - 45;
        let mut age = mother - first;
        for i in 0..wanted {
            if i > 0 {
                age -= self.spacing.pick(rng);
            }
            if age < 0 || age < youngest_possible {
                break;
            }
            let gone = match age {
                ..=17 => 0,
                18..=22 => 100,
                23..=25 => 350,
                26..=30 => 700,
                _ => 920,
            };
            if rng.per_mille(gone) {
                continue;
            }
            let boys = if self.today.year() - age >= 2005 {
                530
            } else {
                510
            };
            let sex = if rng.per_mille(boys) {
                Sex::Male
            } else {
                Sex::Female
            };
            let born_in = if rng.per_mille(880) {
                self.provinces.get(residence).map_or(1, |p| p.num)
            } else {
                self.provinces.get(origin).map_or(1, |p| p.num)
            };
            members.push(Member {
                sex,
                age,
                family,
                born_in,
                hometown,
                child: true,
            });
        }
    }
}
