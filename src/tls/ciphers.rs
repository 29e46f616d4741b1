//! `SSLCipherSuite` and `SSLProtocol`: OpenSSL's cipher-string and protocol-list languages
//! mapped onto what rustls offers.
//!
//! rustls (ring provider) has six TLS 1.2 suites, all ECDHE + AEAD, and three TLS 1.3 suites.
//! The cipher string is evaluated the way OpenSSL evaluates it (`man 1 ciphers`), but over
//! those six suites only:
//! - an item is a suite name (`ECDHE-RSA-AES128-GCM-SHA256`), an alias (`HIGH`, `AESGCM`,
//!   `aRSA` …) or aliases joined by `+` (an intersection: `ECDHE+AESGCM`);
//! - a bare item appends the suites it selects, `-X` removes them (a later item may add them
//!   back), `!X` removes them for good, `+X` moves them to the end; `@STRENGTH` sorts by key
//!   length, `@SECLEVEL=n` is accepted and ignored;
//! - aliases that name things rustls never offers (`aNULL`, `eNULL`, `RC4`, `MD5`, `3DES`,
//!   `EXPORT`, `kRSA`, `DHE`, `CBC`, `SHA1` …) are known and select nothing, so `HIGH:!aNULL:!MD5`
//!   means all six suites, and `MEDIUM` alone is an error (no cipher left);
//! - a name OpenSSL does not know is a config error (OpenSSL would skip it silently).
//!
//! The TLS 1.3 form, `SSLCipherSuite TLSv1.3 TLS_AES_256_GCM_SHA384:…`, is a plain list of
//! the three RFC 8446 names; `TLS_AES_128_CCM_SHA256` and `TLS_AES_128_CCM_8_SHA256` are
//! refused because rustls does not implement them.

use rustls::crypto::ring::cipher_suite as cs;
use rustls::SupportedCipherSuite;

/// A rustls suite (a function: the statics are not `const`).
type SuiteFn = fn() -> SupportedCipherSuite;

/// The TLS 1.2 suites in OpenSSL's default order (strongest first, ECDSA before RSA).
const TLS12: &[(&str, SuiteFn, Attrs)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        || cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        Attrs::new(ECDSA, AES256GCM, 256, SHA384),
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        || cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        Attrs::new(RSA, AES256GCM, 256, SHA384),
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        || cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        Attrs::new(ECDSA, CHACHA, 256, SHA256),
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        || cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        Attrs::new(RSA, CHACHA, 256, SHA256),
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        || cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        Attrs::new(ECDSA, AES128GCM, 128, SHA256),
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        || cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        Attrs::new(RSA, AES128GCM, 128, SHA256),
    ),
];

const TLS13: &[(&str, SuiteFn)] = &[
    ("TLS_AES_256_GCM_SHA384", || cs::TLS13_AES_256_GCM_SHA384),
    ("TLS_CHACHA20_POLY1305_SHA256", || {
        cs::TLS13_CHACHA20_POLY1305_SHA256
    }),
    ("TLS_AES_128_GCM_SHA256", || cs::TLS13_AES_128_GCM_SHA256),
];

// Attribute bits of a suite.
const RSA: u32 = 1;
const ECDSA: u32 = 2;
const AES128GCM: u32 = 4;
const AES256GCM: u32 = 8;
const CHACHA: u32 = 16;
const SHA256: u32 = 32;
const SHA384: u32 = 64;

#[derive(Clone, Copy)]
struct Attrs {
    bits: u32,
    strength: u16,
}

impl Attrs {
    const fn new(auth: u32, enc: u32, strength: u16, mac: u32) -> Attrs {
        Attrs {
            bits: auth | enc | mac,
            strength,
        }
    }
}

/// What an alias selects.
enum Sel {
    /// Suites having all these bits (0 = every suite).
    Bits(u32),
    /// Every AES-GCM suite.
    Gcm,
    /// A name OpenSSL knows for something rustls never offers.
    Nothing,
}

