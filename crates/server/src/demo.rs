//! `serve --demo`: bot teams of different skill that play by themselves, so a newcomer sees a
//! living scoreboard at once. They play through the game API like any team (declarations,
//! actions, notifications); only the perfect and sloppy bots peek at the true timeline (the
//! judges' view) to know what broke.
//!
//! - **perfect**: declares each incident a short while after it strikes, tells customer
//!   service, and applies the first resolving action; retries if the fault comes back.
//! - **sloppy**: first raises a false alarm, declares later, acts later still, never tells
//!   anyone.
//! - **restart-only**: restarts whatever service looks unhealthy on its fleet map.
//! - **idle**: does nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use breakathon_game::{
    Audience, Declaration, DeclaredTarget, Game, GameState, IncidentPhase, Notification, Principal,
    TeamId,
};
use breakathon_scenario::{ActionKind, FaultClass};
use breakathon_sim::{Action, ActionParams, Health, IncidentId, RootTarget};

use crate::error::ApiError;
use crate::state::AppState;
use breakathon_game::Access;

/// Wall-clock interval between two rounds of bot moves.
pub const BOT_INTERVAL: Duration = Duration::from_millis(100);
/// Simulated seconds the perfect bot waits after a fault strikes before declaring.
pub const PERFECT_DELAY_S: f64 = 15.0;
/// Simulated seconds the sloppy bot waits before declaring (its false alarm comes earlier).
pub const SLOPPY_DECLARE_DELAY_S: f64 = 90.0;
/// Simulated seconds the sloppy bot waits after declaring before acting.
pub const SLOPPY_ACT_DELAY_S: f64 = 60.0;
/// Simulated seconds before a bot acts again on an incident that is still open.
pub const RETRY_DELAY_S: f64 = 120.0;
/// Simulated seconds the restart-only bot leaves a service alone after restarting it.
pub const RESTART_COOLDOWN_S: f64 = 120.0;

/// How a bot plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skill {
    /// Knows the truth, acts fast and right.
    Perfect,
    /// Knows the truth, raises false alarms, acts slowly, tells nobody.
    Sloppy,
    /// Restarts whatever is unhealthy.
    RestartOnly,
    /// Does nothing.
    Idle,
}

impl Skill {
    /// Every skill, best first.
    pub const ALL: [Skill; 4] = [
        Skill::Perfect,
        Skill::Sloppy,
        Skill::RestartOnly,
        Skill::Idle,
    ];

    /// The team name of this bot.
    pub fn team_name(self) -> &'static str {
        match self {
            Skill::Perfect => "Perfect Bot",
            Skill::Sloppy => "Sloppy Bot",
            Skill::RestartOnly => "Restart-only Bot",
            Skill::Idle => "Idle Bot",
        }
    }
}

impl std::fmt::Display for Skill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Skill::Perfect => "perfect",
            Skill::Sloppy => "sloppy",
            Skill::RestartOnly => "restart-only",
            Skill::Idle => "idle",
        })
    }
}

/// One bot team.
#[derive(Clone, Debug)]
pub struct Bot {
    /// Its team name.
    pub name: String,
    /// How it plays.
    pub skill: Skill,
    /// Its team.
    pub team: TeamId,
    /// Its token (so a person can watch its console).
    pub token: String,
}

/// Creates the bot teams (or reissues their tokens when the game was recovered) and starts
/// the game if it is still in the lobby.
pub async fn setup(state: &AppState) -> Result<Vec<Bot>, ApiError> {
    let bots = state
        .write(|game, now_ms| {
            let mut bots = Vec::new();
            for skill in Skill::ALL {
                let name = skill.team_name();
                let existing = game.teams().into_iter().find(|team| team.name == name);
                let (team, token) = match existing {
                    Some(info) => (info.id, game.rotate_token(info.id)?),
                    None => {
                        let (info, token) = game.create_team(name)?;
                        (info.id, token)
                    }
                };
                bots.push(Bot {
                    name: name.to_owned(),
                    skill,
                    team,
                    token,
                });
            }
            // A demo plays by itself: a fresh game starts, and one recovered paused (after a
            // restart on the same data directory) carries on.
            match game.status().state {
                GameState::Lobby => game.start(now_ms)?,
                GameState::Paused => game.resume(now_ms)?,
                GameState::Running | GameState::Finished => {}
            }
            Ok(bots)
        })
        .await;
    // Recovered bots got new tokens: the old ones must stop working at once.
    state.forget_tokens();
    bots
}

