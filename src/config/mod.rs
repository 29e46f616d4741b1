//! The config MEANING: the typed `ServerConfig` built from the expanded tree of `conf`.
//! `registry` lists the built-in modules and the directives each declares (Apache's
//! command tables); `build` walks the tree, checks context and arity, and calls each
//! directive's `apply`. Per-module typed settings live in `dir` (per-directory) and in
//! `ServerConf`/`ServerConfig` (per-server, global). The behaviour behind a setting lives
//! in `crate::modules`, `crate::mpm`, `crate::supervisor`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::conf::{Node, Span};

pub mod build;
pub mod checks;
pub mod dir;
pub mod directives;
pub mod docs;
pub mod dump;
pub mod expr;
pub mod lint;
pub mod load;
pub mod overrides;
pub mod pcre;
pub mod registry;

pub use dir::DirConf;
pub use load::{load, load_with, LoadError, LoadOptions};

/// Which engine serves connections: chosen by the one `mpm_*_module` loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MpmKind {
    Prefork,
    Worker,
    Event,
}

impl MpmKind {
    /// The name `-V` ("Server MPM:") and server-status ("ServerMPM:") print.
    pub fn name(self) -> &'static str {
        match self {
            MpmKind::Prefork => "prefork",
            MpmKind::Worker => "worker",
            MpmKind::Event => "event",
        }
    }
    pub fn is_threaded(self) -> bool {
        !matches!(self, MpmKind::Prefork)
    }
}

/// MPM sizing after Apache's startup checks and adjustments (spec/mpm.md §1–2).
#[derive(Clone, Debug, PartialEq)]
pub struct MpmConfig {
    pub start_servers: u32,
    /// prefork only.
    pub min_spare_servers: u32,
    pub max_spare_servers: u32,
    /// worker/event only.
    pub min_spare_threads: u32,
    pub max_spare_threads: u32,
    pub max_request_workers: u32,
    pub server_limit: u32,
    pub thread_limit: u32,
    pub threads_per_child: u32,
    /// event only; Apache keeps the value ×16 and uses the integer part.
    pub async_request_worker_factor: f64,
    /// 0 = never recycle; counts connections.
    pub max_connections_per_child: i64,
    /// 0 = wait forever; applies to graceful-stop only.
    pub graceful_shutdown_timeout: u64,
    pub listen_backlog: i32,
    pub thread_stack_size: usize,
    /// `ListenCoresBucketsRatio`; 0 = off.
    pub listen_cores_buckets_ratio: u32,
    /// `SendBufferSize` / `ReceiveBufferSize`; 0 = system default.
    pub send_buffer_size: u32,
    pub receive_buffer_size: u32,
    /// `MaxMemFree` in KB; 0 = unlimited.
    pub max_mem_free: u64,
}

/// One `Listen [addr:]port [protocol]` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenSpec {
    pub addr: SocketAddr,
    /// `https`, `http` or none: the protocol argument of Listen.
    pub protocol: Option<String>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Emerg,
    Alert,
    Crit,
    Error,
    Warn,
    Notice,
    Info,
    Debug,
    Trace1,
    Trace2,
    Trace3,
    Trace4,
    Trace5,
    Trace6,
    Trace7,
    Trace8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerTokens {
    Prod,
    Major,
    Minor,
    Min,
    Os,
    Full,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerSignature {
    Off,
    On,
    Email,
}

/// `<VirtualHost addr[:port] …>` address: `None` ip = `*`/`_default_`, `None` port = any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhostAddr {
    pub ip: Option<std::net::IpAddr>,
    pub port: Option<u16>,
    pub is_default: bool,
    /// As written, for `-S`.
    pub text: String,
}

/// `CustomLog file|pipe format|nickname [env=…]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomLog {
    pub target: String,
    /// The format string, nicknames resolved.
    pub format: String,
    pub condition: Option<String>,
    pub span: Span,
}

/// The kinds of per-directory section, in the order httpd merges them (spec/config.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionKind {
    Directory,
    DirectoryMatch,
    Files,
    FilesMatch,
    Location,
    LocationMatch,
    Proxy,
    ProxyMatch,
    If,
    ElseIf,
    Else,
    /// `<Limit GET POST>`: the directives inside apply only to those methods. Matcher is
    /// `Literal` with the method names separated by one space.
    Limit,
    /// `<LimitExcept GET>`: the directives inside apply to every method but those.
    LimitExcept,
}

