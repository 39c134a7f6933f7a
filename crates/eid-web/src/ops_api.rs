//! The operations API under its old path: startup, the OpenAPI document and the console reach
//! it as `crate::ops_api`. It lives in [`crate::ops`].

pub use crate::ops::{
    outreach_cells, outreach_csv, outreach_csv_days, progress_json, router, svc, OutreachQuery,
    OUTREACH_COLUMNS,
};
