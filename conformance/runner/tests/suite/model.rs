//! The model of the documented behaviour against the documents themselves.
//!
//! Every documented answer of the contract is a trace the model accepts: each
//! response example of the spec, sent after the steps that lead to it, holds.

use idcs_mfa_contract::{Contract, ExampleLocation};
use serde_json::Value;

use idcs_mfa::Method;
use idcs_mfa_model::machine::*;

fn answer_of(status: u16, body: &Value) -> Answer {
    let str_of = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut factors: Option<Vec<String>> = body.get("factors").and_then(Value::as_array).map(|f| {
        f.iter()
            .filter_map(|x| x.get("factorId").and_then(Value::as_str).map(str::to_owned))
            .collect()
    });
    if let Some(f) = &mut factors {
        f.sort();
    }
    Answer {
        status,
        body_status: str_of("status").map(|s| s.as_str().into()),
        codes: body
            .get("cause")
            .and_then(Value::as_array)
            .map(|c| {
                c.iter()
                    .filter_map(|x| x.get("code")?.as_str().map(Into::into))
                    .collect()
            })
            .unwrap_or_default(),
        new_state: body.get("requestState").map(|_| true),
        method: str_of("method").map(|m| Method::from(m.as_str())),
        factor_id: str_of("factorId"),
        factors,
        ec_id: body.get("ecId").is_some(),
    }
}

/// A user with the factor an example names (or the factors it lists).
fn user_for(body: &Value) -> User {
    let mut factors: Vec<Factor> = body
        .get("factors")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .map(|x| Factor {
                    id: x["factorId"].as_str().unwrap_or_default().to_owned(),
                    methods: x["methods"]
                        .as_array()
                        .map(|m| {
                            m.iter()
                                .filter_map(Value::as_str)
                                .map(Method::from)
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    if let (Some(id), Some(m)) = (body["factorId"].as_str(), body["method"].as_str()) {
        factors.push(Factor {
            id: id.to_owned(),
            methods: vec![Method::from(m)],
        });
    }
    for (id, m) in [
        ("sms", Method::Sms),
        ("phone", Method::Push),
        ("SecurityQuestions", Method::SecurityQuestions),
    ] {
        if !factors.iter().any(|f| f.methods.contains(&m)) {
            factors.push(Factor {
                id: id.into(),
                methods: vec![m],
            });
        }
    }
    User {
        guid: "u".into(),
        name: "u".into(),
        factors,
        preferred: None,
    }
}

/// The steps (with the documented answers a conforming tenant gives) that lead to
/// the state an example answers, and the step it answers.
fn scenario(name: &str, body: &Value) -> Option<(Vec<(Step, Answer)>, Step)> {
    let initiated = |m: Method| {
        (
            Step::Initiate {
                who: Who::Guid,
                pick: Pick::Method(m.clone()),
            },
            Answer {
                status: 200,
                body_status: Some("success".into()),
                new_state: Some(true),
                method: Some(m.clone()),
                factor_id: Some(match m {
                    Method::Push => "phone".into(),
                    Method::SecurityQuestions => "SecurityQuestions".into(),
                    _ => "sms".into(),
                }),
                ..Answer::default()
            },
        )
    };
    let current = StateRef::Current;
    Some(match name {
        "seed002-response-tab" | "seed002-example-response-body" => {
            (vec![], Step::Lookup { who: Who::Guid })
        }
        "od-user-not-found" => (vec![], Step::Lookup { who: Who::Unknown }),
        "pm-sms" | "pm-bypass-code" | "pm-security-questions" => {
            let m = Method::from(body["method"].as_str()?);
            (
                vec![],
                Step::Initiate {
                    who: Who::Guid,
                    pick: Pick::Method(m),
                },
            )
        }
        "seed000-pending" => (vec![initiated(Method::Push)], Step::Poll { req: 0 }),
        "seed000-success" => (
            vec![
                initiated(Method::Push),
                (
                    Step::Decide {
                        req: 0,
                        approve: true,
                    },
                    Answer::default(),
                ),
            ],
            Step::Poll { req: 0 },
        ),
        "seed000-rejected" => (
            vec![
                initiated(Method::Push),
                (
                    Step::Decide {
                        req: 0,
                        approve: false,
                    },
                    Answer::default(),
                ),
            ],
            Step::Poll { req: 0 },
        ),
        "seed001-success" => (
            vec![initiated(Method::Sms)],
            Step::VerifyOtp {
                req: 0,
                state: current,
                code: Code::Right,
            },
        ),
        "seed001-resend" => (
            vec![initiated(Method::Sms)],
            Step::Resend {
                req: 0,
                state: current,
            },
        ),
        "seed001-invalid-passcode" => (
            vec![initiated(Method::Sms)],
            Step::VerifyOtp {
                req: 0,
                state: current,
                code: Code::Wrong,
            },
        ),
        "seed001-invalid-answers" => (
            vec![initiated(Method::SecurityQuestions)],
            Step::VerifyAnswers {
                req: 0,
                state: current,
                code: Code::Wrong,
            },
        ),
        _ => return None,
    })
}

// Test case: every response example of the spec is an answer the model allows, in
// the state that leads to it; and every example has a scenario here.
#[test]
fn every_documented_answer_is_a_trace_the_model_accepts() {
    let mut seen = 0;
    for example in Contract::get().examples() {
        let ExampleLocation::Response { status } = example.location else {
            continue;
        };
        let Some((setup, step)) = scenario(&example.name, &example.value) else {
            panic!(
                "no scenario for the example {} ({})",
                example.name, example.operation_id
            );
        };
        for strict in [false, true] {
            let mut model = Model::new(user_for(&example.value), 5, strict);
            for (s, a) in &setup {
                let s = model.resolve(s).expect("the setup step applies");
                if let Some(e) = model.expect(&s) {
                    assert_eq!(
                        model.observe(&s, &e, a),
                        Verdict::Held,
                        "{}: setup {s:?}",
                        example.name
                    );
                }
            }
            let s = model.resolve(&step).expect("the step applies");
            let e = model.expect(&s).expect("an answer");
            let answer = answer_of(status, &example.value);
            assert_eq!(
                model.observe(&s, &e, &answer),
                Verdict::Held,
                "{} ({} {status}, strict {strict}): {}",
                example.name,
                example.operation_id,
                answer.describe()
            );
        }
        seen += 1;
    }
    assert!(seen >= 13, "{seen} response examples");
}

// Test case: docs/model.md shows the model as it is (its rules and the diagrams
// generated from it); regenerate with `idcs-mfa-conformance model`.
#[test]
fn the_documented_model_is_the_model() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/model.md"),
    )
    .expect("docs/model.md");
    assert!(
        doc.contains(&idcs_mfa_model::describe()),
        "docs/model.md is out of date: replace everything after its introduction with the output of `idcs-mfa-conformance model`"
    );
}

// Test case: docs/readings.md lists the readings as they are (every reading, its
// alternatives and what they rest on); regenerate with `idcs-mfa-conformance readings`.
#[test]
fn the_documented_readings_are_the_readings() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/readings.md"),
    )
    .expect("docs/readings.md");
    assert!(
        doc.contains(&idcs_mfa_model::readings::describe()),
        "docs/readings.md is out of date: replace everything after its introduction with the output of `idcs-mfa-conformance readings`"
    );
}
