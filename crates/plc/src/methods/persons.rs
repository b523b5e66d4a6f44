//! Persons (docs/plc-api.md §4.8) and their roles and sites: AddPerson, GetPersons, UpdatePerson,
//! DeletePerson, AddRoleToPerson, DeleteRoleFromPerson, AddPersonToSite, DeletePersonFromSite,
//! SetPersonPrimarySite.

use super::common::{self, Written, collect, columns, find, find_one};
use crate::args::{Done, Fields, IdOrName};
use crate::caller::Caller;
use crate::context::Cx;
use crate::crypto;
use crate::fault::{Fault, MethodResult};
use crate::filter::{Filter, ReturnFields};
use crate::validate::is_email;
use bootmedium_registry::views::{PERSON, SITE};
use bootmedium_registry::{Cond, Row, SqlValue, WriteOp, ops};

/// Normalises the email and password fields: the email lower-cased and checked for shape and
/// uniqueness; the password hashed (argon2id), or kept when it is already an MD5-crypt string
/// imported from PLC.
async fn prepare(cx: &mut Cx<'_>, written: &mut [Written], person_id: i64) -> MethodResult<()> {
    for wr in written.iter_mut() {
        match wr.field.name {
            "email" => {
                let email = wr.text().unwrap_or_default().to_lowercase();
                if !is_email(&email) {
                    return Err(Fault::invalid(format!("Invalid e-mail address {email}")));
                }
                let taken = ops::persons::email_taken(&mut cx.tx, &email, person_id).await?;
                if taken {
                    return Err(Fault::invalid("E-mail address already in use"));
                }
                wr.value = SqlValue::text(email);
            }
            "password" => {
                let plain = wr.text().unwrap_or_default();
                let stored = if plain.starts_with("$1$") && plain.len() > 3 {
                    plain.to_string()
                } else {
                    crypto::hash_password(plain).map_err(|e| Fault::internal(e.to_string()))?
                };
                wr.value = SqlValue::text(stored);
            }
            _ => {}
        }
    }
    Ok(())
}

pub async fn add_person(cx: &mut Cx<'_>, person_fields: Fields) -> MethodResult<i64> {
    // Accounts are always created disabled: the description drops `enabled` on Add, whatever
    // its type (upstream's regression tests send the string 'true').
    let (mut written, _) = collect(&PERSON, WriteOp::Add, &cx.caller, &[], &person_fields)?;
    for required in ["email", "first_name", "last_name"] {
        if find(&written, required).is_none() {
            return Err(Fault::invalid(format!("{required} must be specified and cannot be unset in class Person")));
        }
    }
    prepare(cx, &mut written, 0).await?;
    let now = crate::now();
    let mut cols = columns(&written);
    cols.push(("enabled", SqlValue::int(0)));
    cols.push(("date_created", SqlValue::int(now)));
    cols.push(("last_updated", SqlValue::int(now)));
    let id = cx.tx.insert("persons", "person_id", &cols).await?;
    cx.note(format!("Person {id} added"), vec![("Person", id)]);
    Ok(id)
}

/// Which persons a caller may see: admins and nodes everyone, PIs and techs the people at their
/// sites, everyone themselves.
fn visibility(caller: &Caller) -> MethodResult<Cond> {
    let p = match caller {
        Caller::Person(p) if !caller.is_admin() => p,
        _ => return Ok(Cond::True),
    };
    let me =
        Cond::Compare(common::field(&PERSON, "person_id")?, bootmedium_registry::CmpOp::Eq, SqlValue::int(p.person_id));
    if p.roles.iter().any(|r| r == "pi" || r == "tech") {
        let sites = p.site_ids.iter().map(|s| SqlValue::int(*s)).collect();
        return Ok(Cond::Or(vec![me, Cond::ContainsAny(common::field(&PERSON, "site_ids")?, sites)]));
    }
    Ok(me)
}

pub async fn get_persons(
    cx: &mut Cx<'_>,
    person_filter: Option<Filter>,
    return_fields: Option<ReturnFields>,
) -> MethodResult<Vec<Row>> {
    let (filter, fields) = (person_filter.unwrap_or_default(), return_fields.unwrap_or_default());
    let mut q = crate::filter::query(&PERSON, &filter, &fields, crate::filter::Viewer::of(&cx.caller))?;
    q.cond = Cond::And(vec![q.cond, visibility(&cx.caller)?]);
    Ok(cx.tx.select(&q).await?)
}

