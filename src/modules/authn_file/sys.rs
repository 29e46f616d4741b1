//! The system's `crypt(3)` (libxcrypt on Debian), which httpd's APR calls for every htpasswd
//! hash it does not compute itself: traditional DES (`htpasswd -d`), SHA-256 `$5$` (`-2`),
//! SHA-512 `$6$` (`-5`), and whatever else the system library knows (yescrypt `$y$`, ...).

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};

/// `sizeof(struct crypt_data)` in libxcrypt's <crypt.h>; crypt_rn refuses a smaller area.
const CRYPT_DATA_SIZE: usize = 32768;

#[link(name = "crypt")]
extern "C" {
    /// libxcrypt: hash `phrase` with `setting` into `data` (at least `size` bytes, zeroed
    /// before the first call); null on failure.
    fn crypt_rn(
        phrase: *const c_char,
        setting: *const c_char,
        data: *mut c_void,
        size: c_int,
    ) -> *mut c_char;
}

thread_local! {
    // One 32 KiB work area per thread, kept so a login does not allocate it each time.
    static CRYPT_DATA: RefCell<Box<[u8]>> =
        RefCell::new(vec![0u8; CRYPT_DATA_SIZE].into_boxed_slice());
}

/// `crypt(password, setting)` as the system computes it, or `None` when the library refuses
/// the setting (unknown or malformed hash) or an argument holds a NUL.
pub fn crypt(password: &str, setting: &str) -> Option<String> {
    let phrase = CString::new(password).ok()?;
    let setting = CString::new(setting).ok()?;
    CRYPT_DATA.with(|area| {
        let mut area = area.borrow_mut();
        // SAFETY: both strings are NUL-terminated and live for the call; `area` is a
        // writable, exclusively borrowed block of CRYPT_DATA_SIZE bytes that was zeroed at
        // allocation and is only ever written by crypt_rn, as libxcrypt requires.
        let out = unsafe {
            crypt_rn(
                phrase.as_ptr(),
                setting.as_ptr(),
                area.as_mut_ptr().cast::<c_void>(),
                CRYPT_DATA_SIZE as c_int,
            )
        };
        if out.is_null() {
            return None;
        }
        // SAFETY: on success crypt_rn returns a pointer to the NUL-terminated hash it wrote
        // inside `area`, which is still borrowed here.
        let hash = unsafe { CStr::from_ptr(out) };
        hash.to_str().ok().map(str::to_owned)
    })
}
