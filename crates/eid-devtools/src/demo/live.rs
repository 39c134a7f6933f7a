//! The live trickle (`eid demo --live`).

use super::*;

/// What the live trickle needs: the demo's devices it can sign for and a staff token.
#[derive(Clone)]
pub struct Live {
    pub devices: Vec<crate::client::IntakeDevice>,
    pub token: String,
    pub seed: u64,
}

/// Finds the demo's active devices of the province whose keys derive from `seed`, and issues
/// an API token (for the person search and the development outbox, which only ministry-level
/// staff read) to the demo's ministry officer.
pub fn live_setup(store: &dyn Store, province: UnitCode, seed: u64) -> Result<Live, String> {
    let mut devices = Vec::new();
    for d in acc::devices(store, &province).map_err(|e| e.to_string())? {
        if d.status != DeviceStatus::Active {
            continue;
        }
        let found = (0..16).map(|k| device_seed(seed, &d.unit, k)).find(|s| {
            eid_core::intake::signing_key(s)
                .map(|key| {
                    eid_core::intake::public_hex(&key) == eid_core::secret::hex(&d.public_key)
                })
                .unwrap_or(false)
        });
        if let Some(seed_hex) = found {
            devices.push(crate::client::IntakeDevice {
                id: d.id,
                seed_hex,
                officer: format!("thunhan.{}", d.unit),
            });
        }
    }
    if devices.is_empty() {
        return Err(
            "--live needs the demo's intake devices: run the demo with a history (--history-days above 0) and the same --seed"
                .to_owned(),
        );
    }
    let (staff, _) = store
        .staff_by_username(MINISTRY_OFFICER)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("--live needs the demo's staff user {MINISTRY_OFFICER}"))?;
    let token = eid_core::secret::random_token();
    store
        .create_api_token(
            staff.id,
            "eid demo --live",
            &token_hash(&token),
            eid_core::clock::Clock::now(&eid_core::clock::SystemClock),
        )
        .map_err(|e| e.to_string())?;
    Ok(Live {
        devices,
        token,
        seed,
    })
}

/// Starts the live trickle on its own thread: every 2 to 8 seconds one of the devices sends an
/// application for someone of its district; about 60 % are activated at once and a level-1
/// registration follows every third application. Runs until the process ends; failures are
/// logged and the trickle goes on.
pub fn spawn_live(base: String, live: Live) {
    std::thread::spawn(move || {
        let client = crate::client::Client::new(&base);
        let mut rng = Rng::new(live.seed ^ crate::client::clock_seed());
        let mut sims: Vec<crate::client::Simulator> = Vec::new();
        std::thread::sleep(std::time::Duration::from_secs(2));
        for d in &live.devices {
            let sim = crate::client::Simulation {
                token: live.token.clone(),
                device: d.clone(),
                count: 200,
                activate_rate: 0.6,
                level1_rate: 0.33,
                no_match_rate: 0.02,
                password: DEMO_PASSWORD.to_owned(),
                passcode: DEMO_PASSCODE.to_owned(),
                ids: None,
                seed: rng.next_u64(),
            };
            match crate::client::Simulator::new(&client, sim) {
                Ok(s) => sims.push(s),
                Err(e) => tracing::warn!(device = d.id, error = %e, "live: no candidates"),
            }
        }
        let mut sent = 0u64;
        while !sims.is_empty() {
            let wait = 2000 + rng.below(6000);
            std::thread::sleep(std::time::Duration::from_millis(wait));
            let i = rng.below(sims.len() as u64) as usize;
            let Some(s) = sims.get_mut(i) else { continue };
            match s.step() {
                Ok(true) => {
                    sent += 1;
                    if sent.is_multiple_of(20) {
                        tracing::info!(applications = sent, "live: trickle going on");
                    }
                }
                Ok(false) => {
                    sims.swap_remove(i);
                }
                Err(e) => tracing::warn!(error = %e, "live: a step failed"),
            }
        }
        tracing::info!("live: every candidate was used; the trickle stops");
    });
}
