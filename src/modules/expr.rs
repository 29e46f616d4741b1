//! The request side of `<If>` expressions: the variables, headers and environment
//! `crate::config::expr` asks for, as httpd's ap_expr gives them at the time `<If>` sections
//! are merged (after the Location walk, before access checks: no authenticated user yet).

use std::net::IpAddr;

use super::log_config::sys::local_time;
use super::request::Request;
use crate::config::expr::Env;

/// `%{TIME}` and `%{TIME_*}` at `secs`, in local time (httpd's apr_time_exp_lt: the TZ of
/// the server's environment applies), as ap_expr and mod_rewrite give them; empty for any
/// other name.
pub(crate) fn time_var(name: &str, secs: i64) -> String {
    let t = local_time(secs);
    match name {
        "TIME_YEAR" => format!("{:04}", t.year),
        "TIME_MON" => format!("{:02}", t.mon + 1),
        "TIME_DAY" => format!("{:02}", t.mday),
        "TIME_HOUR" => format!("{:02}", t.hour),
        "TIME_MIN" => format!("{:02}", t.min),
        "TIME_SEC" => format!("{:02}", t.sec),
        "TIME_WDAY" => t.wday.to_string(),
        "TIME" => format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            t.year,
            t.mon + 1,
            t.mday,
            t.hour,
            t.min,
            t.sec
        ),
        _ => String::new(),
    }
}

impl Env for Request<'_> {
    fn var(&self, name: &str) -> String {
        let https = self.config.tls.port_for(self.local).is_some();
        // ap_expr notes the header in Vary whether the request has it or not.
        let h = |n: &str| {
            self.add_vary(n);
            self.header_in(n).unwrap_or("").to_string()
        };
        match name {
            "HTTP_ACCEPT" => h("Accept"),
            "HTTP_COOKIE" => h("Cookie"),
            "HTTP_FORWARDED" => h("Forwarded"),
            "HTTP_HOST" => h("Host"),
            "HTTP_PROXY_CONNECTION" => h("Proxy-Connection"),
            "HTTP_REFERER" => h("Referer"),
            "HTTP_USER_AGENT" => h("User-Agent"),
            "REQUEST_METHOD" => self.method_str.to_string(),
            "SCRIPT_FILENAME" | "REQUEST_FILENAME" => self.filename.to_string_lossy().into_owned(),
            "REMOTE_HOST" | "REMOTE_ADDR" => self.useragent.ip().to_canonical().to_string(),
            "CONN_REMOTE_ADDR" => self.peer.ip().to_canonical().to_string(),
            "SERVER_NAME" => match &self.hostname {
                Some(n) if !n.is_empty() => n.clone(),
                _ => self.server.server_name.clone().unwrap_or_default(),
            },
            "SERVER_PORT" => match &self.hostname {
                Some(n) if !n.is_empty() => self
                    .host_port
                    .unwrap_or(if https { 443 } else { 80 })
                    .to_string(),
                _ => self.local.port().to_string(),
            },
            "SERVER_ADMIN" => self.server.server_admin.clone().unwrap_or_default(),
            "SERVER_PROTOCOL" => self.head.protocol().to_string(),
            "DOCUMENT_ROOT" | "CONTEXT_DOCUMENT_ROOT" => {
                self.server.document_root.to_string_lossy().into_owned()
            }
            "HTTPS" => if https { "on" } else { "off" }.to_string(),
            "IPV6" => match self.useragent.ip().to_canonical() {
                IpAddr::V6(_) => "on",
                IpAddr::V4(_) => "off",
            }
            .to_string(),
            "HTTP2" => if self.head.h2 { "on" } else { "off" }.to_string(),
            "REQUEST_SCHEME" => if https { "https" } else { "http" }.to_string(),
            "REQUEST_URI" | "DOCUMENT_URI" => self.uri.clone(),
            // No response yet (`<If>`, `RequestHeader` in fixups): httpd's r->status is 200.
            "REQUEST_STATUS" => "200".to_string(),
            "IS_SUBREQ" => "false".to_string(),
            "REMOTE_PORT" => self.useragent.port().to_string(),
            "QUERY_STRING" => self.query.clone().unwrap_or_default(),
            "THE_REQUEST" => String::from_utf8_lossy(self.head.request_line()).into_owned(),
            "PATH_INFO" => self.path_info.clone(),
            "SERVER_SOFTWARE" => super::banner(self.config.server_tokens).to_string(),
            "API_VERSION" => "20120211:142".to_string(),
            "TIME" | "TIME_YEAR" | "TIME_MON" | "TIME_DAY" | "TIME_HOUR" | "TIME_MIN"
            | "TIME_SEC" | "TIME_WDAY" => time_var(name, self.time as i64),
            // Set later in httpd's request cycle than <If> is evaluated (REMOTE_USER,
            // AUTH_TYPE, CONTENT_TYPE, HANDLER) or not kept by mpmd (CONTEXT_PREFIX).
            _ => String::new(),
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        self.header_in(name).map(str::to_string)
    }

    fn vary(&self, name: &str) {
        self.add_vary(name);
    }

    fn req_env(&self, name: &str) -> Option<String> {
        self.env_var(name).map(str::to_string)
    }

    fn remote_ip(&self) -> IpAddr {
        self.useragent.ip().to_canonical()
    }

    fn note(&self, name: &str) -> Option<String> {
        self.notes
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }

    fn ssl_var(&self, name: &str) -> Option<String> {
        super::ssl::var(self.https, self.ssl, name).map(|v| v.into_owned())
    }
}
