//! docs/configuration.md, generated from the registry (`mpmd -L` prints the same data as
//! httpd does); a test keeps the committed file equal to `directives_markdown()`.

use std::fmt::Write as _;

use super::registry::{self, Args, Contexts, Support};

/// Notable Apache directives mpmd does not have at all (no module declares them).
pub const NOT_SUPPORTED: &[(&str, &str)] = &[
    (
        "mod_php, mod_perl, mod_wsgi",
        "in-process language modules are not built",
    ),
    ("mod_auth_digest, mod_authnz_ldap", "not built"),
    ("mod_include (SSI), mod_userdir, mod_speling", "not built"),
    ("mod_cache, mod_cache_disk", "not built"),
    ("mod_macro (<Macro>, Use)", "not built"),
    (
        "Host names in the RemoteIPHeader value (mod_remoteip)",
        "not looked up: a name stops the walk like an address that does not parse (httpd resolves it); names in RemoteIPTrustedProxy/InternalProxy are resolved at start as httpd does",
    ),
];

/// Implemented directives that do less than Apache's, with what differs: the table shows them
/// as Partial, and "What differs from Apache" lists the difference.
pub const PARTIAL: &[(&str, &str)] = &[
    (
        "Alias",
        "the one-argument form in a `<Location>` is a string expression of the subset under \
         \"`<If>` expressions\"",
    ),
    (
        "CustomLog",
        "an `expr=` condition is not evaluated: every request is logged, with a warning at \
         start (`env=` works). A request refused while its head is read (400, 414, 501, a \
         408 once its request line is in, h2's 431) is logged as httpd logs it: the request \
         line rebuilt with single spaces, the raw `%U`, the server's name as `%V`, only the \
         fields httpd had stored, its `%I` the bytes httpd had read; a request line cut off \
         by the timeout is logged as `-` on a connection's first request, as httpd, and so \
         is a new connection that sends nothing, or only empty lines, before `Timeout` (or \
         mod_reqtimeout's header stage) runs out (`\"-\" 408`), over TLS once its handshake \
         is done; one the client closes first, one that never starts its TLS handshake, or an \
         idle keep-alive one, is not. Differs: on PROXY-protocol and HTTP/2-direct addresses \
         such a silent connection is closed without a line (not compared with httpd)",
    ),
    (
        "ElseIf",
        "the expression subset described under \"`<If>` expressions\"",
    ),
    (
        "Header",
        "`expr=…` conditions and values take the subset under \"`<If>` expressions\"; as \
         httpd's, `%{CONTENT_TYPE}` after the handler is without the `AddDefaultCharset` \
         charset (added when the head is written) and `%{HANDLER}` is SetHandler's name, else \
         the content type without parameters (empty for a missing file)",
    ),
    (
        "If",
        "the expression subset described under \"`<If>` expressions\"",
    ),
    (
        "RemoteIPProxyProtocol",
        "PROXY protocol v1 and v2 (TCP4/TCP6, LOCAL, UNKNOWN; TLVs skipped) read before TLS \
         and HTTP, per local address as httpd decides (the last setting for an address wins; \
         the main server's covers every address), refused headers logged with httpd's \
         messages and the connection closed without a response. Differs: the AH03491 notice \
         (a later virtual host overriding an address's setting) is not logged; a v1 client \
         address is used and logged in its canonical form (httpd logs `010.1` or \
         `::ffff:192.0.2.1` as written); a v1 line with no LF is refused as soon as it passes \
         108 bytes (httpd first reads up to 8 KiB of it)",
    ),
    (
        "Redirect",
        "the expression form (a lone target in a section: `Redirect /new` in a `<Location>`) \
         takes the string subset under \"`<If>` expressions\" (`MATCH_*` variables included); \
         `Redirect gone` for a whole server answers 410 (httpd 2.4.71's child crashes on it)",
    ),
    (
        "RedirectMatch",
        "the expression form (a status and a lone target in a section) takes the string \
         subset under \"`<If>` expressions\" (`MATCH_*` variables included)",
    ),
    (
        "Require",
        "`expr` takes the subset under \"`<If>` expressions\" (granted when it holds, denied \
         otherwise; an expression naming `REMOTE_USER` does not ask for credentials as \
         httpd's does); the `group`, `file-owner` and `file-group` providers parse but never \
         grant",
    ),
    ("RewriteCond", "`expr` conditions are refused"),
    (
        "SSLOptions",
        "`+StdEnvVars` and `+ExportCertData` work as in httpd (merged per directory with \
         `+`/`-`; a plain option replaces the inherited ones, the last plain one winning, as \
         httpd's): the `SSL_*` variables reach the environment (FastCGI, `%{…}e`); the log's \
         `%{VAR}x`, `Header`'s `%{VAR}s`, mod_rewrite's `%{SSL:VAR}` and `%{SSL_…}` / \
         `SSL()` in expressions need no option. Every request over TLS gets `HTTPS=on` and \
         `SSL_TLS_SNI`. Differs: `FakeBasicAuth`, `StrictRequire`, `OptRenegotiate` and \
         `LegacyDNStringFormat` are accepted and do nothing (no client certificates, no \
         renegotiation); `SSL_SESSION_ID` is a value exported from the session's keys \
         (rustls does not expose the session ID; also set under TLS 1.2 with tickets, where \
         httpd has none); `SSL_VERSION_LIBRARY` is `rustls/0.23`; the `SSL_SERVER_*` \
         variables describe the virtual host's first `SSLCertificateFile`; no `SSL_CLIENT_*` \
         but `SSL_CLIENT_VERIFY=NONE` (and an empty `SSL_CLIENT_CERT` with \
         `+ExportCertData`, as httpd); the log's `%{…}c` is not supported",
    ),
    (
        "RewriteMap",
        "`prg:`, `dbm:`, `dbd:` and `fastdbd:` maps are refused (`txt:`, `rnd:`, `int:` work)",
    ),
];

