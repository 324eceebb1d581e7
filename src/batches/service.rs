//! Batch rules: the template script and the rows checked together (every
//! problem of every row at once), each row filled in and validated as a
//! project, all created as one (`projects::service::create_many`), and the
//! views. Every query takes the caller's `TenantId`; another tenant's batch
//! and a missing one are the same `NotFound`.

use serde::{Deserialize, Serialize};

use crate::batches::merge::{Row, Template};
use crate::batches::rows::{MAX_ROWS, RowsError};
use crate::batches::store::{self, BatchInsert, BatchRecord, RowRecord};
use crate::batches::{BatchStatus, RowCounts};
use crate::db::{Db, rfc3339};
use crate::domain::{BatchId, ProjectId, TenantId};
use crate::projects::scene::{SceneInput, Visual};
use crate::projects::service::{self as projects, Offered, ProjectError};
use crate::projects::templates;
use crate::projects::types::{CreateProject, NewProject, ProjectStatus};
use crate::state::AppState;

/// The most row errors a 422 lists (`errors_total` says how many there were).
pub const MAX_LISTED_ERRORS: usize = 100;
/// The most scenes one batch makes, all rows together: its projects, scenes
/// and steps are written in one transaction, which must stay well inside the
/// request's time limit (500 rows of 10 scenes; more is several batches).
pub const MAX_BATCH_SCENES: usize = 5_000;

/// The script every row fills in: a project's `title` and its `script` or
/// `scenes`, with merge fields (`{{name}}`) in the title, the script, each
/// scene's `text` and `title`, a stock visual's `query`, an AI visual's
/// `prompt` and a scene's `prompt`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateScript {
    /// The video's title, e.g. `"Welcome, {{name}}"`.
    pub title: String,
    /// Up to 20,000 characters once filled in; paragraphs become scenes. Give this or `scenes`.
    pub script: Option<String>,
    /// 1 to 60 scenes. Give this or `script`.
    pub scenes: Option<Vec<SceneInput>>,
}

/// Body of `POST /api/v1/batches` (as JSON; a CSV upload sends the same
/// object, without `rows`, as the multipart part `batch`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBatch {
    pub template_id: String,
    pub template_script: TemplateScript,
    /// 1 to 500 objects of field name -> text (or number, boolean): one video
    /// each. Absent in a CSV upload, whose file gives the rows.
    #[schema(value_type = Option<Vec<Object>>)]
    pub rows: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    /// As for a project, for every row.
    pub voice: Option<String>,
    pub language: Option<String>,
    pub caption_style: Option<String>,
    pub render: Option<bool>,
    pub music: Option<crate::projects::music::MusicInput>,
}

/// The answer to a batch's creation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchCreated {
    #[schema(value_type = String)]
    pub id: BatchId,
    /// How many rows (videos) it has.
    pub rows: usize,
    #[schema(value_type = String)]
    pub status: BatchStatus,
    /// Estimated seconds until the queue, this batch included, is done.
    pub eta_seconds: u64,
}

/// A row of a batch.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchRowView {
    /// The row's place in the rows given (0-based).
    pub index: i64,
    /// Null when the row's project was deleted.
    #[schema(value_type = Option<String>)]
    pub project_id: Option<ProjectId>,
    pub title: Option<String>,
    /// The project's status (`queued`, `running`, `completed`, `partial`,
    /// `failed`, `cancelled`, `draft`), or `deleted`.
    pub status: String,
    pub video_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A batch with every row.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchView {
    #[schema(value_type = String)]
    pub id: BatchId,
    pub template_id: String,
    /// The template script's title, merge fields not filled in.
    pub title: String,
    #[schema(value_type = String)]
    pub status: BatchStatus,
    pub row_count: i64,
    pub counts: RowCounts,
    pub rows: Vec<BatchRowView>,
    pub created_at: String,
    /// When its last row finished (first time).
    pub completed_at: Option<String>,
    /// The finished videos as one ZIP.
    pub zip_url: String,
}

/// A batch in the list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchSummary {
    #[schema(value_type = String)]
    pub id: BatchId,
    pub template_id: String,
    pub title: String,
    #[schema(value_type = String)]
    pub status: BatchStatus,
    pub row_count: i64,
    pub counts: RowCounts,
    pub created_at: String,
    pub completed_at: Option<String>,
}

/// A page of batches.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchPage {
    pub items: Vec<BatchSummary>,
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<BatchId>,
}

