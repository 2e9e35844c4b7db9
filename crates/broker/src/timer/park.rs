//! The send-path rule for timer messages (Java 5's
//! `HookUtils.checkIfTimerMessage` and `transformTimerMessage`): a
//! non-transactional or committed message asking for a delivery time is
//! stored in `rmq_sys_wheel_timer` queue 0 with its real topic and queue
//! kept in properties, and the timer delivers it when due.
//!
//! - A positive `DELAY` level wins: the timer properties are removed.
//! - The time comes from `TIMER_DELAY_SEC` (seconds from now), else
//!   `TIMER_DELAY_MS` (ms from now), else `TIMER_DELIVER_MS` (absolute ms);
//!   rmq also reads 4.x's `__STARTDELIVERTIME` (absolute ms) last, which
//!   the open-source Java broker ignores.
//! - A time that is not a number, or further than `timerMaxDelaySec`
//!   away, is refused with MESSAGE_ILLEGAL; a time not in the future is
//!   stored at once as an ordinary message.
//! - `TIMER_OUT_MS` is the time rounded down to `timerPrecisionMs`, one
//!   tick less when it already was a multiple (Java's arithmetic, kept
//!   so the property reads the same). The timer delivers at the *end* of
//!   that tick, which is never before the time asked for.

use rmq_model::Properties;
use rmq_model::properties::keys;
use rmq_model::topic::TIMER_TOPIC;
use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_store::StoreConfig;

use crate::delay::Parked;

/// What the send path needs of the timer configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerRules {
    /// `timerWheelEnable`.
    pub enabled: bool,
    /// `timerPrecisionMs`.
    pub precision_ms: i64,
    /// `timerMaxDelaySec`, in ms.
    pub max_delay_ms: i64,
}

impl TimerRules {
    pub(crate) fn of(c: &StoreConfig) -> TimerRules {
        TimerRules {
            enabled: c.timer_wheel_enable,
            precision_ms: c.timer_precision_ms.max(1) as i64,
            max_delay_ms: (c.timer_max_delay_sec as i64).saturating_mul(1000),
        }
    }
}

/// Why a timer message is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `timerWheelEnable=false` (Java's `WHEEL_TIMER_NOT_ENABLE`).
    NotEnabled,
    /// Not a number, too far away, or a deletion already due (Java's
    /// `WHEEL_TIMER_MSG_ILLEGAL`).
    Illegal,
}

impl Refusal {
    /// The response Java's `SendMessageProcessor` gives.
    pub(crate) fn reply(self, rules: &TimerRules) -> RemotingCommand {
        let (code, remark) = match self {
            Refusal::NotEnabled => (
                ResponseCode::SystemError,
                format!("accurate timer message is not enabled, timerWheelEnable is {}", rules.enabled),
            ),
            Refusal::Illegal => (
                ResponseCode::MessageIllegal,
                format!(
                    "timer message illegal, the delay time should not be bigger than the max delay {}ms; or if set del msg, the delay time should be bigger than the current time",
                    rules.max_delay_ms
                ),
            ),
        };
        RemotingCommand::response(code, Some(remark))
    }
}

