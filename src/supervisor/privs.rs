//! `User` / `Group`: resolved by the parent, applied by each child right after fork. Only when
//! started as root; the parent itself stays root (it must bind, signal and reap).

use std::ffi::CString;

use nix::unistd::{Gid, Group, Uid, User};

use super::SupervisorError;

/// Who the children become.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub name: CString,
    pub uid: Uid,
    pub gid: Gid,
}

fn numeric(s: &str) -> Option<u32> {
    s.strip_prefix('#')
        .and_then(|n| n.parse::<i64>().ok())
        .map(|n| n as u32)
}

/// The children's credentials, or `None` when not root or no `User` is configured.
pub fn resolve(
    user: Option<&str>,
    group: Option<&str>,
) -> Result<Option<Credentials>, SupervisorError> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    let Some(user) = user else { return Ok(None) };
    let (uid, name, primary) = match numeric(user) {
        Some(n) => {
            let u = User::from_uid(Uid::from_raw(n)).ok().flatten();
            let name = u
                .as_ref()
                .map(|u| u.name.clone())
                .unwrap_or_else(|| user.to_string());
            (Uid::from_raw(n), name, u.map(|u| u.gid))
        }
        None => {
            let u = User::from_name(user)
                .ok()
                .flatten()
                .ok_or_else(|| SupervisorError::User(format!("AH00543: bad user name {user}")))?;
            (u.uid, u.name.clone(), Some(u.gid))
        }
    };
    let gid = match group {
        Some(g) => match numeric(g) {
            Some(n) => Gid::from_raw(n),
            None => {
                Group::from_name(g)
                    .ok()
                    .flatten()
                    .ok_or_else(|| SupervisorError::User(format!("AH00544: bad group name {g}")))?
                    .gid
            }
        },
        None => primary.unwrap_or_else(|| Gid::from_raw(65534)),
    };
    let name = CString::new(name).map_err(|_| SupervisorError::User("bad user name".into()))?;
    Ok(Some(Credentials { name, uid, gid }))
}

/// In the child: supplementary groups, group, then user. Any failure is fatal for the child.
pub fn drop_to(c: &Credentials) -> nix::Result<()> {
    if nix::unistd::initgroups(&c.name, c.gid).is_err() {
        nix::unistd::setgroups(&[c.gid])?;
    }
    nix::unistd::setgid(c.gid)?;
    nix::unistd::setuid(c.uid)?;
    Ok(())
}
