use super::*;
use time::macros::date;

mod arithmetic;

fn input(target: u64, done: u64, as_of: Date, deadline: Date, last_7_days: u64) -> ProgressInput {
    ProgressInput {
        target,
        done,
        as_of,
        deadline,
        last_7_days,
        start: Date::MIN,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

// ---- metrics and names ----

#[test]
fn metric_names_round_trip_and_unknown_names_are_refused() {
    let want = [
        (Metric::ApplicationsCollected, "applications_collected"),
        (Metric::Level1Activated, "level1_activated"),
        (Metric::Level2Activated, "level2_activated"),
        (Metric::AccountsActivated, "accounts_activated"),
        (Metric::CardsIssued, "cards_issued"),
    ];
    assert_eq!(Metric::ALL.len(), want.len());
    for (metric, name) in want {
        assert_eq!(metric.as_str(), name);
        assert_eq!(Metric::parse(name), Some(metric));
        assert!(Metric::ALL.contains(&metric));
    }
    for bad in ["", "Cards_Issued", "level3_activated", " cards_issued"] {
        assert_eq!(Metric::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn status_schedule_and_timeliness_names() {
    let statuses = [
        (Status::Met, "met"),
        (Status::OnTrack, "on_track"),
        (Status::AtRisk, "at_risk"),
        (Status::Behind, "behind"),
        (Status::BeyondCapacity, "beyond_capacity"),
        (Status::Missed, "missed"),
        (Status::TooEarly, "too_early"),
        (Status::NotStarted, "not_started"),
    ];
    assert_eq!(Status::ALL.len(), statuses.len());
    for (s, name) in statuses {
        assert_eq!(s.as_str(), name);
    }
    for (s, name) in [(Schedule::Weekly, "weekly"), (Schedule::Monthly, "monthly")] {
        assert_eq!(s.as_str(), name);
        assert_eq!(Schedule::parse(name), Some(s));
    }
    assert_eq!(Schedule::parse("daily"), None);
    let timeliness = [
        (Timeliness::OnTime, "on_time"),
        (Timeliness::Late, "late"),
        (Timeliness::Missing, "missing"),
        (Timeliness::NotDueYet, "not_due_yet"),
    ];
    for (t, name) in timeliness {
        assert_eq!(t.as_str(), name);
    }
}

// ---- days left ----

#[test]
fn days_left_counts_the_days_after_as_of_through_the_deadline() {
    let cases = [
        (date!(2023 - 05 - 30), date!(2023 - 07 - 15), 46), // Kon Tum on 30 May
        (date!(2023 - 05 - 11), date!(2023 - 07 - 15), 65), // Kon Tum from 11 May
        (date!(2023 - 05 - 14), date!(2023 - 06 - 30), 47), // Quảng Nam on 14 May
        (date!(2023 - 07 - 14), date!(2023 - 07 - 15), 1),
        (date!(2023 - 07 - 15), date!(2023 - 07 - 15), 0), // on the deadline
        (date!(2023 - 08 - 21), date!(2023 - 07 - 15), 0), // past it: never negative
        (date!(2024 - 02 - 28), date!(2024 - 03 - 01), 2), // leap year
        (date!(2023 - 02 - 28), date!(2023 - 03 - 01), 1),
        (date!(2023 - 12 - 31), date!(2024 - 01 - 01), 1),
    ];
    for (as_of, deadline, want) in cases {
        assert_eq!(days_left(as_of, deadline), want, "{as_of} → {deadline}");
    }
}

// ---- golden figures from the seeds ----

#[test]
fn thanh_hoa_percentages() {
    let quota = 1_620_967;
    assert_eq!(percent_fixed(1_633_225, quota, 2), "100.76");
    assert_eq!(percent_fixed(2_330_383, quota, 2), "143.76");
    assert_eq!(format_percent(percent(1_633_225, quota), 2), "100.76");
    assert_eq!(format_percent(percent(2_330_383, quota), 2), "143.76");
}

#[test]
fn quang_nam_percentage_and_required_rate() {
    assert_eq!(percent_fixed(94_000, 738_000, 1), "12.7");
    assert_eq!(percent_fixed(94_000, 738_000, 2), "12.74");
    assert_eq!(format_percent(percent(94_000, 738_000), 1), "12.7");
    let p = progress(&input(
        738_000,
        94_000,
        date!(2023 - 05 - 14),
        date!(2023 - 06 - 30),
        0,
    ));
    assert_eq!(p.remaining, 644_000);
    assert_eq!(p.days_left, 47);
    assert_eq!(p.required_daily.map(f64::round), Some(13_702.0));
    assert_eq!(p.status, Status::Behind);
}

const KON_TUM_QUOTA: u64 = 421_013;
const KON_TUM_DEADLINE: Date = date!(2023 - 07 - 15);

fn kon_tum_on_30_may(last_7_days: u64) -> Progress {
    progress(&input(
        KON_TUM_QUOTA,
        6_791 + 18_832,
        date!(2023 - 05 - 30),
        KON_TUM_DEADLINE,
        last_7_days,
    ))
}

#[test]
fn kon_tum_required_rate_on_30_may() {
    let p = kon_tum_on_30_may(0);
    assert_eq!(6_791 + 18_832, 25_623);
    assert_eq!(p.remaining, 395_390);
    assert_eq!(p.days_left, 46);
    let required = p.required_daily.unwrap_or(f64::NAN);
    assert!((required - 8_595.43).abs() < 0.01, "{required}");
    assert_eq!(required.round(), 8_595.0);
    assert_eq!(format_percent(required, 1), "8595.4");
    assert_eq!(percent_fixed(25_623, KON_TUM_QUOTA, 2), "6.09");
}

#[test]
fn kon_tum_whole_quota_from_11_may() {
    let p = progress(&input(
        KON_TUM_QUOTA,
        0,
        date!(2023 - 05 - 11),
        KON_TUM_DEADLINE,
        0,
    ));
    assert_eq!(p.days_left, 65);
    let required = p.required_daily.unwrap_or(f64::NAN);
    assert_eq!(required.round(), 6_477.0);
    assert_eq!(format_percent(required, 1), "6477.1");
    // The article says "over 6,500 a day". Spread over the 65 days from 11 May the quota is
    // 6,477 a day; 6,500 a day would need the window to be under 65 days (64 days gives
    // 6,578). The article gives a round headline figure, not an exact division.
    assert!(required < 6_500.0);
    assert!(KON_TUM_QUOTA as f64 / 64.0 > 6_500.0);
}

#[test]
fn kon_tum_at_its_real_pace_is_behind() {
    // 25,623 activations in the 19 days from 11 May is about 1,349 a day; a week at that
    // pace is 9,440. The required rate is 8,595 a day, more than six times that.
    let p = kon_tum_on_30_may(9_440);
    let required = p.required_daily.unwrap_or(f64::NAN);
    assert!(p.rate_7d < required);
    assert!(close(p.rate_7d, 9_440.0 / 7.0));
    // (25,623 + 9,440 / 7 × 46) / 421,013 = 20.82 %
    assert_eq!(format_percent(p.forecast_percent_at_deadline, 2), "20.82");
    assert_eq!(p.status, Status::Behind);
    // ceil(7 × 395,390 / 9,440) = 294 days after 30 May.
    assert_eq!(p.forecast_met_on, Some(date!(2024 - 03 - 19)));
}

#[test]
fn kon_tum_status_thresholds_at_the_exact_boundaries() {
    // On track needs 25,623 + r × 46 ≥ 421,013 with r = w / 7, i.e. w ≥ 60,168.04.
    // At risk needs the forecast ≥ 90 % (378,911.7), i.e. w ≥ 53,761.3.
    let cases = [
        (60_169, Status::OnTrack),
        (60_168, Status::AtRisk),
        (53_762, Status::AtRisk),
        (53_761, Status::Behind),
        (9_440, Status::Behind),
        (0, Status::Behind),
    ];
    for (week, want) in cases {
        let p = kon_tum_on_30_may(week);
        assert_eq!(p.status, want, "last 7 days {week}");
        let met_by_deadline = p.forecast_met_on.is_some_and(|d| d <= KON_TUM_DEADLINE);
        assert_eq!(
            met_by_deadline,
            want == Status::OnTrack,
            "last 7 days {week}"
        );
    }
}

#[test]
fn truong_xuan_week() {
    // 79 level-2 activations in a week against a quota of 618.
    assert_eq!(percent_fixed(79, 618, 2), "12.78");
    assert_eq!(percent_fixed(79, 618, 1), "12.8");
    let p = progress(&input(
        618,
        79,
        date!(2023 - 05 - 28),
        date!(2023 - 05 - 28),
        79,
    ));
    assert!(close(p.rate_7d, 79.0 / 7.0));
    assert_eq!(format_percent(p.rate_7d, 1), "11.3");
    assert_eq!(p.remaining, 539);
    assert_eq!(p.required_daily, None); // the week is over
    assert_eq!(p.status, Status::Missed); // closed and not met
    assert_eq!(p.forecast_met_on, Some(date!(2023 - 07 - 15))); // 48 more days at that rate

    let ranked = rank(&[
        RankInput {
            key: "Phường A",
            done_today: 400,
            done_yesterday: 350,
            target: 600,
        },
        RankInput {
            key: "Trường Xuân",
            done_today: 79,
            done_yesterday: 70,
            target: 618,
        },
        RankInput {
            key: "Phường B",
            done_today: 300,
            done_yesterday: 280,
            target: 500,
        },
    ]);
    assert_eq!(ranked.last().map(|r| r.key), Some("Trường Xuân"));
    assert_eq!(ranked.last().map(|r| r.rank_today), Some(3));
}

// ---- progress edge cases ----

#[test]
fn progress_edge_cases() {
    let d = date!(2023 - 06 - 01);
    let deadline = date!(2023 - 06 - 11);

    // target 0: met, 100 %.
    for done in [0, 5] {
        let p = progress(&input(0, done, d, deadline, 0));
        assert_eq!(p.status, Status::Met);
        assert!(close(p.percent, 100.0));
        assert!(close(p.forecast_percent_at_deadline, 100.0));
        assert_eq!(p.remaining, 0);
        assert_eq!(p.required_daily, Some(0.0));
        assert_eq!(p.forecast_met_on, Some(d));
    }

    // Met with more than asked, even after the deadline.
    let p = progress(&input(100, 130, date!(2023 - 07 - 01), deadline, 0));
    assert_eq!(p.status, Status::Met);
    assert!(close(p.percent, 130.0));
    assert_eq!(p.remaining, 0);
    assert_eq!(p.days_left, 0);
    assert_eq!(p.required_daily, Some(0.0));
    assert_eq!(p.forecast_met_on, Some(date!(2023 - 07 - 01)));

    // Deadline passed and not met: missed whatever the rate, no required rate.
    let p = progress(&input(100, 99, date!(2023 - 07 - 01), deadline, 700));
    assert_eq!(p.status, Status::Missed);
    assert_eq!(p.required_daily, None);
    assert_eq!(p.days_left, 0);
    assert!(close(p.forecast_percent_at_deadline, 99.0));
    assert_eq!(p.forecast_met_on, Some(date!(2023 - 07 - 02)));

    // On the deadline day itself: no day left.
    let p = progress(&input(100, 99, deadline, deadline, 700));
    assert_eq!(p.status, Status::Missed);
    assert_eq!(p.required_daily, None);

    // Zero rate: no forecast date; the status follows what is already done.
    let p = progress(&input(100, 95, d, deadline, 0));
    assert_eq!(p.forecast_met_on, None);
    assert!(close(p.rate_7d, 0.0));
    assert!(close(p.forecast_percent_at_deadline, 95.0));
    assert_eq!(p.status, Status::AtRisk);
    assert_eq!(p.required_daily, Some(0.5));
    let p = progress(&input(100, 10, d, deadline, 0));
    assert_eq!(p.status, Status::Behind);
}

#[test]
fn status_thresholds_are_exact() {
    let as_of = date!(2023 - 01 - 01);
    let deadline = date!(2023 - 02 - 20); // 50 days left
                                          // (target, done, last 7 days, forecast %, status)
    let cases = [
        (100, 50, 7, 100.0, Status::OnTrack), // exactly on the deadline
        (100, 49, 7, 99.0, Status::AtRisk),
        (100, 40, 7, 90.0, Status::AtRisk), // exactly the floor
        (100, 39, 7, 89.0, Status::Behind),
        (100, 0, 14, 100.0, Status::OnTrack),
        (100, 100, 0, 100.0, Status::Met),
        (1_000, 500, 0, 50.0, Status::Behind),
    ];
    for (target, done, week, forecast, want) in cases {
        let p = progress(&input(target, done, as_of, deadline, week));
        assert_eq!(p.days_left, 50);
        assert_eq!(p.status, want, "{target} {done} {week}");
        assert!(
            close(p.forecast_percent_at_deadline, forecast),
            "{target} {done} {week}: {}",
            p.forecast_percent_at_deadline
        );
    }
    assert_eq!(AT_RISK_FLOOR, 90.0);
    // Exactly on the deadline: the forecast day is the deadline.
    let p = progress(&input(100, 50, as_of, deadline, 7));
    assert_eq!(p.forecast_met_on, Some(deadline));
    let p = progress(&input(100, 49, as_of, deadline, 7));
    assert_eq!(p.forecast_met_on, Some(date!(2023 - 02 - 21)));
}

#[test]
fn forecast_day_rounds_up_and_agrees_with_on_track() {
    let as_of = date!(2023 - 05 - 30);
    // (remaining, last 7 days, days to the forecast)
    let cases = [
        (10, 7, 10),
        (10, 14, 5),
        (10, 21, 4),
        (1, 7_000, 1),
        (7, 3, 17),
    ];
    for (remaining, week, days) in cases {
        let p = progress(&input(1_000, 1_000 - remaining, as_of, as_of, week));
        assert_eq!(
            p.forecast_met_on,
            as_of.checked_add(time::Duration::days(days)),
            "{remaining} {week}"
        );
    }
    // For a spread of rates, on track ⇔ forecast day on or before the deadline.
    let deadline = date!(2023 - 07 - 15);
    for week in (0..80_000).step_by(997) {
        let p = progress(&input(421_013, 25_623, as_of, deadline, week));
        assert_eq!(
            p.status == Status::OnTrack,
            p.forecast_met_on.is_some_and(|d| d <= deadline),
            "{week}"
        );
    }
}

#[test]
fn progress_with_large_numbers() {
    let p = progress(&input(
        100_000_000,
        99_999_999,
        date!(2023 - 01 - 01),
        date!(2023 - 12 - 31),
        0,
    ));
    assert_eq!(p.remaining, 1);
    assert_eq!(p.days_left, 364);
    assert_eq!(p.status, Status::AtRisk);
    assert_eq!(format_percent(p.percent, 2), "100.00");
    assert_eq!(percent_fixed(99_999_999, 100_000_000, 2), "100.00");
    assert_eq!(percent_fixed(99_999_999, 100_000_000, 6), "99.999999");

    // A forecast beyond the calendar is no date rather than a panic.
    let p = progress(&input(u64::MAX, 0, date!(2023 - 01 - 01), Date::MAX, 1));
    assert_eq!(p.forecast_met_on, None);
    assert_eq!(p.status, Status::Behind);
}

// ---- young quotas, closed quotas, capacity, the required rate's rounding ----

#[test]
fn the_rate_averages_over_the_days_the_quota_has_existed() {
    let start = date!(2023 - 06 - 01);
    let deadline = date!(2023 - 06 - 30);
    assert_eq!(rate_days(start, start, deadline), 1);
    assert_eq!(rate_days(start, date!(2023 - 06 - 03), deadline), 3);
    assert_eq!(rate_days(start, date!(2023 - 06 - 20), deadline), 7);
    assert_eq!(rate_days(start, date!(2023 - 05 - 20), deadline), 1);
    // A one-day quota viewed years later: one day.
    assert_eq!(rate_days(start, date!(2026 - 01 - 01), start), 1);
    // Third day, 30 done: 10 a day, not 30 ÷ 7.
    let p = progress(&ProgressInput {
        start,
        ..input(300, 30, date!(2023 - 06 - 03), deadline, 30)
    });
    assert_eq!(p.rate_days, 3);
    assert!(close(p.rate_7d, 10.0));
    // 270 left at 10 a day: 27 days after 3 June, on the deadline exactly.
    assert_eq!(p.forecast_met_on, Some(deadline));
    assert!(close(p.forecast_percent_at_deadline, 100.0));
    assert_eq!(p.status, Status::OnTrack);
}

#[test]
fn a_quota_on_its_first_day_is_too_early_to_judge_and_before_its_start_not_started() {
    let start = date!(2023 - 06 - 01);
    let deadline = date!(2023 - 06 - 30);
    let p = progress(&ProgressInput {
        start,
        ..input(10_000, 0, start, deadline, 0)
    });
    assert_eq!(p.status, Status::TooEarly);
    let p = progress(&ProgressInput {
        start,
        ..input(10_000, 0, date!(2023 - 05 - 01), deadline, 0)
    });
    assert_eq!(p.status, Status::NotStarted);
    // Met on its first day is met.
    let p = progress(&ProgressInput {
        start,
        ..input(5, 5, start, deadline, 5)
    });
    assert_eq!(p.status, Status::Met);
}

#[test]
fn a_quota_the_capacity_cannot_meet_says_so() {
    // 1,500 left, 2 days, 300 a day of devices: 600 at most.
    let mut p = progress(&input(
        2_000,
        500,
        date!(2023 - 06 - 28),
        date!(2023 - 06 - 30),
        7_000,
    ));
    assert_eq!(p.status, Status::OnTrack);
    limit_by_capacity(&mut p, 300);
    assert_eq!(p.status, Status::BeyondCapacity);
    // Enough capacity, or unknown capacity: unchanged.
    let mut p = progress(&input(
        2_000,
        500,
        date!(2023 - 06 - 28),
        date!(2023 - 06 - 30),
        7_000,
    ));
    limit_by_capacity(&mut p, 750);
    assert_eq!(p.status, Status::OnTrack);
    limit_by_capacity(&mut p, 0);
    assert_eq!(p.status, Status::OnTrack);
    // Met and missed stay what they are.
    let mut p = progress(&input(
        100,
        100,
        date!(2023 - 06 - 28),
        date!(2023 - 06 - 30),
        0,
    ));
    limit_by_capacity(&mut p, 1);
    assert_eq!(p.status, Status::Met);
    let mut p = progress(&input(
        100,
        10,
        date!(2023 - 07 - 28),
        date!(2023 - 06 - 30),
        0,
    ));
    limit_by_capacity(&mut p, 1);
    assert_eq!(p.status, Status::Missed);
}

#[test]
fn the_required_rate_is_rounded_up_to_one_decimal() {
    assert_eq!(required_daily_tenths(31, 10), Some(31));
    assert_eq!(required_daily_tenths(37, 12), Some(31));
    assert_eq!(required_daily_tenths(30, 10), Some(30));
    assert_eq!(required_daily_tenths(1, 3), Some(4));
    assert_eq!(required_daily_tenths(0, 0), Some(0));
    assert_eq!(required_daily_tenths(5, 0), None);
    assert_eq!(required_daily_tenths(u64::MAX, 1), Some(u64::MAX));
}
