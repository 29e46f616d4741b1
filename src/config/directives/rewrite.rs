//! mod_rewrite's directives: RewriteEngine, RewriteOptions, RewriteBase, RewriteCond,
//! RewriteRule and RewriteMap, parsed into the rule lists `modules::rewrite` runs. Rules
//! written at server/vhost level go to `DirConf::rewrite_server` (the URL-to-filename phase),
//! rules written in `<Directory>`/`.htaccess` to `DirConf::rewrite` (the fixups phase).

use std::path::PathBuf;
use std::sync::Arc;

use super::{def, ApplyCtx};
use crate::conf::Span;
use crate::config::pcre::{Regex, RegexError};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

pub static DIRECTIVES: &[DirectiveDef] = &[
    def(
        "RewriteEngine",
        Flag,
        C::ALL,
        Implemented,
        "On or Off to enable or disable (default) the whole rewriting engine",
        engine,
    ),
    def(
        "RewriteOptions",
        Iterate,
        C::ALL,
        Implemented,
        "List of option strings to set",
        options,
    ),
    def(
        "RewriteBase",
        Take1,
        C::ALL,
        Implemented,
        "the base URL of the per-directory context",
        base,
    ),
    def(
        "RewriteCond",
        RawArgs,
        C::ALL,
        Implemented,
        "an input string and a to be applied regexp-pattern",
        cond,
    ),
    def(
        "RewriteRule",
        RawArgs,
        C::ALL,
        Implemented,
        "an URL-applied regexp-pattern and a substitution URL",
        rule,
    ),
    def(
        "RewriteMap",
        Take23,
        C::SERVER_VHOST,
        Implemented,
        "a mapname and a filename and options",
        map,
    ),
];

/// `RewriteOptions` bits.
pub mod opt {
    pub const INHERIT: u16 = 1;
    pub const INHERIT_BEFORE: u16 = 2;
    pub const INHERIT_DOWN: u16 = 4;
    pub const INHERIT_DOWN_BEFORE: u16 = 8;
    pub const IGNORE_INHERIT: u16 = 16;
    pub const ALLOW_NO_SLASH: u16 = 32;
    pub const ALLOW_ANY_URI: u16 = 64;
    pub const MERGE_BASE: u16 = 128;
    pub const IGNORE_CONTEXT_INFO: u16 = 256;
    pub const LEGACY_PREFIX_DOCROOT: u16 = 512;
    pub const LONG_URL_OPTIMIZATION: u16 = 1024;
}

/// One rewrite context: a server/vhost or a per-directory section.
#[derive(Clone, Debug, Default)]
pub struct RewriteConf {
    pub engine: Option<bool>,
    pub options: Option<u16>,
    pub base: Option<String>,
    pub rules: Vec<Arc<Rule>>,
    pub maps: Vec<(String, Arc<Map>)>,
    /// RewriteCond lines waiting for the RewriteRule they belong to.
    pub pending: Vec<Cond>,
    /// Where the first directive of this per-dir context was written: its `.htaccess` or the
    /// `<Directory>` section holding it (the directory prefix the rules see stripped).
    pub origin: Option<Span>,
    /// Written in an `.htaccess` file (the directory is the file's).
    pub htaccess: bool,
}

impl RewriteConf {
    pub fn engine_on(&self) -> bool {
        self.engine == Some(true)
    }
    pub fn has(&self, o: u16) -> bool {
        self.options.unwrap_or(0) & o != 0
    }
}

/// The per-directory merge (a section without rewrite directives inherits everything; one
/// with them inherits the engine state, options and base it did not set, and the parent's
/// rules only with `RewriteOptions Inherit`).
pub fn merge_dir(base: &RewriteConf, over: &RewriteConf) -> RewriteConf {
    let options = over.options.or(base.options);
    let inherit = base.options.unwrap_or(0) & (opt::INHERIT_DOWN | opt::INHERIT_DOWN_BEFORE);
    let oo = over.options.unwrap_or(0) | inherit;
    let rules = if oo & opt::IGNORE_INHERIT != 0 {
        over.rules.clone()
    } else if oo & (opt::INHERIT_BEFORE | opt::INHERIT_DOWN_BEFORE) != 0 {
        [base.rules.clone(), over.rules.clone()].concat()
    } else if oo & (opt::INHERIT | opt::INHERIT_DOWN) != 0 {
        [over.rules.clone(), base.rules.clone()].concat()
    } else {
        over.rules.clone()
    };
    let base_url = if oo & opt::MERGE_BASE != 0 {
        over.base.clone().or_else(|| base.base.clone())
    } else {
        over.base.clone()
    };
    RewriteConf {
        engine: over.engine.or(base.engine),
        options,
        base: base_url,
        rules,
        maps: Vec::new(),
        pending: Vec::new(),
        origin: over.origin.clone(),
        htaccess: over.htaccess,
    }
}

