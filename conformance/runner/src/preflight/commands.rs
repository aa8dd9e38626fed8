//! Whether a fixture command can run, found out without running it.
//!
//! The runner runs a fixture command with `sh -c`, so a command that cannot start does
//! not fail to spawn: the shell exits 127 (not found, or a script whose `#!`
//! interpreter is missing) or 126 (not executable), and the check that needed the
//! command learns only that it failed. Running the command here is not an option (an
//! OTP command may wait for a message, a PUSH command decides a PUSH, an unlock command
//! acts on the user), so the preflight reads it instead:
//!
//! 1. `sh -n -c COMMAND`: the command line parses;
//! 2. its program (the first word after any `NAME=value` assignments, quotes removed):
//!    a path (with a `/`) must exist, be a file and be executable; a bare name must be
//!    something `sh` finds (`command -v`: a builtin, or an executable on `PATH`);
//! 3. a script's interpreter (its `#!` line, `#!/usr/bin/env NAME` included) is
//!    installed.
//!
//! A command that starts with shell syntax this reading does not follow (a subshell, a
//! group, an expansion such as `$HOME/bin/otp`) is checked by step 1 only.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

/// How long `sh` may take to parse a command or look a name up.
const SHELL_LIMIT: Duration = Duration::from_secs(5);

/// Why a fixture command cannot run: one line naming the profile key, the cause and the
/// fix.
#[derive(Debug, thiserror::Error)]
pub enum CommandProblem {
    /// `sh` could not be started to parse the command.
    #[error("{key}: cannot start sh to check the command `{cmd}`: {error}")]
    NoShell {
        /// The profile key.
        key: &'static str,
        /// The command.
        cmd: String,
        /// Why.
        error: ShellError,
    },
    /// The command line does not parse.
    #[error("{key} = {cmd:?} is not a valid shell command ({reason}): correct it in the profile")]
    Invalid {
        /// The profile key.
        key: &'static str,
        /// The command.
        cmd: String,
        /// The shell's first line about it.
        reason: String,
    },
    /// Its program is a path that does not exist.
    #[error(
        "{key}: {program} does not exist (looked for {}): write it, or correct the path in the profile (a relative path starts from the directory the runner runs in)",
        .looked_for.display()
    )]
    Missing {
        /// The profile key.
        key: &'static str,
        /// The program.
        program: String,
        /// Where it was looked for.
        looked_for: PathBuf,
    },
    /// Its program is a directory.
    #[error("{key}: {program} is a directory, not a command: name the script in it")]
    Directory {
        /// The profile key.
        key: &'static str,
        /// The program.
        program: String,
    },
    /// Its program is not executable.
    #[error("{key}: {program} is not executable (the shell would exit 126): chmod +x {program}")]
    NotExecutable {
        /// The profile key.
        key: &'static str,
        /// The program.
        program: String,
    },
    /// `sh` could not be started to look the program up.
    #[error("{key}: cannot start sh to look up {program}: {error}")]
    NoLookup {
        /// The profile key.
        key: &'static str,
        /// The program.
        program: String,
        /// Why.
        error: ShellError,
    },
    /// `sh` does not find the program.
    #[error(
        "{key}: {program} is not a command sh finds on PATH (the shell would exit 127): install it, or give its path in the profile"
    )]
    NotFound {
        /// The profile key.
        key: &'static str,
        /// The program.
        program: String,
    },
    /// The interpreter of the script is not installed.
    #[error(
        "{key}: {program} cannot run: its interpreter {missing} is not installed (the shell would exit 127): install it, or correct the script's #! line"
    )]
    NoInterpreter {
        /// The profile key.
        key: &'static str,
        /// The program.
        program: String,
        /// The interpreter.
        missing: String,
    },
}

/// Why `sh` gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// It did not answer within 5 s.
    #[error("sh did not answer within {:?}", SHELL_LIMIT)]
    TimedOut,
    /// It could not be started.
    #[error(transparent)]
    Spawn(#[from] std::io::Error),
}

