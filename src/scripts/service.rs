//! The rules of a script from a topic: what a request may ask, what the
//! model is told, what of its answer is accepted, and the order of things
//! (admission, the model, one more try, recording).

use serde::{Deserialize, Serialize};

use super::llm::{self, ChatRequest, LlmError, WrittenScript};
use crate::config::{Config, OpenAiApi};
use crate::db::Db;
use crate::domain::TenantId;
use crate::error::FieldError;
use crate::projects::scene::{MAX_PROMPT_CHARS, MAX_SCENE_TEXT_CHARS, Visual};
use crate::projects::script::{MAX_SCENES, MAX_SCRIPT_CHARS, word_count};
use crate::stock::StockMedia;
use crate::usage::meter::{self, LedgerEntry};
use crate::usage::quota::Exceeded;

/// Longest topic, in characters.
pub const MAX_TOPIC_CHARS: usize = 500;
/// Longest tone, in characters.
pub const MAX_TONE_CHARS: usize = 60;
/// The durations a request may ask for, in seconds.
pub const DURATIONS: std::ops::RangeInclusive<u32> = 10..=600;
/// The length asked for when a request names neither duration nor scenes.
pub const DEFAULT_DURATION_SECONDS: u32 = 60;
/// Seconds of narration a scene holds when the request does not say how many.
const SECONDS_PER_SCENE: u32 = 10;
/// Narration speed assumed (the quota estimates' 2.5 words a second).
const WORDS_PER_SECOND: f64 = 2.5;
/// Longest title accepted from the model (a project's title limit).
const MAX_TITLE_CHARS: usize = 200;
/// Longest stock query (what a stock visual accepts); a longer one is cut at a word.
const MAX_QUERY_CHARS: usize = crate::stock::types::MAX_QUERY_CHARS;

/// Body of `POST /api/v1/scripts`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptRequest {
    /// What the video is about (1 to 500 characters).
    pub topic: String,
    /// The narration's language code, as a project's (`en`, `de`, `pt-br`); default `en`.
    pub language: Option<String>,
    /// How long the narration should run, 10 to 600 seconds; default 60 (or
    /// 10 a scene when `scenes` is given).
    pub duration_seconds: Option<u32>,
    /// How it should sound, in a few words (`playful`, `calm and factual`); at most 60 characters.
    pub tone: Option<String>,
    /// How many scenes, 1 to 60; default: one per 10 seconds.
    pub scenes: Option<u32>,
}

/// A request after its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brief {
    pub topic: String,
    pub language: String,
    pub duration_seconds: u32,
    pub tone: Option<String>,
    /// What the request asked for, if it did: the answer must come near it.
    pub scenes: Option<u32>,
}

impl Brief {
    /// The scene count the model is asked for (exactly, or about).
    fn scene_target(&self) -> u32 {
        self.scenes.unwrap_or_else(|| self.duration_seconds.div_ceil(SECONDS_PER_SCENE).clamp(1, MAX_SCENES as u32))
    }

    /// Words of narration the duration holds.
    fn target_words(&self) -> usize {
        (f64::from(self.duration_seconds) * WORDS_PER_SECOND).round() as usize
    }
}