/// Behaviour worth knowing where mpmd does what httpd does, for the directives' rows.
pub const NOTES: &[(&str, &str)] = &[
    (
        "ScriptAliasMatch",
        "as `ScriptAlias`, without `CONTEXT_PREFIX`/`CONTEXT_DOCUMENT_ROOT` (as httpd)",
    ),
    (
        "ScriptAlias",
        "the handler is `cgi-script` and `Options ExecCGI` is not needed (the one-argument \
         form in a `<Location>` too: its string expression names the script). `CONTEXT_PREFIX` \
         and `CONTEXT_DOCUMENT_ROOT` are the alias's (not set for `Alias`, where httpd sets \
         them too). mod_cgi and mod_cgid run a script the same way, as a child of the worker that \
         serves the request (already the server's `User`), in the script's directory, with \
         httpd's environment (the one mod_proxy_fcgi sends, `SetEnv`/`PassEnv` included), \
         the request body on its stdin as it arrives (no `CONTENT_LENGTH` for a chunked one, \
         as httpd), its output streamed, `Status:` (its reason phrase kept) and `Location:` \
         as httpd reads them (a \
         local path is served instead as a GET, a URL is a 302), `nph-` scripts sent as \
         written over HTTP/1 (over HTTP/2 their head becomes the stream's, as mod_http2 does), a query without `=` \
         as arguments, httpd's refusals and error-log lines (`AH02809` ExecCGI off, \
         `AH02811` not found, `AH01215` for each stderr line, `End of script output before \
         headers`, `malformed header from script`, a 504 after the script timeout), the \
         ErrorDocument for such an error; a script that is the ErrorDocument answers with the \
         error's status and sees `REDIRECT_STATUS`, `REDIRECT_URL`, `REDIRECT_QUERY_STRING` \
         and the first request's variables as `REDIRECT_*`, as with httpd. Differs: there is no cgid daemon \
         (see `ScriptSock`) and under mod_cgid stderr lines carry the `AH01215` \
         prefix (httpd's cgid writes them bare)",
    ),
    (
        "CGIScriptTimeout",
        "the wait for each read of the script's output (and for it to take the request \
         body); `Timeout` when unset. Running out before the head is a 504 with httpd's \
         `AH01220` warning and `Script timed out before returning headers`; the script gets \
         SIGTERM, then SIGKILL 3 s later, and is reaped, as APR's kill_after_timeout",
    ),
    ("CGIDScriptTimeout", "as `CGIScriptTimeout`"),
    (
        "ScriptSock",
        "accepted and unused: mpmd has no cgid daemon (scripts start from the worker that \
         serves the request under every MPM), so no socket is made",
    ),
    (
        "RLimitCPU",
        "the soft and hard limits CGI scripts start with (`max`: the current hard limit), \
         worked out as httpd does when the configuration is read (only root raises a hard \
         limit); the last section that sets one wins; `RLimitMEM` limits the address space \
         (RLIMIT_AS) and `RLimitNPROC` the processes of the User, as httpd on Linux",
    ),
    ("RLimitMEM", "see `RLimitCPU`"),
    ("RLimitNPROC", "see `RLimitCPU`"),
    (
        "CGIPassAuth",
        "`On` passes `Authorization` and `Proxy-Authorization` to CGI scripts and FastCGI \
         applications as `HTTP_AUTHORIZATION`/`HTTP_PROXY_AUTHORIZATION`, as httpd",
    ),
    (
        "ScriptLog",
        "parsed only: no script debug log is written (nor with `ScriptLogLength`, \
         `ScriptLogBuffer`)",
    ),
    (
        "DeflateBufferSize",
        "as httpd's output buffer: a response whose compressed bytes fill it before the body \
         ends has no Content-Length (chunked over HTTP/1.1, even on a closing connection; \
         close-delimited for HTTP/1.0; neither for HEAD) and ignores Range; one that fits \
         gets its compressed length",
    ),
    (
        "DeflateCompressionLevel",
        "compression uses the system's zlib with httpd's defaults (level 6, `DeflateWindowSize` \
         15, `DeflateMemLevel` 9) and httpd's gzip header, so the compressed bytes are \
         apache2's; bodies under 69 bytes are sent as they are, as httpd. A proxied body is \
         compressed too (in memory, up to 64 MiB) as httpd does when the backend's body comes \
         with its head; when it comes later, apache2's mod_proxy flushes first and its bytes \
         and framing differ (a timing mpmd does not reproduce)",
    ),
    (
        "DeflateWindowSize",
        "1-15 as httpd; under 9 zlib refuses a raw stream and the body goes uncompressed \
         with httpd's AH01383 error (`Vary` still added)",
    ),
    (
        "RequestHeader",
        "`expr=…` conditions and values are evaluated in fixups, as httpd's: \
         `%{CONTENT_TYPE}` is the type mod_mime found, `%{REQUEST_STATUS}` is 200; `early` \
         rules run before the request is mapped, from the server's or virtual host's own \
         configuration",
    ),
    (
        "RemoteIPProxyProtocolExceptions",
        "one list for the whole server, wherever it is written, tested against the \
         connection's peer, as httpd",
    ),
    (
        "AuthUserFile",
        "every format Debian's `htpasswd` writes: bcrypt (`-B`), APR MD5 (`-m`), `{SHA}` \
         (`-s`), and the `crypt(3)` formats (DES `-d`, SHA-256 `-2`, SHA-512 `-5`, yescrypt \
         and the rest the system's libcrypt knows) checked by the system library, as APR \
         does; a plain-text entry (`-p`) never matches, as with httpd on Unix",
    ),
    (
        "DirectoryIndex",
        "the index file answers as httpd's fast redirect: its own sections (`<Files \
         index.html>` headers, expiry) apply to the response, and the access log's `%U` and \
         `%f` are its URL and file. Without `LoadModule dir_module` no index file is served \
         and no trailing-slash redirect made: mod_autoindex lists the directory (slash or \
         not) or refuses it (`Options -Indexes`: 403), and without mod_autoindex either, a \
         directory is a 404, as with httpd",
    ),
    (
        "ExtendedStatus",
        "HTTP/2 streams count in `Total Accesses`/`Total kBytes` (body bytes) and show \
         (request line `… HTTP/2.0`, vhost, mod_remoteip's client, `h2`/`h2c`, `W` while \
         served) in the slot of the worker that took their connection over, as mod_http2's do \
         in the main connection's slot; mod_http2's session summaries (`[50/50] done`) are \
         not shown (see tls-http2.md)",
    ),
    (
        "FallbackResource",
        "answered with httpd's fast redirect: the fallback's sections apply, the access log's \
         `%U` is its URL and `%f` its file, `%r` the request as received",
    ),
    (
        "LogFormat",
        "`%t`, `%{…}t` and the error log use local time (`TZ` applies); `%U`/`%<U` show the \
         URL before a full internal redirect (ErrorDocument, per-directory rewrite), `%>U` \
         after it; `%H` is `HTTP/2.0` over HTTP/2; `%v` is the ServerName's host and `%p` its \
         port, else the scheme's default (443 over TLS), whatever port the connection came to \
         (that is `%{local}p`); `%V` is the host of an absolute-form target of the \
         connection's scheme, else Host's, the ServerName under `UseCanonicalName On`; `%I` \
         counts what the request used as mod_logio does (line ends, the body with its chunk \
         framing, skipped empty lines, httpd's look-ahead for a pipelined request and, on an \
         h2c address, its peek for the preface in a connection's first request; over TLS the \
         bytes read below TLS, the handshake's in the first request's); `%k` \
         repeats the figure before it on a request that closes the connection, as httpd's; \
         over HTTP/2 `%{Name}o` sees the fields the stream sent (Date, Server, \
         Content-Length, `always` ones) and a HEAD's `%b` its body's length, as mod_http2; \
         `%{Content-Length}o` over HTTP/1.1 is the length the head carried, as httpd's. \
         Differs: over HTTP/2 `%I`, `%O` and `%k` \
         are not httpd's frame figures; a 414's `%I` stops at LimitRequestLine",
    ),
    (
        "RewriteRule",
        "`%{TIME_*}` in rules and conditions are local time (`TZ` applies), as httpd",
    ),
    (
        "Options",
        "`MultiViews` (with `LoadModule negotiation_module`) answers a request for a missing \
         `/x` from the `x.*` files of its directory as httpd's mod_negotiation: the same \
         variants (every extension mod_mime does not claim must be part of the requested name; \
         `MultiviewsMatch` for handlers; a type map among them takes over), each looked up \
         with its own sections and `Require`, the same choice (Accept, Accept-Language, \
         Accept-Charset, Accept-Encoding with httpd's wildcard and language fiddles, `level`, \
         `LanguagePriority`, the length tiebreak; RVSA/1.0 for `Negotiate: 1.0`; the \
         `prefer-language`, `no-gzip` and `gzip-only-text/html` variables), the same headers \
         (`Content-Location`, `Vary: negotiate,…` naming exactly the dimensions the variants \
         differ in, `TCN`, `Alternates`), the same 300/406 pages with the variant list, path \
         info after the name (`/x/more`: not transparent, then 404), a directory's index found \
         through it (`index` → `index.html.en`), and httpd's structured ETag \
         (`\"file-tag;directory-mtime` — httpd 2.4 drops the closing quote, so does mpmd); \
         a 416 goes out without the negotiation's fields, as httpd's. \
         Nothing is scanned unless the file is missing and MultiViews is on. Differs: `<If>` \
         sections met while a variant is looked up are evaluated against the request, not \
         the variant",
    ),
    (
        "LanguagePriority",
        "used by MultiViews and type maps when `Accept-Language` ties or is missing \
         (`ForceLanguagePriority Prefer`, the default) or matches nothing (`Fallback`), as \
         httpd; several lines in one section add up",
    ),
    (
        "ForceLanguagePriority",
        "`None`, `Prefer`, `Fallback` (the last two combine), with httpd's errors for a \
         `None` mixed with the others",
    ),
    (
        "CacheNegotiatedDocs",
        "as httpd 2.4: `Off` (the default) makes a type map's answer to an HTTP/1.0 request \
         expire at once (`Expires` = `Date`); a MultiViews answer never gets one (httpd's \
         fast redirect drops the flag)",
    ),
    (
        "MultiviewsMatch",
        "`NegotiatedOnly` (default), `Handlers`, `Filters`, `Any`, with httpd's errors for \
         incompatible words",
    ),
    (
        "DefaultLanguage",
        "the `Content-Language` of a file no `AddLanguage` extension names, and its language \
         in negotiation",
    ),
    (
        "AddLanguage",
        "every extension counts (`x.en.fr.html` is `Content-Language: en,fr`); values are \
         lower-cased, as all `Add*` values are in httpd (`AddCharset UTF-8 .u8` sends \
         `charset=utf-8`)",
    ),
    (
        "AddHandler",
        "`type-map` runs mod_negotiation's type map handler (`URI:` a URL relative to the \
         map, resolved as a request's, `Content-Type:` with \
         `qs=`, `Content-Language:`, `Content-Encoding:`, `Content-Length:`, `Description:`, \
         `Body:` variants (byte ranges included), `#` comments and continuation lines, httpd's \
         errors AH00681-AH00685, \
         506 for a map choosing a map)",
    ),
];