async fn person(cx: &mut Cx<'_>, key: &IdOrName) -> MethodResult<Row> {
    find_one(cx, &PERSON, key, &["person_id", "email", "roles", "role_ids", "site_ids"], "account").await
}

/// Upstream's `can_update`: admins anyone; everyone themselves; a PI the non-admins at their
/// sites.
fn may_update(caller: &Caller, target: &Row) -> bool {
    let Caller::Person(p) = caller else { return false };
    if caller.is_admin() || target.int("person_id") == Some(p.person_id) {
        return true;
    }
    let target_admin = target.text_list("roles").iter().any(|r| r == "admin");
    p.roles.iter().any(|r| r == "pi")
        && !target_admin
        && target.int_list("site_ids").iter().any(|s| p.site_ids.contains(s))
}

pub async fn update_person(cx: &mut Cx<'_>, person_id_or_email: IdOrName, person_fields: Fields) -> MethodResult<Done> {
    let target = person(cx, &person_id_or_email).await?;
    let person_id = target.int("person_id").unwrap_or(0);
    if !may_update(&cx.caller, &target) {
        return Err(Fault::denied("Not allowed to update specified account"));
    }
    // `enabled` is written by admins and PIs only; others' is dropped.
    let (mut written, _) = collect(&PERSON, WriteOp::Update, &cx.caller, &[], &person_fields)?;
    let disabled = find(&written, "enabled").is_some_and(|w| w.value.as_int() == Some(0));
    let password_changed = find(&written, "password").is_some();
    prepare(cx, &mut written, person_id).await?;
    let mut cols = columns(&written);
    cols.push(("last_updated", SqlValue::int(crate::now())));
    cx.tx.update("persons", "person_id", SqlValue::int(person_id), &cols).await?;
    if disabled {
        super::sessions::end_person_sessions(cx, person_id, None).await?;
    } else if password_changed {
        // Whoever knew the old password loses the sessions made with it; a person changing
        // their own password keeps the session they do it from.
        let keep = own_session(cx, person_id);
        super::sessions::end_person_sessions(cx, person_id, keep.as_deref()).await?;
    }
    cx.note(format!("Person {person_id} updated"), vec![("Person", person_id)]);
    Ok(common::one())
}

/// The session this call authenticated with, when it is `person_id`'s own.
fn own_session(cx: &Cx<'_>, person_id: i64) -> Option<String> {
    let is_self = cx.caller.person().is_some_and(|p| p.person_id == person_id);
    cx.auth_session().filter(|_| is_self).map(str::to_string)
}

pub async fn delete_person(cx: &mut Cx<'_>, person_id_or_email: IdOrName) -> MethodResult<Done> {
    let target = person(cx, &person_id_or_email).await?;
    let person_id = target.int("person_id").unwrap_or(0);
    if !may_update(&cx.caller, &target) {
        return Err(Fault::denied("Not allowed to delete specified account"));
    }
    let id = SqlValue::int(person_id);
    cx.tx.delete("person_role", &[("person_id", id.clone())]).await?;
    cx.tx.delete("person_site", &[("person_id", id.clone())]).await?;
    super::sessions::end_person_sessions(cx, person_id, None).await?;
    ops::persons::soft_delete(&mut cx.tx, person_id, crate::now()).await?;
    cx.note(format!("Person {person_id} deleted"), vec![("Person", person_id)]);
    Ok(common::one())
}

/// Non-admins may only grant or revoke roles below their own (a larger role id) to people at
/// their sites.
fn may_change_role(caller: &Caller, target: &Row, role_id: i64) -> MethodResult<()> {
    if caller.is_admin() {
        return Ok(());
    }
    let Caller::Person(p) = caller else { return Err(Fault::denied("Not allowed to change roles")) };
    if !target.int_list("site_ids").iter().any(|s| p.site_ids.contains(s)) {
        return Err(Fault::denied("Not allowed to update specified account"));
    }
    let min = p.role_ids.iter().copied().min().unwrap_or(i64::MAX);
    if role_id <= min {
        return Err(Fault::denied("Not allowed to grant that role"));
    }
    Ok(())
}

