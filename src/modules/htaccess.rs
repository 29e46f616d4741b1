//! `.htaccess` files (AccessFileName) for directories whose AllowOverride is not None: read
//! with the config layer's `.htaccess` walk, checked against the AllowOverride classes, and
//! cached per thread by path, mtime and size. A file that breaks the rules makes the request a
//! 500, as in httpd ("… not allowed here").

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::conf::Node;
use crate::config::directives::core_dir::over;
use crate::config::{DirConf, Section, ServerConf, ServerConfig};

/// One parsed `.htaccess`.
#[derive(Debug)]
pub struct HtFile {
    /// Unique per parse: part of the merge-cache key.
    pub generation: u64,
    pub conf: DirConf,
    pub sections: Vec<Section>,
    /// Set when the file may not be used: the request gets a 500.
    pub error: Option<String>,
}

static GENERATION: AtomicU64 = AtomicU64::new(1);

type Cache = HashMap<PathBuf, (i64, i64, u64, Arc<HtFile>)>;

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(HashMap::new());
}

/// The AllowOverride class of a directive (httpd's `req_override` of the command).
fn class(name: &str) -> u16 {
    match name.to_ascii_lowercase().as_str() {
        "require"
        | "requireall"
        | "requireany"
        | "requirenone"
        | "authtype"
        | "authname"
        | "authmerging"
        | "authuserfile"
        | "authgroupfile"
        | "authbasicprovider"
        | "authzsendforbiddenonfailure"
        | "satisfy" => over::AUTHCFG,
        "order" | "allow" | "deny" | "limit" | "limitexcept" => over::LIMIT,
        "options" => over::OPTIONS,
        "directoryindex" | "indexoptions" | "indexignore" | "indexignorereset"
        | "indexorderdefault" | "indexstylesheet" | "indexheadinsert" | "headername"
        | "readmename" | "addicon" | "addiconbytype" | "addiconbyencoding" | "addalt"
        | "addaltbytype" | "addaltbyencoding" | "adddescription" | "defaulticon"
        | "directoryslash" | "fallbackresource" | "expiresactive" | "expiresdefault"
        | "expiresbytype" => over::INDEXES,
        // Everything else that .htaccess may hold at all is FileInfo (AddType, ErrorDocument,
        // Header, Redirect, SetEnv, SetHandler, RewriteRule …); LimitRequestBody, FileETag
        // and friends are OR_ALL in httpd: any class allows them.
        "limitrequestbody"
        | "fileetag"
        | "maxranges"
        | "maxrangeoverlaps"
        | "maxrangereversals"
        | "limitxmlrequestbody"
        | "serversignature"
        | "contentdigest"
        | "enablesendfile"
        | "enablemmap"
        | "addcharset"
        | "adddefaultcharset" => over::ALL,
        _ => over::FILEINFO,
    }
}

fn check_overrides(nodes: &[Node], allowed: u16) -> Option<String> {
    for n in nodes {
        let name = n.name.as_str();
        let is_container = matches!(
            name.to_ascii_lowercase().as_str(),
            "files" | "filesmatch" | "if" | "elseif" | "else" | "ifmodule" | "ifdefine"
        );
        if !is_container && class(name) & allowed == 0 {
            return Some(format!(
                "{}: {name} not allowed here",
                n.span.file.display()
            ));
        }
        if let Some(children) = &n.block {
            if let Some(e) = check_overrides(children, allowed) {
                return Some(e);
            }
        }
    }
    None
}

/// Our AllowOverride bits as the config walk's `Override` classes.
fn to_override(allowed: u16) -> crate::config::overrides::Override {
    use crate::config::overrides::Override as O;
    let mut b = 0u8;
    for (ours, theirs) in [
        (over::AUTHCFG, O::AUTH_CONFIG),
        (over::FILEINFO, O::FILE_INFO),
        (over::INDEXES, O::INDEXES),
        (over::LIMIT, O::LIMIT),
        (over::OPTIONS, O::OPTIONS),
    ] {
        if allowed & ours != 0 {
            b |= theirs.0;
        }
    }
    O(b)
}

fn parse(
    path: &Path,
    text: &str,
    config: &ServerConfig,
    server: &ServerConf,
    allowed: u16,
) -> HtFile {
    let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
    let fail = |e: String| HtFile {
        generation,
        conf: DirConf::default(),
        sections: Vec::new(),
        error: Some(e),
    };
    let state = crate::conf::expand::ReadState {
        server_root: config.server_root.clone(),
        loaded_modules: config.modules.clone(),
        defines: config.defines.clone(),
    };
    let nodes = match crate::conf::expand::expand_htaccess(
        text,
        path,
        &state,
        &crate::config::registry::Catalog,
    ) {
        Ok((nodes, _)) => nodes,
        Err(e) => return fail(e.to_string()),
    };
    if let Some(e) = check_overrides(&nodes, allowed) {
        return fail(e);
    }
    let (conf, sections, errors) =
        crate::config::build::walk_htaccess(&nodes, config, server, to_override(allowed));
    if let Some(e) = errors.first() {
        return fail(e.to_string());
    }
    HtFile {
        generation,
        conf,
        sections,
        error: None,
    }
}

/// The `.htaccess` of `dir` (an absolute directory path), if one exists.
pub fn load(
    dir: &str,
    allowed: u16,
    config: &ServerConfig,
    server: &ServerConf,
) -> Option<Arc<HtFile>> {
    for name in &server.access_file_names {
        let mut p = PathBuf::from(dir);
        p.push(name);
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let key = (meta.mtime(), meta.mtime_nsec(), meta.size());
        let hit = CACHE.with(|c| {
            c.borrow()
                .get(&p)
                .filter(|e| (e.0, e.1, e.2) == key)
                .map(|e| e.3.clone())
        });
        if let Some(h) = hit {
            return Some(h);
        }
        let ht = match std::fs::read_to_string(&p) {
            Ok(text) => parse(&p, &text, config, server, allowed),
            Err(e) => HtFile {
                generation: GENERATION.fetch_add(1, Ordering::Relaxed),
                conf: DirConf::default(),
                sections: Vec::new(),
                error: Some(format!("{}: unable to read: {e}", p.display())),
            },
        };
        let ht = Arc::new(ht);
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() > 1024 {
                c.clear();
            }
            c.insert(p, (key.0, key.1, key.2, ht.clone()));
        });
        return Some(ht);
    }
    None
}
