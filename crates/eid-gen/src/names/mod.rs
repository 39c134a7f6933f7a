//! The tables behind the synthetic population: province populations and ethnic mixes, family
//! names, middle names and given names with their weights, street and village names.
//!
//! Weights are relative frequencies (not per cents unless said). Sources, all approximate:
//! province populations are the GSO 2023 average population in thousands; ethnic mixes are the
//! shares of the 2019 census (rounded, per mille, the rest Kinh); surname shares follow the
//! usual survey figures (Nguyễn ~38 %, Trần ~11 %, Lê ~9.5 %, Phạm ~7 %, Hoàng/Huỳnh ~5 %,
//! Phan ~4.5 %, Vũ/Võ ~4 %), with the northern Hoàng/Vũ and southern Huỳnh/Võ spellings; middle
//! and given names follow the naming fashions of three generations (Văn/Thị nearly universal
//! before 1970, Gia/Bảo/Khánh and Khang/Khôi/Vy/Nhi in children born after 2000). Every string
//! is in NFC with its full diacritics.

mod given;
mod middle;
mod minority;
mod places;
mod surnames;

pub(super) use given::*;
pub(super) use middle::*;
pub(super) use minority::*;
pub(super) use places::*;
pub(super) use surnames::*;

/// GSO code of each of the 63 provinces of the three-level tree and its population, thousands.
pub(super) const PROVINCES: &[(u8, u32)] = &[
    (1, 8587),
    (2, 911),
    (4, 547),
    (6, 327),
    (8, 805),
    (10, 776),
    (11, 651),
    (12, 482),
    (14, 1303),
    (15, 847),
    (17, 877),
    (19, 1337),
    (20, 802),
    (22, 1381),
    (24, 1922),
    (25, 1517),
    (26, 1209),
    (27, 1517),
    (30, 1956),
    (31, 2097),
    (33, 1302),
    (34, 1880),
    (35, 878),
    (36, 1888),
    (37, 1010),
    (38, 3760),
    (40, 3442),
    (42, 1323),
    (44, 916),
    (45, 650),
    (46, 1166),
    (48, 1246),
    (49, 1527),
    (51, 1248),
    (52, 1505),
    (54, 877),
    (56, 1253),
    (58, 601),
    (60, 1260),
    (62, 587),
    (64, 1614),
    (66, 1918),
    (67, 681),
    (68, 1332),
    (70, 1041),
    (72, 1192),
    (74, 2763),
    (75, 3310),
    (77, 1187),
    (79, 9456),
    (80, 1735),
    (82, 1790),
    (83, 1300),
    (84, 1019),
    (86, 1029),
    (87, 1601),
    (89, 1906),
    (91, 1761),
    (92, 1259),
    (93, 730),
    (94, 1198),
    (95, 925),
    (96, 1207),
];

/// The naming system of a household: Kinh (and Hoa, with their own family names) or one of the
/// minority systems, grouped by how names are built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) enum Ethnic {
    #[default]
    Kinh,
    /// Hoa: Kinh-style names, Chinese-Vietnamese family names.
    Hoa,
    /// Tày, Nùng, Thái, Giáy, San Chay: family name, Văn/Thị, given name.
    Tay,
    Muong,
    /// Hrê, Cơ Tu, Bru-Vân Kiều, Tà Ôi, Ca Dong: family name, Văn/Thị, given name.
    Hre,
    /// Raglai: matrilineal family names, Văn/Thị.
    Raglai,
    /// Xtiêng and M'nông of the south-east: Điểu and a few others.
    Stieng,
    Hmong,
    Dao,
    Khmer,
    Cham,
    /// Ba Na, Xơ Đăng, Giẻ Triêng: "A" for men, "Y" for women, then the name ("A Pớt", "Y Liên").
    BaNa,
    /// Gia Rai: matrilineal clan first ("Ksor Phước", "Siu H'Phin").
    Jrai,
    /// Ê Đê, M'nông: "Y" for men, "H'" for women, name, matrilineal clan last ("Y Moan Niê").
    Ede,
    /// Cơ Ho: matrilineal clan first, "Ha" for many women ("Kơ Să Ha Thủy").
    Kho,
}

impl Ethnic {
    /// Children take the mother's family name.
    pub(super) fn matrilineal(self) -> bool {
        matches!(
            self,
            Ethnic::Jrai | Ethnic::Ede | Ethnic::Kho | Ethnic::Raglai
        )
    }

    /// An ethnic minority (the Hoa live mostly in cities and are counted with the Kinh here).
    pub(super) fn minority(self) -> bool {
        !matches!(self, Ethnic::Kinh | Ethnic::Hoa)
    }
}

