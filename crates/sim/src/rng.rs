//! Named, seeded random streams. Each purpose has its own ChaCha stream derived from the
//! scenario seed and the stream's name, so adding draws for one purpose never shifts another.

use bevy_ecs::prelude::Resource;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::schedule::named_stream;

/// Stream name of traffic noise.
pub const TRAFFIC_STREAM: &str = "sim/traffic";
/// Stream name of log line details.
pub const LOG_STREAM: &str = "sim/logs";
/// Stream name of per-world choices (`When` faults' selectors).
pub const WORLD_STREAM: &str = "sim/world";

/// The random streams of one world (serialized with it).
#[derive(Resource, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rngs {
    /// Traffic noise.
    pub traffic: ChaCha8Rng,
    /// Log details.
    pub logs: ChaCha8Rng,
    /// Per-world choices.
    pub world: ChaCha8Rng,
}

impl Rngs {
    /// The streams of a world with `seed`.
    pub fn new(seed: u64) -> Rngs {
        Rngs {
            traffic: named_stream(seed, TRAFFIC_STREAM),
            logs: named_stream(seed, LOG_STREAM),
            world: named_stream(seed, WORLD_STREAM),
        }
    }
}

/// A uniform draw in [0, 1).
pub fn unit(rng: &mut ChaCha8Rng) -> f64 {
    rng.random::<f64>()
}
