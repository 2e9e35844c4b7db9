//! Log lines for a background writer that retries a refused put (a delay
//! or timer delivery): the store may refuse for as long as the disk stays
//! full or a master lease stays lapsed, and a line per try, several a
//! second, would bury everything else. One line when the refusals start,
//! one every [`EVERY`] tries while they last, one when a put is taken again.

/// Tries between two lines of one run of refusals.
const EVERY: u32 = 100;

#[derive(Debug, Default)]
pub(crate) struct RetryLog {
    /// Refusals since the last put taken.
    refused: u32,
}

impl RetryLog {
    /// A put of `what` was refused for `why`; it will be tried again.
    pub(crate) fn refused(&mut self, what: &str, why: &dyn std::fmt::Display) {
        if self.refused.is_multiple_of(EVERY) {
            tracing::warn!("{what} refused (try {}), retrying: {why}", self.refused + 1);
        }
        self.refused = self.refused.saturating_add(1);
    }

    /// A put was taken: the refusals, if any, are over.
    pub(crate) fn taken(&mut self, what: &str) {
        if self.refused > 0 {
            tracing::info!("{what} taken again after {} refused tries", self.refused);
            self.refused = 0;
        }
    }

    #[cfg(test)]
    fn pending(&self) -> u32 {
        self.refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_refusals_is_counted_until_a_put_is_taken() {
        let mut log = RetryLog::default();
        for _ in 0..3 {
            log.refused("delivery", &"the disk is full");
        }
        assert_eq!(log.pending(), 3);
        log.taken("delivery");
        assert_eq!(log.pending(), 0);
    }
}
