//! The game clock: `Lobby → Running ⇄ Paused → Finished`, driven by wall time times a speed
//! factor, or by hand (manual mode). The caller passes wall time in (`now_ms`); the game never
//! reads a clock itself.

use serde::{Deserialize, Serialize};

/// Most ticks one `pump` simulates, so that a slow or "as fast as possible" game never holds
/// the game for long; the next pump catches up.
pub const MAX_TICKS_PER_PUMP: u64 = 600;
/// Most wall time a speed clock may run ahead of the game, ms: beyond it the clock slips
/// (it is re-anchored at this lag), so that a machine that cannot keep up runs the game as
/// fast as it can instead of chasing an ever-growing backlog.
pub const MAX_CLOCK_LAG_MS: u64 = 1_000;
/// Fewest ticks a speed clock may run ahead of the game before it slips (a slow clock
/// still rides out a stall of a few ticks).
pub const MIN_CLOCK_LAG_TICKS: u64 = 10;
/// How long after its last slip a clock still counts as behind, ms of wall time.
pub const BEHIND_WINDOW_MS: u64 = 2 * MAX_CLOCK_LAG_MS;

/// How simulated time advances.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    /// Simulated seconds per wall second (1 for a live event; `f64::INFINITY` or a large
    /// number for "as fast as possible").
    Speed(f64),
    /// Time moves only when the organizer advances it.
    Manual,
}

impl ClockMode {
    /// "speed" or "manual".
    pub fn name(self) -> &'static str {
        match self {
            ClockMode::Speed(_) => "speed",
            ClockMode::Manual => "manual",
        }
    }
}

/// Where the game is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GameState {
    /// Teams are being set up; time has not started.
    Lobby,
    /// Time runs.
    Running,
    /// Time is stopped; team commands are refused.
    Paused,
    /// The game is over.
    Finished,
}

impl GameState {
    /// snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            GameState::Lobby => "lobby",
            GameState::Running => "running",
            GameState::Paused => "paused",
            GameState::Finished => "finished",
        }
    }
}

/// The wall-time side of the clock: speed or manual, and the anchor of a running speed-mode
/// clock. The lifecycle state and the end tick are part of the game's deterministic state;
/// the anchor is not (it only decides how far `pump` steps).
#[derive(Clone, Debug)]
pub struct Clock {
    /// Speed or manual.
    pub mode: ClockMode,
    /// Length of one tick, ms.
    pub tick_ms: u64,
    /// Wall time of the last start/resume, ms (speed mode).
    anchor_ms: u64,
    /// Tick reached at that moment.
    anchor_tick: u64,
    /// Wall time of the last slip, ms (see [`Clock::slip`]).
    last_slip_ms: Option<u64>,
    /// Ticks given up by slips since the game was opened.
    slipped_ticks: u64,
}

impl Clock {
    /// A clock that has not started.
    pub fn new(mode: ClockMode, tick_ms: u64) -> Clock {
        Clock {
            mode,
            tick_ms: tick_ms.max(1),
            anchor_ms: 0,
            anchor_tick: 0,
            last_slip_ms: None,
            slipped_ticks: 0,
        }
    }

    /// Sets the wall-time anchor: from `now_ms` on, time runs from `tick`.
    pub fn anchor(&mut self, now_ms: u64, tick: u64) {
        self.anchor_ms = now_ms;
        self.anchor_tick = tick;
    }

    /// The most ticks a running speed clock may be ahead of the game: [`MAX_CLOCK_LAG_MS`]
    /// of wall time at its speed (at least [`MIN_CLOCK_LAG_TICKS`]); `None` when it is unbounded (as fast
    /// as possible) or the clock is manual.
    pub fn max_lag_ticks(&self) -> Option<u64> {
        let ClockMode::Speed(speed) = self.mode else {
            return None;
        };
        let ticks = (MAX_CLOCK_LAG_MS as f64 * speed / self.tick_ms as f64).floor();
        (ticks.is_finite() && ticks < (u64::MAX / 2) as f64)
            .then(|| (ticks as u64).max(MIN_CLOCK_LAG_TICKS))
    }

    /// Lets a running speed clock slip when the game (at tick `current`) lags it by more
    /// than [`Clock::max_lag_ticks`] at `now_ms`: it is re-anchored so that it is exactly
    /// that far ahead, and the ticks it gives up are counted. Returns the ticks given up.
    /// The anchor is not part of the game's deterministic state (replay follows the
    /// journal's ticks), so slipping changes only how fast the game runs.
    pub fn slip(&mut self, now_ms: u64, current: u64, state: GameState) -> u64 {
        let Some(max_lag) = self.max_lag_ticks() else {
            return 0;
        };
        if state != GameState::Running {
            return 0;
        }
        let wanted = self.wanted_tick(now_ms);
        let lag = wanted.saturating_sub(current);
        if lag <= max_lag {
            return 0;
        }
        let given_up = lag - max_lag;
        self.anchor(now_ms, current.saturating_add(max_lag));
        self.last_slip_ms = Some(now_ms);
        self.slipped_ticks = self.slipped_ticks.saturating_add(given_up);
        given_up
    }