/// One problem of a batch: of one row (`row`), or of the whole request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// The row (0-based, a CSV's header not counted); absent for a problem
    /// of the template script or the batch's settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// The merge field, the row's column, or the project field (e.g.
    /// `scenes[0].text`) that is wrong.
    pub field: String,
    pub message: String,
}

impl From<RowsError> for RowError {
    fn from(err: RowsError) -> RowError {
        RowError { row: err.row, field: err.field, message: err.message }
    }
}

/// Why a batch was not created.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Problems of rows or of the request, all of them (the first
    /// `MAX_LISTED_ERRORS` kept), and how many there were.
    #[error("invalid batch")]
    Invalid { errors: Vec<RowError>, total: usize },
    /// What creating the projects answered (quota, queue, plan, storage).
    #[error(transparent)]
    Project(#[from] ProjectError),
}

impl From<sqlx::Error> for BatchError {
    fn from(err: sqlx::Error) -> BatchError {
        BatchError::Project(ProjectError::Database(err))
    }
}

/// Collects problems, keeping the first `MAX_LISTED_ERRORS`.
#[derive(Default)]
struct Problems {
    listed: Vec<RowError>,
    total: usize,
}

impl Problems {
    fn push(&mut self, row: Option<usize>, field: impl Into<String>, message: impl Into<String>) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED_ERRORS {
            self.listed.push(RowError { row, field: field.into(), message: message.into() });
        }
    }

    fn check(self) -> Result<(), BatchError> {
        if self.total == 0 { Ok(()) } else { Err(BatchError::Invalid { errors: self.listed, total: self.total }) }
    }
}

/// The template script parsed: each text that may hold merge fields.
struct Parsed {
    title: Template,
    script: Option<Template>,
    scenes: Vec<ParsedScene>,
}

struct ParsedScene {
    input: SceneInput,
    text: Template,
    title: Option<Template>,
    prompt: Option<Template>,
    /// A stock visual's query or an AI visual's prompt.
    visual_text: Option<Template>,
}

impl Parsed {
    fn read(script: &TemplateScript, problems: &mut Problems) -> Parsed {
        let mut parse = |field: String, text: &str| match Template::parse(text) {
            Ok(template) => Some(template),
            Err(message) => {
                problems.push(None, field, message);
                None
            }
        };
        let title = parse("template_script.title".into(), &script.title);
        let script_text = script.script.as_deref().map(|text| parse("template_script.script".into(), text));
        let mut scenes = Vec::new();
        for (index, input) in script.scenes.iter().flatten().enumerate() {
            let field = |name: &str| format!("template_script.scenes[{index}].{name}");
            let text = parse(field("text"), &input.text);
            let title = input.title.as_deref().map(|title| parse(field("title"), title));
            let prompt = input.prompt.as_deref().map(|prompt| parse(field("prompt"), prompt));
            let visual_text = match &input.visual {
                Some(Visual::Stock { query: Some(query), .. }) => Some(parse(field("visual.query"), query)),
                Some(Visual::Ai { prompt: Some(prompt) }) => Some(parse(field("visual.prompt"), prompt)),
                _ => None,
            };
            scenes.push(ParsedScene {
                input: input.clone(),
                text: text.unwrap_or_else(|| literal(&input.text)),
                title: title.map(|t| t.unwrap_or_else(|| literal(""))),
                prompt: prompt.map(|t| t.unwrap_or_else(|| literal(""))),
                visual_text: visual_text.map(|t| t.unwrap_or_else(|| literal(""))),
            });
        }
        Parsed {
            title: title.unwrap_or_else(|| literal("")),
            script: script_text.map(|t| t.unwrap_or_else(|| literal(""))),
            scenes,
        }
    }

    /// Every merge field used, in order of first use.
    fn fields(&self) -> Vec<String> {
        let mut templates: Vec<&Template> = vec![&self.title];
        templates.extend(self.script.iter());
        for scene in &self.scenes {
            templates.push(&scene.text);
            templates.extend(scene.title.iter().chain(scene.prompt.iter()).chain(scene.visual_text.iter()));
        }
        let mut names: Vec<String> = Vec::new();
        for name in templates.iter().flat_map(|t| t.fields()) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        names
    }

