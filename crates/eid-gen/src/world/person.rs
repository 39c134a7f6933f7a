//! Persons: IDs, phones, temporary residence, life status and cards.

use eid_domain::person::birthday;
use eid_domain::{
    card_expiry, BirthDate, Card, LifeState, LifeStatus, Person, PersonalId, PhoneNumber,
    PhoneType, Residence, Sex,
};
use time::Date;

use super::{Counters, Household, Member, Tier, World};
use crate::names;
use crate::rng::{mix64, permute, Pick, Rng};
use crate::{
    CHILD_CARD_START, CHIP_START, MAX_AGE, OLD_CARD_END, OLD_CARD_START, SERIALS, SUBSCRIBERS,
};

impl World {
    pub(super) fn person(
        &self,
        rng: &mut Rng,
        ctr: &mut Counters,
        hh: &Household,
        m: &Member,
    ) -> Option<Person> {
        let max_age = MAX_AGE.min(self.today.year() - 1900);
        let age = m.age.clamp(0, max_age.max(0));
        let jd = self.today_jd - age * 365 - age / 4 - i32::try_from(rng.below(365)).unwrap_or(0);
        let born = Date::from_julian_day(jd.clamp(self.earliest_jd, self.today_jd)).ok()?;
        let year = born.year();
        let birth = if year < 1960 && rng.per_mille(30) {
            BirthDate::Year(year)
        } else {
            BirthDate::Full(born)
        };
        let born = birth.earliest()?;
        let name = self
            .names
            .name(rng, hh.eth, m.sex, year, hh.rural, m.family)?;
        let id = self.next_id(ctr, m.born_in, m.sex, year)?;
        let temporary = self.temporary(rng, hh, m, age);
        let phone_type = phone_type(rng, hh.tier, age);
        let phone = if phone_type != PhoneType::None && rng.per_mille(970) {
            self.phone(rng, ctr, age)
        } else {
            None
        };
        let life = self.life(rng, age, born);
        let end = match life.state {
            LifeState::Dead | LifeState::Emigrated => life.since.unwrap_or(self.today),
            LifeState::Alive | LifeState::Absent => self.today,
        };
        let card = self.card(rng, birth, born, age, hh.tier, end);
        let residence = Residence {
            unit: self.communes.get(hh.commune)?.code,
            address: hh.address.clone(),
        };
        Some(Person {
            id,
            name,
            birth,
            sex: m.sex,
            hometown: m.hometown,
            residence,
            temporary,
            household: Some(hh.id.clone()),
            phone,
            phone_type,
            life,
            card,
        })
    }

    /// The next unused personal ID for the prefix; another birth province if that prefix has run
    /// out of its million serials.
    pub(super) fn next_id(
        &self,
        ctr: &mut Counters,
        province: u8,
        sex: Sex,
        year: i32,
    ) -> Option<PersonalId> {
        let century = usize::try_from((year - 1900).div_euclid(100))
            .ok()
            .filter(|c| *c <= 4)?;
        let digit4 = century * 2 + usize::from(sex == Sex::Female);
        let yy = usize::try_from(year.rem_euclid(100)).ok()?;
        let start = self.province(province).unwrap_or(0);
        let n = self.provinces.len();
        for step in 0..n {
            let p = self.provinces.get((start + step) % n)?.num;
            let prefix = usize::from(p) * 1000 + digit4 * 100 + yy;
            let slot = ctr.ids.get_mut(prefix)?;
            if u64::from(*slot) < SERIALS {
                let k = u64::from(*slot);
                *slot += 1;
                let key = mix64(self.seed ^ mix64(0x4944_0000_0000 | prefix as u64));
                let serial = u32::try_from(permute(k, SERIALS, 10, key)).ok()?;
                return PersonalId::from_parts(p, sex, year, serial).ok();
            }
        }
        None
    }

