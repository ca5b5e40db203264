//! Followers' per-dependency rows, shared with their leader until read.
//!
//! An instance in the same state as an earlier one of its service follows it for a tick
//! (`load::find_leaders`): load and latency compute only the leader, and the resources stage
//! copies the leader's results into the follower ([`LeaderTick`]) — all but its
//! per-dependency rows (`Instance::deps`, 88 bytes each, in an allocation of their own that a
//! copy would mostly miss in the cache). Those stay where they were, stale, and
//! [`Followers`] (kept in `Fleet::followers`, between the resources stage and the next load
//! stage) records whose rows the follower's are: its leader's, which nothing changes until
//! the next load stage computes it.
//!
//! Every reader and writer of a follower's rows resolves or materialises them first:
//! - the next load stage (`load::find_leaders`): a follower that keeps its leader needs
//!   nothing (its rows are again the leader's at the end of the tick); one that stops
//!   following it is materialised before the leader is computed (a service's leader search
//!   runs before any of its instances is computed);
//! - `ops` (restart, kill, removal, a restart's dropped connections): [`before_change`] and
//!   [`materialise_service`] before they change an instance's rows;
//! - snapshots and the state hash: [`materialised`], a copy with every row in place.
//!
//! Nothing else reads an instance's rows (the stages read only those of the instances they
//! compute). Debug builds keep what an eager copy would have written and check, when the
//! load stage takes the record back, that every follower's leader still holds exactly that.

use crate::state::{Fleet, Instance, InstanceTick};
use crate::systems::load::NO_LEADER;

#[cfg(debug_assertions)]
use crate::state::InstanceDep;

/// Per instance (by id): the leader whose per-dependency rows are this instance's, or
/// `load::NO_LEADER` when it holds its own (ids past the end hold their own). Between ticks
/// every leader named holds its own rows. Not part of snapshots (they hold materialised rows).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Followers {
    /// Per instance: its leader, or `NO_LEADER`.
    leader: Vec<u32>,
    /// Debug builds: per follower, the rows an eager copy would have given it.
    #[cfg(debug_assertions)]
    shadow: Vec<Vec<InstanceDep>>,
}

impl Followers {
    /// The leader whose rows instance `id` shares, if any.
    #[inline]
    pub fn leader_of(&self, id: usize) -> Option<usize> {
        match self.leader.get(id) {
            Some(&l) if l != NO_LEADER => Some(l as usize),
            _ => None,
        }
    }

    /// Records this tick's `follows` (`Scratch::follows`, one per instance of `instances`,
    /// after the resources stage): from now on each follower's rows are its leader's.
    pub fn keep(&mut self, follows: Vec<u32>, instances: &[Instance]) {
        self.leader = follows;
        // (Rows copied into kept buffers: no allocation per tick once they have grown.)
        #[cfg(debug_assertions)]
        {
            self.shadow.resize_with(self.leader.len(), Vec::new);
            for (shadow, &l) in self.shadow.iter_mut().zip(&self.leader) {
                if l != NO_LEADER {
                    shadow.clone_from(&instances[l as usize].deps);
                }
            }
        }
        #[cfg(not(debug_assertions))]
        let _ = instances;
    }

    /// Hands the record back to the load stage (as `Scratch::follows`, its leader search's
    /// "followed last tick"), leaving none here: from then until the resources stage hands
    /// it back, the stages resolve followers themselves. Debug builds check that every
    /// follower's leader holds its own rows, in the same service, and still the rows an
    /// eager copy would have given the follower.
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
                lead.deps == self.shadow[id],
                "instance {l}'s rows changed while instance {id} shared them"
            );
        }
        #[cfg(not(debug_assertions))]
        let _ = instances;
        std::mem::take(&mut self.leader)
    }
}

