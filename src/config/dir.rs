//! Per-directory settings (`<Directory>`, `<Location>`, `<Files>`, `.htaccess` level) and how
//! two of them merge. Every field is `None`/empty when the section did not set it, so a merge
//! can tell "inherit" from "set". Server-level-only settings of the same modules (Alias,
//! Redirect at server level) live here too, in the server's own `dir`.

use std::net::IpAddr;
use std::sync::Arc;

/// `Options` bits.
pub mod opt {
    pub const INDEXES: u16 = 1;
    pub const INCLUDES: u16 = 2;
    pub const SYM_LINKS: u16 = 4;
    pub const EXECCGI: u16 = 8;
    pub const MULTI: u16 = 16;
    pub const SYM_OWNER: u16 = 32;
    pub const INCNOEXEC: u16 = 64;
    pub const ALL: u16 = INDEXES | INCLUDES | SYM_LINKS | EXECCGI;
}

/// `Options` as written: absolute, or `+`/`-` changes to what is inherited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub set: Option<u16>,
    pub add: u16,
    pub remove: u16,
}

impl Options {
    /// Applies these options on top of the inherited bits.
    pub fn apply(&self, parent: u16) -> u16 {
        match self.set {
            Some(s) => s,
            None => (parent & !self.remove) | self.add,
        }
    }
    pub fn merge(&self, over: &Options) -> Options {
        match over.set {
            Some(_) => *over,
            None => {
                let base = self.apply(0);
                // Keep "absolute" when the base was absolute, else accumulate the changes.
                if self.set.is_some() {
                    Options {
                        set: Some(over.apply(base)),
                        add: 0,
                        remove: 0,
                    }
                } else {
                    Options {
                        set: None,
                        add: (self.add & !over.remove) | over.add,
                        remove: (self.remove & !over.add) | over.remove,
                    }
                }
            }
        }
    }
}

/// `SSLOptions` bits.
pub mod ssl_opt {
    pub const STD_ENV_VARS: u16 = 1;
    pub const EXPORT_CERT_DATA: u16 = 2;
    pub const FAKE_BASIC_AUTH: u16 = 4;
    pub const STRICT_REQUIRE: u16 = 8;
    pub const OPT_RENEGOTIATE: u16 = 16;
    pub const LEGACY_DN_FORMAT: u16 = 32;
}

/// `FileETag` bits.
pub mod etag {
    pub const INODE: u8 = 1;
    pub const MTIME: u8 = 2;
    pub const SIZE: u8 = 4;
    pub const DIGEST: u8 = 8;
    pub const NONE: u8 = 16;
    pub const DEFAULT: u8 = MTIME | SIZE;
}

/// An IP address range for `Require ip` / `Allow from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            _ => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix.min(32)))
                };
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix.min(128)))
                };
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

/// One `Require` provider line.
#[derive(Clone, Debug)]
pub enum Provider {
    All(bool),
    Ip(Vec<IpNet>),
    /// `Require local`.
    Local,
    /// Host names or domain suffixes (needs reverse DNS; we never match without it).
    Host(Vec<String>),
    /// `Require forward-dns`.
    ForwardDns(Vec<String>),
    Env(Vec<String>),
    Method(Vec<String>),
    /// `Require user a b` (mod_authz_user).
    User(Vec<String>),
    /// `Require valid-user` (mod_authz_user).
    ValidUser,
    /// `Require expr …` (mod_authz_core): granted when the expression holds.
    Expr(std::sync::Arc<crate::config::expr::Cond>),
    /// `Require group`, `file-owner`, `file-group`: need features we do not have; never
    /// granted (denied, which is the safe answer).
    Unsupported(String),
}

/// The authorization tree of `Require` and `<RequireAll|Any|None>`.
#[derive(Clone, Debug)]
pub enum Authz {
    Require { negate: bool, provider: Provider },
    All(Vec<Authz>),
    Any(Vec<Authz>),
    None(Vec<Authz>),
}

/// `Order` of mod_access_compat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    DenyAllow,
    AllowDeny,
    MutualFailure,
}

