//! Followers' results, shared with their leader until read.
//!
//! An instance in the same state as an earlier one of its service follows it for a tick
//! (`load::find_leaders`): load and latency compute only the leader, and its results are the
//! follower's. Nothing copies them: the follower's tick (metrics, queue, memory leaked, disk
//! used: [`LeaderTick`]) and its per-dependency rows (`Instance::deps`, 88 bytes each, in an
//! allocation of their own) stay where they were, stale, and [`Followers`] (kept in
//! `Fleet::followers`, between the resources stage and the next load stage) records whose
//! they are: its leader's, which nothing changes until the next load stage computes it.
//!
//! Every reader and writer of a follower's tick or rows resolves or materialises them first:
//! - readers of an instance's tick after the resources stage (telemetry's probes and log
//!   lines, incident health, the team's view) read [`Fleet::tick_of`], the leader's;
//! - the next load stage (`load::find_leaders`): a follower that keeps its leader needs
//!   nothing (its tick and rows are again the leader's at the end of the tick); one that
//!   stops following it is materialised before the leader is computed (a service's leader
//!   search runs before any of its instances is computed);
//! - `ops` (restart, kill, removal, a restart's dropped connections) and freeing disk:
//!   [`before_change`] and [`materialise_service`] before they change an instance;
//! - snapshots and the state hash: [`materialised`], a copy with every tick and row in place.
//!
//! Between the load and the resources stages the stages read only the instances they
//! compute, and their leaders. Debug builds keep what an eager copy would have written and
//! check, when the load stage takes the record back, that every follower's leader still
//! holds exactly that; they also overwrite the follower's own (stale) tick with NaNs and an
//! impossible cause, so that a reader that forgets the leader goes wrong loudly, and check
//! that nothing wrote it.

use crate::state::{Cause, DepCause, Fleet, Instance, InstanceTick};
use crate::systems::load::NO_LEADER;

#[cfg(debug_assertions)]
use crate::state::InstanceDep;

/// Per instance (by id): the leader whose tick and per-dependency rows are this instance's,
/// or `load::NO_LEADER` when it holds its own (ids past the end hold their own). Between
/// ticks every leader named holds its own. Not part of snapshots (they hold materialised
/// instances).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Followers {
    /// Per instance: its leader, or `NO_LEADER`.
    leader: Vec<u32>,
    /// Debug builds: per follower, the rows and tick an eager copy would have given it.
    #[cfg(debug_assertions)]
    shadow: Vec<(Vec<InstanceDep>, LeaderTick)>,
}

impl Followers {
    /// The leader whose tick and rows instance `id` shares, if any.
    #[inline]
    pub fn leader_of(&self, id: usize) -> Option<usize> {
        match self.leader.get(id) {
            Some(&l) if l != NO_LEADER => Some(l as usize),
            _ => None,
        }
    }

    /// Records this tick's `follows` (`Scratch::follows`, one per instance of `instances`,
    /// after the resources stage): from now on each follower's tick and rows are its
    /// leader's. Debug builds keep what an eager copy would have given each follower and
    /// overwrite its own tick ([`LeaderTick::POISON`]).
    pub fn keep(&mut self, follows: Vec<u32>, instances: &mut [Instance]) {
        self.leader = follows;
        // (Rows copied into kept buffers: no allocation per tick once they have grown.)
        #[cfg(debug_assertions)]
        {
            self.shadow.resize_with(self.leader.len(), Default::default);
            for (id, (shadow, &l)) in self.shadow.iter_mut().zip(&self.leader).enumerate() {
                if l != NO_LEADER {
                    let lead = &instances[l as usize];
                    shadow.0.clone_from(&lead.deps);
                    shadow.1 = LeaderTick::of(lead);
                    LeaderTick::POISON.give(&mut instances[id]);
                }
            }
        }
        #[cfg(not(debug_assertions))]
        let _ = instances;
    }

    /// Hands the record back to the load stage (as `Scratch::follows`, its leader search's
    /// "followed last tick"), leaving none here: from then until the resources stage hands
    /// it back, the stages resolve followers themselves. Debug builds check that every
    /// follower's leader holds its own tick and rows, in the same service, and still the
    /// ones an eager copy would have given the follower, and that nothing wrote the
    /// follower's own tick.
    pub fn take(&mut self, instances: &[Instance]) -> Vec<u32> {
        #[cfg(debug_assertions)]
        for (id, &l) in self.leader.iter().enumerate() {
            if l == NO_LEADER {
                continue;
            }
            let (inst, lead) = (&instances[id], &instances[l as usize]);
            debug_assert_eq!(self.leader[l as usize], NO_LEADER, "a leader follows");
            debug_assert_eq!(inst.service, lead.service, "a leader of another service");
            debug_assert!(
                lead.deps == self.shadow[id].0,
                "instance {l}'s rows changed while instance {id} shared them"
            );
            debug_assert!(
                LeaderTick::of(lead).same(&self.shadow[id].1),
                "instance {l}'s tick changed while instance {id} shared it"
            );
            debug_assert!(
                LeaderTick::of(inst).same(&LeaderTick::POISON),
                "instance {id}'s own tick was written while it shared instance {l}'s"
            );
        }
        #[cfg(not(debug_assertions))]
        let _ = instances;
        std::mem::take(&mut self.leader)
    }
}

