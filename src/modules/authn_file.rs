//! mod_authn_file: users and password hashes from an htpasswd file (`AuthUserFile`), and
//! every hash format Debian's `htpasswd` writes: bcrypt (`$2y$`), APR MD5 (`$apr1$`), MD5
//! crypt (`$1$`) and `{SHA}` here; DES (`-d`), `$5$` (`-2`), `$6$` (`-5`) and any other
//! `crypt(3)` format through the system library, as APR does.

mod sys;

use base64::Engine;
use md5::{Digest, Md5};

/// The result of a lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Granted,
    /// The user is not in the file.
    UserNotFound,
    Mismatch,
    /// The file could not be read.
    Error(String),
}

/// Looks `user` up in `file` and checks `password` against the stored hash.
pub fn check(file: &std::path::Path, user: &str, password: &str) -> Check {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            return Check::Error(format!(
                "Could not open password file: {}: {e}",
                file.display()
            ))
        }
    };
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((u, hash)) = line.split_once(':') else {
            continue;
        };
        if u != user {
            continue;
        }
        // Extra `:fields` after the hash are ignored, as httpd does.
        let hash = hash.split(':').next().unwrap_or("").trim_end();
        return if verify(password, hash) {
            Check::Granted
        } else {
            Check::Mismatch
        };
    }
    Check::UserNotFound
}

/// True when `password` matches `hash` (one of the htpasswd formats).
pub fn verify(password: &str, hash: &str) -> bool {
    if hash.starts_with("$2y$") || hash.starts_with("$2a$") || hash.starts_with("$2b$") {
        return bcrypt::verify(password, hash).unwrap_or(false);
    }
    if let Some(rest) = hash.strip_prefix("$apr1$") {
        return md5_crypt(password.as_bytes(), rest, "$apr1$") == hash;
    }
    if let Some(rest) = hash.strip_prefix("$1$") {
        return md5_crypt(password.as_bytes(), rest, "$1$") == hash;
    }
    if let Some(b64) = hash.strip_prefix("{SHA}") {
        use sha1::Sha1;
        let d = Sha1::digest(password.as_bytes());
        return base64::engine::general_purpose::STANDARD.encode(d) == b64;
    }
    // Everything else goes to crypt(3), as APR does on Unix: a plain-text "hash" (`htpasswd
    // -p`) is taken as a DES salt and so never matches, as with httpd.
    match sys::crypt(password, hash) {
        Some(computed) => constant_time_eq(computed.as_bytes(), hash.as_bytes()),
        None => false,
    }
}

/// Byte equality whose time does not depend on where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn to64(out: &mut String, mut v: u32, n: usize) {
    for _ in 0..n {
        out.push(ITOA64[(v & 0x3f) as usize] as char);
        v >>= 6;
    }
}

/// Poul-Henning Kamp's MD5-crypt, with `magic` `$1$` or APR's `$apr1$`; `salt_and_rest`
/// is what follows the magic in a stored hash (the salt ends at `$` or after 8 bytes).
pub fn md5_crypt(pw: &[u8], salt_and_rest: &str, magic: &str) -> String {
    let salt = salt_and_rest.split('$').next().unwrap_or("");
    let salt = &salt.as_bytes()[..salt.len().min(8)];
    let mut ctx = Md5::new();
    ctx.update(pw);
    ctx.update(magic.as_bytes());
    ctx.update(salt);
    let alt = {
        let mut a = Md5::new();
        a.update(pw);
        a.update(salt);
        a.update(pw);
        a.finalize()
    };
    let mut left = pw.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = pw.len();
    while i > 0 {
        if i & 1 != 0 {
            ctx.update([0u8]);
        } else {
            ctx.update(&pw[..1]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();
    for i in 0..1000 {
        let mut c = Md5::new();
        if i & 1 != 0 {
            c.update(pw);
        } else {
            c.update(fin);
        }
        if i % 3 != 0 {
            c.update(salt);
        }
        if i % 7 != 0 {
            c.update(pw);
        }
        if i & 1 != 0 {
            c.update(fin);
        } else {
            c.update(pw);
        }
        fin = c.finalize();
    }
    let f = |i: usize| u32::from(fin[i]);
    let mut out = String::with_capacity(40);
    out.push_str(magic);
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        to64(&mut out, (f(a) << 16) | (f(b) << 8) | f(c), 4);
    }
    to64(&mut out, f(11), 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers written by Debian's `htpasswd -nb{m,s,B} u p`.
    #[test]
    fn htpasswd_formats() {
        assert!(verify("p", "$apr1$8v685Vvo$S2oCCH0Bp4/ZbLgm/QJRo/"));
        assert!(!verify("q", "$apr1$8v685Vvo$S2oCCH0Bp4/ZbLgm/QJRo/"));
        assert!(verify("p", "{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k="));
        assert!(!verify("P", "{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k="));
        assert!(verify(
            "p",
            "$2y$04$34QAlFRQnreWIxgWEIstk.oW25yL3IwVnyoW6nv46ULK7ZWe564gO"
        ));
        assert!(!verify(
            "x",
            "$2y$04$34QAlFRQnreWIxgWEIstk.oW25yL3IwVnyoW6nv46ULK7ZWe564gO"
        ));
        assert!(!verify("p", "plain"));
        assert!(!verify("p", ""));
    }

    // `htpasswd -nb{d,2,5} u p` and a yescrypt hash of "p" (Debian's default in /etc/shadow,
    // which an htpasswd file may hold): the crypt(3)
    // formats, checked by the system library.
    #[test]
    fn crypt_formats() {
        for hash in [
            "XdGWN6t7eQup.",
            "$5$Qf6a2EwA2jK7eKnO$8d9QqmJPDk0RyY8VO7Si.bJOX917kt8nCa2Z2JW9Wv1",
            "$6$OPXeZeL0CjErCOhJ$JghHsnafmPl9st72c6UiZdghRy8ww6GyEQt0Q2OisGV7kC5mPjrqJguy7WIFf02ET9nwYeRTKm93dy5j3lZQB1",
            "$y$j9T$abcdefghijklmnop$qqkBQnyUUgkz930BN/Rs6u6KLiM0YAYNy9MKqM8DET7",
        ] {
            assert!(verify("p", hash), "{hash}");
            assert!(!verify("q", hash), "{hash}");
        }
        // DES looks at the first 8 bytes only, as `htpasswd -d` warns (`-nbd u abcdefghXYZ`).
        assert!(verify("abcdefgh", "px1db0ZMbGgxc"));
        assert!(verify("abcdefghij", "px1db0ZMbGgxc"));
        assert!(!verify("abcdefg", "px1db0ZMbGgxc"));
        assert!(!verify("p", "*0"));
        assert!(!verify("p\0", "XdGWN6t7eQup."));
    }
}