/// One `Allow from` / `Deny from` entry.
#[derive(Clone, Debug)]
pub enum AccessRule {
    All,
    Ip(IpNet),
    Host(String),
    Env { name: String, negate: bool },
}

#[derive(Clone, Debug, Default)]
pub struct AccessCompat {
    pub order: Option<Order>,
    pub allow: Vec<AccessRule>,
    pub deny: Vec<AccessRule>,
}

/// `Header`/`RequestHeader` actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderAction {
    Set,
    Append,
    Add,
    Unset,
    Merge,
    Edit,
    EditAll,
    Echo,
    SetIfEmpty,
    Note,
}

/// An `env=[!]var` condition.
#[derive(Clone, Debug)]
pub struct EnvCond {
    pub name: String,
    pub negate: bool,
}

/// When a `Header` / `RequestHeader` rule applies.
#[derive(Clone, Debug)]
pub enum HeaderCond {
    /// No condition: always (in the late pass).
    None,
    /// `env=[!]var`.
    Env(EnvCond),
    /// `expr=…`, evaluated when the rule would apply.
    Expr(crate::config::expr::Cond),
    /// `early`: applied right after the request is read (httpd's post_read_request),
    /// before it is mapped; never in the late pass.
    Early,
}

/// One `Header` / `RequestHeader` directive.
#[derive(Clone, Debug)]
pub struct HeaderRule {
    pub action: HeaderAction,
    /// `always` (err_headers_out) vs `onsuccess`.
    pub always: bool,
    pub name: String,
    /// The value with mod_headers' format tags (`%D`, `%{VAR}e` …).
    pub value: String,
    /// A value written `expr=…`: an ap_expr string evaluated per request instead.
    pub value_expr: Option<crate::config::expr::Word>,
    /// `edit`/`edit*`: the pattern and its substitution; `echo`: the header-name pattern.
    pub edit: Option<(crate::config::pcre::Regex, String)>,
    pub cond: HeaderCond,
}

/// What `ErrorDocument` points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorDoc {
    /// A local URL path: internal redirect.
    Local(String),
    /// A full URL: 302 redirect.
    Url(String),
    /// A message: sent as the body.
    Text(String),
    /// `ErrorDocument 404 default`.
    Default,
}

/// One `SetEnvIf`-family rule.
#[derive(Clone, Debug)]
pub struct SetEnvIfRule {
    pub test: SetEnvIfTest,
    /// (name, value) — value `None` for `!name` (unset).
    pub vars: Vec<(String, Option<String>)>,
}

/// What a `SetEnvIf`-family rule tests.
#[derive(Clone, Debug)]
pub enum SetEnvIfTest {
    /// `SetEnvIf`, `BrowserMatch` …: a regex over an attribute's value.
    Attribute {
        /// Header name or special attribute (Remote_Addr, Request_URI, Request_Method …).
        attribute: String,
        /// Set when the attribute is a regex over header names.
        attribute_regex: Option<crate::config::pcre::Regex>,
        regex: crate::config::pcre::Regex,
    },
    /// `SetEnvIfExpr`: an ap_expr condition.
    Expr(crate::config::expr::Cond),
}

/// `Alias`, `AliasMatch`, `ScriptAlias`, `Redirect*`: server-level URL mapping.
#[derive(Clone, Debug)]
pub enum AliasRule {
    Alias {
        from: String,
        to: String,
    },
    AliasMatch {
        from: crate::config::pcre::Regex,
        to: String,
    },
    Redirect {
        status: u16,
        from: String,
        to: Option<String>,
    },
    RedirectMatch {
        status: u16,
        from: crate::config::pcre::Regex,
        to: Option<String>,
    },
    /// `ScriptAlias`: as `Alias`, and the request's handler is `cgi-script`.
    ScriptAlias {
        from: String,
        to: String,
    },
    /// `ScriptAliasMatch`: as `AliasMatch`, with the handler `cgi-script`.
    ScriptAliasMatch {
        from: crate::config::pcre::Regex,
        to: String,
    },
    /// One-argument `Alias` in a `<Location>`: the file is this string expression's value.
    AliasExpr(super::expr::Word),
    /// One-argument `ScriptAlias` in a `<Location>`: as `AliasExpr`, run as a CGI script.
    ScriptAliasExpr(super::expr::Word),
    /// httpd's expression form of `Redirect` (a lone target in a section, `Redirect gone`):
    /// the target is this string expression's value; `None` for a status without one.
    RedirectExpr {
        status: u16,
        to: Option<super::expr::Word>,
    },
}