/// How a section matches: a literal path/URL (with shell wildcards for Directory/Files) or a
/// regex (`~` form or the *Match sections), or an `<If>` expression kept as text.
#[derive(Clone, Debug)]
pub enum Matcher {
    Literal(String),
    Wildcard(String),
    Regex(crate::config::pcre::Regex),
    /// `<If>`/`<ElseIf>` condition; `<Else>` holds `true`.
    Expr(std::sync::Arc<expr::Cond>),
}

/// One per-directory section with the settings written inside it.
#[derive(Clone, Debug)]
pub struct Section {
    pub kind: SectionKind,
    pub matcher: Matcher,
    pub conf: DirConf,
    /// `<Files>` nested in a `<Directory>`, `<If>` nested anywhere.
    pub nested: Vec<Section>,
    pub span: Span,
    /// The path components of a literal or wildcard matcher (the directory walk's level,
    /// `/srv/www` is 2); 0 for the others. Counted once here, not per request.
    pub depth: usize,
}

/// The components of a path: `/` has none, `//a//b/` two.
pub fn path_components(p: &str) -> usize {
    // A component starts at a non-slash after a slash (or at the start).
    let mut n = 0;
    let mut prev = b'/';
    for &b in p.as_bytes() {
        n += usize::from(b != b'/' && prev == b'/');
        prev = b;
    }
    n
}

/// The settings of one server: the main server or one `<VirtualHost>`. Values are final:
/// a vhost inherits what it did not set from the main server (merged by `build`).
#[derive(Clone, Debug)]
pub struct ServerConf {
    /// Where `<VirtualHost>` opened; `None` for the main server.
    pub span: Option<Span>,
    pub addrs: Vec<VhostAddr>,
    pub server_name: Option<String>,
    /// `ServerAlias` names, wildcards kept.
    pub server_aliases: Vec<String>,
    pub server_admin: Option<String>,
    pub document_root: PathBuf,
    pub error_log: String,
    pub custom_logs: Vec<CustomLog>,
    pub timeout: Duration,
    pub keep_alive: bool,
    pub keep_alive_timeout: Duration,
    /// 0 = unlimited.
    pub max_keep_alive_requests: u32,
    pub limit_request_line: usize,
    pub limit_request_field_size: usize,
    pub limit_request_fields: usize,
    pub server_signature: ServerSignature,
    /// `Protocols h2 h2c http/1.1`.
    pub protocols: Vec<String>,
    /// Directory-context directives written at server/vhost level.
    pub dir: DirConf,
    /// `dir`, shared, for a request to start from without copying it (filled on first use;
    /// `dir` does not change once the configuration serves).
    pub dir_shared: std::sync::OnceLock<std::sync::Arc<DirConf>>,
    /// The sections of this server, in file order.
    pub sections: Vec<Section>,
    /// Whether a `<LocationMatch>`/`<Location ~>` of `sections` has named groups (found on
    /// first use): only then are `MATCH_*` set before translate.
    pub named_locations: std::sync::OnceLock<bool>,
    /// Whether `sections` has an `<If>` at top level or in a `<Location>` (found on first
    /// use): only then does the first `<If>` walk run before translate.
    pub early_ifs: std::sync::OnceLock<bool>,
    /// Settings of modules not typed yet, kept with their spans (parsed-only directives).
    pub extra: Vec<Node>,
    /// `HostnameLookups` (server level only here).
    pub hostname_lookups: HostnameLookups,
    /// `UseCanonicalName`.
    pub use_canonical_name: UseCanonicalName,
    /// `AllowEncodedSlashes On|Off|NoDecode`.
    pub allow_encoded_slashes: AllowEncodedSlashes,
    /// `MergeSlashes`, default on.
    pub merge_slashes: bool,
    /// `AccessFileName`, default `.htaccess`.
    pub access_file_names: Vec<String>,
    /// `RequestReadTimeout` (mod_reqtimeout); `None` stages keep the module default.
    pub request_read_timeout: RequestReadTimeout,
    /// `LimitInternalRecursion` (redirects, subrequests).
    pub limit_internal_recursion: (u32, u32),
    /// `HttpProtocolOptions`.
    pub http_protocol: HttpProtocolOptions,
    /// mod_ssl settings (`crate::tls` builds the rustls configurations from them).
    pub ssl: directives::ssl::SslConf,
    /// mod_http2 settings.
    pub h2: directives::http2::H2Conf,
    /// mod_remoteip settings.
    pub remoteip: directives::remoteip::RemoteIpConf,
    /// Which settings this server wrote itself, by field name (`timeout`, `keep_alive_timeout`,
    /// `document_root`, `custom_logs`, `request_read_timeout` …): a vhost starts as a copy of
    /// the main server, so the others are inherited. httpd takes some values of name-based
    /// vhosts from the first vhost of their address instead; this says which were set.
    pub set_here: Vec<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostnameLookups {
    Off,
    On,
    Double,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UseCanonicalName {
    Off,
    On,
    Dns,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllowEncodedSlashes {
    Off,
    On,
    NoDecode,
}

/// `HttpProtocolOptions [Strict|Unsafe] [RegisteredMethods|LenientMethods] [Allow0.9|Require1.0]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpProtocolOptions {
    pub strict: bool,
    pub registered_methods: bool,
    pub require_1_0: bool,
}

impl Default for HttpProtocolOptions {
    fn default() -> Self {
        HttpProtocolOptions {
            strict: true,
            registered_methods: false,
            require_1_0: false,
        }
    }
}

/// One stage of `RequestReadTimeout`: initial timeout, optional maximum, optional MinRate
/// (bytes per second). A timeout of 0 turns the stage off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadTimeoutStage {
    pub timeout: u32,
    pub max_timeout: Option<u32>,
    pub min_rate: Option<u32>,
}

/// mod_reqtimeout's per-server settings. `None` = not configured: the module default
/// (handshake 0, header 20-40 MinRate 500, body 20 MinRate 500) applies when the module is
/// loaded, and nothing (just `Timeout`) when it is not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestReadTimeout {
    pub handshake: Option<ReadTimeoutStage>,
    pub header: Option<ReadTimeoutStage>,
    pub body: Option<ReadTimeoutStage>,
}

