//! Sizes (`64M`) and durations (`30s`) as users write them.

use std::time::Duration;

/// Parses a size in bytes: a whole number with an optional suffix K, M, G or T (powers of
/// 1024; `KiB`-style and lower-case suffixes work too).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits_end = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (digits, suffix) = trimmed.split_at(digits_end);
    if digits.is_empty() {
        return Err(format!("invalid size {text:?}: expected a number with an optional K, M, G or T suffix, such as 64M"));
    }
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(format!("invalid size {text:?}: unknown suffix {suffix:?}; use K, M, G or T")),
    };
    let number: u64 = digits.parse().map_err(|_| format!("invalid size {text:?}: the number is too large"))?;
    number
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("invalid size {text:?}: larger than 16 EiB"))
}

/// A regular expression for the text [`parse_size`] accepts, for the profile JSON Schema. It
/// does not reject sizes above 16 EiB.
pub(crate) const SIZE_PATTERN: &str = r"^\s*[0-9]+([bB]|[kKmMgGtT]([iI]?[bB])?)?\s*$";

/// Formats a byte count with the largest suffix that divides it exactly, as [`parse_size`]
/// reads it back.
pub fn format_size(bytes: u64) -> String {
    for (shift, suffix) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
        if bytes != 0 && bytes % (1u64 << shift) == 0 {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// Parses a duration: a number with a unit, ms, s, m or h (`500ms`, `30s`, `1.5m`, `2h`);
/// a bare number means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let number_end = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_end);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected a number and a unit, such as 30s or 5m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("invalid duration {text:?}: unknown unit {unit:?}; use ms, s, m or h")),
    };
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 1e9 {
        return Err(format!("invalid duration {text:?}: it must be positive and at most about 31 years"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A regular expression for the text [`parse_duration`] accepts, for the profile JSON Schema.
/// It does not reject zero or values above 1e9 seconds.
pub(crate) const DURATION_PATTERN: &str = r"^\s*([0-9]+\.?[0-9]*|\.[0-9]+)(ms|s|min|m|h)?\s*$";

/// Formats a duration the way [`parse_duration`] reads it back.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis % 1000 != 0 {
        return format!("{millis}ms");
    }
    let seconds = duration.as_secs();
    match seconds {
        s if s != 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s != 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Parses permission bits written in octal, such as `0755` or `1777`.
pub fn parse_mode(text: &str) -> Result<u32, String> {
    let mode = u32::from_str_radix(text.trim_start_matches("0o"), 8)
        .map_err(|_| format!("invalid permissions {text:?}: expected octal digits, such as 0755"))?;
    if mode > 0o7777 {
        return Err(format!("invalid permissions {text:?}: at most 7777"));
    }
    Ok(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_suffixes() {
        assert_eq!(parse_size("512K").unwrap(), 512 * 1024);
        assert_eq!(parse_size("64M").unwrap(), 64 << 20);
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert_eq!(parse_size("2gib").unwrap(), 2 << 30);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(format_size(64 << 20), "64M");
        assert_eq!(format_size(1000), "1000");
    }

    #[test]
    fn bad_sizes_rejected() {
        for text in ["", "-1", "M", "12Q", "1.5G", "99999999999999999999", "20000000T"] {
            assert!(parse_size(text).is_err(), "{text} was accepted");
        }
    }

    #[test]
    fn durations_with_units() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        for text in ["", "0s", "-1s", "5x", "s"] {
            assert!(parse_duration(text).is_err(), "{text} was accepted");
        }
    }

    #[test]
    fn octal_modes() {
        assert_eq!(parse_mode("1777").unwrap(), 0o1777);
        assert_eq!(parse_mode("0755").unwrap(), 0o755);
        assert!(parse_mode("9").is_err());
        assert!(parse_mode("17777").is_err());
    }
}
