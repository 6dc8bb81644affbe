//! How long work tells its caller how far it got: imports of many rows, a policy simulated
//! over a long history. The CLI draws it on a terminal; the API passes [`Quiet`].

/// Told as long work advances (often: implementations throttle).
pub trait Progress: Sync {
    /// `done` of `total` (when known) items of `stage` ("checking rows") are through.
    fn step(&self, stage: &'static str, done: u64, total: Option<u64>);
}

/// Progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn step(&self, _: &'static str, _: u64, _: Option<u64>) {}
}
