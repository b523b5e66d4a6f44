//! GetBootMedium (docs/plc-api.md §9): `node-preview` and `node-floppy` (the node configuration file)
//! and the image actions (node, generic and dummynet ISO/USB media), with key renewal, node
//! families, file results and upstream's checks in upstream's order. Every medium that carries a
//! renewed key is recorded in the issued-media ledger in the call's transaction.
//!
//! The method is `Writes::AfterPreparing`: it reads the node and prepares the medium (a cramfs
//! build, an image written to a file: seconds) on a read transaction with a new key that is not
//! stored yet, and takes the write lock only to store the key, the ledger row and the event.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use super::medium_options::{self, Container, MediumOptions};
use crate::args::IdOrName;
use crate::context::{Cx, MediaEnv, blocking};
use crate::crypto;
use crate::fault::{Fault, MethodResult};
use crate::ledger::{self, DownloadGrant, IssuedMedium, ReferenceId};
use crate::plnode::{self, NodeConfig, RenewedKey};
use crate::results::{self, Markers, Scope};
use bootmedium_media::{Console, KernelArg, MediaError, MediumRequest, PreparedMedium, Reference, sha256_hex};
use bootmedium_registry::ops;
use bootmedium_registry::ops::nodes::MediumNode;
use std::path::PathBuf;

/// Architectures a node group name can select (seed 001).
const KNOWN_ARCHS: &[&str] = &["i386", "x86_64"];

/// What an action produces (§9.2 step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Text,
    Image(Container),
}

impl Output {
    fn of(action: &str) -> Self {
        if action.contains("-iso") {
            Output::Image(Container::Iso)
        } else if action.contains("-usb") {
            Output::Image(Container::Usb)
        } else {
            Output::Text
        }
    }
    fn suffix(self) -> &'static str {
        match self {
            Output::Text => ".txt",
            Output::Image(Container::Iso) => ".iso",
            Output::Image(Container::Usb) => ".usb",
        }
    }
}

/// `<pldistro>-<fcdistro>-<arch>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    pub pldistro: String,
    pub fcdistro: String,
    pub arch: String,
}

impl Family {
    pub fn name(&self) -> String {
        format!("{}-{}-{}", self.pldistro, self.fcdistro, self.arch)
    }
}

/// Config defaults, overridden by node groups named like an arch or `pldistro-arch`, overridden
/// by non-empty node tags.
fn family_of(defaults: &Family, groups: &[String], tags: &[(String, String)]) -> Family {
    let mut f = defaults.clone();
    for g in groups {
        if KNOWN_ARCHS.contains(&g.as_str()) {
            f.arch = g.clone();
        } else if let Some((pldistro, arch)) = g.split_once('-')
            && KNOWN_ARCHS.contains(&arch)
            && !pldistro.is_empty()
            && !pldistro.contains('-')
        {
            f.pldistro = pldistro.to_string();
            f.arch = arch.to_string();
        }
    }
    for (name, value) in tags.iter().filter(|(_, v)| !v.is_empty()) {
        match name.as_str() {
            "pldistro" => f.pldistro = value.clone(),
            "fcdistro" => f.fcdistro = value.clone(),
            "arch" => f.arch = value.clone(),
            _ => {}
        }
    }
    f
}

/// The configured default family (PLC_FLAVOUR_NODE_*), which generic media always use.
fn default_family(cx: &Cx<'_>) -> Family {
    let d = &cx.config().flavour;
    Family { pldistro: d.pldistro.clone(), fcdistro: d.fcdistro.clone(), arch: d.arch.clone() }
}

/// All of a node's tags as (name, value), and its family from its node groups and those tags.
fn tags_and_family(cx: &Cx<'_>, node: &MediumNode) -> (Vec<(String, String)>, Family) {
    let tags: Vec<(String, String)> = node.tags.tags.iter().map(|t| (t.tagname.clone(), t.value.clone())).collect();
    let family = family_of(&default_family(cx), &node.tags.groups, &tags);
    (tags, family)
}

