//! The whole verification flow against a tenant: look the user up, initiate their
//! preferred factor (or the one you name), then verify it.
//!
//! ```text
//! IDCS_BASE_URL=https://idcs-abc123.identity.oraclecloud.com \
//! IDCS_TOKEN=... \
//! cargo run --example flow -- user1@example.com [FACTOR_ID METHOD]
//! ```
//!
//! What it asks of you depends on the method: an OTP (SMS, EMAIL, PHONE_CALL, TOTP), a
//! bypass code or security answers are read from standard input (or from `IDCS_ANSWER`,
//! for scripts); for PUSH it waits, polling every 3 s for up to 2 minutes, until the
//! notification is approved or rejected on the phone.
//!
//! Against the mock tenant (`cargo run -p idcs-mfa-conformance -- serve`), the OTP is
//! in the mock's outbox and a PUSH is approved through its control API; `serve` prints
//! both addresses.

use std::{io::Write, process::ExitCode};

use idcs_mfa::{Answer, Client, Initiate, Method, PushStatus, PushWait, Secret, UserRef};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let user = args.next().ok_or(
        "usage: flow USER_NAME [FACTOR_ID METHOD] (with IDCS_BASE_URL and IDCS_TOKEN set)",
    )?;
    let factor = match (args.next(), args.next()) {
        (Some(id), Some(method)) => Some((id, Method::from(method.as_str()))),
        (None, None) => None,
        _ => return Err("give both FACTOR_ID and METHOD, or neither".into()),
    };
    let base_url =
        std::env::var("IDCS_BASE_URL").map_err(|_| "set IDCS_BASE_URL to the tenant's base URL")?;
    let token = std::env::var("IDCS_TOKEN").map_err(|_| "set IDCS_TOKEN to a bearer token")?;

    let client = Client::builder(base_url)
        .bearer_token(token)
        .build()
        .map_err(|e| e.to_string())?;
    let user = UserRef::Name(user);

    let factors = client.factors(&user).await.map_err(|e| e.to_string())?;
    println!(
        "user {} has {} factors:",
        factors.user_guid,
        factors.factors.len()
    );
    for f in &factors.factors {
        let methods: Vec<&str> = f.methods.iter().map(Method::as_str).collect();
        println!(
            "  {:<40} {:<24} {}",
            f.factor_id,
            f.display_name.as_deref().unwrap_or("-"),
            methods.join(", ")
        );
    }

    let initiate = match factor {
        Some((id, method)) => Initiate::factor(user, id, method),
        None => Initiate::preferred(user),
    };
    let mut v = client
        .initiate(&initiate)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "initiated {} on {} ({}), request {}",
        v.method(),
        v.factor_id(),
        v.display_name().unwrap_or("no display name"),
        v.request_id()
    );

    let result = match v.method().clone() {
        Method::Push => {
            println!("approve or reject the notification on the phone…");
            match client.wait_for_push(&v, PushWait::default()).await {
                Ok(PushStatus::Approved) => Ok(()),
                Ok(status) => Err(format!("the PUSH ended {status:?}")),
                Err(e) => Err(e.to_string()),
            }
        }
        Method::SecurityQuestions => {
            let questions = v.security_questions().to_vec();
            let mut answers = Vec::new();
            for q in &questions {
                let answer = ask(&format!("{} ", q.localized_text))?;
                answers.push(Answer::new(q.id.clone(), answer));
            }
            client
                .verify_answers(&mut v, &answers)
                .await
                .map_err(|e| e.to_string())
        }
        Method::Bypasscode => {
            let code = ask("bypass code: ")?;
            client
                .verify_bypass_code(&mut v, code)
                .await
                .map_err(|e| e.to_string())
        }
        m if m.takes_otp() => {
            let code = ask("one-time passcode: ")?;
            client
                .verify_otp(&mut v, code)
                .await
                .map_err(|e| e.to_string())
        }
        other => Err(format!("this example does not know how to verify {other}")),
    };
    result?;
    println!("verified");
    Ok(())
}

/// Reads one line from `IDCS_ANSWER` or standard input. The value is a secret.
fn ask(prompt: &str) -> Result<Secret, String> {
    if let Ok(answer) = std::env::var("IDCS_ANSWER") {
        return Ok(Secret::new(answer));
    }
    print!("{prompt}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    Ok(Secret::new(line.trim()))
}
