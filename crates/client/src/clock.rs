//! The clock the engine uses by default; tests pass their own [`consilium_model::Clock`].

pub use consilium_model::SystemClock;