/// The node a call names, with everything its media are made from (one read).
async fn find_node(cx: &mut Cx<'_>, node: &NodeRef) -> MethodResult<MediumNode> {
    let key = match node {
        NodeRef::Id(id) => ops::nodes::NodeKey::Id(*id),
        NodeRef::Hostname(h) => ops::nodes::NodeKey::Hostname(h),
    };
    let found = ops::nodes::medium_node(&mut cx.tx, key).await?;
    found.ok_or_else(|| Fault::invalid(format!("No such node {}", IdOrName::from(node.clone()).py_repr())))
}

fn check_action(cx: &Cx<'_>, node_type: &str, action: &str) -> MethodResult<()> {
    let Some(settings) = cx.config().medium.node_types.get(node_type) else {
        return Err(Fault::invalid(format!("No boot media are configured for {node_type} nodes")));
    };
    if !settings.actions.iter().any(|a| a == action) {
        return Err(Fault::invalid(format!(
            "Action {action} not valid for {node_type} nodes, valid actions are {}",
            settings.actions.join("|")
        )));
    }
    Ok(())
}

/// Which node a call names: an id, or a hostname (upstream takes either).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRef {
    Id(i64),
    Hostname(String),
}

impl From<NodeRef> for IdOrName {
    fn from(node: NodeRef) -> IdOrName {
        match node {
            NodeRef::Id(id) => IdOrName::Id(id),
            NodeRef::Hostname(h) => IdOrName::Name(h),
        }
    }
}

/// A GetBootMedium call answered in place: what to make, for which node, and where to put it.
#[derive(Debug, Clone)]
pub struct MediumCall<'a> {
    pub node: &'a NodeRef,
    pub action: &'a str,
    /// Where to write the result (upstream's `filename`, with its `%d`-style markers); `None`
    /// hands it back instead.
    pub filename: Option<&'a str>,
    pub options: &'a [String],
}

/// What GetBootMedium hands back once the call has committed (a key it carries is stored).
pub enum Issued {
    /// A configuration file's text (`node-preview`, `node-floppy`).
    Text(String),
    /// The file the result was written to.
    File(PathBuf),
    /// A boot image to stream.
    Medium(PreparedMedium),
}

/// Whether a GetBootMedium call with this action and file name answers with an image in the
/// response (an image action without a file name).
pub(crate) fn answers_with_image(action: &str, filename: Option<&str>) -> bool {
    matches!(Output::of(action), Output::Image(_)) && filename.is_none_or(str::is_empty)
}

/// The PLCAPI form: `GetBootMedium(auth, node, action, filename, options)`, an empty file name
/// for a result handed back.
pub async fn get_boot_medium(
    cx: &mut Cx<'_>,
    node_id_or_hostname: NodeRef,
    action: String,
    filename: String,
    options: Option<Vec<String>>,
) -> MethodResult<Issued> {
    let options = options.unwrap_or_default();
    let filename = Some(filename.as_str()).filter(|f| !f.is_empty());
    let call = MediumCall { node: &node_id_or_hostname, action: &action, filename, options: &options };
    issue(cx, &call).await
}

/// GetBootMedium (docs/plc-api.md §9.2): a configuration file or a boot image for a node, in
/// place or written to a file. A renewed key is stored in the call's write transaction together
/// with the ledger row, once the result is ready.
pub async fn issue(cx: &mut Cx<'_>, call: &MediumCall<'_>) -> MethodResult<Issued> {
    let node = find_node(cx, call.node).await?;
    check_action(cx, &node.node_type, call.action)?;
    let Output::Image(container) = Output::of(call.action) else {
        return text_medium(cx, &node, call).await;
    };
    let made = image_medium(cx, &node, call, container).await?;
    // Generic media carry no key: the ledger has them only when a download must find them.
    let sha256 = match made.renewed {
        Some(_) => Some(blocking(|| made.medium.sha256()).map_err(media_fault)?),
        None => None,
    };
    // The medium is ready (built, written to its file, hashed): only now the write lock, for the
    // quota row of a file result, the key and the ledger row.
    if sha256.is_some() || made.target.is_some() {
        cx.begin_writing().await?;
    }
    if let Some(path) = &made.target {
        record_result(cx, path, made.medium.len()).await?;
    }
    if let Some(sha256) = sha256 {
        ledger_row(cx, &made, sha256, None).await?;
    }
    Ok(match made.target {
        Some(path) => Issued::File(path),
        None => Issued::Medium(made.medium),
    })
}

