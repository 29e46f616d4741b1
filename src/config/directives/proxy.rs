//! mod_proxy and its scheme modules: parsed only for now. `<Proxy>`/`<ProxyMatch>` are built
//! as sections by the walk; `ProxyRequests On` (a forward proxy) is refused, not ignored.

use super::{po, section, un};
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support};

const R: C = C::SERVER_VHOST;
const D: C = C::ALL_BUT_HTACCESS;

pub static DIRECTIVES: &[DirectiveDef] = &[
    section("Proxy", R, Support::ParsedOnly, "Container for directives affecting resources located in the proxied location"),
    section("ProxyMatch", R, Support::ParsedOnly, "Container for directives affecting resources located in the proxied location, in regular expression syntax"),
    po("ProxyPass", RawArgs, D, "a virtual path and a URL"),
    po("ProxyPassMatch", RawArgs, D, "a virtual path and a URL"),
    po("ProxyPassReverse", Take123, D, "a virtual path and a URL for reverse proxy behaviour"),
    po("ProxyPassReverseCookieDomain", Take23, D, "Path rewrite rule for proxying cookies"),
    po("ProxyPassReverseCookiePath", Take23, D, "Path rewrite rule for proxying cookies"),
    po("ProxyPreserveHost", Flag, D, "on if we should preserve host header while proxying"),
    po("ProxyTimeout", Take1, R, "Set the timeout (in seconds) for a proxied connection. This overrides the server timeout"),
    un("ProxyRequests", Flag, R, "on if the true proxy requests should be accepted"),
    po("ProxySet", RawArgs, D, "A balancer or worker name with list of params"),
    po("ProxyStatus", Take1, R, "Configure Status: proxy status to one of: on | off | full"),
    po("ProxyVia", Take1, R, "Configure Via: proxy header header to one of: on | off | block | full"),
    po("ProxyErrorOverride", Take12, D, "use our error handling pages instead of the servers' we are proxying"),
    po("ProxyAddHeaders", Flag, D, "on if X-Forwarded-* headers should be added or completed"),
    po("ProxyIOBufferSize", Take1, R, "IO buffer size for outgoing HTTP and FTP connections in bytes"),
    po("ProxyReceiveBufferSize", Take1, R, "Receive buffer size for outgoing HTTP and FTP connections in bytes"),
    po("ProxyMaxForwards", Take1, R, "Number of hops a request can make through the proxy"),
    po("ProxyBadHeader", Take1, R, "How to handle bad header line in response: IsError | Ignore | StartBody"),
    po("ProxyRemote", Take2, R, "a scheme, partial URL or '*' and a proxy server"),
    po("ProxyRemoteMatch", Take2, R, "a regex pattern and a proxy server"),
    un("ProxyBlock", RawArgs, R, "A list of names, hosts or domains to which the proxy will not connect"),
    po("ProxySourceAddress", Take1, R, "Configure local source IP used for request forward"),
    po("ProxyHCExpr", Take2, R, "Define a health check condition ruleset expression"),
    po("BalancerMember", RawArgs, D, "A balancer name and scheme with list of params"),
    po("BalancerGrowth", Take1, R, "Number of additional Balancers that can be added post-config"),
    po("BalancerPersist", Flag, R, "on if the balancer should persist changes on reboot/restart made via the Balancer Manager"),
    po("BalancerInherit", Flag, R, "on if this server should inherit Balancers and Workers defined in the main server"),
    po("ProxyPassInherit", Flag, R, "on if this server should inherit all ProxyPass directives defined in the main server"),
    po("ProxyPassInterpolateEnv", Flag, D, "Interpolate Env Vars in reverse Proxy"),
];

/// mod_proxy_fcgi.
pub static FCGI: &[DirectiveDef] = &[
    po(
        "ProxyFCGIBackendType",
        Take1,
        D,
        "Specify the type of FastCGI server: 'Generic', 'FPM'",
    ),
    po(
        "ProxyFCGISetEnvIf",
        Take23,
        D,
        "expr-condition env-name expr-value",
    ),
];
