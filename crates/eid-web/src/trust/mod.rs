//! Trust (issue 15): "who used my data" (`/me/data-use`, with each entry's inclusion in a
//! signed checkpoint of the transparency log and a "report misuse" button), the auditors' queue
//! of misuse reports (`/trust/reports`), officer codes (`/trust/officer-code` for staff,
//! `/me/verify-officer` for anyone, signed in or not), and the log's public checkpoints and
//! proofs (`/transparency/…`). Every rule is in `eid_core::transparency` and
//! `eid_core::officer_code`.

mod api;
mod citizen;
mod console;
pub mod i18n;
mod qr;
mod recover;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use eid_core::oidc::keys::Kek;

use crate::error::AppError;
use crate::state::AppState;

/// The `[trust]` table of the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustConfig {
    /// The time lock of an account recovery without the old phone, in hours
    /// (`recovery_lock_hours`, `EID_TRUST_RECOVERY_LOCK_HOURS`; 24–336, default 72).
    pub recovery_lock_hours: i64,
}

impl Default for TrustConfig {
    fn default() -> TrustConfig {
        TrustConfig {
            recovery_lock_hours: eid_core::accounts::recovery::DEFAULT_LOCK.whole_hours(),
        }
    }
}

impl TrustConfig {
    pub fn check(&self) -> Result<(), String> {
        if !(24..=336).contains(&self.recovery_lock_hours) {
            return Err(format!(
                "trust.recovery_lock_hours must be between 24 and 336 hours, got {}",
                self.recovery_lock_hours
            ));
        }
        Ok(())
    }
}

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/me/data-use", get(citizen::data_use))
        .route("/me/data-use/report", post(citizen::report))
        .route(
            "/me/verify-officer",
            get(citizen::officer_form).post(citizen::officer_check),
        )
        .route(
            "/me/recover",
            get(recover::form)
                .post(recover::start)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::accounts::MAX_PHOTO_BYTES + 64 * 1024,
                )),
        )
        .route("/me/recover/confirm", post(recover::confirm))
        .route("/me/recover/complete", post(recover::complete))
        .route(
            "/me/recover/cancel",
            get(recover::cancel_form).post(recover::cancel),
        )
        .route("/me/recover/cancel-mine", post(recover::cancel_mine))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            crate::citizen::session::ensure_device,
        ))
        .route("/trust/reports", get(console::reports))
        .route("/trust/reports/{id}", post(console::answer))
        .route(
            "/trust/officer-code",
            get(console::officer).post(console::officer_issue),
        )
        .route("/transparency/checkpoint", get(api::checkpoint))
        .route("/transparency/checkpoints", get(api::checkpoints))
        .route("/transparency/proof/{seq}", get(api::proof))
        .route("/transparency/consistency", get(api::consistency))
}

/// Checkpoints are signed when someone looks and the log grew, at most this often (and by
/// `eid audit checkpoint`, which a timer may run).
const CHECKPOINT_EVERY: time::Duration = time::Duration::minutes(1);

fn kek(state: &AppState) -> Result<Arc<Kek>, AppError> {
    state
        .oidc
        .kek()
        .map_err(|e| AppError::Internal(format!("transparency: {}", e.description)))
}

/// A citizen whose own newest entry no checkpoint covers yet gets one this soon after the last.
const CHECKPOINT_FOR_OWN: time::Duration = time::Duration::seconds(5);

/// Signs a checkpoint when the log grew and the newest is older than [`CHECKPOINT_EVERY`] —
/// or, for `mine` (the person whose page is read), older than [`CHECKPOINT_FOR_OWN`] while
/// their own newest entry is not in it, so a citizen soon sees their entries included.
async fn refresh_checkpoint(state: &AppState, mine: Option<String>) -> Result<(), AppError> {
    // Staff reads audited since the last fold first, so the page shows them.
    state
        .blocking(|store| Ok(eid_core::transparency::staff_reads::fold(store)?))
        .await?;
    let kek = kek(state)?;
    let now = state.now();
    state
        .blocking(move |store| {
            let due = match eid_core::transparency::checkpoint::latest(store)? {
                None => true,
                Some(cp) => {
                    let age = now - cp.signed_at;
                    age >= CHECKPOINT_EVERY
                        || (age >= CHECKPOINT_FOR_OWN
                            && match &mine {
                                Some(pid) => eid_core::transparency::newest_seq(store, pid)?
                                    .is_some_and(|seq| seq >= cp.size),
                                None => false,
                            })
                }
            };
            if due {
                eid_core::transparency::checkpoint::publish(store, &kek, now)?;
            }
            Ok(())
        })
        .await
}

