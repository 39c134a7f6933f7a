//! The operations over the history: quotas split down the tree, the peak campaign, reports.

use super::*;

/// The operations a province runs over that history: the ministry's quotas for the province
/// (applications collected, level-2 and all accounts activated), split to districts and to
/// communes in proportion to eligible people; the peak campaign; weekly reports from each
/// district, some on time, some late, some missing.
///
/// The targets are set so that the deadline, 40 days from today, needs a faster pace than the
/// last week's: the dashboard shows a province behind on accounts and at risk on applications,
/// with districts on both sides, as the seeds' provinces were.
pub(super) fn seed_operations(
    store: &dyn Store,
    province: &UnitCode,
    first: Date,
    today: Date,
    peak_start: Date,
    now: time::OffsetDateTime,
) -> Result<(), String> {
    use eid_core::ops;
    let e = |e: ops::OpsError| e.to_string();
    let ministry = eid_core::Actor::Cli("demo:ministry".into());
    let province_actor = eid_core::Actor::Cli("demo:province".into());
    let deadline = today + Duration::days(40);
    let range = eid_core::store::path_range(province).ok_or("no path range")?;
    let (from, to) = (acc::day_number(first), acc::day_number(today));
    let week = |m: &str| -> Result<u64, String> {
        Ok(acc::count(store, m, range, to - 6, to)
            .map_err(|e| e.to_string())?
            .max(0)
            .unsigned_abs())
    };
    let done = |m: &str| -> Result<u64, String> {
        Ok(acc::count(store, m, range, from, to)
            .map_err(|e| e.to_string())?
            .max(0)
            .unsigned_abs())
    };
    // Target = done + 40 days at a multiple of the last week's pace.
    for (metric, pace) in [
        (acc::metric::APPLICATIONS_COLLECTED, 1.05),
        (acc::metric::LEVEL2_ACTIVATED, 1.6),
        (acc::metric::ACCOUNTS_ACTIVATED, 1.4),
    ] {
        let target = done(metric)? + ((week(metric)? as f64 / 7.0) * 40.0 * pace).round() as u64;
        let q = ops::set_quota(
            store,
            &ops::NewQuota {
                unit: *province,
                metric: metric.into(),
                cohort: String::new(),
                target: target.max(1),
                start: first,
                deadline,
                parent_id: None,
            },
            &ministry,
            "Kế hoạch triển khai Đề án 06 (demo)",
            now,
        )
        .map_err(e)?;
        let districts = ops::split(
            store,
            q.id,
            ops::Split::Proportional { today },
            &province_actor,
            now,
        )
        .map_err(e)?;
        for d in &districts {
            ops::split(
                store,
                d.id,
                ops::Split::Proportional { today },
                &province_actor,
                now,
            )
            .map_err(e)?;
        }
    }
    ops::add_campaign(
        store,
        PEAK_NAME,
        "Đến từng nhà, rà từng người",
        province,
        peak_start,
        peak_start + Duration::days(PEAK_DAYS - 1),
        &province_actor,
        now,
    )
    .map_err(e)?;
    // Weekly reports from each district to the province, due the day after the week ends:
    // a pattern of on time, late and missing.
    let units = Units::get();
    for (i, d) in units.children(Tree::Gso2024, province).iter().enumerate() {
        let sched = ops::add_schedule(
            store,
            &format!("Công an {}", d.name),
            &d.code,
            eid_domain::campaign::Schedule::Weekly,
            1,
            first,
            &province_actor,
            now,
        )
        .map_err(e)?;
        for (k, p) in
            eid_domain::campaign::periods(eid_domain::campaign::Schedule::Weekly, first, today)
                .into_iter()
                .enumerate()
        {
            let due = eid_domain::campaign::due(p, 1);
            if due >= today {
                continue;
            }
            let late_by = match (i + k) % 5 {
                0 => None,    // missing
                1 => Some(3), // late
                _ => Some(0), // on time
            };
            let Some(late_by) = late_by else { continue };
            let at = (due + Duration::days(late_by))
                .min(today)
                .midnight()
                .assume_offset(acc::vietnam())
                + Duration::hours(16);
            ops::submit_report(
                store,
                sched.id,
                p.start,
                &format!("Tuần {}: đã thu nhận hồ sơ, kích hoạt tài khoản theo kế hoạch; khó khăn: thiếu máy tại xã vùng sâu.", k + 1),
                &eid_core::Actor::Cli(format!("demo:district:{}", d.code.as_str())),
                at.min(now),
            )
            .map_err(e)?;
        }
    }
    Ok(())
}

