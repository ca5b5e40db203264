//! The JSON API under `/api/v1`, one module per role.

pub mod bodies;
pub mod charts;
pub mod judge;
pub mod organizer;
pub mod public;
pub mod stream;
pub mod team;
