//! core directives of directory context: Options, AllowOverride, SetHandler, ErrorDocument, FileETag, LimitRequestBody, ….

use crate::config::registry::DirectiveDef;

pub static DIRECTIVES: &[DirectiveDef] = &[];
