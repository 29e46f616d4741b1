//! One HTTP/2 connection: the h2 server handshake and the accept loop with the idle timeout.
//!
//! A stream without a request body whose handler is the static pipeline is answered in the
//! loop itself (the pipeline is a few file-system calls, like an event loop's); its response,
//! when it fits one DATA chunk, is queued at once. Anything else (a request body, a handler
//! that talks to the network, a large body sent within the peer's flow-control window) gets a
//! task of its own. Writes are batched (`batch`): the frames of all the streams answered in
//! one round leave in one write once the connection has nothing more to do.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::RecvStream;
use h2::SendStream;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::batch;
use super::glue::{self, RequestParts, ResponseBody, ResponseParts, Shared};
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
    let (io, flusher) = batch::batch(io);
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(settings.max_streams)
        .initial_window_size(settings.window_size)
        .initial_connection_window_size(settings.window_size.max(1 << 20))
        .max_header_list_size(64 * 1024);
    let handshake = async {
        let mut hs = std::pin::pin!(builder.handshake::<_, Bytes>(io));
        // The SETTINGS frame is buffered like any other write: push it out while waiting.
        std::future::poll_fn(|cx| match hs.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready(r.map_err(|e| e.to_string())),
            Poll::Pending => match flusher.poll_flush_now(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e.to_string())),
                _ => Poll::Pending,
            },
        })
        .await
    };
    let mut conn = match tokio::time::timeout(settings.timeout, handshake).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::debug!("{}: h2 handshake: {e}", shared.peer);
            return;
        }
        Err(_) => return,
    };
    let active = Arc::new(AtomicUsize::new(0));
    let mut closing = false;
    let mut wait = settings.idle_timeout;
    // One timer for the connection: streams only move `last`; the timer is re-armed when it
    // fires early.
    let mut last = Instant::now();
    let mut timer = std::pin::pin!(tokio::time::sleep(wait));
    let mut drain = std::pin::pin!(super::drain_signal());
    enum Ev<S> {
        Stream(S),
        Closed,
        Failed(String),
        Drain,
        Timer,
    }
    loop {
        if !closing && super::draining() {
            conn.graceful_shutdown();
            closing = true;
            wait = settings.timeout;
            last = Instant::now();
            timer.as_mut().reset(last + wait);
        }
        let ev = std::future::poll_fn(|cx| {
            match conn.poll_accept(cx) {
                Poll::Ready(Some(Ok(pair))) => return Poll::Ready(Ev::Stream(pair)),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Ev::Failed(e.to_string())),
                Poll::Ready(None) => return Poll::Ready(Ev::Closed),
                Poll::Pending => {}
            }
            // The connection is idle for now: everything it queued goes out in one write.
            if let Poll::Ready(Err(e)) = flusher.poll_flush_now(cx) {
                return Poll::Ready(Ev::Failed(e.to_string()));
            }
            if !closing && drain.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ev::Drain);
            }
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ev::Timer);
            }
            Poll::Pending
        })
        .await;
        match ev {
            Ev::Stream((req, respond)) => {
                last = Instant::now();
                start_stream(req, respond, &shared, &settings, &active);
            }
            Ev::Closed => break,
            Ev::Failed(e) => {
                tracing::debug!("{}: h2: {e}", shared.peer);
                break;
            }
            Ev::Drain => {}
            Ev::Timer => {
                let now = Instant::now();
                if last + wait > now {
                    timer.as_mut().reset(last + wait);
                    continue;
                }
                let idle = active.load(Ordering::Acquire) == 0;
                if closing && idle {
                    break;
                }
                if idle {
                    // Idle for KeepAliveTimeout: GOAWAY, then poll until the peer is gone.
                    conn.graceful_shutdown();
                    closing = true;
                    wait = settings.timeout;
                }
                last = now;
                timer.as_mut().reset(now + wait);
            }
        }
    }
    // Whatever the codec left (a GOAWAY before an error) goes out if the socket takes it.
    let _ = std::future::poll_fn(|cx| match flusher.poll_flush_now(cx) {
        Poll::Pending => Poll::Ready(Ok(())),
        r => r,
    })
    .await;
    if settings.serial {
        // prefork's runtime only runs while a connection is served: the tasks of streams the
        // peer left unfinished must end now (the dropped connection fails their sends), not
        // linger with their scoreboard slot shown busy until the next HTTP/2 connection.
        drop(conn);
        let deadline = Instant::now() + settings.timeout;
        while active.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

/// Answers a stream in place when it can (no request body, static pipeline), or starts a
/// task for it.
fn start_stream(
    req: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    shared: &Arc<Shared>,
    settings: &Settings,
    active: &Arc<AtomicUsize>,
) {
    let (parts, body) = req.into_parts();
    let serial = settings.serial;
    // The scoreboard slot reads `W` until this stream's response is out (or given up); the
    // guard goes with whichever task finishes the stream.
    let busy = shared.stream_busy();
    if body.is_end_stream() {
        let request = request_parts(parts, 0, Vec::new());
        let is_head = request.method == "HEAD";
        match glue::process(shared, request, !serial) {
            Ok(response) => {
                if let Some((send, first, rest)) = send_head(response, &mut respond, is_head) {
                    // More than one chunk: sent within the flow-control window by a task.
                    let active = active.clone();
                    active.fetch_add(1, Ordering::AcqRel);
                    tokio::spawn(async move {
                        send_rest(send, first, rest).await;
                        active.fetch_sub(1, Ordering::AcqRel);
                        drop(busy);
                    });
                }
            }
            Err(request) => {
                let active = active.clone();
                active.fetch_add(1, Ordering::AcqRel);
                let shared = shared.clone();
                tokio::spawn(async move {
                    pooled(*request, respond, shared, is_head).await;
                    active.fetch_sub(1, Ordering::AcqRel);
                    drop(busy);
                });
            }
        }
        return;
    }
    let active = active.clone();
    active.fetch_add(1, Ordering::AcqRel);
    let shared = shared.clone();
    tokio::spawn(async move {
        with_body(parts, body, respond, shared, serial).await;
        active.fetch_sub(1, Ordering::AcqRel);
        drop(busy);
    });
}

fn request_parts(parts: http::request::Parts, body_len: u64, body: Vec<u8>) -> RequestParts {
    RequestParts {
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
        body,
    }
}

/// A stream with a request body: read it (bounded by the window we grant), then answer.
async fn with_body(
    parts: http::request::Parts,
    mut body: RecvStream,
    mut respond: SendResponse<Bytes>,
    shared: Arc<Shared>,
    serial: bool,
) {
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
    let request = request_parts(parts, body_len, kept);
    let is_head = request.method == "HEAD";
    // prefork runs a network handler in place, one request at a time, as httpd does there.
    match glue::process(&shared, request, !serial) {
        Ok(response) => respond_with(response, &mut respond, is_head).await,
        Err(request) => pooled(*request, respond, shared, is_head).await,
    }
}

/// A handler that talks to the network (mod_proxy) runs on the blocking pool so that it
/// cannot stall the other streams.
async fn pooled(
    request: RequestParts,
    mut respond: SendResponse<Bytes>,
    shared: Arc<Shared>,
    is_head: bool,
) {
    let s = shared.clone();
    match tokio::task::spawn_blocking(move || glue::process(&s, request, false)).await {
        Ok(Ok(r)) => respond_with(r, &mut respond, is_head).await,
        _ => respond.send_reset(h2::Reason::INTERNAL_ERROR),
    }
}

async fn respond_with(response: ResponseParts, respond: &mut SendResponse<Bytes>, is_head: bool) {
    if let Some((send, first, rest)) = send_head(response, respond, is_head) {
        send_rest(send, first, rest).await;
    }
}

/// Sends the HEADERS frame and, when the body is one chunk, the body with it. Otherwise
/// returns the stream, the first chunk and the rest for `send_rest`.
fn send_head(
    response: ResponseParts,
    respond: &mut SendResponse<Bytes>,
    is_head: bool,
) -> Option<(SendStream<Bytes>, Bytes, ResponseBody)> {
    let mut map = http::HeaderMap::with_capacity(response.headers.len());
    for (n, v) in response.headers {
        // Connection-specific fields are not allowed in HTTP/2 (RFC 9113 §8.2.2).
        if [
            "connection",
            "keep-alive",
            "transfer-encoding",
            "upgrade",
            "proxy-connection",
        ]
        .iter()
        .any(|c| n.eq_ignore_ascii_case(c))
        {
            continue;
        }
        let name = http::HeaderName::from_bytes(n.as_bytes());
        let value = http::HeaderValue::from_maybe_shared(Bytes::from(v));
        match (name, value) {
            (Ok(name), Ok(value)) => {
                map.append(name, value);
            }
            _ => {
                respond.send_reset(h2::Reason::INTERNAL_ERROR);
                return None;
            }
        }
    }
    let Ok(status) = http::StatusCode::from_u16(response.status) else {
        respond.send_reset(h2::Reason::INTERNAL_ERROR);
        return None;
    };
    let mut head = http::Response::new(());
    *head.status_mut() = status;
    *head.headers_mut() = map;
    let empty = is_head || response.body.is_empty();
    let mut send = respond.send_response(head, empty).ok()?;
    if empty {
        return None;
    }
    let mut body = response.body;
    let first = match body.next_chunk(CHUNK) {
        Some(c) => Bytes::from(c),
        None => {
            let _ = send.send_data(Bytes::new(), true);
            return None;
        }
    };
    if body.is_empty() && first.len() <= CHUNK {
        // One chunk: queued whole (h2 holds it until the window allows), END_STREAM on it.
        let _ = send.send_data(first, true);
        return None;
    }
    Some((send, first, body))
}

/// Sends the body chunk by chunk within the peer's flow-control window.
async fn send_rest(mut send: SendStream<Bytes>, first: Bytes, mut body: ResponseBody) {
    let mut next = Some(first);
    while let Some(mut data) = next.take() {
        // The last DATA frame carries END_STREAM (no empty frame after it).
        let last = body.is_empty();
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
        next = body.next_chunk(CHUNK).map(Bytes::from);
    }
    let _ = send.send_data(Bytes::new(), true);
}