/// Checks a request; every invalid field is named.
pub fn check_request(request: ScriptRequest) -> Result<Brief, Vec<FieldError>> {
    let mut errors = Vec::new();
    let topic = request.topic.trim().to_string();
    if topic.is_empty() || topic.chars().count() > MAX_TOPIC_CHARS || !topic.chars().any(char::is_alphanumeric) {
        errors.push(FieldError::new("topic", format!("must be 1 to {MAX_TOPIC_CHARS} characters of words")));
    }
    let language =
        request.language.as_deref().map(str::trim).filter(|l| !l.is_empty()).unwrap_or("en").to_ascii_lowercase();
    if !crate::projects::service::valid_language(&language) {
        errors.push(FieldError::new("language", "must be a language code such as en, de or pt-br"));
    }
    if request.duration_seconds.is_some_and(|d| !DURATIONS.contains(&d)) {
        errors.push(FieldError::new("duration_seconds", "must be between 10 and 600"));
    }
    if request.scenes.is_some_and(|n| n == 0 || n as usize > MAX_SCENES) {
        errors.push(FieldError::new("scenes", format!("must be between 1 and {MAX_SCENES}")));
    }
    let tone = request.tone.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    if tone.as_ref().is_some_and(|t| t.chars().count() > MAX_TONE_CHARS || t.chars().any(char::is_control)) {
        errors.push(FieldError::new("tone", format!("must be at most {MAX_TONE_CHARS} characters on one line")));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let duration_seconds = request.duration_seconds.unwrap_or_else(|| {
        request
            .scenes
            .map(|n| (n * SECONDS_PER_SCENE).clamp(*DURATIONS.start(), *DURATIONS.end()))
            .unwrap_or(DEFAULT_DURATION_SECONDS)
    });
    Ok(Brief { topic, language, duration_seconds, tone, scenes: request.scenes })
}

/// What the model is told: the instructions, then the request.
pub fn chat_request(api: &OpenAiApi, brief: &Brief) -> ChatRequest {
    let count = brief.scene_target();
    let scenes = match brief.scenes {
        Some(n) => format!("exactly {n} scene{}", if n == 1 { "" } else { "s" }),
        None => format!("about {count} scenes"),
    };
    let system = format!(
        "You write narration scripts for short narrated videos. A script is a title and scenes; \
         each scene is what the narrator says while one picture shows (one to three sentences, \
         at most 300 characters), a stock photo search of two to four English words for that \
         picture, and a one-sentence English description of the picture. Write the title and the \
         narration in the language whose code is \"{language}\". Narration is spoken: no headings, \
         lists, stage directions, emoji or URLs. Answer with the JSON object the schema describes, nothing else.",
        language = brief.language,
    );
    let mut user = format!(
        "Topic: {topic}\nLength: about {seconds} seconds of narration (about {words} words), in {scenes}.",
        topic = brief.topic,
        seconds = brief.duration_seconds,
        words = brief.target_words(),
    );
    if let Some(tone) = &brief.tone {
        user.push_str(&format!("\nTone: {tone}"));
    }
    ChatRequest::new(api, system, user)
}

/// A script, ready to be the `title` and `scenes` of `POST /api/v1/projects`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Script {
    pub title: String,
    /// The language the script was asked in (a project's `language`).
    pub language: String,
    pub scenes: Vec<ScriptScene>,
}

/// One scene, in the shape a project's scene takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ScriptScene {
    /// The narration.
    pub text: String,
    /// A stock photo searched with the model's query: `{"kind":"stock","media":"photo","query"}`.
    pub visual: Visual,
    /// A picture prompt: becomes the prompt when the visual is switched to `{"kind":"ai"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

/// Checks the model's answer against the brief and shapes it as scenes.
///
/// Refused (the reason goes to the log; the model is asked once more): no
/// title or one over 200 characters; no scenes or more than 60; a requested
/// scene count missed by more than a fifth (at least one scene either way);
/// a scene without words or over 2,000 characters; more than 20,000
/// characters in all; fewer than a quarter or more than twice (plus 40) the
/// words the duration holds; narration mostly not in the writing system of
/// the language (`plausible_language`). Queries and prompts are secondary:
/// blank ones are left out, long ones cut at a word.
pub fn accept(brief: &Brief, written: WrittenScript) -> Result<Script, String> {
    let title = one_line(&written.title);
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(format!("a title of {} characters", title.chars().count()));
    }
    let count = written.scenes.len();
    if count == 0 || count > MAX_SCENES {
        return Err(format!("{count} scenes"));
    }
    if let Some(wanted) = brief.scenes {
        let slack = wanted.div_ceil(5).max(1) as usize;
        if count.abs_diff(wanted as usize) > slack {
            return Err(format!("{count} scenes where {wanted} were asked"));
        }
    }
    let mut scenes = Vec::with_capacity(count);
    for (index, scene) in written.scenes.into_iter().enumerate() {
        let text = scene.narration.trim().to_string();
        let length = text.chars().count();
        if !text.chars().any(char::is_alphanumeric) || length > MAX_SCENE_TEXT_CHARS {
            return Err(format!("scene {index} has {length} characters of narration"));
        }
        let query = cut_at_word(&one_line(&scene.stock_query), MAX_QUERY_CHARS);
        let prompt = cut_at_word(&one_line(&scene.image_prompt), MAX_PROMPT_CHARS);
        scenes.push(ScriptScene {
            text,
            visual: Visual::Stock {
                media: StockMedia::Photo,
                query: (!query.is_empty()).then_some(query),
                provider: None,
                pick: None,
            },
            prompt: (!prompt.is_empty()).then_some(prompt),
        });
    }
    let total_chars: usize = scenes.iter().map(|s| s.text.chars().count()).sum();
    if total_chars > MAX_SCRIPT_CHARS {
        return Err(format!("{total_chars} characters of narration"));
    }
    let words: usize = scenes.iter().map(|s| word_count(&s.text)).sum();
    let target = brief.target_words();
    if words < target / 4 || words > target * 2 + 40 {
        return Err(format!("{words} words where about {target} were asked"));
    }
    let narration: String = scenes.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
    if !plausible_language(&brief.language, &narration) {
        return Err(format!("narration not in the writing system of {}", brief.language));
    }
    Ok(Script { title, language: brief.language.clone(), scenes })
}