/// A download link issued by [`issue_link`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadLink {
    /// The capability in the URL (`/media/{id}`).
    pub id: String,
    pub issued_medium_id: i64,
    pub sha256: String,
    pub size: u64,
    /// Epoch seconds after which the link answers 404.
    pub expires: i64,
}

/// GetBootMedium's image actions answered with a download link that works for `lifetime`
/// seconds (`POST /api/v1/media`): the same checks, key renewal, ledger row (which also gets the
/// link's id, expiry and the plnode.txt it was made with) and event. Configuration files are
/// not offered as downloads.
pub async fn issue_link(
    cx: &mut Cx<'_>,
    node: &NodeRef,
    action: &str,
    options: &[String],
    lifetime: i64,
) -> MethodResult<DownloadLink> {
    let row = find_node(cx, node).await?;
    check_action(cx, &row.node_type, action)?;
    let Output::Image(container) = Output::of(action) else {
        return Err(Fault::invalid(format!("{action} is not offered as a download; call GetBootMedium")));
    };
    let call = MediumCall { node, action, filename: None, options };
    let made = image_medium(cx, &row, &call, container).await?;
    let sha256 = blocking(|| made.medium.sha256()).map_err(media_fault)?;
    let grant = DownloadGrant { id: ledger::new_download_id()?, expires: crate::now() + lifetime };
    cx.begin_writing().await?;
    let issued_medium_id = ledger_row(cx, &made, sha256.clone(), Some(grant.clone())).await?;
    Ok(DownloadLink { id: grant.id, issued_medium_id, sha256, size: made.medium.len(), expires: grant.expires })
}

/// node-preview and node-floppy (docs/plc-api.md §9.3): the configuration file, with a renewed
/// key for node-floppy.
async fn text_medium(cx: &mut Cx<'_>, node: &MediumNode, call: &MediumCall<'_>) -> MethodResult<Issued> {
    let node_id = node.node_id;
    let hostname = node.hostname.clone();
    if !call.options.is_empty() {
        return Err(Fault::invalid("Options are not supported for node configs"));
    }
    let (_, family) = tags_and_family(cx, node);
    let target = match call.filename {
        None => None,
        Some(f) => Some(result_path(cx, f, &hostname, Output::Text.suffix(), &family.name(), &family.arch, None)?),
    };
    cx.note(format!("GetBootMedium on node {hostname} - action={}", call.action), vec![("Node", node_id)]);
    let (text, renewed) = floppy_contents(cx, node, call.action == "node-floppy")?;
    if let Some(path) = &target {
        admit_result(cx, path, text.len() as u64).await?;
        results::create_parents(path)?;
        results::write_atomically(path, text.as_bytes())?;
        cx.created_files.push(path.clone());
    }
    if target.is_some() || renewed.is_some() {
        cx.begin_writing().await?;
    }
    if let Some(path) = &target {
        record_result(cx, path, text.len() as u64).await?;
    }
    if let Some(key) = renewed {
        let key = &key;
        let issued = IssuedMedium {
            node_id,
            action: call.action,
            options: &[],
            request: None,
            reference: None,
            key: Some(key),
            sha256: sha256_hex(text.as_bytes()).map_err(|e| Fault::internal(e.to_string()))?,
            size: text.len() as u64,
            person_id: person_id(cx),
            filename: target.as_ref().map(|p| p.to_string_lossy().into_owned()),
            download: None,
        };
        record_issued(cx, issued).await?;
    }
    Ok(match target {
        None => Issued::Text(text),
        Some(path) => Issued::File(path),
    })
}

