//! The issued-media ledger's methods (extensions; upstream keeps no ledger):
//! `GetIssuedMedia(auth, filter, return_fields)` lists issued media with GetNodes' filter rules,
//! and `VerifyIssuedMedium(auth, sha256)` tells a node key found in an image `current`,
//! `superseded` or `unknown` from the hmac signature it makes — the key itself never travels.

use super::common;
use crate::auth::SignedBy;
use crate::caller::{Caller, NodeCaller};
use crate::context::Cx;
use crate::fault::MethodResult;
use crate::filter::{Filter, ReturnFields};
use bootmedium_registry::views::ISSUED_MEDIUM;
use bootmedium_registry::{Cond, Row, SqlValue};

/// Admins see every medium; PIs and techs those of their sites' nodes.
fn visibility(caller: &Caller) -> MethodResult<Cond> {
    match caller {
        Caller::Person(p) if !caller.is_admin() => Ok(Cond::In(
            common::field(&ISSUED_MEDIUM, "site_id")?,
            p.site_ids.iter().map(|s| SqlValue::int(*s)).collect(),
        )),
        _ => Ok(Cond::True),
    }
}

pub async fn get_issued_media(
    cx: &mut Cx<'_>,
    issued_medium_filter: Option<Filter>,
    return_fields: Option<ReturnFields>,
) -> MethodResult<Vec<Row>> {
    let (filter, fields) = (issued_medium_filter.unwrap_or_default(), return_fields.unwrap_or_default());
    let mut q = crate::filter::query(&ISSUED_MEDIUM, &filter, &fields, crate::filter::Viewer::of(&cx.caller))?;
    q.cond = Cond::And(vec![q.cond, visibility(&cx.caller)?]);
    Ok(cx.tx.select(&q).await?)
}

/// VerifyIssuedMedium's answer: `status` (`current`, `superseded` or `unknown`), the node whose
/// key signed, and the medium that carried the key when the ledger has it.
pub struct MediumStatus {
    pub status: &'static str,
    pub node: Option<NodeCaller>,
    pub medium: Option<MediumFound>,
}

/// The ledger row of the medium that carried the signing key.
pub struct MediumFound {
    pub issued_medium_id: i64,
    pub issued: i64,
    pub superseded_by: Option<i64>,
    /// Whether the `sha256` the caller sent is the medium's.
    pub image_matches: bool,
}

/// Authenticates nobody: the method checks its hmac credentials itself, so that a superseded
/// key is an answer rather than fault 103. `sha256` (the image's checksum, optional) says
/// whether the image is byte for byte the medium that carried the key.
pub async fn verify_issued_medium(cx: &mut Cx<'_>, sha256: Option<String>) -> MethodResult<MediumStatus> {
    let signed_by = cx.signed_by().await?;
    let sha256 = sha256.unwrap_or_default();
    let (status, node, medium) = match signed_by {
        SignedBy::Unknown => ("unknown", None, None),
        SignedBy::Current { node, medium } => ("current", Some(node), medium),
        SignedBy::Superseded { node, medium } => ("superseded", Some(node), Some(medium)),
    };
    let medium = medium.map(|m| MediumFound {
        issued_medium_id: m.issued_medium_id,
        issued: m.issued,
        superseded_by: m.superseded_by,
        image_matches: !sha256.is_empty() && m.sha256 == sha256,
    });
    Ok(MediumStatus { status, node, medium })
}
