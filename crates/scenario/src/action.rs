//! The team-action vocabulary shared by scenarios (remedy lists), the engine and the API.

use serde::{Deserialize, Serialize};

use crate::ServiceKind;

/// Everything a team can do to its fleet. Parameters (which instance, how many, which key)
/// travel beside the kind in the engine's action command; scenarios name only the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Restart one instance (it boots and warms up again).
    RestartInstance,
    /// Restart every instance of a service, rolling one zone at a time.
    RestartService,
    /// Deploy an earlier version (named, or the previous one).
    Rollback,
    /// Deploy a newer version (a patch).
    RollForward,
    /// Add instances (parameter: count).
    ScaleOut,
    /// Remove instances (parameter: count).
    ScaleIn,
    /// Move a zone's traffic and primaries to the other zones.
    FailoverZone,
    /// Stop sending traffic to a zone (or one instance).
    DrainZone,
    /// Send traffic to a drained zone again.
    UndrainZone,
    /// Set a config value by key (timeout, retries, pool size, rate limit...).
    SetConfig,
    /// Put the config back to the last known good values.
    RevertConfig,
    /// Turn a feature flag on or off (parameter: flag name and value).
    ToggleFlag,
    /// Pre-load a cache so it serves hits again.
    WarmCache,
    /// Empty a cache.
    FlushCache,
    /// Install a fresh TLS certificate.
    RenewCertificate,
    /// Free disk space / rotate logs.
    FreeDisk,
    /// Shed non-critical load or enable a rate limit (parameter: level, percent shed).
    ShedLoad,
    /// Promote or rebuild a database replica.
    PromoteReplica,
    /// Route reads to the primary database.
    RouteReadsToPrimary,
    /// Switch to the secondary DNS resolver.
    FailoverDns,
    /// Raise the quota of an external API.
    RaiseQuota,
    /// Restore the telemetry pipeline of a service.
    RestoreTelemetry,
    /// Kill a runaway job on a service.
    KillJob,
}

impl ActionKind {
    /// Every action, in a stable order.
    pub const ALL: [ActionKind; 23] = [
        ActionKind::RestartInstance,
        ActionKind::RestartService,
        ActionKind::Rollback,
        ActionKind::RollForward,
        ActionKind::ScaleOut,
        ActionKind::ScaleIn,
        ActionKind::FailoverZone,
        ActionKind::DrainZone,
        ActionKind::UndrainZone,
        ActionKind::SetConfig,
        ActionKind::RevertConfig,
        ActionKind::ToggleFlag,
        ActionKind::WarmCache,
        ActionKind::FlushCache,
        ActionKind::RenewCertificate,
        ActionKind::FreeDisk,
        ActionKind::ShedLoad,
        ActionKind::PromoteReplica,
        ActionKind::RouteReadsToPrimary,
        ActionKind::FailoverDns,
        ActionKind::RaiseQuota,
        ActionKind::RestoreTelemetry,
        ActionKind::KillJob,
    ];

