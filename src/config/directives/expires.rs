//! mod_expires: ExpiresActive, ExpiresByType, ExpiresDefault — the `Expires` and
//! `Cache-Control: max-age` headers `modules::expires` adds.

use std::sync::Arc;

use super::{def, ApplyCtx};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

pub static DIRECTIVES: &[DirectiveDef] = &[
    def(
        "ExpiresActive",
        Flag,
        C::ALL,
        Implemented,
        "Limited to 'on' or 'off'",
        active,
    ),
    def(
        "ExpiresByType",
        Take2,
        C::ALL,
        Implemented,
        "a MIME type followed by an expiry date code",
        by_type,
    ),
    def(
        "ExpiresDefault",
        Take1,
        C::ALL,
        Implemented,
        "expiry date code",
        default,
    ),
];

/// When the expiry counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// The time of the request (`A`, `access`, `now`).
    Access,
    /// The file's modification time (`M`, `modification`).
    Modification,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub base: Base,
    pub seconds: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpiresConf {
    pub active: Option<bool>,
    pub default: Option<Code>,
    /// (lowercase type, code); a later entry for the same type replaces the earlier one.
    pub by_type: Vec<(String, Code)>,
}

impl ExpiresConf {
    pub fn merge(&self, over: &ExpiresConf) -> ExpiresConf {
        let mut by_type = self.by_type.clone();
        for (t, c) in &over.by_type {
            by_type.retain(|(x, _)| x != t);
            by_type.push((t.clone(), *c));
        }
        ExpiresConf {
            active: over.active.or(self.active),
            default: over.default.or(self.default),
            by_type,
        }
    }
}

/// Parses `A3600`/`M86400` or `access plus 1 month 2 days` (httpd's messages on error).
pub fn parse_code(s: &str) -> Result<Code, String> {
    let s = s.trim();
    let mut chars = s.chars();
    match chars.next() {
        Some(c @ ('A' | 'M')) if s.len() > 1 && !s.contains(' ') => {
            let n: i64 = chars
                .as_str()
                .parse()
                .map_err(|_| "bad expires code, numeric value expected <seconds>".to_string())?;
            let base = if c == 'A' {
                Base::Access
            } else {
                Base::Modification
            };
            return Ok(Code { base, seconds: n });
        }
        _ => {}
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    let Some((first, rest)) = words.split_first() else {
        return Err("bad expires code, missing <type>".into());
    };
    let base = match first.to_ascii_lowercase().as_str() {
        "access" | "now" => Base::Access,
        "modification" => Base::Modification,
        _ => return Err(format!("bad expires code, unrecognised <base> '{first}'")),
    };
    let mut rest = rest;
    if rest.first().is_some_and(|w| w.eq_ignore_ascii_case("plus")) {
        rest = &rest[1..];
    }
    let mut seconds = 0i64;
    let mut it = rest.iter();
    while let Some(num) = it.next() {
        let n: i64 = num
            .parse()
            .map_err(|_| format!("bad expires code, numeric value expected '{num}'"))?;
        let Some(unit) = it.next() else {
            return Err("bad expires code, missing <type>".into());
        };
        let mult = match unit.to_ascii_lowercase().trim_end_matches('s') {
            "year" => 60 * 60 * 24 * 365,
            "month" => 60 * 60 * 24 * 30,
            "week" => 60 * 60 * 24 * 7,
            "day" => 60 * 60 * 24,
            "hour" => 60 * 60,
            "minute" => 60,
            "second" => 1,
            _ => return Err(format!("bad expires code, unrecognised type '{unit}'")),
        };
        seconds = seconds.saturating_add(n.saturating_mul(mult));
    }
    Ok(Code { base, seconds })
}

fn conf<'a>(ctx: &'a mut ApplyCtx<'_>) -> &'a mut ExpiresConf {
    Arc::make_mut(ctx.dir.expires.get_or_insert_with(Default::default))
}

fn active(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let on = super::flag(ctx);
    conf(ctx).active = Some(on);
    Ok(())
}

fn by_type(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let t = ctx.arg(0).to_ascii_lowercase();
    let code = parse_code(ctx.arg(1)).map_err(|e| format!("'{}' {e}", ctx.arg(1)))?;
    let c = conf(ctx);
    c.by_type.retain(|(x, _)| *x != t);
    c.by_type.push((t, code));
    Ok(())
}

fn default(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let code = parse_code(ctx.arg(0)).map_err(|e| format!("'{}' {e}", ctx.arg(0)))?;
    conf(ctx).default = Some(code);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(
            parse_code("A3600").unwrap(),
            Code {
                base: Base::Access,
                seconds: 3600
            }
        );
        assert_eq!(
            parse_code("access plus 1 month").unwrap().seconds,
            2_592_000
        );
        assert_eq!(
            parse_code("modification plus 1 day 2 hours").unwrap(),
            Code {
                base: Base::Modification,
                seconds: 93_600
            }
        );
        assert_eq!(parse_code("now plus 0 seconds").unwrap().seconds, 0);
        assert!(parse_code("later plus 1 day").is_err());
        assert!(parse_code("access plus x days").is_err());
    }
}
