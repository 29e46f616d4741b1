//! Which `AllowOverride` class lets a directive appear in `.htaccess` (httpd's `OR_*` bits),
//! for every directive httpd allows there. The data is what `apache2 -L` reports ("when
//! AllowOverride includes FileInfo" …) for the modules mpmd has.

/// A set of AllowOverride classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Override(pub u8);

impl Override {
    pub const AUTH_CONFIG: Override = Override(1);
    pub const FILE_INFO: Override = Override(2);
    pub const INDEXES: Override = Override(4);
    pub const LIMIT: Override = Override(8);
    pub const OPTIONS: Override = Override(16);
    /// `OR_ALL`: allowed whenever AllowOverride is not None.
    pub const ANY: Override = Override(31);

    /// True when `allowed` (what AllowOverride grants) includes one of these classes.
    pub fn permitted_by(self, allowed: Override) -> bool {
        self.0 & allowed.0 != 0
    }

    /// `AllowOverride` keyword → class (`All` is every class, `None` none).
    pub fn from_keyword(word: &str) -> Option<Override> {
        Some(match word.to_ascii_lowercase().as_str() {
            "authconfig" => Override::AUTH_CONFIG,
            "fileinfo" => Override::FILE_INFO,
            "indexes" => Override::INDEXES,
            "limit" => Override::LIMIT,
            "options" => Override::OPTIONS,
            "all" => Override::ANY,
            "none" => Override(0),
            _ => return None,
        })
    }
}

/// The class that allows `directive` (case-insensitive; sections without `<`) in .htaccess,
/// `None` when httpd never allows it there.
pub fn override_class(directive: &str) -> Option<Override> {
    let name = directive.trim_start_matches('<');
    CLASSES
        .binary_search_by(|(d, _)| cmp_ignore_case(d, name))
        .ok()
        .map(|i| CLASSES[i].1)
}

