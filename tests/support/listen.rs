//! Whose listening socket is this? A readiness probe that only connects can be answered by
//! another test's server that happens to hold the port (two `bind :0` calls may hand out the
//! same port, and a server that lost the race exits while the probe already got through).
//! These helpers tie a loopback port to the process we started, through /proc.
#![allow(dead_code)]

/// The inodes of the sockets listening on `port` (any address, IPv4 or IPv6).
fn listening_inodes(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if f.len() < 10 || f[3] != "0A" {
                continue;
            }
            let Some((_, p)) = f[1].rsplit_once(':') else {
                continue;
            };
            if u16::from_str_radix(p, 16) == Ok(port) {
                out.push(format!("socket:[{}]", f[9]));
            }
        }
    }
    out
}

/// True when process `pid` holds a socket listening on `port`.
pub fn pid_listens_on(pid: u32, port: u16) -> bool {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|e| {
        std::fs::read_link(e.path())
            .map(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str()))
            .unwrap_or(false)
    })
}