/// The file name the other provinces' figures arrive under.
pub const PROVINCES_FILE: &str = "bao-cao-cac-tinh.csv";

/// The other provinces, which do not run eid in the demo: the ministry's quotas for each
/// (applications collected, level-2 and all accounts activated, with the demo province's start
/// and deadline), and their daily figures to yesterday as reported figures, generated as a CSV
/// file and brought in through the same import an officer uses ([`ops::service::import_as`]),
/// so the national view ranks all 63 provinces. About a quarter of them have met both quotas
/// already; the others are spread from on track to far behind. Returns the rows imported.
pub(super) fn seed_reported_provinces(
    store: &dyn Store,
    demo_province: &UnitCode,
    first: Date,
    today: Date,
    now: time::OffsetDateTime,
    seed: u64,
) -> Result<usize, String> {
    use eid_core::ops;
    use std::fmt::Write as _;
    let ministry = eid_core::Actor::Cli("demo:ministry".into());
    let deadline = today + Duration::days(40);
    let last = today - Duration::days(1);
    if last < first {
        return Ok(0);
    }
    let days = u32::try_from((last - first).whole_days() + 1).unwrap_or(1);
    let metrics = [
        (acc::metric::APPLICATIONS_COLLECTED, 1.0),
        (acc::metric::LEVEL2_ACTIVATED, 0.45),
        (acc::metric::ACCOUNTS_ACTIVATED, 0.7),
    ];
    let mut csv = String::from("unit,day,metric,count,source\n");
    let mut quotas: Vec<(UnitCode, &str, u64)> = Vec::new();
    let units = Units::get();
    for (k, p) in units
        .provinces(Tree::Gso2024)
        .iter()
        .filter(|p| p.code != *demo_province)
        .enumerate()
    {
        let mut rng = Rng::new(seed ^ 0x7e_0000 ^ u64::from(p.code.number()));
        let base = 300.0 + rng.unit() * 2_700.0;
        let source = ["Zalo Công an tỉnh", "điện thoại", "bảng tính tuần"][k % 3];
        for (metric, share) in metrics {
            let (mut total, mut week) = (0u64, 0u64);
            for i in 0..days {
                let day = first + Duration::days(i64::from(i));
                let w = day_weight(i, days, day.weekday());
                let n = (base * share * w * (0.85 + 0.3 * rng.unit()))
                    .round()
                    .max(0.0) as u64;
                total += n;
                if (last - day).whole_days() < 7 {
                    week += n;
                }
                let _ = writeln!(
                    csv,
                    "{},{:02}/{:02}/{},{metric},{n},{source}",
                    p.code.as_str(),
                    day.day(),
                    u8::from(day.month()),
                    day.year()
                );
            }
            // A quarter met both quotas; the rest need from 0.8 to 1.8 times the last week's pace.
            let target = if k % 4 == 0 {
                (total as f64 * 0.97) as u64
            } else {
                let pace = 0.8 + rng.unit();
                total + (week as f64 / 7.0 * 40.0 * pace).round() as u64
            };
            quotas.push((p.code, metric, target.max(1)));
        }
    }
    for (unit, metric, target) in quotas {
        ops::set_quota(
            store,
            &ops::NewQuota {
                unit,
                metric: metric.into(),
                cohort: String::new(),
                target,
                start: first,
                deadline,
                parent_id: None,
            },
            &ministry,
            "Kế hoạch triển khai Đề án 06 (demo)",
            now,
        )
        .map_err(|e| e.to_string())?;
    }
    let how = ops::service::ImportIn {
        file_name: PROVINCES_FILE.into(),
        source: "báo cáo tỉnh".into(),
        reason: String::new(),
        skip_bad: false,
    };
    let r = ops::service::import_as(
        store,
        &ministry,
        now,
        &|u: &UnitCode| u.level() == Level::Province,
        csv.as_bytes(),
        &how,
    )
    .map_err(|e| e.to_string())?;
    if !r.applied {
        return Err(format!(
            "the provinces' figures did not import: {} bad rows",
            r.bad.len()
        ));
    }
    Ok(r.created)
}
