//! Roles (docs/plc-api.md §3): the real ones stored with persons and tag types, and the pseudo-roles
//! `anonymous` and `peer` that only appear in method role lists.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Pi,
    User,
    Tech,
    Node,
    Anonymous,
    Peer,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Pi => "pi",
            Role::User => "user",
            Role::Tech => "tech",
            Role::Node => "node",
            Role::Anonymous => "anonymous",
            Role::Peer => "peer",
        }
    }
}

pub const ADMIN: &[Role] = &[Role::Admin];
pub const ADMIN_PI: &[Role] = &[Role::Admin, Role::Pi];
pub const ADMIN_PI_TECH: &[Role] = &[Role::Admin, Role::Pi, Role::Tech];
pub const ADMIN_PI_TECH_USER: &[Role] = &[Role::Admin, Role::Pi, Role::Tech, Role::User];
pub const ALL: &[Role] = &[Role::Admin, Role::Pi, Role::User, Role::Tech, Role::Node];
pub const ALL_AND_ANONYMOUS: &[Role] = &[Role::Admin, Role::Pi, Role::User, Role::Tech, Role::Node, Role::Anonymous];
pub const ADMIN_USER_NODE: &[Role] = &[Role::Admin, Role::User, Role::Node];
pub const NODE: &[Role] = &[Role::Node];
pub const ADMIN_NODE: &[Role] = &[Role::Admin, Role::Node];

/// Upstream prints role lists as Python lists: `['admin', 'pi']`.
pub fn python_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{}'", s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}