/// The server merge (a vhost over the main server): the engine state and options are
/// inherited when the vhost did not set them; maps and rules only with `Inherit`.
pub fn merge_server(base: &RewriteConf, over: &RewriteConf) -> RewriteConf {
    let oo = over.options.unwrap_or(0)
        | (base.options.unwrap_or(0) & (opt::INHERIT_DOWN | opt::INHERIT_DOWN_BEFORE));
    let (rules, maps) = if oo & opt::IGNORE_INHERIT != 0 {
        (over.rules.clone(), over.maps.clone())
    } else if oo & (opt::INHERIT_BEFORE | opt::INHERIT_DOWN_BEFORE) != 0 {
        (
            [base.rules.clone(), over.rules.clone()].concat(),
            [over.maps.clone(), base.maps.clone()].concat(),
        )
    } else if oo & (opt::INHERIT | opt::INHERIT_DOWN) != 0 {
        (
            [over.rules.clone(), base.rules.clone()].concat(),
            [over.maps.clone(), base.maps.clone()].concat(),
        )
    } else {
        (over.rules.clone(), over.maps.clone())
    };
    RewriteConf {
        engine: over.engine.or(base.engine),
        options: over.options.or(base.options),
        base: None,
        rules,
        maps,
        pending: Vec::new(),
        origin: None,
        htaccess: false,
    }
}

/// What a RewriteCond tests its (expanded) input with.
#[derive(Clone, Debug)]
pub enum CondTest {
    Regex(crate::config::pcre::Regex),
    /// `-d -f -s -l -L -h -x -F -U -e`
    File(char),
    /// `=`, `<`, `>`, `<=`, `>=`: lexicographic.
    Str(StrOp, String),
    /// `-eq -ne -lt -le -gt -ge`: integers.
    Int(StrOp, String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrOp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
    Ne,
}

#[derive(Clone, Debug)]
pub struct Cond {
    pub input: String,
    pub test: CondTest,
    pub negate: bool,
    pub or: bool,
    pub nocase: bool,
    /// `NV`: the headers the condition looks at are not added to `Vary`.
    pub novary: bool,
    pub text: String,
}

#[derive(Clone, Debug, Default)]
pub struct Flags {
    pub last: bool,
    pub end: bool,
    /// `R[=code]`.
    pub redirect: Option<u16>,
    pub nocase: bool,
    pub qsa: bool,
    pub qsd: bool,
    pub qsl: bool,
    pub noescape: bool,
    pub forbidden: bool,
    pub gone: bool,
    pub proxy: bool,
    pub passthrough: bool,
    pub chain: bool,
    pub skip: u32,
    /// `N[=max]`.
    pub next: Option<u32>,
    /// `E=var:val`, `E=!var` (value `None`).
    pub env: Vec<(String, Option<String>)>,
    pub ctype: Option<String>,
    pub handler: Option<String>,
    /// `CO=` specs, expanded at run time.
    pub cookies: Vec<String>,
    pub discard_path_info: bool,
    /// `B`: escape back-references.
    pub escape_backrefs: bool,
    pub nosubreq: bool,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub pattern: crate::config::pcre::Regex,
    pub negate: bool,
    /// `-` = no substitution.
    pub subst: String,
    pub flags: Flags,
    pub conds: Vec<Cond>,
    /// The directive as written, for the trace log.
    pub text: String,
}

/// A RewriteMap source.
#[derive(Clone, Debug)]
pub enum Map {
    Txt(PathBuf),
    Rnd(PathBuf),
    ToLower,
    ToUpper,
    Escape,
    Unescape,
}

/// Splits a RAW_ARGS line into words the way mod_rewrite's `parseargline` does: blanks
/// separate, double or single quotes group, a backslash protects the next character.
pub fn split_args(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let quote = match b[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                Some(q)
            }
            _ => None,
        };
        let mut w = Vec::new();
        while i < b.len() {
            let c = b[i];
            match quote {
                Some(q) if c == q => {
                    i += 1;
                    break;
                }
                None if c.is_ascii_whitespace() => break,
                _ => {}
            }
            if c == b'\\' && i + 1 < b.len() {
                // The engine sees the backslash too (it escapes `$` and `%` there); only a
                // quote or a blank loses it.
                let n = b[i + 1];
                if n == b'"' || n == b'\'' || n.is_ascii_whitespace() {
                    w.push(n);
                    i += 2;
                    continue;
                }
                w.push(c);
                w.push(n);
                i += 2;
                continue;
            }
            w.push(c);
            i += 1;
        }
        out.push(String::from_utf8_lossy(&w).into_owned());
    }
    out
}

