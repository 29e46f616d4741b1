//! mod_cgi / mod_cgid: the `cgi-script` handler. The script runs as a child of the worker
//! (already the server's User) in its own directory, with the CGI environment mod_proxy_fcgi
//! builds too; the request body goes to its stdin as it arrives, its head is read as httpd's
//! ap_scan_script_header_err does (shared with FastCGI), its output streams to the client,
//! its stderr goes to the error log line by line. Both modules behave as mod_cgi: there is
//! no cgid daemon (a fork from a worker is safe here, see `sys`).

mod sys;

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use super::proxy::fcgi;
use super::proxy::ErrCtx;
use super::{Body, BodySink, Deferred, Framing, Request, Response, StreamBody};
use crate::config::dir::opt;
use crate::proto::h1::response::{error_page, ErrorInfo};

/// The note ScriptAlias leaves (httpd's `alias-forced-type`): the handler is `cgi-script`
/// and `Options ExecCGI` is not needed.
pub const FORCED_TYPE: &str = "alias-forced-type";
/// The URL prefix a ScriptAlias matched (CONTEXT_PREFIX).
pub const CONTEXT_PREFIX: &str = "context-prefix";
/// The directory it maps to (CONTEXT_DOCUMENT_ROOT).
pub const CONTEXT_ROOT: &str = "context-document-root";

/// A script's response head larger than this is refused (500).
const MAX_HEAD: usize = 64 * 1024;
/// How much output of a script whose output is not sent (HEAD, redirects) is read.
const MAX_DRAIN: usize = 16 << 20;
/// ISINDEX arguments passed at most (httpd's APACHE_ARG_MAX is the system's).
const MAX_ARGS: usize = 4096;

/// Logs under the loaded module's name (`[cgi:…]` or `[cgid:…]`).
macro_rules! cgi_log {
    ($cgid:expr, $lvl:ident, $($a:tt)+) => {
        if $cgid {
            crate::ap_log!($lvl, "cgid", $($a)+)
        } else {
            crate::ap_log!($lvl, "cgi", $($a)+)
        }
    };
}

/// Did ScriptAlias map this request (its handler is `cgi-script`)?
pub fn is_script_aliased(req: &Request<'_>) -> bool {
    req.notes
        .iter()
        .any(|(k, v)| *k == FORCED_TYPE && v == "cgi-script")
}

/// The previous request's URL path, kept by an internal redirect for the next one's
/// REDIRECT_URL (httpd's r->prev->uri).
pub const PREV_URL: &str = "redirect-url";
/// Its query, for REDIRECT_QUERY_STRING (r->prev->args).
pub const PREV_QUERY: &str = "redirect-query";

/// Notes the request's path and query before an internal redirect replaces them.
pub fn note_redirect(req: &mut Request<'_>) {
    req.notes
        .retain(|(k, _)| *k != PREV_URL && *k != PREV_QUERY);
    req.notes.push((PREV_URL, req.uri.clone()));
    if let Some(q) = &req.query {
        req.notes.push((PREV_QUERY, q.clone()));
    }
}

/// An internal redirect starts a new request: what ScriptAlias noted is gone.
pub fn forget(req: &mut Request<'_>) {
    req.notes
        .retain(|(k, _)| ![FORCED_TYPE, CONTEXT_PREFIX, CONTEXT_ROOT].contains(k));
}

/// What the error-log lines of one script name.
#[derive(Clone)]
struct LogCtx {
    cgid: bool,
    client: String,
    filename: String,
    /// The file name without its directory, as "End of script output before headers: x".
    base: String,
}

impl LogCtx {
    /// httpd's log_scripterror: the reason and the file; the status to answer.
    fn script_error(&self, status: u16, id: &str, why: &str) -> u16 {
        cgi_log!(
            self.cgid,
            error,
            "[client {}] {id}: stderr from {}: {why}",
            self.client,
            self.filename
        );
        status
    }

    /// The script ended (or failed to start) without a response head.
    fn no_head(&self) {
        cgi_log!(
            self.cgid,
            error,
            "[client {}] End of script output before headers: {}",
            self.client,
            self.base
        );
    }

    fn stderr_line(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\r', '\n']);
        cgi_log!(
            self.cgid,
            error,
            "[client {}] AH01215: stderr from {}: {text}",
            self.client,
            self.filename
        );
    }
}

