//! Renders the server-status HTML page as plain text, roughly as `www-browser -dump` does for
//! apache2ctl: block tags end lines, `<pre>` keeps its layout, table cells are spaced apart,
//! entities are decoded and long lines wrap at 78 columns.

const WIDTH: usize = 78;

/// Text of an HTML page.
pub fn html_to_text(html: &str) -> String {
    let mut r = Renderer::default();
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        if rest.starts_with('<') {
            if let Some(end) = rest.find('>') {
                r.tag(&rest[1..end]);
                rest = &rest[end + 1..];
                continue;
            }
        }
        let end = rest[1..].find('<').map_or(rest.len(), |i| i + 1);
        if r.skip == 0 {
            r.text(&decode_entities(&rest[..end]));
        }
        rest = &rest[end..];
    }
    r.finish()
}

#[derive(Default)]
struct Renderer {
    out: Vec<String>,
    line: String,
    pre: usize,
    /// Inside <head>, <script> or <style>: text is not shown.
    skip: usize,
    /// The current line already holds a table cell.
    in_row: bool,
    /// Inside a <table>: rows are not wrapped, so columns stay apart.
    table: usize,
}

impl Renderer {
    fn tag(&mut self, raw: &str) {
        let raw = raw.trim_end_matches('/').trim();
        let (closing, body) = match raw.strip_prefix('/') {
            Some(b) => (true, b),
            None => (false, raw),
        };
        let name: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match name.as_str() {
            "head" | "script" | "style" => {
                if closing {
                    self.skip = self.skip.saturating_sub(1);
                } else {
                    self.skip += 1;
                }
            }
            "pre" => {
                self.newline();
                if closing {
                    self.pre = self.pre.saturating_sub(1);
                } else {
                    self.pre += 1;
                }
            }
            "br" | "p" | "div" | "dt" | "dd" | "dl" | "li" | "ul" | "ol" | "h1" | "h2" | "h3"
            | "h4" | "h5" | "h6" | "address" | "blockquote" => {
                self.newline();
                if !closing && matches!(name.as_str(), "p" | "h1" | "h2" | "h3") {
                    self.blank();
                }
                if !closing && name == "dd" {
                    self.line.push_str("   ");
                }
            }
            "hr" => {
                self.newline();
                self.out.push("-".repeat(WIDTH));
            }
            "table" => {
                self.newline();
                if closing {
                    self.table = self.table.saturating_sub(1);
                } else {
                    self.blank();
                    self.table += 1;
                }
            }
            "tr" => {
                self.newline();
                self.in_row = false;
            }
            "td" | "th" if !closing => {
                if self.in_row {
                    self.line.push_str("  ");
                }
                self.in_row = true;
            }
            _ => {}
        }
    }

    fn text(&mut self, s: &str) {
        if self.pre > 0 {
            let mut parts = s.split('\n');
            if let Some(first) = parts.next() {
                self.line.push_str(first);
            }
            for p in parts {
                self.flush_raw();
                self.line.push_str(p);
            }
            return;
        }
        for (i, word) in s.split(|c: char| c.is_ascii_whitespace()).enumerate() {
            if i > 0 && !self.line.is_empty() && !self.line.ends_with(' ') {
                self.line.push(' ');
            }
            self.line.push_str(word);
        }
    }

    fn flush_raw(&mut self) {
        let line = std::mem::take(&mut self.line);
        self.out.push(line.trim_end().to_owned());
    }

    /// Ends the current line (wrapping it), if it has any text.
    fn newline(&mut self) {
        let line = std::mem::take(&mut self.line);
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        if self.table > 0 {
            self.out.push(line.to_owned());
            return;
        }
        self.out.extend(wrap(line, WIDTH));
    }

    fn blank(&mut self) {
        if self.out.last().is_some_and(|l| !l.is_empty()) {
            self.out.push(String::new());
        }
    }

    fn finish(mut self) -> String {
        self.newline();
        let mut s = String::new();
        let mut blank = true;
        for l in &self.out {
            if l.is_empty() {
                if !blank {
                    s.push('\n');
                }
                blank = true;
            } else {
                s.push_str(l);
                s.push('\n');
                blank = false;
            }
        }
        s
    }
}

fn wrap(line: &str, width: usize) -> Vec<String> {
    if line.chars().count() <= width {
        return vec![line.to_owned()];
    }
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in line.split(' ').filter(|w| !w.is_empty()) {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(';').filter(|&e| e <= 10).map(|e| e + 1);
        let decoded = end.and_then(|e| {
            let ent = &rest[1..e];
            let c = match ent {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => ' ',
                _ => {
                    let n = if let Some(h) = ent.strip_prefix("#x").or(ent.strip_prefix("#X")) {
                        u32::from_str_radix(h, 16).ok()
                    } else {
                        ent.strip_prefix('#').and_then(|d| d.parse().ok())
                    };
                    n.and_then(char::from_u32)?
                }
            };
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `mpmctl status`: the lines up to and including the first one ending in "process" (the
/// end of the scoreboard key), as apache2ctl cuts its dump; everything if there is none.
pub fn status_head(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if line.ends_with("process") {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n\
<html><head>\n<title>Apache Status</title>\n</head><body>\n\
<h1>Apache Server Status for localhost (via 127.0.0.1)</h1>\n\n\
<dl><dt>Server Version: Apache/2.4.71 (Debian)</dt>\n\
<dt>Server MPM: event</dt>\n</dl><hr /><dl>\n\
<dt>1 requests currently being processed, 49 idle workers</dt>\n\
</dl><pre>_W__\n....</pre>\n\
<p>Scoreboard Key:<br />\n\"<b><code>_</code></b>\" Waiting for Connection, \n\
\"<b><code>.</code></b>\" Open slot with no current process<br />\n</p>\n\
<table border=\"0\"><tr><th>Srv</th><th>PID</th></tr>\n<tr><td><b>0-0</b></td><td>12&amp;3</td></tr>\n</table>\n\
</body></html>\n";

    #[test]
    fn renders_the_status_page() {
        let t = html_to_text(PAGE);
        assert!(!t.contains("Apache Status"), "head is not shown: {t}");
        assert!(t.contains("\nServer Version: Apache/2.4.71 (Debian)\nServer MPM: event\n"));
        assert!(t.contains("\n_W__\n....\n"), "pre kept: {t}");
        assert!(
            t.contains("\"_\" Waiting for Connection, \".\" Open slot with no current process\n"),
            "{t}"
        );
        assert!(t.contains("Srv  PID\n0-0  12&3\n"), "{t}");
        assert!(!t.contains("\n\n\n"));
    }

    #[test]
    fn status_stops_after_the_key() {
        let t = html_to_text(PAGE);
        let head = status_head(&t);
        assert!(head.ends_with("process\n"));
        assert!(!head.contains("Srv"));
        assert_eq!(status_head("a\nb\n"), "a\nb\n");
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a&lt;b&#62;&#x41;&bogus; & x"),
            "a<b>A&bogus; & x"
        );
    }
}
