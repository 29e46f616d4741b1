//! mod_reqtimeout: `RequestReadTimeout [handshake=…] [header=…] [body=…]` (spec/http-core.md §4).

use super::{def, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};
use crate::config::ReadTimeoutStage;

pub static DIRECTIVES: &[DirectiveDef] = &[def(
    "RequestReadTimeout",
    RawArgs,
    C::SERVER_VHOST,
    Implemented,
    "Set various timeout parameters for TLS handshake and/or reading request headers and body",
    request_read_timeout,
)];

fn number(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("Value '{s}' not numerical"));
    }
    s.parse().map_err(|_| format!("Value '{s}' not numerical"))
}

/// One stage value: `T[-MAX][,MinRate=R]`.
pub fn parse_stage(value: &str) -> Result<ReadTimeoutStage, String> {
    let (times, rest) = match value.find(',') {
        Some(i) => (&value[..i], Some(&value[i..])),
        None => (value, None),
    };
    let mut min_rate = None;
    if let Some(rest) = rest {
        let lower = rest.to_ascii_lowercase();
        let Some(r) = lower.strip_prefix(",minrate=") else {
            return Err(format!("Cannot parse '{rest}'"));
        };
        let r = number(r)?;
        if r <= 0 {
            return Err("Minimum data rate must be larger than 0".into());
        }
        min_rate = Some(r.min(u32::MAX as i64) as u32);
    }
    let (initial, max) = match times.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (times, None),
    };
    if max.is_some() && min_rate.is_none() {
        return Err("Must set MinRate option if using timeout range".into());
    }
    let initial = number(initial)?;
    let max = max.map(number).transpose()?;
    if initial < 0 || max.is_some_and(|m| m < 0) {
        return Err("Value must be non-negative".into());
    }
    if let Some(m) = max {
        if m <= initial {
            return Err("Maximum timeout must be larger than initial timeout".into());
        }
    }
    Ok(ReadTimeoutStage {
        timeout: initial.min(u32::MAX as i64) as u32,
        max_timeout: max.map(|m| m.min(u32::MAX as i64) as u32),
        min_rate,
    })
}

fn request_read_timeout(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let mut rrt = ctx.server.request_read_timeout;
    for word in &ctx.node.args {
        let Some((key, value)) = word.split_once('=') else {
            return Err(
                "Invalid RequestReadTimeout parameter. Parameter must be in the form 'key=value'"
                    .into(),
            );
        };
        let slot = match key.to_ascii_lowercase().as_str() {
            "handshake" => &mut rrt.handshake,
            "header" => &mut rrt.header,
            "body" => &mut rrt.body,
            _ => {
                return Err(format!(
                    "RequestReadTimeout: {word}: Unknown RequestReadTimeout parameter"
                ))
            }
        };
        *slot = Some(parse_stage(value).map_err(|e| format!("RequestReadTimeout: {word}: {e}"))?);
    }
    ctx.server.request_read_timeout = rrt;
    ctx.mark("request_read_timeout");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages() {
        let s = parse_stage("20-40,MinRate=500").unwrap();
        assert_eq!(
            (s.timeout, s.max_timeout, s.min_rate),
            (20, Some(40), Some(500))
        );
        assert_eq!(
            parse_stage("10-20").unwrap_err(),
            "Must set MinRate option if using timeout range"
        );
        assert_eq!(
            parse_stage("10-5,minrate=5").unwrap_err(),
            "Maximum timeout must be larger than initial timeout"
        );
        assert_eq!(
            parse_stage("10,minrate=0").unwrap_err(),
            "Minimum data rate must be larger than 0"
        );
        assert_eq!(
            parse_stage("10,foo=3").unwrap_err(),
            "Cannot parse ',foo=3'"
        );
        assert_eq!(parse_stage("x").unwrap_err(), "Value 'x' not numerical");
    }
}