/// The `cgi-script` handler: httpd's checks, then the script prepared to start once the
/// driver has the request body's length.
pub fn handler(req: &mut Request<'_>, resp: &mut Response) -> Result<(), u16> {
    let cgid = req.config.modules.contains(&"cgid");
    if !cgid && !req.config.modules.contains(&"cgi") {
        // No module answers `cgi-script`: httpd's default handler serves the file.
        return super::static_content(req, resp);
    }
    let filename = req.filename.to_string_lossy().into_owned();
    let base = filename.rsplit('/').next().unwrap_or("").to_string();
    let log = LogCtx {
        cgid,
        client: req.useragent.to_string(),
        filename,
        base,
    };
    // httpd's message numbers differ between the two modules.
    let ids = if cgid {
        ["AH01262", "AH01264", "AH01265", "AH01266"]
    } else {
        ["AH02809", "AH02811", "AH02812", "AH02813"]
    };
    if req.dir.options_bits() & opt::EXECCGI == 0 && !is_script_aliased(req) {
        return Err(log.script_error(403, ids[0], "Options ExecCGI is off in this directory"));
    }
    let Some(meta) = req.finfo.as_ref() else {
        return Err(log.script_error(404, ids[1], "script not found or unable to stat"));
    };
    if meta.is_dir() {
        return Err(log.script_error(403, ids[2], "attempt to invoke directory as script"));
    }
    if !req.path_info.is_empty() && req.dir.accept_path_info == Some(false) {
        return Err(log.script_error(404, ids[3], "AcceptPathInfo off disallows user's path"));
    }
    let script = fcgi::Script::for_request(req, log.filename.clone());
    let env = fcgi::environment(req, &script);
    let base_name = log.base.clone();
    let dir = req
        .filename
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| PathBuf::from("/"));
    let job = Job {
        program: req.filename.clone(),
        dir,
        args: isindex_args(req.query.as_deref()),
        env,
        timeout: req.dir.cgi_timeout.unwrap_or(req.server.timeout),
        nph: log.base.starts_with("nph-"),
        is_head: req.method_str == "HEAD",
        default_type: super::mime::find(&req.config.mime_types, &req.dir, &base_name).content_type,
        error_status: req.prev_status,
        limits: [
            req.dir.rlimit_cpu.map(|(s, h)| (libc::RLIMIT_CPU, s, h)),
            req.dir.rlimit_mem.map(|(s, h)| (libc::RLIMIT_AS, s, h)),
            req.dir
                .rlimit_nproc
                .map(|(s, h)| (libc::RLIMIT_NPROC, s, h)),
        ],
        errs: ErrCtx::new(req),
        log,
    };
    resp.deferred = Some(Deferred(Box::new(move |declared| job.start(declared))));
    Ok(())
}

/// httpd's ISINDEX arguments: a query without `=` is split at `+`, each word unescaped and
/// shell-escaped (ap_escape_shell_cmd: a backslash before each shell metacharacter).
fn isindex_args(query: Option<&str>) -> Vec<String> {
    let Some(q) = query.filter(|q| !q.is_empty() && !q.contains('=')) else {
        return Vec::new();
    };
    q.split('+')
        .take(MAX_ARGS)
        .map(|w| {
            let w = percent_encoding::percent_decode_str(w).decode_utf8_lossy();
            let mut out = String::with_capacity(w.len());
            for c in w.chars() {
                if "&;`'\"|*?~<>^()[]{}$\\\n".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        })
        .collect()
}

/// A script ready to start.
struct Job {
    program: PathBuf,
    dir: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    timeout: Duration,
    nph: bool,
    is_head: bool,
    /// The content type of the script's file (mod_mime), for output without one.
    default_type: Option<String>,
    /// The status of the error this script is the ErrorDocument of.
    error_status: Option<u16>,
    /// RLimitCPU, RLimitMEM, RLimitNPROC.
    limits: [Option<sys::Limit>; 3],
    errs: ErrCtx,
    log: LogCtx,
}

impl Job {
    /// Starts the script; the body sink feeds its stdin. CONTENT_LENGTH is the client's
    /// field (a chunked body has none, as with httpd); an HTTP/2 body of known length
    /// without the field gets it from `declared`.
    fn start(mut self, declared: Option<u64>) -> Box<dyn BodySink> {
        if let Some(n) = declared.filter(|&n| n > 0) {
            if !self.env.iter().any(|(k, _)| k == "CONTENT_LENGTH") {
                self.env.push(("CONTENT_LENGTH".into(), n.to_string()));
            }
        }
        let mut cmd = Command::new(&self.program);
        let argv0 = self.log.base.clone();
        cmd.arg0(&argv0)
            .args(&self.args)
            .current_dir(&self.dir)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let run = match sys::spawn(&mut cmd, self.limits) {
            Ok(child) => Ok(Running::new(child, self.timeout, self.log.clone())),
            Err(e) => {
                let n = e.raw_os_error().unwrap_or(0);
                let desc = nix::errno::Errno::from_raw(n).desc();
                if self.log.cgid {
                    crate::ap_log!(
                        error,
                        "cgid",
                        "({n}){desc}: AH01241: exec of '{}' failed",
                        self.log.filename
                    );
                } else {
                    self.log.stderr_line(
                        format!("({n}){desc}: exec of '{}' failed", self.log.filename).as_bytes(),
                    );
                }
                self.log.no_head();
                Err(Box::new(self.errs.page(500, None)))
            }
        };
        Box::new(Stdin { job: self, run })
    }
}

/// The running script: its pipes (ours non-blocking), what its stderr left unfinished.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    err_line: Vec<u8>,
    timeout: Duration,
    log: LogCtx,
}

