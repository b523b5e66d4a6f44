//! Persons and their sites (docs/plc-api.md §4 Person).

use super::{all, any_row, first, get};
use crate::{Backend, Error, Result, SqlValue, Tx};
use sqlx::any::AnyRow;

/// The person's stored password hash (`None`: no such person).
pub async fn password_hash(tx: &mut Tx, person_id: i64) -> Result<Option<String>> {
    first(tx, "SELECT password FROM persons WHERE person_id = $1", &[SqlValue::int(person_id)], |r| get(r, "password"))
        .await
}

/// Whether a live person other than `except_person_id` has `email`.
pub async fn email_taken(tx: &mut Tx, email: &str, except_person_id: i64) -> Result<bool> {
    any_row(
        tx,
        concat!(
            "SELECT t.person_id FROM persons t WHERE t.email = $1 AND ",
            person_live!("t"),
            " AND t.person_id <> $2"
        ),
        &[SqlValue::text(email), SqlValue::int(except_person_id)],
    )
    .await
}

/// The e-mail addresses of the enabled live persons of site `site_id` holding one of
/// `role_ids` (at most two; `None` matches no role), without duplicates, sorted.
pub async fn site_emails_with_roles(tx: &mut Tx, site_id: i64, role_ids: [Option<i64>; 2]) -> Result<Vec<String>> {
    // -1 is no role's id.
    let [a, b] = role_ids.map(|r| SqlValue::int(r.unwrap_or(-1)));
    all(
        tx,
        concat!(
            "SELECT DISTINCT t.email FROM persons t \
             JOIN person_site ps ON ps.person_id = t.person_id \
             JOIN person_role pr ON pr.person_id = t.person_id \
             WHERE ps.site_id = $1 AND t.enabled = 1 AND ",
            person_live!("t"),
            " AND (pr.role_id = $2 OR pr.role_id = $3) ORDER BY t.email"
        ),
        &[SqlValue::int(site_id), a, b],
        |r| get(r, "email"),
    )
    .await
}

/// Makes the person's lowest site primary when none of their sites is (after a site was
/// removed), in one conditional UPDATE; returns how many rows changed (0 or 1).
pub async fn ensure_primary_site(tx: &mut Tx, person_id: i64) -> Result<u64> {
    let id = SqlValue::int(person_id);
    tx.execute(
        "UPDATE person_site SET is_primary = 1 WHERE person_id = $1 \
         AND site_id = (SELECT MIN(site_id) FROM person_site WHERE person_id = $2) \
         AND NOT EXISTS (SELECT 1 FROM person_site WHERE person_id = $3 AND is_primary = 1)",
        &[id.clone(), id.clone(), id],
    )
    .await
}

/// Makes `site_id` the person's only primary site; returns whether the person is a member
/// of it (the row that was marked).
pub async fn set_primary_site(tx: &mut Tx, person_id: i64, site_id: i64) -> Result<bool> {
    tx.execute("UPDATE person_site SET is_primary = 0 WHERE person_id = $1", &[SqlValue::int(person_id)]).await?;
    let marked = tx
        .execute(
            "UPDATE person_site SET is_primary = 1 WHERE person_id = $1 AND site_id = $2",
            &[SqlValue::int(person_id), SqlValue::int(site_id)],
        )
        .await?;
    Ok(marked == 1)
}

/// Marks person `person_id` deleted (out of its class's `live` condition) as of `now`; the row
/// stays for the event log and foreign keys. Returns how many rows changed.
pub async fn soft_delete(tx: &mut Tx, person_id: i64, now: i64) -> Result<u64> {
    tx.update(
        "persons",
        "person_id",
        SqlValue::int(person_id),
        &[("deleted", SqlValue::int(1)), ("last_updated", SqlValue::int(now))],
    )
    .await
}

/// An enabled local account, with what authenticating it needs (docs/plc-api.md §2.2–§2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub person_id: i64,
    pub email: String,
    /// Role names, by role id.
    pub roles: Vec<String>,
    /// The ids of `roles`, in the same order.
    pub role_ids: Vec<i64>,
    /// The live sites the account belongs to, the primary one first.
    pub site_ids: Vec<i64>,
}

