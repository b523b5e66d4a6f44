//! Persons and their sites (docs/plc-api.md §4 Person).

use super::{all, any_row, first, get};
use crate::{Result, SqlValue, Tx};

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
