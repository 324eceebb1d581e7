//! The language model's wire format: an OpenAI-compatible chat completion
//! (`POST {LLM_API_BASE}/chat/completions`) asked for a structured answer
//! (`response_format` `json_schema`, strict), and what comes back
//! (`choices[0].message.content` as a JSON string, `message.refusal`,
//! `finish_reason`; errors as `{"error":{"message","type","code"}}`).
//!
//! The API key travels only in the `Authorization` header. Nothing the
//! provider says reaches the user: errors are logged by status, type and
//! code (never the provider's message, which may quote the key) and answered
//! with `LlmError`'s fixed sentences.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::{DEFAULT_LLM_MODEL, OpenAiApi};

/// The largest answer read (60 scenes of 2,000 characters is ~130 kB of JSON).
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// The name of the structured answer's schema.
const SCHEMA_NAME: &str = "video_script";
/// The wait passed on when the provider says 429 without `Retry-After`.
const DEFAULT_RETRY_AFTER: u64 = 30;
/// The longest wait passed on.
const MAX_RETRY_AFTER: u64 = 3600;

/// Why the model gave no usable script. `Invalid` is worth one more try.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// An answer that is not the script asked for: not JSON, not the schema,
    /// cut short, or a script that fails our checks (the reason is for the log).
    #[error("the language model's answer was not a usable script: {0}")]
    Invalid(String),
    /// The model declined to write it (`message.refusal`, a content filter).
    #[error("the language model declined to write this script")]
    Refused,
    /// The provider asked us to wait (HTTP 429), for this many seconds.
    #[error("the language model is busy")]
    Busy { retry_after_seconds: u64 },
    /// No whole answer within `LLM_TIMEOUT_SECONDS`.
    #[error("the language model did not answer within {0} s")]
    Timeout(u64),
    /// Unreachable, an error status, or refused our key.
    #[error("the language model {0}")]
    Failed(&'static str),
}

impl LlmError {
    /// Whether another try may help (an unusable answer, a refusal).
    pub fn retryable(&self) -> bool {
        matches!(self, LlmError::Invalid(_) | LlmError::Refused)
    }
}

/// One message of the conversation.
#[derive(Debug, Serialize)]
pub struct Message {
    pub role: &'static str,
    pub content: String,
}

/// The request body.
#[derive(Debug, Serialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub response_format: Value,
}

impl ChatRequest {
    /// A request for a script: `system` then `user`, the answer held to `answer_schema`.
    pub fn new(api: &OpenAiApi, system: String, user: String) -> ChatRequest {
        ChatRequest {
            model: api.model.clone().unwrap_or_else(|| DEFAULT_LLM_MODEL.to_string()),
            messages: vec![Message { role: "system", content: system }, Message { role: "user", content: user }],
            response_format: json!({
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "strict": true, "schema": answer_schema()},
            }),
        }
    }
}

/// The schema of the answer (strict structured outputs: every property
/// required, no others). Counts and lengths are checked by us afterwards;
/// strict mode does not promise keywords such as `maxItems`.
pub fn answer_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["title", "scenes"],
        "properties": {
            "title": {"type": "string", "description": "the video's title, a few words"},
            "scenes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["narration", "stock_query", "image_prompt"],
                    "properties": {
                        "narration": {"type": "string", "description": "what the narrator says in this scene"},
                        "stock_query": {"type": "string", "description": "two to four English words to search stock photos with"},
                        "image_prompt": {"type": "string", "description": "a one-sentence description of a picture for this scene"},
                    },
                },
            },
        },
    })
}

/// The structured answer, as the schema describes it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WrittenScript {
    pub title: String,
    pub scenes: Vec<WrittenScene>,
}

/// One scene of the structured answer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WrittenScene {
    pub narration: String,
    pub stock_query: String,
    pub image_prompt: String,
}

