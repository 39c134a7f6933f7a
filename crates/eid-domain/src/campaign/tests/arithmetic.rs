//! Formatting, splitting, ranking, reporting and emulation.

use super::*;

// ---- formatting ----

#[test]
fn format_percent_rounds_half_away_from_zero() {
    let cases = [
        (143.762_536_5, 2, "143.76"),
        (2.675, 2, "2.68"),
        (1.005, 2, "1.01"),
        (0.125, 2, "0.13"),
        (0.285, 2, "0.29"),
        (-1.005, 2, "-1.01"),
        (-0.004, 2, "0.00"),
        (-0.0, 1, "0.0"),
        (0.0, 1, "0.0"),
        (99.995, 2, "100.00"),
        (9.96, 1, "10.0"),
        (0.5, 0, "1"),
        (1.5, 0, "2"),
        (2.5, 0, "3"),
        (-2.5, 0, "-3"),
        (100.0, 2, "100.00"),
        (12.7, 3, "12.700"),
        (1e-7, 2, "0.00"),
        (0.000_5, 3, "0.001"),
        (999.999, 2, "1000.00"),
        (123_456_789.0, 0, "123456789"),
    ];
    for (value, decimals, want) in cases {
        assert_eq!(
            format_percent(value, decimals),
            want,
            "{value} to {decimals}"
        );
    }
    // The standard formatter rounds the binary value, just below the half.
    assert_eq!(format!("{:.2}", 2.675), "2.67");
    assert_eq!(format_percent(f64::NAN, 2), "NaN");
    assert_eq!(format_percent(f64::INFINITY, 2), "inf");
    assert_eq!(format_percent(1.0, 99).len(), 2 + MAX_DECIMALS as usize);
}

#[test]
fn percent_fixed_is_exact() {
    let cases = [
        (0, 0, 2, "100.00"),
        (5, 0, 0, "100"),
        (0, 10, 1, "0.0"),
        (1, 3, 2, "33.33"),
        (2, 3, 2, "66.67"),
        (1, 8, 1, "12.5"),
        (1, 16, 1, "6.3"), // 6.25: half away from zero
        (1, 200, 0, "1"),  // 0.5
        (1, 201, 0, "0"),
        (3, 3, 2, "100.00"),
        (1_633_225, 1_620_967, 0, "101"),
        (1_633_225, 1_620_967, 4, "100.7562"),
        (100_000_000, 100_000_000, 2, "100.00"),
        (u64::MAX, 1, 0, "1844674407370955161500"),
    ];
    for (done, target, decimals, want) in cases {
        assert_eq!(
            percent_fixed(done, target, decimals),
            want,
            "{done}/{target}"
        );
    }
    assert_eq!(
        percent_fixed(1, 3, 40),
        format!("33.{}", "3".repeat(MAX_DECIMALS as usize))
    );
    assert_eq!(
        percent_fixed(u64::MAX, u64::MAX, 40).len(),
        4 + MAX_DECIMALS as usize
    );
}

// ---- splitting ----

#[test]
fn split_proportional_cases() {
    let cases: [(u64, &[u64], &[u64]); 10] = [
        (10, &[1, 1, 1], &[4, 3, 3]),
        (10, &[0, 0, 0], &[4, 3, 3]),
        (2, &[1, 1, 1], &[1, 1, 0]),
        (100, &[1, 2, 3], &[17, 33, 50]),
        (0, &[5, 7], &[0, 0]),
        (7, &[0, 1, 0], &[0, 7, 0]),
        (5, &[3, 0, 3], &[3, 0, 2]),
        (1, &[1, 1, 2], &[0, 0, 1]),
        (
            100_000_000,
            &[33_333_333, 33_333_333, 33_333_334],
            &[33_333_333, 33_333_333, 33_333_334],
        ),
        (
            100_000_000,
            &[1, 1, 1, 1, 1, 1, 1],
            &[
                14_285_715, 14_285_715, 14_285_714, 14_285_714, 14_285_714, 14_285_714, 14_285_714,
            ],
        ),
    ];
    for (total, weights, want) in cases {
        let keyed: Vec<(usize, u64)> = weights.iter().copied().enumerate().collect();
        let got = split_proportional(total, &keyed);
        let keys: Vec<usize> = got.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, (0..weights.len()).collect::<Vec<_>>());
        let parts: Vec<u64> = got.iter().map(|(_, p)| *p).collect();
        assert_eq!(parts, want, "{total} by {weights:?}");
    }
    let none: [(&str, u64); 0] = [];
    assert!(split_proportional(10, &none).is_empty());
}

