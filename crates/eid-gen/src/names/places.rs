//! Places: streets, villages and alleys.

/// Streets named after national figures and events, as in every Vietnamese town.
pub(crate) const STREETS: &[&str] = &[
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Huệ",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Quang Trung",
    "Nguyễn Trãi",
    "Lê Duẩn",
    "Phan Chu Trinh",
    "Phan Bội Châu",
    "Hùng Vương",
    "Nguyễn Du",
    "Trần Phú",
    "Lê Thánh Tông",
    "Điện Biên Phủ",
    "Nguyễn Văn Cừ",
    "Lý Thái Tổ",
    "Trần Quang Khải",
    "Bà Triệu",
    "Ngô Quyền",
    "Lê Hồng Phong",
    "Nguyễn Thị Minh Khai",
    "Võ Thị Sáu",
    "Cách Mạng Tháng Tám",
    "30 Tháng 4",
    "Nguyễn Chí Thanh",
    "Tôn Đức Thắng",
    "Phạm Văn Đồng",
    "Võ Văn Kiệt",
    "Nguyễn Văn Linh",
    "Lạc Long Quân",
    "Âu Cơ",
    "Trường Chinh",
    "Lê Đại Hành",
    "Đinh Tiên Hoàng",
    "Yết Kiêu",
    "Nguyễn Thái Học",
    "Hoàng Diệu",
    "Chu Văn An",
    "Nguyễn Khuyến",
    "Nguyễn Đình Chiểu",
    "Lê Quý Đôn",
    "Tô Hiến Thành",
    "Nguyễn Công Trứ",
    "Hàm Nghi",
    "Duy Tân",
    "Nguyễn Tri Phương",
    "Phan Đình Phùng",
    "Cao Thắng",
    "Lý Tự Trọng",
    "Trần Nhân Tông",
    "Nguyễn Trung Trực",
    "Mạc Đĩnh Chi",
    "Ngô Gia Tự",
    "Hoàng Văn Thụ",
    "Kim Đồng",
    "Võ Nguyên Giáp",
    "Huỳnh Thúc Kháng",
    "Lê Lai",
    "Trần Cao Vân",
    "Bạch Đằng",
    "Nguyễn Văn Trỗi",
    "Hoàng Hoa Thám",
    "Phan Đăng Lưu",
    "Hồ Tùng Mậu",
    "Lê Văn Hưu",
    "Nguyễn Lương Bằng",
    "Giải Phóng",
    "Độc Lập",
    "Thống Nhất",
    "Nguyễn An Ninh",
    "Pasteur",
    "Nguyễn Bỉnh Khiêm",
    "Trần Khánh Dư",
    "Lý Nam Đế",
];

/// Names of thôn and xóm in the plains and midlands.
pub(crate) const THON_NAMES: &[&str] = &[
    "Đông",
    "Tây",
    "Nam",
    "Bắc",
    "Thượng",
    "Hạ",
    "Trung",
    "Đoài",
    "Đông Hạ",
    "Yên Thái",
    "Phú Mỹ",
    "An Lạc",
    "Tân Lập",
    "Đồng Tâm",
    "Hòa Bình",
    "Quyết Tiến",
    "Thắng Lợi",
    "Đoàn Kết",
    "Tiền Phong",
    "Phú Xuân",
    "Hưng Long",
    "Phúc Lộc",
    "Đại Đồng",
    "Tân Phong",
    "Xuân Đài",
    "Cầu Đá",
    "Đình Thượng",
    "Trung Hòa",
    "Mỹ Lộc",
    "Kim Liên",
    "Văn Giang",
    "Ninh Xá",
];

/// Names of bản in the north-west and the northern mountains.
pub(crate) const BAN_NAMES: &[&str] = &[
    "Nà Phặc",
    "Nà Hin",
    "Pác Bó",
    "Nậm Cang",
    "Phiêng Lanh",
    "Hua Pe",
    "Co Mạ",
    "Pá Khoang",
    "Sà Phìn",
    "Mường Lói",
    "Cang Tỷ",
    "Ta Lèng",
    "Huổi Só",
    "Khau Vai",
    "Nà Ngần",
    "Tà Xùa",
    "Nà Sản",
    "Pom Lót",
    "Hát Lót",
    "Noong Luông",
    "Co Muông",
    "Nậm Ty",
    "Pú Nhung",
    "Lũng Pù",
    "Hồng Ngài",
    "Nà Lốc",
    "Khuổi Lừa",
    "Bó Mạ",
    "Huổi Lèng",
    "Phiêng Ban",
];

/// Names of làng (plei, kon, đăk) in Kon Tum and Gia Lai.
pub(crate) const LANG_NAMES: &[&str] = &[
    "Kon Klor",
    "Plei Ơi",
    "Kon Rờ Bàng",
    "Đăk Rơ Wa",
    "Plei Kần",
    "Kon Hring",
    "Đăk Mế",
    "Plei Rơ Ngheo",
    "Kon Jơ Ri",
    "Đăk Kang",
    "Plei Tơ Nghia",
    "Kon Tu",
    "Plei Ktu",
    "Đăk Tô Kan",
    "Kon Gung",
    "Plei Bông",
    "Kon Sơ Lăl",
    "Plei Ốp",
    "Đăk Lung",
    "Kon Brỏi",
];

