//! Message templates (docs/plc-api.md §12.5).

use super::{any_row, first, get};
use crate::{Result, SqlValue, Tx};

/// Whether template `message_id` exists (enabled or not).
pub async fn exists(tx: &mut Tx, message_id: &str) -> Result<bool> {
    any_row(tx, "SELECT 1 FROM messages WHERE message_id = $1", &[SqlValue::text(message_id)]).await
}

/// An enabled template's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub subject: String,
    pub template: String,
}

/// Template `message_id`, if it exists and is enabled.
pub async fn enabled(tx: &mut Tx, message_id: &str) -> Result<Option<Template>> {
    first(
        tx,
        "SELECT subject, template FROM messages WHERE message_id = $1 AND enabled = 1",
        &[SqlValue::text(message_id)],
        |r| Ok(Template { subject: get(r, "subject")?, template: get(r, "template")? }),
    )
    .await
}
