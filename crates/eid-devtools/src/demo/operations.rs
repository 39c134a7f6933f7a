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