pub async fn add_role_to_person(
    cx: &mut Cx<'_>,
    role_id_or_name: IdOrName,
    person_id_or_email: IdOrName,
) -> MethodResult<Done> {
    let (role_id, role_name) = common::role(cx, &role_id_or_name).await?;
    let target = person(cx, &person_id_or_email).await?;
    let person_id = target.int("person_id").unwrap_or(0);
    may_change_role(&cx.caller, &target, role_id)?;
    if !target.int_list("role_ids").contains(&role_id) {
        cx.tx
            .insert_plain(
                "person_role",
                &[("person_id", SqlValue::int(person_id)), ("role_id", SqlValue::int(role_id))],
            )
            .await?;
    }
    cx.note(format!("Role {role_name} granted to person {person_id}"), vec![("Person", person_id)]);
    Ok(common::one())
}

pub async fn delete_role_from_person(
    cx: &mut Cx<'_>,
    role_id_or_name: IdOrName,
    person_id_or_email: IdOrName,
) -> MethodResult<Done> {
    let (role_id, role_name) = common::role(cx, &role_id_or_name).await?;
    let target = person(cx, &person_id_or_email).await?;
    let person_id = target.int("person_id").unwrap_or(0);
    may_change_role(&cx.caller, &target, role_id)?;
    let revoked = cx
        .tx
        .delete("person_role", &[("person_id", SqlValue::int(person_id)), ("role_id", SqlValue::int(role_id))])
        .await?;
    // A demotion ends the person's sessions: they log in again with what they have left.
    if revoked > 0 {
        super::sessions::end_person_sessions(cx, person_id, None).await?;
    }
    cx.note(format!("Role {role_name} revoked from person {person_id}"), vec![("Person", person_id)]);
    Ok(common::one())
}

async fn site_id(cx: &mut Cx<'_>, key: &IdOrName) -> MethodResult<i64> {
    Ok(find_one(cx, &SITE, key, &["site_id"], "site").await?.int("site_id").unwrap_or(0))
}

pub async fn add_person_to_site(
    cx: &mut Cx<'_>,
    person_id_or_email: IdOrName,
    site_id_or_login_base: IdOrName,
) -> MethodResult<Done> {
    let target = person(cx, &person_id_or_email).await?;
    let person_id = target.int("person_id").unwrap_or(0);
    let site_id = site_id(cx, &site_id_or_login_base).await?;
    let sites = target.int_list("site_ids");
    if !sites.contains(&site_id) {
        let primary = i64::from(sites.is_empty());
        cx.tx
            .insert_plain(
                "person_site",
                &[
                    ("person_id", SqlValue::int(person_id)),
                    ("site_id", SqlValue::int(site_id)),
                    ("is_primary", SqlValue::int(primary)),
                ],
            )
            .await?;
    }
    cx.note(format!("Person {person_id} added to site {site_id}"), vec![("Person", person_id), ("Site", site_id)]);
    Ok(common::one())
}

pub async fn delete_person_from_site(
    cx: &mut Cx<'_>,
    person_id_or_email: IdOrName,
    site_id_or_login_base: IdOrName,
) -> MethodResult<Done> {
    let target = person(cx, &person_id_or_email).await?;
    let person_id = target.int("person_id").unwrap_or(0);
    let site_id = site_id(cx, &site_id_or_login_base).await?;
    cx.tx
        .delete("person_site", &[("person_id", SqlValue::int(person_id)), ("site_id", SqlValue::int(site_id))])
        .await?;
    // Keep exactly one primary site while any remain.
    ops::persons::ensure_primary_site(&mut cx.tx, person_id).await?;
    cx.note(format!("Person {person_id} deleted from site {site_id}"), vec![("Person", person_id), ("Site", site_id)]);
    Ok(common::one())
}

pub async fn set_person_primary_site(
    cx: &mut Cx<'_>,
    person_id_or_email: IdOrName,
    site_id_or_login_base: IdOrName,
) -> MethodResult<Done> {
    let target = person(cx, &person_id_or_email).await?;
    let person_id = target.int("person_id").unwrap_or(0);
    let is_self = cx.caller.person().is_some_and(|p| p.person_id == person_id);
    if !cx.caller.is_admin() && !is_self {
        return Err(Fault::denied("Not allowed to update specified account"));
    }
    let site_id = site_id(cx, &site_id_or_login_base).await?;
    if !target.int_list("site_ids").contains(&site_id) {
        return Err(Fault::invalid("Not a member of the specified site"));
    }
    ops::persons::set_primary_site(&mut cx.tx, person_id, site_id).await?;
    cx.note(
        format!("Person {person_id} primary site set to {site_id}"),
        vec![("Person", person_id), ("Site", site_id)],
    );
    Ok(common::one())
}