    /// The project `row` makes, or the fields it lacks.
    fn fill(&self, batch: &CreateBatch, scenes_given: bool, row: &Row) -> Result<CreateProject, Vec<String>> {
        let mut missing: Vec<String> = Vec::new();
        let mut fill = |template: &Template| match template.render(row) {
            Ok(text) => text,
            Err(names) => {
                for name in names {
                    if !missing.contains(&name) {
                        missing.push(name);
                    }
                }
                String::new()
            }
        };
        let title = fill(&self.title);
        let script = self.script.as_ref().map(&mut fill);
        let scenes = scenes_given.then(|| {
            self.scenes
                .iter()
                .map(|scene| {
                    let visual = match (&scene.input.visual, &scene.visual_text) {
                        (Some(Visual::Stock { media, provider, pick, .. }), Some(query)) => Some(Visual::Stock {
                            media: *media,
                            query: Some(fill(query)),
                            provider: *provider,
                            pick: pick.clone(),
                        }),
                        (Some(Visual::Ai { .. }), Some(prompt)) => Some(Visual::Ai { prompt: Some(fill(prompt)) }),
                        (visual, _) => visual.clone(),
                    };
                    SceneInput {
                        text: fill(&scene.text),
                        title: scene.title.as_ref().map(&mut fill),
                        visual,
                        voice: scene.input.voice.clone(),
                        prompt: scene.prompt.as_ref().map(&mut fill),
                    }
                })
                .collect()
        });
        if !missing.is_empty() {
            return Err(missing);
        }
        Ok(CreateProject {
            title,
            script,
            scenes,
            template_id: batch.template_id.clone(),
            voice: batch.voice.clone(),
            language: batch.language.clone(),
            caption_style: batch.caption_style.clone(),
            render: batch.render,
            music: batch.music.clone(),
        })
    }
}

/// A text without merge fields (stands in for one that did not parse: its
/// problem is already listed).
fn literal(text: &str) -> Template {
    Template::literal(text)
}

/// Project fields that are the batch's, not a row's: their problems are
/// listed once, not once per row.
fn batch_wide(field: &str) -> bool {
    !(field == "title" || field.starts_with("script") || field.starts_with("scenes"))
}