    /// A fresh mobile number: the operator prefix by market share, the subscriber number from a
    /// per-prefix counter through a keyed permutation.
    pub(super) fn phone(&self, rng: &mut Rng, ctr: &mut Counters, age: i32) -> Option<PhoneNumber> {
        let table = if age >= 35 {
            &self.phone_old
        } else {
            &self.phone_young
        };
        let start = table.pick(rng);
        let n = names::PHONE_PREFIXES.len();
        for step in 0..n {
            let i = (start + step) % n;
            let &(prefix, _, _) = names::PHONE_PREFIXES.get(i)?;
            let slot = ctr.phones.get_mut(i)?;
            if u64::from(*slot) < SUBSCRIBERS {
                let k = u64::from(*slot);
                *slot += 1;
                let key = mix64(self.seed ^ mix64(0x5048_0000_0000 | u64::from(prefix)));
                let subscriber = permute(k, SUBSCRIBERS, 12, key);
                return PhoneNumber::parse(&format!("0{prefix:02}{subscriber:07}")).ok();
            }
        }
        None
    }

    /// A temporary residence elsewhere: mostly grown children studying or working away.
    pub(super) fn temporary(
        &self,
        rng: &mut Rng,
        hh: &Household,
        m: &Member,
        age: i32,
    ) -> Option<Residence> {
        let p = match age {
            18..=28 if m.child => 200,
            18..=60 => 10,
            _ => 0,
        };
        if !rng.per_mille(p) {
            return None;
        }
        let (lo, hi) = if rng.per_mille(550) {
            let p = self.provinces.get(hh.province)?;
            (p.lo, p.hi)
        } else {
            (0, self.communes.len())
        };
        let mut ci = self.pick_commune(rng, lo, hi);
        if ci == hh.commune {
            ci = self.pick_commune(rng, lo, hi);
        }
        if ci == hh.commune {
            return None;
        }
        let c = self.communes.get(ci)?;
        let p = self.provinces.get(self.province(c.province)?)?;
        Some(Residence {
            unit: c.code,
            address: self.address(rng, c, p),
        })
    }

    /// Alive, or dead (more likely when old), emigrated or absent (more likely of working age),
    /// with the date it happened.
    pub(super) fn life(&self, rng: &mut Rng, age: i32, born: Date) -> LifeStatus {
        let dead = match age {
            ..=14 => 60,
            15..=39 => 180,
            40..=59 => 500,
            60..=69 => 1500,
            70..=79 => 4200,
            _ => 11_000,
        };
        let emigrated = if (18..=50).contains(&age) { 650 } else { 150 };
        let absent = if (18..=45).contains(&age) { 800 } else { 250 };
        let r = rng.below(100_000);
        let (state, back, adult) = if r < dead {
            (LifeState::Dead, 3650, false)
        } else if r < dead + emigrated {
            (LifeState::Emigrated, 3650, true)
        } else if r < dead + emigrated + absent {
            (LifeState::Absent, 1095, true)
        } else {
            return LifeStatus::ALIVE;
        };
        let born_jd = born.to_julian_day();
        let lo = if adult {
            birthday(BirthDate::Full(born), 15)
                .map_or(born_jd, |d| d.to_julian_day())
                .min(self.today_jd)
        } else {
            born_jd
        };
        let mut jd = self.today_jd - 1 - i32::try_from(rng.below(back)).unwrap_or(0);
        if jd < lo {
            jd = rng.between(lo, self.today_jd);
        }
        LifeStatus {
            state,
            since: Date::from_julian_day(jd.clamp(born_jd, self.today_jd)).ok(),
        }
    }

