//! SOAP-over-UDP timing, sans-IO: the retransmission schedule (SOAP-over-UDP Appendix I as
//! amended by DPWS and configured by WSDAPI's `WSDUdpRetransmitParams`) and the random
//! reply delay bounded by `APP_MAX_DELAY`.
//!
//! This module owns *when* a datagram goes out, never the sending: the caller gives a
//! start [`Instant`] and a random source, and asks [`RetransmitSchedule::next_send`] for
//! the next transmission time until it returns `None`.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use soapwire_proto::udp::{RetransmitParams, RetransmitSchedule};
//!
//! let ms = Duration::from_millis;
//! // The WSDAPI documentation's example: min = max = 50 ms, upper 250 ms.
//! let params = RetransmitParams::new(ms(0), 6, ms(50), ms(50), ms(250))?;
//! let start = Instant::now();
//! let mut rng = || 0u64;
//! let times: Vec<Duration> =
//!     RetransmitSchedule::new(&params, &mut rng, start)?.map(|t| t - start).collect();
//! assert_eq!(times, [ms(0), ms(50), ms(150), ms(350), ms(600), ms(850)]);
//! # Ok::<(), soapwire_proto::Error>(())
//! ```
//!
//! ## Defaults and what is not confirmed
//! `UDP_MIN_DELAY` 50 ms, `UDP_MAX_DELAY` 250 ms and `UDP_UPPER_DELAY` 450 ms (DPWS 2006;
//! SOAP-over-UDP 2004 says 500 ms) come from the specifications. The repeat counts are
//! **unconfirmed**: DPWS 2006 sources disagree between 1 and 2 for
//! `MULTICAST_UDP_REPEAT` / `UNICAST_UDP_REPEAT`, SOAP-over-UDP 2004 says 4 / 2 and DPWS
//! 1.1 says 1 / 1. Those constants count *re*-transmissions, while WSDAPI's `ulRepeat`
//! (and [`RetransmitParams::repeat`]) counts all transmissions. The DPWS presets
//! ([`RetransmitParams::multicast`], [`RetransmitParams::unicast`]) use one retransmission
//! (2 transmissions); [`RetransmitParams::soap_over_udp_2004_multicast`] and
//! [`RetransmitParams::soap_over_udp_2004_unicast`] give the 2004 values (5 and 3).

use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};

/// `UDP_MIN_DELAY`: 50 ms.
pub const UDP_MIN_DELAY: Duration = Duration::from_millis(50);
/// `UDP_MAX_DELAY`: 250 ms.
pub const UDP_MAX_DELAY: Duration = Duration::from_millis(250);
/// `UDP_UPPER_DELAY` of DPWS 2006: 450 ms.
pub const UDP_UPPER_DELAY: Duration = Duration::from_millis(450);
/// `UDP_UPPER_DELAY` of SOAP-over-UDP 2004: 500 ms.
pub const UDP_UPPER_DELAY_2004: Duration = Duration::from_millis(500);
/// `APP_MAX_DELAY` of DPWS: 5000 ms.
pub const APP_MAX_DELAY_DPWS: Duration = Duration::from_millis(5000);
/// `APP_MAX_DELAY` of WS-Discovery 2005: 500 ms.
pub const APP_MAX_DELAY_WS_DISCOVERY_2005: Duration = Duration::from_millis(500);
/// WSDAPI's cap on the reply delay: 2500 ms, so that unicast replies arrive within the
/// Windows firewall's 4 s window.
pub const WSDAPI_REPLY_DELAY_CAP: Duration = Duration::from_millis(2500);
/// The largest number of transmissions [`RetransmitParams::repeat`] allows.
pub const MAX_REPEAT: u32 = 256;
/// The largest delay allowed (`u32::MAX - 1` ms: WSDAPI's delays are `ULONG` ms and may
/// not be `INFINITE`).
pub const MAX_DELAY: Duration = Duration::from_millis(u32::MAX as u64 - 1);

/// `WSDUdpRetransmitParams`: when to send a datagram and its repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RetransmitParams {
    /// `ulSendDelay`: wait before the first transmission (zero = none).
    pub send_delay: Duration,
    /// `ulRepeat`: the total number of transmissions, 1..=256.
    pub repeat: u32,
    /// `ulRepeatMinDelay`: lower bound of the first random wait between transmissions.
    pub repeat_min_delay: Duration,
    /// `ulRepeatMaxDelay`: upper bound of the first random wait.
    pub repeat_max_delay: Duration,
    /// `ulRepeatUpperDelay`: the cap of the doubling wait.
    pub repeat_upper_delay: Duration,
}

impl RetransmitParams {
    /// Validated parameters; see [`RetransmitParams::validate`].
    pub fn new(
        send_delay: Duration,
        repeat: u32,
        repeat_min_delay: Duration,
        repeat_max_delay: Duration,
        repeat_upper_delay: Duration,
    ) -> Result<RetransmitParams> {
        let p = RetransmitParams { send_delay, repeat, repeat_min_delay, repeat_max_delay, repeat_upper_delay };
        p.validate()?;
        Ok(p)
    }

