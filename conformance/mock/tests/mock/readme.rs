//! The README's "Use the mock tenant in your tests" stays the test that runs: every line
//! of `readme_example` and `readme_totp_example` (in `handle.rs`) appears in the
//! README's first and second examples, in order, and the README's `[dev-dependencies]`
//! name the crates the examples use.

use std::path::{Path, PathBuf};

const HEADING: &str = "## Use the mock tenant in your tests";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The README's text from `HEADING` up to the next `## ` heading.
fn readme_section(readme: &str) -> Result<&str, String> {
    let start = readme
        .lines()
        .scan(0, |offset, line| {
            let at = *offset;
            *offset += line.len() + 1;
            Some((at, line))
        })
        .find(|(_, line)| line.trim_end() == HEADING)
        .map(|(at, _)| at)
        .ok_or_else(|| format!("README.md has no heading {HEADING:?}"))?;
    let rest = &readme[start + HEADING.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    Ok(&rest[..end])
}

/// The body of the first fenced block in `section` whose opening line is `opening`
/// (e.g. "```rust"), without the fences.
fn fenced_block<'a>(section: &'a str, opening: &str) -> Result<&'a str, String> {
    nth_fenced_block(section, opening, 0)
}

/// The body of the `n`th (from 0) fenced block in `section` whose opening line is
/// `opening`, without the fences.
fn nth_fenced_block<'a>(section: &'a str, opening: &str, n: usize) -> Result<&'a str, String> {
    let open = format!("\n{opening}\n");
    let start = section
        .match_indices(&open)
        .nth(n)
        .ok_or_else(|| format!("no {opening} block number {} under {HEADING:?}", n + 1))?
        .0
        + open.len();
    let len = section[start..]
        .find("\n```")
        .ok_or_else(|| format!("the {opening} block under {HEADING:?} is not closed"))?;
    Ok(&section[start..start + len + 1])
}

/// The lines of `async fn readme_example` in `source`, from that line to the first `}`
/// at column 0, each with its 1-based line number.
fn example_lines(source: &str) -> Result<Vec<(usize, &str)>, String> {
    function_lines(source, "readme_example")
}

/// The lines of `async fn NAME()` in `source`, from that line to the first `}` at column
/// 0, each with its 1-based line number.
fn function_lines<'a>(source: &'a str, name: &str) -> Result<Vec<(usize, &'a str)>, String> {
    let mut lines = source.lines().enumerate().map(|(i, line)| (i + 1, line));
    let opening = format!("async fn {name}(");
    let first = lines
        .find(|(_, line)| line.starts_with(&opening))
        .ok_or(format!("handle.rs has no `async fn {name}`"))?;
    let mut out = vec![first];
    for (number, line) in lines {
        out.push((number, line));
        if line.starts_with('}') {
            return Ok(out);
        }
    }
    Err(format!(
        "`{name}` in handle.rs has no closing `}}` at column 0"
    ))
}

/// `None` when every non-blank line of `example` appears in `block` in the same order
/// (leading and trailing spaces aside); otherwise which line is missing.
fn missing_line(example: &[(usize, &str)], block: &str) -> Option<String> {
    let mut block_lines = block.lines().map(str::trim);
    for &(number, line) in example {
        let wanted = line.trim();
        if wanted.is_empty() {
            continue;
        }
        if !block_lines.any(|l| l == wanted) {
            let where_ = if block.lines().any(|l| l.trim() == wanted) {
                "is there, but out of order"
            } else {
                "is missing"
            };
            return Some(format!(
                "line {number} of conformance/mock/tests/mock/handle.rs, `{wanted}`, {where_} \
                 in the README's ```rust block under {HEADING:?}: copy the example into \
                 the README again"
            ));
        }
    }
    None
}

// Test case: the README shows `readme_example` as it is: every non-blank line of the
// test, in order, in the ```rust block of "Use the mock tenant in your tests".
#[test]
fn readme_shows_the_handle_example() {
    let readme = read(&manifest_dir().join("../../README.md"));
    let handle = read(&manifest_dir().join("tests/mock/handle.rs"));
    let section = readme_section(&readme).unwrap_or_else(|e| panic!("{e}"));
    let block = fenced_block(section, "```rust").unwrap_or_else(|e| panic!("{e}"));
    let example = example_lines(&handle).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        example.len() > 3,
        "readme_example is only {} lines: {example:?}",
        example.len()
    );
    if let Some(message) = missing_line(&example, block) {
        panic!("{message}\n\nthe README's block:\n{block}");
    }
}

// Test case: the README's second example (a TOTP verification: the fixture's secret,
// totp::code, verify_otp with a &String) is `readme_totp_example` as it is.
#[test]
fn readme_shows_the_totp_example() {
    let readme = read(&manifest_dir().join("../../README.md"));
    let handle = read(&manifest_dir().join("tests/mock/handle.rs"));
    let section = readme_section(&readme).unwrap_or_else(|e| panic!("{e}"));
    let block = nth_fenced_block(section, "```rust", 1).unwrap_or_else(|e| panic!("{e}"));
    let example = function_lines(&handle, "readme_totp_example").unwrap_or_else(|e| panic!("{e}"));
    assert!(example.len() > 3, "{example:?}");
    if let Some(message) = missing_line(&example, block) {
        panic!("{message}\n\nthe README's block:\n{block}");
    }
}

// Test case: the README's [dev-dependencies] name the mock and the client the example
// uses, and tokio for #[tokio::test].
#[test]
fn readme_dev_dependencies_name_the_mock() {
    let readme = read(&manifest_dir().join("../../README.md"));
    let section = readme_section(&readme).unwrap_or_else(|e| panic!("{e}"));
    let toml = fenced_block(section, "```toml").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        toml.starts_with("[dev-dependencies]\n"),
        "the README's ```toml block under {HEADING:?} is not a [dev-dependencies] table:\n{toml}"
    );
    for krate in ["idcs-mfa-mock", "idcs-mfa", "tokio"] {
        assert!(
            toml.lines()
                .any(|line| line.split('=').next().map(str::trim) == Some(krate)),
            "the README's [dev-dependencies] under {HEADING:?} do not name {krate}:\n{toml}"
        );
    }
}

// Test case: the comparison can fail. A block without one line of the example, or with
// two lines swapped, is refused with the line named; the example itself passes.
#[test]
fn a_missing_or_reordered_line_is_named() {
    let source = "use x;\n\n#[tokio::test]\nasync fn readme_example() {\n    let a = 1;\n\n    let b = 2;\n}\n\nfn other() {}\n";
    let example = example_lines(source).unwrap();
    assert_eq!(
        example,
        vec![
            (4, "async fn readme_example() {"),
            (5, "    let a = 1;"),
            (6, ""),
            (7, "    let b = 2;"),
            (8, "}"),
        ]
    );

    let whole = "#[tokio::test]\nasync fn readme_example() {\n    let a = 1;\n    let b = 2;\n}\n";
    assert_eq!(missing_line(&example, whole), None);

    let without_b = "async fn readme_example() {\n    let a = 1;\n}\n";
    let message = missing_line(&example, without_b).expect("a missing line is found");
    assert!(
        message.contains("line 7")
            && message.contains("`let b = 2;`")
            && message.contains("is missing"),
        "{message}"
    );

    let swapped = "async fn readme_example() {\n    let b = 2;\n    let a = 1;\n}\n";
    let message = missing_line(&example, swapped).expect("a reordered line is found");
    assert!(message.contains("out of order"), "{message}");

    assert!(example_lines("fn readme_example() {}\n").is_err());
    assert!(example_lines("async fn readme_example() {\n    let a = 1;\n").is_err());
}
