//! A QR code drawn as inline SVG (no script, no image request, so it prints and passes the CSP).

use qrcode::{Color, EcLevel, QrCode};

/// The SVG of a QR code of `data`, or an empty string if it does not fit in one.
pub fn svg(data: &str) -> String {
    let Ok(code) = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::L) else {
        return String::new();
    };
    let w = code.width();
    let colors = code.to_colors();
    let quiet = 4;
    let size = w + 2 * quiet;
    let mut path = String::new();
    for (i, c) in colors.iter().enumerate() {
        if *c == Color::Dark {
            let (x, y) = (i % w + quiet, i / w + quiet);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"240\" \
         height=\"240\" role=\"img\" aria-label=\"QR\" shape-rendering=\"crispEdges\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn a_long_token_fits_in_one_code() {
        let s = super::svg(&"x".repeat(1500));
        assert!(s.starts_with("<svg"));
        assert!(
            s.contains("M4 4h1v1h-1z"),
            "the finder pattern's corner is dark"
        );
    }
}
