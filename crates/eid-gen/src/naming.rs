//! Drawing names from the tables in [`crate::names`] by ethnic group, region, sex and generation.

use eid_domain::{PersonName, Sex};

use crate::names::{self, Ethnic, Region};
use crate::rng::{Pick, Rng};

/// The generation a birth year belongs to for naming: before 1970, 1970–1999, from 2000.
pub(crate) fn generation(year: i32) -> usize {
    match year {
        ..=1969 => 0,
        1970..=1999 => 1,
        _ => 2,
    }
}

/// Per mille of people born in `year` with a given name of the modern fashion.
pub(crate) fn modern_per_mille(year: i32) -> u64 {
    match year {
        ..=1974 => 0,
        1975..=1984 => 200,
        1985..=1994 => 500,
        1995..=2004 => 850,
        _ => 1000,
    }
}

pub(crate) struct NameTables {
    /// Kinh family names: north, north-central, south.
    kinh: [Pick<&'static str>; 3],
    hoa: Pick<&'static str>,
    tay: Pick<&'static str>,
    muong: Pick<&'static str>,
    hre: Pick<&'static str>,
    raglai: Pick<&'static str>,
    stieng: Pick<&'static str>,
    hmong: Pick<&'static str>,
    dao: Pick<&'static str>,
    khmer: Pick<&'static str>,
    cham: Pick<&'static str>,
    jrai: Pick<&'static str>,
    ede: Pick<&'static str>,
    kho: Pick<&'static str>,
    male_middle: [Pick<&'static str>; 3],
    female_middle: [Pick<&'static str>; 3],
    female_second: Pick<&'static str>,
    /// Traditional, modern.
    male_given: [Pick<&'static str>; 2],
    female_given: [Pick<&'static str>; 2],
    hmong_male_middle: Pick<&'static str>,
    hmong_female_middle: Pick<&'static str>,
    hmong_male: Pick<&'static str>,
    hmong_female: Pick<&'static str>,
    tay_male: Pick<&'static str>,
    tay_female: Pick<&'static str>,
    dao_male: Pick<&'static str>,
    dao_female: Pick<&'static str>,
    khmer_male_middle: Pick<&'static str>,
    khmer_female_middle: Pick<&'static str>,
    khmer_male: Pick<&'static str>,
    khmer_female: Pick<&'static str>,
    cham_male_middle: Pick<&'static str>,
    cham_female_middle: Pick<&'static str>,
    bana_male: Pick<&'static str>,
    bana_female: Pick<&'static str>,
    jrai_male: Pick<&'static str>,
    jrai_female: Pick<&'static str>,
    ede_male: Pick<&'static str>,
    ede_female: Pick<&'static str>,
    kho_male: Pick<&'static str>,
    kho_female: Pick<&'static str>,
}

impl NameTables {
    pub(crate) fn new() -> NameTables {
        let kinh = |region: Region| {
            Pick::new(
                names::KINH_SURNAMES
                    .iter()
                    .chain(names::kinh_regional(region).iter())
                    .map(|&(s, w)| (s, u64::from(w))),
            )
        };
        NameTables {
            kinh: [
                kinh(Region::RedRiver),
                kinh(Region::NorthCentral),
                kinh(Region::Mekong),
            ],
            hoa: Pick::of(names::HOA_SURNAMES),
            tay: Pick::of(names::TAY_SURNAMES),
            muong: Pick::of(names::MUONG_SURNAMES),
            hre: Pick::of(names::HRE_SURNAMES),
            raglai: Pick::of(names::RAGLAI_SURNAMES),
            stieng: Pick::of(names::STIENG_SURNAMES),
            hmong: Pick::of(names::HMONG_SURNAMES),
            dao: Pick::of(names::DAO_SURNAMES),
            khmer: Pick::of(names::KHMER_SURNAMES),
            cham: Pick::of(names::CHAM_SURNAMES),
            jrai: Pick::of(names::JRAI_CLANS),
            ede: Pick::of(names::EDE_CLANS),
            kho: Pick::of(names::KHO_CLANS),
            male_middle: [
                Pick::of(names::MALE_MIDDLE_OLD),
                Pick::of(names::MALE_MIDDLE_MID),
                Pick::of(names::MALE_MIDDLE_YOUNG),
            ],
            female_middle: [
                Pick::of(names::FEMALE_MIDDLE_OLD),
                Pick::of(names::FEMALE_MIDDLE_MID),
                Pick::of(names::FEMALE_MIDDLE_YOUNG),
            ],
            female_second: Pick::of(names::FEMALE_SECOND_MIDDLE),
            male_given: [
                Pick::of(names::MALE_GIVEN_TRADITIONAL),
                Pick::of(names::MALE_GIVEN_MODERN),
            ],
            female_given: [
                Pick::of(names::FEMALE_GIVEN_TRADITIONAL),
                Pick::of(names::FEMALE_GIVEN_MODERN),
            ],
            hmong_male_middle: Pick::of(names::HMONG_MALE_MIDDLE),
            hmong_female_middle: Pick::of(names::HMONG_FEMALE_MIDDLE),
            hmong_male: Pick::of(names::HMONG_MALE_GIVEN),
            hmong_female: Pick::of(names::HMONG_FEMALE_GIVEN),
            tay_male: Pick::of(names::TAY_MALE_GIVEN),
            tay_female: Pick::of(names::TAY_FEMALE_GIVEN),
            dao_male: Pick::of(names::DAO_MALE_GIVEN),
            dao_female: Pick::of(names::DAO_FEMALE_GIVEN),
            khmer_male_middle: Pick::of(names::KHMER_MALE_MIDDLE),
            khmer_female_middle: Pick::of(names::KHMER_FEMALE_MIDDLE),
            khmer_male: Pick::of(names::KHMER_MALE_GIVEN),
            khmer_female: Pick::of(names::KHMER_FEMALE_GIVEN),
            cham_male_middle: Pick::of(names::CHAM_MALE_MIDDLE),
            cham_female_middle: Pick::of(names::CHAM_FEMALE_MIDDLE),
            bana_male: Pick::of(names::BANA_MALE_GIVEN),
            bana_female: Pick::of(names::BANA_FEMALE_GIVEN),
            jrai_male: Pick::of(names::JRAI_MALE_GIVEN),
            jrai_female: Pick::of(names::JRAI_FEMALE_GIVEN),
            ede_male: Pick::of(names::EDE_MALE_GIVEN),
            ede_female: Pick::of(names::EDE_FEMALE_GIVEN),
            kho_male: Pick::of(names::KHO_MALE_GIVEN),
            kho_female: Pick::of(names::KHO_FEMALE_GIVEN),
        }
    }

    /// A family name (or clan) of the naming system; empty for the Ba Na, named by sex alone.
    pub(crate) fn family(&self, rng: &mut Rng, eth: Ethnic, region: Region) -> &'static str {
        match eth {
            Ethnic::Kinh => {
                let i = match region {
                    Region::NorthMountain | Region::RedRiver => 0,
                    Region::NorthCentral => 1,
                    _ => 2,
                };
                self.kinh.get(i).map_or("Nguyễn", |t| t.pick(rng))
            }
            Ethnic::Hoa => self.hoa.pick(rng),
            Ethnic::Tay => self.tay.pick(rng),
            Ethnic::Muong => self.muong.pick(rng),
            Ethnic::Hre => self.hre.pick(rng),
            Ethnic::Raglai => self.raglai.pick(rng),
            Ethnic::Stieng => self.stieng.pick(rng),
            Ethnic::Hmong => self.hmong.pick(rng),
            Ethnic::Dao => self.dao.pick(rng),
            Ethnic::Khmer => self.khmer.pick(rng),
            Ethnic::Cham => self.cham.pick(rng),
            Ethnic::BaNa => "",
            Ethnic::Jrai => self.jrai.pick(rng),
            Ethnic::Ede => self.ede.pick(rng),
            Ethnic::Kho => self.kho.pick(rng),
        }
    }

    /// A Kinh middle name: Văn and Thị for most of the older and rural, fashionable ones for the
    /// young, sometimes two ("Thị Bảo").
    pub(crate) fn kinh_middle(&self, rng: &mut Rng, sex: Sex, year: i32, rural: bool) -> String {
        let gen = generation(year);
        let boost = [150, 120, 80].get(gen).copied().unwrap_or(0);
        let Some(table) = (match sex {
            Sex::Male => self.male_middle.get(gen),
            Sex::Female => self.female_middle.get(gen),
        }) else {
            return String::new();
        };
        match sex {
            Sex::Male => {
                let first = if rural && rng.per_mille(boost) {
                    "Văn"
                } else {
                    table.pick(rng)
                };
                if gen == 2 && first != "Văn" && rng.per_mille(25) {
                    let second = table.pick(rng);
                    if second != first && second != "Văn" {
                        return format!("{first} {second}");
                    }
                }
                first.to_owned()
            }
            Sex::Female => {
                let double = [50, 90, 80].get(gen).copied().unwrap_or(0);
                if rng.per_mille(double) {
                    return format!("Thị {}", self.female_second.pick(rng));
                }
                let first = if rural && rng.per_mille(boost) {
                    "Thị"
                } else {
                    table.pick(rng)
                };
                first.to_owned()
            }
        }
    }

    /// A Kinh given name of the person's generation, not repeating the last middle name.
    pub(crate) fn kinh_given(
        &self,
        rng: &mut Rng,
        sex: Sex,
        year: i32,
        middle: &str,
        old_fashioned: bool,
    ) -> &'static str {
        let mut modern = modern_per_mille(year);
        if old_fashioned {
            modern /= 2;
        }
        let table = match sex {
            Sex::Male => &self.male_given,
            Sex::Female => &self.female_given,
        };
        let Some(table) = table.get(usize::from(rng.per_mille(modern))) else {
            return "An";
        };
        let last = middle.rsplit(' ').next().unwrap_or("");
        let given = table.pick(rng);
        if given == last {
            table.pick(rng)
        } else {
            given
        }
    }

    /// Văn/Thị systems (Tày, Thái, Mường, Hrê, Dao, …): mostly Văn or Thị, Kinh or local names.
    pub(crate) fn van_thi(
        &self,
        rng: &mut Rng,
        sex: Sex,
        year: i32,
        local: Option<(&Pick<&'static str>, &Pick<&'static str>)>,
    ) -> (String, &'static str) {
        let gen = generation(year);
        let middle = match sex {
            Sex::Male if rng.per_mille(850) => "Văn",
            Sex::Female if rng.per_mille(900) => "Thị",
            Sex::Male => self.male_middle.get(gen).map_or("Văn", |t| t.pick(rng)),
            Sex::Female => self.female_middle.get(gen).map_or("Thị", |t| t.pick(rng)),
        };
        let given = match local {
            Some((male, female)) if rng.per_mille(200) => match sex {
                Sex::Male => male.pick(rng),
                Sex::Female => female.pick(rng),
            },
            _ => self.kinh_given(rng, sex, year, middle, true),
        };
        (middle.to_owned(), given)
    }

    /// The full name of a person of the naming system `eth` whose family name (or clan) is
    /// `family`.
    pub(crate) fn name(
        &self,
        rng: &mut Rng,
        eth: Ethnic,
        sex: Sex,
        year: i32,
        rural: bool,
        family: &str,
    ) -> Option<PersonName> {
        let by_sex =
            |male: &Pick<&'static str>, female: &Pick<&'static str>, rng: &mut Rng| match sex {
                Sex::Male => male.pick(rng),
                Sex::Female => female.pick(rng),
            };
        let (surname, middle, given): (&str, String, String) = match eth {
            Ethnic::Kinh | Ethnic::Hoa => {
                let middle = self.kinh_middle(rng, sex, year, rural);
                let given = self.kinh_given(rng, sex, year, &middle, false);
                (family, middle, given.to_owned())
            }
            Ethnic::Tay => {
                let (m, g) = self.van_thi(rng, sex, year, Some((&self.tay_male, &self.tay_female)));
                (family, m, g.to_owned())
            }
            Ethnic::Dao => {
                let (m, g) = self.van_thi(rng, sex, year, Some((&self.dao_male, &self.dao_female)));
                (family, m, g.to_owned())
            }
            Ethnic::Muong | Ethnic::Hre | Ethnic::Raglai | Ethnic::Stieng => {
                let (m, g) = self.van_thi(rng, sex, year, None);
                (family, m, g.to_owned())
            }
            Ethnic::Hmong => {
                let middle = by_sex(&self.hmong_male_middle, &self.hmong_female_middle, rng);
                let given = if rng.per_mille(850) {
                    by_sex(&self.hmong_male, &self.hmong_female, rng)
                } else {
                    self.kinh_given(rng, sex, year, middle, true)
                };
                (family, middle.to_owned(), given.to_owned())
            }
            Ethnic::Khmer => {
                let middle = by_sex(&self.khmer_male_middle, &self.khmer_female_middle, rng);
                let given = if rng.per_mille(550) {
                    by_sex(&self.khmer_male, &self.khmer_female, rng)
                } else {
                    self.kinh_given(rng, sex, year, middle, true)
                };
                (family, middle.to_owned(), given.to_owned())
            }
            Ethnic::Cham => {
                let middle = by_sex(&self.cham_male_middle, &self.cham_female_middle, rng);
                let given = self.kinh_given(rng, sex, year, middle, true);
                (family, middle.to_owned(), given.to_owned())
            }
            Ethnic::BaNa => {
                let prefix = match sex {
                    Sex::Male => "A",
                    Sex::Female => "Y",
                };
                let given = if rng.per_mille(700) {
                    by_sex(&self.bana_male, &self.bana_female, rng)
                } else {
                    self.kinh_given(rng, sex, year, "", true)
                };
                (prefix, String::new(), given.to_owned())
            }
            Ethnic::Jrai => (
                family,
                String::new(),
                by_sex(&self.jrai_male, &self.jrai_female, rng).to_owned(),
            ),
            Ethnic::Ede => {
                let prefix = match sex {
                    Sex::Male => "Y",
                    Sex::Female => "H'",
                };
                let given = by_sex(&self.ede_male, &self.ede_female, rng);
                (prefix, String::new(), format!("{given} {family}"))
            }
            Ethnic::Kho => {
                let middle = if sex == Sex::Female && rng.per_mille(600) {
                    "Ha"
                } else {
                    ""
                };
                (
                    family,
                    middle.to_owned(),
                    by_sex(&self.kho_male, &self.kho_female, rng).to_owned(),
                )
            }
        };
        PersonName::parse(surname, &middle, &given).ok()
    }
}
