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

    /// The translation of `key`, or [`MISSING`] when it is missing.
    pub fn t(self, key: &str) -> &'static str {
        match index().get(key) {
            Some((vi, en)) => match self {
                Lang::Vi => vi,
                Lang::En => en,
            },
            None => MISSING,
        }
    }
}

/// Every table of strings: the console's and each area's, (key, Vietnamese, English).
fn tables() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    TABLE
        .iter()
        .chain(ops2::TABLE)
        .chain(link::TABLE)
        .chain(crate::oidc::i18n::TABLE)
        .chain(crate::citizen::i18n::TABLE)
        .chain(crate::wallet::i18n::TABLE)
        .chain(crate::oidc_admin::i18n::TABLE)
        .chain(crate::stay::i18n::TABLE)
        .chain(crate::admission::i18n::TABLE)
        .chain(crate::trust::i18n::TABLE)
        .chain(crate::linkage::i18n::TABLE)
        .chain(walk::TABLE)
        .chain(crate::residence::i18n::TABLE)
}

type Index = std::collections::HashMap<&'static str, (&'static str, &'static str)>;

/// The tables by key, built on first use: a page asks for a few hundred strings, and a scan of
/// every table for each cost a 404 page more than the request around it.
fn index() -> &'static Index {
    static INDEX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map = Index::new();
        for (k, vi, en) in tables() {
            map.entry(*k).or_insert((*vi, *en));
        }
        map
    })
}

/// The operations console's second pass (closing quotas, the national view, the unit picker).
#[path = "i18n_ops.rs"]
mod ops2;

/// The linkage console (the review queue and a result's breakdown).
#[path = "i18n_link.rs"]
mod link;

/// The console walk-through: actors by name, the audit log, a person's history in words.
#[path = "i18n_walk.rs"]
mod walk;

/// Shown for a key that is not in the table (a test keeps this from happening).
const MISSING: &str = "??";

