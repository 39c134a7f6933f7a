//! Residence procedures (issue 14): a level-2 citizen files a temporary or permanent residence
//! registration, a renewal, a temporary absence, a household split or a deregistration online,
//! with scans; the commune police work the queue of the commune the request is about (assign,
//! ask for more, approve or refuse); an approval changes the register through its events (an
//! `updated` event of the person with the request as the reason); the citizen is told at each
//! step by SMS and on their pages, and downloads a signed confirmation of residence information.
//!
//! - [`calendar`]: working days (weekends and Vietnamese holidays as data).
//! - [`rules`]: the procedures, their legal times and fees (as data), the form's rules.
//! - [`attach`]: scans checked by their bytes and size, keyed by SHA-256.
//! - [`requests`]: filing, answering and reading one's own requests (the citizen).
//! - [`officer`]: the queue, assignment, questions and decisions (the police); the operations
//!   figures per commune.
//! - [`confirm`]: the signed confirmation and its verification.

pub mod attach;
pub mod calendar;
pub mod confirm;
pub mod officer;
pub mod requests;
pub mod rules;

pub use requests::{Applicant, NewRequest, Request, State, Step};
pub use rules::Procedure;

/// The person's residence fields the 18-column record has no place for (term end, absence), as
/// approved procedures left them.
pub fn residency_of(
    store: &dyn crate::Store,
    id: &eid_domain::PersonalId,
) -> Result<eid_domain::Residency, crate::Error> {
    Ok(crate::sql::read(store.db(), |tx| {
        eid_store::residency::load(tx, id)
    })?)
}
