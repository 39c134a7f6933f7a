//! What the console's pages share that is not a page: numbers and dates as each language
//! writes them, the server-side SVG chart, form and table pieces, and the XLSX writer.

pub mod chart;
pub mod form;
pub mod format;
pub mod xlsx;
