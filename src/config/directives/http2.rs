//! mod_http2: parsed only for now (the h2 engine reads `Protocols`; these tune it later).

use super::po;
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef};

const R: C = C::SERVER_VHOST;
const D: C = C::ALL_BUT_HTACCESS;

pub static DIRECTIVES: &[DirectiveDef] = &[
    po("H2Direct", Flag, R, "on to enable direct HTTP/2 mode"),
    po(
        "H2MaxSessionStreams",
        Take1,
        R,
        "maximum number of open streams per session",
    ),
    po("H2WindowSize", Take1, R, "window size on client DATA"),
    po(
        "H2MinWorkers",
        Take1,
        C::SERVER,
        "minimum number of worker threads per child",
    ),
    po(
        "H2MaxWorkers",
        Take1,
        C::SERVER,
        "maximum number of worker threads per child",
    ),
    po(
        "H2MaxWorkerIdleSeconds",
        Take1,
        C::SERVER,
        "maximum number of idle seconds before a worker shuts down",
    ),
    po(
        "H2StreamMaxMemSize",
        Take1,
        R,
        "maximum number of bytes buffered in memory for a stream",
    ),
    po(
        "H2SerializeHeaders",
        Flag,
        R,
        "on to enable header serialization for compatibility",
    ),
    po(
        "H2ModernTLSOnly",
        Flag,
        R,
        "off to not impose RFC 7540 restrictions on TLS",
    ),
    po(
        "H2Upgrade",
        Flag,
        D,
        "on to allow HTTP/1 Upgrades to h2/h2c",
    ),
    po(
        "H2MaxDataFrameLen",
        Take1,
        R,
        "maximum number of bytes in a single HTTP/2 DATA frame",
    ),
    po(
        "H2SessionExtraFiles",
        Take1,
        R,
        "number of extra file a session might keep open (obsolete)",
    ),
    po(
        "H2TLSWarmUpSize",
        Take1,
        R,
        "number of bytes on TLS connection before doing max writes",
    ),
    po(
        "H2TLSCoolDownSecs",
        Take1,
        R,
        "seconds of idle time on TLS before shrinking writes",
    ),
    po("H2Push", Flag, D, "off to disable HTTP/2 server push"),
    po(
        "H2PushPriority",
        Take123,
        R,
        "define priority of PUSHed resources per content type",
    ),
    po("H2PushDiarySize", Take1, R, "size of push diary"),
    po("H2CopyFiles", Flag, D, "on to perform copy of file data"),
    po(
        "H2PushResource",
        Take12,
        D,
        "add a resource to be pushed in this location/on this server.",
    ),
    po(
        "H2EarlyHints",
        Flag,
        R,
        "on to enable interim status 103 responses",
    ),
    po("H2Padding", Take1, R, "set payload padding"),
    po(
        "H2OutputBuffering",
        Flag,
        R,
        "set stream output buffer on/off",
    ),
    po("H2StreamTimeout", Take1, D, "set stream timeout"),
    po(
        "H2MaxHeaderBlockLen",
        Take1,
        R,
        "set maximum len of a header block",
    ),
    po(
        "H2EarlyHint",
        Take2,
        D,
        "add a a 'Link:' header for a 103 Early Hints response.",
    ),
    po(
        "H2ProxyRequests",
        Flag,
        D,
        "Enable forward proxy requests via HTTP/2",
    ),
];
