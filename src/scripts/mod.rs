//! A script from a topic (SPEC 4.8, `POST /api/v1/scripts`): an
//! OpenAI-compatible language model writes a title and scenes (narration, a
//! stock search, a picture prompt) as structured output; the answer is
//! checked, asked for once more when unusable, metered as
//! `scripts_generated` and returned in the shape `POST /api/v1/projects`
//! takes. `llm.rs` is the wire format and the call, `service.rs` the rules,
//! `routes.rs` the route.

pub mod llm;
pub mod routes;
pub mod service;
