//! What users read about failures is written for people: no paths, no
//! program output (that goes to the log).

use std::time::Duration;

use serde_json::json;

use crate::db_tests;
use crate::helpers::{Backend, spawn_app_with};
use crate::projects::{create, wait_finished};

db_tests!(a_piper_failure_warns_without_paths_or_stderr);

async fn a_piper_failure_warns_without_paths_or_stderr(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let piper = dir.path().join("piper");
    std::fs::write(
        &piper,
        "#!/bin/sh\necho 'Error: cannot open /srv/secret-models/en_US-test.onnx: Permission denied' >&2\nexit 3\n",
    )
    .expect("write");
    std::fs::set_permissions(&piper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let app = spawn_app_with(
        backend,
        &[
            ("TTS_PROVIDER", "piper"),
            ("PIPER_VOICE", "/srv/secret-models/en_US-test.onnx"),
            ("PIPER_PYTHON", piper.to_str().expect("utf-8")),
        ],
    )
    .await;
    let session = app.sign_in("piper@example.com").await;
    let token = session.access_token.as_str();
    let id = create(&app, token, json!({"title": "t", "script": "Hello there.", "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(90)).await;
    assert_eq!(project["status"], "partial", "{project}");
    let warning = project["warnings"][0].as_str().expect("warning");
    assert_eq!(warning, "Scene 1: the neural voice failed; narrated with the built-in voice instead.");
    let shown = project.to_string();
    let tmp = dir.path().display().to_string();
    for secret in ["/srv", "secret-models", "Permission denied", "exit code", ".onnx", tmp.as_str()] {
        assert!(!shown.contains(secret), "{secret:?} shown to the user: {shown}");
    }
}