/// The calling person for the ledger (none for the maintenance account and the operator).
fn person_id(cx: &Cx<'_>) -> Option<i64> {
    cx.caller.person().map(|p| p.person_id).filter(|id| *id > 0)
}

/// `family` is what `%f` expands to: the family of the reference the medium comes from.
fn result_path(
    cx: &Cx<'_>,
    filename: &str,
    hostname: &str,
    suffix: &str,
    family: &str,
    arch: &str,
    version: Option<&str>,
) -> MethodResult<std::path::PathBuf> {
    let config = cx.config();
    let dir = config.medium.results_dir.as_path();
    let markers =
        Markers { results_dir: dir, nodename: hostname, suffix, version, plc_name: &config.plc.name, family, arch };
    let expanded = results::expand(filename, &markers);
    let scope = if cx.caller.is_local_operator() {
        Scope::Anywhere
    } else if cx.caller.is_admin() {
        Scope::Within(&config.medium.admin_result_dirs)
    } else {
        Scope::Within(&[])
    };
    let path = results::resolve(&expanded, dir, scope)?;
    results::check_existing(&path)?;
    Ok(path)
}

/// The quota and free-space checks for a file result of `size` bytes, before it is written
/// (the command line's operator writes where it says, unchecked).
async fn admit_result(cx: &mut Cx<'_>, path: &std::path::Path, size: u64) -> MethodResult<()> {
    if cx.caller.is_local_operator() {
        return Ok(());
    }
    let owner = cx.caller.label();
    let services = cx.services;
    results::admit(&mut cx.tx, &services.config.medium, &owner, path, size).await
}

/// Counts a written file result against its caller's quota.
async fn record_result(cx: &mut Cx<'_>, path: &std::path::Path, size: u64) -> MethodResult<()> {
    if cx.caller.is_local_operator() {
        return Ok(());
    }
    let owner = cx.caller.label();
    let services = cx.services;
    results::record(&mut cx.tx, &services.config.medium, &owner, path, size).await
}

/// A generic medium's name: 16 random capital letters (upstream's has a bug that makes every
/// second one `A` or `Q`).
fn generic_name() -> MethodResult<String> {
    let mut bytes = [0u8; 16];
    crypto::random_bytes(&mut bytes).map_err(|e| Fault::internal(e.to_string()))?;
    Ok(bytes.iter().map(|b| char::from(b'A' + b % 26)).collect())
}

fn media_fault(e: MediaError) -> Fault {
    if e.is_invalid_request() { Fault::invalid(e.to_string()) } else { Fault::internal(e.to_string()) }
}

/// The reference for `family`; a missing one is fault 111 saying how to import it.
fn reference_for(env: &MediaEnv, family: &str) -> MethodResult<Reference> {
    env.store.find(family, None).map_err(|e| match e {
        MediaError::NotFound { .. } => Fault::internal(format!(
            "No reference BootCD is imported for node family {family}: import one with \
             `bootmedium --data-dir DIR reference import --family {family} --version VERSION --kernel KERNEL --initrd BOOTCD_IMG`"
        )),
        other => media_fault(other),
    })
}