fn alias(name: &str) -> Option<Sel> {
    Some(match name {
        "ALL" | "DEFAULT" | "HIGH" | "FIPS" | "ECDHE" | "EECDH" | "kECDHE" | "kEECDH" | "AEAD"
        | "AES" | "TLSv1.2" => Sel::Bits(0),
        "SUITEB128" | "SUITEB128ONLY" | "SUITEB192" => Sel::Bits(ECDSA),
        "aRSA" | "RSA" => Sel::Bits(RSA),
        "aECDSA" | "ECDSA" => Sel::Bits(ECDSA),
        "AESGCM" => Sel::Gcm,
        "AES128" => Sel::Bits(AES128GCM),
        "AES256" => Sel::Bits(AES256GCM),
        "CHACHA20" => Sel::Bits(CHACHA),
        "SHA256" => Sel::Bits(SHA256),
        "SHA384" => Sel::Bits(SHA384),
        "COMPLEMENTOFDEFAULT"
        | "COMPLEMENTOFALL"
        | "MEDIUM"
        | "LOW"
        | "EXPORT"
        | "EXP"
        | "EXPORT40"
        | "EXPORT56"
        | "aNULL"
        | "eNULL"
        | "NULL"
        | "ADH"
        | "AECDH"
        | "kRSA"
        | "DH"
        | "kDH"
        | "kDHE"
        | "kEDH"
        | "DHE"
        | "EDH"
        | "kDHr"
        | "kDHd"
        | "kECDH"
        | "kECDHr"
        | "kECDHe"
        | "aDSS"
        | "DSS"
        | "aDH"
        | "aECDH"
        | "aGOST"
        | "aGOST01"
        | "kGOST"
        | "GOST94"
        | "GOST89MAC"
        | "PSK"
        | "kPSK"
        | "kECDHEPSK"
        | "kDHEPSK"
        | "kRSAPSK"
        | "aPSK"
        | "SRP"
        | "kSRP"
        | "aSRP"
        | "3DES"
        | "DES"
        | "RC4"
        | "RC2"
        | "IDEA"
        | "SEED"
        | "MD5"
        | "SHA1"
        | "SHA"
        | "CAMELLIA"
        | "CAMELLIA128"
        | "CAMELLIA256"
        | "ARIA"
        | "ARIA128"
        | "ARIA256"
        | "AESCCM"
        | "AESCCM8"
        | "CBC"
        | "SSLv3"
        | "TLSv1"
        | "TLSv1.0"
        | "SSLv2" => Sel::Nothing,
        _ => return None,
    })
}