/// Minority shares of a province, per mille of its population (the rest is Kinh).
pub(super) fn minorities(province: u8) -> &'static [(Ethnic, u16)] {
    use Ethnic::*;
    match province {
        1 => &[(Muong, 10), (Tay, 5)],
        2 => &[(Hmong, 330), (Tay, 360), (Dao, 150)],
        4 => &[(Tay, 780), (Hmong, 100), (Dao, 100)],
        6 => &[(Tay, 650), (Dao, 170), (Hmong, 60)],
        8 => &[(Tay, 380), (Dao, 110), (Hmong, 50)],
        10 => &[(Hmong, 250), (Tay, 250), (Dao, 140)],
        11 => &[(Tay, 440), (Hmong, 360)],
        12 => &[(Hmong, 380), (Tay, 330), (Dao, 130)],
        14 => &[(Tay, 540), (Hmong, 170), (Muong, 80), (Dao, 30)],
        15 => &[(Tay, 240), (Hmong, 120), (Dao, 100)],
        17 => &[(Muong, 630), (Tay, 60), (Dao, 40)],
        19 => &[(Tay, 230), (Dao, 20)],
        20 => &[(Tay, 760), (Dao, 50)],
        22 => &[(Tay, 80), (Dao, 50), (Hoa, 5)],
        24 => &[(Tay, 110), (Dao, 10)],
        25 => &[(Muong, 140), (Dao, 15)],
        26 => &[(Tay, 30)],
        38 => &[(Muong, 100), (Tay, 60), (Hmong, 5)],
        40 => &[(Tay, 125), (Hmong, 20)],
        44 => &[(Hre, 20)],
        45 => &[(Hre, 120)],
        46 => &[(Hre, 40)],
        49 => &[(Hre, 100)],
        51 => &[(Hre, 120)],
        52 => &[(Hre, 30)],
        54 => &[(Hre, 30), (Ede, 20)],
        56 => &[(Raglai, 50)],
        58 => &[(Raglai, 130), (Cham, 120)],
        60 => &[(Cham, 30), (Raglai, 15), (Kho, 10)],
        62 => &[(BaNa, 480), (Jrai, 60)],
        64 => &[(Jrai, 300), (BaNa, 140)],
        66 => &[(Ede, 220), (Tay, 100), (Hmong, 20), (Jrai, 15)],
        67 => &[(Ede, 120), (Tay, 110), (Hmong, 60), (Dao, 30)],
        68 => &[(Kho, 160), (Tay, 60)],
        70 => &[(Stieng, 80), (Tay, 50), (Khmer, 20)],
        72 => &[(Khmer, 10), (Cham, 5)],
        74 => &[(Hoa, 10), (Khmer, 10), (Tay, 10)],
        75 => &[(Hoa, 40), (Tay, 30), (Stieng, 10)],
        77 => &[(Stieng, 10), (Hoa, 10)],
        79 => &[(Hoa, 40), (Khmer, 5), (Cham, 2)],
        84 => &[(Khmer, 320), (Hoa, 10)],
        89 => &[(Khmer, 40), (Cham, 7)],
        91 => &[(Khmer, 120), (Hoa, 20)],
        92 => &[(Khmer, 15), (Hoa, 10)],
        93 => &[(Khmer, 20)],
        94 => &[(Khmer, 300), (Hoa, 50)],
        95 => &[(Khmer, 80), (Hoa, 25)],
        96 => &[(Khmer, 25), (Hoa, 5)],
        _ => &[],
    }
}

/// The regions that decide spellings and address styles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Region {
    /// Northern midlands and mountains.
    NorthMountain,
    RedRiver,
    NorthCentral,
    CentralCoast,
    Highlands,
    Southeast,
    Mekong,
}

pub(super) fn region(province: u8) -> Region {
    match province {
        2..=20 | 24 | 25 => Region::NorthMountain,
        1 | 22 | 26..=37 => Region::RedRiver,
        38..=46 => Region::NorthCentral,
        48..=60 => Region::CentralCoast,
        62..=68 => Region::Highlands,
        70..=79 => Region::Southeast,
        _ => Region::Mekong,
    }
}

/// Vietnamese mobile prefixes (after the 0) with market-share weights: Viettel, VinaPhone,
/// MobiFone, Vietnamobile, Gmobile, iTel. The second weight is for people from 35 on, who more
/// often keep an old 09x number.
pub(super) const PHONE_PREFIXES: &[(u8, u16, u16)] = &[
    (86, 30, 20),
    (96, 70, 90),
    (97, 80, 110),
    (98, 80, 120),
    (32, 40, 25),
    (33, 40, 25),
    (34, 40, 25),
    (35, 35, 20),
    (36, 35, 20),
    (37, 35, 20),
    (38, 35, 20),
    (39, 35, 20),
    (91, 60, 90),
    (94, 50, 70),
    (88, 30, 25),
    (81, 20, 12),
    (82, 20, 12),
    (83, 20, 12),
    (84, 20, 12),
    (85, 20, 12),
    (90, 50, 80),
    (93, 35, 55),
    (89, 20, 15),
    (70, 15, 8),
    (76, 15, 8),
    (77, 15, 8),
    (78, 15, 8),
    (79, 15, 8),
    (92, 10, 12),
    (52, 3, 2),
    (56, 5, 3),
    (58, 4, 2),
    (99, 3, 3),
    (59, 2, 1),
    (87, 3, 1),
];
