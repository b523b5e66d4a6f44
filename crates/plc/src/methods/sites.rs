//! Sites (docs/plc-api.md §4.7): AddSite, GetSites, UpdateSite, DeleteSite.

use super::common::{self, Written, collect, columns, find, find_one};
use crate::args::{Done, Fields, IdOrName};
use crate::context::Cx;
use crate::fault::{Fault, MethodResult};
use crate::validate::is_login_base;
use bootmedium_registry::{SqlValue, WriteOp, ops, views::SITE};

async fn validate(cx: &mut Cx<'_>, written: &[Written], site_id: Option<i64>) -> MethodResult<()> {
    for name in ["name", "abbreviated_name"] {
        if find(written, name).and_then(Written::text).is_some_and(|s| s.trim().is_empty()) {
            return Err(Fault::invalid(format!("{name} must be specified")));
        }
    }
    if let Some(lb) = find(written, "login_base").and_then(Written::text) {
        if !is_login_base(lb) {
            return Err(Fault::invalid("Login base must consist only of lowercase ASCII letters or numbers or dots"));
        }
        let taken = ops::sites::login_base_taken(&mut cx.tx, lb, site_id.unwrap_or(0)).await?;
        if taken {
            return Err(Fault::invalid("login_base already in use"));
        }
    }
    for (name, limit) in [("latitude", 90.0), ("longitude", 180.0)] {
        if let Some(SqlValue::Float(Some(v))) = find(written, name).map(|w| &w.value)
            && !(-limit..=limit).contains(v)
        {
            return Err(Fault::invalid(format!("{name} must be between -{limit} and {limit}")));
        }
    }
    for n in ["max_slices", "max_slivers"] {
        if find(written, n).and_then(|w| w.value.as_int()).is_some_and(|v| v < 0) {
            return Err(Fault::invalid(format!("{n} must be at least 0")));
        }
    }
    Ok(())
}

fn coordinates_paired(written: &[Written], existing: Option<(bool, bool)>) -> MethodResult<()> {
    let has = |n| find(written, n).map(|w: &Written| !w.value.is_null());
    let (lat0, lon0) = existing.unwrap_or((false, false));
    let lat = has("latitude").unwrap_or(lat0);
    let lon = has("longitude").unwrap_or(lon0);
    if lat != lon {
        return Err(Fault::invalid("latitude and longitude must be specified together"));
    }
    Ok(())
}

pub async fn add_site(cx: &mut Cx<'_>, site_fields: Fields) -> MethodResult<i64> {
    let (written, _) = collect(&SITE, WriteOp::Add, &cx.caller, &[], &site_fields)?;
    for required in ["name", "abbreviated_name", "login_base"] {
        if find(&written, required).is_none() {
            return Err(Fault::invalid(format!("{required} must be specified and cannot be unset in class Site")));
        }
    }
    validate(cx, &written, None).await?;
    coordinates_paired(&written, None)?;
    let now = crate::now();
    let mut cols = columns(&written);
    cols.push(("date_created", SqlValue::int(now)));
    cols.push(("last_updated", SqlValue::int(now)));
    let id = cx.tx.insert("sites", "site_id", &cols).await?;
    cx.note(format!("Site {id} created"), vec![("Site", id)]);
    Ok(id)
}

pub async fn update_site(cx: &mut Cx<'_>, site_id_or_login_base: IdOrName, site_fields: Fields) -> MethodResult<Done> {
    let site = find_one(cx, &SITE, &site_id_or_login_base, &["site_id", "latitude", "longitude"], "site").await?;
    let site_id = site.int("site_id").unwrap_or(0);
    // The admin-only fields (`login_base`, `max_slices`, `max_slivers`) a PI gives are dropped.
    let (written, _) = collect(&SITE, WriteOp::Update, &cx.caller, &[], &site_fields)?;
    if !cx.caller.is_admin() && !cx.caller.at_site(site_id) {
        return Err(Fault::denied("Not allowed to modify specified site"));
    }
    validate(cx, &written, Some(site_id)).await?;
    let existing = (site.is_set("latitude"), site.is_set("longitude"));
    coordinates_paired(&written, Some(existing))?;
    let mut cols = columns(&written);
    cols.push(("last_updated", SqlValue::int(crate::now())));
    cx.tx.update("sites", "site_id", SqlValue::int(site_id), &cols).await?;
    cx.note(format!("Site {site_id} updated"), vec![("Site", site_id)]);
    Ok(common::one())
}

pub async fn delete_site(cx: &mut Cx<'_>, site_id_or_login_base: IdOrName) -> MethodResult<Done> {
    let site = find_one(cx, &SITE, &site_id_or_login_base, &["site_id", "node_ids"], "site").await?;
    let site_id = site.int("site_id").unwrap_or(0);
    for node_id in site.int_list("node_ids").to_vec() {
        super::nodes::delete_node_rows(cx, node_id).await?;
    }
    cx.tx.delete("person_site", &[("site_id", SqlValue::int(site_id))]).await?;
    ops::sites::soft_delete(&mut cx.tx, site_id, crate::now()).await?;
    cx.note(format!("Site {site_id} deleted"), vec![("Site", site_id)]);
    Ok(common::one())
}
