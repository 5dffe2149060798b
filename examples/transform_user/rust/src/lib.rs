//! Data transformation: reads a user document (JSON) from a key and returns it
//! with `full_name` and `age` added.
//!
//! ```text
//! SET user:1 '{"first_name":"Ada","last_name":"Lovelace","birth_date":"1990-01-01"}'
//! WASM.CALL transform_user KEYS user:1
//! → {"age":36,"birth_date":"1990-01-01","first_name":"Ada","full_name":"Ada Lovelace","last_name":"Lovelace"}
//! ```
//! (`age` as of the server's clock.) Capabilities: `read time`.

use ferrite_wasm_sdk::*;
use serde_json::Value;

/// The user at `key` with `full_name` and `age` (whole years at the server's time).
#[ferrite_function]
pub fn transform_user(key: &str) -> Result<String, String> {
    let user_json = ferrite_get(key).ok_or_else(|| format!("ERR no user at key '{}'", key))?;
    let mut user: Value =
        serde_json::from_str(&user_json).map_err(|e| format!("ERR invalid user JSON: {}", e))?;
    let fields = user.as_object_mut().ok_or("ERR user JSON is not an object")?;

    let first = fields.get("first_name").and_then(Value::as_str).unwrap_or("");
    let last = fields.get("last_name").and_then(Value::as_str).unwrap_or("");
    let full_name = format!("{} {}", first, last).trim().to_string();

    let birth_date = fields
        .get("birth_date")
        .and_then(Value::as_str)
        .ok_or("ERR user has no birth_date")?;
    let age = age_at(birth_date, ferrite_time_millis())
        .ok_or_else(|| format!("ERR birth_date '{}' is not YYYY-MM-DD", birth_date))?;

    fields.insert("full_name".into(), Value::from(full_name));
    fields.insert("age".into(), Value::from(age));
    Ok(user.to_string())
}

/// Whole years between `birth_date` (`YYYY-MM-DD`) and the Unix time `now_ms`.
fn age_at(birth_date: &str, now_ms: i64) -> Option<i64> {
    let mut parts = birth_date.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (now_year, now_month, now_day) = civil_from_days(now_ms.div_euclid(86_400_000));
    let mut age = now_year - year;
    if (now_month, now_day) < (month, day) {
        age -= 1;
    }
    Some(age)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        // 2024-03-01 00:00 UTC
        let now = 19_783 * 86_400_000;
        assert_eq!(age_at("1990-03-01", now), Some(34));
        assert_eq!(age_at("1990-03-02", now), Some(33));
        assert_eq!(age_at("1990-13-01", now), None);
    }
}
