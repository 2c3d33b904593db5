//! The metric registry: what Home Assistant should know about a metric the decoders name,
//! its device class, unit and state class. A static table, looked up by the whole metric name
//! first and then by its last part, so the names sources build (`am2301_temperature` from
//! Tasmota, `switch:0.apower` from Shelly, `temperature_1` from Cayenne LPP) find their entry.
//!
//! Units are the ones the decoders store (acs-proto's metric table, Shelly's and zigbee2mqtt's
//! documented fields) in Home Assistant's spelling (its `homeassistant/const.py`, the Greek mu
//! in μg/m³); each device class is one HA's sensor documentation lists with that unit. A metric
//! not in the table gets no device class, no unit and `state_class: measurement`.

/// What a config announces about one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricClass {
    pub device_class: Option<&'static str>,
    pub unit: Option<&'static str>,
    /// `measurement`, or `total_increasing` for meters that only count up.
    pub state_class: &'static str,
}

const MEASUREMENT: &str = "measurement";
const TOTAL_INCREASING: &str = "total_increasing";

const fn class(device_class: &'static str, unit: &'static str) -> MetricClass {
    MetricClass {
        device_class: Some(device_class),
        unit: Some(unit),
        state_class: MEASUREMENT,
    }
}

const fn unit_only(unit: &'static str) -> MetricClass {
    MetricClass {
        device_class: None,
        unit: Some(unit),
        state_class: MEASUREMENT,
    }
}

/// What an unknown metric gets.
pub const UNKNOWN: MetricClass = MetricClass {
    device_class: None,
    unit: None,
    state_class: MEASUREMENT,
};

const ENERGY_WH: MetricClass = MetricClass {
    device_class: Some("energy"),
    unit: Some("Wh"),
    state_class: TOTAL_INCREASING,
};

/// Metric names (lowercase) and what they are. An exact name wins over a suffix.
const TABLE: &[(&str, MetricClass)] = &[
    ("temperature", class("temperature", "°C")),
    ("temperature_c", class("temperature", "°C")),
    ("dew_point", class("temperature", "°C")),
    // Shelly `temperature:0.tC`.
    ("tc", class("temperature", "°C")),
    ("humidity", class("humidity", "%")),
    // Shelly `humidity:0.rh`.
    ("rh", class("humidity", "%")),
    ("pressure", class("pressure", "hPa")),
    ("barometer", class("pressure", "hPa")),
    ("battery", class("battery", "%")),
    ("battery.percent", class("battery", "%")),
    ("battery_mv", class("voltage", "mV")),
    ("battery.v", class("voltage", "V")),
    ("voltage", class("voltage", "V")),
    ("vcc", class("voltage", "V")),
    ("current", class("current", "A")),
    ("power", class("power", "W")),
    ("apower", class("power", "W")),
    ("energy", ENERGY_WH),
    // Shelly `switch:0.aenergy.total`, in Wh.
    ("aenergy.total", ENERGY_WH),
    ("illuminance", class("illuminance", "lx")),
    ("co2", class("carbon_dioxide", "ppm")),
    ("carbon_monoxide", class("carbon_monoxide", "ppm")),
    ("pm1", class("pm1", "μg/m³")),
    ("pm25", class("pm25", "μg/m³")),
    ("pm10", class("pm10", "μg/m³")),
    ("tvoc", class("volatile_organic_compounds_parts", "ppb")),
    ("tvoc_ugm3", class("volatile_organic_compounds", "μg/m³")),
    ("moisture", class("moisture", "%")),
    ("conductivity", class("conductivity", "μS/cm")),
    ("rssi", class("signal_strength", "dBm")),
    ("snr", class("signal_strength", "dB")),
    // Tasmota's `Wifi.RSSI` is a link quality in percent, not dBm.
    ("wifi_rssi", unit_only("%")),
    ("linkquality", unit_only("lqi")),
    ("distance", class("distance", "mm")),
    ("rain", class("precipitation", "mm")),
    ("wind_speed", class("wind_speed", "m/s")),
    ("wind_direction", unit_only("°")),
    ("sound_level", class("sound_pressure", "dB")),
    ("weight", class("weight", "kg")),
];

