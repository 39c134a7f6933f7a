//! What the history holds, day by day, and its summary.

use super::*;

/// What the roll-up holds for the province, day by day from `first`.
pub fn daily_figures(
    store: &dyn Store,
    province: &UnitCode,
    first: Date,
    days: u32,
) -> Result<Vec<DayFigures>, String> {
    let range = eid_core::store::path_range(province)
        .ok_or_else(|| format!("{province} has no path range"))?;
    let mut out = Vec::new();
    for i in 0..days {
        let date = first + Duration::days(i64::from(i));
        let n = acc::day_number(date);
        let count =
            |metric: &str| acc::count(store, metric, range, n, n).map_err(|e| e.to_string());
        out.push(DayFigures {
            date,
            collected: count(acc::metric::APPLICATIONS_COLLECTED)?,
            level1: count(acc::metric::LEVEL1_ACTIVATED)?,
            level2: count(acc::metric::LEVEL2_ACTIVATED)?,
        });
    }
    Ok(out)
}

/// Writes what the history holds: the devices, weekly figures, the totals and the timing.
pub fn write_report(r: &HistoryReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let in_service = r
        .devices
        .iter()
        .filter(|d| d.status == DeviceStatus::Active)
        .count();
    let capacity: u32 = r
        .devices
        .iter()
        .filter(|d| d.status == DeviceStatus::Active)
        .map(|d| d.capacity)
        .sum();
    writeln!(
        out,
        "campaign history: {in_service} intake devices in service ({capacity} applications a day at full capacity) and 1 suspended spare"
    )?;
    if let (Some(s), Some(e)) = (r.peak_start, r.peak_end) {
        writeln!(
            out,
            "{PEAK_NAME}: {} to {} (in progress)",
            eid_domain::iso(s),
            eid_domain::iso(e)
        )?;
    }
    writeln!(
        out,
        "{:<23}  {:>12}  {:>9}  {:>9}",
        "week", "applications", "level 1", "level 2"
    )?;
    for week in r.days.chunks(7) {
        let (Some(a), Some(b)) = (week.first(), week.last()) else {
            continue;
        };
        writeln!(
            out,
            "{} – {}  {:>12}  {:>9}  {:>9}",
            eid_domain::iso(a.date),
            eid_domain::iso(b.date),
            week.iter().map(|d| d.collected).sum::<i64>(),
            week.iter().map(|d| d.level1).sum::<i64>(),
            week.iter().map(|d| d.level2).sum::<i64>(),
        )?;
    }
    let collected = r.total(|d| d.collected);
    let l2 = r.total(|d| d.level2);
    writeln!(
        out,
        "{collected} applications ({} to review: {} approved, {} rejected), {} codes sent ({} re-sent), \
         {l2} level-2 activations ({:.0} % of applications, {} by self-service upgrade), \
         {} level-1 activations of {} started, officer locks: {}",
        r.to_review,
        r.approved_on_review,
        r.rejected,
        r.codes_sent,
        r.resent,
        if collected > 0 {
            l2 as f64 * 100.0 / collected as f64
        } else {
            0.0
        },
        r.upgraded,
        r.level1_confirmed,
        r.level1_started,
        r.locked,
    )?;
    if !r.refused.is_empty() {
        let list: Vec<String> = r.refused.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(out, "steps the rules refused: {}", list.join(", "))?;
    }
    // Three hashes were made: the citizens' password and passcode, the officers' password.
    let per_hash = r.hashing_seconds / 3.0;
    let accounts = r.activated + r.level1_confirmed;
    writeln!(
        out,
        "simulated citizens share the password {DEMO_PASSWORD} and passcode {DEMO_PASSCODE}: each \
         hashed once with Argon2id ({:.0} ms) and the hash reused for all {accounts} accounts \
         (hashing both for each account would have added {:.0} s)",
        per_hash * 1000.0,
        per_hash * 2.0 * accounts as f64
    )?;
    writeln!(
        out,
        "the history took {:.1} s ({:.0} applications a second with everything that follows them)",
        r.seconds,
        if r.seconds > 0.0 {
            collected as f64 / r.seconds
        } else {
            0.0
        }
    )?;
    Ok(())
}

/// How a newcomer signs in on the citizen's pages as a demo citizen (every simulated citizen
/// has [`DEMO_PASSWORD`] and [`DEMO_PASSCODE`]): the personal ID of an active level-2 account
/// (or level 1 when none), and where the code for a new browser shows (the development SMS
/// sink's outbox, read by the ministry officer [`MINISTRY_OFFICER`]).
pub fn write_citizen(
    out: &mut dyn std::io::Write,
    base: &str,
    personal_id: &str,
    level: u8,
) -> std::io::Result<()> {
    writeln!(
        out,
        "citizen pages: open {base}/me/signin as personal ID {personal_id} (level {level}), \
         password {DEMO_PASSWORD}, passcode {DEMO_PASSCODE}"
    )?;
    writeln!(
        out,
        "  a browser the account is not bound to asks for a code sent by SMS: in development \
         mode it waits in the outbox at {base}/sms (sign in there as {MINISTRY_OFFICER})"
    )
}
