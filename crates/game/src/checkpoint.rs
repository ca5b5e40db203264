//! Checkpoints bound recovery time. They are incremental: per world, a base snapshot of
//! everything but the contents of its rings (metric history, logs), compact MessagePack (exact
//! for every float), plus chunks of what the rings appended since the previous checkpoint
//! (plain little-endian bytes); recovery rebuilds the rings from the chunks still inside their
//! windows. The game state is MessagePack with field names. They are written in small
//! transactions — on a background thread with its own connection during a live game, so that
//! neither the game nor journal commits wait for them. A checkpoint counts only once
//! completely written; the writer remembers how far the last complete one reached.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use breakathon_scenario::Scenario;
use breakathon_sim::snapshot::{EncodedRings, SNAPSHOT_FORMAT, last_point_tick};
use breakathon_sim::{FaultSchedule, RingDelta, RingMarks, RingTicks, Simulation, WorldSnapshot};

use crate::journal::{
    CHUNK_LOGS, CHUNK_OLD, CHUNK_RECENT, Journal, SqliteJournal, StoredCheckpoint, StoredChunk,
    StoredWorld,
};
use crate::record::Core;
use crate::{GameError, TeamId};

/// Fewest ticks between automatic checkpoints.
pub const MIN_CHECKPOINT_INTERVAL_TICKS: u64 = 30;
/// Most ticks between automatic checkpoints.
pub const MAX_CHECKPOINT_INTERVAL_TICKS: u64 = 300;
/// Team-ticks to replay after the last checkpoint at most: the interval shrinks as teams grow
/// (1,000 teams → a checkpoint every 60 ticks), bounding recovery time.
pub const RECOVERY_BUDGET_TEAM_TICKS: u64 = 60_000;

/// Ticks between automatic checkpoints for `teams` teams.
pub fn interval_ticks(teams: usize) -> u64 {
    let teams = u64::try_from(teams.max(1)).unwrap_or(u64::MAX);
    (RECOVERY_BUDGET_TEAM_TICKS / teams)
        .clamp(MIN_CHECKPOINT_INTERVAL_TICKS, MAX_CHECKPOINT_INTERVAL_TICKS)
}

/// The state to checkpoint, taken on the game's thread.
pub(crate) struct CheckpointJob {
    pub seq: u64,
    pub tick: u64,
    pub core: Core,
    pub worlds: Vec<WorldJob>,
}

/// One world of a checkpoint job.
pub(crate) struct WorldJob {
    pub team: TeamId,
    base: WorldSnapshot,
    delta: RingDelta,
    needs: RingTicks,
    marks: RingMarks,
}

/// How often [`Checkpointer::wait_idle`] looks whether the writer is done.
const IDLE_POLL: std::time::Duration = std::time::Duration::from_millis(2);

/// Ring marks of the last completely written checkpoint, per team.
pub(crate) type Marks = BTreeMap<TeamId, RingMarks>;

/// The job of checkpointing `worlds` after record `seq`: each world's rings since `marks`
/// (everything they keep for a team without marks).
pub(crate) fn job(
    seq: u64,
    core: &Core,
    worlds: &BTreeMap<TeamId, Simulation>,
    marks: &Marks,
) -> CheckpointJob {
    CheckpointJob {
        seq,
        tick: core.tick,
        core: core.clone(),
        worlds: worlds
            .iter()
            .map(|(id, world)| world_job(*id, world, marks))
            .collect(),
    }
}

/// One world's share of a checkpoint job: its base and its rings since `marks`.
pub(crate) fn world_job(team: TeamId, world: &Simulation, marks: &Marks) -> WorldJob {
    let empty = RingMarks::default();
    WorldJob {
        team,
        base: world.snapshot_base(),
        delta: world.ring_delta(marks.get(&team).unwrap_or(&empty)),
        needs: world.ring_oldest_ticks(),
        marks: world.ring_marks(),
    }
}

/// Encodes a job for storage (empty chunks are left out).
pub(crate) fn encode(job: &CheckpointJob) -> Result<StoredCheckpoint, GameError> {
    let core = rmp_serde::to_vec_named(&job.core)
        .map_err(|e| GameError::codec("encoding a checkpoint", e))?;
    let worlds = job
        .worlds
        .iter()
        .map(|w| {
            let base = rmp_serde::to_vec(&w.base)
                .map_err(|e| GameError::codec(format!("encoding team {}'s world", w.team), e))?;
            let mut chunks = Vec::new();
            for (kind, slices) in [(CHUNK_RECENT, &w.delta.recent), (CHUNK_OLD, &w.delta.old)] {
                if let Some(last_tick) = last_point_tick(slices) {
                    chunks.push(StoredChunk {
                        kind,
                        last_tick,
                        data: RingDelta::encode_points(slices),
                    });
                }
            }
            if let Some(last) = w.delta.logs.items.last() {
                chunks.push(StoredChunk {
                    kind: CHUNK_LOGS,
                    last_tick: last.tick,
                    data: RingDelta::encode_logs(&w.delta.logs),
                });
            }
            Ok(StoredWorld {
                team: w.team.0,
                base,
                needs_from_tick: [w.needs.recent, w.needs.old, w.needs.logs],
                chunks,
            })
        })
        .collect::<Result<Vec<_>, GameError>>()?;
    Ok(StoredCheckpoint {
        seq: job.seq,
        tick: job.tick,
        format: SNAPSHOT_FORMAT,
        core,
        worlds,
    })
}

/// Decodes a checkpoint's game state.
pub(crate) fn decode_core(bytes: &[u8]) -> Result<Core, GameError> {
    rmp_serde::from_slice(bytes).map_err(|e| GameError::codec("decoding a checkpoint", e))
}