/// node-iso, node-usb, generic-*, dummynet-* (docs/plc-api.md §9.2 steps 4, 5, 9, 11): the
/// medium is prepared (and written to its file, if the call names one) with a new key that is
/// not stored yet: the caller stores it with the ledger row once the medium is finished.
async fn image_medium(
    cx: &mut Cx<'_>,
    node: &MediumNode,
    call: &MediumCall<'_>,
    container: Container,
) -> MethodResult<Made> {
    let action = call.action;
    let options: Vec<&str> = call.options.iter().map(String::as_str).collect();
    let generic = action.starts_with("generic-");
    let node_id = node.node_id;
    // One read of the node's tags and groups: §9.2 step 4a's bootcd tags and the family both
    // come from it.
    let (tags, family) = if generic { (Vec::new(), default_family(cx)) } else { tags_and_family(cx, node) };
    let wanted = medium_options::resolve(container, &tags, &options)?;
    if generic && !options.is_empty() {
        return Err(Fault::invalid("Options are not supported for generic images"));
    }
    let node_type = node.node_type.as_str();
    let family_name = cx
        .config()
        .medium
        .node_types
        .get(node_type)
        .map(|t| t.family.clone())
        .filter(|f| !f.is_empty() && !generic)
        .unwrap_or_else(|| family.name());
    let services = cx.services;
    let env = services.media()?;
    let settings = env.settings()?;
    let reference = reference_for(env, &family_name)?;
    let hostname = node.hostname.clone();
    let nodename = if generic { generic_name()? } else { hostname.clone() };
    let target = match call.filename {
        None => None,
        // `%f` names the family the medium really comes from, which a node type may set apart
        // from the node's own (e.g. dummynet boxes have their own BootCD).
        Some(f) => Some(result_path(
            cx,
            f,
            &nodename,
            Output::Image(container).suffix(),
            &family_name,
            &family.arch,
            Some(reference.version()),
        )?),
    };
    if generic {
        cx.note(format!("GetBootMedium - generic - action={action}"), vec![]);
    } else {
        cx.note(format!("GetBootMedium on node {hostname} - action={action}"), vec![("Node", node_id)]);
    }
    let (node_config, renewed) = if generic {
        (None, None)
    } else {
        let (text, renewed) = floppy_contents(cx, node, true)?;
        (Some(text), renewed)
    };
    let request = medium_request(wanted, node_config)?;
    let mut medium = blocking(|| reference.prepare(&request, settings)).map_err(media_fault)?;
    if let Some(path) = &target {
        admit_result(cx, path, medium.len()).await?;
        results::create_parents(path)?;
        blocking(|| medium.write_to(path))
            .map_err(|e| Fault::internal(format!("Could not write the image into {}: {e}", path.display())))?;
        cx.created_files.push(path.clone());
    }
    Ok(Made {
        node_id,
        action: action.to_string(),
        options: call.options.to_vec(),
        request,
        reference: ReferenceId { family: family_name, version: reference.version().to_string() },
        renewed,
        medium,
        target,
    })
}

/// A medium made for a call, and what it was made from, for the ledger.
struct Made {
    node_id: i64,
    action: String,
    options: Vec<String>,
    request: MediumRequest,
    reference: ReferenceId,
    /// The new key the medium carries, stored only once the medium is ready.
    renewed: Option<RenewedKey>,
    medium: PreparedMedium,
    /// The file it was written to.
    target: Option<PathBuf>,
}

/// The medium a request describes: §9.2 step 4's console and kernel arguments, validated.
fn medium_request(wanted: MediumOptions, node_config: Option<String>) -> MethodResult<MediumRequest> {
    let console = match &wanted.serial {
        Some(spec) => Console::parse(spec).map_err(media_fault)?,
        None => Console::Graphic,
    };
    let kargs = wanted.kargs.iter().map(|k| KernelArg::new(k)).collect::<Result<Vec<_>, _>>().map_err(media_fault)?;
    Ok(MediumRequest { image_type: wanted.image_type, console, kargs, variant: wanted.variant, node_config })
}

/// Records a made medium in the ledger, with its key (if it carries one), in the call's write
/// transaction; returns the ledger row's id.
async fn ledger_row(
    cx: &mut Cx<'_>,
    made: &Made,
    sha256: String,
    download: Option<DownloadGrant>,
) -> MethodResult<i64> {
    let options: Vec<&str> = made.options.iter().map(String::as_str).collect();
    let issued = IssuedMedium {
        node_id: made.node_id,
        action: &made.action,
        options: &options,
        request: Some(&made.request),
        reference: Some(made.reference.clone()),
        key: made.renewed.as_ref(),
        sha256,
        size: made.medium.len(),
        person_id: person_id(cx),
        filename: made.target.as_ref().map(|p| p.to_string_lossy().into_owned()),
        download,
    };
    record_issued(cx, issued).await
}