/// What a wait for the script ended with.
enum Ready {
    /// Our stdout end (or the stdin end, when writing) can go on.
    Go,
    TimedOut,
}

fn nonblocking(fd: BorrowedFd<'_>) {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    if let Ok(bits) = fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL) {
        let flags = OFlag::from_bits_truncate(bits) | OFlag::O_NONBLOCK;
        let _ = fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags));
    }
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl Running {
    fn new(mut child: Child, timeout: Duration, log: LogCtx) -> Running {
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        for fd in [
            stdin.as_ref().map(|s| s.as_fd()),
            stdout.as_ref().map(|s| s.as_fd()),
            stderr.as_ref().map(|s| s.as_fd()),
        ]
        .into_iter()
        .flatten()
        {
            nonblocking(fd);
        }
        Running {
            child,
            stdin,
            stdout,
            stderr,
            err_line: Vec::new(),
            timeout,
            log,
        }
    }

    /// Reads what stderr has, logging each complete line; at its end, the rest.
    fn pump_stderr(&mut self) {
        let Some(err) = self.stderr.as_mut() else {
            return;
        };
        let mut buf = [0u8; 4096];
        loop {
            match err.read(&mut buf) {
                Ok(0) => {
                    self.stderr = None;
                    if !self.err_line.is_empty() {
                        let line = std::mem::take(&mut self.err_line);
                        self.log.stderr_line(&line);
                    }
                    return;
                }
                Ok(n) => {
                    self.err_line.extend_from_slice(&buf[..n]);
                    while let Some(i) = memchr::memchr(b'\n', &self.err_line) {
                        let line: Vec<u8> = self.err_line.drain(..=i).collect();
                        self.log.stderr_line(&line);
                    }
                    if self.err_line.len() > 8192 {
                        let line = std::mem::take(&mut self.err_line);
                        self.log.stderr_line(&line);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if would_block(&e) => return,
                // A broken stderr is not watched again (poll would keep reporting it).
                Err(_) => {
                    self.stderr = None;
                    return;
                }
            }
        }
    }

    /// Logs what stderr still brings until it ends (the script is exiting), at most `within`.
    fn finish_stderr(&mut self, within: Duration) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let end = Instant::now() + within;
        while let Some(err) = self.stderr.as_ref() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
                .unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(err.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, ms) {
                Ok(0) => return,
                Ok(_) => self.pump_stderr(),
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return,
            }
        }
    }

    /// Waits until stdout is readable (`writing`: stdin writable), logging stderr meanwhile,
    /// at most the script timeout without any progress.
    fn wait(&mut self, writing: bool) -> Ready {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let deadline = Instant::now() + self.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ready::TimedOut;
            }
            let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
                .unwrap_or(PollTimeout::MAX);
            let main = if writing {
                self.stdin.as_ref().map(|s| (s.as_fd(), PollFlags::POLLOUT))
            } else {
                self.stdout.as_ref().map(|s| (s.as_fd(), PollFlags::POLLIN))
            };
            let Some((main_fd, main_ev)) = main else {
                return Ready::Go;
            };
            let (err_fd, count) = match self.stderr.as_ref() {
                Some(e) => (e.as_fd(), 2),
                None => (main_fd, 1),
            };
            let mut all = [
                PollFd::new(main_fd, main_ev),
                PollFd::new(err_fd, PollFlags::POLLIN),
            ];
            let fds = &mut all[..count];
            let n = match poll(fds, ms) {
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return Ready::Go,
            };
            if n == 0 {
                return Ready::TimedOut;
            }
            let main_ready = fds[0].revents().is_some_and(|r| !r.is_empty());
            let err_ready = fds
                .get(1)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty());
            if err_ready {
                self.pump_stderr();
            }
            if main_ready {
                return Ready::Go;
            }
        }
    }

    /// Writes request body bytes to the script's stdin. `false` once it cannot take more
    /// (it exited or closed stdin: the rest of the body is dropped, as httpd does).
    fn feed(&mut self, mut data: &[u8]) -> bool {
        while !data.is_empty() {
            let Some(stdin) = self.stdin.as_mut() else {
                return false;
            };
            match stdin.write(data) {
                Ok(n) => data = &data[n..],
                Err(e) if would_block(&e) => {
                    if let Ready::TimedOut = self.wait(true) {
                        self.stdin = None;
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.stdin = None;
                    return false;
                }
            }
        }
        true
    }

    /// Reads script output: `Ok(0)` at its end; a timeout is an error.
    fn read_out(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(out) = self.stdout.as_mut() else {
                return Ok(0);
            };
            match out.read(buf) {
                Ok(0) => {
                    self.stdout = None;
                    return Ok(0);
                }
                Ok(n) => return Ok(n),
                Err(e) if would_block(&e) => {
                    if let Ready::TimedOut = self.wait(false) {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads and drops the rest of the output (bounded), as httpd's discard_script_output.
    fn drain(&mut self) {
        let mut buf = [0u8; 8192];
        let mut n = 0;
        while n < MAX_DRAIN {
            match self.read_out(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
    }
}

impl Drop for Running {
    /// httpd's kill_after_timeout: a script still running once its output is done (or
    /// abandoned) gets SIGTERM, then SIGKILL 3 s later; either way it is reaped here.
    fn drop(&mut self) {
        self.stdin = None;
        self.stdout = None;
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let exited = |c: &mut Child, within: Duration| -> bool {
            let end = Instant::now() + within;
            let mut step = Duration::from_millis(1);
            loop {
                if !matches!(c.try_wait(), Ok(None)) {
                    return true;
                }
                if Instant::now() >= end {
                    return false;
                }
                std::thread::sleep(step);
                step = (step * 2).min(Duration::from_millis(100));
            }
        };
        if !exited(&mut self.child, Duration::from_millis(50)) {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            if !exited(&mut self.child, Duration::from_secs(3)) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        // What the script wrote to stderr last.
        self.pump_stderr();
        if !self.err_line.is_empty() {
            let line = std::mem::take(&mut self.err_line);
            self.log.stderr_line(&line);
        }
    }
}

/// The request body on its way to the script's stdin.
struct Stdin {
    job: Job,
    run: Result<Running, Box<Response>>,
}

impl BodySink for Stdin {
    fn data(&mut self, chunk: &[u8]) {
        if let Ok(r) = &mut self.run {
            r.feed(chunk);
        }
    }

    fn finish(self: Box<Self>, complete: bool) -> Response {
        let Stdin { job, run } = *self;
        let mut run = match run {
            Ok(r) => r,
            Err(page) => return *page,
        };
        if !complete {
            return Response::new(400);
        }
        run.stdin = None;
        job.respond(run)
    }
}

impl Job {
    /// Reads the script's head and turns it into the response; the rest streams.
    fn respond(self, mut run: Running) -> Response {
        let mut head: Vec<u8> = Vec::with_capacity(1024);
        let mut buf = [0u8; 8192];
        let end = loop {
            match run.read_out(&mut buf) {
                Ok(0) => break None,
                Ok(n) => {
                    head.extend_from_slice(&buf[..n]);
                    if let Some(end) = fcgi::head_end(&head) {
                        break Some(end);
                    }
                    if head.len() > MAX_HEAD {
                        break None;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    cgi_log!(
                        self.log.cgid,
                        warn,
                        "[client {}] AH01220: Timeout waiting for output from CGI script {}",
                        self.log.client,
                        self.log.filename
                    );
                    cgi_log!(
                        self.log.cgid,
                        error,
                        "[client {}] Script timed out before returning headers: {}",
                        self.log.client,
                        self.log.base
                    );
                    return self.errs.page(504, None);
                }
                Err(_) => break None,
            }
        };
        let Some((head_len, body_start)) = end else {
            // The script's last words on stderr come before the verdict, as in httpd's log.
            run.stdout = None;
            run.finish_stderr(Duration::from_millis(500));
            self.log.no_head();
            return self.errs.page(500, None);
        };
        if self.nph {
            return self.nph_response(run, head, body_start);
        }
        let rest = head[body_start..].to_vec();
        head.truncate(head_len);
        let bad = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .find(|l| !l.is_empty() && !l.contains(&b':'));
        if let Some(line) = bad {
            cgi_log!(
                self.log.cgid,
                error,
                "[client {}] malformed header from script '{}': Bad header: {}",
                self.log.client,
                self.log.base,
                String::from_utf8_lossy(line)
            );
            drop(run);
            return self.errs.page(500, None);
        }
        let (mut resp, length) = fcgi::parse_head(&head);
        if resp.content_type.is_none() {
            // httpd keeps the type mod_mime gave the script's own file name.
            resp.content_type = self.default_type.clone();
        }
        if let Some(st) = self.error_status {
            // An ErrorDocument script answers with the error's status unless it names one.
            let named = head
                .split(|&b| b == b'\n')
                .any(|l| l.len() > 7 && l[..7].eq_ignore_ascii_case(b"status:"));
            if !named {
                resp.status = st;
            }
        }
        if resp.status == 200 {
            if let Some(loc) = resp.header("Location").map(str::to_string) {
                // httpd: the output is dropped; a local path is served instead (a GET),
                // anything else is a 302 with its generated page.
                run.drain();
                drop(run);
                if loc.starts_with('/') {
                    let mut r = Response::new(200);
                    r.local_redirect = Some(loc);
                    return r;
                }
                let mut r = self.redirect_page(&loc);
                // The script's cookies stay on the redirect, before its Location (httpd
                // keeps them in err_headers_out).
                let cookies = resp
                    .headers
                    .into_iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case("Set-Cookie"));
                r.headers.splice(0..0, cookies);
                return r;
            }
        }
        let no_body = self.is_head || matches!(resp.status, 204 | 304) || resp.status < 200;
        let body = CgiBody {
            run,
            pending: rest,
            pos: 0,
        };
        if no_body {
            let mut body = body;
            body.run.drain();
            drop(body);
            if self.is_head {
                resp.head_only_body(length, Framing::Close);
            }
            return resp;
        }
        resp.body = Body::Stream(StreamBody(Box::new(body)), length);
        resp.framing = if length.is_some() {
            Framing::Length
        } else {
            Framing::Chunked
        };
        resp
    }

    /// httpd's 302 page for a script's absolute `Location`.
    fn redirect_page(&self, loc: &str) -> Response {
        let info = ErrorInfo {
            method: &self.errs.method,
            location: Some(loc),
            server_admin: &self.errs.server_admin,
            signature: &self.errs.signature,
            ..ErrorInfo::default()
        };
        let mut r = Response::new(302);
        r.headers.push(("Location".into(), loc.to_string()));
        r.body = Body::Bytes(error_page(302, &info).into_bytes());
        r.content_type = Some("text/html; charset=iso-8859-1".into());
        r.generated = true;
        r
    }

    /// An nph- script's output is the response: HTTP/1 sends its head as written, then its
    /// body as it comes; the status line and fields are parsed for the log and for HTTP/2
    /// (which sends them as a response of its own, as mod_http2 does).
    fn nph_response(self, run: Running, mut head: Vec<u8>, body_start: usize) -> Response {
        let rest = head.split_off(body_start);
        let first_end = memchr::memchr(b'\n', &head).unwrap_or(head.len());
        let status = std::str::from_utf8(&head[..first_end])
            .ok()
            .filter(|l| l.starts_with("HTTP/"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse::<u16>().ok())
            .filter(|c| (100..1000).contains(c))
            .unwrap_or(200);
        let fields = head.get(first_end + 1..).unwrap_or(&[]);
        let (mut resp, _) = fcgi::parse_head(fields);
        resp.status = status;
        resp.framing = Framing::Close;
        resp.body = Body::Stream(
            StreamBody(Box::new(CgiBody {
                run,
                pending: rest,
                pos: 0,
            })),
            None,
        );
        resp.nph_head = Some(head);
        resp
    }
}

/// The script's output after its head, read while the driver writes it.
struct CgiBody {
    run: Running,
    pending: Vec<u8>,
    pos: usize,
}

impl Read for CgiBody {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.pending.len() {
            let n = (self.pending.len() - self.pos).min(out.len());
            out[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
            self.pos += n;
            if self.pos == self.pending.len() {
                self.pending = Vec::new();
                self.pos = 0;
            }
            return Ok(n);
        }
        match self.run.read_out(out) {
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                cgi_log!(
                    self.run.log.cgid,
                    warn,
                    "[client {}] AH01220: Timeout waiting for output from CGI script {}",
                    self.run.log.client,
                    self.run.log.filename
                );
                Err(e)
            }
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isindex_arguments() {
        assert_eq!(isindex_args(Some("a+b%20c")), vec!["a", "b c"]);
        assert_eq!(isindex_args(Some("x;y")), vec!["x\\;y"]);
        assert!(isindex_args(Some("a=b")).is_empty());
        assert!(isindex_args(Some("")).is_empty());
        assert!(isindex_args(None).is_empty());
    }
}
