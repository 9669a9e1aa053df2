//! Durations as files write them: `500ms`, `2s`, `1.5s`, `1m30s`, `2h`, `90`.

use std::time::Duration;

/// Parses `500ms`, `2s`, `1.5s`, `1m30s`, `2h`, `90` (seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration: expected e.g. 500ms, 2s or 1m30s".into());
    }
    if let Ok(n) = t.parse::<f64>()
        && n.is_finite()
        && (0.0..1e9).contains(&n)
    {
        return Ok(Duration::from_secs_f64(n));
    }
    let mut total = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_end == 0 {
            return Err(format!("invalid duration {s:?}: expected e.g. 500ms, 2s or 1m30s"));
        }
        let n: f64 = rest[..num_end].parse().map_err(|_| format!("invalid duration {s:?}: bad number"))?;
        rest = &rest[num_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "us" | "µs" => 0.000_001,
            "" => return Err(format!("invalid duration {s:?}: missing unit (ms, s, m, h)")),
            u => return Err(format!("invalid duration {s:?}: unknown unit {u:?} (use ms, s, m or h)")),
        };
        rest = &rest[unit_end..];
        total += n * factor;
    }
    if !(total.is_finite() && total < 1e9) {
        return Err(format!("duration {s:?} is too large"));
    }
    Ok(Duration::from_secs_f64(total))
}

pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) || ms == 0 {
        format!("{ms}ms")
    } else {
        format!("{}s", ms / 1000)
    }
}