#[test]
fn split_parts_always_add_up_and_stay_within_one_of_the_exact_share() {
    let weight_sets: [&[u64]; 6] = [
        &[1_234_567, 89_012, 345, 6_789_012, 0, 1],
        &[u64::MAX / 4, 1, u64::MAX / 4],
        &[3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
        &[97, 89, 83, 79, 73, 71, 67, 61, 59, 53],
        &[0, 0, 1],
        &[100_000_000; 3],
    ];
    for weights in weight_sets {
        for total in [0, 1, 9, 10, 1_000, 999_983, 100_000_000, u64::MAX] {
            let keyed: Vec<(&str, u64)> = weights.iter().map(|&w| ("u", w)).collect();
            let parts: Vec<u64> = split_proportional(total, &keyed)
                .into_iter()
                .map(|(_, p)| p)
                .collect();
            let sum: u128 = parts.iter().map(|&p| u128::from(p)).sum();
            assert_eq!(sum, u128::from(total), "{total} by {weights:?}");
            let wsum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
            for (&p, &w) in parts.iter().zip(weights) {
                let lhs = u128::from(p) * wsum;
                let exact = u128::from(total) * u128::from(w);
                assert!(lhs.abs_diff(exact) < wsum, "{total} by {weights:?}");
            }
            assert!(check_split(total, &parts).matches);
        }
    }
}

#[test]
fn check_split_reports_the_difference() {
    let cases: [(u64, &[u64], u128, i128, bool); 6] = [
        (100, &[30, 30, 30], 90, -10, false),
        (100, &[50, 50], 100, 0, true),
        (100, &[60, 50], 110, 10, false),
        (0, &[], 0, 0, true),
        (5, &[], 0, -5, false),
        (
            0,
            &[u64::MAX, u64::MAX],
            2 * u64::MAX as u128,
            2 * u64::MAX as i128,
            false,
        ),
    ];
    for (parent, children, sum, diff, matches) in cases {
        let c = check_split(parent, children);
        assert_eq!(c.parent, parent);
        assert_eq!(c.children_sum, sum, "{parent} {children:?}");
        assert_eq!(c.difference, diff, "{parent} {children:?}");
        assert_eq!(c.matches, matches, "{parent} {children:?}");
    }
}

// ---- ranking ----

fn row(key: &'static str, today: u64, yesterday: u64, target: u64) -> RankInput<&'static str> {
    RankInput {
        key,
        done_today: today,
        done_yesterday: yesterday,
        target,
    }
}

#[test]
fn ranking_orders_by_percent_with_changes_since_yesterday() {
    // Illustrative figures for Thanh Hóa districts (target 10,000 each), shaped like the
    // report's list (Đông Sơn 139.58 % first … Cẩm Thủy 101.11 % last).
    let rows = [
        row("Cẩm Thủy", 10_111, 10_050, 10_000),
        row("Đông Sơn", 13_958, 13_000, 10_000),
        row("Nông Cống", 11_500, 13_100, 10_000),
        row("Hà Trung", 12_000, 11_000, 10_000),
    ];
    let ranked = rank(&rows);
    let got: Vec<(&str, usize, usize, i64)> = ranked
        .iter()
        .map(|r| (r.key, r.rank_today, r.rank_yesterday, r.rank_change))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Đông Sơn", 1, 2, 1),
            ("Hà Trung", 2, 3, 1),
            ("Nông Cống", 3, 1, -2),
            ("Cẩm Thủy", 4, 4, 0),
        ]
    );
    assert_eq!(format_percent(ranked[0].percent_today, 2), "139.58");
    assert_eq!(format_percent(ranked[0].percent_change, 2), "9.58");
    assert_eq!(format_percent(ranked[2].percent_change, 2), "-16.00");
    assert_eq!(format_percent(ranked[3].percent_today, 2), "101.11");
    assert_eq!(format_percent(ranked[3].percent_yesterday, 2), "100.50");
}

