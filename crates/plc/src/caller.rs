//! Who is calling: a person, a node, or nobody (anonymous).

use crate::roles::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonCaller {
    pub person_id: i64,
    pub email: String,
    pub roles: Vec<String>,
    pub role_ids: Vec<i64>,
    /// Primary site first.
    pub site_ids: Vec<i64>,
    /// The operator of the command line ([`Caller::local_operator`]), not an API caller.
    pub local: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCaller {
    pub node_id: i64,
    pub hostname: String,
    pub site_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Person(PersonCaller),
    Node(NodeCaller),
    Anonymous,
}

impl Caller {
    /// The operator running the command line on the server's data directory: an admin without
    /// a person row.
    pub fn local_operator() -> Self {
        Caller::Person(PersonCaller {
            person_id: 0,
            email: "local operator".into(),
            roles: vec!["admin".into()],
            role_ids: vec![10],
            site_ids: vec![],
            local: true,
        })
    }

    /// The fault prefix: `person_id N`, `node_id N`, or empty.
    pub fn label(&self) -> String {
        match self {
            Caller::Person(p) => format!("person_id {}", p.person_id),
            Caller::Node(n) => format!("node_id {}", n.node_id),
            Caller::Anonymous => String::new(),
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        match self {
            Caller::Person(p) => p.roles.iter().any(|r| r == role.name()),
            Caller::Node(_) => role == Role::Node,
            Caller::Anonymous => role == Role::Anonymous,
        }
    }

    /// The command line's operator, who already holds the data directory (and so may write
    /// file results anywhere the server's user may, and is not held to the result quota).
    pub fn is_local_operator(&self) -> bool {
        matches!(self, Caller::Person(p) if p.local)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    pub fn person(&self) -> Option<&PersonCaller> {
        match self {
            Caller::Person(p) => Some(p),
            _ => None,
        }
    }

    /// Whether the caller belongs to `site_id` (a node belongs to its own site).
    pub fn at_site(&self, site_id: i64) -> bool {
        match self {
            Caller::Person(p) => p.site_ids.contains(&site_id),
            Caller::Node(n) => n.site_id == site_id,
            Caller::Anonymous => false,
        }
    }
}