fn cmp_ignore_case(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// Sorted case-insensitively for the binary search.
static CLASSES: &[(&str, Override)] = &[
    ("AcceptPathInfo", Override(Override::FILE_INFO.0)),
    ("AddAlt", Override(Override::INDEXES.0)),
    ("AddAltByEncoding", Override(Override::INDEXES.0)),
    ("AddAltByType", Override(Override::INDEXES.0)),
    ("AddCharset", Override(Override::FILE_INFO.0)),
    ("AddDefaultCharset", Override(Override::FILE_INFO.0)),
    ("AddDescription", Override(Override::INDEXES.0)),
    ("AddEncoding", Override(Override::FILE_INFO.0)),
    ("AddHandler", Override(Override::FILE_INFO.0)),
    ("AddIcon", Override(Override::INDEXES.0)),
    ("AddIconByEncoding", Override(Override::INDEXES.0)),
    ("AddIconByType", Override(Override::INDEXES.0)),
    ("AddInputFilter", Override(Override::FILE_INFO.0)),
    ("AddLanguage", Override(Override::FILE_INFO.0)),
    ("AddOutputFilter", Override(Override::FILE_INFO.0)),
    ("AddOutputFilterByType", Override(Override::FILE_INFO.0)),
    ("AddType", Override(Override::FILE_INFO.0)),
    ("AliasPreservePath", Override(Override::FILE_INFO.0)),
    ("allow", Override(Override::LIMIT.0)),
    ("AuthBasicAuthoritative", Override(Override::AUTH_CONFIG.0)),
    ("AuthBasicFake", Override(Override::AUTH_CONFIG.0)),
    ("AuthBasicProvider", Override(Override::AUTH_CONFIG.0)),
    (
        "AuthBasicUseDigestAlgorithm",
        Override(Override::AUTH_CONFIG.0),
    ),
    ("AuthMerging", Override(Override::AUTH_CONFIG.0)),
    ("AuthName", Override(Override::AUTH_CONFIG.0)),
    ("AuthType", Override(Override::AUTH_CONFIG.0)),
    ("AuthUserFile", Override(Override::AUTH_CONFIG.0)),
    (
        "AuthzSendForbiddenOnFailure",
        Override(Override::AUTH_CONFIG.0),
    ),
    ("BrowserMatch", Override(Override::FILE_INFO.0)),
    ("BrowserMatchNoCase", Override(Override::FILE_INFO.0)),
    ("CGIPassAuth", Override(Override::AUTH_CONFIG.0)),
    ("CGIVar", Override(Override::FILE_INFO.0)),
    ("ContentDigest", Override(Override::OPTIONS.0)),
    ("DefaultIcon", Override(Override::INDEXES.0)),
    ("DefaultLanguage", Override(Override::FILE_INFO.0)),
    ("DefaultType", Override(Override::FILE_INFO.0)),
    ("DeflateInflateLimitRequestBody", Override(Override::ANY.0)),
    ("DeflateInflateRatioBurst", Override(Override::ANY.0)),
    ("DeflateInflateRatioLimit", Override(Override::ANY.0)),
    ("deny", Override(Override::LIMIT.0)),
    ("DirectoryCheckHandler", Override(Override::INDEXES.0)),
    ("DirectoryIndex", Override(Override::INDEXES.0)),
    ("DirectoryIndexRedirect", Override(Override::INDEXES.0)),
    ("DirectorySlash", Override(Override::INDEXES.0)),
    ("Else", Override(Override::ANY.0)),
    ("ElseIf", Override(Override::ANY.0)),
    ("EnableMMAP", Override(Override::FILE_INFO.0)),
    ("EnableSendfile", Override(Override::FILE_INFO.0)),
    ("Error", Override(Override::ANY.0)),
    ("ErrorDocument", Override(Override::FILE_INFO.0)),
    ("ExpiresActive", Override(Override::INDEXES.0)),
    ("ExpiresByType", Override(Override::INDEXES.0)),
    ("ExpiresDefault", Override(Override::INDEXES.0)),
    ("FallbackResource", Override(Override::INDEXES.0)),
    ("FancyIndexing", Override(Override::ANY.0)),
    ("FileETag", Override(Override::FILE_INFO.0)),
    ("Files", Override(Override::ANY.0)),
    ("FilesMatch", Override(Override::ANY.0)),
    ("FilterChain", Override(Override::OPTIONS.0)),
    ("FilterDeclare", Override(Override::OPTIONS.0)),
    ("FilterProtocol", Override(Override::OPTIONS.0)),
    ("FilterProvider", Override(Override::OPTIONS.0)),
    ("ForceLanguagePriority", Override(Override::FILE_INFO.0)),
    ("ForceType", Override(Override::FILE_INFO.0)),
    ("H2CopyFiles", Override(Override::FILE_INFO.0)),
    (
        "H2EarlyHint",
        Override(Override::AUTH_CONFIG.0 | Override::FILE_INFO.0),
    ),
    ("H2ProxyRequests", Override(Override::FILE_INFO.0)),
    ("H2Push", Override(Override::AUTH_CONFIG.0)),
    (
        "H2PushResource",
        Override(Override::AUTH_CONFIG.0 | Override::FILE_INFO.0),
    ),
    ("H2Upgrade", Override(Override::AUTH_CONFIG.0)),
    ("Header", Override(Override::FILE_INFO.0)),
    ("HeaderName", Override(Override::INDEXES.0)),
    ("If", Override(Override::ANY.0)),
    ("IfDefine", Override(Override::ANY.0)),
    ("IfDirective", Override(Override::ANY.0)),
    ("IfFile", Override(Override::ANY.0)),
    ("IfModule", Override(Override::ANY.0)),
    ("IfSection", Override(Override::ANY.0)),
    ("IfVersion", Override(Override::ANY.0)),
    ("IndexHeadInsert", Override(Override::INDEXES.0)),
    ("IndexIgnore", Override(Override::INDEXES.0)),
    ("IndexIgnoreReset", Override(Override::INDEXES.0)),
    ("IndexOptions", Override(Override::INDEXES.0)),
    ("IndexOrderDefault", Override(Override::INDEXES.0)),
    ("IndexStyleSheet", Override(Override::INDEXES.0)),
    ("LanguagePriority", Override(Override::FILE_INFO.0)),
    (
        "Limit",
        Override(Override::AUTH_CONFIG.0 | Override::LIMIT.0),
    ),
    (
        "LimitExcept",
        Override(Override::AUTH_CONFIG.0 | Override::LIMIT.0),
    ),
    ("LimitRequestBody", Override(Override::ANY.0)),
    ("LimitXMLRequestBody", Override(Override::ANY.0)),
    ("LogIOTrackTTFB", Override(Override::ANY.0)),
    ("MultiviewsMatch", Override(Override::FILE_INFO.0)),
    ("Options", Override(Override::OPTIONS.0)),
    ("order", Override(Override::LIMIT.0)),
    ("PassEnv", Override(Override::FILE_INFO.0)),
    ("ProxyFCGIBackendType", Override(Override::FILE_INFO.0)),
    ("ProxyFCGISetEnvIf", Override(Override::FILE_INFO.0)),
    ("QualifyRedirectURL", Override(Override::FILE_INFO.0)),
    ("ReadmeName", Override(Override::INDEXES.0)),
    ("Redirect", Override(Override::FILE_INFO.0)),
    ("RedirectMatch", Override(Override::FILE_INFO.0)),
    ("RedirectPermanent", Override(Override::FILE_INFO.0)),
    ("RedirectRelative", Override(Override::FILE_INFO.0)),
    ("RedirectTemp", Override(Override::FILE_INFO.0)),
    ("RemoveCharset", Override(Override::FILE_INFO.0)),
    ("RemoveEncoding", Override(Override::FILE_INFO.0)),
    ("RemoveHandler", Override(Override::FILE_INFO.0)),
    ("RemoveInputFilter", Override(Override::FILE_INFO.0)),
    ("RemoveLanguage", Override(Override::FILE_INFO.0)),
    ("RemoveOutputFilter", Override(Override::FILE_INFO.0)),
    ("RemoveType", Override(Override::FILE_INFO.0)),
    ("RequestHeader", Override(Override::FILE_INFO.0)),
    ("Require", Override(Override::AUTH_CONFIG.0)),
    ("RequireAll", Override(Override::AUTH_CONFIG.0)),
    ("RequireAny", Override(Override::AUTH_CONFIG.0)),
    ("RequireNone", Override(Override::AUTH_CONFIG.0)),
    ("RewriteBase", Override(Override::FILE_INFO.0)),
    ("RewriteCond", Override(Override::FILE_INFO.0)),
    ("RewriteEngine", Override(Override::FILE_INFO.0)),
    ("RewriteOptions", Override(Override::FILE_INFO.0)),
    ("RewriteRule", Override(Override::FILE_INFO.0)),
    ("RLimitCPU", Override(Override::ANY.0)),
    ("RLimitMEM", Override(Override::ANY.0)),
    ("RLimitNPROC", Override(Override::ANY.0)),
    ("Satisfy", Override(Override::AUTH_CONFIG.0)),
    ("ServerSignature", Override(Override::ANY.0)),
    ("SetEnv", Override(Override::FILE_INFO.0)),
    ("SetEnvIf", Override(Override::FILE_INFO.0)),
    ("SetEnvIfExpr", Override(Override::FILE_INFO.0)),
    ("SetEnvIfNoCase", Override(Override::FILE_INFO.0)),
    ("SetHandler", Override(Override::FILE_INFO.0)),
    ("SetInputFilter", Override(Override::FILE_INFO.0)),
    ("SetOutputFilter", Override(Override::FILE_INFO.0)),
    ("SSLCACertificateFile", Override(Override::AUTH_CONFIG.0)),
    ("SSLCACertificatePath", Override(Override::AUTH_CONFIG.0)),
    ("SSLCipherSuite", Override(Override::AUTH_CONFIG.0)),
    ("SSLLog", Override(Override::ANY.0)),
    ("SSLLogLevel", Override(Override::ANY.0)),
    ("SSLOptions", Override(Override::OPTIONS.0)),
    ("SSLRenegBufferSize", Override(Override::AUTH_CONFIG.0)),
    ("SSLRequire", Override(Override::AUTH_CONFIG.0)),
    ("SSLRequireSSL", Override(Override::AUTH_CONFIG.0)),
    ("SSLUserName", Override(Override::AUTH_CONFIG.0)),
    ("SSLVerifyClient", Override(Override::AUTH_CONFIG.0)),
    ("SSLVerifyDepth", Override(Override::AUTH_CONFIG.0)),
    ("UnsetEnv", Override(Override::FILE_INFO.0)),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(override_class("AddType"), Some(Override::FILE_INFO));
        assert_eq!(override_class("require"), Some(Override::AUTH_CONFIG));
        assert_eq!(override_class("DirectoryIndex"), Some(Override::INDEXES));
        assert_eq!(override_class("Options"), Some(Override::OPTIONS));
        assert_eq!(override_class("<Files"), Some(Override::ANY));
        assert_eq!(override_class("Timeout"), None);
        assert!(override_class("Order")
            .unwrap()
            .permitted_by(Override::LIMIT));
        assert!(!Override::FILE_INFO.permitted_by(Override::from_keyword("AuthConfig").unwrap()));
    }

    #[test]
    fn table_is_sorted_for_binary_search() {
        for w in CLASSES.windows(2) {
            assert_eq!(
                cmp_ignore_case(w[0].0, w[1].0),
                std::cmp::Ordering::Less,
                "{}",
                w[1].0
            );
        }
    }
}
