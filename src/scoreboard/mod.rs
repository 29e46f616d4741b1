//! The shared-memory scoreboard (spec/scoreboard.md): pointer-free records of atomics in one
//! mapping made before the first fork. The only window into the workers.

/// A worker's state and the letter server-status shows for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WorkerState {
    /// `.` open slot, no process/thread.
    Dead = b'.',
    /// `S` starting up.
    Starting = b'S',
    /// `_` waiting for a connection.
    Ready = b'_',
    /// `R` reading a request.
    BusyRead = b'R',
    /// `W` sending a reply.
    BusyWrite = b'W',
    /// `K` keep-alive (read) wait.
    BusyKeepalive = b'K',
    /// `L` logging.
    BusyLog = b'L',
    /// `D` DNS lookup.
    BusyDns = b'D',
    /// `C` closing connection.
    Closing = b'C',
    /// `G` gracefully finishing.
    Graceful = b'G',
    /// `I` idle cleanup of worker.
    IdleKill = b'I',
}

impl WorkerState {
    pub fn letter(self) -> char {
        self as u8 as char
    }
}
