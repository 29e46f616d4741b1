//! docs/configuration.md is generated from the registry; this fails when they differ.
//! Regenerate with: cargo run -q -- --directives-markdown > docs/configuration.md

#[test]
fn configuration_md_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = mpmd::config::docs::directives_markdown();
    assert!(
        committed == generated,
        "docs/configuration.md is stale; run: cargo run -q -- --directives-markdown > docs/configuration.md"
    );
}

#[test]
fn every_directive_is_documented_once_per_module() {
    let md = mpmd::config::docs::directives_markdown();
    for (m, d) in mpmd::config::registry::all_directives() {
        let name = if d.section {
            format!("`<{}>`", d.name)
        } else {
            format!("`{}`", d.name)
        };
        assert!(
            md.contains(&format!("| {name} | {} |", m.name)),
            "{} ({})",
            d.name,
            m.name
        );
    }
}

/// The Partial rows and the notes name directives the registry has (a typo would drop the
/// row's Partial status silently), and Partial only refines Implemented.
#[test]
fn partial_and_notes_name_real_directives() {
    use mpmd::config::docs::{NOTES, PARTIAL};
    use mpmd::config::registry::{all_directives, Support};
    for (name, _) in PARTIAL.iter().chain(NOTES) {
        let d = all_directives().find(|(_, d)| d.name == *name);
        assert!(d.is_some(), "{name} is not a directive");
    }
    for (name, _) in PARTIAL {
        assert!(
            all_directives()
                .filter(|(_, d)| d.name == *name)
                .all(|(_, d)| matches!(d.support, Support::Implemented)),
            "{name}"
        );
    }
}