    /// A CCCD card: most people from 14 have one, mostly from the 2021 campaign, some older
    /// 12-digit cards, renewed at 25, 40 and 60 when due; a few children under 14 since July 2024.
    /// Never before birth or after `end` (today, or the day the holder died or emigrated).
    pub(super) fn card(
        &self,
        rng: &mut Rng,
        birth: BirthDate,
        born: Date,
        age: i32,
        tier: Tier,
        end: Date,
    ) -> Option<Card> {
        let born_jd = born.to_julian_day();
        let end_jd = end.to_julian_day();
        let jd = |d: Date| d.to_julian_day();
        let issued = if age >= 14 {
            let share = match tier {
                Tier::Urban => 950,
                Tier::Rural => 920,
                Tier::Remote => 830,
            };
            if !rng.per_mille(share) {
                return None;
            }
            let fourteen = jd(birthday(birth, 14)?).max(born_jd);
            if fourteen > end_jd {
                return None;
            }
            if fourteen >= jd(CHIP_START) {
                // Carded soon after turning 14.
                rng.between(fourteen, (fourteen + 730).min(end_jd))
            } else {
                let old_lo = fourteen.max(jd(OLD_CARD_START));
                let old_hi = jd(OLD_CARD_END).min(end_jd);
                if rng.per_mille(150) && old_lo <= old_hi {
                    rng.between(old_lo, old_hi)
                } else if jd(CHIP_START) <= end_jd {
                    self.campaign_day(rng, jd(CHIP_START), end_jd)
                } else {
                    rng.between(fourteen, end_jd)
                }
            }
        } else {
            if age < 6 || !rng.per_mille(20) {
                return None;
            }
            let lo = born_jd.max(jd(CHILD_CARD_START));
            if lo > end_jd {
                return None;
            }
            rng.between(lo, end_jd)
        };
        let mut issued = Date::from_julian_day(issued).ok()?;
        // Renewal at the milestones, for most.
        for _ in 0..3 {
            match card_expiry(birth, issued) {
                Some(due) if due <= end && rng.per_mille(750) => {
                    let day = jd(due) - 90 + rng.between(0, 150);
                    let day = day.min(end_jd);
                    if day <= jd(issued) {
                        break;
                    }
                    issued = Date::from_julian_day(day).ok()?;
                }
                _ => break,
            }
        }
        Some(Card {
            issued,
            revoked: rng.below(100_000) < 200,
        })
    }

    /// A day in `lo..=hi` (both from 2021), weighted like the chip-card campaign: most in 2021.
    pub(super) fn campaign_day(&self, rng: &mut Rng, lo: i32, hi: i32) -> i32 {
        let (first, last) = match (Date::from_julian_day(lo), Date::from_julian_day(hi)) {
            (Ok(a), Ok(b)) => (a.year(), b.year()),
            _ => return rng.between(lo, hi),
        };
        let weight = |y: i32| match y {
            2021 => 45u64,
            2022 => 20,
            2023 => 15,
            2024 => 10,
            2025 => 6,
            _ => 4,
        };
        let years = Pick::new((first..=last).map(|y| (y, weight(y))));
        let year = years.pick(rng);
        let start = Date::from_ordinal_date(year, 1)
            .map_or(lo, |d| d.to_julian_day())
            .max(lo);
        let stop = Date::from_ordinal_date(year + 1, 1)
            .map_or(hi, |d| d.to_julian_day() - 1)
            .min(hi);
        if start <= stop {
            rng.between(start, stop)
        } else {
            rng.between(lo, hi)
        }
    }
}

/// The kind of phone, by age and tier: no phone for young children; smartphones for most urban
/// teenagers and adults; basic phones or none for many elderly and remote villagers.
fn phone_type(rng: &mut Rng, tier: Tier, age: i32) -> PhoneType {
    let band = match age {
        ..=9 => return PhoneType::None,
        10..=14 => 0,
        15..=17 => 1,
        18..=39 => 2,
        40..=59 => 3,
        60..=74 => 4,
        _ => 5,
    };
    // (none, basic) per mille; the rest smartphones.
    const URBAN: [(u64, u64); 6] = [
        (450, 100),
        (80, 70),
        (20, 40),
        (30, 100),
        (120, 330),
        (400, 350),
    ];
    const RURAL: [(u64, u64); 6] = [
        (700, 100),
        (250, 200),
        (40, 150),
        (80, 300),
        (220, 480),
        (550, 350),
    ];
    const REMOTE: [(u64, u64); 6] = [
        (850, 100),
        (500, 300),
        (250, 450),
        (350, 500),
        (550, 400),
        (750, 230),
    ];
    let table = match tier {
        Tier::Urban => &URBAN,
        Tier::Rural => &RURAL,
        Tier::Remote => &REMOTE,
    };
    let (none, basic) = table.get(band).copied().unwrap_or((1000, 0));
    let r = rng.below(1000);
    if r < none {
        PhoneType::None
    } else if r < none + basic {
        PhoneType::Basic
    } else {
        PhoneType::Smartphone
    }
}