/// What a bot remembers between rounds.
#[derive(Debug, Default)]
struct Memory {
    /// Incidents declared.
    declared: BTreeSet<IncidentId>,
    /// Incidents with a false alarm raised (sloppy).
    false_alarms: BTreeSet<IncidentId>,
    /// Last time (simulated s) the bot acted on each incident.
    acted_s: BTreeMap<IncidentId, f64>,
    /// When each incident was declared (simulated s).
    declared_s: BTreeMap<IncidentId, f64>,
    /// Last restart per service (restart-only).
    restarted_s: BTreeMap<String, f64>,
}

/// Plays every bot until shutdown.
pub async fn run(state: AppState, bots: Vec<Bot>) {
    let mut memories: Vec<Memory> = bots.iter().map(|_| Memory::default()).collect();
    let mut interval = tokio::time::interval(BOT_INTERVAL);
    loop {
        tokio::select! {
            () = state.shutdown().cancelled() => break,
            _ = interval.tick() => {}
        }
        let round_state = state.clone();
        let round_bots = bots.clone();
        let mut round_memories = std::mem::take(&mut memories);
        let outcome = tokio::task::spawn_blocking(move || {
            if let Ok(mut game) = round_state.lock_for(Access::Settled) {
                if game.status().state == GameState::Running {
                    for (bot, memory) in round_bots.iter().zip(round_memories.iter_mut()) {
                        play(&mut game, bot, memory);
                    }
                }
                round_state.publish_if_changed(&game);
            }
            round_memories
        })
        .await;
        match outcome {
            Ok(back) => memories = back,
            Err(_) => break,
        }
    }
}

/// One round of one bot. Refusals (a wrong guess, a paused game) are part of play and are
/// ignored.
fn play(game: &mut Game, bot: &Bot, memory: &mut Memory) {
    // Only ever act as this team.
    debug_assert!(game.authenticate(&bot.token) == Some(Principal::Team(bot.team)));
    let now_s = game.status().elapsed_s;
    match bot.skill {
        Skill::Idle => {}
        Skill::RestartOnly => restart_unhealthy(game, bot.team, now_s, memory),
        Skill::Perfect | Skill::Sloppy => play_with_truth(game, bot, now_s, memory),
    }
}

/// An incident as a bot sees it through the judges' view, for its own world.
struct Known {
    incident: IncidentId,
    fault: String,
    class: FaultClass,
    target: RootTarget,
    injected_s: f64,
    phase: IncidentPhase,
}

fn known_incidents(game: &Game, team: TeamId) -> Vec<Known> {
    game.judge_incidents()
        .into_iter()
        .filter_map(|view| {
            let result = view.teams.iter().find(|result| result.team == team)?;
            Some(Known {
                incident: view.truth.incident,
                fault: view.truth.fault.clone(),
                class: view.truth.class,
                target: view.truth.target.clone(),
                injected_s: result.injected_s,
                phase: result.phase,
            })
        })
        .collect()
}