fn contexts(c: Contexts) -> String {
    let mut v = Vec::new();
    if c.allows(Contexts::SERVER) {
        v.push("server config");
    }
    if c.allows(Contexts::VHOST) {
        v.push("virtual host");
    }
    if c.allows(Contexts::DIRECTORY) {
        v.push("directory");
    }
    if c.allows(Contexts::HTACCESS) {
        v.push(".htaccess");
    }
    v.join(", ")
}

fn args(a: Args) -> &'static str {
    match a {
        Args::NoArgs => "none",
        Args::Take1 => "1",
        Args::Take2 => "2",
        Args::Take12 => "1-2",
        Args::Take3 => "3",
        Args::Take23 => "2-3",
        Args::Take123 => "1-3",
        Args::Take13 => "1 or 3",
        Args::Iterate => "1+",
        Args::Iterate2 => "2+",
        Args::Flag => "On/Off",
        Args::RawArgs => "raw",
        Args::TakeArgv => "list",
    }
}

/// The whole docs/configuration.md.
pub fn directives_markdown() -> String {
    let mut out = String::new();
    out.push_str(
        "# Configuration

<!-- Generated by `mpmd --directives-markdown` from the registry (src/config/directives); do not edit by hand.
     tests/config_docs.rs fails when this file and the registry differ. -->

mpmd reads Apache httpd 2.4 configuration files: the same grammar, the same sections and the
same error messages (`mpmd -t`). Point it at an `httpd.conf` or at Debian's
`/etc/apache2/apache2.conf` tree; its own default tree lives in `/etc/mpmd` (`conf/` in the
source tree) in the Debian layout.

## Grammar (short)

* One directive per line; a line ending in `\\` continues on the next. A line whose first
  non-blank character is `#` is a comment (a `#` later on the line is an argument).
* Directive names are case-insensitive. Arguments are split on blanks; `\"…\"` or `'…'`
  quote one argument.
* `${NAME}` is replaced by a `Define`d value or an environment variable before the line is
  split. `-D NAME` on the command line defines NAME.
* Read-time sections and directives: `Include`, `IncludeOptional` (files, directories,
  wildcards), `Define`, `UnDefine`, `<IfModule>`, `<IfDefine>`, `<IfFile>`, `<IfDirective>`,
  `<IfSection>`, `<IfVersion>`, `LoadModule` (turns a built-in module on; the path is not
  opened), `ServerRoot`.
* Sections: `<VirtualHost>`, `<Directory>`, `<DirectoryMatch>`, `<Files>`, `<FilesMatch>`,
  `<Location>`, `<LocationMatch>`, `<If>`/`<ElseIf>`/`<Else>`, `<Limit>`, `<LimitExcept>`,
  `<Proxy>`, `<ProxyMatch>`, and the `<Require*>` sections of mod_authz_core.
* A directive is known only when its module is loaded (`LoadModule` or built in); otherwise
  `Invalid command 'X', perhaps misspelled or defined by a module not included in the server
  configuration`. Exactly one of `mpm_prefork`, `mpm_worker`, `mpm_event` must be loaded.

## Status column

* **Implemented**: parsed, validated like httpd and acted upon.
* **Partial**: implemented, but part of what Apache accepts is refused or differs; see
  \"What differs from Apache\" below the table.
* **ParsedOnly**: parsed and checked, but without effect yet; the server lists them at start.
  Never used for a directive that grants or restricts access.
* **Unsupported**: known to Apache, but using it is a configuration error in mpmd, because
  ignoring it could change access control or request routing.

## Modules

| Module | LoadModule identifier | `<IfModule>` source name | Built in |
|---|---|---|---|
",
    );
    for m in registry::modules() {
        let _ = writeln!(
            out,
            "| {} | `{}` | `{}` | {} |",
            m.name,
            m.identifier,
            m.source,
            if m.is_static { "static" } else { "LoadModule" }
        );
    }
    out.push_str("\n## Directives\n\n| Directive | Module | Arguments | Context | Status |\n|---|---|---|---|---|\n");
    let mut rows: Vec<(String, String)> = registry::all_directives()
        .map(|(m, d)| {
            let name = if d.section {
                format!("`<{}>`", d.name)
            } else {
                format!("`{}`", d.name)
            };
            let partial = PARTIAL.iter().any(|(n, _)| *n == d.name);
            let status = match d.support {
                Support::Implemented if partial => "Partial",
                Support::Implemented => "Implemented",
                Support::ParsedOnly => "ParsedOnly",
                Support::Unsupported => "Unsupported",
            };
            let row = format!(
                "| {name} | {} | {} | {} | {status} |",
                m.name,
                if d.section { "section" } else { args(d.args) },
                contexts(d.contexts)
            );
            (
                format!("{}\u{0}{}", d.name.to_ascii_lowercase(), m.name),
                row,
            )
        })
        .collect();
    rows.sort();
    rows.dedup_by(|a, b| a.1 == b.1);
    for (_, row) in rows {
        out.push_str(&row);
        out.push('\n');
    }
    out.push_str("\n## What differs from Apache\n\n| Directive | Difference |\n|---|---|\n");
    for (name, what) in PARTIAL {
        let _ = writeln!(out, "| {} | {what} |", shown(name));
    }
    out.push_str("\n## Notes\n\n| Directive | Behaviour |\n|---|---|\n");
    for (name, what) in NOTES {
        let _ = writeln!(out, "| {} | {what} |", shown(name));
    }
    regular_expressions(&mut out);
    if_expressions(&mut out);
    out.push_str("\n## Not supported\n\n| Apache feature | Why |\n|---|---|\n");
    for (what, why) in NOT_SUPPORTED {
        let _ = writeln!(out, "| {what} | {why} |");
    }
    out
}