/// `IndexOptions` we act on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexOptions {
    pub fancy: Option<bool>,
    pub html_table: Option<bool>,
    pub folders_first: Option<bool>,
    pub suppress_last_modified: Option<bool>,
    pub suppress_size: Option<bool>,
    pub suppress_description: Option<bool>,
    pub suppress_html_preamble: Option<bool>,
    pub ignore_case: Option<bool>,
    pub charset: Option<String>,
}

/// The merged settings that apply to one request.
#[derive(Clone, Debug, Default)]
pub struct DirConf {
    /// `SetHandler`.
    pub handler: Option<String>,
    pub options: Option<Options>,
    /// `SSLOptions` (bits in `ssl_opt`), merged like httpd's: `+`/`-` change what is
    /// inherited, a plain option replaces it.
    pub ssl_options: Option<Options>,
    /// `AllowOverride`: 0 = None.
    pub allow_override: Option<u16>,
    /// `Require` lines of this section (an implicit `<RequireAny>`), as one tree.
    pub authz: Option<Arc<Authz>>,
    /// `AuthMerging`: Off (default) replaces, And/Or combine with the parent's.
    pub auth_merging: Option<u8>,
    pub access_compat: Option<Arc<AccessCompat>>,
    /// `Satisfy Any`.
    pub satisfy_any: Option<bool>,
    pub directory_index: Option<Arc<Vec<String>>>,
    pub directory_slash: Option<bool>,
    /// `FallbackResource`: the URL a request for nothing on disk is redirected to
    /// (`disabled` is kept as given and turns an inherited one off).
    pub fallback_resource: Option<Arc<str>>,
    pub file_etag: Option<(Option<u8>, u8, u8)>,
    pub limit_request_body: Option<u64>,
    pub max_ranges: Option<i64>,
    pub max_range_overlaps: Option<i64>,
    pub max_range_reversals: Option<i64>,
    /// `AddType` etc: (extension without dot, lowercase; value). `None` value = Remove*.
    pub add_type: Vec<(String, Option<String>)>,
    pub add_charset: Vec<(String, Option<String>)>,
    pub add_encoding: Vec<(String, Option<String>)>,
    pub add_language: Vec<(String, Option<String>)>,
    pub add_handler: Vec<(String, Option<String>)>,
    /// The five lists above as hash maps, built on first use when they are long (Debian's
    /// mime.conf has 81 AddLanguage and 47 AddCharset lines). Never carried into a merge.
    pub mime_index: std::sync::OnceLock<Option<Arc<crate::modules::mime::ExtIndex>>>,
    pub force_type: Option<String>,
    pub default_type: Option<String>,
    pub add_default_charset: Option<Option<String>>,
    pub headers: Vec<Arc<HeaderRule>>,
    pub request_headers: Vec<Arc<HeaderRule>>,
    pub error_documents: Vec<(u16, ErrorDoc)>,
    pub setenvif: Vec<Arc<SetEnvIfRule>>,
    pub set_env: Vec<(String, Option<String>)>,
    pub pass_env: Vec<String>,
    /// Server level only.
    pub aliases: Vec<Arc<AliasRule>>,
    pub index_options: Option<IndexOptions>,
    pub index_ignore: Vec<String>,
    pub header_name: Option<String>,
    pub readme_name: Option<String>,
    pub trace_enable: Option<bool>,
    /// `AcceptPathInfo`.
    pub accept_path_info: Option<bool>,
    pub enable_sendfile: Option<bool>,
    /// mod_proxy: `ProxyPass`/`ProxyPassMatch` rules in file order.
    pub proxy_pass: Vec<Arc<crate::config::directives::proxy::ProxyPassRule>>,
    /// `ProxyPassReverse` (path, backend URL).
    pub proxy_reverse: Vec<Arc<(String, String)>>,
    pub proxy_preserve_host: Option<bool>,
    pub proxy_timeout: Option<std::time::Duration>,
    /// `CGIScriptTimeout` / `CGIDScriptTimeout`: the wait for a script's output (else `Timeout`).
    pub cgi_timeout: Option<std::time::Duration>,
    /// `CGIPassAuth`: scripts see `Authorization` (HTTP_AUTHORIZATION).
    pub cgi_pass_auth: Option<bool>,
    /// `RLimitCPU`, `RLimitMEM`, `RLimitNPROC`: the (soft, hard) limits a CGI script starts
    /// with, worked out as httpd does when the directive is read.
    pub rlimit_cpu: Option<(u64, u64)>,
    pub rlimit_mem: Option<(u64, u64)>,
    pub rlimit_nproc: Option<(u64, u64)>,
    pub proxy_add_headers: Option<bool>,
    /// mod_rewrite in `<Directory>`/`.htaccess` (the fixups phase).
    pub rewrite: Option<Arc<crate::config::directives::rewrite::RewriteConf>>,
    /// mod_rewrite at server/vhost level (the URL-to-filename phase).
    pub rewrite_server: Option<Arc<crate::config::directives::rewrite::RewriteConf>>,
    /// mod_auth_basic / mod_authn_file / mod_authn_core.
    pub auth: Option<Arc<crate::config::directives::auth::AuthConf>>,
    /// mod_expires.
    pub expires: Option<Arc<crate::config::directives::expires::ExpiresConf>>,
    /// mod_deflate (and the DEFLATE filter named by AddOutputFilterByType/SetOutputFilter).
    pub deflate: Option<Arc<crate::config::directives::deflate::DeflateConf>>,
    /// mod_mime's `DefaultLanguage`.
    pub default_language: Option<String>,
    /// mod_mime's `MultiviewsMatch` (bits in `multiviews_match`).
    pub multiviews_match: Option<u8>,
    /// mod_negotiation's `LanguagePriority`.
    pub language_priority: Option<Arc<Vec<String>>>,
    /// mod_negotiation's `ForceLanguagePriority` (bits in `force_language`).
    pub force_language_priority: Option<u8>,
    /// mod_negotiation's `CacheNegotiatedDocs` (server level).
    pub cache_negotiated_docs: Option<bool>,
}