/// The conf being filled: per-dir in sections and `.htaccess`, the server's otherwise.
fn target<'a>(ctx: &'a mut ApplyCtx<'_>) -> &'a mut RewriteConf {
    let per_dir = ctx.context == C::DIRECTORY || ctx.context == C::HTACCESS;
    let slot = if per_dir {
        &mut ctx.dir.rewrite
    } else {
        &mut ctx.dir.rewrite_server
    };
    let conf = Arc::make_mut(slot.get_or_insert_with(Default::default));
    if per_dir && conf.origin.is_none() {
        conf.origin = Some(ctx.node.span.clone());
        conf.htaccess = ctx.context == C::HTACCESS;
    }
    conf
}

fn engine(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let on = super::flag(ctx);
    ctx.mark("rewrite");
    target(ctx).engine = Some(on);
    Ok(())
}

fn options(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let mut bits = 0;
    for a in &ctx.node.args {
        let o = match a.to_ascii_lowercase().as_str() {
            "inherit" => opt::INHERIT,
            "inheritbefore" => opt::INHERIT_BEFORE,
            "inheritdown" => opt::INHERIT_DOWN,
            "inheritdownbefore" => opt::INHERIT_DOWN_BEFORE,
            "ignoreinherit" => opt::IGNORE_INHERIT,
            "allownoslash" => opt::ALLOW_NO_SLASH,
            "allowanyuri" => opt::ALLOW_ANY_URI,
            "mergebase" => opt::MERGE_BASE,
            "ignorecontextinfo" => opt::IGNORE_CONTEXT_INFO,
            "legacyprefixdocroot" => opt::LEGACY_PREFIX_DOCROOT,
            "longurloptimization" => opt::LONG_URL_OPTIMIZATION,
            s if s.starts_with("maxredirects=") => {
                return Err("RewriteOptions: MaxRedirects option has been removed in favor of the global LimitInternalRecursion directive and will be ignored.".into());
            }
            _ => return Err(format!("RewriteOptions: unknown option '{a}'")),
        };
        bits |= o;
    }
    ctx.mark("rewrite");
    let t = target(ctx);
    t.options = Some(t.options.unwrap_or(0) | bits);
    Ok(())
}

fn base(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    if !(ctx.context == C::DIRECTORY || ctx.context == C::HTACCESS) {
        return Err("RewriteBase: only valid in per-directory config files".into());
    }
    let a = ctx.arg(0).to_string();
    if a.is_empty() {
        return Err("RewriteBase: empty URL not allowed".into());
    }
    if !a.starts_with('/') {
        return Err("RewriteBase: argument is not a valid URL".into());
    }
    target(ctx).base = Some(a);
    Ok(())
}

fn parse_flags(s: &str, what: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let inner = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| format!("{what}: bad flag delimiters"))?;
    let mut out = Vec::new();
    for f in inner.split(',') {
        let f = f.trim();
        if f.is_empty() {
            continue;
        }
        match f.split_once('=') {
            Some((k, v)) => out.push((k.to_ascii_lowercase(), Some(v.to_string()))),
            None => out.push((f.to_ascii_lowercase(), None)),
        }
    }
    Ok(out)
}

fn regex(pattern: &str, nocase: bool, what: &str) -> Result<Regex, String> {
    Regex::with_nocase(pattern, nocase).map_err(|e| match e {
        RegexError::Invalid { .. } => {
            format!("{what}: cannot compile regular expression '{pattern}'")
        }
        RegexError::Unsupported { .. } => format!("{what}: {e}"),
    })
}