/// The select list that reads an [`Account`] from persons `p`: its roles as one JSON array of
/// `[role_id, name]` pairs and its sites as another, by correlated subqueries, so an
/// authentication costs one statement. SQLite and PostgreSQL spell JSON aggregation apart.
macro_rules! account_columns {
    (sqlite) => {
        concat!(
            "p.person_id AS account_id, p.email AS account_email, ",
            "(SELECT json_group_array(json_array(r.role_id, r.name) ORDER BY r.role_id) FROM person_role pr \
             JOIN roles r ON r.role_id = pr.role_id WHERE pr.person_id = p.person_id) AS account_roles, ",
            "(SELECT json_group_array(ps.site_id ORDER BY ps.is_primary DESC, ps.site_id) FROM person_site ps \
             JOIN sites s ON s.site_id = ps.site_id AND ",
            site_live!("s"),
            " WHERE ps.person_id = p.person_id) AS account_sites"
        )
    };
    (postgres) => {
        concat!(
            "p.person_id AS account_id, p.email AS account_email, ",
            "(SELECT COALESCE(json_agg(json_build_array(r.role_id, r.name) ORDER BY r.role_id), json_build_array())::text \
             FROM person_role pr JOIN roles r ON r.role_id = pr.role_id WHERE pr.person_id = p.person_id) AS account_roles, ",
            "(SELECT COALESCE(json_agg(ps.site_id ORDER BY ps.is_primary DESC, ps.site_id), json_build_array())::text \
             FROM person_site ps JOIN sites s ON s.site_id = ps.site_id AND ",
            site_live!("s"),
            " WHERE ps.person_id = p.person_id) AS account_sites"
        )
    };
}
pub(crate) use account_columns;

/// The condition on persons `p` that makes an account usable: live, enabled, not a peer's.
macro_rules! account_usable {
    () => {
        concat!(person_live!("p"), " AND p.enabled = 1 AND p.peer_id IS NULL")
    };
}
pub(crate) use account_usable;

/// Decodes the [`Account`] read by [`account_columns`] (`None` when the row has no account:
/// a session of a node, or of an account that is gone or disabled).
pub(crate) fn decode_account(row: &AnyRow) -> Result<Option<Account>> {
    let Some(person_id) = get::<Option<i64>>(row, "account_id")? else { return Ok(None) };
    let mut roles = Vec::new();
    let mut role_ids = Vec::new();
    for pair in json_array(row, "account_roles")? {
        match pair.as_array().map(Vec::as_slice) {
            Some([id, name]) if id.is_i64() && name.is_string() => {
                role_ids.push(id.as_i64().unwrap_or_default());
                roles.push(name.as_str().unwrap_or_default().to_string());
            }
            _ => return Err(json_error("account_roles", "expected [role_id, name] pairs")),
        }
    }
    let site_ids = json_array(row, "account_sites")?
        .iter()
        .map(|id| id.as_i64().ok_or_else(|| json_error("account_sites", "expected site ids")))
        .collect::<Result<_>>()?;
    Ok(Some(Account { person_id, email: get(row, "account_email")?, roles, role_ids, site_ids }))
}

/// Column `column`, a JSON array as text.
fn json_array(row: &AnyRow, column: &'static str) -> Result<Vec<serde_json::Value>> {
    let text: String = get(row, column)?;
    match serde_json::from_str(&text) {
        Ok(serde_json::Value::Array(items)) => Ok(items),
        Ok(_) => Err(json_error(column, "expected a JSON array")),
        Err(e) => Err(json_error(column, &e.to_string())),
    }
}

fn json_error(column: &'static str, message: &str) -> Error {
    Error::Decode { column, source: sqlx::Error::Decode(message.to_string().into()) }
}

/// The usable account `email` names (already lower-cased by the caller) and its password hash,
/// in one statement. Two live accounts with one address cannot be told apart: neither is found.
pub async fn account_by_email(tx: &mut Tx, email: &str) -> Result<Option<(Account, Option<String>)>> {
    let sql = match tx.backend() {
        Backend::Sqlite => concat!(
            "SELECT ",
            account_columns!(sqlite),
            ", p.password FROM persons p WHERE p.email = $1 AND ",
            account_usable!(),
            " ORDER BY p.person_id LIMIT 2"
        ),
        Backend::Postgres => concat!(
            "SELECT ",
            account_columns!(postgres),
            ", p.password FROM persons p WHERE p.email = $1 AND ",
            account_usable!(),
            " ORDER BY p.person_id LIMIT 2"
        ),
    };
    let rows = tx.rows(sql, &[SqlValue::text(email)]).await?;
    let [row] = rows.as_slice() else { return Ok(None) };
    let Some(account) = decode_account(row)? else { return Ok(None) };
    Ok(Some((account, get(row, "password")?)))
}