/// Names of buôn (Đắk Lắk) and bon (Đắk Nông).
pub(crate) const BUON_NAMES: &[&str] = &[
    "Ako Dhông",
    "Tuôr",
    "Jun",
    "Kô Sir",
    "Trí A",
    "Đôn",
    "Ea Sim",
    "Ea Nao",
    "Cuôr Knia",
    "Kmrơng Prong",
    "Ê Kiêm",
    "Tơng Ju",
    "Ea Bông",
    "Dray",
    "Ea Kmar",
    "Ea Tân",
    "Bu Prăng",
    "Bu Dăr",
    "Sar Pa",
    "Ja Ráh",
];

/// Names of ấp in the south.
pub(crate) const AP_NAMES: &[&str] = &[
    "Tân Thành",
    "Phú Hòa",
    "An Bình",
    "Mỹ Lợi",
    "Long Thạnh",
    "Bình Đông",
    "Tân Hiệp",
    "Hòa Lạc",
    "Phước Hưng",
    "Thạnh Phú",
    "Vĩnh Lợi",
    "Tân Phú",
    "Phú Hữu",
    "Long Hòa",
    "Bình Thạnh",
    "Mỹ Hòa",
    "An Thới",
    "Thới Long",
    "Tân Quy",
    "Hòa Thuận",
    "Phú Thạnh",
    "Long Thới",
    "Cây Dương",
    "Kinh Xáng",
    "Xẻo Rô",
    "Bàu Sen",
    "Sóc Tràm",
    "Ba Se",
    "Cầu Đúc",
    "Mương Điều",
];

/// What the villages of a rural commune are called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Village {
    #[default]
    Thon,
    Xom,
    Ban,
    /// "Khu 3", as in Phú Thọ.
    Khu,
    Lang,
    Buon,
    Bon,
    Ap,
}

impl Village {
    /// The word that opens the address ("Thôn 3").
    pub(crate) fn word(self) -> &'static str {
        match self {
            Village::Thon => "Thôn",
            Village::Xom => "Xóm",
            Village::Ban => "Bản",
            Village::Khu => "Khu",
            Village::Lang => "Làng",
            Village::Buon => "Buôn",
            Village::Bon => "Bon",
            Village::Ap => "Ấp",
        }
    }

    /// The word inside an address, after a house number ("Số 12, ấp Tân Thành").
    pub(crate) fn word_lower(self) -> &'static str {
        match self {
            Village::Thon => "thôn",
            Village::Xom => "xóm",
            Village::Ban => "bản",
            Village::Khu => "khu",
            Village::Lang => "làng",
            Village::Buon => "buôn",
            Village::Bon => "bon",
            Village::Ap => "ấp",
        }
    }

    /// Per mille of villages of this kind that are numbered ("Thôn 3") rather than named.
    pub(crate) fn numbered_per_mille(self) -> u64 {
        match self {
            Village::Khu => 1000,
            Village::Thon | Village::Xom | Village::Ap => 450,
            Village::Ban => 100,
            Village::Lang | Village::Buon | Village::Bon => 0,
        }
    }

    /// The names villages of this kind take, when they are not numbered.
    pub(crate) fn names(self) -> &'static [&'static str] {
        match self {
            Village::Thon | Village::Xom => THON_NAMES,
            Village::Ban => BAN_NAMES,
            Village::Khu => &[],
            Village::Lang => LANG_NAMES,
            Village::Buon | Village::Bon => BUON_NAMES,
            Village::Ap => AP_NAMES,
        }
    }
}

/// The kinds of village of a province's rural communes, with weights.
pub(crate) fn villages(province: u8) -> &'static [(Village, u16)] {
    use Village::*;
    match province {
        11 | 12 | 14 => &[(Ban, 85), (Thon, 15)],
        2 | 6 | 10 | 15 => &[(Thon, 60), (Ban, 40)],
        4 => &[(Xom, 80), (Ban, 20)],
        19 => &[(Xom, 85), (Ban, 15)],
        17 => &[(Xom, 75), (Ban, 25)],
        25 => &[(Khu, 70), (Xom, 30)],
        8 | 20 => &[(Thon, 85), (Ban, 15)],
        38 => &[(Thon, 85), (Ban, 15)],
        40 => &[(Xom, 55), (Thon, 30), (Ban, 15)],
        42 => &[(Thon, 70), (Xom, 30)],
        45 => &[(Thon, 90), (Ban, 10)],
        1 | 22 | 24 | 26..=37 => &[(Thon, 75), (Xom, 25)],
        62 | 64 => &[(Thon, 55), (Lang, 45)],
        66 => &[(Thon, 55), (Buon, 45)],
        67 => &[(Thon, 60), (Bon, 40)],
        70..=96 => &[(Ap, 100)],
        _ => &[(Thon, 100)],
    }
}

/// What an urban alley is called: ngõ in the north, kiệt around Huế and Đà Nẵng, hẻm in the
/// south.
pub(crate) fn alley(province: u8) -> &'static str {
    match province {
        45 | 46 | 48 | 49 => "kiệt",
        p if p <= 44 => "ngõ",
        _ => "hẻm",
    }
}