/// Whitespace (newlines, tabs) folded to single spaces; control characters dropped.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .map(|word| word.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` cut to at most `max` characters, at a word boundary when there is one.
fn cut_at_word(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    match cut.rfind(' ') {
        Some(at) if at > 0 => cut[..at].trim_end().to_string(),
        _ => cut,
    }
}

/// A writing system, by Unicode blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writing {
    Latin,
    Cyrillic,
    Greek,
    Arabic,
    Hebrew,
    Devanagari,
    Bengali,
    Tamil,
    Thai,
    Georgian,
    Armenian,
    /// Chinese characters.
    Han,
    /// Japanese: kana, with Chinese characters.
    Japanese,
    /// Korean: hangul, with the odd Chinese character.
    Korean,
}

/// The writing system a language is written in, for the languages that have
/// one; `None` (no check) for the others and those written in several
/// (Serbian, for one).
fn writing_of(language: &str) -> Option<Writing> {
    let primary = language.split('-').next().unwrap_or_default();
    Some(match primary {
        "en" | "de" | "fr" | "es" | "it" | "pt" | "nl" | "sv" | "da" | "no" | "nb" | "nn" | "fi" | "pl" | "cs"
        | "sk" | "sl" | "hr" | "bs" | "ro" | "hu" | "tr" | "id" | "ms" | "vi" | "ca" | "eu" | "gl" | "et" | "lv"
        | "lt" | "is" | "ga" | "cy" | "sq" | "af" | "sw" | "tl" | "fil" | "eo" | "la" | "mt" | "lb" => Writing::Latin,
        "ru" | "uk" | "be" | "bg" | "mk" | "kk" | "ky" | "mn" | "tg" => Writing::Cyrillic,
        "el" => Writing::Greek,
        "ar" | "fa" | "ur" | "ps" => Writing::Arabic,
        "he" | "yi" => Writing::Hebrew,
        "hi" | "mr" | "ne" => Writing::Devanagari,
        "bn" => Writing::Bengali,
        "ta" => Writing::Tamil,
        "th" => Writing::Thai,
        "ka" => Writing::Georgian,
        "hy" => Writing::Armenian,
        "zh" => Writing::Han,
        "ja" => Writing::Japanese,
        "ko" => Writing::Korean,
        _ => return None,
    })
}

fn belongs(writing: Writing, c: char) -> bool {
    let han = matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF);
    match writing {
        Writing::Latin => c.is_ascii_alphabetic() || matches!(c as u32, 0xC0..=0x24F | 0x1E00..=0x1EFF),
        Writing::Cyrillic => matches!(c as u32, 0x400..=0x52F),
        Writing::Greek => matches!(c as u32, 0x370..=0x3FF | 0x1F00..=0x1FFF),
        Writing::Arabic => matches!(c as u32, 0x600..=0x6FF | 0x750..=0x77F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF),
        Writing::Hebrew => matches!(c as u32, 0x590..=0x5FF),
        Writing::Devanagari => matches!(c as u32, 0x900..=0x97F),
        Writing::Bengali => matches!(c as u32, 0x980..=0x9FF),
        Writing::Tamil => matches!(c as u32, 0xB80..=0xBFF),
        Writing::Thai => matches!(c as u32, 0xE00..=0xE7F),
        Writing::Georgian => matches!(c as u32, 0x10A0..=0x10FF),
        Writing::Armenian => matches!(c as u32, 0x530..=0x58F),
        Writing::Han => han,
        Writing::Japanese => han || matches!(c as u32, 0x3040..=0x30FF),
        Writing::Korean => han || matches!(c as u32, 0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F),
    }
}

