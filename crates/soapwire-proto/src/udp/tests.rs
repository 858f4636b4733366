//! Virtual-time tests of the retransmission schedule and the reply delay.

use proptest::prelude::*;

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn offsets(params: &RetransmitParams, rng: &mut impl FnMut() -> u64) -> Vec<Duration> {
    let start = Instant::now();
    RetransmitSchedule::new(params, rng, start).expect("valid").map(|t| t - start).collect()
}

#[test]
fn documented_example_waits_50_100_200_250_250() {
    let params = RetransmitParams::new(ms(0), 6, ms(50), ms(50), ms(250)).expect("valid");
    let times = offsets(&params, &mut || 12345);
    let waits: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(waits, [ms(50), ms(100), ms(200), ms(250), ms(250)]);
}

#[test]
fn exact_sequence_for_a_fixed_rng_with_send_delay() {
    // T = 50 + (7 % 201) = 57 ms; send delay 20 ms; upper 450.
    let params = RetransmitParams::new(ms(20), 5, ms(50), ms(250), ms(450)).expect("valid");
    assert_eq!(offsets(&params, &mut || 7), [ms(20), ms(77), ms(191), ms(419), ms(869)]);
}

#[test]
fn single_transmission_and_remaining_count() {
    let params = RetransmitParams::new(ms(0), 1, ms(0), ms(0), ms(0)).expect("valid");
    let start = Instant::now();
    let mut s = RetransmitSchedule::new(&params, &mut || 0, start).expect("valid");
    assert_eq!(s.remaining(), 1);
    assert_eq!(s.next_send(), Some(start));
    assert_eq!(s.remaining(), 0);
    assert_eq!(s.next_send(), None);
    assert_eq!(s.next_send(), None);
}

#[test]
fn all_zero_delays_send_everything_at_once() {
    let params = RetransmitParams::new(ms(0), 256, ms(0), ms(0), ms(0)).expect("valid");
    let times = offsets(&params, &mut || u64::MAX);
    assert_eq!(times.len(), 256);
    assert!(times.iter().all(|t| *t == Duration::ZERO));
}

#[test]
fn validation_rejects_bad_parameters_with_invalid_argument() {
    let bad = [
        RetransmitParams { repeat: 0, ..RetransmitParams::multicast() },
        RetransmitParams { repeat: 257, ..RetransmitParams::multicast() },
        RetransmitParams { repeat_min_delay: ms(300), ..RetransmitParams::multicast() },
        RetransmitParams { repeat_max_delay: ms(500), ..RetransmitParams::multicast() },
        RetransmitParams { send_delay: ms(u64::from(u32::MAX)), ..RetransmitParams::multicast() },
        RetransmitParams { repeat_upper_delay: Duration::from_secs(u64::MAX), ..RetransmitParams::multicast() },
    ];
    for p in bad {
        assert_eq!(p.validate().expect_err("invalid").kind(), ErrorKind::InvalidArgument, "{p:?}");
        assert_eq!(
            RetransmitSchedule::new(&p, &mut || 0, Instant::now()).expect_err("invalid").kind(),
            ErrorKind::InvalidArgument
        );
    }
}

#[test]
fn presets_are_valid_and_follow_the_spec_table() {
    for p in [
        RetransmitParams::multicast(),
        RetransmitParams::unicast(),
        RetransmitParams::soap_over_udp_2004_multicast(),
        RetransmitParams::soap_over_udp_2004_unicast(),
        RetransmitParams::default(),
    ] {
        p.validate().expect("preset valid");
        assert_eq!((p.repeat_min_delay, p.repeat_max_delay), (ms(50), ms(250)));
    }
    assert_eq!(RetransmitParams::multicast().repeat_upper_delay, ms(450));
    assert_eq!(RetransmitParams::soap_over_udp_2004_multicast().repeat, 5);
    assert_eq!(RetransmitParams::soap_over_udp_2004_unicast().repeat, 3);
}

#[test]
fn reply_delay_is_capped_at_2500_ms() {
    assert_eq!(reply_delay(APP_MAX_DELAY_DPWS, &mut || 2500), ms(2500));
    assert_eq!(reply_delay(APP_MAX_DELAY_DPWS, &mut || 2501), ms(0));
    assert_eq!(reply_delay(APP_MAX_DELAY_WS_DISCOVERY_2005, &mut || 501), ms(0));
    assert_eq!(reply_delay(APP_MAX_DELAY_WS_DISCOVERY_2005, &mut || 500), ms(500));
    assert_eq!(reply_delay(Duration::ZERO, &mut || 99), ms(0));
}

/// A small deterministic generator for the property tests (splitmix64).
fn splitmix(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

proptest! {
    #[test]
    fn random_schedules_stay_within_bounds(
        seed in any::<u64>(),
        send in 0u64..1000,
        repeat in 1u32..=256,
        min in 0u64..500,
        extra_max in 0u64..500,
        extra_upper in 0u64..2000,
    ) {
        let max = min + extra_max;
        let upper = max + extra_upper;
        let params = RetransmitParams::new(ms(send), repeat, ms(min), ms(max), ms(upper)).expect("valid");
        let times = offsets(&params, &mut splitmix(seed));
        prop_assert_eq!(times.len(), repeat as usize);
        prop_assert_eq!(times[0], ms(send));
        let waits: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        if let Some(first) = waits.first() {
            prop_assert!(*first >= ms(min) && *first <= ms(max));
        }
        for w in waits.windows(2) {
            prop_assert!(w[1] == (w[0] * 2).min(ms(upper)));
        }
        prop_assert!(waits.iter().all(|w| *w <= ms(upper)));
    }

    #[test]
    fn reply_delays_stay_within_bounds(seed in any::<u64>(), max in 0u64..10_000) {
        let d = reply_delay(ms(max), &mut splitmix(seed));
        prop_assert!(d <= ms(max.min(2500)));
    }
}