/// Runs `work` on the blocking pool every `period` (the first time at once) until `stopped`,
/// handing each outcome to `report`.
fn spawn_every<T, W, R>(
    state: &AppState,
    period: std::time::Duration,
    mut stopped: tokio::sync::watch::Receiver<bool>,
    work: W,
    report: R,
) where
    T: Send + 'static,
    W: Fn(&dyn eid_core::store::Store) -> Result<T, AppError> + Clone + Send + Sync + 'static,
    R: Fn(Result<T, AppError>) + Send + Sync + 'static,
{
    let state = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = stopped.changed() => return,
            }
            if *stopped.borrow() {
                return;
            }
            report(state.blocking(work.clone()).await);
        }
    });
}

/// Folds staff reads from the audit trail into the data-use log every second until `stopped`
/// (see `eid_core::transparency::staff_reads`). A failure is logged and tried again.
pub fn spawn_folder(state: &AppState, stopped: tokio::sync::watch::Receiver<bool>) {
    spawn_every(
        state,
        std::time::Duration::from_secs(1),
        stopped,
        |store| Ok(eid_core::transparency::staff_reads::fold(store)?),
        |folded| {
            if let Err(e) = folded {
                tracing::warn!(error = ?e, "transparency: staff reads not folded");
            }
        },
    );
}

/// Makes the store's tables ready ahead of time ([`eid_core::store::Store::prepare_ahead`])
/// at start and every six hours until `stopped`. A failure is logged and tried again.
pub fn spawn_preparer(state: &AppState, stopped: tokio::sync::watch::Receiver<bool>) {
    spawn_every(
        state,
        std::time::Duration::from_secs(6 * 3600),
        stopped,
        |store| Ok(store.prepare_ahead()?),
        |made| match made {
            Ok(0) => {}
            Ok(n) => tracing::info!(partitions = n, "audit trail: months made ahead"),
            Err(e) => tracing::warn!(error = ?e, "audit trail: months not made ahead"),
        },
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod config_tests {
    use std::collections::HashMap;

    use crate::config::{Config, Overrides};

    fn layered(file: &str, env: &[(&str, &str)]) -> Result<Config, String> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::layered(Some(file), &env, &Overrides::default()).map_err(|e| e.0)
    }

    #[test]
    fn the_qr_lifetime_and_the_recovery_lock_are_bounded_settings() {
        let c = layered("", &[]).unwrap();
        assert_eq!((c.wallet.qr_seconds, c.trust.recovery_lock_hours), (60, 72));
        let c = layered(
            "[wallet]\nqr_seconds = 90\n[trust]\nrecovery_lock_hours = 24\n",
            &[],
        )
        .unwrap();
        assert_eq!((c.wallet.qr_seconds, c.trust.recovery_lock_hours), (90, 24));
        let c = layered(
            "[wallet]\nqr_seconds = 90\n",
            &[
                ("EID_WALLET_QR_SECONDS", "600"),
                ("EID_TRUST_RECOVERY_LOCK_HOURS", "336"),
            ],
        )
        .unwrap();
        assert_eq!(
            (c.wallet.qr_seconds, c.trust.recovery_lock_hours),
            (600, 336)
        );
        for (file, env, says) in [
            (
                "[wallet]\nqr_seconds = 14\n",
                vec![],
                "wallet.qr_seconds must be between 15 and 600",
            ),
            (
                "",
                vec![("EID_WALLET_QR_SECONDS", "601")],
                "wallet.qr_seconds must be between 15 and 600",
            ),
            (
                "[trust]\nrecovery_lock_hours = 23\n",
                vec![],
                "trust.recovery_lock_hours must be between 24 and 336",
            ),
            (
                "",
                vec![("EID_TRUST_RECOVERY_LOCK_HOURS", "337")],
                "trust.recovery_lock_hours must be between 24 and 336",
            ),
            (
                "",
                vec![("EID_TRUST_RECOVERY_LOCK_HOURS", "a week")],
                "EID_TRUST_RECOVERY_LOCK_HOURS must be a whole number",
            ),
            (
                "[wallet]\nqr_lifetime = 60\n",
                vec![],
                "unknown field `qr_lifetime`",
            ),
        ] {
            let err = layered(file, &env).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }
}