#[test]
fn ranking_ties_share_a_rank_and_keep_input_order() {
    let rows = [
        row("c", 1, 1, 4),
        row("a", 50, 10, 100),
        row("b", 1, 0, 2),
        row("d", 3, 3, 4),
    ];
    let ranked = rank(&rows);
    let got: Vec<(&str, usize, usize)> = ranked
        .iter()
        .map(|r| (r.key, r.rank_today, r.rank_yesterday))
        .collect();
    // today: d 75 %, a 50 %, b 50 %, c 25 %; yesterday: d 75 %, c 25 %, a 10 %, b 0 %
    assert_eq!(
        got,
        vec![("d", 1, 1), ("a", 2, 3), ("b", 2, 4), ("c", 4, 2)]
    );
    assert!(rank::<&str>(&[]).is_empty());
}

#[test]
fn ranking_compares_exactly_not_as_floats() {
    // (10^17 + 1) / (3 × 10^17) is a hair above 1/3, but both are the same float.
    let big = 100_000_000_000_000_000u64;
    let rows = [
        row("third", 1, 1, 3),
        row("hair above", big + 1, big + 1, 3 * big),
    ];
    assert_eq!(
        rows[0].done_today as f64 / 3.0,
        (big + 1) as f64 / (3 * big) as f64
    );
    let ranked = rank(&rows);
    assert_eq!(ranked[0].key, "hair above");
    assert_eq!((ranked[0].rank_today, ranked[1].rank_today), (1, 2));

    // A zero target counts as 100 %: tied with a unit at exactly 100 %.
    let ranked = rank(&[
        row("full", 10, 10, 10),
        row("none asked", 0, 0, 0),
        row("over", 11, 5, 10),
    ]);
    let got: Vec<(&str, usize)> = ranked.iter().map(|r| (r.key, r.rank_today)).collect();
    assert_eq!(got, vec![("over", 1), ("full", 2), ("none asked", 2)]);
    assert!(close(ranked[2].percent_change, 0.0));
}

// ---- reporting ----

#[test]
fn weekly_periods_run_monday_to_sunday() {
    let got = periods(
        Schedule::Weekly,
        date!(2023 - 05 - 30),
        date!(2023 - 06 - 12),
    );
    assert_eq!(
        got,
        vec![
            Period {
                start: date!(2023 - 05 - 29),
                end: date!(2023 - 06 - 04)
            },
            Period {
                start: date!(2023 - 06 - 05),
                end: date!(2023 - 06 - 11)
            },
            Period {
                start: date!(2023 - 06 - 12),
                end: date!(2023 - 06 - 18)
            },
        ]
    );
    // Across the new year; 31 Dec 2023 is a Sunday.
    let got = periods(
        Schedule::Weekly,
        date!(2023 - 12 - 31),
        date!(2024 - 01 - 01),
    );
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].start, date!(2023 - 12 - 25));
    assert_eq!(got[1].start, date!(2024 - 01 - 01));
    assert_eq!(got[1].end, date!(2024 - 01 - 07));
    // A single day.
    let got = periods(
        Schedule::Weekly,
        date!(2023 - 06 - 04),
        date!(2023 - 06 - 04),
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].start, date!(2023 - 05 - 29));
    // A year of weeks, each 7 days long and following on.
    let got = periods(
        Schedule::Weekly,
        date!(2023 - 01 - 02),
        date!(2023 - 12 - 31),
    );
    assert_eq!(got.len(), 52);
    for pair in got.windows(2) {
        assert_eq!(pair[0].end.next_day(), Some(pair[1].start));
        assert_eq!(pair[1].start.weekday(), time::Weekday::Monday);
        assert_eq!(days_left(pair[1].start, pair[1].end), 6);
    }
}

