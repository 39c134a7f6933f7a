//! The demo's sector import (issue 13): a noisy social-insurance copy of a few hundred of the
//! demo's persons, with one bad row, run as a console import job so that its page and its
//! results show in the console.

use eid_core::linkage::files::Mapping;
use eid_core::linkage::job::{self, JobSpec};
use eid_core::linkage::service::{self, Source};
use eid_core::linkage::Thresholds;

use super::*;

/// Runs one import job of a sector copy of up to 400 persons (once per database) and says
/// where its page is.
pub(super) fn demo_job(store: &dyn Store, base: &str) -> Result<(), Failure> {
    let done = job::list(store, 200)?
        .into_iter()
        .find(|j| j.source == "bhxh-demo" && j.state == "done");
    let id = match done {
        Some(j) => j.id,
        None => {
            let mut persons = Vec::new();
            store.for_each_person(&UnitCode::NATION, &mut |p| {
                if persons.len() < 400 {
                    persons.push(p.clone());
                }
                Ok(())
            })?;
            if persons.is_empty() {
                return Ok(());
            }
            let actor = Actor::Cli("demo".to_owned());
            service::define_source(
                store,
                &actor,
                now(),
                &Source {
                    name: "bhxh-demo".to_owned(),
                    kind: "social_insurance".to_owned(),
                    mapping: Mapping::identity(),
                },
            )?;
            let rows = eid_gen::sector::sector_copy(&persons, 13);
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(eid_gen::sector::SECTOR_COLUMNS)?;
            for r in &rows {
                w.write_record(r.fields())?;
            }
            // A row the mapping's checks refuse, to show the rejected rows' download.
            let mut bad = [""; 12];
            bad[0] = "DEMO-BAD";
            bad[2] = "Lê";
            bad[4] = "An";
            bad[5] = "1990-13-45";
            w.write_record(bad)?;
            w.flush()?;
            let file = w.into_inner().map_err(|e| e.to_string())?;
            let spec = JobSpec {
                source: "bhxh-demo".to_owned(),
                file_name: "bhxh-demo.csv".to_owned(),
                received_on: today(),
                thresholds: Thresholds::default(),
            };
            let id = job::submit(store, &actor, now(), &spec, &file)?;
            job::run(store, id, &now, job::SLICE, &mut |_| true)?.id
        }
    };
    outln!("linkage: a sector file imported as a job: open {base}/linkage/jobs/{id} (review queue at {base}/linkage)")
}
