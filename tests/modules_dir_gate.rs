//! A directory request when mod_dir or mod_autoindex is not loaded, against Debian's apache2:
//! without mod_dir no index file is served and no trailing-slash redirect made (mod_autoindex
//! lists the directory, slash or not, or refuses it with `Options -Indexes`); without
//! mod_autoindex either, the default handler answers 404; with mod_dir but no
//! mod_autoindex, a directory without an index is a 404. Under every MPM.

mod common;
mod modules_oracle;

use modules_oracle::{available, get, Site};

const CONF: &str = r#"
<Directory @ROOT@/htdocs>
    Options Indexes
</Directory>
<Directory @ROOT@/htdocs/sub>
    Options -Indexes
</Directory>
"#;

const PATHS: [&str; 7] = [
    "/",
    "/sub/",
    "/sub",
    "/ai/",
    "/ai",
    "/index.html",
    "/ai/x.txt",
];

/// Answers of apache2 and mpmd for `PATHS` with `modules` loaded and `without` left out;
/// the statuses mpmd gave.
fn compare(mpm: &str, modules: &[&'static str], without: &[&'static str]) -> Vec<u16> {
    let mut s = Site::new(modules, CONF);
    s.without = without.to_vec();
    s.file("htdocs/index.html", b"index\n");
    s.file("htdocs/sub/index.html", b"sub index\n");
    s.file("htdocs/ai/x.txt", b"x\n");
    let reqs: Vec<String> = PATHS.iter().map(|p| get(p, &[])).collect();
    let (a, m) = s.both(mpm, &reqs);
    for (i, p) in PATHS.iter().enumerate() {
        let what = format!("{modules:?} without {without:?}: GET {p}");
        assert_eq!(
            a[i].status,
            m[i].status,
            "{what}: status; mpmd body {}",
            m[i].body_text()
        );
        assert_eq!(
            a[i].header("Location"),
            m[i].header("Location"),
            "{what}: Location"
        );
        let (at, mt) = (a[i].body_text(), m[i].body_text());
        if at.contains("Index of") {
            // The listings' markup differs (DOCTYPE, table); the directory they name must not.
            let title = |t: &str| {
                t.split("<title>")
                    .nth(1)?
                    .split("</title>")
                    .next()
                    .map(str::to_string)
            };
            assert_eq!(title(&at), title(&mt), "{what}: listing title");
        } else if a[i].status == 200 {
            assert_eq!(at, mt, "{what}: body");
        }
    }
    m.iter().map(|r| r.status).collect()
}

fn no_dir_module_serves_no_index(mpm: &str) {
    if !available() {
        return;
    }
    // mod_autoindex only: listings (no redirect for /ai), 403 under -Indexes, never index.html.
    let st = compare(mpm, &["autoindex"], &["dir"]);
    assert_eq!(st, [200, 403, 403, 200, 200, 200, 200]);
    // Neither: the default handler's 404 for every directory.
    let st = compare(mpm, &[], &["dir"]);
    assert_eq!(st, [404, 404, 404, 404, 404, 200, 200]);
}

fn dir_module_without_autoindex(mpm: &str) {
    if !available() {
        return;
    }
    let st = compare(mpm, &[], &[]);
    assert_eq!(st, [200, 200, 301, 404, 301, 200, 200]);
}

mpm_tests!(no_dir_module_serves_no_index, dir_module_without_autoindex);
