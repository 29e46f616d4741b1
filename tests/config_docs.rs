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
