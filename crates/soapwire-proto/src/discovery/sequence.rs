//! Application sequencing (`AppSequence`) and duplicate suppression.
//!
//! * [`AppSequenceGenerator`]: what a target service stamps on its Hello, Bye and matches.
//! * [`AppSequenceTracker`]: per target endpoint, is an incoming message newer than the
//!   last one seen? WS-Discovery orders messages by `InstanceId`, then — within one
//!   `SequenceId` — by `MessageNumber`; messages of the same instance in different
//!   sequences are not ordered. WSDAPI drops a message whose `MessageNumber` is lower
//!   than the last seen, whatever the sequence; wsdd starts a new `SequenceId` for every
//!   message and numbers out of order, so that rule would drop its Hello. The tracker
//!   therefore reports [`Freshness::Unordered`] for that case and lets callers decide.
//!   [`AppSequenceTracker::observe_announcement`] also applies WSDAPI's XAddrs rule (ignore
//!   XAddrs from an older instance, or from the same instance with a lower
//!   `MetadataVersion`).
//! * [`DuplicateFilter`]: the same message received twice (SOAP-over-UDP retransmissions,
//!   several interfaces) is processed once, by `MessageID`, with bounded memory and expiry
//!   on the caller's clock.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::messages::AppSequence;

/// Stamps outgoing messages: a fixed instance id (given by the caller, e.g. a boot counter
/// or seconds since 1970 truncated to 32 bits), an optional sequence id, and message
/// numbers 1, 2, 3, … (saturating at `u32::MAX`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSequenceGenerator {
    instance_id: u32,
    sequence_id: Option<String>,
    next: u32,
}

impl AppSequenceGenerator {
    /// A generator for `instance_id` whose first message number is 1.
    pub fn new(instance_id: u32, sequence_id: Option<String>) -> AppSequenceGenerator {
        AppSequenceGenerator { instance_id, sequence_id, next: 1 }
    }

    /// The `AppSequence` for the next message (retransmissions must reuse it).
    pub fn next_sequence(&mut self) -> AppSequence {
        let message_number = self.next;
        self.next = self.next.saturating_add(1);
        AppSequence { instance_id: self.instance_id, sequence_id: self.sequence_id.clone(), message_number }
    }

    /// The instance id.
    pub fn instance_id(&self) -> u32 {
        self.instance_id
    }
}

/// How an incoming `AppSequence` relates to the last one seen from the same endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Freshness {
    /// Newer (or the first seen): process it.
    Fresh,
    /// The same instance, sequence and message number as the last: a repeat.
    Repeated,
    /// Older: a lower `InstanceId`, or a lower `MessageNumber` in the same sequence.
    Stale,
    /// The same `InstanceId` but another `SequenceId`: the spec does not order them.
    /// `lower_number` is true when its `MessageNumber` is lower than the last seen (WSDAPI
    /// would drop it; wsdd sends such messages routinely).
    Unordered {
        /// The message number is lower than the last one seen.
        lower_number: bool,
    },
}

impl Freshness {
    /// The tolerant verdict: `Fresh` and `Unordered` are worth processing.
    pub fn is_processable(self) -> bool {
        matches!(self, Freshness::Fresh | Freshness::Unordered { .. })
    }
}

/// The verdict of [`AppSequenceTracker::observe_announcement`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Observation {
    /// How the message's `AppSequence` relates to the last one seen.
    pub freshness: Freshness,
    /// False when WSDAPI would ignore the message's XAddrs: a lower `InstanceId` than the
    /// last seen, or the same `InstanceId` with a lower `MetadataVersion`.
    pub xaddrs_current: bool,
}

/// What the tracker remembers per endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    seq: AppSequence,
    /// The highest `MetadataVersion` seen in `seq.instance_id`.
    metadata_version: Option<u32>,
}

/// Per-endpoint `AppSequence` state, bounded to `capacity` endpoints (the oldest-tracked
/// endpoint is forgotten first).
#[derive(Clone, Debug)]
pub struct AppSequenceTracker {
    capacity: usize,
    last: HashMap<String, Record>,
    order: VecDeque<String>,
}

impl AppSequenceTracker {
    /// A tracker remembering at most `capacity` endpoints (at least 1).
    pub fn new(capacity: usize) -> AppSequenceTracker {
        AppSequenceTracker { capacity: capacity.max(1), last: HashMap::new(), order: VecDeque::new() }
    }

    /// Classifies `seq` from `endpoint` (its endpoint reference address) and remembers it
    /// when it is the newest seen.
    pub fn observe(&mut self, endpoint: &str, seq: &AppSequence) -> Freshness {
        self.observe_announcement(endpoint, seq, None).freshness
    }