/// (key, Vietnamese, English).
pub const TABLE: &[(&str, &str, &str)] = &[
    ("app.name", "eID", "eID"),
    ("app.tagline", "Cơ sở dữ liệu quốc gia về dân cư", "National population database"),
    ("dev.strip", "Chế độ phát triển — không dùng cho người và dữ liệu thật", "Development mode — not for real people or real data"),
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
    ("search.hint", "Nhập họ tên (có dấu hoặc không dấu), năm sinh hoặc ngày sinh (dd/mm/yyyy), và mã đơn vị nếu cần; nhập số định danh 12 chữ số để mở thẳng hồ sơ.", "Type a name (with or without accents), a year or date of birth, and a unit code if needed; a 12-digit personal ID opens the person."),
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
    ("err.request.timeout", "Yêu cầu quá thời gian chờ. Vui lòng thử lại.", "The request took too long. Please try again."),
    ("err.internal", "Lỗi hệ thống. Vui lòng báo lại mã yêu cầu.", "Internal error. Please quote the request id."),
    ("err.server.unavailable", "Hệ thống đang chuyển sang máy chủ dữ liệu dự phòng. Vui lòng thử lại sau ít giây.", "The database is switching to its standby. Please try again in a few seconds."),
    ("err.server.busy", "Hệ thống đang phục vụ tối đa số yêu cầu. Vui lòng thử lại sau ít giây.", "The server is answering as many requests as it can. Please try again in a few seconds."),
    ("err.input", "Dữ liệu nhập không hợp lệ", "Invalid input"),
    ("nav.accounts", "Tài khoản", "Accounts"),
    ("acc.tab.applications", "Hồ sơ mức 2", "Applications"),
    ("acc.tab.review", "Chờ duyệt", "Review queue"),
    ("acc.tab.devices", "Thiết bị thu nhận", "Intake devices"),
    ("acc.tab.sms", "Hộp thư SMS", "SMS outbox"),
    ("acc.find.placeholder", "Số định danh", "Personal ID"),
    ("acc.find.submit", "Mở tài khoản", "Open account"),
    ("acc.scope", "Phạm vi", "Scope"),
    ("acc.sys.verifier", "Xác thực khuôn mặt", "Face verification"),
    ("acc.sys.sms", "SMS", "SMS"),
    ("acc.sys.sms_dev", "bộ gửi phát triển: tin nhắn không rời máy chủ; cán bộ cấp Bộ xem tại Hộp thư SMS", "development sink: messages never leave the server; ministry-level staff read them in the SMS outbox"),
    ("acc.sys.sms_gateway", "cổng SMS qua HTTP", "HTTP SMS gateway"),
    ("acc.apps.title", "Hồ sơ đề nghị cấp tài khoản mức 2", "Level-2 account applications"),
    ("acc.review.title", "Hàng chờ duyệt", "Review queue"),
    ("acc.review.hint", "Hồ sơ không khớp sinh trắc, của người dưới 14 tuổi hoặc có số điện thoại khác CSDL chờ cán bộ đơn vị cấp trên đơn vị thu nhận quyết định.", "Applications with no biometric match, an applicant under 14 or a phone that differs from the register wait for an officer of a unit above the collecting unit."),
    ("acc.filter.state", "Trạng thái", "State"),
    ("acc.filter.all", "Tất cả", "All"),
    ("acc.filter.unit", "Mã đơn vị thu nhận", "Collecting unit code"),
    ("acc.filter.day", "Ngày thu nhận", "Collected on"),
    ("acc.filter.submit", "Lọc", "Filter"),
    ("acc.filter.clear", "Bỏ lọc", "Clear"),
    ("acc.apps.none", "Không có hồ sơ nào.", "No applications."),
    ("acc.review.none", "Không có hồ sơ chờ duyệt.", "Nothing waits for review."),
    ("acc.apps.count", "Số hồ sơ", "Applications"),
    ("acc.apps.full", "chỉ hiện số hồ sơ mới nhất:", "showing only the newest"),
    ("acc.app.title", "Hồ sơ", "Application"),
    ("acc.app.collected", "Thu nhận lúc", "Collected at"),
    ("acc.app.unit", "Đơn vị thu nhận", "Collecting unit"),
    ("acc.app.device", "Thiết bị", "Device"),
    ("acc.app.match", "Đối sánh sinh trắc", "Biometric match"),
    ("acc.app.state", "Trạng thái", "State"),
    ("acc.app.reason", "Lý do", "Reason"),
    ("acc.app.commune", "Nơi thường trú (xã)", "Residence commune"),
    ("acc.app.officer", "Cán bộ thu nhận", "Collecting officer"),
    ("acc.app.updated", "cập nhật", "updated"),
    ("acc.app.review_reason", "Lý do chờ duyệt", "Why it is in review"),
    ("acc.app.reject_reason", "Lý do từ chối", "Reason for rejection"),
    ("acc.app.decided_by", "Người quyết định", "Decided by"),
    ("acc.app.needs_higher", "Hồ sơ này chờ cán bộ của đơn vị cấp trên đơn vị thu nhận duyệt.", "This application waits for an officer of a unit above the collecting unit."),
    ("acc.app.actions", "Xử lý hồ sơ", "Decide"),
    ("acc.app.approve", "Phê duyệt", "Approve"),
    ("acc.app.approve_hint", "Mã kích hoạt được gửi qua SMS đến số điện thoại trong hồ sơ.", "The activation code goes by SMS to the application's phone."),
    ("acc.app.resend", "Gửi lại mã kích hoạt", "Re-send the code"),
    ("acc.app.resend_hint", "Mã cũ hết hiệu lực; số lần gửi có giới hạn.", "The old code dies; the number of sends is limited."),
    ("acc.app.reject", "Từ chối", "Reject"),
    ("acc.link.person", "Thông tin công dân", "Person record"),
    ("acc.link.account", "Tài khoản", "Account"),
    ("acc.match.yes", "Khớp", "Match"),
    ("acc.match.no", "Không khớp", "No match"),
    ("acc.method.fingerprint", "vân tay", "fingerprint"),
    ("acc.method.portrait", "ảnh chân dung", "portrait"),
    ("acc.against.card", "thẻ CCCD", "card"),
    ("acc.against.register", "CSDL dân cư", "register"),
    ("acc.against.immigration", "CSDL xuất nhập cảnh", "immigration records"),
    ("acc.app_state.review", "Chờ duyệt", "In review"),
    ("acc.app_state.approved", "Đã duyệt", "Approved"),
    ("acc.app_state.code_sent", "Đã gửi mã", "Code sent"),
    ("acc.app_state.activated", "Đã kích hoạt", "Activated"),
    ("acc.app_state.rejected", "Bị từ chối", "Rejected"),
    ("acc.done.approve", "Đã duyệt hồ sơ; mã kích hoạt đang được gửi qua SMS.", "Application approved; the activation code is on its way by SMS."),
    ("acc.done.reject", "Đã từ chối hồ sơ.", "Application rejected."),
    ("acc.done.resend", "Đã gửi lại mã kích hoạt.", "The activation code was sent again."),
    ("acc.done.lock", "Đã khóa tài khoản.", "The account is locked."),
    ("acc.done.unlock", "Đã gỡ khóa của cán bộ.", "The officer's lock is lifted."),
    ("acc.done.phone", "Đã đổi số điện thoại.", "The phone number is changed."),
    ("acc.done.device_added", "Đã đăng ký thiết bị.", "The device is registered."),
    ("acc.done.device_status", "Đã cập nhật trạng thái thiết bị.", "The device's status is changed."),
    ("acc.account.title", "Tài khoản định danh điện tử", "Electronic identification account"),
    ("acc.account.state", "Trạng thái", "State"),
    ("acc.account.level", "Mức", "Level"),
    ("acc.account.level0", "Chưa kích hoạt", "Not activated yet"),
    ("acc.account.level_n", "Mức", "Level"),
    ("acc.account.guardian", "Người giám hộ", "Guardian"),
    ("acc.account.verifier", "Xác thực khuôn mặt", "Face verifier"),
    ("acc.account.score", "điểm", "score"),
    ("acc.account.created", "Tạo lúc", "Created"),
    ("acc.account.activated", "Kích hoạt lúc", "Activated"),
    ("acc.account.locked_out", "Tạm khóa do nhập sai đến", "Locked out until"),
    ("acc.account.locks", "Tình trạng khóa", "Locks"),
    ("acc.account.no_locks", "Tài khoản không bị khóa.", "The account is not locked."),
    ("acc.account.lock", "Khóa tài khoản", "Lock the account"),
    ("acc.account.unlock", "Mở khóa", "Unlock"),
    ("acc.account.reason", "Lý do", "Reason"),
    ("acc.account.phone", "Đổi số điện thoại", "Change the phone number"),
    ("acc.account.new_phone", "Số điện thoại mới", "New phone number"),
    ("acc.account.phone_save", "Đổi số", "Change"),
    ("acc.account.history", "Lịch sử tài khoản", "Account history"),
    ("acc.state.pending", "Chưa kích hoạt", "Pending"),
    ("acc.state.active", "Đang hoạt động", "Active"),
    ("acc.state.locked", "Đang bị khóa", "Locked"),
    ("acc.lock.by", "Khóa bởi", "Locked by"),
    ("acc.lock.why", "Lý do", "Why"),
    ("acc.lock.who", "Người thực hiện, thời gian", "Who and when"),
    ("acc.lock.holder", "Chủ tài khoản", "The holder"),
    ("acc.lock.holder_why", "Chủ tài khoản tự khóa (xác nhận bằng passcode)", "Locked by the holder (with the passcode)"),
    ("acc.lock.officer", "Cán bộ", "An officer"),
    ("acc.lock.register", "CSDL dân cư", "The register"),
    ("acc.register_lock.dead", "Đã mất", "Died"),
    ("acc.register_lock.emigrated", "Xuất cảnh", "Emigrated"),
    ("acc.register_lock.card_revoked", "Thẻ CCCD bị thu hồi", "Card revoked"),
    ("acc.actor.citizen", "Công dân (ứng dụng)", "Citizen (app)"),
    ("acc.actor.system", "Hệ thống", "System"),
    ("acc.yes", "có", "yes"),
    ("acc.no", "không", "no"),
    ("acc.why.no_match", "Thiết bị không đối sánh khớp vân tay hay ảnh chân dung", "The device found no fingerprint or portrait match"),
    ("acc.why.under_14", "Dưới 14 tuổi: cần có sự đồng ý của người giám hộ", "Under 14: needs a guardian's consent on file"),
    ("acc.why.phone", "Số điện thoại khác số trong CSDL dân cư", "The phone differs from the one in the register"),
    ("acc.by.automatic", "tự động", "automatic"),
    ("acc.by.officer", "cán bộ", "an officer"),
    ("acc.by.self_service", "tự thực hiện trên ứng dụng", "self-service in the app"),
    ("acc.by.guardian", "người giám hộ", "the guardian"),
    ("acc.secret.password", "mật khẩu", "password"),
    ("acc.secret.passcode", "passcode", "passcode"),
    ("acc.detail.reason", "lý do", "reason"),
    ("acc.detail.name", "tên", "name"),
    ("acc.detail.daily_capacity", "công suất/ngày", "daily capacity"),
    ("acc.detail.from", "từ", "from"),
    ("acc.detail.to", "sang", "to"),
    ("acc.detail.by", "bởi", "by"),
    ("acc.detail.valid_until", "hiệu lực đến", "valid until"),
    ("acc.detail.verifier", "xác thực", "verifier"),
    ("acc.detail.score", "điểm", "score"),
    ("acc.detail.relation", "quan hệ", "relation"),
    ("acc.detail.secret", "loại", "secret"),
    ("acc.detail.minutes", "số phút", "minutes"),
    ("acc.detail.device", "thiết bị", "device"),
    ("acc.detail.level", "mức", "level"),
    ("acc.detail.photo_sha256", "ảnh", "photo"),
    ("acc.detail.phone", "số điện thoại", "phone"),
    ("acc.detail.method", "phương thức", "method"),
    ("acc.detail.against", "đối chiếu với", "against"),
    ("acc.detail.matched", "khớp", "matched"),
    ("acc.detail.packet_sha256", "gói tin", "packet"),
    ("acc.events.kind", "Sự kiện", "Event"),
    ("acc.events.detail", "Chi tiết", "Detail"),
    ("acc.event.registration_refused", "Đăng ký bị từ chối", "Registration refused"),
    ("acc.event.registration_started", "Đăng ký mức 1", "Level-1 registration started"),
    ("acc.event.level1_activated", "Kích hoạt mức 1", "Level 1 activated"),
    ("acc.event.level2_activated", "Kích hoạt mức 2", "Level 2 activated"),
    ("acc.event.application_collected", "Thu nhận hồ sơ", "Application collected"),
    ("acc.event.application_review", "Chuyển chờ duyệt", "Sent to review"),
    ("acc.event.application_approved", "Hồ sơ được duyệt", "Application approved"),
    ("acc.event.application_rejected", "Hồ sơ bị từ chối", "Application rejected"),
    ("acc.event.activation_code_sent", "Gửi mã kích hoạt", "Activation code sent"),
    ("acc.event.activation_code_resent", "Gửi lại mã kích hoạt", "Activation code sent again"),
    ("acc.event.guardian_recorded", "Ghi nhận người giám hộ", "Guardian recorded"),
    ("acc.event.secret_failed", "Nhập sai mật khẩu hoặc passcode", "Wrong password or passcode"),
    ("acc.event.locked_out", "Tạm khóa do nhập sai nhiều lần", "Locked out after failures"),
    ("acc.event.signed_in", "Đăng nhập", "Signed in"),
    ("acc.event.device_check_sent", "Gửi mã xác nhận thiết bị mới", "New-device code sent"),
    ("acc.event.device_bound", "Gắn thiết bị mới", "New device bound"),
    ("acc.event.phone_change_started", "Bắt đầu đổi số điện thoại", "Phone change started"),
    ("acc.event.phone_changed", "Đổi số điện thoại", "Phone number changed"),
    ("acc.event.password_reset_started", "Bắt đầu đặt lại mật khẩu", "Password reset started"),
    ("acc.event.password_reset", "Đặt lại mật khẩu", "Password reset"),
    ("acc.event.password_changed", "Đổi mật khẩu", "Password changed"),
    ("acc.event.passcode_changed", "Đổi passcode", "Passcode changed"),
    ("acc.event.locked_by_holder", "Chủ tài khoản khóa", "Locked by the holder"),
    ("acc.event.unlocked_by_holder", "Chủ tài khoản mở khóa", "Unlocked by the holder"),
    ("acc.event.locked_by_officer", "Cán bộ khóa", "Locked by an officer"),
    ("acc.event.unlocked_by_officer", "Cán bộ mở khóa", "Unlocked by an officer"),
    ("acc.event.locked_by_register", "Khóa theo CSDL dân cư", "Locked by the register"),
    ("acc.event.unlocked_by_register", "Mở khóa theo CSDL dân cư", "Unlocked by the register"),
    ("acc.devices.title", "Thiết bị thu nhận hồ sơ", "Intake devices"),
    ("acc.devices.none", "Chưa có thiết bị nào.", "No devices."),
    ("acc.devices.add", "Đăng ký thiết bị", "Register a device"),
    ("acc.devices.add_hint", "Thiết bị giữ khóa bí mật; chỉ đăng ký khóa công khai. Hồ sơ do thiết bị ký được kiểm tra bằng khóa này.", "The device keeps its private key; only the public key is registered. The packets it signs are checked with this key."),
    ("acc.devices.add_submit", "Đăng ký", "Register"),
    ("acc.devices.district_only", "Cán bộ cấp huyện trở lên đăng ký và tạm dừng thiết bị.", "Officers of district level and above register and suspend devices."),
    ("acc.device.name", "Tên thiết bị", "Name"),
    ("acc.device.unit", "Mã đơn vị", "Unit code"),
    ("acc.device.status", "Trạng thái", "Status"),
    ("acc.device.capacity", "Công suất/ngày", "Daily capacity"),
    ("acc.device.key", "Vân tay khóa", "Key fingerprint"),
    ("acc.device.public_key", "Khóa công khai Ed25519 (64 chữ số hex)", "Ed25519 public key (64 hex digits)"),
    ("acc.device.created", "Đăng ký lúc", "Registered"),
    ("acc.device.actions", "Thao tác", "Actions"),
    ("acc.device_status.active", "Đang hoạt động", "Active"),
    ("acc.device_status.suspended", "Tạm dừng", "Suspended"),
    ("acc.device_status.retired", "Ngừng sử dụng", "Retired"),
    ("acc.device.to.active", "Kích hoạt lại", "Reactivate"),
    ("acc.device.to.suspended", "Tạm dừng", "Suspend"),
    ("acc.device.to.retired", "Ngừng sử dụng", "Retire"),
    ("acc.sms.title", "Hộp thư SMS", "SMS outbox"),
    ("acc.sms.dev_note", "Môi trường phát triển: tin nhắn không được gửi đi mà hiện ở đây, kể cả mã kích hoạt. Khi dùng cổng SMS thật, trang này không hiện tin nhắn.", "Development: messages are not sent but shown here, codes included. With a real gateway this page shows no messages."),
    ("acc.sms.none", "Chưa có tin nhắn.", "No messages yet."),
    ("acc.sms.to", "Người nhận", "To"),
    ("acc.sms.purpose", "Mục đích", "Purpose"),
    ("acc.sms.state", "Trạng thái", "State"),
    ("acc.sms.attempts", "Lần gửi", "Attempts"),
    ("acc.sms.body", "Nội dung", "Text"),
    ("acc.sms.gateway_title", "Tin nhắn đi qua cổng SMS", "Messages go through the SMS gateway"),
    ("acc.sms.gateway_note", "Máy chủ gửi SMS qua cổng HTTP đã cấu hình. Tin nhắn chứa mã bí mật nên cán bộ không đọc được; trạng thái giao nhận được ghi trong hộp thư đi.", "The server sends SMS through the configured HTTP gateway. Messages carry secret codes, so staff do not read them; their delivery status is kept in the outbox."),
    ("acc.sms_state.pending", "Chờ gửi", "Pending"),
    ("acc.sms_state.sent", "Đã gửi", "Sent"),
    ("acc.sms_state.failed", "Gửi lỗi", "Failed"),
    ("acc.sms_purpose.activate", "Mã kích hoạt mức 2", "Level-2 activation code"),
    ("acc.sms_purpose.register", "Mã đăng ký mức 1", "Level-1 registration code"),
    ("acc.sms_purpose.device", "Xác nhận thiết bị mới", "New-device check"),
    ("acc.sms_purpose.phone_old", "Đổi số (số cũ)", "Phone change (old number)"),
    ("acc.sms_purpose.phone_new", "Đổi số (số mới)", "Phone change (new number)"),
    ("acc.sms_purpose.reset", "Đặt lại mật khẩu", "Password reset"),
    ("err.application.reason", "Cần ghi lý do từ chối (1 đến 500 ký tự).", "A rejection needs a reason (1 to 500 characters)."),
    ("err.account.reason", "Cần ghi lý do (1 đến 500 ký tự).", "Give the reason (1 to 500 characters)."),
    ("err.state.wrong", "Trạng thái hiện tại không cho phép thao tác này.", "The current state does not allow this."),
    ("err.review.not_higher_level", "Hồ sơ chờ duyệt do cán bộ đơn vị cấp trên đơn vị thu nhận quyết định.", "A review is decided by an officer of a unit above the collecting unit."),
    ("err.officer.outside_scope", "Ngoài phạm vi đơn vị của bạn.", "Outside your unit."),
    ("err.code.too_many_sends", "Mã đã được gửi đủ số lần cho phép.", "The code has been sent as many times as allowed."),
    ("err.phone.invalid", "Số điện thoại di động không hợp lệ.", "This is not a valid mobile number."),
    ("err.device.public_key", "Khóa công khai phải là 64 chữ số hex của một khóa Ed25519.", "The public key must be the 64 hex digits of an Ed25519 key."),
    ("err.device.capacity", "Công suất mỗi ngày từ 1 đến 10.000 hồ sơ.", "The daily capacity is 1 to 10,000 applications."),
    ("err.device.name", "Tên thiết bị có từ 1 đến 100 ký tự.", "A device name has 1 to 100 characters."),
    ("err.device.unit", "Đơn vị phải là một tỉnh, huyện hoặc xã.", "The unit must be a province, district or commune."),
    ("err.device.key_taken", "Khóa này đã được đăng ký cho thiết bị khác.", "This key is already registered for another device."),
    ("err.device.status", "Trạng thái thiết bị không hợp lệ.", "Unknown device status."),
    ("err.device.not_found", "Không có thiết bị này.", "There is no such device."),
    ("err.application.not_found", "Không có hồ sơ này.", "There is no such application."),
    ("err.application.state", "Trạng thái lọc không hợp lệ.", "Unknown application state."),
    ("err.account.not_found", "Công dân này chưa có tài khoản định danh điện tử.", "This person has no electronic identification account."),
    ("err.person.bad_id", "Số định danh không hợp lệ.", "This is not a valid personal ID."),
    ("err.unit.bad_code", "Mã đơn vị không hợp lệ.", "This is not a unit code."),
    ("err.unit.not_found", "Không có đơn vị với mã này.", "No unit has this code."),
    ("err.day.invalid", "Ngày viết dd/mm/yyyy (hoặc YYYY-MM-DD).", "A day is written dd/mm/yyyy (or YYYY-MM-DD)."),
    ("err.sms.not_development", "Hộp thư SMS chỉ hiện khi dùng bộ gửi phát triển.", "The SMS outbox is shown only with the development sink."),
    ("nav.ops", "Điều hành", "Operations"),
    ("ops.tab.dashboard", "Tổng quan", "Dashboard"),
    ("ops.tab.outreach", "Danh sách vận động", "Outreach"),
    ("ops.tab.proposals", "Đề xuất điều chỉnh", "Proposed changes"),
    ("ops.tab.reports", "Báo cáo định kỳ", "Periodic reports"),
    ("ops.tab.campaigns", "Đợt cao điểm", "Peak campaigns"),
    ("ops.dash.title", "Điều hành Đề án 06", "Project 06 operations"),
    ("ops.dash.no_quotas", "Đơn vị chưa được giao chỉ tiêu nào.", "No quota has been set for this unit."),
    ("ops.dash.reports", "Báo cáo trễ hạn, chưa nộp", "Late and missing reports"),
    ("ops.dash.reports_none", "Không có báo cáo trễ hạn hay chưa nộp.", "No late or missing reports."),
    ("ops.dash.reports_more", "Số báo cáo trễ hoặc thiếu khác:", "Other late or missing reports:"),
    ("ops.dash.all_reports", "Xem tất cả báo cáo định kỳ", "All periodic reports"),
    ("ops.dash.campaign", "Đợt cao điểm đang diễn ra", "Campaign in progress"),
    ("ops.dash.campaign_none", "Không có đợt cao điểm nào đang diễn ra.", "No peak campaign is in progress."),
    ("ops.dash.all_campaigns", "Xem tất cả các đợt cao điểm", "All peak campaigns"),
    ("ops.as_of", "Số liệu đến hết ngày", "Figures as of the end of"),
    ("ops.show", "Xem", "Show"),
    ("ops.today", "Hôm nay", "Today"),
    ("ops.back_own", "← Về đơn vị của tôi", "← Back to my unit"),
    ("ops.counts_at", "Số liệu tính đến hết ngày", "Counts as known at the end of"),
    ("ops.days_rule", "Số ngày còn lại là số ngày lịch sau ngày này, tính đến hết ngày hạn (ngày hạn là ngày cuối cùng); vào ngày hạn không còn ngày nào. Tốc độ cần đạt = số còn lại ÷ số ngày còn lại.", "Days left are the calendar days after this day up to and including the deadline (the deadline is the last day); on the deadline none is left. Required daily rate = remaining ÷ days left."),
    ("ops.status", "Tình trạng", "Status"),
    ("ops.status.met", "Đã đạt", "Met"),
    ("ops.status.on_track", "Đúng tiến độ", "On track"),
    ("ops.status.at_risk", "Có nguy cơ chậm", "At risk"),
    ("ops.status.behind", "Chậm tiến độ", "Behind"),
    ("ops.metric.applications_collected", "Hồ sơ định danh mức 2 thu nhận", "Applications collected"),
    ("ops.metric.level1_activated", "Tài khoản mức 1 kích hoạt", "Level-1 accounts activated"),
    ("ops.metric.level2_activated", "Tài khoản mức 2 kích hoạt", "Level-2 accounts activated"),
    ("ops.metric.accounts_activated", "Tài khoản kích hoạt (mức 1 hoặc 2)", "Accounts activated (level 1 or 2)"),
    ("ops.metric.cards_issued", "Thẻ CCCD cấp", "Citizen ID cards issued"),
    ("ops.fig.target", "Chỉ tiêu", "Target"),
    ("ops.fig.done", "Đã thực hiện", "Done"),
    ("ops.fig.remaining", "Còn lại", "Remaining"),
    ("ops.fig.days_left", "Số ngày còn lại", "Days left"),
    ("ops.fig.until", "đến hết", "to the end of"),
    ("ops.fig.required", "Tốc độ cần đạt", "Required daily rate"),
    ("ops.fig.required_none", "đã hết hạn mà chưa đạt", "deadline passed, not met"),
    ("ops.fig.per_day", "mỗi ngày", "a day"),
    ("ops.fig.rate_7d", "Tốc độ 7 ngày qua", "Rate of the last 7 days"),
    ("ops.fig.last_7", "trung bình", "average"),
    ("ops.fig.forecast_on", "Dự báo ngày đạt", "Forecast date met"),
    ("ops.fig.at_rate", "theo tốc độ gần đây", "at the recent rate"),
    ("ops.fig.never", "không đạt", "never"),
    ("ops.fig.forecast_pct", "Dự báo % khi hết hạn", "Forecast % at deadline"),
    ("ops.fig.on", "ngày", "on"),
    ("ops.open_quota", "Chi tiết, biểu đồ, phân bổ", "Details, chart, split"),
    ("ops.legend.title", "Cách xác định tình trạng", "How the status is decided"),
    ("ops.legend.met", "số đã thực hiện đạt chỉ tiêu.", "done has reached the target."),
    ("ops.legend.on_track", "với tốc độ gần đây, sẽ đạt ít nhất 100 % khi hết hạn.", "at the recent rate it reaches at least 100 % by the deadline."),
    ("ops.legend.at_risk", "với tốc độ đó chỉ đạt từ 90 % đến dưới 100 % khi hết hạn.", "at that rate it reaches 90 % to under 100 % by the deadline."),
    ("ops.legend.behind", "dưới 90 % khi hết hạn.", "under 90 % by the deadline."),
    ("ops.legend.required", "Đường yêu cầu: đường thẳng từ 0 vào ngày bắt đầu đến chỉ tiêu vào ngày hạn.", "Required line: the straight line from 0 on the start to the target on the deadline."),
    ("ops.legend.bar", "Vạch đen trên thanh tiến độ: phần thời gian đã trôi qua.", "The dark mark on the progress bar: the share of the time gone by."),
    ("ops.rank.title", "Xếp hạng đơn vị cấp dưới", "Ranking of the units below"),
    ("ops.rank.rank", "Hạng", "Rank"),
    ("ops.rank.change", "So với hôm trước", "Since yesterday"),
    ("ops.rank.change_hint", "Thay đổi thứ hạng so với cuối ngày hôm trước", "Change of rank since the end of the previous day"),
    ("ops.rank.percent", "% chỉ tiêu", "% of quota"),
    ("ops.rank.pp", "+ điểm %", "+ points"),
    ("ops.rank.pp_hint", "Số điểm phần trăm tăng trong ngày", "Percentage points gained in the day"),
    ("ops.rank.yesterday", "Hạng hôm trước:", "Rank yesterday:"),
    ("ops.rank.note", "Xếp theo % chỉ tiêu (so sánh chính xác); ▲ lên hạng, ▼ xuống hạng so với cuối ngày hôm trước.", "Ranked by % of quota (compared exactly); ▲ up, ▼ down since the end of the previous day."),
    ("ops.new.title", "Giao chỉ tiêu cho đơn vị cấp dưới", "Set a quota for a unit below"),
    ("ops.new.hint", "Cấp trên giao chỉ tiêu; giao lại cùng đơn vị, chỉ tiêu, nhóm đối tượng và ngày hạn thì thay đổi con số. Mỗi lần thay đổi được lưu cùng người thực hiện, thời gian và lý do.", "The level above sets quotas; setting the same unit, metric, cohort and deadline again changes the number. Every change is kept with who, when and why."),
    ("ops.new.unit", "Đơn vị", "Unit"),
    ("ops.new.metric", "Chỉ tiêu về", "Metric"),
    ("ops.new.cohort", "Nhóm đối tượng (không bắt buộc)", "Cohort (optional)"),
    ("ops.new.cohort_hint", "Cán bộ, công chức; học sinh lớp 11, 12 …", "Officials; grade-11/12 students …"),
    ("ops.new.start", "Ngày bắt đầu", "Start"),
    ("ops.new.deadline", "Ngày hạn", "Deadline"),
    ("ops.new.reason_hint", "Kế hoạch số …", "Plan no. …"),
    ("ops.new.submit", "Giao chỉ tiêu", "Set the quota"),
    ("ops.chart.title", "Lũy kế thực hiện so với đường yêu cầu đến ngày hạn", "Cumulative progress against the required line to the deadline"),
    ("ops.chart.x", "Ngày (từ ngày bắt đầu đến ngày hạn)", "Day (from the start to the deadline)"),
    ("ops.chart.y", "Lũy kế", "Cumulative count"),
    ("ops.chart.target", "Chỉ tiêu", "Target"),
    ("ops.chart.actual", "Lũy kế thực hiện", "Done, cumulative"),
    ("ops.chart.required", "Đường yêu cầu", "Required line"),
    ("ops.chart.forecast", "Dự báo theo tốc độ gần đây", "Forecast at the recent rate"),
    ("ops.chart.at_deadline", "khi hết hạn", "at the deadline"),
    ("ops.chart.as_of", "Ngày xem", "As of"),
    ("ops.quota.parent", "Chỉ tiêu cấp trên", "Parent quota"),
    ("ops.quota.set_by", "giao bởi", "set by"),
    ("ops.quota.children", "Phân bổ cho đơn vị cấp dưới", "Split to the units below"),
    ("ops.quota.no_children", "Chỉ tiêu chưa được phân bổ xuống đơn vị cấp dưới.", "The quota has not been split to the units below."),
    ("ops.quota.children_sum", "Tổng chỉ tiêu cấp dưới", "Sum of the units below"),
    ("ops.quota.change", "Điều chỉnh và phân bổ", "Change and split"),
    ("ops.quota.target_title", "Điều chỉnh chỉ tiêu", "Change the target"),
    ("ops.quota.target_hint", "Chỉ cấp trên của đơn vị được điều chỉnh; cần ghi lý do.", "Only the level above the unit changes it, with a reason."),
    ("ops.quota.new_target", "Chỉ tiêu mới", "New target"),
    ("ops.quota.target_submit", "Lưu chỉ tiêu", "Save the target"),
    ("ops.quota.history", "Lịch sử thay đổi chỉ tiêu", "Changes of the target"),
    ("ops.quota.old", "Cũ", "Old"),
    ("ops.quota.new", "Mới", "New"),
    ("ops.split.prop_title", "Phân bổ theo dân số", "Split by population"),
    ("ops.split.prop_hint", "Chia theo số người trong diện (còn sống, từ 14 tuổi, không xuất cảnh, không vắng mặt) của từng đơn vị cấp dưới; tổng luôn bằng chỉ tiêu.", "In proportion to each unit's eligible people (alive, 14 or older, not emigrated, not recorded absent); the parts always add up to the target."),
    ("ops.split.prop_submit", "Phân bổ tự động", "Split proportionally"),
    ("ops.split.manual_title", "Phân bổ thủ công", "Split by hand"),
    ("ops.split.manual_hint", "Nhập chỉ tiêu cho từng đơn vị; để trống thì giữ nguyên. Nếu tổng không bằng chỉ tiêu, bảng trên sẽ cảnh báo.", "Type a target per unit; blank keeps it. If the sum differs from the target, the table above warns."),
    ("ops.split.manual_submit", "Lưu phân bổ", "Save the split"),
    ("ops.split.eligible", "Người trong diện", "Eligible people"),
    ("ops.split.adds_up", "Khớp với chỉ tiêu.", "Adds up to the target."),
    ("ops.split.does_not", "Không khớp với chỉ tiêu.", "Does not add up to the target."),
    ("ops.split.warning", "Chỉ tiêu cấp dưới không khớp:", "Children's quotas do not add up:"),
    ("ops.split.mismatch_a", "Tổng chỉ tiêu các đơn vị cấp dưới là", "The units below have"),
    ("ops.split.mismatch_b", "nhưng chỉ tiêu của đơn vị là", "in all, but the unit's target is"),
    ("ops.split.over", "thừa", "over by"),
    ("ops.split.under", "thiếu", "short by"),
    ("ops.cap.title", "Năng lực thu nhận", "Intake capacity"),
    ("ops.cap.devices", "Thiết bị đang hoạt động", "Active devices"),
    ("ops.cap.per_day", "Công suất", "Capacity"),
    ("ops.cap.days_needed", "Số ngày cần (chạy hết công suất)", "Days needed at full capacity"),
    ("ops.cap.days_left", "ngày còn lại", "days left"),
    ("ops.cap.more", "Cần thêm thiết bị", "More devices needed"),
    ("ops.cap.more_hint", "với công suất trung bình, để kịp hạn", "of the average capacity, to meet the deadline"),
    ("ops.cap.note", "Thiết bị thu nhận hồ sơ của đơn vị và cấp dưới, so với số hồ sơ còn phải thu nhận.", "The intake devices of the unit and the units below, against the applications still to collect."),
    ("ops.cap.note_other", "Thiết bị thu nhận hồ sơ; với chỉ tiêu này, số liệu chỉ mang tính tham khảo (một tài khoản mức 2 cần một hồ sơ).", "Intake devices; for this metric the figures are indicative (a level-2 account needs one application)."),
    ("ops.board.title", "Bảng thi đua", "Emulation leaderboard"),
    ("ops.board.rule", "Cách tính điểm", "Scoring rule"),
    ("ops.board.rule_a", "mỗi 1 % chỉ tiêu đạt được là 1 điểm, tối đa", "one point per percent of the quota reached, at most"),
    ("ops.board.rule_b", "điểm; mỗi báo cáo định kỳ nộp đúng hạn được", "points; each periodic report on time earns"),
    ("ops.board.rule_c", "điểm, nộp trễ được", "points, a late one"),
    ("ops.board.rule_d", "điểm; báo cáo chưa nộp không được điểm, báo cáo chưa đến hạn không tính.", "points; a missing report earns nothing and one not yet due does not count."),
    ("ops.board.quota_points", "Điểm chỉ tiêu", "Quota points"),
    ("ops.board.report_points", "Điểm báo cáo", "Report points"),
    ("ops.board.score", "Tổng điểm", "Score"),
    ("ops.board.none", "Chỉ tiêu chưa được phân bổ xuống đơn vị cấp dưới nên chưa có bảng thi đua.", "The quota is not split to the units below, so there is no leaderboard."),
    ("ops.out.title", "Danh sách vận động", "Outreach list"),
    ("ops.out.hint", "“Rõ người”: công dân trong diện (còn sống, từ 14 tuổi, đang cư trú) chưa có hồ sơ hoặc chưa có tài khoản, để phân công đến từng nhà.", "“Clear on people”: eligible residents (alive, 14 or older, present) without an application or an account, to assign door to door."),
    ("ops.out.commune", "Xã, phường", "Commune"),
    ("ops.out.missing", "Đối tượng", "Who"),
    ("ops.missing.no_application", "Chưa có hồ sơ mức 2", "No level-2 application"),
    ("ops.missing.no_account", "Chưa có tài khoản", "No account"),
    ("ops.out.address", "Địa chỉ", "Address"),
    ("ops.out.address_hint", "Thôn, tổ dân phố …", "Hamlet, street …"),
    ("ops.out.min_age", "Từ tuổi", "Age from"),
    ("ops.out.max_age", "Đến tuổi", "Age to"),
    ("ops.out.age", "Độ tuổi", "Age"),
    ("ops.out.choose", "Chọn một xã, phường để lập danh sách.", "Choose a commune to list."),
    ("ops.out.people", "người", "people"),
    ("ops.out.full", "chỉ hiện", "showing only"),
    ("ops.out.print", "Bản in", "Printable list"),
    ("ops.out.none", "Không còn ai trong danh sách với điều kiện này.", "No one is left to reach with these filters."),
    ("ops.out.assign_title", "Phân công người đã chọn", "Assign the people ticked"),
    ("ops.out.assignee", "Người, tổ phụ trách", "Assigned to"),
    ("ops.out.assignee_hint", "Tổ công tác số 3", "Working group 3"),
    ("ops.out.due", "Hạn hoàn thành", "Due"),
    ("ops.out.due_short", "hạn", "due"),
    ("ops.out.assign", "Phân công", "Assign"),
    ("ops.out.assign_hint", "Đánh dấu ✓ những người trong bảng dưới đây.", "Tick the people in the table below."),
    ("ops.out.pick", "Chọn", "Pick"),
    ("ops.out.state", "Tình trạng", "Where they stand"),
    ("ops.out.level", "Tài khoản mức", "Account level"),
    ("ops.out.application", "Hồ sơ", "Application"),
    ("ops.out.nothing", "Chưa có hồ sơ, tài khoản", "No application, no account"),
    ("ops.out.outcome", "Kết quả tiếp xúc", "Contact outcome"),
    ("ops.out.record", "Ghi kết quả", "Record outcome"),
    ("ops.out.note", "Ghi chú", "Note"),
    ("ops.out.save", "Lưu", "Save"),
    ("ops.out.sheet", "Danh sách", "List"),
    ("ops.out.proposal_hint", "Kết quả “Đã mất”, “Đã chuyển đi” hoặc “Đã xuất cảnh” tạo đề xuất điều chỉnh CSDL dân cư để cán bộ xác nhận:", "Outcomes “dead”, “moved away” and “emigrated” propose a register change for an officer to confirm:"),
    ("ops.outcome.visited", "Đã đến nhà", "Visited"),
    ("ops.outcome.not_home", "Không có nhà", "Not at home"),
    ("ops.outcome.no_phone", "Không có điện thoại", "No phone"),
    ("ops.outcome.moved_away", "Đã chuyển đi", "Moved away"),
    ("ops.outcome.dead", "Đã mất", "Dead"),
    ("ops.outcome.refused", "Từ chối", "Refused"),
    ("ops.outcome.emigrated", "Đã xuất cảnh", "Emigrated"),
    ("ops.print.title", "DANH SÁCH CÔNG DÂN CẦN VẬN ĐỘNG", "LIST OF RESIDENTS TO REACH"),
    ("ops.print.back", "Về danh sách", "Back to the list"),
    ("ops.print.how", "Dùng lệnh In của trình duyệt (Ctrl+P) để in trang này.", "Use the browser's Print (Ctrl+P) to print this page."),
    ("ops.print.police", "Công an", "Police of"),
    ("ops.print.motto_a", "Cộng hòa xã hội chủ nghĩa Việt Nam", "Socialist Republic of Viet Nam"),
    ("ops.print.motto_b", "Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness"),
    ("ops.print.date", "ngày", "on"),
    ("ops.print.no", "STT", "No."),
    ("ops.print.result", "Kết quả / ghi chú", "Outcome / notes"),
    ("ops.print.maker", "Người lập danh sách", "Prepared by"),
    ("ops.print.head", "Trưởng Công an", "Head of the police,"),
    ("ops.print.sign", "(Ký, ghi rõ họ tên)", "(Signature and full name)"),
    ("ops.print.sign_seal", "(Ký, ghi rõ họ tên, đóng dấu)", "(Signature, full name and seal)"),
    ("ops.prop.title", "Đề xuất điều chỉnh CSDL dân cư", "Proposed register changes"),
    ("ops.prop.hint", "Đề xuất phát sinh từ kết quả tiếp xúc khi vận động. Xác nhận thì CSDL dân cư ghi nhận tình trạng mới (có lịch sử); bỏ qua thì giữ nguyên.", "Proposals come from outreach contacts. Confirming records the new status in the register (with its history); dismissing leaves it as is."),
    ("ops.prop.none", "Không có đề xuất nào chờ xử lý.", "No proposals wait for a decision."),
    ("ops.prop.proposed", "Đề xuất", "Proposed"),
    ("ops.prop.created", "Thời gian", "When"),
    ("ops.prop.confirm", "Xác nhận", "Confirm"),
    ("ops.prop.dismiss", "Bỏ qua", "Dismiss"),
    ("ops.rep.title", "Báo cáo định kỳ", "Periodic reports"),
    ("ops.rep.hint", "Các cơ quan thành viên Tổ công tác và đơn vị cấp dưới báo cáo theo lịch; báo cáo đúng hạn nếu nộp đến hết ngày cuối kỳ cộng số ngày gia hạn.", "Member agencies of the working group and the units below report on a schedule; a report is on time when submitted by the end of its period plus the grace days."),
    ("ops.rep.none", "Chưa có lịch báo cáo nào.", "No reporting schedules yet."),
    ("ops.rep.grace", "gia hạn (ngày):", "grace days:"),
    ("ops.rep.since", "từ", "since"),
    ("ops.rep.expected", "Đã đến hạn", "Due so far"),
    ("ops.rep.completeness", "Đầy đủ", "Completeness"),
    ("ops.rep.completeness_hint", "số đã nộp / số đã đến hạn", "submitted / due so far"),
    ("ops.rep.recent", "Các kỳ gần nhất (mới nhất trước)", "Latest periods (newest first)"),
    ("ops.rep.order", "Xếp theo số báo cáo chưa nộp, rồi trễ hạn, nhiều nhất trước. Di chuột lên một kỳ để xem hạn nộp.", "Ordered by missing, then late reports, most first. Hover over a period to see its due day."),
    ("ops.rep.older", "Số kỳ cũ hơn không hiện:", "Older periods not shown:"),
    ("ops.rep.submit_title", "Nộp báo cáo", "Submit a report"),
    ("ops.rep.body", "Nội dung báo cáo", "Report"),
    ("ops.rep.body_hint", "Kết quả, khó khăn, đề xuất …", "Results, difficulties, requests …"),
    ("ops.rep.submit", "Nộp báo cáo", "Submit"),
    ("ops.rep.add_title", "Thêm lịch báo cáo", "Add a reporting schedule"),
    ("ops.rep.agency_hint", "Sở Thông tin và Truyền thông", "Department of Information"),
    ("ops.rep.schedule", "Kỳ báo cáo", "Schedule"),
    ("ops.rep.grace_days", "Số ngày gia hạn", "Grace days"),
    ("ops.rep.add", "Thêm lịch", "Add"),
    ("ops.schedule.weekly", "Hằng tuần", "Weekly"),
    ("ops.schedule.monthly", "Hằng tháng", "Monthly"),
    ("ops.report.agency", "Cơ quan, đơn vị báo cáo", "Reporting agency"),
    ("ops.report.period", "Kỳ báo cáo", "Period"),
    ("ops.report.due", "Hạn nộp", "Due"),
    ("ops.report.on_time", "Đúng hạn", "On time"),
    ("ops.report.late", "Trễ hạn", "Late"),
    ("ops.report.missing", "Chưa nộp", "Missing"),
    ("ops.report.not_due_yet", "Chưa đến hạn", "Not due yet"),
    ("ops.report_short.on_time", "Đúng hạn", "On time"),
    ("ops.report_short.late", "Trễ", "Late"),
    ("ops.report_short.missing", "Thiếu", "Missing"),
    ("ops.report_short.not_due_yet", "Chưa đến", "Not due"),
    ("ops.camp.title", "Đợt cao điểm", "Peak campaigns"),
    ("ops.camp.hint", "So sánh tốc độ thu nhận hồ sơ trong đợt với cùng số ngày ngay trước đợt.", "Compares the daily rate of applications during the campaign with the same number of days just before it."),
    ("ops.camp.none", "Chưa có đợt cao điểm nào.", "No peak campaigns yet."),
    ("ops.camp.name", "Tên đợt", "Name"),
    ("ops.camp.name_hint", "Đợt cao điểm 90 ngày", "90-day peak campaign"),
    ("ops.camp.slogan", "Khẩu hiệu", "Slogan"),
    ("ops.camp.dates", "Thời gian", "Dates"),
    ("ops.camp.end", "Ngày kết thúc", "End"),
    ("ops.camp.rates_hint", "Tốc độ: số hồ sơ thu nhận trung bình mỗi ngày trong đơn vị của đợt.", "Rates: applications collected per day, on average, in the campaign's unit."),
    ("ops.camp.add_title", "Thêm đợt cao điểm", "Add a peak campaign"),
    ("ops.camp.add", "Thêm đợt", "Add"),
    ("ops.campaign.before", "Trước đợt", "Before"),
    ("ops.campaign.during", "Trong đợt", "During"),
    ("ops.campaign.change", "Thay đổi", "Change"),
    ("ops.campaign.per_day", "hồ sơ/ngày", "applications a day"),
    ("ops.campaign.day", "ngày thứ", "day"),
    ("ops.campaign.running", "Đang diễn ra", "In progress"),
    ("ops.campaign.upcoming", "Sắp diễn ra", "Upcoming"),
    ("ops.campaign.ended", "Đã kết thúc", "Ended"),
    ("ops.actor.system", "Hệ thống", "System"),
    ("ops.actor.token", "mã truy cập API", "API token"),
    ("ops.phone.none", "Không có ĐT", "No phone"),
    ("ops.phone.basic", "ĐT cơ bản", "Basic phone"),
    ("ops.phone.smartphone", "ĐT thông minh", "Smartphone"),
    ("ops.done.quota_set", "Đã giao chỉ tiêu.", "The quota is set."),
    ("ops.done.target", "Đã điều chỉnh chỉ tiêu.", "The target is changed."),
    ("ops.done.split", "Đã phân bổ chỉ tiêu cho đơn vị cấp dưới.", "The quota is split to the units below."),
    ("ops.done.assigned", "Đã phân công.", "Assigned."),
    ("ops.done.contact", "Đã ghi kết quả tiếp xúc.", "The contact is recorded."),
    ("ops.done.contact_proposal", "Đã ghi kết quả tiếp xúc và tạo đề xuất điều chỉnh CSDL dân cư.", "The contact is recorded and a register change is proposed."),
    ("ops.done.confirmed", "Đã xác nhận; CSDL dân cư đã được cập nhật.", "Confirmed; the register is updated."),
    ("ops.done.dismissed", "Đã bỏ qua đề xuất.", "The proposal is dismissed."),
    ("ops.done.report", "Đã nộp báo cáo.", "The report is submitted."),
    ("ops.done.schedule", "Đã thêm lịch báo cáo.", "The schedule is added."),
    ("ops.done.campaign", "Đã thêm đợt cao điểm.", "The campaign is added."),
    ("err.quota.reason", "Cần ghi lý do giao hoặc điều chỉnh chỉ tiêu.", "Say why the quota is set or changed."),
    ("err.quota.metric", "Loại chỉ tiêu không hợp lệ.", "Unknown metric."),
    ("err.quota.dates", "Ngày hạn không được trước ngày bắt đầu.", "The deadline cannot be before the start."),
    ("err.quota.target", "Chỉ tiêu là một số nguyên không âm.", "The target is a whole number."),
    ("err.quota.not_found", "Không có chỉ tiêu này.", "There is no such quota."),
    ("err.quota.no_children", "Chỉ tiêu cấp xã không phân bổ tiếp được.", "A commune's quota cannot be split further."),
    ("err.quota.not_a_child", "Đơn vị không trực thuộc đơn vị của chỉ tiêu.", "The unit is not directly below the quota's unit."),
    ("err.split.parts", "Nhập chỉ tiêu cho ít nhất một đơn vị cấp dưới.", "Give a target to at least one unit below."),
    ("err.split.mode", "Cách phân bổ không hợp lệ.", "Unknown way of splitting."),
    ("err.outreach.ids", "Chọn từ 1 đến 1.000 người để phân công.", "Tick 1 to 1,000 people to assign."),
    ("err.outreach.assignee", "Ghi tên cán bộ hoặc tổ công tác (tối đa 100 ký tự).", "Name an officer or working group (up to 100 characters)."),
    ("err.outreach.outcome", "Kết quả tiếp xúc không hợp lệ.", "Unknown contact outcome."),
    ("err.outreach.note", "Ghi chú tối đa 500 ký tự.", "A note has at most 500 characters."),
    ("err.outreach.not_in_commune", "Có người được chọn không cư trú tại xã này.", "Someone ticked does not live in this commune."),
    ("err.outreach.min_age", "Tuổi là số nguyên từ 0 đến 150.", "An age is a whole number, 0 to 150."),
    ("err.outreach.max_age", "Tuổi là số nguyên từ 0 đến 150.", "An age is a whole number, 0 to 150."),
    ("err.unit.not_commune", "Danh sách vận động lập theo từng xã: hãy chọn một xã, phường.", "Outreach lists are per commune: choose a commune."),
    ("err.proposal.decided", "Đề xuất đã được xử lý (có thể bởi cán bộ khác cùng lúc); quyết định của bạn không được ghi. Hãy tải lại danh sách.", "The proposal was already decided (perhaps by another officer at the same moment); your decision was not recorded. Reload the list."),
    ("err.proposal.bad_value", "Đề xuất mang một tình trạng không hợp lệ; không có gì được ghi.", "The proposal holds an unknown status; nothing was recorded."),
    ("err.proposal.not_found", "Không có đề xuất này.", "There is no such proposal."),
    ("err.report.body", "Báo cáo có từ 1 đến 10.000 ký tự.", "A report has 1 to 10,000 characters."),
    ("err.report.already_submitted", "Kỳ này đã nộp báo cáo.", "This period's report was already submitted."),
    ("err.report.future", "Kỳ báo cáo chưa bắt đầu.", "The period has not started."),
    ("err.report.schedule_not_found", "Không có lịch báo cáo này.", "There is no such schedule."),
    ("err.report.agency", "Ghi tên cơ quan, đơn vị báo cáo (tối đa 200 ký tự).", "Name the reporting agency (up to 200 characters)."),
    ("err.report.grace", "Số ngày gia hạn từ 0 đến 31.", "Grace is 0 to 31 days."),
    ("err.report.schedule", "Kỳ báo cáo là hằng tuần hoặc hằng tháng.", "The schedule is weekly or monthly."),
    ("err.campaign.name", "Đợt cần có tên (tối đa 200 ký tự), khẩu hiệu tối đa 300 ký tự.", "A campaign needs a name (up to 200 characters) and a slogan up to 300."),
    ("err.campaign.dates", "Ngày kết thúc không được trước ngày bắt đầu.", "The end cannot be before the start."),
    ("err.as_of", "Ngày phải theo dạng YYYY-MM-DD.", "A day is written YYYY-MM-DD."),
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_are_filled() {
        let mut seen = std::collections::HashSet::new();
        for (k, vi, en) in tables() {
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

    /// Every key the Rust code asks for by name (`.t("key")`), in every source file of the
    /// web crate, is in the table: a page never shows "??".
    #[test]
    fn every_key_named_in_the_code_is_translated() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
            &mut files,
        );
        let mut checked = 0;
        // This file names keys in its tests' text.
        files.retain(|p| !p.ends_with("console/i18n.rs"));
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split(".t(\"").skip(1) {
                let key = piece.split('"').next().unwrap();
                // Keys ending in a dot are prefixes completed at run time; a test's own
                // unknown key is there on purpose.
                if key.ends_with('.') || key.contains(' ') || key == "no.such.key" {
                    continue;
                }
                assert_ne!(Lang::Vi.t(key), MISSING, "{} uses {key}", path.display());
                checked += 1;
            }
        }
        assert!(checked > 50, "the scan found the code's keys ({checked})");
    }

    #[test]
    fn unknown_keys_show_as_missing_and_vietnamese_is_the_default() {
        assert_eq!(Lang::default().t("nav.search"), "Tra cứu");
        assert_eq!(Lang::En.t("nav.search"), "Search");
        assert_eq!(Lang::En.t("no.such.key"), "??");
    }
}