#[test]
fn monthly_periods_are_calendar_months() {
    let got = periods(
        Schedule::Monthly,
        date!(2024 - 01 - 15),
        date!(2024 - 03 - 01),
    );
    let want = [
        (date!(2024 - 01 - 01), date!(2024 - 01 - 31)),
        (date!(2024 - 02 - 01), date!(2024 - 02 - 29)),
        (date!(2024 - 03 - 01), date!(2024 - 03 - 31)),
    ];
    assert_eq!(got, want.map(|(start, end)| Period { start, end }).to_vec());
    let got = periods(
        Schedule::Monthly,
        date!(2023 - 11 - 30),
        date!(2024 - 01 - 01),
    );
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].end, date!(2023 - 11 - 30));
    assert_eq!(got[1].end, date!(2023 - 12 - 31));
    assert_eq!(got[2].start, date!(2024 - 01 - 01));
    assert_eq!(
        periods(
            Schedule::Monthly,
            date!(2023 - 02 - 10),
            date!(2023 - 02 - 10)
        )[0]
        .end,
        date!(2023 - 02 - 28)
    );
    assert!(periods(
        Schedule::Monthly,
        date!(2024 - 02 - 01),
        date!(2024 - 01 - 31)
    )
    .is_empty());
    assert!(periods(
        Schedule::Weekly,
        date!(2024 - 02 - 01),
        date!(2024 - 01 - 31)
    )
    .is_empty());
    assert_eq!(
        periods(
            Schedule::Monthly,
            date!(2023 - 01 - 01),
            date!(2023 - 12 - 31)
        )
        .len(),
        12
    );
}

#[test]
fn due_days_and_timeliness() {
    let week = Period {
        start: date!(2023 - 05 - 29),
        end: date!(2023 - 06 - 04),
    };
    assert_eq!(due(week, 0), date!(2023 - 06 - 04));
    assert_eq!(due(week, 2), date!(2023 - 06 - 06));
    assert_eq!(
        due(
            Period {
                start: Date::MAX,
                end: Date::MAX
            },
            1
        ),
        Date::MAX
    );

    // (submitted, today, want) with grace 2: due 6 June.
    let cases = [
        (
            Some(date!(2023 - 06 - 06)),
            date!(2023 - 06 - 20),
            Timeliness::OnTime,
        ),
        (
            Some(date!(2023 - 06 - 02)),
            date!(2023 - 06 - 02),
            Timeliness::OnTime,
        ),
        (
            Some(date!(2023 - 06 - 07)),
            date!(2023 - 06 - 07),
            Timeliness::Late,
        ),
        (
            Some(date!(2023 - 07 - 01)),
            date!(2023 - 07 - 01),
            Timeliness::Late,
        ),
        (None, date!(2023 - 06 - 06), Timeliness::NotDueYet),
        (None, date!(2023 - 06 - 01), Timeliness::NotDueYet),
        (None, date!(2023 - 06 - 07), Timeliness::Missing),
    ];
    for (submitted, today, want) in cases {
        assert_eq!(
            timeliness(week, 2, submitted, today),
            want,
            "{submitted:?} {today}"
        );
    }
}

#[test]
fn completeness_counts_what_is_due() {
    use Timeliness::*;
    // (statuses, [expected, on time, late, missing])
    let cases: [(&[Timeliness], [usize; 4]); 4] = [
        (&[OnTime, Late, Missing, NotDueYet, OnTime], [4, 2, 1, 1]),
        (&[], [0, 0, 0, 0]),
        (&[NotDueYet, NotDueYet], [0, 0, 0, 0]),
        (&[Missing, Missing, Late], [3, 0, 1, 2]),
    ];
    for (statuses, [expected, on_time, late, missing]) in cases {
        assert_eq!(
            completeness(statuses),
            Completeness {
                expected,
                on_time,
                late,
                missing
            },
            "{statuses:?}"
        );
    }
}