/// A directive's name as the table shows it (sections in brackets).
fn shown(name: &str) -> String {
    match registry::all_directives().find(|(_, d)| d.name == name) {
        Some((_, d)) if d.section => format!("`<{name}>`"),
        _ => format!("`{name}`"),
    }
}

/// What a pattern in the configuration may use (src/config/pcre.rs).
fn regular_expressions(out: &mut String) {
    out.push_str(
        "
## Regular expressions

Every pattern in the configuration is PCRE syntax, as in httpd: `RewriteRule`,
`RewriteCond`, `<DirectoryMatch>`, `<FilesMatch>`, `<LocationMatch>`, `<ProxyMatch>` and the
`~` forms of the sections, `AliasMatch`, `RedirectMatch`, `ProxyPassMatch`, `SetEnvIf`,
`SetEnvIfNoCase` and `BrowserMatch` (the value and a header-name attribute), `Header` and
`RequestHeader` `edit`, `edit*` and `echo`, `=~`/`!~` in expressions and `<IfVersion ~>`.
Patterns are compiled when the configuration is read: one that does not compile is a
syntax error (`mpmd -t` exits 1) with httpd's message, e.g. `Regex could not be compiled`.

Besides the common syntax, these PCRE features work: backreferences (`\\1`, `\\g1`,
`\\g{1}`, `\\k<name>`, `\\g{name}`, `(?P=name)`); lookahead and lookbehind (`(?=…)`,
`(?!…)`, `(?<=…)`, `(?<!…)`, of variable length too); atomic groups `(?>…)`; possessive
quantifiers (`a++`, `a*+`, `a?+`, `a{2,}+`); conditionals `(?(1)…|…)`, `(?(<name>)…)`;
recursion and subroutine calls (`(?R)`, `(?1)`, `(?&name)`, `(?P>name)`, `\\g<1>`); named
groups (`(?<n>…)`, `(?'n'…)`, `(?P<n>…)`, numbered as well); `\\Q…\\E`; `\\K`, `\\A`,
`\\z`, `\\Z`, `\\G`, `\\R`, `\\h`, `\\v`, `\\e`, `\\cX`, `\\0nn`, `\\o{…}`, `\\x{…}`,
POSIX classes (`[[:alpha:]]`), `(*FAIL)`, comments `(?#…)` and the inline flags `(?i)`,
`(?m)`, `(?s)`, `(?x)`, `(?U)`. `\\<` and `\\>` are literal angle brackets, as in PCRE (the
`(\\<|%3C).*script` filters of many `.htaccess` files).

As with httpd 2.4's default `RegexDefaultOptions` (DOTALL, DOLLAR_ENDONLY), `.` matches a
newline (a `%0A` in the URL) and `$` only the end of the subject. `[NC]`, `SetEnvIfNoCase`
and `/…/i` make the whole pattern case-insensitive, backreferences included.

`$0`…`$9` in `AliasMatch`, `RedirectMatch`, `ProxyPassMatch`, `SetEnvIf` values and
`Header edit` substitutions are httpd's (ap_pregsub): one digit (`$10` is `$1` then `0`), a
group that did not take part gives nothing, and a backslash makes the next character
literal (`\\$1`). `Header edit*` replaces a match and then matches again on the rest as a
new subject (so `^` can match again there), stopping after an empty match, as mod_headers
does. `RewriteRule`'s `$N` and `%N` are mod_rewrite's own (see its flags).

A pattern without backreferences, lookaround and the like runs on the `regex` crate's
engine, in time linear in the subject; one that uses them runs on a backtracking engine
(`fancy-regex`) that gives up after 1,000,000 steps for one match, which then counts as no
match, as httpd does when PCRE reaches its match limit.

Not supported (refused at the configuration check: httpd's message followed by `… uses X, a
PCRE feature mpmd does not support`): callouts `(?C…)`, `\\C`, `\\X`, branch-reset groups
`(?|…)`, backtracking verbs other than `(*FAIL)` and start-of-pattern options (`(*SKIP)`,
`(*PRUNE)`, `(*UTF)`, `(*CRLF)` …), duplicate group names `(?J)`, relative calls and backreferences (`(?-1)`, `(?+1)`,
`\\g{-1}`). Differences that remain: `\\d`, `\\w`, `\\s`, `\\b`, POSIX classes and case
folding follow Unicode, and `.` matches one UTF-8 character, where httpd's PCRE works on
bytes with ASCII classes (the same answer for ASCII subjects); an escape `\\NN` of two or more
digits is read as a backreference, an error when there are fewer groups (PCRE reads it as
octal then);
`{,n}` is literal as in PCRE2 10.42.

Named groups of the regex sections set environment variables, as in httpd 2.4.8+: each
named group that took part in the match sets `MATCH_<NAME>` (the name upper-cased; unnamed
groups set nothing) for `<LocationMatch>` and `<Location ~>` (matched against the URL
path), `<DirectoryMatch>` and `<Directory ~>` (matched, as in httpd 2.4, against the full
file name: the file, or the directory as the URL named it, trailing slash included, so
`\\.html$` applies to an HTML file and `^/srv/www/?$` not to the files in it), and
`<FilesMatch>` and `<Files ~>` (the last path component, a directory's too: empty when the
URL ends in a slash), nested ones and those of `.htaccess` files included. The location
sections' are set first (before translate: the expression forms of `Alias` and `Redirect`
and mod_rewrite see them), then the directory sections', then the file sections'; a later
one replaces an earlier one of the same name, and of two groups with one name the last that
took part wins. They are in `%{env:MATCH_…}` of `<If>`,
`Require expr` and `Header … expr=`, in `%{MATCH_…}e`, in the access log and in the
environment mod_proxy_fcgi passes to the application. A proxied request's `<ProxyMatch>`
and `<Proxy ~>` sections (matched against the backend URL) set theirs after the location
sections'.
",
    );
}

/// The `<If>` expression language mpmd knows (src/config/expr.rs); the variables come from
/// the parser's own list.
fn if_expressions(out: &mut String) {
    out.push_str(
        "
## `<If>` expressions

`<If>`, `<ElseIf>` and `<Else>` take httpd's expression syntax (ap_expr), parsed when the
configuration is read: an expression mpmd cannot parse is a syntax error with httpd's
`Cannot parse condition clause: …` wording, never a condition silently taken as false.
Sections nest to any depth and may hold `<Limit>`. They are evaluated when the
per-directory sections are merged, after `<Location>` and before authentication, as in
httpd.

Supported:

* Logic: `true`, `false`, `!`, `&&`, `||`, parentheses.
* String comparison: `==`, `!=`, `<`, `<=`, `>`, `>=`; integer comparison: `-eq`, `-ne`,
  `-lt`, `-le`, `-gt`, `-ge`.
* Regular expressions: `=~` and `!~` with `/re/` or `m#re#` (flag `i`); `$0`…`$9` in later
  words refer to the last match.
* Wildcards: `-strmatch`, `-strcmatch` (case-insensitive), `-fnmatch` (`*` and `?` stop at
  `/`).
* Addresses: `-ipmatch 'net'` (any word against a subnet), `-R 'net'` (the client address).
* Lists: `word in { 'a', 'b' }` (also `-in`).
* Unary tests: `-n`, `-z`, `-T` (true-ish), and on files `-f`, `-d`, `-e`, `-s`, `-L`/`-h`,
  `-x`.
* Words: `'…'` and `\"…\"` strings (with `%{…}` and `$N` inside), digits, `%{VAR}`,
  `%{func:arg}`, `func('arg')`, and `.` to concatenate.
* Functions: `req`/`http` (request header), `req_novary`, `reqenv`/`v` (request
  environment), `osenv`, `env` (request environment, then the process's), `resp` (response
  header: empty in `<If>`, as in httpd), `note`, `tolower`, `toupper`, `escape`, `unescape`,
  `base64`, `unbase64`, `md5`, `sha1`.
* Variables (`%{NAME}`, case-insensitive): ",
    );
    let vars: Vec<String> = super::expr::VARIABLES
        .iter()
        .map(|v| format!("`{v}`"))
        .collect();
    out.push_str(&vars.join(", "));
    out.push_str(
        ".
* `TIME_*` are local time (`TZ` applies). `HTTP2` is `on` for a request over HTTP/2 and
  `SERVER_PROTOCOL` is then `HTTP/2.0`. `REMOTE_USER`, `AUTH_TYPE`, `CONTENT_TYPE` and
  `HANDLER` are empty and `REQUEST_STATUS` is `200`: httpd sets them after `<If>` is
  evaluated.

Not supported (a configuration error that says so): the functions `file`, `filemod`,
`filesize` and `ldap`; the sub-request tests `-F`, `-U` and `-A`; variables other than those
listed, as httpd refuses an unknown variable. mod_ssl's variables are there: `%{SSL_…}` (any
name starting with `SSL_`, empty when unknown or in the clear), `%{SSL:NAME}` and
`SSL('NAME')`.

The same words, as string expressions (text with `%{…}` inside), give the one-argument
`Alias` in a `<Location>` and the lone target of `Redirect`/`RedirectMatch` in a section.

`Header` and `RequestHeader` take the same language in `expr=…` (a condition, the last
word) and as a value written `expr=…` (a string expression), with httpd's errors (`Can't
parse envclause/expression: …`, `Can't parse value expression : …`). They are evaluated
when httpd does: `RequestHeader` in fixups (`CONTENT_TYPE` is then the type mod_mime found,
`REQUEST_STATUS` 200), `Header` once the response is complete, `always` rules before
`onsuccess` ones, with `REQUEST_STATUS` the response's status, `CONTENT_TYPE` its type and
`resp('Name')` its headers (the content type is not among them, as in httpd). The `early`
keyword applies a rule of the server or virtual host right after the request is read,
before it is mapped.

`Require expr` takes the condition language and is evaluated at the authz phase.

`SetEnvIfExpr` takes the condition language too and runs in order with the other
mod_setenvif rules; `$0`…`$9` in a value are the groups of the expression's last regex
match, as httpd's.

Elsewhere expressions are not evaluated: `RewriteCond expr` is
refused and `CustomLog … expr=` logs every request (with a warning at start).

### Vary

As httpd, a response carries one `Vary` field: every `Vary` value the modules set is split at
commas and blanks, each name kept once (its first spelling; `always` ones first) and joined
by `,` (`Vary: X-Foo,Accept-Encoding`), over HTTP/1.1 and HTTP/2. Names come, in httpd's
order, from `<If>` conditions (the server's are evaluated before mod_rewrite, as httpd's
first `<If>` walk), RewriteConds, the handler, mod_deflate (`Accept-Encoding`, before
mod_headers' rules), then `Header` rules and their `expr=` conditions. Expressions add the
request headers they read with `req()`/`http()`/`%{HTTP:…}`/`%{HTTP_*}` (not `req_novary()`,
not `Host`) whether the request has them or not; a RewriteCond adds the headers it read that
the request has (not `Host`, not with `[NV]`, not a false one in an `[OR]` chain) once its
rule matched. A generated error page keeps only the `always` names. `force-no-vary` drops
them all (below).

### Special-purpose environment variables

Read from the request's environment when the response goes out, so `SetEnvIf`/
`BrowserMatch`, `SetEnv` and mod_rewrite's `[E=]` all set them, as in httpd (Debian's
setenvif.conf sets several for old clients):

| variable | effect |
|---|---|
| `nokeepalive` | the connection closes after the response (not on a request with `Via`) |
| `downgrade-1.0` | the request is served as HTTP/1.0: no chunking, keep-alive only on `Connection: keep-alive` |
| `force-response-1.0` | an HTTP/1.0 request (after `downgrade-1.0`) gets an `HTTP/1.0` status line, and the connection closes |
| `force-no-vary` | every `Vary` field is dropped; implies both of the above |
| `redirect-carefully` | mod_dir does not redirect a directory URL without its slash for methods other than GET and HEAD (the default handler answers: 405 with `Allow`, 404 for POST, 200 for OPTIONS) |
| `no-gzip` | mod_deflate leaves the response alone |
| `suppress-error-charset` | a generated error page has no charset in its Content-Type |

These are HTTP/1 matters: over HTTP/2 they are ignored, as mod_http2 does.
",
    );
}

/// `-L`: httpd's format, one directive and its help text, then the module.
pub fn directives_list() -> String {
    let mut out = String::new();
    for (m, d) in registry::all_directives() {
        let name = if d.section {
            format!("<{}", d.name)
        } else {
            d.name.to_string()
        };
        let c = d.contexts;
        let allowed = if c.allows(Contexts::HTACCESS) {
            "Allowed in *.conf anywhere and in .htaccess"
        } else if c.allows(Contexts::DIRECTORY) && c.allows(Contexts::SERVER) {
            "Allowed in *.conf anywhere"
        } else if c.allows(Contexts::DIRECTORY) {
            "Allowed in *.conf only inside <Directory>, <Files>, <Location>, or <If>"
        } else {
            "Allowed in *.conf only outside <Directory>, <Files>, <Location>, or <If>"
        };
        let _ = writeln!(out, "{name} ({})", m.source);
        let _ = writeln!(out, "\t{}", d.help);
        let _ = writeln!(out, "\t{allowed}");
    }
    out
}