/// Does `item` (one alias or suite name) select suite `i`? `Err` for an unknown name.
fn selects(item: &str, i: usize) -> Result<bool, String> {
    let attrs = TLS12[i].2;
    if let Some(j) = TLS12.iter().position(|(n, _, _)| *n == item) {
        return Ok(j == i);
    }
    // OpenSSL's names for suites rustls does not have: known, select nothing.
    if is_openssl_suite_name(item) {
        return Ok(false);
    }
    match alias(item) {
        Some(Sel::Gcm) => Ok(attrs.bits & CHACHA == 0),
        Some(Sel::Bits(bits)) => Ok(attrs.bits & bits == bits),
        Some(Sel::Nothing) => Ok(false),
        None => Err(format!(
            "SSLCipherSuite: unknown cipher or alias '{item}' (mpmd offers {})",
            TLS12
                .iter()
                .map(|(n, _, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Shapes of OpenSSL suite names (`DHE-RSA-AES128-SHA`, `AES256-SHA`, `ECDHE-RSA-DES-CBC3-SHA`):
/// a dash-separated name ending in a MAC or AEAD part.
fn is_openssl_suite_name(item: &str) -> bool {
    let known_tails = ["SHA", "SHA256", "SHA384", "MD5", "POLY1305", "CCM", "CCM8"];
    item.contains('-')
        && item
            .rsplit('-')
            .next()
            .is_some_and(|tail| known_tails.contains(&tail))
        && item
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// Evaluates an OpenSSL cipher string over rustls' TLS 1.2 suites, in the resulting order.
pub fn tls12_suites(spec: &str) -> Result<Vec<SupportedCipherSuite>, String> {
    let mut list: Vec<usize> = Vec::new();
    let mut banned = [false; 6];
    for raw in spec.split([':', ',', ' ']).filter(|s| !s.is_empty()) {
        let (op, item) = match raw.as_bytes()[0] {
            b'!' | b'-' | b'+' => (raw.as_bytes()[0], &raw[1..]),
            _ => (b' ', raw),
        };
        if item == "@STRENGTH" {
            list.sort_by_key(|&i| std::cmp::Reverse(TLS12[i].2.strength));
            continue;
        }
        if item.starts_with("@SECLEVEL=") {
            continue;
        }
        if item.is_empty() {
            return Err(format!("SSLCipherSuite: empty item in '{spec}'"));
        }
        let mut selected = Vec::new();
        for i in 0..TLS12.len() {
            let mut all = true;
            for part in item.split('+') {
                all &= selects(part, i)?;
            }
            if all {
                selected.push(i);
            }
        }
        match op {
            b'!' => {
                for &i in &selected {
                    banned[i] = true;
                }
                list.retain(|i| !selected.contains(i));
            }
            b'-' => list.retain(|i| !selected.contains(i)),
            b'+' => {
                let (moved, kept): (Vec<usize>, Vec<usize>) =
                    list.iter().partition(|i| selected.contains(i));
                list = kept;
                list.extend(moved);
            }
            _ => {
                for i in selected {
                    if !banned[i] && !list.contains(&i) {
                        list.push(i);
                    }
                }
            }
        }
    }
    if list.is_empty() {
        return Err(format!(
            "SSLCipherSuite: no cipher offered by mpmd matches '{spec}'"
        ));
    }
    Ok(list.into_iter().map(|i| (TLS12[i].1)()).collect())
}

/// The TLS 1.3 form: a colon list of RFC 8446 suite names.
pub fn tls13_suites(spec: &str) -> Result<Vec<SupportedCipherSuite>, String> {
    let mut out = Vec::new();
    for name in spec.split([':', ',', ' ']).filter(|s| !s.is_empty()) {
        match TLS13.iter().find(|(n, _)| *n == name) {
            Some((_, f)) => {
                if !out.contains(&f()) {
                    out.push(f())
                }
            }
            None if name.starts_with("TLS_AES_128_CCM") => {
                return Err(format!(
                    "SSLCipherSuite: TLSv1.3 suite '{name}' is not supported by mpmd"
                ))
            }
            None => {
                return Err(format!(
                    "SSLCipherSuite: unknown TLSv1.3 cipher suite '{name}'"
                ))
            }
        }
    }
    if out.is_empty() {
        return Err("SSLCipherSuite: no TLSv1.3 cipher suite given".into());
    }
    Ok(out)
}

/// The protocol versions `SSLProtocol` leaves on. Only TLS 1.2 and 1.3 exist in rustls:
/// SSLv3, TLSv1 and TLSv1.1 may be named to remove them (or via `all`), never added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versions {
    pub tls12: bool,
    pub tls13: bool,
}

impl Default for Versions {
    fn default() -> Self {
        Versions {
            tls12: true,
            tls13: true,
        }
    }
}

/// `SSLProtocol [+|-]proto …` with httpd's rules: a word without a sign replaces the set.
pub fn protocols(words: &[String]) -> Result<Versions, String> {
    // Bits: 1 SSLv3, 2 TLSv1, 4 TLSv1.1, 8 TLSv1.2, 16 TLSv1.3.
    let mut set = 0u8;
    // What a word added explicitly: legacy versions must not be asked for.
    let mut explicit = 0u8;
    for w in words {
        let (sign, name) = match w.as_bytes().first() {
            Some(b'+') | Some(b'-') => (w.as_bytes()[0], &w[1..]),
            _ => (b'=', w.as_str()),
        };
        let bits = match name.to_ascii_lowercase().as_str() {
            "sslv2" => return Err("SSLProtocol: SSLv2 is no longer supported".into()),
            "sslv3" => 1,
            "tlsv1" => 2,
            "tlsv1.1" => 4,
            "tlsv1.2" => 8,
            "tlsv1.3" => 16,
            "all" => 2 | 4 | 8 | 16,
            _ => return Err(format!("SSLProtocol: Illegal protocol '{name}'")),
        };
        match sign {
            b'+' => {
                set |= bits;
                if !name.eq_ignore_ascii_case("all") {
                    explicit |= bits;
                }
            }
            b'-' => {
                set &= !bits;
                explicit &= !bits;
            }
            _ => {
                set = bits;
                explicit = if name.eq_ignore_ascii_case("all") {
                    0
                } else {
                    bits
                };
            }
        }
    }
    if explicit & 7 != 0 {
        let name = ["SSLv3", "TLSv1", "TLSv1.1"][explicit.trailing_zeros() as usize];
        return Err(format!(
            "SSLProtocol: {name} is not supported by mpmd (rustls offers TLSv1.2 and TLSv1.3)"
        ));
    }
    let v = Versions {
        tls12: set & 8 != 0,
        tls13: set & 16 != 0,
    };
    if !v.tls12 && !v.tls13 {
        return Err("SSLProtocol: no protocol left (mpmd offers TLSv1.2 and TLSv1.3)".into());
    }
    Ok(v)
}

/// OpenSSL's name of a rustls suite, for logs and tests.
pub fn openssl_name(suite: SupportedCipherSuite) -> &'static str {
    TLS12
        .iter()
        .find(|(_, f, _)| f() == suite)
        .map(|(n, _, _)| *n)
        .or_else(|| TLS13.iter().find(|(_, f)| f() == suite).map(|(n, _)| *n))
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(spec: &str) -> Vec<&'static str> {
        tls12_suites(spec)
            .unwrap()
            .into_iter()
            .map(openssl_name)
            .collect()
    }

    #[test]
    fn high_without_anull_is_every_suite_in_default_order() {
        let n = names("HIGH:!aNULL:!MD5");
        assert_eq!(n.len(), 6);
        assert_eq!(n[0], "ECDHE-ECDSA-AES256-GCM-SHA384");
        assert_eq!(n[5], "ECDHE-RSA-AES128-GCM-SHA256");
    }

    #[test]
    fn debian_and_mozilla_strings() {
        assert_eq!(names("HIGH:MEDIUM:!aNULL:!MD5:!RC4:!3DES").len(), 6);
        let m = names(
            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384",
        );
        assert_eq!(m[0], "ECDHE-ECDSA-AES128-GCM-SHA256");
        assert_eq!(m.len(), 6);
    }

    #[test]
    fn operators() {
        assert_eq!(
            names("aRSA+AESGCM"),
            ["ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256"]
        );
        assert_eq!(
            names("ALL:+AES256")[4..],
            [
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-RSA-AES256-GCM-SHA384"
            ]
        );
        // `-` may be undone, `!` may not.
        assert_eq!(names("ALL:-CHACHA20:CHACHA20").len(), 6);
        assert_eq!(names("ALL:!CHACHA20:CHACHA20").len(), 4);
        assert_eq!(
            names("AES128:AES256:@STRENGTH")[0],
            "ECDHE-ECDSA-AES256-GCM-SHA384"
        );
        assert_eq!(names("ECDSA:@SECLEVEL=2").len(), 3);
    }

    #[test]
    fn unknown_names_and_empty_results_are_errors() {
        let e = tls12_suites("HIGH:FOO").unwrap_err();
        assert!(e.contains("unknown cipher or alias 'FOO'"), "{e}");
        assert!(tls12_suites("MEDIUM").unwrap_err().contains("no cipher"));
        assert!(tls12_suites("RC4-SHA:DES-CBC3-SHA").is_err());
        assert_eq!(names("RC4-SHA:ECDHE-RSA-AES128-GCM-SHA256").len(), 1);
    }

    #[test]
    fn tls13_names() {
        let s = tls13_suites("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(openssl_name(s[0]), "TLS_CHACHA20_POLY1305_SHA256");
        assert!(tls13_suites("TLS_AES_128_CCM_SHA256").is_err());
        assert!(tls13_suites("BOGUS").is_err());
    }

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn protocol_lists() {
        let both = Versions {
            tls12: true,
            tls13: true,
        };
        assert_eq!(protocols(&w("all -SSLv3 -TLSv1 -TLSv1.1")).unwrap(), both);
        assert_eq!(protocols(&w("all -SSLv3")).unwrap(), both);
        assert_eq!(protocols(&w("+TLSv1.2 +TLSv1.3")).unwrap(), both);
        assert_eq!(
            protocols(&w("TLSv1.3")).unwrap(),
            Versions {
                tls12: false,
                tls13: true
            }
        );
        assert_eq!(
            protocols(&w("all -TLSv1.3")).unwrap(),
            Versions {
                tls12: true,
                tls13: false
            }
        );
        assert_eq!(
            protocols(&w("SSLv2")).unwrap_err(),
            "SSLProtocol: SSLv2 is no longer supported"
        );
        assert_eq!(
            protocols(&w("all +foo")).unwrap_err(),
            "SSLProtocol: Illegal protocol 'foo'"
        );
        assert!(protocols(&w("+TLSv1.1 +TLSv1.2"))
            .unwrap_err()
            .contains("TLSv1.1 is not supported"));
        assert!(protocols(&w("all -TLSv1.2 -TLSv1.3")).is_err());
    }
}