/// Rebuilds a stored world: decodes its base and fills its rings straight from the bytes of
/// its chunks. Fails when the base or a chunk is malformed or the chunks miss an item the rings
/// keep.
pub(crate) fn restore_world(
    scenario: &Arc<Scenario>,
    schedule: &Arc<FaultSchedule>,
    stored: &StoredWorld,
) -> Result<(TeamId, Simulation), GameError> {
    let team = TeamId(stored.team);
    let mut base: WorldSnapshot = rmp_serde::from_slice(&stored.base)
        .map_err(|e| GameError::codec(format!("decoding team {team}'s world"), e))?;
    let mut rings = EncodedRings::default();
    for c in &stored.chunks {
        match c.kind {
            CHUNK_RECENT => rings.recent.push(&c.data),
            CHUNK_OLD => rings.old.push(&c.data),
            CHUNK_LOGS => rings.logs.push(&c.data),
            other => {
                return Err(GameError::WrongState(format!(
                    "team {team}'s checkpoint holds a chunk of unknown kind {other}"
                )));
            }
        }
    }
    base.fill_rings(&rings)
        .map_err(|e| GameError::codec(format!("decoding team {team}'s ring chunks"), e))?;
    let world = Simulation::restore(Arc::clone(scenario), Arc::clone(schedule), base)
        .map_err(|e| GameError::Scenario(format!("team {team}'s checkpoint: {e}")))?;
    Ok((team, world))
}

/// What the writer thread and the game share.
#[derive(Default)]
struct Shared {
    last_error: Option<String>,
    marks: Marks,
}

/// A background checkpoint writer. At most one checkpoint is in flight; while it is being
/// written no other is taken (the next interval tries again).
pub(crate) struct Checkpointer {
    sender: Option<SyncSender<Box<CheckpointJob>>>,
    handle: Option<JoinHandle<()>>,
    busy: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
}

impl Checkpointer {
    /// Starts a writer with its own connection to the journal at `path`.
    pub fn start(path: &Path) -> Result<Checkpointer, GameError> {
        let mut journal = SqliteJournal::open_for_checkpoints(path)?;
        // One slot: the writer takes a job out before writing it, so the slot is free whenever
        // the writer is idle.
        let (sender, receiver) = mpsc::sync_channel::<Box<CheckpointJob>>(1);
        let shared = Arc::new(Mutex::new(Shared::default()));
        let busy = Arc::new(AtomicBool::new(false));
        let (writer_shared, writer_busy) = (Arc::clone(&shared), Arc::clone(&busy));
        let handle = std::thread::Builder::new()
            .name("breakathon-checkpoint".into())
            .spawn(move || {
                for job in receiver {
                    let result = encode(&job).and_then(|stored| journal.save_checkpoint(&stored));
                    if let Ok(mut shared) = writer_shared.lock() {
                        match result {
                            Ok(()) => {
                                shared.last_error = None;
                                shared.marks =
                                    job.worlds.into_iter().map(|w| (w.team, w.marks)).collect();
                            }
                            Err(e) => shared.last_error = Some(e.to_string()),
                        }
                    }
                    writer_busy.store(false, Ordering::Release);
                }
            })
            .map_err(|e| GameError::io("starting the checkpoint writer", e))?;
        Ok(Checkpointer {
            sender: Some(sender),
            handle: Some(handle),
            busy,
            shared,
        })
    }

    /// Whether the writer is not writing a checkpoint now (a writer thread that died, which
    /// takes nothing any more, counts as idle: nobody waits for it).
    pub fn is_idle(&self) -> bool {
        !self.busy.load(Ordering::Acquire)
            || self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits until the writer has finished the checkpoint it took, if any (before writing
    /// one synchronously: two writers of the same checkpoint would trip over each other).
    pub fn wait_idle(&self) {
        while !self.is_idle() {
            std::thread::sleep(IDLE_POLL);
        }
    }

    /// The ring marks of the last checkpoint completely written (or recovered from).
    pub fn marks(&self) -> Marks {
        self.shared
            .lock()
            .map(|s| s.marks.clone())
            .unwrap_or_default()
    }

    /// Sets the ring marks, after recovering from a checkpoint whose chunks are stored.
    pub fn seed_marks(&self, marks: Marks) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.marks = marks;
        }
    }

    /// Hands a job to the writer if it is idle; returns whether it took it.
    pub fn offer(&self, job: CheckpointJob) -> bool {
        if self.busy.swap(true, Ordering::AcqRel) {
            return false;
        }
        match self.sender.as_ref().map(|s| s.try_send(Box::new(job))) {
            Some(Ok(())) => true,
            Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) | None => {
                self.busy.store(false, Ordering::Release);
                false
            }
        }
    }

    /// The error of the last checkpoint written, if it failed.
    pub fn last_error(&self) -> Option<String> {
        self.shared.lock().ok().and_then(|s| s.last_error.clone())
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.sender = None;
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(handle: JoinHandle<()>, busy: bool) -> Checkpointer {
        Checkpointer {
            sender: None,
            handle: Some(handle),
            busy: Arc::new(AtomicBool::new(busy)),
            shared: Arc::default(),
        }
    }

    #[test]
    fn a_dead_writer_counts_as_idle_so_that_nobody_waits_for_it_forever() {
        let dead = std::thread::spawn(|| {});
        while !dead.is_finished() {
            std::thread::yield_now();
        }
        let gone = writer(dead, true);
        assert!(gone.is_idle());
        gone.wait_idle();
        let working = writer(
            std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(100))),
            true,
        );
        assert!(
            !working.is_idle(),
            "a live writer with a job in hand is busy"
        );
    }
}
