//! A small stand-in for `conf::expand` until the real reader lands on main: lines and
//! continuations, words and quotes, sections, Include/IncludeOptional (globs, directories),
//! Define/UnDefine/`${VAR}`, the `<If*>` read-time sections and LoadModule. It exists only so
//! that `config::load` and `mpmd -t` work end to end today; `load` switches to `conf::expand`
//! as soon as it is there.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::conf::{ConfError, ModuleCatalog, Node, Span};

pub struct Tree {
    pub nodes: Vec<Node>,
    pub modules: Vec<&'static str>,
    pub server_root: PathBuf,
    pub defines: Vec<(String, Option<String>)>,
    pub includes: Vec<(usize, u32, PathBuf)>,
    pub warnings: Vec<String>,
}

struct Reader<'a> {
    cat: &'a dyn ModuleCatalog,
    server_root: PathBuf,
    defines: Vec<(String, Option<String>)>,
    modules: Vec<&'static str>,
    includes: Vec<(usize, u32, PathBuf)>,
    warnings: Vec<String>,
}

fn err(span: &Span, msg: impl Into<String>) -> ConfError {
    ConfError {
        chain: vec![span.clone()],
        message: msg.into(),
    }
}

/// `ap_getword_conf`.
pub fn words(line: &str) -> Vec<String> {
    let b = line.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let mut w = Vec::new();
        if b[i] == b'"' || b[i] == b'\'' {
            let q = b[i];
            i += 1;
            while i < b.len() && b[i] != q {
                if b[i] == b'\\' && i + 1 < b.len() && (b[i + 1] == q || b[i + 1] == b'\\') {
                    i += 1;
                }
                w.push(b[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() {
                if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] == b'\\' {
                    i += 1;
                }
                w.push(b[i]);
                i += 1;
            }
        }
        out.push(String::from_utf8_lossy(&w).into_owned());
    }
    out
}

impl Reader<'_> {
    fn subst(&mut self, line: &str) -> String {
        let mut out = String::new();
        let mut rest = line;
        while let Some(p) = rest.find("${") {
            out.push_str(&rest[..p]);
            let after = &rest[p + 2..];
            match after.find('}') {
                Some(e) => {
                    let name = &after[..e];
                    let val = self
                        .defines
                        .iter()
                        .rev()
                        .find(|(n, _)| n == name)
                        .and_then(|(_, v)| v.clone())
                        .or_else(|| std::env::var(name).ok());
                    match val {
                        Some(v) => out.push_str(&v),
                        None => {
                            if !name.contains(':') {
                                self.warnings.push(format!(
                                    "AH00111: Config variable ${{{name}}} is not defined"
                                ));
                            }
                            out.push_str(&rest[p..p + 3 + e]);
                        }
                    }
                    rest = &after[e + 1..];
                }
                None => {
                    out.push_str(&rest[p..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn rel(&self, p: &str) -> PathBuf {
        if Path::new(p).is_absolute() {
            PathBuf::from(p)
        } else {
            self.server_root.join(p)
        }
    }

    fn read_file(&mut self, path: &Path, depth: usize) -> Result<Vec<Node>, ConfError> {
        if depth > 128 {
            return Err(ConfError {
                chain: vec![],
                message: "Exceeded maximum include depth of 128, There appears to be a recursion."
                    .into(),
            });
        }
        let text = std::fs::read(path).map_err(|e| ConfError {
            chain: vec![],
            message: format!(
                "Could not open configuration file {}: {}",
                path.display(),
                crate::config::load::io_reason(&e)
            ),
        })?;
        let text = String::from_utf8_lossy(&text).into_owned();
        let file = Arc::new(path.to_path_buf());
        let mut lines = Vec::new();
        let mut acc = String::new();
        let mut start = 0u32;
        for (i, raw) in text.split('\n').enumerate() {
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if acc.is_empty() {
                start = i as u32 + 1;
            }
            if let Some(head) = raw.strip_suffix('\\') {
                acc.push_str(head);
                continue;
            }
            acc.push_str(raw);
            lines.push((start, std::mem::take(&mut acc)));
        }
        if !acc.is_empty() {
            lines.push((start, acc));
        }
        let mut pos = 0;
        let nodes = self.block(&file, &lines, &mut pos, None, depth)?;
        Ok(nodes)
    }

    fn block(
        &mut self,
        file: &Arc<PathBuf>,
        lines: &[(u32, String)],
        pos: &mut usize,
        open: Option<(&str, &Span)>,
        depth: usize,
    ) -> Result<Vec<Node>, ConfError> {
        let mut out = Vec::new();
        while *pos < lines.len() {
            let (no, raw) = &lines[*pos];
            *pos += 1;
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let span = Span {
                file: file.clone(),
                line: *no,
            };
            let line = self.subst(t);
            let line = line.trim().to_string();
            if let Some(close) = line.strip_prefix("</") {
                let name = close.trim_end_matches('>').trim();
                return match open {
                    Some((o, _)) if o.eq_ignore_ascii_case(name) => Ok(out),
                    Some((o, _)) => Err(err(&span, format!("Expected </{o}> but saw </{name}>"))),
                    None => Err(err(
                        &span,
                        format!("</{name}> without matching <{name}> section"),
                    )),
                };
            }
            if let Some(sec) = line.strip_prefix('<') {
                let name_end = sec
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(sec.len());
                let name = sec[..name_end].to_string();
                let rest = sec[name_end..].trim();
                let Some(arg) = rest.strip_suffix('>') else {
                    return Err(err(
                        &span,
                        format!("<{name}> directive missing closing '>'"),
                    ));
                };
                let arg = arg.trim().to_string();
                let lname = name.to_ascii_lowercase();
                if lname.starts_with("if") && lname != "if" {
                    let truth = self.condition(&lname, &arg, &span)?;
                    if truth {
                        let inner = self.block(file, lines, pos, Some((&name, &span)), depth)?;
                        out.extend(inner);
                    } else {
                        self.skip(lines, pos, &name, &span)?;
                    }
                    continue;
                }
                let children = self.block(file, lines, pos, Some((&name, &span)), depth)?;
                out.push(Node {
                    name,
                    args: words(&arg),
                    raw_args: arg,
                    span,
                    block: Some(children),
                });
                continue;
            }
            let ws = words(&line);
            let name = ws[0].clone();
            let args = ws[1..].to_vec();
            let raw_args = line[line.find(char::is_whitespace).unwrap_or(line.len())..]
                .trim()
                .to_string();
            match name.to_ascii_lowercase().as_str() {
                "include" | "includeoptional" => {
                    let optional = name.eq_ignore_ascii_case("includeoptional");
                    let Some(pat) = args.first() else {
                        return Err(err(&span, format!("{name} takes one argument")));
                    };
                    let files = self.glob(pat, optional).map_err(|m| err(&span, m))?;
                    for f in files {
                        self.includes.push((depth + 1, span.line, f.clone()));
                        match self.read_file(&f, depth + 1) {
                            Ok(nodes) => out.extend(nodes),
                            Err(mut e) => {
                                e.chain.insert(0, span.clone());
                                return Err(e);
                            }
                        }
                    }
                    continue;
                }
                "define" => {
                    if let Some(n) = args.first() {
                        if n.contains(':') {
                            return Err(err(&span, "Variable name must not contain ':'"));
                        }
                        self.defines.push((n.clone(), args.get(1).cloned()));
                    }
                }
                "undefine" => {
                    if let Some(n) = args.first() {
                        self.defines.retain(|(d, _)| d != n);
                    }
                }
                "serverroot" => {
                    if let Some(r) = args.first() {
                        let p = self.rel(r);
                        if !p.is_dir() {
                            return Err(err(&span, "ServerRoot must be a valid directory"));
                        }
                        self.server_root = p;
                    }
                }
                "loadmodule" => {
                    if let Some(id) = args.first() {
                        match self.cat.module_by_identifier(id) {
                            Some(m) if self.cat.static_modules().contains(&m) => {
                                return Err(err(
                                    &span,
                                    format!("module {id} is built-in and can't be loaded"),
                                ));
                            }
                            Some(m) => {
                                if self.modules.contains(&m) {
                                    self.warnings.push(format!(
                                        "AH01574: module {id} is already loaded, skipping"
                                    ));
                                } else {
                                    self.modules.push(m);
                                }
                            }
                            None => {
                                return Err(err(&span, format!("Cannot load {} into server: mpmd has no built-in module {id}", args.get(1).map(String::as_str).unwrap_or(""))));
                            }
                        }
                    }
                }
                _ => {}
            }
            out.push(Node {
                name,
                args,
                raw_args,
                span,
                block: None,
            });
        }
        if let Some((o, s)) = open {
            return Err(ConfError {
                chain: vec![],
                message: format!("{}:{}: <{o}> was not closed.", s.file.display(), s.line),
            });
        }
        Ok(out)
    }

    fn skip(
        &self,
        lines: &[(u32, String)],
        pos: &mut usize,
        name: &str,
        span: &Span,
    ) -> Result<(), ConfError> {
        let mut depth = 1;
        while *pos < lines.len() {
            let t = lines[*pos].1.trim();
            *pos += 1;
            if t.starts_with("</") {
                depth -= 1;
                if depth == 0 {
                    return Ok(());
                }
            } else if t.starts_with('<') {
                depth += 1;
            }
        }
        Err(ConfError {
            chain: vec![],
            message: format!(
                "{}:{}: <{name}> was not closed.",
                span.file.display(),
                span.line
            ),
        })
    }

    fn condition(&self, lname: &str, arg: &str, _span: &Span) -> Result<bool, ConfError> {
        let (neg, a) = match arg.strip_prefix('!') {
            Some(r) => (true, r.trim()),
            None => (false, arg),
        };
        let a = a.trim_matches('"');
        let v = match lname {
            "ifmodule" => self.cat.module_by_any_name(a).is_some_and(|m| {
                self.modules.contains(&m) || self.cat.static_modules().contains(&m)
            }),
            "ifdefine" => self.defines.iter().any(|(d, _)| d == a),
            "iffile" => self.rel(a).exists(),
            "ifdirective" => self.cat.directive_module(a).is_some_and(|m| {
                self.modules.contains(&m) || self.cat.static_modules().contains(&m)
            }),
            "ifsection" => self.cat.section_module(a).is_some(),
            "ifversion" => true,
            _ => false,
        };
        Ok(v != neg)
    }

    fn glob(&self, pat: &str, optional: bool) -> Result<Vec<PathBuf>, String> {
        let path = self.rel(pat);
        let s = path.to_string_lossy().into_owned();
        if s.contains(['*', '?', '[']) {
            let mut v: Vec<PathBuf> = glob::glob(&s)
                .map_err(|e| e.to_string())?
                .filter_map(Result::ok)
                .filter(|p| p.is_file() || p.is_dir())
                .collect();
            v.sort();
            if v.is_empty() && !optional {
                let (dir, base) = s.rsplit_once('/').unwrap_or(("", &s));
                return Err(format!("Include/IncludeOptional: No matches for the wildcard '{base}' in '{dir}', failing"));
            }
            let mut out = Vec::new();
            for p in v {
                out.extend(expand_dir(&p));
            }
            return Ok(out);
        }
        if !path.exists() {
            if optional {
                return Ok(vec![]);
            }
            return Err(format!(
                "Could not open configuration file {}: No such file or directory",
                path.display()
            ));
        }
        Ok(expand_dir(&path))
    }
}

fn expand_dir(p: &Path) -> Vec<PathBuf> {
    if !p.is_dir() {
        return vec![p.to_path_buf()];
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries.iter().flat_map(|e| expand_dir(e)).collect()
}

/// Reads `main` (with `-C` before and `-c` after) and expands it.
pub fn read(
    main: &Path,
    server_root: &Path,
    defines: &[String],
    pre: &[String],
    post: &[String],
    cat: &dyn ModuleCatalog,
) -> Result<Tree, ConfError> {
    let mut r = Reader {
        cat,
        server_root: server_root.to_path_buf(),
        defines: defines.iter().map(|d| (d.clone(), None)).collect(),
        modules: Vec::new(),
        includes: Vec::new(),
        warnings: Vec::new(),
    };
    let mut nodes = Vec::new();
    let cmdline = Arc::new(PathBuf::from("-C/-c directives"));
    let pre_lines: Vec<(u32, String)> = pre
        .iter()
        .enumerate()
        .map(|(i, l)| (i as u32 + 1, l.clone()))
        .collect();
    let mut pos = 0;
    nodes.extend(r.block(&cmdline, &pre_lines, &mut pos, None, 0)?);
    nodes.extend(r.read_file(main, 0)?);
    let post_lines: Vec<(u32, String)> = post
        .iter()
        .enumerate()
        .map(|(i, l)| (i as u32 + 1, l.clone()))
        .collect();
    let mut pos = 0;
    nodes.extend(r.block(&cmdline, &post_lines, &mut pos, None, 0)?);
    let mut modules: Vec<&'static str> = cat.static_modules().to_vec();
    modules.extend(r.modules);
    Ok(Tree {
        nodes,
        modules,
        server_root: r.server_root,
        defines: r.defines,
        includes: r.includes,
        warnings: r.warnings,
    })
}
