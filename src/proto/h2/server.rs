//! One HTTP/2 connection: the h2 server handshake, the accept loop with the idle timeout, and
//! one task per stream (request body drained, pipeline on the blocking pool, response sent
//! within the peer's flow-control window).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::RecvStream;
use tokio::io::{AsyncRead, AsyncWrite};

use super::glue::{self, RequestParts, Shared};
use super::tls_io::TlsIo;
use super::upgrade::{self, Prefixed, Upgraded};
use super::Settings;

/// Largest DATA chunk we queue at once.
const CHUNK: usize = 16 * 1024;

pub async fn serve_connection(
    stream: std::net::TcpStream,
    tls: Option<rustls::ServerConnection>,
    upgraded: Option<(Upgraded, Vec<u8>)>,
    settings: Settings,
    shared: Arc<Shared>,
) {
    let _live = super::Live::enter();
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let Ok(tcp) = tokio::net::TcpStream::from_std(stream) else {
        return;
    };
    match (tls, upgraded) {
        (Some(conn), _) => run(TlsIo::new(conn, tcp), settings, shared).await,
        (None, Some((up, early))) => {
            let mut tcp = tcp;
            let spliced =
                tokio::time::timeout(settings.timeout, upgrade::splice(&mut tcp, early, &up)).await;
            match spliced {
                Ok(Ok(prefix)) => run(Prefixed::new(prefix, tcp), settings, shared).await,
                Ok(Err(e)) => tracing::debug!("{}: h2c upgrade: {e}", shared.peer),
                Err(_) => {}
            }
        }
        (None, None) => run(tcp, settings, shared).await,
    }
}

async fn run<T>(io: T, settings: Settings, shared: Arc<Shared>)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(settings.max_streams)
        .initial_window_size(settings.window_size)
        .initial_connection_window_size(settings.window_size.max(1 << 20))
        .max_header_list_size(64 * 1024);
    let mut conn = match tokio::time::timeout(settings.timeout, builder.handshake(io)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::debug!("{}: h2 handshake: {e}", shared.peer);
            return;
        }
        Err(_) => return,
    };
    let active = Arc::new(AtomicUsize::new(0));
    let mut closing = false;
    loop {
        if !closing && super::draining() {
            conn.graceful_shutdown();
            closing = true;
        }
        let wait = if closing {
            settings.timeout
        } else {
            settings.idle_timeout
        };
        let next = tokio::select! {
            r = tokio::time::timeout(wait, conn.accept()) => r,
            _ = super::drain_signal(), if !closing => continue,
        };
        let next = match next {
            Ok(n) => n,
            Err(_) => {
                let idle = active.load(Ordering::Acquire) == 0;
                if closing && idle {
                    break;
                }
                if idle {
                    // Idle for KeepAliveTimeout: GOAWAY, then poll until the peer is gone.
                    conn.graceful_shutdown();
                    closing = true;
                }
                continue;
            }
        };
        let Some(next) = next else { break };
        let (req, respond) = match next {
            Ok(pair) => pair,
            Err(e) => {
                tracing::debug!("{}: h2: {e}", shared.peer);
                break;
            }
        };
        active.fetch_add(1, Ordering::AcqRel);
        let active = active.clone();
        let shared = shared.clone();
        let serial = settings.serial;
        tokio::spawn(async move {
            stream(req, respond, shared, serial).await;
            active.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

async fn stream(
    req: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    shared: Arc<Shared>,
    serial: bool,
) {
    let (parts, mut body) = req.into_parts();
    // The static pipeline does not read request bodies: count them (and keep a bounded copy
    // for a deferred handler), bounded by the flow-control window we grant.
    let mut body_len = 0u64;
    // Kept (up to a bound) for a handler that reads it (mod_proxy, PHP-FPM).
    let mut kept = Vec::new();
    while let Some(chunk) = body.data().await {
        match chunk {
            Ok(b) => {
                body_len += b.len() as u64;
                if kept.len() + b.len() <= glue::KEEP_BODY {
                    kept.extend_from_slice(&b);
                }
                let _ = body.flow_control().release_capacity(b.len());
            }
            Err(_) => return,
        }
    }
    let request = RequestParts {
        method: parts.method.as_str().to_string(),
        path: parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into()),
        authority: parts.uri.authority().map(|a| a.as_str().to_string()),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
            .collect(),
        body_len,
        body: kept,
    };
    let is_head = request.method == "HEAD";
    // The static pipeline runs here on the runtime thread (a few file-system calls, like an
    // event loop's): no thread hand-off per stream. A handler that talks to the network
    // (mod_proxy) goes to the blocking pool so that it cannot stall the other streams;
    // prefork runs it in place, one request at a time, as httpd does there.
    let response = match glue::process(&shared, request, !serial) {
        Ok(r) => r,
        Err(request) => {
            let s = shared.clone();
            match tokio::task::spawn_blocking(move || glue::process(&s, *request, false)).await {
                Ok(Ok(r)) => r,
                _ => {
                    respond.send_reset(h2::Reason::INTERNAL_ERROR);
                    return;
                }
            }
        }
    };
    let mut head = http::Response::builder().status(response.status);
    for (n, v) in &response.headers {
        // Connection-specific fields are not allowed in HTTP/2 (RFC 9113 §8.2.2).
        if matches!(
            n.to_ascii_lowercase().as_str(),
            "connection" | "keep-alive" | "transfer-encoding" | "upgrade" | "proxy-connection"
        ) {
            continue;
        }
        head = head.header(n.as_str(), v.as_str());
    }
    let Ok(head) = head.body(()) else {
        respond.send_reset(h2::Reason::INTERNAL_ERROR);
        return;
    };
    let empty = is_head || response.body.is_empty();
    let Ok(mut send) = respond.send_response(head, empty) else {
        return;
    };
    if empty {
        return;
    }
    let mut body = response.body;
    while let Some(chunk) = body.next_chunk(CHUNK) {
        // The last DATA frame carries END_STREAM (no empty frame after it).
        let last = body.is_empty();
        let mut data = Bytes::from(chunk);
        while !data.is_empty() {
            send.reserve_capacity(data.len());
            let cap = match std::future::poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(Ok(n)) => n,
                _ => return,
            };
            if cap == 0 {
                continue;
            }
            let piece = data.split_to(cap.min(data.len()));
            if send.send_data(piece, last && data.is_empty()).is_err() {
                return;
            }
        }
        if last {
            return;
        }
    }
    let _ = send.send_data(Bytes::new(), true);
}
