//! The README's "Use the library" example: what it imports, it uses.

use std::path::Path;

/// The first ```rust block (any attributes) under `## Use the library`.
fn library_example() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Use the library"))
        .expect("the README has a section \"Use the library\"");
    let start = section.find("```rust").expect("a ```rust block");
    let body = &section[start..];
    let body = &body[body.find('\n').expect("the fence line ends") + 1..];
    body[..body.find("```").expect("the block ends")].to_owned()
}

/// The names a `use idcs_mfa::{A, B, ...};` line brings in.
fn imported(example: &str) -> Vec<String> {
    example
        .lines()
        .filter_map(|l| l.trim().strip_prefix("use idcs_mfa::"))
        .flat_map(|rest| {
            rest.trim_end_matches(';')
                .trim_matches(|c| c == '{' || c == '}')
                .split(',')
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

// Test case: every name the README's library example imports from idcs_mfa appears
// again in the example (an unused import, such as PushWait before, is named).
#[test]
fn the_library_example_uses_what_it_imports() {
    let example = library_example();
    let names = imported(&example);
    assert!(names.contains(&"Client".to_owned()), "{names:?}");
    let code: String = example
        .lines()
        .filter(|l| !l.trim().starts_with("use "))
        .collect::<Vec<_>>()
        .join("\n");
    for name in &names {
        assert!(
            code.contains(name.as_str()),
            "the README's library example imports {name} and never uses it:\n{example}"
        );
    }
    assert_eq!(
        imported("use idcs_mfa::{Client, PushWait};\n"),
        ["Client", "PushWait"]
    );
}