fn cond(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let words = split_args(&ctx.node.raw_args);
    if words.len() < 2 || words.len() > 3 {
        return Err("RewriteCond: bad argument line '".to_string() + &ctx.node.raw_args + "'");
    }
    let (mut nocase, mut or, mut novary) = (false, false, false);
    if let Some(f) = words.get(2) {
        for (k, _) in parse_flags(f, "RewriteCond")? {
            match k.as_str() {
                "nc" | "nocase" => nocase = true,
                "or" | "ornext" => or = true,
                "nv" | "novary" => novary = true,
                _ => return Err(format!("RewriteCond: unknown flag '{k}'")),
            }
        }
    }
    let mut pat = words[1].as_str();
    let negate = match pat.strip_prefix('!') {
        Some(p) => {
            pat = p;
            true
        }
        None => false,
    };
    let test = if pat.len() == 2 && pat.starts_with('-') && "dfslLhxFUe".contains(&pat[1..]) {
        CondTest::File(pat.as_bytes()[1] as char)
    } else if let Some((op, rest)) = [
        ("-eq", StrOp::Eq),
        ("-ne", StrOp::Ne),
        ("-lt", StrOp::Lt),
        ("-le", StrOp::Le),
        ("-gt", StrOp::Gt),
        ("-ge", StrOp::Ge),
    ]
    .iter()
    .find_map(|(p, op)| pat.strip_prefix(p).map(|r| (*op, r)))
    {
        CondTest::Int(op, rest.to_string())
    } else if let Some(rest) = pat.strip_prefix("<=") {
        CondTest::Str(StrOp::Le, rest.to_string())
    } else if let Some(rest) = pat.strip_prefix(">=") {
        CondTest::Str(StrOp::Ge, rest.to_string())
    } else if let Some(rest) = pat.strip_prefix('=') {
        CondTest::Str(StrOp::Eq, rest.to_string())
    } else if let Some(rest) = pat.strip_prefix('<') {
        CondTest::Str(StrOp::Lt, rest.to_string())
    } else if let Some(rest) = pat.strip_prefix('>') {
        CondTest::Str(StrOp::Gt, rest.to_string())
    } else if pat.eq_ignore_ascii_case("expr") {
        return Err("RewriteCond: expr conditions are not supported by mpmd".into());
    } else {
        CondTest::Regex(regex(pat, nocase, "RewriteCond")?)
    };
    let c = Cond {
        input: words[0].clone(),
        test,
        negate,
        or,
        nocase,
        novary,
        text: ctx.node.raw_args.clone(),
    };
    ctx.mark("rewrite");
    target(ctx).pending.push(c);
    Ok(())
}

fn redirect_code(v: Option<&str>) -> Result<u16, String> {
    Ok(match v.map(str::to_ascii_lowercase).as_deref() {
        None | Some("temp") => 302,
        Some("permanent") => 301,
        Some("seeother") => 303,
        Some(n) => match n.parse::<u16>() {
            Ok(c) if (300..400).contains(&c) || (400..600).contains(&c) => c,
            _ => {
                return Err(format!(
                    "RewriteRule: invalid HTTP response code '{n}' for flag 'R'"
                ))
            }
        },
    })
}

