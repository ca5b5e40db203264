//! Request bodies and query strings of the API, with their OpenAPI schemas.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `POST /teams`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTeamBody {
    /// Display name of the team.
    pub name: String,
}

/// A freshly issued team token (shown once).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamTokenBody {
    /// Team id.
    pub id: u32,
    /// Team name.
    pub name: String,
    /// The team's bearer token.
    pub token: String,
}

/// `POST /game/extend` and `POST /game/advance`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SecondsBody {
    /// Simulated seconds.
    pub seconds: u64,
}

/// `POST /announcements`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AnnouncementBody {
    /// Text shown to everyone.
    pub message: String,
}

/// `POST /team/declarations`: name exactly one of `service` or `zone`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeclarationBody {
    /// The service believed to be the root cause.
    pub service: Option<String>,
    /// The zone believed to be the root cause (zone-level faults).
    pub zone: Option<String>,
    /// The fault class, snake_case (see `GET /rules`).
    pub fault: String,
}

/// Parameters of an action; each action documents which it needs.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ActionParamsBody {
    /// How many instances (scale_out / scale_in).
    pub count: Option<u32>,
    /// Version to deploy (rollback / roll_forward).
    pub version: Option<String>,
    /// Config key (set_config).
    pub key: Option<String>,
    /// Config value (set_config).
    pub value: Option<String>,
    /// Feature flag name (toggle_flag).
    pub flag: Option<String>,
    /// Flag state (toggle_flag).
    pub enabled: Option<bool>,
    /// Share of load to shed, percent (shed_load).
    pub level_percent: Option<f64>,
}

/// `POST /team/actions`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionBody {
    /// The action, snake_case (e.g. `restart_service`, `rollback`, `failover_zone`).
    pub action: String,
    /// Target service.
    pub service: Option<String>,
    /// Target instance index within the service.
    pub instance: Option<u32>,
    /// Target zone.
    pub zone: Option<String>,
    /// Extra parameters.
    #[serde(default)]
    pub params: ActionParamsBody,
}

/// `POST /team/notifications`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NotificationBody {
    /// Who is told: `customer_service`, `sales`, ... (snake_case).
    pub audience: String,
    /// The message.
    pub message: String,
    /// The service the notification is about.
    pub service: Option<String>,
    /// The zone the notification is about.
    pub zone: Option<String>,
}

/// `POST /judge/adjustments`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AdjustmentBody {
    /// Team id.
    pub team: u32,
    /// Points to add (negative to remove).
    pub points: i64,
    /// Why, in words (shown in the team's ledger).
    pub reason: String,
}

/// `POST /judge/verdicts`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VerdictBody {
    /// Team id.
    pub team: u32,
    /// Incident id.
    pub incident: u32,
    /// The ruling: `declaration_correct`, `declaration_wrong` (both need `declaration`),
    /// `reopen` or `close`.
    pub ruling: String,
    /// The team's declaration number (for `declaration_correct` / `declaration_wrong`).
    pub declaration: Option<u32>,
    /// Why, in words.
    pub reason: String,
}

/// `GET /team/metrics`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MetricsQuery {
    /// Service to read.
    pub service: String,
    /// Only points from this simulated second on.
    pub since: Option<u64>,
}

/// `GET /team/logs`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LogsQuery {
    /// Only this service's lines.
    pub service: Option<String>,
    /// Only lines containing this text.
    pub q: Option<String>,
    /// Only lines from this simulated second on.
    pub since: Option<u64>,
    /// Most lines to return (capped by the server's own limit).
    pub limit: Option<usize>,
}

/// `GET /export`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
    /// With `csv`: which file of the export (default: the first).
    pub file: Option<String>,
}

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: &'static str,
}

/// `GET /rules`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesBody {
    /// The rules with this scenario's weights, in Markdown.
    pub markdown: String,
    /// Every fault class a team may declare (`fault` of `POST /team/declarations`), in
    /// catalog order.
    pub fault_classes: Vec<FaultClassBody>,
}

/// A fault class teams may declare.
#[derive(Debug, Serialize, ToSchema)]
pub struct FaultClassBody {
    /// Its snake_case name.
    pub name: &'static str,
    /// Whether it is declared on a service (`{"service": ...}`).
    pub on_service: bool,
    /// Whether it is declared on a zone (`{"zone": ...}`).
    pub on_zone: bool,
    /// What a team can see when it strikes.
    pub symptoms: &'static str,
}

impl FaultClassBody {
    /// Every declarable fault class, in catalog order.
    pub fn all() -> Vec<FaultClassBody> {
        breakathon_scenario::FaultClass::ALL
            .into_iter()
            .map(|class| FaultClassBody {
                name: class.name(),
                on_service: class.may_target_service(),
                on_zone: class.may_target_zone(),
                symptoms: class.symptoms(),
            })
            .collect()
    }
}
