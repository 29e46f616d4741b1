//! THROWAWAY: a minimal HTTP/1.1 stand-in for `conn::drive` so the engines can be exercised
//! before the HTTP helper's driver lands. Deleted once `crate::conn::drive` exists.

use std::io::{Read, Write};

use crate::conn::{ConnOutcome, Connection, ServeCtx};
use crate::scoreboard::WorkerState;

pub fn drive(conn: &mut Connection, ctx: &ServeCtx<'_>) -> ConnOutcome {
    let cfg = &ctx.config.main;
    let _ = conn.stream.set_read_timeout(Some(cfg.timeout));
    loop {
        ctx.observer.state(WorkerState::BusyRead);
        // read a head
        let end = loop {
            if let Some(p) = memchr::memmem::find(&conn.read_buf, b"\r\n\r\n") {
                break p + 4;
            }
            if conn.read_buf.len() > 16384 {
                return ConnOutcome::Close;
            }
            let mut buf = [0u8; 4096];
            match conn.stream.read(&mut buf) {
                Ok(0) => return ConnOutcome::Close,
                Ok(n) => conn.read_buf.extend_from_slice(&buf[..n]),
                Err(_) => return ConnOutcome::Close,
            }
        };
        let head: Vec<u8> = conn.read_buf.drain(..end).collect();
        let text = String::from_utf8_lossy(&head).to_string();
        let line = text.lines().next().unwrap_or("").to_string();
        ctx.observer.request_start(line.as_bytes(), "localhost:80");
        let mut parts = line.split(' ');
        let _method = parts.next().unwrap_or("");
        let path = parts.next().unwrap_or("/");
        let version = parts.next().unwrap_or("HTTP/1.0");
        let lower = text.to_ascii_lowercase();
        let close_asked = lower.contains("connection: close");
        ctx.observer.state(WorkerState::BusyWrite);
        let (status, body) = if let Some(ms) = path.strip_prefix("/sleep/") {
            let ms: u64 = ms.parse().unwrap_or(0).min(10_000);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            ("200 OK", b"slept\n".to_vec())
        } else {
            let p = cfg.document_root.join(path.trim_start_matches('/'));
            match std::fs::read(&p) {
                Ok(b) => ("200 OK", b),
                Err(_) => ("404 Not Found", b"not found\n".to_vec()),
            }
        };
        let keep = cfg.keep_alive && version == "HTTP/1.1" && !close_asked && !ctx.stopping;
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nX-Pid: {}\r\n{}\r\n",
            body.len(),
            std::process::id(),
            if keep { "" } else { "Connection: close\r\n" }
        );
        let mut out = resp.into_bytes();
        out.extend_from_slice(&body);
        if conn.stream.write_all(&out).is_err() {
            return ConnOutcome::Close;
        }
        ctx.observer.state(WorkerState::BusyLog);
        ctx.observer.request_done(out.len() as u64);
        conn.requests_served += 1;
        if !keep {
            return ConnOutcome::Linger;
        }
        if conn.read_buf.is_empty() {
            return ConnOutcome::KeepAlive;
        }
    }
}