/// Checks the template script and every row, fills each row in and
/// validates it as a project: every problem at once (422), or the projects.
pub async fn prepare(
    state: &AppState,
    tenant_id: &TenantId,
    batch: &CreateBatch,
    rows: &[Row],
) -> Result<Vec<NewProject>, BatchError> {
    let mut problems = Problems::default();
    if rows.is_empty() || rows.len() > MAX_ROWS {
        problems.push(None, "rows", format!("holds {} rows; a batch holds 1 to {MAX_ROWS}", rows.len()));
        return problems.check().map(|()| Vec::new());
    }
    let scenes: Vec<&SceneInput> = batch.template_script.scenes.iter().flatten().collect();
    let mut offered = Offered::load(state, tenant_id, &scenes, batch.music.as_ref()).await?;
    // A brand template (`tpl_...`) of the tenant's, or a built-in.
    offered.load_template(state, tenant_id, &batch.template_id).await?;
    if templates::find(batch.template_id.trim()).is_none() && offered.template.is_none() {
        let known: Vec<&str> = templates::all().iter().map(|t| t.id.as_str()).collect();
        problems.push(
            None,
            "template_id",
            format!("unknown template; choose one of {} or one of your own (GET /api/v1/templates)", known.join(", ")),
        );
    }
    let parsed = Parsed::read(&batch.template_script, &mut problems);
    // A field no row has is a mistake in the template (or the header), told once.
    let fields = parsed.fields();
    for name in &fields {
        if !rows.iter().any(|row| row.contains_key(name)) {
            let columns: Vec<&str> =
                rows.first().map(|row| row.keys().map(String::as_str).collect()).unwrap_or_default();
            problems.push(
                None,
                "template_script",
                format!("uses {{{{{name}}}}}, which no row has (the rows have: {})", columns.join(", ")),
            );
        }
    }
    if problems.total > 0 {
        return problems.check().map(|()| Vec::new());
    }
    let scenes_given = batch.template_script.scenes.is_some();
    let mut reported_once: Vec<String> = Vec::new();
    let mut news = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let body = match parsed.fill(batch, scenes_given, row) {
            Ok(body) => body,
            Err(missing) => {
                for name in missing {
                    let message = format!("is missing or empty in this row; the template uses {{{{{name}}}}}");
                    problems.push(Some(index), name, message);
                }
                continue;
            }
        };
        match projects::validate(body, &offered) {
            Ok(new) => news.push(new),
            Err(ProjectError::Invalid(errors)) => {
                for error in errors {
                    if !batch_wide(&error.field) {
                        problems.push(Some(index), error.field, error.message);
                    } else if !reported_once.contains(&error.field) {
                        reported_once.push(error.field.clone());
                        problems.push(None, error.field, error.message);
                    }
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
    let scenes: usize = news.iter().map(|new| new.scenes.len()).sum();
    if problems.total == 0 && scenes > MAX_BATCH_SCENES {
        problems.push(
            None,
            "rows",
            format!("the batch would make {scenes} scenes; a batch makes at most {MAX_BATCH_SCENES}: split it"),
        );
    }
    problems.check()?;
    Ok(news)
}

/// Creates a batch: checks everything (`prepare`), then admits and creates
/// every row's project in one transaction with the batch.
pub async fn create(
    state: &AppState,
    tenant_id: &TenantId,
    creator: &crate::projects::types::Creator,
    batch: CreateBatch,
    rows: Vec<Row>,
) -> Result<BatchCreated, BatchError> {
    let news = prepare(state, tenant_id, &batch, &rows).await?;
    let id = BatchId::generate();
    let template_id = batch.template_id.trim();
    let insert = BatchInsert {
        id: &id,
        tenant_id,
        template_id,
        title: batch.template_script.title.trim(),
        row_count: news.len() as i64,
    };
    let (_, eta_seconds) = projects::create_many(state, tenant_id, creator, &news, Some(&insert)).await?;
    metrics::counter!(crate::metrics::BATCH_ROWS).increment(news.len() as u64);
    Ok(BatchCreated { id, rows: news.len(), status: BatchStatus::Queued, eta_seconds })
}

fn video_url(row: &RowRecord) -> Option<String> {
    (row.status.has_video() && row.video_key.is_some()).then(|| format!("/api/v1/projects/{}/video", row.project_id))
}

/// A batch with its rows, or `NotFound`.
pub async fn get(db: &Db, tenant_id: &TenantId, batch_id: &BatchId) -> Result<BatchView, ProjectError> {
    let batch = store::find(db, tenant_id, batch_id).await?.ok_or(ProjectError::NotFound)?;
    let records = store::rows(db, tenant_id, batch_id).await?;
    let counts = RowCounts::of(batch.row_count, records.iter().map(|row| (row.status, 1)));
    let mut rows = Vec::with_capacity(batch.row_count.max(0) as usize);
    let mut records = records.into_iter().peekable();
    for index in 0..batch.row_count {
        match records.next_if(|row| row.batch_row == index) {
            Some(row) => rows.push(BatchRowView {
                index,
                video_url: video_url(&row),
                project_id: Some(row.project_id),
                title: Some(row.title),
                status: row.status.as_str().to_string(),
                error: row.error.filter(|_| row.status == ProjectStatus::Failed),
            }),
            None => rows.push(BatchRowView {
                index,
                project_id: None,
                title: None,
                status: "deleted".into(),
                video_url: None,
                error: None,
            }),
        }
    }
    Ok(BatchView {
        zip_url: format!("/api/v1/batches/{}/videos.zip", batch.id),
        status: counts.status(),
        counts,
        rows,
        created_at: rfc3339(batch.created_at),
        completed_at: batch.completed_at.map(rfc3339),
        id: batch.id,
        template_id: batch.template_id,
        title: batch.title,
        row_count: batch.row_count,
    })
}

/// A page of the tenant's batches, newest first.
pub async fn list(
    db: &Db,
    tenant_id: &TenantId,
    cursor: Option<&BatchId>,
    limit: i64,
) -> Result<BatchPage, ProjectError> {
    let mut batches = store::list(db, tenant_id, cursor, limit + 1).await?;
    let more = batches.len() as i64 > limit;
    batches.truncate(limit.max(0) as usize);
    let counted = match (batches.last(), batches.first()) {
        (Some(oldest), Some(newest)) => store::status_counts(db, tenant_id, &oldest.id, &newest.id).await?,
        _ => Vec::new(),
    };
    let items: Vec<BatchSummary> = batches
        .into_iter()
        .map(|BatchRecord { id, template_id, title, row_count, created_at, completed_at, .. }| {
            let own = counted.iter().filter(|(batch, _, _)| *batch == id).map(|(_, status, n)| (*status, *n));
            let counts = RowCounts::of(row_count, own);
            BatchSummary {
                status: counts.status(),
                counts,
                created_at: rfc3339(created_at),
                completed_at: completed_at.map(rfc3339),
                id,
                template_id,
                title,
                row_count,
            }
        })
        .collect();
    let next_cursor = if more { items.last().map(|b| b.id.clone()) } else { None };
    Ok(BatchPage { items, next_cursor })
}

/// What the ZIP holds: `(name in the archive, storage key)` of each row
/// with a finished video, in row order (`001-ada-in-oslo.mp4`). `NotFound`
/// for another tenant's batch; an empty list when no video is finished.
pub async fn zip_entries(
    db: &Db,
    tenant_id: &TenantId,
    batch_id: &BatchId,
) -> Result<Vec<(String, String)>, ProjectError> {
    store::find(db, tenant_id, batch_id).await?.ok_or(ProjectError::NotFound)?;
    let rows = store::rows(db, tenant_id, batch_id).await?;
    Ok(rows
        .into_iter()
        .filter(|row| row.status.has_video())
        .filter_map(|row| {
            let key = row.video_key?;
            Some((format!("{:03}-{}.mp4", row.batch_row + 1, slug(&row.title)), key))
        })
        .collect())
}

/// A file-name-safe form of a title: lower-case ASCII letters and digits
/// joined by `-`, at most 60 characters (`video` when nothing is left).
pub fn slug(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 60 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() { "video".into() } else { slug }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(script: serde_json::Value) -> CreateBatch {
        serde_json::from_value(serde_json::json!({"template_id": "explainer", "template_script": script}))
            .expect("batch")
    }

    fn row(pairs: &[(&str, &str)]) -> Row {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_row_fills_every_text_of_the_template() {
        let batch = batch(serde_json::json!({
            "title": "Hello {{name}}",
            "scenes": [
                {"text": "{{name}} lives in {{city}}.", "title": "{{ city }}",
                 "visual": {"kind": "stock", "media": "photo", "query": "{{city}} skyline"}},
                {"text": "Bye.", "visual": {"kind": "ai", "prompt": "a postcard of {{city}}"}, "prompt": "x {{name}}"}
            ]
        }));
        let mut problems = Problems::default();
        let parsed = Parsed::read(&batch.template_script, &mut problems);
        assert_eq!(problems.total, 0);
        assert_eq!(parsed.fields(), ["name", "city"]);
        let body = parsed.fill(&batch, true, &row(&[("name", "Ada"), ("city", "Oslo")])).expect("filled");
        assert_eq!(body.title, "Hello Ada");
        let scenes = body.scenes.expect("scenes");
        assert_eq!(scenes[0].text, "Ada lives in Oslo.");
        assert_eq!(scenes[0].title.as_deref(), Some("Oslo"));
        assert!(matches!(&scenes[0].visual, Some(Visual::Stock { query: Some(q), .. }) if q == "Oslo skyline"));
        assert!(matches!(&scenes[1].visual, Some(Visual::Ai { prompt: Some(p) }) if p == "a postcard of Oslo"));
        assert_eq!(scenes[1].prompt.as_deref(), Some("x Ada"));
        let missing = parsed.fill(&batch, true, &row(&[("city", " ")]));
        assert_eq!(missing.expect_err("missing"), ["name", "city"]);
    }

    #[test]
    fn template_problems_name_where_they_are() {
        let batch = batch(serde_json::json!({"title": "{{name", "script": "Hi {{}}"}));
        let mut problems = Problems::default();
        Parsed::read(&batch.template_script, &mut problems);
        let fields: Vec<&str> = problems.listed.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["template_script.title", "template_script.script"]);
        assert!(problems.listed.iter().all(|e| e.row.is_none()));
    }

    #[test]
    fn problems_are_capped_but_counted() {
        let mut problems = Problems::default();
        for i in 0..(MAX_LISTED_ERRORS + 5) {
            problems.push(Some(i), "name", "missing");
        }
        match problems.check() {
            Err(BatchError::Invalid { errors, total }) => {
                assert_eq!(errors.len(), MAX_LISTED_ERRORS);
                assert_eq!(total, MAX_LISTED_ERRORS + 5);
            }
            _ => panic!("expected the problems"),
        }
    }

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("Hello, Ada in Oslo!"), "hello-ada-in-oslo");
        assert_eq!(slug("¿Qué?"), "qu");
        assert_eq!(slug("日本"), "video");
        assert_eq!(slug("../../etc/passwd"), "etc-passwd");
        assert!(slug(&"word ".repeat(40)).len() <= 60);
    }
}