/// A leader's results of a tick that its followers take (all but its per-dependency rows:
/// its metrics, queue, memory leaked and disk used), read once for a run of followers: each
/// then gets them from registers.
#[derive(Clone, Copy, Debug)]
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
    /// Leader `lead`'s results.
    #[inline(always)]
    pub fn of(lead: &Instance) -> LeaderTick {
        LeaderTick {
            m: lead.m,
            queue: lead.queue,
            leaked_mb: lead.leaked_mb,
            disk_used_gb: lead.disk_used_gb,
        }
    }

    /// Gives them to follower `inst`, field by field (a whole-struct assignment of this size
    /// compiles to a `memcpy` call).
    #[inline(always)]
    pub fn give(&self, inst: &mut Instance) {
        let (to, from) = (&mut inst.m, &self.m);
        to.offered_rps = from.offered_rps;
        to.served_rps = from.served_rps;
        to.ok_rps = from.ok_rps;
        to.failed_rps = from.failed_rps;
        to.capacity_rps = from.capacity_rps;
        to.utilisation = from.utilisation;
        to.own_p50_ms = from.own_p50_ms;
        to.own_p99_ms = from.own_p99_ms;
        to.latency_p50_ms = from.latency_p50_ms;
        to.latency_p99_ms = from.latency_p99_ms;
        to.own_error = from.own_error;
        to.thread_ms = from.thread_ms;
        to.wait_ms = from.wait_ms;
        to.cpu_percent = from.cpu_percent;
        to.connections_in_use = from.connections_in_use;
        to.memory_percent = from.memory_percent;
        to.disk_percent = from.disk_percent;
        to.abandoned_rps = from.abandoned_rps;
        to.cause = from.cause;
        inst.queue = self.queue;
        inst.leaked_mb = self.leaked_mb;
        inst.disk_used_gb = self.disk_used_gb;
    }

    /// Whether follower `inst` holds leader `lead`'s tick, bit for bit (for debug checks).
    pub fn given(inst: &Instance, lead: &Instance) -> bool {
        let bits = |m: &InstanceTick| {
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
            ]
            .map(f64::to_bits)
        };
        bits(&inst.m) == bits(&lead.m)
            && inst.m.cause == lead.m.cause
            && [inst.queue, inst.leaked_mb, inst.disk_used_gb].map(f64::to_bits)
                == [lead.queue, lead.leaked_mb, lead.disk_used_gb].map(f64::to_bits)
    }
}

/// Copies `leader`'s per-dependency rows into instance `id` (which shared them). Rare (an
/// instance that stops following, or one about to change), so out of line.
#[cold]
#[inline(never)]
pub fn copy_rows(instances: &mut [Instance], id: usize, leader: usize) {
    debug_assert_ne!(id, leader);
    let (to, from) = if id > leader {
        let (head, tail) = instances.split_at_mut(id);
        (&mut tail[0], &head[leader])
    } else {
        let (head, tail) = instances.split_at_mut(leader);
        (&mut head[id], &tail[0])
    };
    to.deps.clone_from(&from.deps);
}

/// Gives instance `id` its own rows, if it shares its leader's. It then no longer follows
/// anyone: its service's next leader search is made in full (`Fleet::rotation_changed`).
pub fn materialise(fleet: &mut Fleet, id: usize) {
    if let Some(leader) = fleet.followers.leader_of(id) {
        copy_rows(&mut fleet.instances, id, leader);
        fleet.followers.leader[id] = NO_LEADER;
        let s = fleet.instances[id].service;
        fleet.rotation_changed(s);
    }
}

/// Before instance `id`'s rows change: it and the instances sharing its rows get their own.
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

/// Every instance of service `s` gets its own rows.
pub fn materialise_service(fleet: &mut Fleet, s: usize) {
    for i in 0..fleet.services[s].instances.len() {
        let id = fleet.services[s].instances[i] as usize;
        materialise(fleet, id);
    }
}

/// Every instance gets its own rows.
pub fn materialise_all(fleet: &mut Fleet) {
    for id in 0..fleet.instances.len() {
        materialise(fleet, id);
    }
    fleet.followers = Followers::default();
}

/// A copy of `fleet` with every instance's own rows (what snapshots and the state hash see),
/// and no kept rotation (`ServiceState::rotation_kept`: a restored world computes it again).
pub fn materialised(fleet: &Fleet) -> Fleet {
    let mut copy = fleet.clone();
    materialise_all(&mut copy);
    copy.rotation_all_changed();
    copy
}