/// Checks the fixture command `cmd` of profile key `key`.
pub(crate) async fn check(key: &'static str, cmd: &str) -> Result<(), CommandProblem> {
    let (parses, said) =
        shell(&["-n", "-c", cmd])
            .await
            .map_err(|error| CommandProblem::NoShell {
                key,
                cmd: cmd.to_owned(),
                error,
            })?;
    if !parses {
        return Err(CommandProblem::Invalid {
            key,
            cmd: cmd.to_owned(),
            reason: first_line(&said).to_owned(),
        });
    }
    let Some(program) = program_of(cmd) else {
        return Ok(());
    };
    let path = if program.contains('/') {
        let path = PathBuf::from(&program);
        let Ok(meta) = std::fs::metadata(&path) else {
            return Err(CommandProblem::Missing {
                key,
                looked_for: std::path::absolute(&path).unwrap_or_else(|_| path.clone()),
                program,
            });
        };
        if meta.is_dir() {
            return Err(CommandProblem::Directory { key, program });
        }
        if !is_executable(&meta) {
            return Err(CommandProblem::NotExecutable { key, program });
        }
        path
    } else {
        let (found, resolved) = match shell(&["-c", "command -v -- \"$1\"", "sh", &program]).await {
            Ok(answer) => answer,
            Err(error) => {
                return Err(CommandProblem::NoLookup {
                    key,
                    program,
                    error,
                });
            }
        };
        if !found {
            return Err(CommandProblem::NotFound { key, program });
        }
        let resolved = resolved.trim();
        if !resolved.starts_with('/') {
            // A builtin or a function: nothing more to read.
            return Ok(());
        }
        PathBuf::from(resolved)
    };
    if let Some(missing) = missing_interpreter(&path) {
        return Err(CommandProblem::NoInterpreter {
            key,
            program,
            missing,
        });
    }
    Ok(())
}

/// Runs `sh ARGS` with its output captured: whether it succeeded, and its standard
/// output (on success) or standard error.
async fn shell(args: &[&str]) -> Result<(bool, String), ShellError> {
    let mut command = tokio::process::Command::new("sh");
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(SHELL_LIMIT, command.output())
        .await
        .map_err(|_| ShellError::TimedOut)??;
    let text = if output.status.success() {
        &output.stdout
    } else {
        &output.stderr
    };
    Ok((
        output.status.success(),
        String::from_utf8_lossy(text).into_owned(),
    ))
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    true
}

/// The interpreter a script's `#!` line names, when it is not installed.
fn missing_interpreter(script: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = String::from_utf8_lossy(line);
    let line = line.lines().next()?.trim();
    let mut words = line.split_whitespace();
    let interpreter = words.next()?;
    if !Path::new(interpreter).is_file() {
        return Some(interpreter.to_owned());
    }
    if interpreter.ends_with("/env") {
        // `#!/usr/bin/env [-S] NAME ...`: NAME is looked up on PATH.
        let name = words.find(|w| !w.starts_with('-') && !w.contains('='))?;
        if !on_path(name) {
            return Some(format!("{name} (through {interpreter})"));
        }
    }
    None
}

/// Whether an executable file `name` is in a directory of `PATH`.
fn on_path(name: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file() && is_executable(&m))
    })
}