    /// The snake_case name used in scenarios and the API.
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::RestartInstance => "restart_instance",
            ActionKind::RestartService => "restart_service",
            ActionKind::Rollback => "rollback",
            ActionKind::RollForward => "roll_forward",
            ActionKind::ScaleOut => "scale_out",
            ActionKind::ScaleIn => "scale_in",
            ActionKind::FailoverZone => "failover_zone",
            ActionKind::DrainZone => "drain_zone",
            ActionKind::UndrainZone => "undrain_zone",
            ActionKind::SetConfig => "set_config",
            ActionKind::RevertConfig => "revert_config",
            ActionKind::ToggleFlag => "toggle_flag",
            ActionKind::WarmCache => "warm_cache",
            ActionKind::FlushCache => "flush_cache",
            ActionKind::RenewCertificate => "renew_certificate",
            ActionKind::FreeDisk => "free_disk",
            ActionKind::ShedLoad => "shed_load",
            ActionKind::PromoteReplica => "promote_replica",
            ActionKind::RouteReadsToPrimary => "route_reads_to_primary",
            ActionKind::FailoverDns => "failover_dns",
            ActionKind::RaiseQuota => "raise_quota",
            ActionKind::RestoreTelemetry => "restore_telemetry",
            ActionKind::KillJob => "kill_job",
        }
    }

    /// One line saying what the action does, for documentation and consoles.
    pub fn description(self) -> &'static str {
        match self {
            ActionKind::RestartInstance => "restart one instance (it boots and warms up again)",
            ActionKind::RestartService => "restart every instance of a service, one zone at a time",
            ActionKind::Rollback => "deploy an earlier version (named, or the previous one)",
            ActionKind::RollForward => "deploy a newer version (a patch)",
            ActionKind::ScaleOut => "add instances",
            ActionKind::ScaleIn => "remove instances",
            ActionKind::FailoverZone => "move a zone's traffic and primaries to the other zones",
            ActionKind::DrainZone => "stop sending traffic to a zone (or one instance)",
            ActionKind::UndrainZone => "send traffic to a drained zone again",
            ActionKind::SetConfig => {
                "set a config value by key (timeout, retries, pool size, rate limit...)"
            }
            ActionKind::RevertConfig => "put the config back to the last known good values",
            ActionKind::ToggleFlag => "turn a feature flag on or off",
            ActionKind::WarmCache => "pre-load a cache so it serves hits again",
            ActionKind::FlushCache => "empty a cache",
            ActionKind::RenewCertificate => "install a fresh TLS certificate",
            ActionKind::FreeDisk => "free disk space / rotate logs",
            ActionKind::ShedLoad => "shed non-critical load or enable a rate limit",
            ActionKind::PromoteReplica => "promote or rebuild a database replica",
            ActionKind::RouteReadsToPrimary => "route reads to the primary database",
            ActionKind::FailoverDns => "switch to the secondary DNS resolver",
            ActionKind::RaiseQuota => "raise the quota of an external API",
            ActionKind::RestoreTelemetry => "restore the telemetry pipeline of a service",
            ActionKind::KillJob => "kill a runaway job on a service",
        }
    }

    /// Whether this action targets a zone rather than a service.
    pub fn targets_zone(self) -> bool {
        matches!(
            self,
            ActionKind::FailoverZone | ActionKind::DrainZone | ActionKind::UndrainZone
        )
    }

    /// Whether this action makes sense on a service of `kind`.
    ///
    /// Zone actions are valid for every kind (they apply to the service's instances in
    /// that zone, or to the whole zone when no service is named).
    pub fn valid_for(self, kind: ServiceKind) -> bool {
        use ServiceKind as K;
        match self {
            ActionKind::WarmCache | ActionKind::FlushCache => kind == K::Cache,
            ActionKind::PromoteReplica | ActionKind::RouteReadsToPrimary => kind == K::Database,
            ActionKind::FailoverDns => kind == K::Dns,
            ActionKind::RaiseQuota => kind == K::ExternalApi,
            // An external API is not ours to restart, deploy or scale.
            ActionKind::RestartInstance
            | ActionKind::RestartService
            | ActionKind::Rollback
            | ActionKind::RollForward
            | ActionKind::ScaleOut
            | ActionKind::ScaleIn
            | ActionKind::KillJob
            | ActionKind::FreeDisk => kind != K::ExternalApi,
            ActionKind::ShedLoad => matches!(
                kind,
                K::Frontend | K::Api | K::LoadBalancer | K::Worker | K::Queue
            ),
            ActionKind::FailoverZone
            | ActionKind::DrainZone
            | ActionKind::UndrainZone
            | ActionKind::SetConfig
            | ActionKind::RevertConfig
            | ActionKind::ToggleFlag
            | ActionKind::RenewCertificate
            | ActionKind::RestoreTelemetry => true,
        }
    }

    /// The service kinds this action is valid for.
    pub fn valid_kinds(self) -> Vec<ServiceKind> {
        ServiceKind::ALL
            .into_iter()
            .filter(|kind| self.valid_for(*kind))
            .collect()
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_valid_somewhere_and_named_uniquely() {
        let mut names: Vec<_> = ActionKind::ALL.iter().map(|a| a.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ActionKind::ALL.len());
        for action in ActionKind::ALL {
            assert!(!action.valid_kinds().is_empty(), "{action}");
        }
    }

    #[test]
    fn kind_specific_actions_are_refused_elsewhere() {
        assert!(ActionKind::WarmCache.valid_for(ServiceKind::Cache));
        assert!(!ActionKind::WarmCache.valid_for(ServiceKind::Api));
        assert!(!ActionKind::RestartService.valid_for(ServiceKind::ExternalApi));
        assert!(ActionKind::FailoverDns.valid_for(ServiceKind::Dns));
        assert!(!ActionKind::PromoteReplica.valid_for(ServiceKind::Cache));
    }

    #[test]
    fn serde_name_matches_name() {
        for action in ActionKind::ALL {
            let text = ron::to_string(&action).unwrap();
            assert_eq!(text, action.name());
        }
    }
}
