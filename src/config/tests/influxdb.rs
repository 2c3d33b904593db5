//! The `influxdb` section: defaults, what each write API requires, URL checks, the warning in a
//! build without the feature.

use super::*;

#[cfg(feature = "influxdb")]
#[test]
fn defaults_are_a_disabled_v1_writer_to_a_local_server() {
    let db = Config::default().influxdb;
    assert!(!db.enabled);
    assert_eq!(db.url, "http://127.0.0.1:8086");
    assert_eq!(db.api, InfluxApi::V1);
    assert_eq!(db.database, "acs");
    assert_eq!(
        (db.batch_size, db.reconnect_max),
        (500, Duration::from_secs(60))
    );
    assert_eq!((db.org, db.bucket, db.token), (None, None, None));
}

#[cfg(feature = "influxdb")]
#[test]
fn v2_needs_org_and_bucket_v1_a_database_only_while_enabled() {
    let text = "config influxdb 'influxdb'\n\toption enabled '1'\n\toption api 'v2'\n\
                \toption org 'home'\n";
    let e = error(text);
    assert_eq!(
        e.to_string(),
        "line 2: option 'bucket' in section 'influxdb': is required with api 'v2'"
    );
    let db = config(&format!(
        "{text}\toption bucket 'b'\n\toption token 't0k'\n"
    ))
    .influxdb;
    assert_eq!(
        (db.org.as_deref(), db.bucket.as_deref()),
        (Some("home"), Some("b"))
    );
    assert_eq!(format!("{:?}", db.token), "Some(\"***\")");
    let e = error("config influxdb 'influxdb'\n\toption enabled '1'\n\toption database ''\n");
    assert!(
        matches!(
            e,
            ConfigError::Invalid {
                option: "database",
                line: Some(3),
                ..
            }
        ),
        "{e}"
    );
    config("config influxdb 'influxdb'\n\toption api 'v2'\n");
}

#[cfg(feature = "influxdb")]
#[test]
fn url_must_be_http_or_https_with_a_host() {
    for bad in [
        "mqtt://h:1883",
        "http://",
        "https://:8086",
        "127.0.0.1:8086",
        "",
    ] {
        let e = error(&format!(
            "config influxdb 'influxdb'\n\toption enabled '1'\n\toption url '{bad}'\n"
        ));
        assert!(
            matches!(e, ConfigError::Invalid { option: "url", .. }),
            "{bad}: {e}"
        );
    }
    let db = config("config influxdb 'influxdb'\n\toption url 'not checked while off'\n");
    assert_eq!(db.influxdb.url, "not checked while off");
    let db = config(
        "config influxdb 'influxdb'\n\toption enabled '1'\n\toption url 'https://influx.example:443'\n",
    );
    assert_eq!(db.influxdb.url, "https://influx.example:443");
}

#[test]
fn enabled_section_warns_only_in_a_build_without_the_feature() {
    let loaded = parse("config influxdb 'influxdb'\n\toption enabled '1'\n").unwrap();
    let warned = loaded
        .warnings
        .iter()
        .any(|w| w.starts_with("influxdb.enabled is on"));
    assert_eq!(warned, !cfg!(feature = "influxdb"), "{:?}", loaded.warnings);
}
