//! Timers of the operators that emit on their own (process, cgroup and eBPF statistics
//! collections, histogram printing): one thread per gadget runs every timer and stops
//! promptly when the gadget stops.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// When a timer fires: optionally once after `first`, then every `interval`, at most
/// `count` times (0 = unlimited; the `first` emission does not count, like IG's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub first: Option<Duration>,
    pub interval: Duration,
    pub count: u64,
}

/// A timer's work; returns `false` to end this timer.
pub type Tick = Box<dyn FnMut() -> bool + Send>;

struct Timer {
    schedule: Schedule,
    tick: Tick,
    next: Instant,
    first_done: bool,
    fired: u64,
}

/// The running timer thread of one gadget.
pub struct Ticker {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    /// Starts a thread running `timers` (an empty list starts nothing).
    pub fn start(timers: Vec<(Schedule, Tick)>) -> std::io::Result<Ticker> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        if timers.is_empty() {
            return Ok(Ticker { stop, thread: None });
        }
        let now = Instant::now();
        let mut timers: Vec<Timer> = timers
            .into_iter()
            .map(|(schedule, tick)| Timer {
                next: now + schedule.first.unwrap_or(schedule.interval),
                schedule,
                tick,
                first_done: schedule.first.is_none(),
                fired: 0,
            })
            .collect();
        let s = stop.clone();
        let thread = std::thread::Builder::new().name("gadgetrt-ticker".into()).spawn(move || loop {
            let Some(next) = timers.iter().map(|t| t.next).min() else { return };
            {
                let (lock, cv) = &*s;
                let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                while !*stopped && Instant::now() < next {
                    let wait = next.saturating_duration_since(Instant::now());
                    stopped = cv.wait_timeout(stopped, wait).unwrap_or_else(|e| e.into_inner()).0;
                }
                if *stopped {
                    return;
                }
            }
            let now = Instant::now();
            timers.retain_mut(|t| {
                if t.next > now {
                    return true;
                }
                let go_on = (t.tick)();
                if t.first_done {
                    t.fired += 1;
                } else {
                    t.first_done = true;
                }
                t.next += t.schedule.interval.max(Duration::from_millis(1));
                go_on && (t.schedule.count == 0 || t.fired < t.schedule.count)
            });
        })?;
        Ok(Ticker { stop, thread: Some(thread) })
    }

    /// Stops the thread and waits for it (a tick in progress finishes first).
    pub fn stop(&mut self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn first_interval_then_count_ticks() {
        let n = Arc::new(AtomicU64::new(0));
        let c = n.clone();
        let s = Schedule { first: Some(Duration::from_millis(5)), interval: Duration::from_millis(20), count: 2 };
        let mut t = Ticker::start(vec![(s, Box::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
            true
        }))])
        .unwrap();
        std::thread::sleep(Duration::from_millis(150));
        t.stop();
        // first + 2 counted ticks
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn stop_is_prompt() {
        let s = Schedule { first: None, interval: Duration::from_secs(3600), count: 0 };
        let mut t = Ticker::start(vec![(s, Box::new(|| true))]).unwrap();
        let t0 = Instant::now();
        t.stop();
        assert!(t0.elapsed() < Duration::from_secs(1));
    }
}