#[derive(Debug, Deserialize)]
struct ChatResponse {
    #[serde(default)]
    choices: Vec<Choice>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: AnswerMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AnswerMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorDetail,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorDetail {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<Value>,
}

/// Reads a successful answer's body into the written script.
pub fn parse_answer(body: &[u8]) -> Result<WrittenScript, LlmError> {
    let answer: ChatResponse =
        serde_json::from_slice(body).map_err(|e| LlmError::Invalid(format!("not a chat completion: {e}")))?;
    let choice = answer.choices.into_iter().next().ok_or_else(|| LlmError::Invalid("no choices".into()))?;
    if choice.message.refusal.as_deref().is_some_and(|r| !r.trim().is_empty()) {
        return Err(LlmError::Refused);
    }
    match choice.finish_reason.as_deref() {
        Some("content_filter") => return Err(LlmError::Refused),
        Some("length") => return Err(LlmError::Invalid("cut short (finish_reason length)".into())),
        _ => {}
    }
    let content = choice.message.content.ok_or_else(|| LlmError::Invalid("no content".into()))?;
    serde_json::from_str(&content).map_err(|e| LlmError::Invalid(format!("content is not the schema: {e}")))
}

/// Asks the model once; the whole exchange (sending, the answer's last
/// byte) within `timeout`.
pub async fn complete(
    http: &reqwest::Client,
    api: &OpenAiApi,
    request: &ChatRequest,
    timeout: Duration,
) -> Result<WrittenScript, LlmError> {
    let url = format!("{}/chat/completions", api.base.as_str().trim_end_matches('/'));
    let mut builder = http.post(url).json(request);
    if let Some(key) = &api.key {
        builder = builder.bearer_auth(key.expose());
    }
    let exchange = async {
        let response = builder.send().await.map_err(|err| {
            if err.is_timeout() {
                LlmError::Timeout(timeout.as_secs())
            } else {
                tracing::warn!(error = %err.without_url(), "language model call failed");
                LlmError::Failed("could not be reached")
            }
        })?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after_seconds = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().parse().unwrap_or(60))
                .unwrap_or(DEFAULT_RETRY_AFTER)
                .clamp(1, MAX_RETRY_AFTER);
            return Err(LlmError::Busy { retry_after_seconds });
        }
        let body = read_capped(response).await?;
        if !status.is_success() {
            let error: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
            let code = error.error.code.unwrap_or_default().to_string();
            tracing::warn!(
                status = status.as_u16(),
                kind = error.error.kind.as_deref().unwrap_or("-"),
                code,
                "the language model answered with an error"
            );
            return Err(LlmError::Failed(match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => "refused our API key",
                s if s.is_server_error() => "failed on its side",
                _ => "refused the request",
            }));
        }
        parse_answer(&body)
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| LlmError::Timeout(timeout.as_secs()))?
}

/// Reads a body of at most `MAX_ANSWER_BYTES`.
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, LlmError> {
    if response.content_length().is_some_and(|n| n > MAX_ANSWER_BYTES as u64) {
        return Err(LlmError::Failed("sent more than we read"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| {
        tracing::warn!(error = %err.without_url(), "reading the language model's answer failed");
        LlmError::Failed("broke off its answer")
    })? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(LlmError::Failed("sent more than we read"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(message: Value, finish_reason: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        }))
        .expect("json")
    }

    #[test]
    fn answers_are_read_from_the_wire_format() {
        let script = json!({"title": "Tides", "scenes": [
            {"narration": "The sea rises.", "stock_query": "ocean tide", "image_prompt": "A beach at high tide"}]});
        let good = completion(json!({"role": "assistant", "content": script.to_string(), "refusal": null}), "stop");
        let written = parse_answer(&good).expect("a script");
        assert_eq!(written.title, "Tides");
        assert_eq!(written.scenes[0].stock_query, "ocean tide");

        let refusal =
            completion(json!({"role": "assistant", "content": null, "refusal": "I can't help with that."}), "stop");
        assert_eq!(parse_answer(&refusal), Err(LlmError::Refused));
        let filtered = completion(json!({"role": "assistant", "content": ""}), "content_filter");
        assert_eq!(parse_answer(&filtered), Err(LlmError::Refused));
        let cut = completion(json!({"role": "assistant", "content": "{\"title\": \"Ti"}), "length");
        assert!(matches!(parse_answer(&cut), Err(LlmError::Invalid(_))));
        let prose = completion(json!({"role": "assistant", "content": "Here is your script!"}), "stop");
        assert!(matches!(parse_answer(&prose), Err(LlmError::Invalid(_))));
        let other_shape = completion(
            json!({"role": "assistant", "content": "{\"title\":\"T\",\"scenes\":[{\"text\":\"x\"}]}"}),
            "stop",
        );
        assert!(matches!(parse_answer(&other_shape), Err(LlmError::Invalid(_))));
        assert!(matches!(parse_answer(b"<html>"), Err(LlmError::Invalid(_))));
        assert!(matches!(parse_answer(b"{\"choices\": []}"), Err(LlmError::Invalid(_))));
        assert!(LlmError::Refused.retryable() && LlmError::Invalid(String::new()).retryable());
        assert!(!LlmError::Timeout(1).retryable() && !LlmError::Busy { retry_after_seconds: 1 }.retryable());
    }

    #[test]
    fn the_request_asks_for_the_schema_strictly() {
        let api = OpenAiApi { base: url::Url::parse("http://llm.test/v1").expect("url"), key: None, model: None };
        let request = serde_json::to_value(ChatRequest::new(&api, "s".into(), "u".into())).expect("json");
        assert_eq!(request["model"], DEFAULT_LLM_MODEL);
        assert_eq!(request["messages"][0]["role"], "system");
        assert_eq!(request["messages"][1]["content"], "u");
        assert_eq!(request["response_format"]["type"], "json_schema");
        assert_eq!(request["response_format"]["json_schema"]["strict"], true);
        let schema = &request["response_format"]["json_schema"]["schema"];
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["properties"]["scenes"]["items"]["required"],
            json!(["narration", "stock_query", "image_prompt"])
        );
    }
}