    /// [`observe`](Self::observe) for a message carrying a `MetadataVersion` (Hello and the
    /// matches), also telling whether its XAddrs are current by WSDAPI's rule.
    pub fn observe_announcement(
        &mut self,
        endpoint: &str,
        seq: &AppSequence,
        metadata_version: Option<u32>,
    ) -> Observation {
        let Some(last) = self.last.get_mut(endpoint) else {
            if self.last.len() >= self.capacity {
                if let Some(oldest) = self.order.pop_front() {
                    self.last.remove(&oldest);
                }
            }
            self.last.insert(endpoint.to_owned(), Record { seq: seq.clone(), metadata_version });
            self.order.push_back(endpoint.to_owned());
            return Observation { freshness: Freshness::Fresh, xaddrs_current: true };
        };
        let previous = &last.seq;
        let freshness = if seq.instance_id != previous.instance_id {
            if seq.instance_id > previous.instance_id { Freshness::Fresh } else { Freshness::Stale }
        } else if seq.sequence_id != previous.sequence_id {
            Freshness::Unordered { lower_number: seq.message_number < previous.message_number }
        } else if seq.message_number > previous.message_number {
            Freshness::Fresh
        } else if seq.message_number == previous.message_number {
            Freshness::Repeated
        } else {
            Freshness::Stale
        };
        let xaddrs_current = match seq.instance_id.cmp(&previous.instance_id) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => match (metadata_version, last.metadata_version) {
                (Some(new), Some(old)) => new >= old,
                _ => true,
            },
        };
        if seq.instance_id > previous.instance_id {
            last.metadata_version = metadata_version;
        } else if seq.instance_id == previous.instance_id {
            last.metadata_version = last.metadata_version.max(metadata_version);
        }
        let newer = match freshness {
            Freshness::Fresh => true,
            Freshness::Unordered { lower_number } => !lower_number,
            _ => false,
        };
        if newer {
            last.seq = seq.clone();
        }
        Observation { freshness, xaddrs_current }
    }

    /// Forgets an endpoint (e.g. after its Bye).
    pub fn forget(&mut self, endpoint: &str) {
        if self.last.remove(endpoint).is_some() {
            self.order.retain(|e| e != endpoint);
        }
    }

    /// The last `AppSequence` remembered for `endpoint`.
    pub fn last(&self, endpoint: &str) -> Option<&AppSequence> {
        self.last.get(endpoint).map(|r| &r.seq)
    }

    /// The number of endpoints tracked.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// True if no endpoint is tracked.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}

/// Remembers recently seen `MessageID`s: at most `capacity` of them (oldest evicted first),
/// each for `ttl` after it was first seen, on the caller's clock.
#[derive(Clone, Debug)]
pub struct DuplicateFilter {
    capacity: usize,
    ttl: Duration,
    seen: HashMap<String, Instant>,
    order: VecDeque<(String, Instant)>,
}

impl DuplicateFilter {
    /// Default capacity: 1024 message ids.
    pub const DEFAULT_CAPACITY: usize = 1024;
    /// Default time to live: 20 s, twice `MATCH_TIMEOUT`, well beyond any retransmission.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(20);

    /// A filter remembering at most `capacity` ids (at least 1) for `ttl` each.
    pub fn new(capacity: usize, ttl: Duration) -> DuplicateFilter {
        let capacity = capacity.max(1);
        DuplicateFilter { capacity, ttl, seen: HashMap::new(), order: VecDeque::new() }
    }

    /// True if `message_id` is new at `now` (and remembers it); false for a duplicate.
    pub fn first_seen(&mut self, message_id: &str, now: Instant) -> bool {
        self.expire(now);
        if self.seen.contains_key(message_id) {
            return false;
        }
        while self.seen.len() >= self.capacity {
            let Some((oldest, at)) = self.order.pop_front() else { break };
            if self.seen.get(&oldest) == Some(&at) {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(message_id.to_owned(), now);
        self.order.push_back((message_id.to_owned(), now));
        true
    }

    /// Forgets ids older than the time to live at `now`.
    pub fn expire(&mut self, now: Instant) {
        while let Some((id, at)) = self.order.front() {
            if now.saturating_duration_since(*at) < self.ttl {
                break;
            }
            if self.seen.get(id) == Some(at) {
                self.seen.remove(id);
            }
            self.order.pop_front();
        }
    }

    /// The number of ids remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True if no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

impl Default for DuplicateFilter {
    fn default() -> Self {
        DuplicateFilter::new(DuplicateFilter::DEFAULT_CAPACITY, DuplicateFilter::DEFAULT_TTL)
    }
}