/// `MultiviewsMatch` bits (`NegotiatedOnly` is none of them).
pub mod multiviews_match {
    pub const HANDLERS: u8 = 1;
    pub const FILTERS: u8 = 2;
    pub const ANY: u8 = 4;
    pub const NEGOTIATED: u8 = 8;
}

/// `ForceLanguagePriority` bits, as httpd's (unset means Prefer).
pub mod force_language {
    pub const NONE: u8 = 1;
    pub const PREFER: u8 = 2;
    pub const FALLBACK: u8 = 4;
}

fn pick<T: Clone>(base: &Option<T>, over: &Option<T>) -> Option<T> {
    over.clone().or_else(|| base.clone())
}

fn concat<T: Clone>(base: &[T], over: &[T]) -> Vec<T> {
    if over.is_empty() {
        return base.to_vec();
    }
    if base.is_empty() {
        return over.to_vec();
    }
    let mut v = Vec::with_capacity(base.len() + over.len());
    v.extend_from_slice(base);
    v.extend_from_slice(over);
    v
}

impl DirConf {
    /// `over` written in a later (more specific) section wins where it set something.
    pub fn merge(&self, over: &DirConf) -> DirConf {
        let authz = match (&self.authz, &over.authz) {
            (Some(b), Some(o)) => match over.auth_merging.unwrap_or(0) {
                1 => Some(Arc::new(Authz::All(vec![(**b).clone(), (**o).clone()]))),
                2 => Some(Arc::new(Authz::Any(vec![(**b).clone(), (**o).clone()]))),
                _ => Some(o.clone()),
            },
            (b, o) => pick(b, o),
        };
        let options = match (&self.options, &over.options) {
            (Some(b), Some(o)) => Some(b.merge(o)),
            (b, o) => pick(b, o),
        };
        let ssl_options = match (&self.ssl_options, &over.ssl_options) {
            (Some(b), Some(o)) => Some(b.merge(o)),
            (b, o) => pick(b, o),
        };
        let file_etag = match (&self.file_etag, &over.file_etag) {
            (Some(b), Some(o)) if o.0.is_none() => {
                let base = b.0.unwrap_or(etag::DEFAULT);
                let bits = ((base | b.1) & !b.2 | o.1) & !o.2;
                Some((Some(bits), 0, 0))
            }
            (b, o) => pick(b, o),
        };
        let mut error_documents = self.error_documents.clone();
        for (code, doc) in &over.error_documents {
            error_documents.retain(|(c, _)| c != code);
            error_documents.push((*code, doc.clone()));
        }
        DirConf {
            handler: pick(&self.handler, &over.handler),
            options,
            ssl_options,
            allow_override: pick(&self.allow_override, &over.allow_override),
            authz,
            auth_merging: pick(&self.auth_merging, &over.auth_merging),
            access_compat: pick(&self.access_compat, &over.access_compat),
            satisfy_any: pick(&self.satisfy_any, &over.satisfy_any),
            directory_index: pick(&self.directory_index, &over.directory_index),
            directory_slash: pick(&self.directory_slash, &over.directory_slash),
            fallback_resource: pick(&self.fallback_resource, &over.fallback_resource),
            file_etag,
            limit_request_body: pick(&self.limit_request_body, &over.limit_request_body),
            max_ranges: pick(&self.max_ranges, &over.max_ranges),
            max_range_overlaps: pick(&self.max_range_overlaps, &over.max_range_overlaps),
            max_range_reversals: pick(&self.max_range_reversals, &over.max_range_reversals),
            add_type: concat(&self.add_type, &over.add_type),
            add_charset: concat(&self.add_charset, &over.add_charset),
            add_encoding: concat(&self.add_encoding, &over.add_encoding),
            add_language: concat(&self.add_language, &over.add_language),
            add_handler: concat(&self.add_handler, &over.add_handler),
            mime_index: Default::default(),
            force_type: pick(&self.force_type, &over.force_type),
            default_type: pick(&self.default_type, &over.default_type),
            add_default_charset: pick(&self.add_default_charset, &over.add_default_charset),
            headers: concat(&self.headers, &over.headers),
            request_headers: concat(&self.request_headers, &over.request_headers),
            error_documents,
            setenvif: concat(&self.setenvif, &over.setenvif),
            set_env: concat(&self.set_env, &over.set_env),
            pass_env: concat(&self.pass_env, &over.pass_env),
            aliases: concat(&self.aliases, &over.aliases),
            index_options: pick(&self.index_options, &over.index_options),
            index_ignore: concat(&self.index_ignore, &over.index_ignore),
            header_name: pick(&self.header_name, &over.header_name),
            readme_name: pick(&self.readme_name, &over.readme_name),
            trace_enable: pick(&self.trace_enable, &over.trace_enable),
            accept_path_info: pick(&self.accept_path_info, &over.accept_path_info),
            enable_sendfile: pick(&self.enable_sendfile, &over.enable_sendfile),
            proxy_pass: concat(&self.proxy_pass, &over.proxy_pass),
            proxy_reverse: concat(&self.proxy_reverse, &over.proxy_reverse),
            proxy_preserve_host: pick(&self.proxy_preserve_host, &over.proxy_preserve_host),
            proxy_timeout: pick(&self.proxy_timeout, &over.proxy_timeout),
            cgi_timeout: pick(&self.cgi_timeout, &over.cgi_timeout),
            cgi_pass_auth: pick(&self.cgi_pass_auth, &over.cgi_pass_auth),
            rlimit_cpu: pick(&self.rlimit_cpu, &over.rlimit_cpu),
            rlimit_mem: pick(&self.rlimit_mem, &over.rlimit_mem),
            rlimit_nproc: pick(&self.rlimit_nproc, &over.rlimit_nproc),
            proxy_add_headers: pick(&self.proxy_add_headers, &over.proxy_add_headers),
            rewrite: match (&self.rewrite, &over.rewrite) {
                (Some(b), Some(o)) => Some(Arc::new(
                    crate::config::directives::rewrite::merge_dir(b, o),
                )),
                (b, o) => pick(b, o),
            },
            rewrite_server: match (&self.rewrite_server, &over.rewrite_server) {
                (Some(b), Some(o)) => Some(Arc::new(
                    crate::config::directives::rewrite::merge_server(b, o),
                )),
                (b, o) => pick(b, o),
            },
            auth: match (&self.auth, &over.auth) {
                (Some(b), Some(o)) => Some(Arc::new(b.merge(o))),
                (b, o) => pick(b, o),
            },
            expires: match (&self.expires, &over.expires) {
                (Some(b), Some(o)) => Some(Arc::new(b.merge(o))),
                (b, o) => pick(b, o),
            },
            deflate: match (&self.deflate, &over.deflate) {
                (Some(b), Some(o)) => Some(Arc::new(b.merge(o))),
                (b, o) => pick(b, o),
            },
            default_language: pick(&self.default_language, &over.default_language),
            multiviews_match: pick(&self.multiviews_match, &over.multiviews_match),
            language_priority: pick(&self.language_priority, &over.language_priority),
            force_language_priority: pick(
                &self.force_language_priority,
                &over.force_language_priority,
            ),
            cache_negotiated_docs: pick(&self.cache_negotiated_docs, &over.cache_negotiated_docs),
        }
    }

