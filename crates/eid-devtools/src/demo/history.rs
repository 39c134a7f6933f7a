//! Filling the demo province with the history of a campaign.

use super::operations::seed_operations;
use super::sim::{Candidate, Sim, Step};
use super::staff::{demo_device, officer};
use super::*;

/// The people who may take part, alive, of age, with a phone and a valid card over the whole
/// history, and their indices by district.
pub(super) fn eligible_people(
    store: &dyn Store,
    o: &HistoryOptions,
    district_of: &HashMap<UnitCode, usize>,
    districts: usize,
    first: Date,
) -> Result<(Vec<Candidate>, Vec<Vec<usize>>), String> {
    let today = local_date(o.now);
    let mut cands: Vec<Candidate> = Vec::new();
    let mut by_district: Vec<Vec<usize>> = vec![Vec::new(); districts];
    store
        .for_each_person(&o.province, &mut |p| {
            let Some(&d) = district_of.get(&p.residence.unit) else {
                return Ok(());
            };
            let (Some(phone), Some(card)) = (&p.phone, p.card) else {
                return Ok(());
            };
            let ok = p.life.state == eid_domain::LifeState::Alive
                && p.birth.age_on(first) >= acc::MIN_AGE
                && today.year() - p.id.birth_year() > acc::MIN_AGE
                && card.is_valid(p.birth, first)
                && card.is_valid(p.birth, today + Duration::days(14));
            if ok {
                if let Some(v) = by_district.get_mut(d) {
                    v.push(cands.len());
                }
                cands.push(Candidate {
                    id: p.id,
                    phone: phone.clone(),
                    smartphone: p.phone_type == eid_domain::PhoneType::Smartphone,
                    self_service: card.issued >= o.settings.self_service_from,
                });
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;

    Ok((cands, by_district))
}

/// Fills the demo province with intake devices, their officers and a campaign history ending
/// at `o.now`. Returns `None`, doing nothing, when the province already has intake devices
/// (the history was filled before).
pub fn fill_demo_history(
    store: &dyn Store,
    o: &HistoryOptions,
) -> Result<Option<HistoryReport>, String> {
    let started = Instant::now();
    let units = Units::get();
    if !acc::devices(store, &o.province)
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(None);
    }
    let province = units
        .unit(Tree::Gso2024, &o.province)
        .filter(|u| u.level == Level::Province)
        .ok_or_else(|| format!("{} is not a province of the 2024 tree", o.province))?;
    let days = o.days.max(1);
    let today = local_date(o.now);
    let first = today - Duration::days(i64::from(days) - 1);
    let mut rng = Rng::new(o.seed ^ 0x00de_0000);

    // The districts and the people who may take part, by district.
    let districts: Vec<&eid_domain::Unit> = units
        .children(Tree::Gso2024, &o.province)
        .into_iter()
        .filter(|u| u.level == Level::District)
        .collect();
    let district_of: HashMap<UnitCode, usize> = districts
        .iter()
        .enumerate()
        .flat_map(|(i, d)| {
            units
                .children(Tree::Gso2024, &d.code)
                .into_iter()
                .map(move |c| (c.code, i))
        })
        .collect();
    let (cands, mut by_district) = eligible_people(store, o, &district_of, districts.len(), first)?;

    // Each district's people: some keep to level 1 (smartphone holders), the rest apply.
    let mut level2_pool: Vec<Vec<usize>> = Vec::new();
    let mut level1_pool: Vec<Vec<usize>> = Vec::new();
    for list in &mut by_district {
        rng.shuffle(list);
        let (mut l1, mut l2) = (Vec::new(), Vec::new());
        for &c in list.iter() {
            if cands.get(c).is_some_and(|c| c.smartphone) && rng.chance(0.4) {
                l1.push(c);
            } else {
                l2.push(c);
            }
        }
        level1_pool.push(l1);
        level2_pool.push(l2);
    }

    // The plan: applications per day and district.
    let shares: Vec<f64> = level2_pool.iter().map(|v| v.len() as f64).collect();
    let weights: Vec<f64> = (0..days)
        .map(|i| {
            let date = first + Duration::days(i64::from(i));
            day_weight(i, days, date.weekday()) * (0.85 + 0.3 * rng.unit())
        })
        .collect();
    let per_day = split(o.applications, &weights, &mut rng);
    let plan: Vec<Vec<u64>> = per_day
        .iter()
        .map(|&n| split(n, &shares, &mut rng))
        .collect();
    let level1_plan: Vec<Vec<u64>> = per_day
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let x = f64::from(u32::try_from(i).unwrap_or(0)) / f64::from(days.max(2) - 1);
            let l1 = (n as f64 * (0.30 + 0.25 * x)).round() as u64;
            let l1_shares: Vec<f64> = level1_pool.iter().map(|v| v.len() as f64).collect();
            split(l1, &l1_shares, &mut rng)
        })
        .collect();

    // Secrets: hashed once. Argon2id costs tens of milliseconds a hash: one per simulated
    // account would make the demo take minutes, so every simulated citizen gets the same
    // password and passcode hash, and the generated officers one hash of a random password
    // nobody knows (they only sign packets; an administrator can set a password).
    let hashing = Instant::now();
    let password_hash = hash_password(DEMO_PASSWORD)?;
    let passcode_hash = hash_password(DEMO_PASSCODE)?;
    let staff_hash = hash_password(&random_password())?;
    let hashing_seconds = hashing.elapsed().as_secs_f64();

    // Devices and officers, registered two days before the history starts.
    let setup = at(first - Duration::days(2), 540.0);
    let actor = Actor::Cli("demo".to_owned());
    let reviewer = officer(
        store,
        &format!("duyet.{}", o.province),
        format!("Cán bộ duyệt hồ sơ – Công an {}", province.name),
        Role::Province,
        o.province,
        &staff_hash,
        setup,
    )?;
    let mut officers: Vec<Staff> = Vec::new();
    let mut devices: Vec<(acc::Device, DemoDevice)> = Vec::new();
    let mut district_devices: Vec<Vec<usize>> = Vec::new();
    for (i, d) in districts.iter().enumerate() {
        let staff = officer(
            store,
            &format!("thunhan.{}", d.code),
            format!("Tổ thu nhận hồ sơ – Công an {}", d.name),
            Role::District,
            d.code,
            &staff_hash,
            setup,
        )?;
        let peak = plan
            .iter()
            .map(|p| p.get(i).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        let n = if shares.get(i).copied().unwrap_or(0.0) > 0.0 {
            usize::try_from(peak.div_ceil(220)).unwrap_or(1).max(1)
        } else {
            0
        };
        let mut mine = Vec::new();
        for k in 0..n {
            let capacity = 200 + 10 * u32::try_from(rng.below(11)).unwrap_or(5);
            let name = format!("Máy thu nhận số {:02} – Công an {}", k + 1, d.name);
            mine.push(devices.len());
            devices.push(demo_device(
                store, o.seed, d.code, k, name, capacity, &staff, setup,
            )?);
        }
        district_devices.push(mine);
        officers.push(staff);
    }
    // A spare device at the province, out of service (it shows in the registry as suspended).
    let name = format!("Máy dự phòng – Công an {}", province.name);
    let (dev, mut demo) = demo_device(store, o.seed, o.province, 0, name, 250, &reviewer, setup)?;
    let dev = acc::set_device_status(
        store,
        dev.id,
        DeviceStatus::Suspended,
        &actor,
        setup + Duration::hours(1),
    )
    .map_err(|e| e.to_string())?;
    demo.status = dev.status;
    devices.push((dev, demo));

    let mut sim = Sim {
        store,
        o,
        rng,
        cands,
        memory: HashMap::new(),
        devices,
        officers,
        reviewer,
        password_hash,
        passcode_hash,
        queue: BinaryHeap::new(),
        steps: Vec::new(),
        report: HistoryReport {
            hashing_seconds,
            ..HistoryReport::default()
        },
    };
    sim.report.eligible = sim.cands.len();

    // The days' collections (working hours, spread over the district's devices up to their
    // capacity) and level-1 registrations (any time of the day).
    let mut next2 = vec![0usize; districts.len()];
    let mut next1 = vec![0usize; districts.len()];
    for (i, (l2, l1)) in plan.iter().zip(&level1_plan).enumerate() {
        let date = first + Duration::days(i as i64);
        for (d, &n) in l2.iter().enumerate() {
            let devs = district_devices.get(d).cloned().unwrap_or_default();
            let capacity: u64 = devs
                .iter()
                .filter_map(|&k| sim.devices.get(k).map(|(x, _)| u64::from(x.daily_capacity)))
                .sum();
            let mut times: Vec<OffsetDateTime> = (0..n.min(capacity))
                .map(|_| between(&mut sim.rng, date, 450.0, 1050.0))
                .collect();
            times.sort();
            let mut used = vec![0u64; devs.len()];
            for (j, t) in times.into_iter().enumerate() {
                let Some(&cand) = level2_pool.get(d).and_then(|p| p.get(next2[d])) else {
                    break;
                };
                next2[d] += 1;
                // Round robin over the devices that have capacity left.
                let Some(slot) = (0..devs.len()).map(|k| (j + k) % devs.len()).find(|&k| {
                    let cap = sim
                        .devices
                        .get(devs[k])
                        .map_or(0, |(x, _)| u64::from(x.daily_capacity));
                    used[k] < cap
                }) else {
                    break;
                };
                used[slot] += 1;
                sim.mem(cand).district = d;
                sim.schedule(
                    t,
                    Step::Collect {
                        cand,
                        device: devs[slot],
                    },
                );
            }
        }
        for (d, &n) in l1.iter().enumerate() {
            for _ in 0..n {
                let Some(&cand) = level1_pool.get(d).and_then(|p| p.get(next1[d])) else {
                    break;
                };
                next1[d] += 1;
                sim.mem(cand).district = d;
                let t = between(&mut sim.rng, date, 360.0, 1380.0);
                sim.schedule(t, Step::Register { cand });
            }
        }
    }

    // Run every step in time order.
    while let Some(Reverse((_, i))) = sim.queue.pop() {
        let Some((t, step)) = sim.steps.get(i).cloned() else {
            continue;
        };
        sim.step(t, step)?;
    }

    sim.report.days = daily_figures(store, &o.province, first, days)?;
    let peak_start = today - Duration::days(PEAK_STARTED_DAYS_AGO);
    sim.report.peak_start = Some(peak_start.max(first));
    sim.report.peak_end = Some(peak_start + Duration::days(PEAK_DAYS - 1));
    sim.report.reviewer = sim.reviewer.username.clone();
    sim.report.devices = sim.devices.iter().map(|(_, d)| d.clone()).collect();
    seed_operations(
        store,
        &o.province,
        first,
        today,
        peak_start.max(first),
        o.now,
    )?;
    let reported_started = Instant::now();
    sim.report.reported_rows =
        operations::seed_reported_provinces(store, &o.province, first, today, o.now, o.seed)?;
    sim.report.reported_seconds = reported_started.elapsed().as_secs_f64();
    sim.report.seconds = started.elapsed().as_secs_f64();
    Ok(Some(sim.report))
}