/// Writes a ledger row in the call's write transaction (a keyed medium's key with it: see
/// [`ledger::record`]); returns its id.
async fn record_issued(cx: &mut Cx<'_>, issued: IssuedMedium<'_>) -> MethodResult<i64> {
    cx.begin_writing().await?;
    let node_id = issued.node_id;
    let recorded = ledger::record(&mut cx.tx, issued).await?;
    // The site was checked on the snapshot the medium was prepared on; the node may have moved
    // since (the fault rolls the key and the row back).
    if let Some(stored) = recorded.stored_key
        && !cx.caller.is_admin()
        && !cx.caller.at_site(stored.site_id)
    {
        return Err(Fault::denied(format!("Node {node_id} moved to another site during the call")));
    }
    Ok(recorded.issued_medium_id)
}

/// Upstream's `floppy_contents`: the checks in its order, then the key renewal, then the text
/// (and the renewal, when there was one).
fn floppy_contents(cx: &Cx<'_>, node: &MediumNode, renew_key: bool) -> MethodResult<(String, Option<RenewedKey>)> {
    let node_id = node.node_id;
    let hostname = node.hostname.clone();
    if node.peer_id.is_some() {
        return Err(Fault::invalid(format!("Not a local node {hostname}")));
    }
    if !cx.caller.is_admin() && !cx.caller.at_site(node.site_id) {
        return Err(Fault::denied(format!("Not allowed to generate a configuration file for {hostname}")));
    }
    let interfaces = &node.interfaces;
    let Some(primary) = interfaces.iter().find(|i| i.interface.is_primary) else {
        return Err(Fault::invalid(format!("No primary network configured on {hostname}")));
    };
    if !hostname.contains('.') {
        return Err(Fault::invalid(format!("Node hostname {hostname} is invalid")));
    }
    let settings = primary.settings.clone();
    let ipmi = interfaces
        .iter()
        .map(|i| &i.interface.network)
        .find(|n| n.method == "ipmi")
        .map(|n| (n.ip.clone(), n.mac.clone()));
    let primary = primary.interface.network.clone();
    let config = NodeConfig { hostname: hostname.clone(), key: None, primary, settings, ipmi };
    // The body is rendered before the key is touched, so a value that cannot be written
    // leaves the key alone.
    let body = plnode::render_body(&config)?;
    if !renew_key {
        return Ok((body, None));
    }
    let key = new_key(node_id)?;
    Ok((plnode::render_key(&hostname, &key)? + &body, Some(key)))
}

/// A new node key from the OS CSPRNG, not stored yet (the ledger row stores it: see
/// [`ledger::record`]).
fn new_key(node_id: i64) -> MethodResult<RenewedKey> {
    let key = crypto::new_node_key().map_err(|e| Fault::internal(e.to_string()))?;
    Ok(RenewedKey { node_id, key, renewed_at: crate::now() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(p: &str, fc: &str, a: &str) -> Family {
        Family { pldistro: p.into(), fcdistro: fc.into(), arch: a.into() }
    }

    #[test]
    fn family_precedence() {
        let d = f("lxc", "f22", "x86_64");
        assert_eq!(family_of(&d, &[], &[]), d);
        assert_eq!(family_of(&d, &["i386".into()], &[]), f("lxc", "f22", "i386"));
        assert_eq!(family_of(&d, &["planetlab-i386".into()], &[]), f("planetlab", "f22", "i386"));
        assert_eq!(family_of(&d, &["some-group".into(), "alpha".into()], &[]), d);
        let tags = vec![
            ("arch".to_string(), "x86_64".to_string()),
            ("fcdistro".to_string(), "f14".to_string()),
            ("pldistro".to_string(), String::new()),
        ];
        assert_eq!(family_of(&d, &["planetlab-i386".into()], &tags), f("planetlab", "f14", "x86_64"));
    }

    #[test]
    fn outputs() {
        assert_eq!(Output::of("node-iso"), Output::Image(Container::Iso));
        assert_eq!(Output::of("dummynet-usb"), Output::Image(Container::Usb));
        assert_eq!(Output::of("node-floppy").suffix(), ".txt");
    }
}