impl Fleet {
    /// The instance holding instance `id`'s tick (its metrics, queue, memory leaked and disk
    /// used): its leader while it shares its leader's (`followers`), else itself. Every
    /// reader of an instance's tick between the resources stage and the next load stage
    /// (telemetry, incident health, views) reads it here.
    #[inline]
    pub fn tick_of(&self, id: usize) -> &Instance {
        &self.instances[self.followers.leader_of(id).unwrap_or(id)]
    }
}

/// An instance's tick: what a follower shares with its leader besides its per-dependency
/// rows (its metrics, queue, memory leaked and disk used).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LeaderTick {
    /// Its metrics.
    m: InstanceTick,
    /// Its queue.
    queue: f64,
    /// Its memory leaked, MB.
    leaked_mb: f64,
    /// Its disk used, GB.
    disk_used_gb: f64,
}

impl LeaderTick {
    /// What debug builds write into a follower's own tick while it shares its leader's: NaN
    /// everywhere and a dependency that does not exist.
    pub const POISON: LeaderTick = LeaderTick {
        m: InstanceTick::unwritten(Cause::Dependency(u16::MAX, DepCause::PoolTimeout)),
        queue: f64::NAN,
        leaked_mb: f64::NAN,
        disk_used_gb: f64::NAN,
    };

    /// Instance `inst`'s.
    #[inline(always)]
    pub fn of(inst: &Instance) -> LeaderTick {
        LeaderTick {
            m: inst.m,
            queue: inst.queue,
            leaked_mb: inst.leaked_mb,
            disk_used_gb: inst.disk_used_gb,
        }
    }

    /// Gives it to instance `inst`.
    #[inline]
    pub fn give(&self, inst: &mut Instance) {
        inst.m = self.m;
        inst.queue = self.queue;
        inst.leaked_mb = self.leaked_mb;
        inst.disk_used_gb = self.disk_used_gb;
    }

    /// Whether `other` is the same, bit for bit (for debug checks).
    pub fn same(&self, other: &LeaderTick) -> bool {
        self.bits() == other.bits() && self.m.cause == other.m.cause
    }

    /// Its numbers' bits.
    fn bits(&self) -> [u64; 21] {
        let m = &self.m;
        [
            m.offered_rps,
            m.served_rps,
            m.ok_rps,
            m.failed_rps,
            m.capacity_rps,
            m.utilisation,
            m.own_p50_ms,
            m.own_p99_ms,
            m.latency_p50_ms,
            m.latency_p99_ms,
            m.own_error,
            m.thread_ms,
            m.wait_ms,
            m.cpu_percent,
            m.connections_in_use,
            m.memory_percent,
            m.disk_percent,
            m.abandoned_rps,
            self.queue,
            self.leaked_mb,
            self.disk_used_gb,
        ]
        .map(f64::to_bits)
    }
}

/// Copies `leader`'s tick and per-dependency rows into instance `id` (which shared them).
/// Rare (an instance that stops following, or one about to change), so out of line.
#[cold]
#[inline(never)]
pub fn copy_shared(instances: &mut [Instance], id: usize, leader: usize) {
    debug_assert_ne!(id, leader);
    let (to, from) = if id > leader {
        let (head, tail) = instances.split_at_mut(id);
        (&mut tail[0], &head[leader])
    } else {
        let (head, tail) = instances.split_at_mut(leader);
        (&mut head[id], &tail[0])
    };
    to.deps.clone_from(&from.deps);
    LeaderTick::of(from).give(to);
}

/// Gives instance `id` its own tick and rows, if it shares its leader's. It then no longer
/// follows anyone: its service's next leader search is made in full
/// (`Fleet::rotation_changed`).
pub fn materialise(fleet: &mut Fleet, id: usize) {
    if let Some(leader) = fleet.followers.leader_of(id) {
        copy_shared(&mut fleet.instances, id, leader);
        fleet.followers.leader[id] = NO_LEADER;
        let s = fleet.instances[id].service;
        fleet.rotation_changed(s);
    }
}

/// Before instance `id`'s tick or rows change: it and the instances sharing them get their
/// own.
pub fn before_change(fleet: &mut Fleet, id: usize) {
    materialise(fleet, id);
    let Some(inst) = fleet.instances.get(id) else {
        return;
    };
    let s = inst.service as usize;
    for i in 0..fleet.services[s].instances.len() {
        let f = fleet.services[s].instances[i] as usize;
        if fleet.followers.leader_of(f) == Some(id) {
            materialise(fleet, f);
        }
    }
}

/// Every instance of service `s` gets its own tick and rows.
pub fn materialise_service(fleet: &mut Fleet, s: usize) {
    for i in 0..fleet.services[s].instances.len() {
        let id = fleet.services[s].instances[i] as usize;
        materialise(fleet, id);
    }
}

/// Every instance gets its own tick and rows.
pub fn materialise_all(fleet: &mut Fleet) {
    for id in 0..fleet.instances.len() {
        materialise(fleet, id);
    }
    fleet.followers = Followers::default();
}

/// A copy of `fleet` with every instance's own tick and rows (what snapshots and the state
/// hash see), and no kept rotation (`ServiceState::rotation_kept`: a restored world computes
/// it again).
pub fn materialised(fleet: &Fleet) -> Fleet {
    let mut copy = fleet.clone();
    materialise_all(&mut copy);
    copy.rotation_all_changed();
    copy
}
