//! Per-directory settings (`<Directory>`, `<Location>`, `<Files>`, `.htaccess` level) and how
//! two of them merge. Every field is `None`/empty when the section did not set it.

/// The merged settings that apply to one request.
#[derive(Clone, Debug, Default)]
pub struct DirConf {
    /// `SetHandler`.
    pub handler: Option<String>,
}

impl DirConf {
    /// `over` written in a later (more specific) section wins where it set something.
    pub fn merge(&self, over: &DirConf) -> DirConf {
        DirConf {
            handler: over.handler.clone().or_else(|| self.handler.clone()),
        }
    }
}
