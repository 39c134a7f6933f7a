//! A QR code as inline SVG (the officer's code, as a link to `/me/verify-officer`).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The SVG of `text`'s QR code (medium error correction), or `None` when it does not fit.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let out = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in HTML: without the XML declaration.
    let start = out.find("<svg")?;
    out.get(start..).map(str::to_owned)
}
