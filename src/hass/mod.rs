//! Home Assistant MQTT discovery (`hass` feature, `config hass`): every series the gateway
//! knows (device and metric, from any transport) appears in Home Assistant as a sensor of its
//! device, reached through the gateway, with the class and unit of the metric registry
//! ([`registry`]), and each committed reading's value on its state topic.
//!
//! Invariants:
//! - Never slows ingest: the publisher reads committed batches off the live bus through its own
//!   bounded queue ([`BUS_QUEUE`] batches, a batch that does not fit is counted in
//!   `hass.batches_dropped`) and offers every publish to its MQTT client without waiting.
//! - Bounded: at most one config per series per connection (and once more after each of Home
//!   Assistant's birth messages); at most [`publisher::MAX_SERIES`] series.
//! - No loop: the runtime refuses a `base_topic` or `discovery_prefix` whose topics an ingest
//!   subscription matches ([`check_loop`]), so published readings never come back as readings.
//! - Availability: the gateway's status topic is retained `online` while connected, `offline`
//!   on a clean stop, and the broker's last will sets `offline` when the daemon dies.
//!
//! The counters ([`stats`]) exist in every build (the health report has them, all 0 without
//! the feature); the other modules are gated where they are declared.

#[cfg(feature = "hass")]
mod discovery;
#[cfg(feature = "hass")]
mod link;
#[cfg(feature = "hass")]
mod publisher;
#[cfg(feature = "hass")]
pub mod registry;
mod stats;

#[cfg(feature = "hass")]
pub use discovery::object_id;
pub use stats::{HassCounters, HassSnapshot};
#[cfg(feature = "hass")]
pub use with_hass::*;

#[cfg(feature = "hass")]
mod with_hass {
    use super::discovery::Topics;
    use super::link::Link;
    use super::publisher::Publisher;
    use super::HassCounters;
    use crate::bus::{Bus, Interest};
    use crate::ingest::mqtt::MqttSettings;
    use crate::store::SharedStore;
    use std::sync::atomic::Ordering::Relaxed;
    use std::sync::Arc;
    use std::thread::JoinHandle;
    use std::time::Duration;

    /// Committed batches the publisher may lag behind before it loses one.
    pub const BUS_QUEUE: usize = 16;
    /// How long a stop waits for the last status and the disconnect to go out.
    const STOP_GRACE: Duration = Duration::from_secs(1);

    #[derive(Debug, Clone, PartialEq)]
    pub struct HassSettings {
        /// The broker, credentials and client id of MQTT ingest (this client adds `-hass`).
        pub mqtt: MqttSettings,
        pub discovery_prefix: String,
        pub base_topic: String,
        pub gateway_id: String,
    }

    /// The running publisher thread.
    pub struct Hass {
        stop: async_channel::Sender<()>,
        thread: Option<JoinHandle<Link>>,
    }

    impl Hass {
        pub fn start(
            settings: &HassSettings,
            bus: &Arc<Bus>,
            store: SharedStore,
            counters: Arc<HassCounters>,
        ) -> std::io::Result<Hass> {
            let topics = Topics::new(
                &settings.discovery_prefix,
                &settings.base_topic,
                &settings.gateway_id,
            );
            let link = Link::spawn(settings, &topics)?;
            let subscription = bus.subscribe(Interest::TELEMETRY, BUS_QUEUE);
            let (stop, stopped) = async_channel::bounded(1);
            counters.enabled.store(true, Relaxed);
            let publisher = Publisher::new(topics, link, store, counters, stopped);
            let thread = std::thread::Builder::new()
                .name("hass".into())
                .stack_size(256 * 1024)
                .spawn(move || publisher.run(&subscription))?;
            Ok(Hass {
                stop,
                thread: Some(thread),
            })
        }

        /// Stops the publisher, sets the status `offline` and disconnects (call after the
        /// writer has finished, so the last batch's states go out first).
        pub fn stop(mut self) {
            self.stop.close();
            if let Some(thread) = self.thread.take() {
                if let Ok(mut link) = thread.join() {
                    link.stop(STOP_GRACE);
                }
            }
        }
    }

    /// Refuses topics an ingest subscription (`filters`) matches: the state topics
    /// `<base_topic>/<gateway_id>/<device>/<metric>` (any device and metric), the status topic,
    /// and the discovery configs. The error names the option, the topic and the filter.
    pub fn check_loop(
        base_topic: &str,
        discovery_prefix: &str,
        gateway_id: &str,
        filters: &[String],
    ) -> Result<(), (&'static str, String)> {
        let any = |level: &str| level == "+";
        let ours = [
            ("base_topic", format!("{base_topic}/{gateway_id}/+/+")),
            ("base_topic", format!("{base_topic}/{gateway_id}/status")),
            (
                "discovery_prefix",
                format!("{discovery_prefix}/sensor/+/config"),
            ),
            (
                "discovery_prefix",
                format!("{discovery_prefix}/binary_sensor/+/config"),
            ),
        ];
        for (option, topic) in ours {
            let shown = topic
                .replace("/+/+", "/<device>/<metric>")
                .replace("/+/", "/<id>/");
            if let Some(filter) = filters
                .iter()
                .find(|f| crate::ingest::topic::matches_with(f, &topic, any))
            {
                return Err((
                    option,
                    format!(
                        "the topic {shown} is matched by the ingest subscription {filter:?}: \
                         what Home Assistant discovery publishes would come back as readings"
                    ),
                ));
            }
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::check_loop;

        fn filters(list: &[&str]) -> Vec<String> {
            list.iter().map(|f| f.to_string()).collect()
        }

        #[test]
        fn topics_an_ingest_filter_matches_are_refused_naming_it() {
            let ingest = filters(&["acs/+/telemetry", "acs/+/frame", "acs/+/status"]);
            let (option, why) = check_loop("acs", "homeassistant", "gw", &ingest).unwrap_err();
            assert_eq!(option, "base_topic");
            assert!(why.contains("\"acs/+/status\""), "{why}");
            let z2m = filters(&["zigbee2mqtt/#"]);
            let (option, why) = check_loop("zigbee2mqtt", "ha", "gw", &z2m).unwrap_err();
            assert_eq!(option, "base_topic");
            assert!(why.contains("zigbee2mqtt/gw/<device>/<metric>"), "{why}");
            let all = filters(&["#"]);
            assert_eq!(
                check_loop("x", "ha", "gw", &all).unwrap_err().0,
                "base_topic"
            );
            let ha = filters(&["homeassistant/#"]);
            assert_eq!(
                check_loop("acs-edge", "homeassistant", "gw", &ha)
                    .unwrap_err()
                    .0,
                "discovery_prefix"
            );
        }

        #[test]
        fn topics_beside_the_ingest_filters_pass() {
            let ingest = filters(&[
                "acs/+/telemetry",
                "acs/+/frame",
                "acs/+/status",
                "zigbee2mqtt/#",
                "tele/+/SENSOR",
                "+/events/rpc",
                "+/sensor/+/state",
                "+/status",
            ]);
            assert_eq!(
                check_loop("acs-edge", "homeassistant", "gw", &ingest),
                Ok(())
            );
            assert_eq!(
                check_loop("acs/edge", "homeassistant", "gw", &ingest),
                Ok(())
            );
        }
    }
}