// ---- emulation ----

#[test]
fn scoring_rule() {
    use Timeliness::*;
    let cases: [(f64, &[Timeliness], f64); 8] = [
        (100.76, &[OnTime, OnTime, Late, Missing, NotDueYet], 125.76),
        (143.76, &[], 120.0), // capped
        (120.0, &[OnTime], 130.0),
        (12.7, &[OnTime; 4], 52.7),
        (0.0, &[Late, Late], 10.0),
        (-5.0, &[], 0.0),
        (f64::NAN, &[OnTime], 10.0),
        (50.0, &[Missing, NotDueYet], 50.0),
    ];
    for (percent, reports, want) in cases {
        let got = score(percent, reports);
        assert!(close(got, want), "{percent} {reports:?}: {got}");
    }
}

#[test]
fn leaderboard_sorts_by_score_and_shares_ranks() {
    let scores = [
        ("a", 52.7),
        ("b", 125.76),
        ("c", f64::NAN),
        ("d", 52.7),
        ("e", 130.0),
        ("f", 10.0),
    ];
    let got: Vec<(&str, usize)> = leaderboard(&scores)
        .into_iter()
        .map(|s| (s.key, s.rank))
        .collect();
    assert_eq!(
        got,
        vec![("e", 1), ("b", 2), ("a", 3), ("d", 3), ("f", 5), ("c", 6)]
    );
    assert!(leaderboard::<&str>(&[]).is_empty());
}

// ---- dates at the ends of the calendar ----

#[test]
fn date_arithmetic_stops_at_the_ends_of_the_calendar_without_panicking() {
    assert_eq!(shift_days(Date::MAX, 1), Date::MAX);
    assert_eq!(shift_days(Date::MAX, i64::MAX), Date::MAX);
    assert_eq!(shift_days(Date::MIN, -1), Date::MIN);
    assert_eq!(shift_days(Date::MIN, i64::MIN), Date::MIN);
    assert_eq!(shift_days(Date::MIN, 1), Date::MIN.next_day().unwrap());
    assert_eq!(shift_days(date!(2024 - 02 - 28), 1), date!(2024 - 02 - 29));
    assert_eq!(shift_days(date!(2023 - 02 - 28), 1), date!(2023 - 03 - 01));
    assert_eq!(add_days(Date::MAX, 1), None);
    assert_eq!(add_days(Date::MIN, -1), None);
    assert_eq!(add_days(Date::MAX, -1), Date::MAX.previous_day());

    assert_eq!(
        days_left(Date::MIN, Date::MAX),
        i64::from(Date::MAX.to_julian_day()) - i64::from(Date::MIN.to_julian_day())
    );
    assert_eq!(days_left(Date::MAX, Date::MIN), 0);
    for (as_of, deadline) in [
        (Date::MIN, Date::MAX),
        (Date::MAX, Date::MAX),
        (Date::MIN, Date::MIN),
        (Date::MAX, Date::MIN),
    ] {
        let p = progress(&ProgressInput {
            target: u64::MAX,
            done: 1,
            as_of,
            deadline,
            last_7_days: u64::MAX,
            start: Date::MIN,
        });
        assert!(p.days_left >= 0);
    }
    for schedule in [Schedule::Weekly, Schedule::Monthly] {
        // The periods holding the first and last days of the calendar, when the calendar
        // has all of them, and never a panic.
        let last = periods(schedule, Date::MAX, Date::MAX);
        assert!(last.len() <= 1);
        let first = periods(schedule, Date::MIN, Date::MIN);
        assert!(first.len() <= 1);
        for p in first.iter().chain(&last) {
            assert_eq!(due(*p, u32::MAX), Date::MAX);
            assert_eq!(
                timeliness(*p, u32::MAX, Some(Date::MAX), Date::MAX),
                Timeliness::OnTime
            );
        }
    }
    assert_eq!(periods(Schedule::Monthly, Date::MAX, Date::MAX).len(), 1);
}
