//! mod_env: `SetEnv`, `UnsetEnv`, `PassEnv` (values from the server's own environment).

use super::request::Request;

/// Applies the merged SetEnv/UnsetEnv/PassEnv settings, in the order written.
pub fn fixup(req: &mut Request<'_>) {
    if req.dir.set_env.is_empty() && req.dir.pass_env.is_empty() {
        return;
    }
    let dir = req.dir.clone();
    for name in &dir.pass_env {
        if let Ok(v) = std::env::var(name) {
            req.set_env(name, &v);
        }
    }
    for (name, value) in &dir.set_env {
        match value {
            Some(v) => req.set_env(name, v),
            None => req.unset_env(name),
        }
    }
}