/// The class of `metric`: its entry, else the entry of its longest suffix that follows a
/// `.`, `:` or `_`, else (for `temperature_1`) the entry of the name without a trailing
/// `_<digits>` channel, else [`UNKNOWN`].
pub fn lookup(metric: &str) -> MetricClass {
    let name = metric.to_ascii_lowercase();
    if let Some(found) = entry(&name) {
        return found;
    }
    let suffix = TABLE
        .iter()
        .filter(|(key, _)| {
            name.len() > key.len()
                && name.ends_with(key)
                && name[..name.len() - key.len()].ends_with(['.', ':', '_'])
        })
        .max_by_key(|(key, _)| key.len());
    if let Some((_, found)) = suffix {
        return *found;
    }
    let without_channel = name
        .rsplit_once('_')
        .filter(|(_, channel)| !channel.is_empty() && channel.bytes().all(|b| b.is_ascii_digit()));
    match without_channel {
        Some((base, _)) => lookup(base),
        None => UNKNOWN,
    }
}

fn entry(name: &str) -> Option<MetricClass> {
    TABLE.iter().find(|(key, _)| *key == name).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_decoders_produce_find_their_class() {
        for (metric, device_class, unit) in [
            ("temperature", Some("temperature"), Some("°C")),
            ("humidity", Some("humidity"), Some("%")),
            ("pressure", Some("pressure"), Some("hPa")),
            ("battery", Some("battery"), Some("%")),
            ("rssi", Some("signal_strength"), Some("dBm")),
            ("co2", Some("carbon_dioxide"), Some("ppm")),
            ("pm25", Some("pm25"), Some("μg/m³")),
            // Tasmota: sensor and field joined by `_`.
            ("am2301_temperature", Some("temperature"), Some("°C")),
            ("bme280_pressure", Some("pressure"), Some("hPa")),
            ("wifi_rssi", None, Some("%")),
            // Shelly: component, then field path.
            ("switch:0.apower", Some("power"), Some("W")),
            ("switch:0.voltage", Some("voltage"), Some("V")),
            ("temperature:0.tC", Some("temperature"), Some("°C")),
            ("humidity:0.rh", Some("humidity"), Some("%")),
            ("devicepower:0.battery.percent", Some("battery"), Some("%")),
            ("devicepower:0.battery.V", Some("voltage"), Some("V")),
            // Cayenne LPP: type and channel.
            ("temperature_1", Some("temperature"), Some("°C")),
            ("barometer_2", Some("pressure"), Some("hPa")),
            ("battery_mv", Some("voltage"), Some("mV")),
        ] {
            let found = lookup(metric);
            assert_eq!(
                (found.device_class, found.unit),
                (device_class, unit),
                "{metric}"
            );
            assert_eq!(found.state_class, "measurement", "{metric}");
        }
    }

    #[test]
    fn meters_that_only_count_up_are_total_increasing() {
        for metric in ["energy", "switch:0.aenergy.total", "energy_3"] {
            let found = lookup(metric);
            assert_eq!(found.device_class, Some("energy"), "{metric}");
            assert_eq!(found.unit, Some("Wh"), "{metric}");
            assert_eq!(found.state_class, "total_increasing", "{metric}");
        }
    }

    #[test]
    fn unknown_metrics_get_no_class_and_are_measurements() {
        for metric in [
            "soil.ph",
            "battery_low",
            "power_on",
            "weight_lb",
            "switch:0.output",
            "linkquality_x",
            "temperatures",
            "metric_999",
            "_1",
        ] {
            assert_eq!(lookup(metric), UNKNOWN, "{metric}");
        }
    }

    #[test]
    fn every_entry_is_lowercase_and_measured_in_a_unit_or_class() {
        for (key, class) in TABLE {
            assert_eq!(*key, key.to_ascii_lowercase());
            assert!(
                class.unit.is_some() || class.device_class.is_some(),
                "{key}"
            );
        }
    }
}