fn rule(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let words = split_args(&ctx.node.raw_args);
    if words.len() < 2 || words.len() > 3 {
        return Err("RewriteRule: bad argument line '".to_string() + &ctx.node.raw_args + "'");
    }
    let mut flags = Flags::default();
    if let Some(f) = words.get(2) {
        for (k, v) in parse_flags(f, "RewriteRule")? {
            let v = v.as_deref();
            match k.as_str() {
                "l" | "last" => flags.last = true,
                "end" => flags.end = true,
                "r" | "redirect" => flags.redirect = Some(redirect_code(v)?),
                "nc" | "nocase" => flags.nocase = true,
                "qsa" | "qsappend" => flags.qsa = true,
                "qsd" | "qsdiscard" => flags.qsd = true,
                "qsl" | "qslast" => flags.qsl = true,
                "ne" | "noescape" => flags.noescape = true,
                "f" | "forbidden" => flags.forbidden = true,
                "g" | "gone" => flags.gone = true,
                "p" | "proxy" => flags.proxy = true,
                "pt" | "passthrough" => flags.passthrough = true,
                "c" | "chain" => flags.chain = true,
                "s" | "skip" => {
                    flags.skip = v
                        .and_then(|n| n.parse().ok())
                        .ok_or("RewriteRule: the S flag needs a number")?;
                }
                "n" | "next" => {
                    flags.next = Some(match v {
                        Some(n) => n.parse().map_err(|_| {
                            format!("RewriteRule: invalid number '{n}' for flag 'N'")
                        })?,
                        None => 32000,
                    })
                }
                "e" | "env" => {
                    let v = v.ok_or("RewriteRule: the E flag needs var:value")?;
                    match v.strip_prefix('!') {
                        Some(name) => flags.env.push((name.to_string(), None)),
                        None => {
                            let (n, val) = v.split_once(':').unwrap_or((v, ""));
                            flags.env.push((n.to_string(), Some(val.to_string())));
                        }
                    }
                }
                "t" | "type" => flags.ctype = v.map(str::to_string),
                "h" | "handler" => flags.handler = v.map(str::to_string),
                "co" | "cookie" => {
                    let v = v.ok_or("RewriteRule: the CO flag needs name:value:domain")?;
                    flags.cookies.push(v.to_string());
                }
                "dpi" | "discardpath" | "discardpathinfo" => flags.discard_path_info = true,
                "b" => flags.escape_backrefs = true,
                "ns" | "nosubreq" => flags.nosubreq = true,
                "bnp" | "backrefnoplus" | "bctls" | "bne" | "unsafeallow3f"
                | "unsafeprefixstat" => {}
                _ => return Err(format!("RewriteRule: unknown flag '{k}'")),
            }
        }
    }
    let mut pat = words[0].as_str();
    let negate = match pat.strip_prefix('!') {
        Some(p) => {
            pat = p;
            true
        }
        None => false,
    };
    let pattern = regex(pat, flags.nocase, "RewriteRule")?;
    ctx.mark("rewrite");
    let text = ctx.node.raw_args.clone();
    let t = target(ctx);
    let conds = std::mem::take(&mut t.pending);
    t.rules.push(Arc::new(Rule {
        pattern,
        negate,
        subst: words[1].clone(),
        flags,
        conds,
        text,
    }));
    Ok(())
}

fn map(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let name = ctx.arg(0).to_string();
    let spec = ctx.arg(1).to_string();
    let (kind, src) = spec
        .split_once(':')
        .ok_or_else(|| format!("RewriteMap: bad map:ext option '{spec}'"))?;
    let file = |s: &str| -> Result<PathBuf, String> {
        let p = PathBuf::from(s);
        let p = if p.is_absolute() {
            p
        } else {
            ctx.global.server_root.join(p)
        };
        if !p.exists() {
            return Err(format!(
                "RewriteMap: file for map {name} not found:{}",
                p.display()
            ));
        }
        Ok(p)
    };
    let m = match kind.to_ascii_lowercase().as_str() {
        "txt" => Map::Txt(file(src)?),
        "rnd" => Map::Rnd(file(src)?),
        "int" => match src.to_ascii_lowercase().as_str() {
            "tolower" => Map::ToLower,
            "toupper" => Map::ToUpper,
            "escape" => Map::Escape,
            "unescape" => Map::Unescape,
            _ => return Err(format!("RewriteMap: internal map not found:{src}")),
        },
        "prg" | "dbm" | "dbd" | "fastdbd" => {
            return Err(format!(
                "RewriteMap: {kind}: maps are not supported by mpmd (use txt:, rnd: or int:)"
            ))
        }
        _ => return Err(format!("RewriteMap: bad map:ext option '{spec}'")),
    };
    ctx.mark("rewrite");
    let t = target(ctx);
    t.maps.retain(|(n, _)| *n != name);
    t.maps.push((name, Arc::new(m)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_split_like_mod_rewrite() {
        assert_eq!(
            split_args(r#"^/a\ b$ "/x y" [L,R=301]"#),
            vec!["^/a b$", "/x y", "[L,R=301]"]
        );
        assert_eq!(split_args(r"^(.*)$ \$1"), vec!["^(.*)$", r"\$1"]);
    }

    #[test]
    fn flags_parse() {
        let f = parse_flags("[L,R=301,E=a:b]", "RewriteRule").unwrap();
        assert_eq!(f[1], ("r".to_string(), Some("301".to_string())));
        assert!(parse_flags("L", "RewriteRule").is_err());
        assert_eq!(redirect_code(Some("permanent")).unwrap(), 301);
        assert!(redirect_code(Some("200")).is_err());
    }
}
