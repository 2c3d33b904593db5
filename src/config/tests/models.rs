use crate::config::{parse, ConfigError};

const SECTION: &str = "config model 'm'\n\toption path '/m.onnx'\n";

#[test]
fn metrics_is_a_uci_list_and_the_older_space_separated_option_still_reads() {
    for metrics in [
        "\tlist metrics 'temperature'\n\tlist metrics 'humidity'\n",
        "\toption metrics 'temperature humidity'\n",
    ] {
        let text = format!("{SECTION}{metrics}\toption output 'climate.anomaly'\n");
        let models = parse(&text).unwrap().config.models;
        assert_eq!(models.len(), 1);
        let m = &models[0];
        assert_eq!(m.metrics, ["temperature", "humidity"]);
        assert_eq!(
            (m.window, m.hop, m.threshold, m.device.as_deref()),
            (16, 1, None, None)
        );
        assert_eq!(m.output, "climate.anomaly");
    }
    let threshold =
        format!("{SECTION}\toption metrics 't'\n\toption output 'a'\n\toption threshold '2.5'\n");
    assert_eq!(
        parse(&threshold).unwrap().config.models[0].threshold,
        Some(2.5)
    );
}

#[test]
fn a_model_may_not_consume_any_models_output() {
    let own = format!("{SECTION}\toption metrics 't t.anomaly'\n\toption output 't.anomaly'\n");
    let err = parse(&own).unwrap_err();
    assert!(matches!(err, ConfigError::Instance { .. }), "{err}");
    assert!(
        err.to_string().contains("may not consume model outputs"),
        "{err}"
    );

    let cycle = format!(
        "{SECTION}\toption metrics 't'\n\toption output 'a'\n\n\
         config model 'n'\n\toption path '/n.onnx'\n\toption metrics 'a'\n\
         \toption output 'b'\n"
    );
    assert!(parse(&cycle).unwrap_err().to_string().contains("model 'n'"));
}

#[test]
fn bad_model_sections_are_refused_with_the_option_named() {
    let cases = [
        (
            "config model 'm'\n\toption metrics 't'\n\toption output 'a'\n",
            "'path' is required",
        ),
        (
            &format!("{SECTION}\toption output 'a'\n"),
            "'metrics' is required",
        ),
        (
            &format!("{SECTION}\toption metrics ''\n\toption output 'a'\n"),
            "'metrics' is required",
        ),
        (
            &format!("{SECTION}\toption metrics 't/x'\n\toption output 'a'\n"),
            "'t/x'",
        ),
        (
            &format!("{SECTION}\tlist metrics 't'\n\tlist metrics 'h x'\n\toption output 'a'\n"),
            "'h x'",
        ),
        (
            &format!("{SECTION}\tlist metrics ''\n\toption output 'a'\n"),
            "metric name ''",
        ),
        (
            &format!(
                "{SECTION}\toption metrics 't'\n\toption output 'a'\n\toption threshold 'high'\n"
            ),
            "decimal number",
        ),
        (
            &format!("{SECTION}\toption metrics 't'\n\toption output 'a'\n\toption window '0'\n"),
            "1..=4096",
        ),
    ];
    for (text, expected) in cases {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(expected), "{text}: {err}");
    }
}
