//! Where a range scan (`WHERE emb <<->> sphere(q, r)`) stops streaming.
//!
//! The index streams candidates in *approximately* increasing distance from
//! `q`: a candidate within the radius can still come after a few beyond it.
//! So the scan does not stop at the first candidate at or past `r` but only
//! once `window` candidates in a row have been (the look-ahead window that
//! corrects the stream's order, `strata.ef_search`). Candidates beyond the
//! radius are skipped; the executor rechecks every returned row's exact
//! distance against the operator, so rounding of the stream's f32 distances
//! never admits a row.

/// What to do with the stream's next candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeStep {
    /// Within the radius: return it.
    Return,
    /// Beyond it: skip it and read on.
    Skip,
    /// `window` candidates in a row were beyond it: the scan is over.
    Stop,
}

#[derive(Debug, Clone)]
pub struct RangeStop {
    radius: f32,
    window: usize,
    beyond: usize,
}

impl RangeStop {
    pub fn new(radius: f32, window: usize) -> Self {
        RangeStop { radius, window: window.max(1), beyond: 0 }
    }

    /// Forgets the candidates seen (the scan starts over).
    pub fn reset(&mut self) {
        self.beyond = 0;
    }

    /// The operators are `distance < radius`, as pgvecto.rs's.
    pub fn step(&mut self, distance: f32) -> RangeStep {
        if distance < self.radius {
            self.beyond = 0;
            RangeStep::Return
        } else {
            self.beyond += 1;
            if self.beyond >= self.window {
                RangeStep::Stop
            } else {
                RangeStep::Skip
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stream: &[f32], radius: f32, window: usize) -> (Vec<f32>, usize) {
        let mut stop = RangeStop::new(radius, window);
        let mut out = Vec::new();
        for (read, d) in stream.iter().enumerate() {
            match stop.step(*d) {
                RangeStep::Return => out.push(*d),
                RangeStep::Skip => {}
                RangeStep::Stop => return (out, read + 1),
            }
        }
        (out, stream.len())
    }

    #[test]
    fn late_arrivals_within_the_window_are_returned() {
        // 0.9 comes after two candidates beyond the radius: still returned with a window of 3.
        let stream = [0.1, 0.5, 1.2, 1.1, 0.9, 1.5, 1.6, 1.7, 0.2];
        assert_eq!(run(&stream, 1.0, 3), (vec![0.1, 0.5, 0.9], 8));
        // With a window of 2 the scan stops before it.
        assert_eq!(run(&stream, 1.0, 2), (vec![0.1, 0.5], 4));
    }

    #[test]
    fn the_radius_is_exclusive_and_empty_ranges_stop_early() {
        assert_eq!(run(&[1.0, 1.0, 2.0], 1.0, 2), (vec![], 2));
        assert_eq!(run(&[0.0, 0.5], 0.0, 1), (vec![], 1));
        // A window of 0 behaves as 1.
        assert_eq!(run(&[0.5, 3.0, 0.5], 1.0, 0), (vec![0.5], 2));
        // Negative distances (negative dot product) work the same.
        assert_eq!(run(&[-9.0, -5.0, -1.0, 0.0], -2.0, 1), (vec![-9.0, -5.0], 3));
    }
}