fn play_with_truth(game: &mut Game, bot: &Bot, now_s: f64, memory: &mut Memory) {
    let perfect = bot.skill == Skill::Perfect;
    for known in known_incidents(game, bot.team) {
        if matches!(known.phase, IncidentPhase::Fixed | IncidentPhase::Expired) {
            continue;
        }
        let age_s = now_s - known.injected_s;
        if !perfect && !memory.false_alarms.contains(&known.incident) && age_s >= PERFECT_DELAY_S {
            memory.false_alarms.insert(known.incident);
            let _ = game.declare(bot.team, wrong_guess(game, &known));
        }
        let declare_after_s = if perfect {
            PERFECT_DELAY_S
        } else {
            SLOPPY_DECLARE_DELAY_S
        };
        if !memory.declared.contains(&known.incident) && age_s >= declare_after_s {
            memory.declared.insert(known.incident);
            memory.declared_s.insert(known.incident, now_s);
            let target = match &known.target {
                RootTarget::Service(name) => DeclaredTarget::Service(name.clone()),
                RootTarget::Zone(name) => DeclaredTarget::Zone(name.clone()),
            };
            let _ = game.declare(
                bot.team,
                Declaration {
                    target,
                    class: known.class,
                },
            );
            if perfect {
                let (service, zone) = match &known.target {
                    RootTarget::Service(name) => (Some(name.clone()), None),
                    RootTarget::Zone(name) => (None, Some(name.clone())),
                };
                let _ = game.notify(
                    bot.team,
                    Notification {
                        audience: Audience::CustomerService,
                        message: format!("We are on it: {} trouble, fix under way.", known.fault),
                        service,
                        zone,
                    },
                );
            }
        }
        let Some(declared_s) = memory.declared_s.get(&known.incident).copied() else {
            continue;
        };
        let act_after_s = if perfect { 0.0 } else { SLOPPY_ACT_DELAY_S };
        let due = match memory.acted_s.get(&known.incident) {
            None => now_s - declared_s >= act_after_s,
            Some(last_s) => now_s - last_s >= RETRY_DELAY_S,
        };
        if due {
            memory.acted_s.insert(known.incident, now_s);
            for action in resolving_actions(game, &known) {
                if game.act(bot.team, action).is_ok() {
                    break;
                }
            }
        }
    }
}

/// A declaration that is certainly wrong: the right target with another class.
fn wrong_guess(game: &Game, known: &Known) -> Declaration {
    // A zone takes only zone fault classes (others are refused, not judged).
    let class = match (&known.target, known.class) {
        (RootTarget::Zone(_), FaultClass::NoisyNeighbor) => FaultClass::ZoneOutage,
        (RootTarget::Zone(_), _) => FaultClass::NoisyNeighbor,
        (_, FaultClass::Crash) => FaultClass::DiskFull,
        _ => FaultClass::Crash,
    };
    let _ = game;
    let target = match &known.target {
        RootTarget::Service(name) => DeclaredTarget::Service(name.clone()),
        RootTarget::Zone(name) => DeclaredTarget::Zone(name.clone()),
    };
    Declaration { target, class }
}

/// The fault's resolving actions that a bot can build without guessing parameters, in the
/// scenario's order.
fn resolving_actions(game: &Game, known: &Known) -> Vec<Action> {
    let scenario = game.scenario();
    let Some(fault) = scenario
        .faults
        .iter()
        .find(|fault| fault.name == known.fault)
    else {
        return Vec::new();
    };
    let first_zone = scenario.zones.first().map(|zone| zone.name.clone());
    fault
        .remedies()
        .resolves
        .iter()
        .filter_map(|kind| build_action(*kind, &known.target, first_zone.as_deref()))
        .collect()
}

fn build_action(kind: ActionKind, target: &RootTarget, first_zone: Option<&str>) -> Option<Action> {
    match target {
        RootTarget::Zone(zone) => kind.targets_zone().then(|| Action::on_zone(kind, zone)),
        RootTarget::Service(service) => match kind {
            // These need a parameter the bot cannot know without reading the fleet.
            ActionKind::RestartInstance | ActionKind::SetConfig | ActionKind::ToggleFlag => None,
            ActionKind::FailoverZone | ActionKind::DrainZone | ActionKind::UndrainZone => {
                first_zone.map(|zone| Action::on_zone(kind, zone))
            }
            ActionKind::ScaleOut => Some(Action::on_service(kind, service).with(ActionParams {
                count: Some(1),
                ..ActionParams::default()
            })),
            _ => Some(Action::on_service(kind, service)),
        },
    }
}

fn restart_unhealthy(game: &mut Game, team: TeamId, now_s: f64, memory: &mut Memory) {
    let Ok(world) = game.world(team) else {
        return;
    };
    let unhealthy: Vec<String> = world
        .fleet()
        .services
        .into_iter()
        .filter(|service| matches!(service.health, Health::Degraded | Health::Down))
        .map(|service| service.name)
        .collect();
    for service in unhealthy {
        let recent = memory
            .restarted_s
            .get(&service)
            .is_some_and(|last_s| now_s - last_s < RESTART_COOLDOWN_S);
        if recent {
            continue;
        }
        memory.restarted_s.insert(service.clone(), now_s);
        let _ = game.act(
            team,
            Action::on_service(ActionKind::RestartService, &service),
        );
    }
}
