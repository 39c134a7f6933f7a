//! The demo's stay notifications: a hotel, a hospital and a household in the demo commune
//! officer's commune, registered by that officer, with the demo citizen as their notifier, and a
//! week of stays of the commune's people, some notified late. Everything goes through
//! `eid_core::stay`, as the pages and the API do; only the clock is simulated.

use eid_core::stay::{self, Guest, Kind, NewEstablishment, Notifier, StayIn, Via, DEADLINE};
use eid_core::store::Role;
use eid_core::{Acting, Actor, Caller, Error, Store, StoreError};
use eid_domain::{BirthDate, Person};
use time::{Duration, OffsetDateTime};

/// What the demo wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaySeed {
    pub establishments: usize,
    pub stays: usize,
    pub late: usize,
}

/// Seeds the demo's stays (`None` when there is no commune officer, or the commune already has
/// establishments). `citizen` is the demo citizen's personal ID, who notifies for all three.
pub fn seed_stays(
    store: &dyn Store,
    citizen: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<StaySeed>, Error> {
    let Some(officer) = store
        .list_staff()?
        .into_iter()
        .find(|s| s.role == Role::Commune && !s.disabled)
    else {
        return Ok(None);
    };
    let commune = officer.unit;
    if !stay::establishments_in(store, commune.as_str())?.is_empty() {
        return Ok(None);
    }
    let mut people: Vec<Person> = Vec::new();
    store.for_each_person(&commune, &mut |p| {
        if people.len() < 120 && p.life.counts() {
            people.push(p.clone());
        }
        Ok::<(), StoreError>(())
    })?;
    let Some(first) = people.first() else {
        return Ok(None);
    };
    let notifier = citizen.map_or_else(|| first.id.as_str().to_owned(), str::to_owned);
    let acting = Acting::new(
        Caller {
            staff: officer,
            actor: Actor::Cli("demo".into()),
        },
        "demo-stays",
        now - Duration::days(8),
    );
    let specs = [
        (
            Kind::Tourist,
            "Khách sạn Hoa Sen",
            "18 Trần Hưng Đạo",
            false,
        ),
        (
            Kind::Healthcare,
            "Bệnh viện đa khoa khu vực",
            "2 Nguyễn Văn Cừ",
            false,
        ),
        (Kind::Household, "Hộ gia đình", "Thôn 3", true),
    ];
    let mut ests = Vec::new();
    for (kind, name, address, relatives_once) in specs {
        let e = stay::register_establishment(
            store,
            &acting,
            &NewEstablishment {
                kind,
                name: name.into(),
                address: address.into(),
                commune: commune.as_str().into(),
                relatives_once,
                notifiers: vec![notifier.clone()],
            },
        )?;
        ests.push(e);
    }
    let mut rng = 0x5eed_u64;
    let mut next = |n: u64| {
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (rng >> 33) % n.max(1)
    };
    let guests: Vec<&Person> = people.iter().skip(1).collect();
    let mut seed = StaySeed {
        establishments: ests.len(),
        stays: 0,
        late: 0,
    };
    let today = DEADLINE.day_of(now);
    let mut g = 0usize;
    for back in (0..7i64).rev() {
        let day = today - Duration::days(back);
        let start = stay::view::day_bounds(day).0;
        for e in &ests {
            let count = match e.kind {
                Kind::Tourist => 3 + next(4),
                Kind::Healthcare => 2 + next(3),
                _ => next(2),
            };
            for _ in 0..count {
                let guest = if e.kind == Kind::Household {
                    // The same relatives come back: the rule records the repeat.
                    guests.get(next(2) as usize)
                } else {
                    g += 1;
                    guests.get(g % guests.len().max(1))
                };
                let Some(p) = guest else { continue };
                let arrival = start
                    + Duration::minutes(i64::try_from(8 * 60 + next(16 * 60 - 1)).unwrap_or(0));
                let deadline = DEADLINE.deadline(arrival, false);
                let notified = if next(100) < 15 {
                    deadline + Duration::minutes(i64::try_from(30 + next(600)).unwrap_or(30))
                } else {
                    (arrival + Duration::minutes(i64::try_from(5 + next(90)).unwrap_or(5)))
                        .min(deadline)
                };
                if notified > now {
                    continue;
                }
                let via = if e.kind == Kind::Healthcare {
                    Via::Csv
                } else {
                    Via::Web
                };
                let s = StayIn {
                    guest: guest_of(p),
                    arrival,
                    departure: arrival + Duration::days(i64::try_from(1 + next(3)).unwrap_or(1)),
                    reason: match e.kind {
                        Kind::Healthcare => "Điều trị nội trú",
                        Kind::Household => "Thăm người thân",
                        _ => "Du lịch",
                    }
                    .into(),
                };
                let who = Notifier::Citizen {
                    personal_id: notifier.clone(),
                    via,
                };
                match stay::notify(store, &who, e.id, &[s], notified) {
                    Ok(n) => {
                        if let Some(n) = n.first().filter(|n| !n.repeated) {
                            seed.stays += 1;
                            seed.late += usize::from(n.late);
                        }
                    }
                    Err(r) => match r.error {
                        Error::Store(e) => return Err(Error::Store(e)),
                        // A person the register holds with a year only, or the like: skipped.
                        _ => continue,
                    },
                }
            }
        }
    }
    Ok(Some(seed))
}

fn guest_of(p: &Person) -> Guest {
    Guest::Citizen {
        personal_id: p.id.as_str().into(),
        full_name: p.name.full(),
        birth: match p.birth {
            BirthDate::Full(d) => eid_domain::iso(d),
            BirthDate::Year(y) => y.to_string(),
        },
    }
}