/// Whether `text` is plausibly in `language`: at least half of its letters
/// are of the language's writing system. This catches an answer in the wrong
/// alphabet (English asked in Russian, Chinese for Japanese without kana is
/// let through: it is Han either way), not the wrong language in the same
/// alphabet (German for English); languages without an entry in the table
/// are not checked.
pub fn plausible_language(language: &str, text: &str) -> bool {
    let Some(writing) = writing_of(language) else { return true };
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.is_empty() {
        return false;
    }
    let ours = letters.iter().filter(|c| belongs(writing, **c)).count();
    ours * 2 >= letters.len()
}

/// How a generation ended, for the route to answer.
#[derive(Debug)]
pub enum ScriptError {
    /// `scripts_generated` would pass its quota; nothing was asked.
    Quota(Exceeded),
    /// The model gave nothing usable (after one more try for a bad answer).
    Llm(LlmError),
    /// The tenant is gone (erased while asking).
    Database(sqlx::Error),
}

impl From<sqlx::Error> for ScriptError {
    fn from(err: sqlx::Error) -> Self {
        ScriptError::Database(err)
    }
}

/// A generation: admission (one script reserved under the tenant's lock),
/// the model (asked again once when its answer is unusable), then, on
/// success only, one ledger row (`script:{id}`) and the reservation dropped;
/// on failure only the reservation is dropped. Returns the script and the
/// ledger entries written, for the JSONL log.
pub async fn generate(
    db: &Db,
    http: &reqwest::Client,
    config: &Config,
    api: &OpenAiApi,
    tenant_id: &TenantId,
    brief: &Brief,
) -> Result<(Script, Vec<LedgerEntry>), ScriptError> {
    let key = format!("{}{}", crate::usage::store::SCRIPT_RESERVATION_PREFIX, uuid::Uuid::now_v7());
    let mut tx = db.begin_write().await?;
    if let Err(exceeded) = meter::admit_script(&mut tx, config, tenant_id, &key, crate::db::now_ms()).await? {
        return Err(ScriptError::Quota(exceeded));
    }
    tx.commit().await?;

    let request = chat_request(api, brief);
    let timeout = config.scripts.timeout;
    let mut outcome = Err(LlmError::Invalid("not asked".into()));
    for attempt in 1..=2 {
        outcome = llm::complete(http, api, &request, timeout)
            .await
            .and_then(|written| accept(brief, written).map_err(LlmError::Invalid));
        match &outcome {
            Err(err) if err.retryable() => {
                let reason = match err {
                    LlmError::Invalid(reason) => reason.as_str(),
                    _ => "refused",
                };
                tracing::warn!(attempt, reason, "the language model's script was not usable");
            }
            _ => break,
        }
    }

    let mut tx = db.begin_write().await?;
    match outcome {
        Ok(script) => {
            let written = meter::record_script(&mut tx, tenant_id, &key, crate::db::now_ms()).await?;
            tx.commit().await?;
            Ok((script, written))
        }
        Err(err) => {
            crate::usage::store::release_script(&mut tx, &key).await?;
            tx.commit().await?;
            Err(ScriptError::Llm(err))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scripts::llm::WrittenScene;

    fn request(topic: &str) -> ScriptRequest {
        ScriptRequest { topic: topic.into(), language: None, duration_seconds: None, tone: None, scenes: None }
    }

    fn fields(result: Result<Brief, Vec<FieldError>>) -> Vec<String> {
        result.err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn requests_are_checked_field_by_field() {
        let brief = check_request(request("  How tides work ")).expect("valid");
        assert_eq!(brief.topic, "How tides work");
        assert_eq!((brief.language.as_str(), brief.duration_seconds, brief.scenes), ("en", 60, None));
        assert_eq!(brief.scene_target(), 6);
        assert_eq!(brief.target_words(), 150);

        let by_scenes = check_request(ScriptRequest { scenes: Some(3), ..request("Tides") }).expect("valid");
        assert_eq!((by_scenes.duration_seconds, by_scenes.scene_target()), (30, 3));
        let one = check_request(ScriptRequest { scenes: Some(1), ..request("Tides") }).expect("valid");
        assert_eq!(one.duration_seconds, 10, "at least the shortest duration");
        let german = ScriptRequest {
            language: Some("DE".into()),
            duration_seconds: Some(600),
            tone: Some(" calm ".into()),
            ..request("Gezeiten")
        };
        let german = check_request(german).expect("valid");
        assert_eq!((german.language.as_str(), german.tone.as_deref(), german.scene_target()), ("de", Some("calm"), 60));

        assert_eq!(fields(check_request(request(" "))), ["topic"]);
        assert_eq!(fields(check_request(request("?!"))), ["topic"]);
        assert_eq!(fields(check_request(request(&"a".repeat(501)))), ["topic"]);
        assert!(check_request(request(&"a".repeat(500))).is_ok());
        let bad = ScriptRequest {
            topic: "Tides".into(),
            language: Some("english please".into()),
            duration_seconds: Some(9),
            tone: Some("x".repeat(61)),
            scenes: Some(0),
        };
        assert_eq!(fields(check_request(bad)), ["language", "duration_seconds", "scenes", "tone"]);
        let too_much = ScriptRequest { duration_seconds: Some(601), scenes: Some(61), ..request("Tides") };
        assert_eq!(fields(check_request(too_much)), ["duration_seconds", "scenes"]);
    }

    fn written(title: &str, narrations: &[&str]) -> WrittenScript {
        WrittenScript {
            title: title.into(),
            scenes: narrations
                .iter()
                .map(|n| WrittenScene {
                    narration: (*n).into(),
                    stock_query: "ocean tide".into(),
                    image_prompt: "A beach at high tide".into(),
                })
                .collect(),
        }
    }

    fn brief(seconds: u32, scenes: Option<u32>, language: &str) -> Brief {
        Brief { topic: "Tides".into(), language: language.into(), duration_seconds: seconds, tone: None, scenes }
    }

    const TEN_WORDS: &str = "The sea rises and falls twice a day, pulled gently.";

    #[test]
    fn answers_are_accepted_only_near_what_was_asked() {
        let script = accept(&brief(10, Some(2), "en"), written(" Tides\n", &[TEN_WORDS, TEN_WORDS])).expect("ok");
        assert_eq!(script.title, "Tides");
        assert_eq!(script.language, "en");
        assert_eq!(script.scenes.len(), 2);
        assert_eq!(
            serde_json::to_value(&script.scenes[0]).expect("json"),
            serde_json::json!({"text": TEN_WORDS, "visual": {"kind": "stock", "media": "photo", "query": "ocean tide"},
                               "prompt": "A beach at high tide"})
        );

        let refused = |brief: &Brief, written: WrittenScript| accept(brief, written).is_err();
        assert!(refused(&brief(10, None, "en"), written("", &[TEN_WORDS])), "no title");
        assert!(refused(&brief(10, None, "en"), written(&"T".repeat(201), &[TEN_WORDS])), "long title");
        assert!(refused(&brief(10, None, "en"), written("T", &[])), "no scenes");
        assert!(refused(&brief(600, None, "en"), written("T", &[TEN_WORDS; 61])), "61 scenes");
        assert!(refused(&brief(60, Some(5), "en"), written("T", &[TEN_WORDS; 3])), "3 of 5");
        assert!(!refused(&brief(60, Some(5), "en"), written("T", &[TEN_WORDS; 4])), "4 of 5 is near");
        assert!(!refused(&brief(300, Some(20), "en"), written("T", &[TEN_WORDS; 24])), "24 of 20 is near");
        assert!(refused(&brief(300, Some(20), "en"), written("T", &[TEN_WORDS; 25])), "25 of 20");
        assert!(refused(&brief(10, None, "en"), written("T", &[TEN_WORDS, "…"])), "a scene without words");
        assert!(refused(&brief(600, None, "en"), written("T", &[&"word ".repeat(401)])), "a scene too long");
        assert!(refused(&brief(10, None, "en"), written("T", &[TEN_WORDS; 10])), "100 words for 10 seconds");
        assert!(refused(&brief(600, None, "en"), written("T", &[TEN_WORDS; 3])), "30 words for 10 minutes");
        assert!(refused(&brief(10, None, "ru"), written("T", &[TEN_WORDS])), "English asked in Russian");
        assert!(!refused(
            &brief(10, None, "ru"),
            written("T", &["Море поднимается и опускается дважды в день, тихо и верно."])
        ));
    }

    #[test]
    fn queries_and_prompts_are_tidied_not_refused() {
        let mut answer = written("T", &[TEN_WORDS]);
        answer.scenes[0].stock_query = format!("{} tide", "ocean ".repeat(20));
        answer.scenes[0].image_prompt = " \n ".into();
        let script = accept(&brief(10, None, "en"), answer).expect("ok");
        let Visual::Stock { query: Some(query), .. } = &script.scenes[0].visual else { panic!("a stock visual") };
        assert!(query.chars().count() <= 100 && query.ends_with("ocean"), "{query}");
        assert_eq!(script.scenes[0].prompt, None);
        let mut answer = written("T", &[TEN_WORDS]);
        answer.scenes[0].stock_query = "\t".into();
        let script = accept(&brief(10, None, "en"), answer).expect("ok");
        assert_eq!(
            script.scenes[0].visual,
            Visual::Stock { media: StockMedia::Photo, query: None, provider: None, pick: None }
        );
    }

    #[test]
    fn the_language_is_checked_by_its_writing_system() {
        assert!(plausible_language("en", "Tides rise twice a day."));
        assert!(plausible_language("de", "Die Gezeiten steigen zweimal am Tag, über Nacht."));
        assert!(plausible_language("de", "Tides rise twice a day."), "same alphabet: not told apart");
        assert!(!plausible_language("en", "Приливы поднимаются дважды в день."));
        assert!(plausible_language("uk", "Припливи бувають двічі на день, каже NASA."));
        assert!(plausible_language("zh-hans", "潮汐每天涨落两次。"));
        assert!(plausible_language("ja", "潮は一日に二回満ち引きします。"));
        assert!(plausible_language("ko", "조수는 하루에 두 번 밀려옵니다."));
        assert!(!plausible_language("ja", "Tides rise twice a day."));
        assert!(plausible_language("ar", "المد والجزر يحدثان مرتين في اليوم."));
        assert!(plausible_language("el", "Η παλίρροια ανεβαίνει δύο φορές τη μέρα."));
        assert!(!plausible_language("hi", "Tides rise twice a day."));
        assert!(plausible_language("sr", "Plima dolazi dva puta dnevno."), "several alphabets: not checked");
        assert!(plausible_language("xx", "anything"), "unknown: not checked");
        assert!(!plausible_language("en", "1234 !!"), "no letters at all");
    }

    #[test]
    fn the_model_is_told_the_brief() {
        let api =
            OpenAiApi { base: url::Url::parse("http://llm.test/v1").expect("url"), key: None, model: Some("m".into()) };
        let brief = Brief { tone: Some("playful".into()), ..brief(30, Some(3), "pt-br") };
        let request = serde_json::to_value(chat_request(&api, &brief)).expect("json");
        assert_eq!(request["model"], "m");
        let system = request["messages"][0]["content"].as_str().unwrap_or_default();
        assert!(system.contains("\"pt-br\""), "{system}");
        let user = request["messages"][1]["content"].as_str().unwrap_or_default();
        assert!(
            user.contains("Topic: Tides") && user.contains("exactly 3 scenes") && user.contains("Tone: playful"),
            "{user}"
        );
        assert!(user.contains("about 30 seconds") && user.contains("about 75 words"), "{user}");
    }
}