impl RequestReadTimeout {
    /// The module defaults, filling stages the config did not set.
    pub fn with_defaults(&self) -> RequestReadTimeout {
        RequestReadTimeout {
            handshake: Some(self.handshake.unwrap_or(ReadTimeoutStage {
                timeout: 0,
                max_timeout: None,
                min_rate: None,
            })),
            header: Some(self.header.unwrap_or(ReadTimeoutStage {
                timeout: 20,
                max_timeout: Some(40),
                min_rate: Some(500),
            })),
            body: Some(self.body.unwrap_or(ReadTimeoutStage {
                timeout: 20,
                max_timeout: None,
                min_rate: Some(500),
            })),
        }
    }
}

/// The MPM directives as written (after `atoi`), before the startup checks of
/// `checks::mpm` turn them into an `MpmConfig`. `None` = not written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MpmDirectives {
    pub start_servers: Option<i64>,
    pub min_spare_servers: Option<i64>,
    pub max_spare_servers: Option<i64>,
    pub min_spare_threads: Option<i64>,
    pub max_spare_threads: Option<i64>,
    pub max_request_workers: Option<i64>,
    pub server_limit: Option<i64>,
    pub thread_limit: Option<i64>,
    pub threads_per_child: Option<i64>,
    pub async_request_worker_factor: Option<f64>,
    pub max_connections_per_child: Option<i64>,
    pub graceful_shutdown_timeout: Option<i64>,
    pub listen_backlog: Option<i64>,
    pub listen_cores_buckets_ratio: Option<i64>,
    pub send_buffer_size: Option<i64>,
    pub receive_buffer_size: Option<i64>,
    pub thread_stack_size: Option<i64>,
    pub max_mem_free: Option<i64>,
}