    /// Whether the machine does not keep up with the speed: at `now_ms` the running clock
    /// is further ahead of the game (at tick `current`) than it may be, or it slipped within
    /// [`BEHIND_WINDOW_MS`] before.
    pub fn behind(&self, now_ms: u64, current: u64, state: GameState) -> bool {
        let Some(max_lag) = self.max_lag_ticks() else {
            return false;
        };
        if state != GameState::Running {
            return false;
        }
        self.wanted_tick(now_ms).saturating_sub(current) > max_lag
            || self
                .last_slip_ms
                .is_some_and(|slip_ms| now_ms.saturating_sub(slip_ms) <= BEHIND_WINDOW_MS)
    }

    /// Ticks given up by slips since the game was opened.
    pub fn slipped_ticks(&self) -> u64 {
        self.slipped_ticks
    }

    /// The tick wall time `now_ms` corresponds to from the anchor, uncapped (speed mode).
    fn wanted_tick(&self, now_ms: u64) -> u64 {
        let ClockMode::Speed(speed) = self.mode else {
            return self.anchor_tick;
        };
        let wall_ms = now_ms.saturating_sub(self.anchor_ms) as f64;
        let sim_ticks = (wall_ms * speed / self.tick_ms as f64).floor();
        if sim_ticks.is_finite() && sim_ticks < (u64::MAX / 2) as f64 {
            self.anchor_tick.saturating_add(sim_ticks as u64)
        } else {
            u64::MAX
        }
    }

    /// The tick the clock says it is at `now_ms`, capped at `end_tick` and at
    /// `MAX_TICKS_PER_PUMP` past `current`. Equal to `current` unless `state` is running in
    /// speed mode.
    pub fn target_tick(&self, now_ms: u64, current: u64, state: GameState, end_tick: u64) -> u64 {
        if self.mode == ClockMode::Manual || state != GameState::Running {
            return current;
        }
        self.wanted_tick(now_ms)
            .min(end_tick)
            .min(current.saturating_add(MAX_TICKS_PER_PUMP))
            .max(current)
    }

    /// Ticks in `seconds` simulated seconds (rounded up).
    pub fn ticks_in_secs(&self, seconds: u64) -> u64 {
        seconds.saturating_mul(1000).div_ceil(self.tick_ms)
    }

    /// Simulated seconds at `tick`.
    pub fn secs_at(&self, tick: u64) -> f64 {
        (tick.saturating_mul(self.tick_ms)) as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_mode_follows_wall_time_and_stops_at_the_end() {
        let mut clock = Clock::new(ClockMode::Speed(2.0), 1000);
        assert_eq!(
            clock.target_tick(5_000, 0, GameState::Lobby, 100),
            0,
            "lobby: no time"
        );
        clock.anchor(1_000, 0);
        let run = GameState::Running;
        assert_eq!(clock.target_tick(1_000, 0, run, 100), 0);
        assert_eq!(clock.target_tick(3_499, 0, run, 100), 4);
        assert_eq!(clock.target_tick(3_500, 0, run, 100), 5);
        assert_eq!(clock.target_tick(1_000_000, 0, run, 100), 100);
        assert_eq!(
            clock.target_tick(9_000, 7, GameState::Paused, 100),
            7,
            "paused: no time"
        );
    }

    #[test]
    fn a_clock_the_game_cannot_follow_slips_to_a_bounded_lag() {
        // 300 ticks per wall second: at most 300 ticks (one second) ahead.
        let mut clock = Clock::new(ClockMode::Speed(300.0), 1000);
        assert_eq!(clock.max_lag_ticks(), Some(300));
        clock.anchor(0, 0);
        let run = GameState::Running;
        // Within the bound nothing slips.
        assert_eq!(clock.slip(1_000, 0, run), 0);
        assert!(!clock.behind(1_000, 0, run));
        // Further ahead than the bound it is behind, before it slipped too.
        assert!(clock.behind(2_000, 0, run));
        // Ten seconds in, the game reached only tick 330: 2,670 ticks behind.
        assert_eq!(clock.slip(10_000, 330, run), 2_670 - 300);
        assert_eq!(clock.target_tick(10_000, 330, run, u64::MAX), 630);
        assert!(clock.behind(10_000, 330, run));
        assert_eq!(clock.slipped_ticks(), 2_370);
        // From there the clock runs at its speed again.
        assert_eq!(clock.target_tick(11_000, 630, run, u64::MAX), 930);
        assert!(!clock.behind(11_000 + BEHIND_WINDOW_MS, 930 + 300 * 2, run));
        assert!(!clock.behind(11_000, 930, GameState::Paused));
        // Paused, manual and "as fast as possible" clocks never slip.
        assert_eq!(clock.slip(1_000_000, 0, GameState::Paused), 0);
        let mut fastest = Clock::new(ClockMode::Speed(f64::INFINITY), 1000);
        assert_eq!(fastest.slip(1_000, 0, run), 0);
        let mut manual = Clock::new(ClockMode::Manual, 1000);
        assert_eq!(manual.slip(1_000, 0, run), 0);
    }

    #[test]
    fn manual_mode_never_moves_by_itself() {
        let clock = Clock::new(ClockMode::Manual, 1000);
        assert_eq!(clock.target_tick(50_000, 3, GameState::Running, 100), 3);
        assert_eq!(clock.ticks_in_secs(90), 90);
    }

    #[test]
    fn as_fast_as_possible_is_bounded_per_pump() {
        let mut clock = Clock::new(ClockMode::Speed(f64::INFINITY), 1000);
        clock.anchor(0, 0);
        assert_eq!(
            clock.target_tick(1, 10, GameState::Running, 100_000),
            10 + MAX_TICKS_PER_PUMP
        );
    }
}
