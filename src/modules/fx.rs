//! A multiply-rotate hash for the per-process caches of the request path (the walk's merged
//! configurations, the file cache), whose keys are short and come from the configuration or
//! the file system. SipHash's resistance to chosen keys buys nothing there (a client cannot
//! fill them with colliding keys: an entry exists only for a section list or an existing
//! file) and costs several times more per lookup.

/// Builds `Fx` hashers.
#[derive(Clone, Copy, Default)]
pub struct BuildFx;

#[derive(Default)]
pub struct Fx(u64);

impl std::hash::BuildHasher for BuildFx {
    type Hasher = Fx;
    fn build_hasher(&self) -> Fx {
        Fx(0)
    }
}

impl std::hash::Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // A slice of integers arrives here as its bytes, in one call.
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}
