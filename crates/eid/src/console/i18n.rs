//! Every string of the console, in Vietnamese (the default) and English, in one table.
//!
//! Templates call `page.t("key")`. A key missing from the table shows as itself, and a unit
//! test checks that every key used in a template is in the table with both languages.

use axum::http::HeaderMap;

/// The console's languages. Vietnamese unless the `lang` cookie says `en`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

/// The name of the language cookie.
pub const LANG_COOKIE: &str = "lang";

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The value of the html `lang` attribute and of the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// The language chosen by the request's `lang` cookie.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        crate::auth::cookie(headers, LANG_COOKIE)
            .and_then(|v| Lang::parse(&v))
            .unwrap_or_default()
    }

    /// The translation of `key`, or the key itself when it is missing.
    pub fn t(self, key: &str) -> &'static str {
        match TABLE.iter().find(|(k, _, _)| *k == key) {
            Some((_, vi, en)) => match self {
                Lang::Vi => vi,
                Lang::En => en,
            },
            None => MISSING,
        }
    }
}

/// Shown for a key that is not in the table (a test keeps this from happening).
const MISSING: &str = "??";

/// (key, Vietnamese, English).
pub const TABLE: &[(&str, &str, &str)] = &[
    ("app.name", "eID", "eID"),
    ("app.tagline", "Cơ sở dữ liệu quốc gia về dân cư", "National population database"),
    ("lang.vi", "Tiếng Việt", "Tiếng Việt"),
    ("lang.en", "English", "English"),
    ("nav.label", "Chức năng", "Sections"),
    ("nav.search", "Tra cứu", "Search"),
    ("nav.units", "Đơn vị", "Units"),
    ("nav.audit", "Nhật ký", "Audit log"),
    ("top.signout", "Đăng xuất", "Sign out"),
    ("role.ministry", "Bộ Công an", "Ministry"),
    ("role.province", "Công an tỉnh", "Province police"),
    ("role.district", "Công an huyện", "District police"),
    ("role.commune", "Công an xã", "Commune police"),
    ("role.auditor", "Kiểm tra", "Auditor"),
    ("login.title", "Đăng nhập", "Sign in"),
    ("login.intro", "Dành cho cán bộ được cấp tài khoản.", "For staff with an account."),
    ("login.username", "Tên đăng nhập", "Username"),
    ("login.password", "Mật khẩu", "Password"),
    ("login.submit", "Đăng nhập", "Sign in"),
    ("login.failed", "Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong username or password."),
    ("login.limited", "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau.", "Too many failed sign-ins. Please try again later."),
    ("search.title", "Tra cứu công dân", "Find a person"),
    ("search.hint", "Nhập họ tên (có dấu hoặc không dấu), năm sinh hoặc ngày sinh, và mã đơn vị nếu cần.", "Type a name (with or without accents), a year or date of birth, and a unit code if needed."),
    ("search.name", "Họ và tên", "Full name"),
    ("search.birth", "Năm hoặc ngày sinh", "Year or date of birth"),
    ("search.unit", "Mã đơn vị", "Unit code"),
    ("search.submit", "Tìm kiếm", "Search"),
    ("search.none", "Không tìm thấy ai.", "No one found."),
    ("search.results", "Kết quả", "Results"),
    ("field.personal_id", "Số định danh", "Personal ID"),
    ("field.name", "Họ và tên", "Full name"),
    ("field.birth", "Ngày sinh", "Date of birth"),
    ("field.sex", "Giới tính", "Sex"),
    ("field.hometown", "Quê quán", "Hometown"),
    ("field.residence", "Nơi thường trú", "Permanent residence"),
    ("field.temporary", "Nơi tạm trú", "Temporary residence"),
    ("field.household", "Mã hộ", "Household"),
    ("field.phone", "Số điện thoại", "Phone"),
    ("field.phone_type", "Loại điện thoại", "Phone type"),
    ("field.life", "Tình trạng", "Life status"),
    ("field.since", "Từ ngày", "Since"),
    ("field.card", "Thẻ CCCD", "Citizen ID card"),
    ("field.version", "Phiên bản", "Version"),
    ("field.updated", "Cập nhật lúc", "Updated at"),
    ("field.unit", "Đơn vị", "Unit"),
    ("sex.M", "Nam", "Male"),
    ("sex.F", "Nữ", "Female"),
    ("phone.none", "Không có", "None"),
    ("phone.basic", "Điện thoại cơ bản", "Basic phone"),
    ("phone.smartphone", "Điện thoại thông minh", "Smartphone"),
    ("life.alive", "Còn sống", "Alive"),
    ("life.dead", "Đã mất", "Dead"),
    ("life.emigrated", "Xuất cảnh", "Emigrated"),
    ("life.absent", "Vắng mặt", "Absent"),
    ("card.issued", "Ngày cấp", "Issued"),
    ("card.expires", "Có giá trị đến", "Valid until"),
    ("card.for_life", "Không thời hạn", "For life"),
    ("card.valid", "Còn hiệu lực", "Valid"),
    ("card.expired", "Hết hạn", "Expired"),
    ("card.revoked", "Đã thu hồi", "Revoked"),
    ("card.none", "Chưa được cấp", "Not issued"),
    ("history.title", "Lịch sử thay đổi", "History"),
    ("history.time", "Thời gian", "Time"),
    ("history.actor", "Người thực hiện", "By"),
    ("history.reason", "Lý do", "Reason"),
    ("history.changes", "Nội dung", "Changes"),
    ("history.created", "Tạo mới", "Created"),
    ("history.updated", "Cập nhật", "Updated"),
    ("units.title", "Đơn vị hành chính", "Administrative units"),
    ("units.tree2024", "Ba cấp (đến 30/6/2025)", "Three levels (until 30 June 2025)"),
    ("units.code", "Mã", "Code"),
    ("units.name", "Tên", "Name"),
    ("units.total", "Dân số", "Population"),
    ("units.alive", "Còn sống", "Alive"),
    ("units.children", "Đơn vị trực thuộc", "Units below"),
    ("units.maps_to", "Từ 1/7/2025 thuộc", "From 1 July 2025 part of"),
    ("units.partial", "Chỉ tính những người thuộc phạm vi tài khoản của bạn.", "Only people within your account's scope are counted."),
    ("units.none", "Không có đơn vị trực thuộc.", "No units below."),
    ("edit.title", "Cập nhật thông tin", "Update the record"),
    ("edit.button", "Cập nhật", "Update"),
    ("edit.hint", "Mỗi thay đổi được ghi vào lịch sử cùng người thực hiện và lý do. Họ tên, ngày sinh, giới tính và số định danh được điều chỉnh theo thủ tục riêng.", "Every change is kept in the history with who made it and why. Name, birth date, sex and personal ID change through their own procedures."),
    ("edit.temp_unit", "Nơi tạm trú (mã xã)", "Temporary residence (commune code)"),
    ("edit.temp_address", "Địa chỉ tạm trú", "Temporary address"),
    ("edit.life_date", "Từ ngày", "Since"),
    ("edit.reason", "Lý do thay đổi", "Reason for the change"),
    ("edit.save", "Lưu thay đổi", "Save the change"),
    ("edit.cancel", "Hủy", "Cancel"),
    ("edit.reason_required", "Cần ghi lý do thay đổi (tối đa 200 ký tự).", "Give the reason for the change (200 characters at most)."),
    ("edit.conflict", "Hồ sơ vừa được người khác cập nhật. Hãy tải lại trang và nhập lại.", "Someone else changed this record meanwhile. Reload the page and enter the change again."),
    ("edit.bad_address", "Địa chỉ quá dài hoặc có ký tự không hợp lệ.", "The address is too long or has a character that is not allowed."),
    ("edit.bad_temp_unit", "Nơi tạm trú phải là mã một xã, phường, thị trấn.", "The temporary residence must be the code of a commune."),
    ("edit.bad_phone", "Số điện thoại di động không hợp lệ.", "This is not a valid mobile number."),
    ("edit.bad_phone_type", "Có số điện thoại thì loại điện thoại không thể là “Không có”.", "With a phone number, the phone type cannot be none."),
    ("edit.bad_life", "Tình trạng không hợp lệ.", "Unknown life status."),
    ("edit.bad_date", "Ngày phải theo dạng YYYY-MM-DD.", "Dates are written YYYY-MM-DD."),
    ("edit.bad_life_date", "Người còn sống không có ngày; ngày mất, xuất cảnh, vắng mặt không được sau hôm nay hay trước ngày sinh.", "A living person has no date; a date of death, emigration or absence cannot be in the future or before birth."),
    ("edit.bad_record", "Thông tin không hợp lệ.", "The record is not valid."),
    ("household.title", "Thành viên cùng hộ", "Household members"),
    ("units.find", "Tìm đơn vị theo tên", "Find a unit by name"),
    ("units.find_hint", "Thanh Hóa, Ba Đình, Đắk Glei …", "Thanh Hóa, Ba Đình, Đắk Glei …"),
    ("units.find_submit", "Tìm", "Find"),
    ("units.matches", "Đơn vị tên", "Units named"),
    ("units.no_match", "Không có đơn vị nào mang tên này.", "No unit has this name."),
    ("units.within", "Thuộc", "Within"),
    ("audit.title", "Nhật ký truy cập", "Audit log"),
    ("audit.time", "Thời gian", "Time"),
    ("audit.actor", "Người thực hiện", "Actor"),
    ("audit.action", "Hành động", "Action"),
    ("audit.target", "Đối tượng", "Target"),
    ("audit.outcome", "Kết quả", "Outcome"),
    ("audit.request", "Mã yêu cầu", "Request id"),
    ("error.title", "Không thực hiện được", "Something went wrong"),
    ("error.code", "Mã lỗi", "Error code"),
    ("error.request", "Mã yêu cầu", "Request id"),
    ("error.back", "Về trang chủ", "Back to the start"),
    ("err.scope.denied", "Nội dung này nằm ngoài phạm vi tài khoản của bạn.", "This is outside your account's scope."),
    ("err.person.not_found", "Không có công dân với số định danh này.", "No person has this personal ID."),
    ("err.auth.csrf", "Biểu mẫu đã hết hạn. Vui lòng tải lại trang.", "The form has expired. Please reload the page."),
    ("err.auth.rate_limited", "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau.", "Too many failed sign-ins. Please try again later."),
    ("err.route.not_found", "Không có trang này.", "There is no such page."),
    ("err.internal", "Lỗi hệ thống. Vui lòng báo lại mã yêu cầu.", "Internal error. Please quote the request id."),
    ("err.input", "Dữ liệu nhập không hợp lệ", "Invalid input"),
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_are_filled() {
        let mut seen = std::collections::HashSet::new();
        for (k, vi, en) in TABLE {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!vi.is_empty() && !en.is_empty(), "{k}");
        }
    }

    #[test]
    fn every_key_used_in_a_template_is_translated() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split("t(\"").skip(1) {
                let key = piece.split('"').next().unwrap();
                assert_ne!(Lang::En.t(key), MISSING, "{} uses {key}", path.display());
            }
        }
    }

    #[test]
    fn unknown_keys_show_as_missing_and_vietnamese_is_the_default() {
        assert_eq!(Lang::default().t("nav.search"), "Tra cứu");
        assert_eq!(Lang::En.t("nav.search"), "Search");
        assert_eq!(Lang::En.t("no.such.key"), "??");
    }
}
