//! Team actions as the engine receives them: an [`ActionKind`] with its target and parameters.

use breakathon_scenario::ActionKind;
use serde::{Deserialize, Serialize};

/// One action a team takes on its fleet. It is validated when submitted and takes effect at
/// the start of the next tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// What to do.
    pub kind: ActionKind,
    /// The service acted on (required for every action except zone actions).
    #[serde(default)]
    pub service: Option<String>,
    /// The instance acted on (`restart_instance`; optional for `drain_zone` to drain one).
    #[serde(default)]
    pub instance: Option<u32>,
    /// The zone acted on (zone actions).
    #[serde(default)]
    pub zone: Option<String>,
    /// Parameters; each action documents which it reads.
    #[serde(default)]
    pub params: ActionParams,
}

impl Action {
    /// An action on a service with no parameters.
    pub fn on_service(kind: ActionKind, service: &str) -> Action {
        Action {
            kind,
            service: Some(service.to_owned()),
            instance: None,
            zone: None,
            params: ActionParams::default(),
        }
    }

    /// An action on one instance of a service.
    pub fn on_instance(kind: ActionKind, service: &str, index: u32) -> Action {
        Action {
            instance: Some(index),
            ..Action::on_service(kind, service)
        }
    }

    /// An action on a zone (every service's instances in it).
    pub fn on_zone(kind: ActionKind, zone: &str) -> Action {
        Action {
            kind,
            service: None,
            instance: None,
            zone: Some(zone.to_owned()),
            params: ActionParams::default(),
        }
    }

    /// The same action with `params`.
    pub fn with(mut self, params: ActionParams) -> Action {
        self.params = params;
        self
    }
}

/// Most characters of a team's input (a name, a key) repeated back in an error message.
pub const MAX_ECHO_CHARS: usize = 64;

/// `input` as repeated back in an error message: at most [`MAX_ECHO_CHARS`] characters, with
/// "…" when cut, so a huge or hostile input is not sent back in full.
pub fn echo(input: &str) -> String {
    match input.char_indices().nth(MAX_ECHO_CHARS) {
        Some((end, _)) => format!("{}…", &input[..end]),
        None => input.to_owned(),
    }
}

/// Parameters of an action; all optional.
///
/// - `count`: `scale_out` / `scale_in` (default 1).
/// - `version`: `rollback` (default: the previous version), `roll_forward` (default: a patch).
/// - `key` + `value`: `set_config`. Known keys: `pool_size`, `timeout` (a duration like `"500ms"`
///   or milliseconds), `retries`, `rate_limit` (requests/s, `0` or `off` removes it),
///   `circuit_breaker` (`on` / `off`); prefix with a dependency name (`db.pool_size`) to change
///   one dependency only. Other keys must be config keys the service has (the scenario's, or
///   one a fault changed); values have at most `MAX_CONFIG_VALUE_CHARS` characters.
/// - `version`: 1 to `MAX_VERSION_CHARS` characters, no control characters.
/// - `flag` + `enabled`: `toggle_flag` (default: turn the flag off).
/// - `level_percent`: `shed_load`, the percent of load shed (default 50; 0 stops shedding).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionParams {
    /// How many instances.
    #[serde(default)]
    pub count: Option<u32>,
    /// A version name.
    #[serde(default)]
    pub version: Option<String>,
    /// A config key.
    #[serde(default)]
    pub key: Option<String>,
    /// A config value.
    #[serde(default)]
    pub value: Option<String>,
    /// A feature flag name.
    #[serde(default)]
    pub flag: Option<String>,
    /// The flag's new value.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// A level in percent (load shed).
    #[serde(default)]
    pub level_percent: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_cuts_long_input_at_a_character_boundary() {
        assert_eq!(echo("web"), "web");
        let long = "é".repeat(5_000);
        let echoed = echo(&long);
        assert_eq!(echoed.chars().count(), MAX_ECHO_CHARS + 1);
        assert!(echoed.ends_with('…'));
    }
}