/// The whole configuration of one generation. Children inherit it by fork.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub server_root: PathBuf,
    pub config_file: PathBuf,
    /// `-D` and `Define` names, with their values.
    pub defines: Vec<(String, Option<String>)>,
    /// The loaded built-in modules, by name (`core`, `mpm_event`, `status` …), load order.
    pub modules: Vec<&'static str>,
    pub mpm: MpmKind,
    pub mpm_config: MpmConfig,
    pub listen: Vec<ListenSpec>,
    pub pid_file: PathBuf,
    pub scoreboard_file: Option<PathBuf>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub default_runtime_dir: PathBuf,
    pub log_level: LogLevel,
    pub server_tokens: ServerTokens,
    pub trace_enable: bool,
    pub extended_status: bool,
    pub enable_sendfile: bool,
    /// `HttpProtocolOptions`: Strict (default) or Unsafe.
    pub http_protocol_strict: bool,
    pub types_config: PathBuf,
    /// The TypesConfig table (extension → type), read when the configuration is built: in
    /// the parent, so every child shares it (copy-on-write) instead of reading its own, and
    /// again on each reload, as httpd rereads mime.types.
    pub mime_types: std::sync::Arc<crate::modules::mime::Types>,
    /// `LogFormat` nicknames.
    pub log_formats: HashMap<String, String>,
    pub main: ServerConf,
    pub vhosts: Vec<ServerConf>,
    /// Directives accepted by a loaded module whose behaviour is not built yet; logged once
    /// at startup. Never holds an access-control directive.
    pub parsed_only: Vec<(String, Span)>,
    /// Startup warnings (AH00507 …), printed on first start, logged on restart.
    pub warnings: Vec<String>,
    /// The MPM directives as written; `mpm_config` is what the checks made of them.
    pub mpm_directives: MpmDirectives,
    /// `LogLevel mod:level` overrides, by module name (`core`, `ssl` …).
    pub module_log_levels: Vec<(String, LogLevel)>,
    /// `Mutex mechanism [names…]`: (mutex name or `default`, mechanism as written).
    pub mutexes: Vec<(String, String)>,
    /// `EnableMMAP`.
    pub enable_mmap: bool,
    /// `BufferedLogs` (mod_log_config).
    pub buffered_logs: bool,
    /// `GlobalLog` lines: written for every vhost.
    pub global_logs: Vec<CustomLog>,
    /// `SeeRequestTail` (mod_status).
    pub see_request_tail: bool,
    /// `-t -D DUMP_INCLUDES` output (the files read, as `conf::expand` recorded them).
    pub include_dump: String,
    /// Messages httpd prints on stderr while reading the config without failing (AH00112
    /// DocumentRoot does not exist in a vhost, AH00548 NameVirtualHost …).
    pub notices: Vec<String>,
    /// `-T`: do not check that DocumentRoot exists.
    pub skip_docroot_check: bool,
    /// The TLS addresses with their rustls configurations, built by `crate::tls::prepare` at
    /// load time in the parent (keys are read before privileges drop; children inherit them).
    pub tls: crate::tls::TlsSetup,
    /// mod_remoteip's PROXY protocol: which connections start with the header.
    pub proxy_protocol: directives::remoteip::ProxyProtocolConf,
}

impl ServerConfig {
    /// What `conf::expand::expand_htaccess` needs to read `.htaccess` files at request time.
    pub fn read_state(&self) -> crate::conf::expand::ReadState {
        crate::conf::expand::ReadState {
            server_root: self.server_root.clone(),
            loaded_modules: self.modules.clone(),
            defines: self.defines.clone(),
        }
    }

    /// The one startup notice listing directives that are parsed but have no effect yet
    /// (`None` when there are none). Each name appears once, with its first location.
    pub fn parsed_only_notice(&self) -> Option<String> {
        let mut seen: Vec<(&str, &Span)> = Vec::new();
        for (name, span) in &self.parsed_only {
            if !seen.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                seen.push((name, span));
            }
        }
        if seen.is_empty() {
            return None;
        }
        let list: Vec<String> = seen
            .iter()
            .map(|(n, s)| format!("{n} ({}:{})", s.file.display(), s.line))
            .collect();
        Some(format!(
            "mpmd: these directives are accepted but have no effect yet: {}",
            list.join(", ")
        ))
    }
}