/// Applies the timer rule to a message headed for `topic`/`queue_id` at
/// `now_ms`: `Ok(Some)` when it is to wait in the timer topic (its
/// properties rewritten), `Ok(None)` when it is stored as it is (or the
/// delay-level rule applies next).
pub(crate) fn park(
    props: &mut Properties,
    topic: &str,
    queue_id: i32,
    rules: &TimerRules,
    now_ms: i64,
) -> Result<Option<Parked>, Refusal> {
    if props.delay_level().is_some() {
        for key in [keys::TIMER_DELIVER_MS, keys::TIMER_DELAY_SEC, keys::TIMER_DELAY_MS] {
            props.remove(key);
        }
        return Ok(None);
    }
    // Already through the timer (a delivered copy stored again) or on its way.
    if topic == TIMER_TOPIC || props.contains(keys::TIMER_OUT_MS) {
        return Ok(None);
    }
    let asked = if let Some(v) = props.get(keys::TIMER_DELAY_SEC) {
        v.parse::<i64>().map(|s| now_ms.saturating_add(s.saturating_mul(1000)))
    } else if let Some(v) = props.get(keys::TIMER_DELAY_MS) {
        v.parse::<i64>().map(|ms| now_ms.saturating_add(ms))
    } else if let Some(v) = props.get(keys::TIMER_DELIVER_MS) {
        v.parse::<i64>()
    } else if let Some(v) = props.get(keys::START_DELIVER_TIME).filter(|_| rules.enabled) {
        v.parse::<i64>()
    } else {
        return Ok(None);
    };
    if !rules.enabled {
        return Err(Refusal::NotEnabled);
    }
    let deliver_ms = asked.map_err(|_| Refusal::Illegal)?;
    if deliver_ms <= now_ms {
        return if props.contains(keys::TIMER_DEL_UNIQKEY) { Err(Refusal::Illegal) } else { Ok(None) };
    }
    if deliver_ms - now_ms > rules.max_delay_ms {
        return Err(Refusal::Illegal);
    }
    let p = rules.precision_ms;
    let out_ms = if deliver_ms % p == 0 { deliver_ms - p } else { deliver_ms / p * p };
    props.insert(keys::TIMER_OUT_MS, out_ms.to_string());
    props.insert(keys::REAL_TOPIC, topic);
    props.insert(keys::REAL_QUEUE_ID, queue_id.to_string());
    Ok(Some(Parked { topic: TIMER_TOPIC.to_owned(), queue_id: 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: TimerRules = TimerRules { enabled: true, precision_ms: 1000, max_delay_ms: 259_200_000 };
    const NOW: i64 = 1_700_000_000_300;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        let mut p = Properties::new();
        for (k, v) in pairs {
            p.insert(*k, *v);
        }
        p
    }

    fn parked(pairs: &[(&str, &str)]) -> (Result<Option<Parked>, Refusal>, Properties) {
        let mut p = props(pairs);
        let r = park(&mut p, "TopicA", 3, &RULES, NOW);
        (r, p)
    }

    #[test]
    fn each_property_sets_the_time_rounded_down_to_the_tick() {
        for (key, value, out) in [
            (keys::TIMER_DELAY_SEC, "10", "1700000010000"),
            (keys::TIMER_DELAY_MS, "1500", "1700000001000"),
            (keys::TIMER_DELIVER_MS, "1700000005700", "1700000005000"),
            // A multiple of the tick goes one tick down, as in Java.
            (keys::TIMER_DELIVER_MS, "1700000005000", "1700000004000"),
            (keys::START_DELIVER_TIME, "1700000009999", "1700000009000"),
        ] {
            let (r, p) = parked(&[(key, value)]);
            assert_eq!(r, Ok(Some(Parked { topic: TIMER_TOPIC.into(), queue_id: 0 })), "{key}");
            assert_eq!(p.get(keys::TIMER_OUT_MS), Some(out), "{key}={value}");
            assert_eq!(p.get(keys::REAL_TOPIC), Some("TopicA"));
            assert_eq!(p.get(keys::REAL_QUEUE_ID), Some("3"));
        }
    }

    #[test]
    fn delay_sec_comes_first_then_delay_ms_then_deliver_ms() {
        let (_, p) =
            parked(&[(keys::TIMER_DELIVER_MS, "1"), (keys::TIMER_DELAY_MS, "2000"), (keys::TIMER_DELAY_SEC, "5")]);
        assert_eq!(p.get(keys::TIMER_OUT_MS), Some("1700000005000"));
        let (_, p) = parked(&[(keys::TIMER_DELIVER_MS, "1"), (keys::TIMER_DELAY_MS, "2000")]);
        assert_eq!(p.get(keys::TIMER_OUT_MS), Some("1700000002000"));
    }

    #[test]
    fn past_now_and_absent_times_are_stored_at_once() {
        for pairs in [
            &[(keys::TIMER_DELIVER_MS, "1000")][..],
            &[(keys::TIMER_DELAY_SEC, "0")],
            &[(keys::TIMER_DELAY_MS, "-5")],
            &[(keys::TAGS, "A")],
        ] {
            let (r, p) = parked(pairs);
            assert_eq!(r, Ok(None), "{pairs:?}");
            assert!(!p.contains(keys::TIMER_OUT_MS) && !p.contains(keys::REAL_TOPIC));
        }
        let (r, _) = parked(&[(keys::TIMER_DELIVER_MS, "1000"), (keys::TIMER_DEL_UNIQKEY, "X")]);
        assert_eq!(r, Err(Refusal::Illegal), "a deletion must be in the future");
    }

    #[test]
    fn bad_numbers_and_too_long_delays_are_illegal() {
        assert_eq!(parked(&[(keys::TIMER_DELAY_SEC, "ten")]).0, Err(Refusal::Illegal));
        assert_eq!(parked(&[(keys::TIMER_DELIVER_MS, "1.5e12")]).0, Err(Refusal::Illegal));
        assert_eq!(parked(&[(keys::TIMER_DELAY_SEC, "259201")]).0, Err(Refusal::Illegal));
        assert_eq!(parked(&[(keys::TIMER_DELAY_SEC, "9223372036854775807")]).0, Err(Refusal::Illegal));
        assert!(matches!(parked(&[(keys::TIMER_DELAY_SEC, "259200")]).0, Ok(Some(_))));
        let reply = Refusal::Illegal.reply(&RULES);
        assert_eq!(reply.code, 13);
        assert!(reply.remark.unwrap().contains("max delay 259200000ms"));
    }

    #[test]
    fn a_delay_level_wins_and_drops_the_timer_properties() {
        let (r, p) =
            parked(&[(keys::DELAY_TIME_LEVEL, "2"), (keys::TIMER_DELAY_SEC, "10"), (keys::TIMER_DELIVER_MS, "x")]);
        assert_eq!(r, Ok(None));
        assert!(!p.contains(keys::TIMER_DELAY_SEC) && !p.contains(keys::TIMER_DELIVER_MS));
        assert_eq!(p.get(keys::DELAY_TIME_LEVEL), Some("2"));
    }

    #[test]
    fn delivered_copies_are_not_parked_again() {
        let (r, _) = parked(&[(keys::TIMER_DELAY_SEC, "10"), (keys::TIMER_OUT_MS, "1700000010000")]);
        assert_eq!(r, Ok(None));
    }

    #[test]
    fn a_disabled_wheel_refuses_timer_messages_but_not_start_deliver_time() {
        let off = TimerRules { enabled: false, ..RULES };
        let mut p = props(&[(keys::TIMER_DELAY_SEC, "10")]);
        assert_eq!(park(&mut p, "T", 0, &off, NOW), Err(Refusal::NotEnabled));
        let reply = Refusal::NotEnabled.reply(&off);
        assert_eq!(reply.code, 1);
        assert_eq!(reply.remark.as_deref(), Some("accurate timer message is not enabled, timerWheelEnable is false"));
        let mut p = props(&[(keys::START_DELIVER_TIME, "1700000009999")]);
        assert_eq!(park(&mut p, "T", 0, &off, NOW), Ok(None));
    }
}
