//! The issued-media ledger's methods (extensions; upstream keeps no ledger):
//! `GetIssuedMedia(auth, filter, return_fields)` lists issued media with GetNodes' filter rules,
//! and `VerifyIssuedMedium(auth, sha256)` tells a node key found in an image `current`,
//! `superseded` or `unknown` from the hmac signature it makes — the key itself never travels.

use super::common;
use crate::args::Args;
use crate::auth::{self, SignedBy};
use crate::caller::Caller;
use crate::context::Cx;
use crate::fault::MethodResult;
use bootmedium_registry::views::ISSUED_MEDIUM;
use bootmedium_registry::{Cond, SqlValue};
use bootmedium_xmlrpc::Value;
use std::collections::BTreeMap;

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

pub async fn get_issued_media(cx: &mut Cx<'_>, a: Args<'_>) -> MethodResult<Value> {
    let mut q = crate::filter::query(&ISSUED_MEDIUM, a.get(0), a.get(1), crate::filter::Viewer::of(&cx.caller))?;
    q.cond = Cond::And(vec![q.cond, visibility(&cx.caller)?]);
    let rows = cx.tx.select(&q).await?;
    Ok(Value::Array(rows.into_iter().map(crate::filter::row_to_value).collect()))
}

/// Authenticates nobody: the method reads its hmac auth struct itself, so that a superseded
/// key is an answer rather than fault 103. `sha256` (the image's checksum, optional) says
/// whether the image is byte for byte the medium that carried the key.
pub async fn verify_issued_medium(cx: &mut Cx<'_>, a: Args<'_>) -> MethodResult<Value> {
    let auth = cx.auth;
    let signed_by = auth::signed_by(&mut cx.tx, auth, a.0).await?;
    let sha256 = a.get(0).as_str().unwrap_or_default();
    let mut out = BTreeMap::new();
    let (status, node, medium) = match &signed_by {
        SignedBy::Unknown => ("unknown", None, None),
        SignedBy::Current { node, medium } => ("current", Some(node), medium.as_ref()),
        SignedBy::Superseded { node, medium } => ("superseded", Some(node), Some(medium)),
    };
    out.insert("status".to_string(), Value::from(status));
    if let Some(node) = node {
        out.insert("node_id".to_string(), Value::Int(node.node_id));
        out.insert("hostname".to_string(), Value::from(node.hostname.as_str()));
    }
    if let Some(medium) = medium {
        out.insert("issued_medium_id".to_string(), Value::Int(medium.issued_medium_id));
        out.insert("issued".to_string(), Value::Int(medium.issued));
        out.insert("superseded_by".to_string(), medium.superseded_by.map_or(Value::Nil, Value::Int));
        out.insert("image_matches".to_string(), Value::Bool(!sha256.is_empty() && medium.sha256 == sha256));
    }
    Ok(Value::Struct(out))
}