    /// `InvalidArgument` unless `repeat` is in 1..=256, `min ≤ max ≤ upper`, and no delay
    /// exceeds [`MAX_DELAY`] (the `INFINITE` rule).
    pub fn validate(&self) -> Result<()> {
        let invalid = |m: String| Err(Error::new(ErrorKind::InvalidArgument, m));
        if !(1..=MAX_REPEAT).contains(&self.repeat) {
            return invalid(format!("repeat {} is outside 1..={MAX_REPEAT}", self.repeat));
        }
        if self.repeat_min_delay > self.repeat_max_delay || self.repeat_max_delay > self.repeat_upper_delay {
            return invalid(format!(
                "retransmit delays must satisfy min ({:?}) <= max ({:?}) <= upper ({:?})",
                self.repeat_min_delay, self.repeat_max_delay, self.repeat_upper_delay
            ));
        }
        let largest = self.send_delay.max(self.repeat_upper_delay);
        if largest > MAX_DELAY {
            return invalid(format!("a retransmit delay of {largest:?} exceeds the maximum ({MAX_DELAY:?})"));
        }
        Ok(())
    }

    /// DPWS multicast preset: no send delay, 2 transmissions (UNCONFIRMED count, see the
    /// module docs), 50 / 250 / 450 ms.
    pub fn multicast() -> RetransmitParams {
        RetransmitParams {
            send_delay: Duration::ZERO,
            repeat: 2,
            repeat_min_delay: UDP_MIN_DELAY,
            repeat_max_delay: UDP_MAX_DELAY,
            repeat_upper_delay: UDP_UPPER_DELAY,
        }
    }

    /// DPWS unicast preset: same as [`RetransmitParams::multicast`] (UNCONFIRMED count).
    pub fn unicast() -> RetransmitParams {
        RetransmitParams::multicast()
    }

    /// SOAP-over-UDP 2004 multicast: `MULTICAST_UDP_REPEAT` 4 ⇒ 5 transmissions,
    /// 50 / 250 / 500 ms.
    pub fn soap_over_udp_2004_multicast() -> RetransmitParams {
        RetransmitParams { repeat: 5, repeat_upper_delay: UDP_UPPER_DELAY_2004, ..RetransmitParams::multicast() }
    }

    /// SOAP-over-UDP 2004 unicast: `UNICAST_UDP_REPEAT` 2 ⇒ 3 transmissions,
    /// 50 / 250 / 500 ms.
    pub fn soap_over_udp_2004_unicast() -> RetransmitParams {
        RetransmitParams { repeat: 3, repeat_upper_delay: UDP_UPPER_DELAY_2004, ..RetransmitParams::multicast() }
    }
}

impl Default for RetransmitParams {
    /// [`RetransmitParams::multicast`].
    fn default() -> Self {
        RetransmitParams::multicast()
    }
}

/// A uniformly random duration in `[low, high]` at millisecond granularity (as WSDAPI's
/// millisecond parameters), from one draw of `rng`. Sub-millisecond parts of the bounds
/// are kept on `low`.
fn random_between(low: Duration, high: Duration, rng: &mut impl FnMut() -> u64) -> Duration {
    let span_ms = high.saturating_sub(low).as_millis() as u64;
    let draw = rng();
    let offset = if span_ms == 0 { 0 } else { draw % (span_ms + 1) };
    low + Duration::from_millis(offset)
}

/// The transmission times of one datagram, on the caller's clock.
///
/// First at `start + send_delay`; then, with `T` drawn once in `[min, max]`, each repeat
/// `T` after the previous transmission, `T` doubling after each repeat and capped at
/// `upper`; `repeat` transmissions in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetransmitSchedule {
    next: Option<Instant>,
    remaining: u32,
    delay: Duration,
    upper: Duration,
}

impl RetransmitSchedule {
    /// The schedule for `params` (validated: `InvalidArgument` otherwise) from `start`,
    /// drawing the first repeat delay from `rng` now.
    pub fn new(params: &RetransmitParams, rng: &mut impl FnMut() -> u64, start: Instant) -> Result<RetransmitSchedule> {
        params.validate()?;
        let delay = random_between(params.repeat_min_delay, params.repeat_max_delay, rng);
        Ok(RetransmitSchedule {
            next: start.checked_add(params.send_delay),
            remaining: params.repeat,
            delay,
            upper: params.repeat_upper_delay,
        })
    }

    /// The time of the next transmission, or `None` when all have been handed out. Call it
    /// once per transmission.
    pub fn next_send(&mut self) -> Option<Instant> {
        if self.remaining == 0 {
            return None;
        }
        let now = self.next?;
        self.remaining -= 1;
        self.next = now.checked_add(self.delay);
        self.delay = self.delay.saturating_mul(2).min(self.upper);
        Some(now)
    }

    /// The number of transmissions still to come.
    pub fn remaining(&self) -> u32 {
        if self.next.is_some() { self.remaining } else { 0 }
    }
}

impl Iterator for RetransmitSchedule {
    type Item = Instant;

    fn next(&mut self) -> Option<Instant> {
        self.next_send()
    }
}

/// The delay before answering a multicast Probe or Resolve: uniformly random in
/// `[0, app_max_delay]` (millisecond granularity), with `app_max_delay` capped at
/// [`WSDAPI_REPLY_DELAY_CAP`] (2500 ms) as WSDAPI does for the Windows firewall.
pub fn reply_delay(app_max_delay: Duration, rng: &mut impl FnMut() -> u64) -> Duration {
    random_between(Duration::ZERO, app_max_delay.min(WSDAPI_REPLY_DELAY_CAP), rng)
}

#[cfg(test)]
mod tests;
