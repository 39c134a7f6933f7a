//! The store's SMS outbox as the dispatcher sees it.

use std::sync::Arc;

use eid_core::accounts as acc;
use eid_core::Store;
use time::OffsetDateTime;

/// The store's outbox behind [`crate::sms::OutboxStore`].
pub struct StoreOutbox {
    pub store: Arc<dyn Store>,
    /// Keep a sent message's text (the development sink, whose messages staff read).
    pub keep_body: bool,
}

impl crate::sms::OutboxStore for StoreOutbox {
    fn due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<crate::sms::OutboxMessage>, String> {
        let msgs = acc::sms_due(self.store.as_ref(), now, limit).map_err(|e| e.to_string())?;
        Ok(msgs
            .into_iter()
            .map(|m| crate::sms::OutboxMessage {
                id: m.id,
                to: m.to,
                body: m.body,
                attempts: m.attempts,
            })
            .collect())
    }

    fn record(
        &self,
        id: i64,
        outcome: &crate::sms::SendOutcome,
        now: OffsetDateTime,
    ) -> Result<(), String> {
        acc::sms_record(self.store.as_ref(), id, outcome, now, self.keep_body)
            .map_err(|e| e.to_string())
    }
}