    /// The effective `Options` bits (httpd 2.4's default is FollowSymLinks).
    pub fn options_bits(&self) -> u16 {
        self.options
            .map(|o| o.apply(opt::SYM_LINKS))
            .unwrap_or(opt::SYM_LINKS)
    }

    /// The effective `SSLOptions` bits (none by default).
    pub fn ssl_options_bits(&self) -> u16 {
        self.ssl_options.map_or(0, |o| o.apply(0))
    }

    /// The effective `FileETag` bits.
    pub fn etag_bits(&self) -> u8 {
        match self.file_etag {
            None => etag::DEFAULT,
            Some((set, add, rem)) => (set.unwrap_or(etag::DEFAULT) | add) & !rem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_merge_relative_and_absolute() {
        let parent = DirConf {
            options: Some(Options {
                set: Some(opt::SYM_LINKS),
                add: 0,
                remove: 0,
            }),
            ..Default::default()
        };
        let plus = DirConf {
            options: Some(Options {
                set: None,
                add: opt::INDEXES,
                remove: 0,
            }),
            ..Default::default()
        };
        let m = parent.merge(&plus);
        assert_eq!(m.options_bits(), opt::SYM_LINKS | opt::INDEXES);
        let none = DirConf {
            options: Some(Options {
                set: Some(0),
                add: 0,
                remove: 0,
            }),
            ..Default::default()
        };
        assert_eq!(m.merge(&none).options_bits(), 0);
        let minus = DirConf {
            options: Some(Options {
                set: None,
                add: 0,
                remove: opt::SYM_LINKS,
            }),
            ..Default::default()
        };
        assert_eq!(m.merge(&minus).options_bits(), opt::INDEXES);
    }

    #[test]
    fn ipnet_contains() {
        let n = IpNet {
            addr: "192.0.2.0".parse().unwrap(),
            prefix: 24,
        };
        assert!(n.contains("192.0.2.77".parse().unwrap()));
        assert!(!n.contains("127.0.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:192.0.2.1".parse().unwrap()));
    }
}
