//! mod_autoindex: IndexOptions, IndexIgnore (implemented), the icon/description directives
//! (parsed only: the listing has no icons yet).

use super::{def, po, ApplyCtx};
use crate::config::dir::IndexOptions;
use crate::config::registry::{Args::*, Contexts as C, DirectiveDef, Support::*};

const ALL: C = C::ALL;

pub static DIRECTIVES: &[DirectiveDef] = &[
    def(
        "IndexOptions",
        RawArgs,
        ALL,
        Implemented,
        "one or more index options [+|-][]",
        index_options,
    ),
    def(
        "IndexIgnore",
        Iterate,
        ALL,
        Implemented,
        "one or more file extensions",
        index_ignore,
    ),
    po(
        "IndexIgnoreReset",
        Flag,
        ALL,
        "Reset the inherited list of IndexIgnore filenames",
    ),
    po(
        "IndexOrderDefault",
        Take2,
        ALL,
        "{Ascending,Descending} {Name,Size,Description,Date}",
    ),
    po("IndexStyleSheet", Take1, ALL, "URL to style sheet"),
    po(
        "IndexHeadInsert",
        Take1,
        ALL,
        "String to insert in HTML HEAD section",
    ),
    po("HeaderName", Take1, ALL, "a filename"),
    po("ReadmeName", Take1, ALL, "a filename"),
    po(
        "AddIcon",
        Iterate2,
        ALL,
        "an icon URL followed by one or more filenames",
    ),
    po(
        "AddIconByType",
        Iterate2,
        ALL,
        "an icon URL followed by one or more MIME types",
    ),
    po(
        "AddIconByEncoding",
        Iterate2,
        ALL,
        "an icon URL followed by one or more content encodings",
    ),
    po(
        "AddAlt",
        Iterate2,
        ALL,
        "alternate descriptive text followed by one or more filenames",
    ),
    po(
        "AddAltByType",
        Iterate2,
        ALL,
        "alternate descriptive text followed by one or more MIME types",
    ),
    po(
        "AddAltByEncoding",
        Iterate2,
        ALL,
        "alternate descriptive text followed by one or more content encodings",
    ),
    po(
        "AddDescription",
        Iterate2,
        ALL,
        "Descriptive text followed by one or more filenames",
    ),
    po("DefaultIcon", Take1, ALL, "an icon URL"),
];

fn index_options(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    let mut o: IndexOptions = ctx.dir.index_options.clone().unwrap_or_default();
    for w in &ctx.node.args {
        let (on, name) = match w.as_bytes().first() {
            Some(b'-') => (false, &w[1..]),
            Some(b'+') => (true, &w[1..]),
            _ => (true, w.as_str()),
        };
        let lower = name.to_ascii_lowercase();
        let key = lower.split('=').next().unwrap_or("");
        match key {
            "fancyindexing" => o.fancy = Some(on),
            "htmltable" => o.html_table = Some(on),
            "foldersfirst" => o.folders_first = Some(on),
            "suppresslastmodified" => o.suppress_last_modified = Some(on),
            "suppresssize" => o.suppress_size = Some(on),
            "suppressdescription" => o.suppress_description = Some(on),
            "suppresshtmlpreamble" => o.suppress_html_preamble = Some(on),
            "ignorecase" => o.ignore_case = Some(on),
            "charset" => o.charset = name.split_once('=').map(|(_, v)| v.to_string()),
            "none" => o = IndexOptions::default(),
            "addaltclass"
            | "descriptionwidth"
            | "iconheight"
            | "iconwidth"
            | "iconsarelinks"
            | "ignoreclient"
            | "namewidth"
            | "scanhtmltitles"
            | "selectedsort"
            | "showforbidden"
            | "suppresscolumnsorting"
            | "suppressicon"
            | "suppressrules"
            | "trackmodified"
            | "type"
            | "versionsort"
            | "xhtml" => {}
            _ => return Err("Invalid directory indexing option".into()),
        }
    }
    ctx.dir.index_options = Some(o);
    Ok(())
}

fn index_ignore(ctx: &mut ApplyCtx<'_>) -> Result<(), String> {
    for a in ctx.node.args.clone() {
        ctx.dir.index_ignore.push(a);
    }
    Ok(())
}
