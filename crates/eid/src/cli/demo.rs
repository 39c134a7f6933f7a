//! `eid demo`: the demo province, its history and its accounts, then the server.

use super::import::province_code;
use super::*;
use eid_domain::AccountLevel;

/// The demo accounts for a province: (username, display name, role, unit).
pub fn demo_accounts(
    store: &dyn Store,
    province: &Units,
    code: UnitCode,
) -> Result<Vec<(String, String, Role, UnitCode)>, Failure> {
    let units = province;
    let district = units
        .children(Tree::Gso2024, &code)
        .into_iter()
        .next()
        .ok_or_else(|| format!("province {code} has no districts"))?;
    let pops = store.population_by_commune(&district.code)?;
    let commune = pops
        .iter()
        .max_by_key(|(c, p)| (p.total, std::cmp::Reverse(*c)))
        .map(|(c, _)| *c)
        .or_else(|| {
            units
                .children(Tree::Gso2024, &district.code)
                .first()
                .map(|u| u.code)
        })
        .ok_or_else(|| format!("district {} has no communes", district.code))?;
    let name = |c: &UnitCode| {
        units
            .unit(Tree::Gso2024, c)
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    Ok(vec![
        (
            "bo.congan".to_owned(),
            "Cán bộ Bộ Công an".to_owned(),
            Role::Ministry,
            UnitCode::NATION,
        ),
        (
            format!("tinh.{code}"),
            format!("Công an {}", name(&code)),
            Role::Province,
            code,
        ),
        (
            format!("huyen.{}", district.code),
            format!("Công an {}", district.name),
            Role::District,
            district.code,
        ),
        (
            format!("xa.{commune}"),
            format!("Công an {}", name(&commune)),
            Role::Commune,
            commune,
        ),
        (
            "kiemtra".to_owned(),
            "Thanh tra, kiểm tra".to_owned(),
            Role::Auditor,
            UnitCode::NATION,
        ),
    ])
}

pub(super) fn demo(config: Config, args: &DemoArgs) -> Result<(), Failure> {
    let province = province_code(&args.province)?;
    let store = open_store(&config.db)?;
    // The demo resets its accounts' passwords: it only ever touches a database it made.
    if !eid_core::settings::claim_for_demo(store.as_ref())? {
        return Err(
            "this database already holds staff or people that `eid demo` did not create; the demo \
             only runs on an empty database or one it made (give it another with --db, e.g. \
             --db sqlite://data/demo.db)"
                .into(),
        );
    }
    development_banner(&config);
    let units = Units::get();
    let existing: u64 = store
        .population_by_commune(&UnitCode::NATION)?
        .iter()
        .map(|(_, p)| p.total)
        .sum();
    // The people of the demo: those generated now, or those already there.
    let mut people = existing;
    if existing == 0 {
        let started = Instant::now();
        errln!(
            "generating {} persons of {} (seed {}) …",
            args.people,
            province,
            args.seed
        );
        let cfg = eid_gen::GenConfig {
            count: args.people,
            seed: args.seed,
            province: Some(province),
            today: today(),
        };
        let generator = eid_gen::Generator::new(&cfg)?;
        let opts = ImportOptions {
            on_error: OnError::Skip,
            today: today(),
            now: now(),
            actor: Actor::Cli("demo".to_owned()),
            reason: "demo data".to_owned(),
        };
        let s = eid_core::import::import_generated(store.as_ref(), generator, &opts)?;
        people = s.imported;
        errln!(
            "imported {} persons in {:.1} s ({} rejected)",
            s.imported,
            started.elapsed().as_secs_f64(),
            s.rejected
        );
    } else {
        errln!("the database already holds {existing} persons: not generating");
    }

    // The passwords are shown before they are set: a password nobody saw is never stored.
    let accounts: Vec<_> = demo_accounts(store.as_ref(), units, province)?
        .into_iter()
        .map(|(username, display, role, unit)| {
            let unit_name = units
                .unit(Tree::Gso2024, &unit)
                .map(|u| u.name.clone())
                .unwrap_or_default();
            (
                username,
                display,
                role,
                unit,
                unit_name,
                secret::random_password(),
            )
        })
        .collect();
    let mut table = format!(
        "\n{:<14}  {:<9}  {:<34}  password\n",
        "username", "role", "unit"
    );
    for (u, _, r, _, n, p) in &accounts {
        table.push_str(&format!("{u:<14}  {:<9}  {n:<34}  {p}\n", r.as_str()));
    }
    table.push('\n');
    out::shown_once(&table, "the demo accounts' passwords")?;
    for (username, display, role, unit, _, password) in accounts {
        let hash = secret::hash_password(&password)?;
        match store.staff_by_username(&username)? {
            Some((staff, _)) => store.set_password(staff.id, &hash)?,
            None => {
                let new = NewStaff {
                    username: username.clone(),
                    display_name: display,
                    role,
                    unit,
                    password_hash: hash,
                };
                store.create_staff(&new, now())?;
            }
        }
    }

    let history = if args.history_days > 0 {
        let options = crate::demo::HistoryOptions {
            province,
            days: args.history_days,
            applications: args.history_applications.unwrap_or(people / 60),
            seed: args.seed,
            now: now(),
            settings: crate::state::account_settings(&config),
            keep_sms_text: config.sms_sender().name() == "dev-sink",
        };
        errln!(
            "simulating {} days of campaign history (about {} applications) …",
            options.days,
            options.applications
        );
        let filled = crate::demo::fill_demo_history(store.as_ref(), &options)?;
        if filled.is_none() {
            errln!("the province already has intake devices: not simulating a history");
        }
        filled
    } else {
        None
    };

    if let Some(h) = &history {
        crate::demo::write_report(h, &mut std::io::stdout().lock())
            .map_err(|e| out::failure(&e))?;
        outln!()?;
    }
    let live = if args.live {
        Some(crate::demo::live_setup(
            store.as_ref(),
            province,
            args.seed,
        )?)
    } else {
        None
    };
    let registry = Arc::clone(&store);
    // A demo citizen for the citizen's pages: level 2 if the history made one.
    let citizen = match eid_core::accounts::sample_account(store.as_ref(), AccountLevel::Two)? {
        Some(a) => Some(a),
        None => eid_core::accounts::sample_account(store.as_ref(), AccountLevel::One)?,
    };
    let stays = crate::demo::seed_stays(
        store.as_ref(),
        citizen.as_ref().map(|a| a.personal_id.as_str()),
        now(),
    )?;
    super::wallet::demo_wallet(
        store.as_ref(),
        citizen.as_ref().map(|a| a.personal_id.as_str()),
    )?;
    let residence = super::residence::seed_demo(
        store.as_ref(),
        province,
        citizen
            .as_ref()
            .filter(|a| a.level == AccountLevel::Two)
            .map(|a| &a.personal_id),
        now(),
    )?;
    runtime()?.block_on(async move {
        let (app, addr) = crate::Application::with_store(config, store).await?;
        tracing::info!(%addr, "listening");
        let base = format!("http://{addr}");
        super::oidc::demo_portal(registry.as_ref(), &base)?;
        super::surge::demo_surge(registry.as_ref(), &base)?;
        super::link_demo::demo_job(registry.as_ref(), &base)?;
        if let Some(h) = history.as_ref().and_then(|h| h.devices.first()) {
            outln!(
                "try an intake device: eid client intake --server {base} --device-id {} --key-seed {} --officer {} --personal-id ID --phone PHONE",
                h.id, h.seed_hex, h.officer
            )?;
        }
        if let Some(live) = live {
            outln!(
                "live: {} devices send an application every few seconds, with activations and level-1 registrations (--live)",
                live.devices.len()
            )?;
            crate::demo::spawn_live(base.clone(), live);
        }
        outln!("open {base} and sign in with one of the accounts above")?;
        if let Some(s) = stays {
            outln!("stays: {} stays ({} late) at {} establishments of the commune officer's commune: {base}/stays; the demo citizen notifies for them at {base}/me/stays", s.stays, s.late, s.establishments)?;
        }
        super::trust::demo_trust(app.state(), citizen.as_ref(), &base)?;
        if let Some(a) = &citizen {
            crate::demo::write_citizen(
                &mut std::io::stdout().lock(),
                &base,
                a.personal_id.as_str(),
                a.level.number(),
            )
            .map_err(|e| out::failure(&e))?;
        }
        outln!("wallet: open {base}/me/wallet (level 2) for the identity card, the health-insurance card and a QR; check it at {base}/verify")?;
        if let Some(officer) = &residence {
            outln!("residence: open {base}/me/residence as the demo citizen, and {base}/residence as {officer}")?;
        }
        errln!("eid listening on {base}");
        app.run_until_stopped().await?;
        Ok::<(), Failure>(())
    })
}