/// The program `cmd` starts: its first word after any `NAME=value` assignments, quotes
/// and backslashes removed, a leading `~/` expanded. `None` when the command starts
/// with shell syntax this reading does not follow (see the module docs).
fn program_of(cmd: &str) -> Option<String> {
    let mut chars = cmd.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut word = String::new();
        let mut quoted = false;
        // Where the first quote began: `NAME=` must come before it to be an assignment.
        let mut unquoted_len = usize::MAX;
        while let Some(&c) = chars.peek() {
            match c {
                c if c.is_whitespace() => break,
                ';' | '|' | '&' | '<' | '>' | '(' | ')' | '{' | '}' | '$' | '`' | '*' | '?'
                | '[' | '#' => {
                    if word.is_empty() && !quoted {
                        return None;
                    }
                    if matches!(c, '$' | '`' | '*' | '?' | '[') {
                        return None;
                    }
                    break;
                }
                '\'' => {
                    chars.next();
                    quoted = true;
                    unquoted_len = unquoted_len.min(word.len());
                    for c in chars.by_ref() {
                        if c == '\'' {
                            break;
                        }
                        word.push(c);
                    }
                    continue;
                }
                '"' => {
                    chars.next();
                    quoted = true;
                    unquoted_len = unquoted_len.min(word.len());
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            '$' | '`' => return None,
                            '\\' => {
                                if let Some(next) = chars.next() {
                                    word.push(next);
                                }
                            }
                            c => word.push(c),
                        }
                    }
                    continue;
                }
                '\\' => {
                    chars.next();
                    word.push(chars.next()?);
                    continue;
                }
                c => {
                    chars.next();
                    word.push(c);
                }
            }
        }
        if word.is_empty() && !quoted {
            return None;
        }
        let assignment = word.split_once('=').is_some_and(|(name, _)| {
            name.len() < unquoted_len
                && !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        });
        if assignment {
            continue;
        }
        if matches!(
            word.as_str(),
            "!" | "if" | "for" | "while" | "until" | "case" | "exec" | "command" | "env"
        ) {
            return None;
        }
        if let Some(rest) = word.strip_prefix("~/") {
            let home = std::env::var_os("HOME")?;
            return Some(Path::new(&home).join(rest).display().to_string());
        }
        return Some(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory for this test's scripts.
    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "idcs-fixture-commands-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[cfg(unix)]
    fn script(dir: &Path, name: &str, text: &str, mode: u32) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path.display().to_string()
    }

    #[test]
    fn the_program_is_the_first_word_after_assignments() {
        for (cmd, program) in [
            ("./read-otp.sh", Some("./read-otp.sh")),
            ("  ./read-otp.sh --sms | tr -d ' '", Some("./read-otp.sh")),
            ("A=1 B='x y' ./otp.sh", Some("./otp.sh")),
            ("'/opt/my tools/otp.sh' arg", Some("/opt/my tools/otp.sh")),
            ("\"/opt/o\\\"k/otp\" arg", Some("/opt/o\"k/otp")),
            ("printf 123456", Some("printf")),
            ("python3 otp.py;echo", Some("python3")),
            ("$HOME/bin/otp", None),
            ("(cd x && ./otp.sh)", None),
            ("exec ./otp.sh", None),
            ("", None),
        ] {
            assert_eq!(program_of(cmd).as_deref(), program, "{cmd:?}");
        }
        let home = std::env::var("HOME").unwrap_or_default();
        if !home.is_empty() {
            assert_eq!(
                program_of("~/bin/otp.sh"),
                Some(Path::new(&home).join("bin/otp.sh").display().to_string())
            );
        }
    }

    // Test case: each way a fixture command cannot run is one line naming the key, the
    // cause and the fix; commands that can run pass.
    #[cfg(unix)]
    #[tokio::test]
    async fn each_command_that_cannot_run_is_one_line_naming_the_key_and_the_fix() {
        let d = dir("check");
        let runs = script(&d, "otp.sh", "#!/bin/sh\necho 123456\n", 0o755);
        let not_executable = script(&d, "push.sh", "#!/bin/sh\nexit 0\n", 0o644);
        let no_interpreter = script(&d, "unlock.sh", "#!/nonexistent/bin/python9\n", 0o755);
        let no_env_interpreter = script(
            &d,
            "env.sh",
            "#!/usr/bin/env -S no-such-interpreter-9 -u\n",
            0o755,
        );
        let missing = d.join("read-otp.sh").display().to_string();
        let chmod = format!("chmod +x {not_executable}");
        for ok in [
            runs.clone(),
            format!("IDCS_X=1 {runs} --flag | tr -d ' '"),
            "printf 123456".into(),
            "sh -c 'echo 1'".into(),
            "$HOME/whatever".into(),
        ] {
            assert!(check("fixtures.otp_command", &ok).await.is_ok(), "{ok}");
        }
        let cases = [
            (
                "fixtures.otp_command",
                missing.clone(),
                vec!["does not exist", "write it, or correct the path"],
            ),
            (
                "fixtures.push_command",
                not_executable.clone(),
                vec!["is not executable", &chmod],
            ),
            (
                "fixtures.unlock_command",
                no_interpreter.clone(),
                vec!["/nonexistent/bin/python9 is not installed", "exit 127"],
            ),
            (
                "fixtures.unlock_command",
                no_env_interpreter,
                vec!["no-such-interpreter-9 (through /usr/bin/env)"],
            ),
            (
                "fixtures.otp_command",
                "read-my-otp-9 --sms".into(),
                vec![
                    "read-my-otp-9 is not a command sh finds on PATH",
                    "exit 127",
                ],
            ),
            (
                "fixtures.otp_command",
                d.display().to_string(),
                vec!["is a directory"],
            ),
            (
                "fixtures.push_command",
                "./push.sh 'approve".into(),
                vec!["is not a valid shell command", "correct it in the profile"],
            ),
        ];
        for (key, cmd, says) in cases {
            let line = check(key, &cmd).await.expect_err(&cmd).to_string();
            assert!(line.starts_with(key), "{line}");
            assert!(!line.contains('\n'), "one line: {line}");
            for part in says {
                assert!(line.contains(part), "{cmd}: {line} lacks {part:?}");
            }
        }
        // The shell agrees: these would have exited 126 and 127.
        for (cmd, code) in [(not_executable, 126), (no_interpreter, 127), (missing, 127)] {
            let status = std::process::Command::new("sh")
                .args(["-c", &cmd])
                .status()
                .expect("sh");
            assert_eq!(status.code(), Some(code), "{cmd}");
        }
        let _ = std::fs::remove_dir_all(d);
    }
}
