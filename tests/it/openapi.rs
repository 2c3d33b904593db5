//! Holds the daemon to `docs/openapi.yaml`: every response the real daemon gives (success,
//! handler errors and the connection guard's canned errors) must be documented for its path,
//! method and status, and its body must validate against the schema the spec gives there; and
//! every operation the spec lists must be served. So spec and code cannot drift apart in either
//! direction. Headers a documented response declares (`WWW-Authenticate`, `Retry-After`) must
//! be sent, and every operation the spec does not mark public must refuse a missing token.

use crate::common;

use common::{
    patience, wait_until, Broker, Daemon, DaemonConfig, Publisher, TEST_PASSWORD, TEST_USER,
};
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const SPEC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml");
const SCHEMA_REF: &str = "#/components/schemas/";
const RESPONSE_REF: &str = "#/components/responses/";
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

struct Spec {
    doc: Value,
    /// `components.schemas` with their `$ref`s pointing into `$defs`.
    defs: Value,
}

impl Spec {
    fn load() -> Spec {
        let text = std::fs::read_to_string(SPEC_PATH).expect("read docs/openapi.yaml");
        let doc: Value = serde_norway::from_str(&text).expect("docs/openapi.yaml is valid YAML");
        assert!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1")),
            "the spec must be OpenAPI 3.1"
        );
        let defs = rewrite_refs(doc["components"]["schemas"].clone());
        assert!(defs.is_object(), "components.schemas missing");
        Spec { doc, defs }
    }

    fn paths(&self) -> &Map<String, Value> {
        self.doc["paths"].as_object().expect("paths")
    }

    /// The response object documented for `template` + `method` + `status`, with a response
    /// `$ref` followed. Fails the test when it is not documented. A `405` belongs to the path
    /// (the daemon sends it for any method the path does not serve), so for a method the spec
    /// does not list it is looked up in the path's first operation that documents it.
    fn response(&self, template: &str, method: &str, status: u16) -> Value {
        let item = self.paths()[template]
            .as_object()
            .unwrap_or_else(|| panic!("path {template} is not in the spec"));
        let operation = match item.get(method) {
            Some(op) => op,
            None => {
                assert_eq!(
                    status, 405,
                    "{method} {template} answered {status}, but the spec has no such operation"
                );
                METHODS
                    .iter()
                    .filter_map(|m| item.get(*m))
                    .find(|op| op["responses"].get("405").is_some())
                    .unwrap_or_else(|| panic!("{template} documents no 405"))
            }
        };
        let response = operation["responses"]
            .get(status.to_string())
            .unwrap_or_else(|| panic!("status {status} is not documented for {method} {template}"));
        match response.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r
                    .strip_prefix(RESPONSE_REF)
                    .unwrap_or_else(|| panic!("unsupported response $ref {r}"));
                self.doc["components"]["responses"][name].clone()
            }
            None => response.clone(),
        }
    }

    /// A validator for `schema` (taken from the spec, refs not yet rewritten), with every
    /// component schema available under `$defs`.
    fn validator(&self, schema: &Value) -> jsonschema::Validator {
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$defs": self.defs,
            "allOf": [rewrite_refs(schema.clone())],
        });
        jsonschema::draft202012::new(&root)
            .unwrap_or_else(|e| panic!("schema does not compile: {e}\n{schema:#}"))
    }

    fn validate(&self, schema: &Value, body: &Value, what: &str) {
        let validator = self.validator(schema);
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("  at {:?}: {e}", e.instance_path().as_str()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: body does not match the spec:\n{}\nbody: {body:#}",
            errors.join("\n")
        );
    }

    /// Whether any spec path template matches the concrete `path`.
    fn matches_any_path(&self, path: &str) -> bool {
        self.paths().keys().any(|t| template_matches(t, path))
    }
}

/// Points `#/components/schemas/X` refs at `#/$defs/X`.
fn rewrite_refs(mut value: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    if k == "$ref" {
                        if let Some(name) = child.as_str().and_then(|r| r.strip_prefix(SCHEMA_REF))
                        {
                            *child = Value::String(format!("#/$defs/{name}"));
                        }
                    } else {
                        walk(child);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// One HTTP exchange as seen on the wire.
struct Answer {
    status: u16,
    content_type: Option<String>,
    /// Lower-case header names.
    headers: Vec<String>,
    body: Value,
}

/// Sends `method path` with ureq and the daemon's token; error statuses are answers too.
fn call(daemon: &Daemon, method: &str, path: &str) -> Answer {
    call_with(daemon, method, path, None, daemon.token.as_deref())
}

/// Sends `method path` with an optional JSON body and an optional bearer token.
fn call_with(
    daemon: &Daemon,
    method: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> Answer {
    let mut request = ureq::request(method, &daemon.url(path));
    if let Some(token) = token {
        request = request.set("Authorization", &format!("Bearer {token}"));
    }
    let result = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = response.status();
    let content_type = response.header("Content-Type").map(str::to_owned);
    let headers = response
        .headers_names()
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let text = response.into_string().expect("read body");
    let body = if method == "HEAD" || (status == 204 && text.is_empty()) {
        Value::Null
    } else if content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("text/plain"))
    {
        Value::String(text)
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: body is not JSON ({e}): {text:?}"))
    };
    Answer {
        status,
        content_type,
        headers,
        body,
    }
}

/// Sends raw bytes on a fresh connection and reads one response (for what ureq will not send).
fn raw(port: u16, request: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(patience())).unwrap();
    stream.write_all(request).expect("send request");
    read_answer(stream)
}

fn read_answer(stream: TcpStream) -> Answer {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let (mut content_type, mut length, mut headers) = (None, None, Vec::new());
    loop {
        line.clear();
        reader.read_line(&mut line).expect("header line");
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').expect("header");
        headers.push(name.to_ascii_lowercase());
        match name.to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(value.trim().to_owned()),
            "content-length" => length = value.trim().parse::<usize>().ok(),
            _ => {}
        }
    }
    let mut body = vec![0; length.expect("a Content-Length")];
    reader.read_exact(&mut body).expect("body");
    Answer {
        status,
        content_type,
        headers,
        body: serde_json::from_slice(&body).expect("body is JSON"),
    }
}

/// `answer` must be documented for `template` + `method` and match the schema there.
fn check(spec: &Spec, what: &str, template: &str, method: &str, answer: &Answer) {
    let response = spec.response(template, &method.to_ascii_lowercase(), answer.status);
    if response.get("content").is_none() {
        assert_eq!(
            answer.body,
            Value::Null,
            "{what}: the spec documents no body"
        );
        return;
    }
    if let Some(text) = response["content"].get("text/plain") {
        assert_eq!(
            answer.content_type.as_deref(),
            Some(METRICS_CONTENT_TYPE),
            "{what}: Content-Type"
        );
        spec.validate(&text["schema"], &answer.body, what);
        return;
    }
    let content = &response["content"]["application/json"];
    assert!(
        content.is_object(),
        "{what}: spec documents no application/json body for {}",
        answer.status
    );
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/json"),
        "{what}: Content-Type"
    );
    spec.validate(&content["schema"], &answer.body, what);
    if let Some(headers) = response["headers"].as_object() {
        for name in headers.keys() {
            assert!(
                answer.headers.contains(&name.to_ascii_lowercase()),
                "{what}: the spec documents header {name} for {}, the daemon did not send it",
                answer.status
            );
        }
    }
}

/// A request the daemon must answer with `status`, checked against the spec.
struct Case {
    method: &'static str,
    path: String,
    status: u16,
    /// The spec path it belongs to; `None` for paths the spec must not have.
    template: Option<&'static str>,
    body: Option<Value>,
    /// Send the daemon's token.
    authed: bool,
}

fn case(method: &'static str, path: &str, status: u16, template: Option<&'static str>) -> Case {
    Case {
        method,
        path: path.to_owned(),
        status,
        template,
        body: None,
        authed: true,
    }
}

fn with_body(
    method: &'static str,
    path: &str,
    body: Value,
    status: u16,
    t: Option<&'static str>,
) -> Case {
    Case {
        body: Some(body),
        ..case(method, path, status, t)
    }
}

fn anonymous(method: &'static str, path: &str, status: u16, t: Option<&'static str>) -> Case {
    Case {
        authed: false,
        ..case(method, path, status, t)
    }
}

const LOGIN: Option<&str> = Some("/api/v1/auth/login");
const RULES: Option<&str> = Some("/api/v1/automation/rules");
const RULE: Option<&str> = Some("/api/v1/automation/rules/{id}");
const WS: Option<&str> = Some("/api/v1/ws");

/// A rule that [`with_body`] bodies start from.
fn good_rule() -> Value {
    json!({"name": "hot", "enabled": true, "cooldown_s": 60,
           "trigger": {"kind": "threshold", "device": "dev-a", "metric": "temperature",
                       "op": ">=", "value": 30, "hysteresis": 0.5, "for_s": 5},
           "action": {"kind": "mqtt_publish", "topic": "alerts/{device}",
                      "payload": "{\"v\": {value}}", "qos": 1, "retain": false}})
}

fn rule_cases() -> Vec<Case> {
    let offline = json!({"name": "gone", "trigger": {"kind": "offline", "device": "dev-b",
        "after_s": 60}, "action": {"kind": "mqtt_publish", "topic": "alerts/gone"}});
    let mut unknown = good_rule();
    unknown["trigger"]["unit"] = json!("C");
    let mut wildcard = good_rule();
    wildcard["action"]["topic"] = json!("alerts/#");
    let mut eq_hysteresis = good_rule();
    eq_hysteresis["trigger"]["op"] = json!("==");
    let rules = "/api/v1/automation/rules";
    vec![
        case("GET", rules, 200, RULES),
        anonymous("GET", rules, 401, RULES),
        with_body("POST", rules, good_rule(), 201, RULES),
        with_body("POST", rules, offline, 201, RULES),
        case("GET", rules, 200, RULES),
        case("GET", "/api/v1/automation/rules?limit=1", 400, RULES),
        with_body("POST", rules, unknown, 400, RULES),
        with_body("POST", rules, json!([1]), 400, RULES),
        with_body("POST", rules, wildcard.clone(), 422, RULES),
        with_body("POST", rules, eq_hysteresis, 422, RULES),
        case("DELETE", rules, 405, RULES),
        case("GET", "/api/v1/automation/rules/1", 200, RULE),
        anonymous("GET", "/api/v1/automation/rules/1", 401, RULE),
        case("GET", "/api/v1/automation/rules/2/", 200, RULE),
        case("GET", "/api/v1/automation/rules/999", 404, RULE),
        case("GET", "/api/v1/automation/rules/abc", 404, RULE),
        case("GET", "/api/v1/automation/rules/1?x=1", 400, RULE),
        with_body("PUT", "/api/v1/automation/rules/1", good_rule(), 200, RULE),
        with_body("PUT", "/api/v1/automation/rules/1", wildcard, 422, RULE),
        with_body(
            "PUT",
            "/api/v1/automation/rules/999",
            good_rule(),
            404,
            RULE,
        ),
        with_body("POST", "/api/v1/automation/rules/1", good_rule(), 405, RULE),
        case("DELETE", "/api/v1/automation/rules/2", 204, RULE),
        case("DELETE", "/api/v1/automation/rules/2", 404, RULE),
        // Without the upgrade headers the WebSocket path is an HTTP error.
        case("GET", "/api/v1/ws", 400, WS),
        anonymous("GET", "/api/v1/ws", 401, WS),
        case("GET", "/api/v1/ws?verbose=1", 400, WS),
        case("POST", "/api/v1/ws", 405, WS),
    ]
}

const HEALTH: Option<&str> = Some("/api/v1/health");
const METRICS: Option<&str> = Some("/metrics");
/// The one body that is not JSON: Prometheus' text exposition format.
const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
const DEVICES: Option<&str> = Some("/api/v1/devices");
const DEVICE: Option<&str> = Some("/api/v1/devices/{id}");
const TELEMETRY: Option<&str> = Some("/api/v1/telemetry");

/// A daemon with two devices: `dev-a` (three readings of two metrics, online) and `dev-b`
/// (one reading, offline).
fn daemon_with_data(broker: &Broker) -> Daemon {
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let publisher = Publisher::connect(broker.port);
    publisher.publish(
        "acs/dev-a/telemetry",
        r#"[{"ts": 1767225600000, "temperature": 21.5, "humidity": 40},
            {"ts": "2026-01-01T00:01:00Z", "temperature": 21.75}]"#,
    );
    publisher.publish("acs/dev-a/status", "online");
    publisher.publish(
        "acs/dev-b/telemetry",
        r#"{"ts": 1767225700000, "co2": 415}"#,
    );
    publisher.publish("acs/dev-b/status", "offline");
    publisher.wait_acked(4);
    wait_until("the readings to be committed", patience(), || {
        let (_, body) = daemon.get("/api/v1/telemetry");
        let online = daemon.get("/api/v1/devices/dev-a").1["online"] == json!(true);
        (body["items"].as_array().map_or(0, Vec::len) == 4 && online).then_some(())
    });
    daemon
}

#[test]
fn every_response_the_daemon_gives_is_documented_and_matches_its_schema() {
    let spec = Spec::load();
    let broker = Broker::start();
    let mut daemon = daemon_with_data(&broker);

    // A cursor the daemon made, to follow a page.
    let (_, first) = daemon.get("/api/v1/telemetry?device=dev-a&limit=2");
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next_cursor after 2 of 3 readings")
        .to_owned();

    let cases = vec![
        case("GET", "/api/v1/health", 200, HEALTH),
        case("GET", "/api/v1/health/", 200, HEALTH),
        case("GET", "/api/v1/health?verbose=1", 400, HEALTH),
        case("POST", "/api/v1/health", 405, HEALTH),
        case("GET", "/metrics", 200, METRICS),
        case("GET", "/metrics?name=x", 400, METRICS),
        case("POST", "/metrics", 405, METRICS),
        anonymous("GET", "/metrics", 401, METRICS),
        case("GET", "/api/v1/devices", 200, DEVICES),
        case("GET", "/api/v1/devices?limit=1", 200, DEVICES),
        case("GET", "/api/v1/devices?limit=1&cursor=dev-a", 200, DEVICES),
        case("GET", "/api/v1/devices?limit=10000", 200, DEVICES),
        case("GET", "/api/v1/devices?limit=0", 400, DEVICES),
        case("GET", "/api/v1/devices?limit=10001", 400, DEVICES),
        case("GET", "/api/v1/devices?limit=1&limit=2", 400, DEVICES),
        case("GET", "/api/v1/devices?sort=id", 400, DEVICES),
        case("POST", "/api/v1/devices", 405, DEVICES),
        case("GET", "/api/v1/devices/dev-a", 200, DEVICE),
        case("GET", "/api/v1/devices/dev-b", 200, DEVICE),
        case("GET", "/api/v1/devices/dev-a?x=1", 400, DEVICE),
        case("GET", "/api/v1/devices/no-such-device", 404, DEVICE),
        case("POST", "/api/v1/devices/dev-a", 405, DEVICE),
        case("DELETE", "/api/v1/devices/dev-a", 405, DEVICE),
        with_body(
            "PATCH",
            "/api/v1/devices/dev-b",
            json!({"name": "CO2 sensor", "metadata": {"location": "hall", "tags": ["air"]}}),
            200,
            DEVICE,
        ),
        with_body(
            "PATCH",
            "/api/v1/devices/dev-b",
            json!({"name": null}),
            200,
            DEVICE,
        ),
        with_body("PATCH", "/api/v1/devices/dev-b", json!({}), 200, DEVICE),
        with_body(
            "PATCH",
            "/api/v1/devices/dev-b",
            json!({"colour": "red"}),
            400,
            DEVICE,
        ),
        with_body(
            "PATCH",
            "/api/v1/devices/dev-b",
            json!({"enabled": "no"}),
            400,
            DEVICE,
        ),
        with_body("PATCH", "/api/v1/devices/dev-b", json!([]), 400, DEVICE),
        with_body(
            "PATCH",
            "/api/v1/devices/dev-b",
            json!({"name": ""}),
            422,
            DEVICE,
        ),
        with_body(
            "PATCH",
            "/api/v1/devices/dev-b",
            json!({"metadata": {"tags": ["a", "a"]}}),
            422,
            DEVICE,
        ),
        with_body("PATCH", "/api/v1/devices/nobody", json!({}), 404, DEVICE),
        with_body("PATCH", "/api/v1/devices/dev-b?x=1", json!({}), 400, DEVICE),
        anonymous("PATCH", "/api/v1/devices/dev-b", 401, DEVICE),
        anonymous("GET", "/api/v1/devices", 401, DEVICES),
        anonymous("GET", "/api/v1/devices/dev-a", 401, DEVICE),
        anonymous("GET", "/api/v1/telemetry", 401, TELEMETRY),
        anonymous("GET", "/api/v1/health", 200, HEALTH),
        with_body(
            "POST",
            "/api/v1/auth/login",
            json!({"username": TEST_USER, "password": TEST_PASSWORD}),
            200,
            LOGIN,
        ),
        with_body(
            "POST",
            "/api/v1/auth/login",
            json!({"username": TEST_USER}),
            400,
            LOGIN,
        ),
        with_body(
            "POST",
            "/api/v1/auth/login",
            json!({"username": "", "password": "x"}),
            422,
            LOGIN,
        ),
        with_body("POST", "/api/v1/auth/login?x=1", json!({}), 400, LOGIN),
        case("GET", "/api/v1/auth/login", 405, LOGIN),
        with_body(
            "POST",
            "/api/v1/auth/login",
            json!({"username": TEST_USER, "password": "wrong password"}),
            401,
            LOGIN,
        ),
        case("GET", "/api/v1/telemetry", 200, TELEMETRY),
        case(
            "GET",
            "/api/v1/telemetry?device=dev-a&metric=temperature&from=1767225600000\
             &to=2026-01-01T00%3A02%3A00Z&limit=1",
            200,
            TELEMETRY,
        ),
        case(
            "GET",
            "/api/v1/telemetry?device=dev-a&limit=2",
            200,
            TELEMETRY,
        ),
        case(
            "GET",
            &format!("/api/v1/telemetry?device=dev-a&limit=2&cursor={cursor}"),
            200,
            TELEMETRY,
        ),
        case(
            "GET",
            "/api/v1/telemetry?device=dev-a&metric=temperature&step=3600&agg=mean&limit=1",
            200,
            TELEMETRY,
        ),
        case(
            "GET",
            "/api/v1/telemetry?device=dev-a&step=60",
            400,
            TELEMETRY,
        ),
        case("GET", "/api/v1/telemetry?device=nobody", 200, TELEMETRY),
        case("GET", "/api/v1/telemetry?metric=nothing", 200, TELEMETRY),
        case("GET", "/api/v1/telemetry?from=yesterday", 400, TELEMETRY),
        case("GET", "/api/v1/telemetry?to=2026-01-01", 400, TELEMETRY),
        case("GET", "/api/v1/telemetry?cursor=page2", 400, TELEMETRY),
        case("GET", "/api/v1/telemetry?limit=lots", 400, TELEMETRY),
        case("GET", "/api/v1/telemetry?device=a&device=b", 400, TELEMETRY),
        case("GET", "/api/v1/telemetry?sensor=dev-a", 400, TELEMETRY),
        case("POST", "/api/v1/telemetry", 405, TELEMETRY),
        case("PUT", "/api/v1/telemetry", 405, TELEMETRY),
        // Not in this version: the router must not serve them, and the spec must not list them.
        case("GET", "/api/v1/nope", 404, None),
        case("GET", "/api/v2/health", 404, None),
        case("GET", "/", 404, None),
    ];

    for c in cases.iter().chain(&rule_cases()) {
        let what = format!("{} {}", c.method, c.path);
        let token = daemon.token.as_deref().filter(|_| c.authed);
        let answer = call_with(&daemon, c.method, &c.path, c.body.as_ref(), token);
        assert_eq!(answer.status, c.status, "{what}: {}", answer.body);
        match c.template {
            Some(template) => {
                let bare = c.path.split('?').next().unwrap().trim_end_matches('/');
                assert!(template_matches(template, bare), "{what} is not {template}");
                check(&spec, &what, template, c.method, &answer);
            }
            None => {
                let bare = c.path.split('?').next().unwrap();
                assert!(
                    !spec.matches_any_path(bare),
                    "{what}: the daemon has no route for it, but the spec lists it"
                );
                assert_eq!(answer.content_type.as_deref(), Some("application/json"));
                let error = json!({"$ref": "#/components/schemas/Error"});
                spec.validate(&error, &answer.body, &what);
                assert_eq!(answer.body["error"]["code"], "not_found", "{what}");
            }
        }
    }

    // Failed logins from one address end in 429 with Retry-After.
    let wrong = json!({"username": TEST_USER, "password": "still wrong"});
    let limited = wait_until("a 429 after repeated failed logins", patience(), || {
        let answer = call_with(&daemon, "POST", "/api/v1/auth/login", Some(&wrong), None);
        assert!(matches!(answer.status, 401 | 429), "{}", answer.body);
        (answer.status == 429).then_some(answer)
    });
    check(
        &spec,
        "locked-out login",
        "/api/v1/auth/login",
        "post",
        &limited,
    );

    // The connection guard's own answers, on any documented operation.
    let port = daemon.api_port;
    let guarded = [
        (
            "Content-Length above api.max_body_kb",
            "/api/v1/telemetry",
            format!("GET /api/v1/telemetry HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", 100 << 20)
                .into_bytes(),
            413,
        ),
        (
            "header block above 16 KiB",
            "/api/v1/health",
            format!(
                "GET /api/v1/health HTTP/1.1\r\nHost: t\r\nX-Filler: {}\r\n\r\n",
                "a".repeat(17 * 1024)
            )
            .into_bytes(),
            431,
        ),
        (
            "Transfer-Encoding body",
            "/api/v1/devices",
            b"GET /api/v1/devices HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
            411,
        ),
        (
            "two Content-Length headers",
            "/api/v1/devices/{id}",
            b"GET /api/v1/devices/dev-a HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n"
                .to_vec(),
            400,
        ),
    ];
    for (what, template, request, status) in guarded {
        let answer = raw(port, &request);
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        check(&spec, what, template, "get", &answer);
    }

    // 408 and 503 need short limits: restart the daemon on the same port and data with them.
    let mut config = std::fs::read_to_string(&daemon.config_path).unwrap();
    config.push_str(&format!(
        "\nconfig api 'api'\n\toption listen '127.0.0.1:{port}'\n\
         \toption request_timeout_s '1'\n\toption max_connections '2'\n"
    ));
    std::fs::write(&daemon.config_path, config).unwrap();
    daemon.signal("TERM");
    daemon.wait_exit();
    daemon.spawn();

    // A request that never completes is answered 408 after request_timeout_s.
    // Debian's qemu-user 7.2 lacks timerfd_settime64 on MIPS, so under emulation the guard's
    // timers only fire when another event arrives and the 408 never comes (cross/README.md).
    // Router kernels have the syscall; the check runs natively.
    if std::env::var_os("ACS_EDGE_WRAPPER").is_some() {
        eprintln!("skipping the 408 check under emulation (qemu-user lacks timerfd_settime64)");
    } else {
        check_request_timeout(&spec, port);
    }

    // A connection beyond max_connections busy with requests is answered 503 (idle ones would
    // be closed to make room).
    let answer = wait_until("a 503 beyond max_connections", patience(), || {
        let _held: Vec<TcpStream> = (0..2)
            .map(|_| {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.write_all(b"GET /api/v1/health HTTP/1.1\r\n").unwrap();
                s
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        let answer = raw(
            port,
            b"GET /api/v1/devices HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        );
        (answer.status == 503).then_some(answer)
    });
    check(
        &spec,
        "connection over the cap",
        "/api/v1/devices",
        "get",
        &answer,
    );
}

#[test]
fn every_operation_in_the_spec_is_served_by_the_daemon() {
    let spec = Spec::load();
    let broker = Broker::start();
    let daemon = daemon_with_data(&broker);
    let mut operations = 0;
    // Paths come sorted, so the rule collection (POST creates rule 1) precedes the rule item
    // (whose DELETE comes last among its methods).
    for (template, item) in spec.paths() {
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            let id = if template.contains("/rules/") {
                "1"
            } else {
                "dev-a"
            };
            let path = template.replace("{id}", id);
            assert!(
                !path.contains('{'),
                "no test value for a parameter of {template}"
            );
            operations += 1;
            if template == "/api/v1/ws" {
                check_websocket_upgrade(&spec, &daemon);
                continue;
            }
            let body = match (*method, template.as_str()) {
                ("post", "/api/v1/auth/login") => {
                    Some(json!({"username": TEST_USER, "password": TEST_PASSWORD}))
                }
                ("patch", "/api/v1/devices/{id}") => Some(json!({"name": "Device A"})),
                ("post" | "put", _) => Some(good_rule()),
                (_, _) => None,
            };
            let expected = match (*method, template.as_str()) {
                ("post", "/api/v1/automation/rules") => 201,
                ("delete", _) => 204,
                _ => 200,
            };
            let upper = method.to_ascii_uppercase();
            let answer = call_with(
                &daemon,
                &upper,
                &path,
                body.as_ref(),
                daemon.token.as_deref(),
            );
            assert_eq!(
                answer.status, expected,
                "{method} {template} is in the spec but the daemon answers {}: {}",
                answer.status, answer.body
            );
            check(&spec, template, template, method, &answer);
            // HEAD is served wherever GET is (the spec says so in info.description).
            if *method == "get" {
                let head = call(&daemon, "HEAD", &path);
                assert_eq!(head.status, 200, "HEAD {template}");
            }
        }
    }
    assert_eq!(
        operations, 13,
        "the spec describes the thirteen operations served today"
    );

    // Every operation the spec does not mark public refuses a request without a token.
    let public = json!([]);
    for (template, item) in spec.paths() {
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            if item[*method].get("security") == Some(&public) {
                continue;
            }
            let path = template.replace("{id}", "dev-a");
            let body = (*method != "get").then(|| json!({}));
            let upper = method.to_ascii_uppercase();
            let answer = call_with(&daemon, &upper, &path, body.as_ref(), None);
            assert_eq!(answer.status, 401, "{method} {template} without a token");
            check(&spec, template, template, method, &answer);
        }
    }
}

/// The upgrade answers 101 as the spec says, and the stream then speaks WebSocket.
fn check_websocket_upgrade(spec: &Spec, daemon: &Daemon) {
    let response = spec.response("/api/v1/ws", "get", 101);
    assert!(response.get("content").is_none());
    let mut ws = websocket(daemon);
    ws.send(tungstenite::Message::text(r#"{"subscribe": {}}"#))
        .unwrap();
    loop {
        if let tungstenite::Message::Text(text) = ws.read().unwrap() {
            let event: Value = serde_json::from_str(&text).unwrap();
            let live = json!({"$ref": "#/components/schemas/LiveEvent"});
            spec.validate(&live, &event, "a WebSocket message");
            if event["event"] == "subscribed" {
                break;
            }
        }
    }
}

/// A WebSocket client of `daemon`, authenticated with `?access_token=` as a browser would be.
fn websocket(daemon: &Daemon) -> tungstenite::WebSocket<TcpStream> {
    let token = daemon
        .token
        .as_deref()
        .expect("the daemon has a logged-in user");
    let stream = TcpStream::connect(("127.0.0.1", daemon.api_port)).unwrap();
    let url = format!(
        "ws://127.0.0.1:{}/api/v1/ws?access_token={token}",
        daemon.api_port
    );
    let (ws, answer) = tungstenite::client::client(url, stream).expect("a WebSocket upgrade");
    assert_eq!(answer.status(), 101);
    ws
}

#[test]
fn websocket_messages_match_their_schemas() {
    if std::env::var_os("ACS_EDGE_WRAPPER").is_some() {
        // Under qemu-user 7.2 (MIPS) not every live event arrives within minutes; the cause is
        // not yet known (the emulator's missing timerfd_settime64 is the first suspect, see
        // cross/README.md). The upgrade and the first message are still checked under qemu by
        // every_operation_in_the_spec_is_served_by_the_daemon.
        eprintln!("skipped under emulation: live WebSocket events (see the comment)");
        return;
    }
    let spec = Spec::load();
    let broker = Broker::start();
    // An upstream broker that comes up once the client listens: an `upstream.status` event.
    let cloud_port = common::free_port();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = format!(
        "config upstream 'upstream'\n\toption enabled '1'\n\
         \toption url 'mqtt://127.0.0.1:{cloud_port}'\n\toption reconnect_max_s '1'\n"
    );
    let daemon = Daemon::start(&cfg);
    let token = daemon.token.as_deref();
    let answer = call_with(
        &daemon,
        "POST",
        "/api/v1/automation/rules",
        Some(&good_rule()),
        token,
    );
    assert_eq!(answer.status, 201);
    let mut ws = websocket(&daemon);
    let subscribe = json!({"subscribe": {"devices": ["dev-a"]}});
    let message = json!({"$ref": "#/components/schemas/SubscribeMessage"});
    spec.validate(&message, &subscribe, "the subscribe message");
    ws.send(tungstenite::Message::text(subscribe.to_string()))
        .unwrap();
    ws.send(tungstenite::Message::text("{\"unsubscribe\": true}"))
        .unwrap();
    let _cloud = Broker::start_on(cloud_port);
    let publisher = Publisher::connect(broker.port);
    publisher.publish("acs/dev-a/status", "online");
    let t0 = 1_767_225_600_000_i64;
    for (dt, value) in [(0, 31), (6000, 32)] {
        let body = json!({"ts": t0 + dt, "temperature": value});
        publisher.publish("acs/dev-a/telemetry", body.to_string());
    }
    publisher.publish("acs/dev-a/status", "offline");
    let live = json!({"$ref": "#/components/schemas/LiveEvent"});
    ws.get_ref().set_read_timeout(Some(patience())).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    while kinds.len() < 6 {
        if let tungstenite::Message::Text(text) = ws.read().unwrap() {
            let event: Value = serde_json::from_str(&text).unwrap();
            spec.validate(&live, &event, "a WebSocket message");
            kinds.insert(event["event"].as_str().unwrap().to_owned());
        }
    }
    let expected = [
        "automation.trigger",
        "device.status",
        "error",
        "subscribed",
        "telemetry.live",
        "upstream.status",
    ];
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), expected);
}

#[test]
fn spec_object_schemas_reject_undocumented_fields() {
    // The daemon's shapes are fixed, so every object schema in the spec must be closed; the
    // one open object is a device's `metadata`, which later versions may extend.
    fn walk(v: &Value, at: &str, open: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                let object = map.get("type") == Some(&json!("object"));
                if object
                    && map.get("additionalProperties") != Some(&json!(false))
                    && at != "/DeviceMetadata"
                {
                    open.push(at.to_owned());
                }
                for (k, child) in map {
                    walk(child, &format!("{at}/{k}"), open);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{at}/{i}"), open);
                }
            }
            _ => {}
        }
    }
    let spec = Spec::load();
    let mut open = Vec::new();
    walk(&spec.defs, "", &mut open);
    assert!(
        open.is_empty(),
        "object schemas without additionalProperties: false: {open:?}"
    );

    // And the validator really enforces them: an extra field, a missing field and a wrong type
    // in a reading are each refused.
    let reading = json!({"$ref": "#/components/schemas/Reading"});
    let ok = json!({"device": "d", "metric": "m", "ts": 1, "value": 1.5});
    assert!(spec.validator(&reading).is_valid(&ok));
    for bad in [
        json!({"device": "d", "metric": "m", "ts": 1, "value": 1.5, "unit": "C"}),
        json!({"device": "d", "metric": "m", "value": 1.5}),
        json!({"device": "d", "metric": "m", "ts": 1.5, "value": 1.5}),
        json!({"device": "d", "metric": "m", "ts": 1, "value": "1.5"}),
    ] {
        assert!(!spec.validator(&reading).is_valid(&bad), "accepted {bad}");
    }
}

/// A request that never completes is answered 408 after `request_timeout_s`.
fn check_request_timeout(spec: &Spec, port: u16) {
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(patience())).unwrap();
    slow.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    let answer = read_answer(slow);
    assert_eq!(answer.status, 408, "{}", answer.body);
    check(spec, "incomplete request", "/api/v1/health", "get", &answer);
}

/// `lora.gateways` of health, filled by a real GWMP exchange, matches its schema (a stat
/// report with some fields left out, and a gateway that only pulled).
#[cfg(feature = "lora")]
#[test]
fn health_with_lora_gateways_matches_its_schema() {
    use std::net::UdpSocket;
    let gwmp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let gwmp_port = gwmp.local_addr().unwrap().port();
    drop(gwmp);
    let mut cfg = DaemonConfig::new(common::free_port());
    cfg.extra = format!(
        "config mqtt 'mqtt'\n\toption enabled '0'\n\n\
         config lora 'lora'\n\toption gwmp_enabled '1'\n\toption gwmp_listen '127.0.0.1:{gwmp_port}'\n"
    );
    let daemon = Daemon::start(&cfg);
    let forwarder = UdpSocket::bind("127.0.0.1:0").unwrap();
    forwarder.connect(("127.0.0.1", gwmp_port)).unwrap();
    forwarder.set_read_timeout(Some(patience())).unwrap();
    let stat = br#"{"stat":{"time":"2026-01-12 08:59:28 GMT","rxnb":3,"rxok":2,"ackr":66.7}}"#;
    for (id, eui, json) in [(0u8, [0xAB; 8], &stat[..]), (2, [0x0C; 8], &[][..])] {
        let mut datagram = vec![2, 0, id + 1, id];
        datagram.extend_from_slice(&eui);
        datagram.extend_from_slice(json);
        forwarder.send(&datagram).unwrap();
        let mut ack = [0u8; 4];
        forwarder.recv(&mut ack).unwrap();
    }
    let spec = Spec::load();
    let answer = wait_until("two gateways in health", patience(), || {
        let answer = call(&daemon, "GET", "/api/v1/health");
        let gateways = answer.body["lora"]["gateways"].as_array()?;
        (gateways.len() == 2).then_some(answer)
    });
    check(
        &spec,
        "health with gateways",
        "/api/v1/health",
        "GET",
        &answer,
    );
    let gateways = &answer.body["lora"]["gateways"];
    assert!(
        gateways
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["last_stat"]["rxfw"].is_null() && g["last_stat"]["rxok"] == 2),
        "{gateways}"
    );
}

/// With MQTT ingest on and no broker, health turns `degraded` once the connect grace (10 s)
/// is over, naming the broker and the connection error, and matches its schema; it is `ok`
/// again once a broker answers.
#[test]
fn health_is_degraded_while_the_broker_is_unreachable() {
    let broker_port = common::free_port();
    let daemon = Daemon::start(&DaemonConfig::new(broker_port));
    let first = daemon.health();
    if first["uptime_s"].as_u64().unwrap() < 8 {
        assert_eq!(first["status"], "ok", "within the grace: {first}");
    }
    let spec = Spec::load();
    let grace = Duration::from_secs(10);
    let answer = wait_until("health degraded", patience() + grace, || {
        let answer = call(&daemon, "GET", "/api/v1/health");
        (answer.body["status"] == "degraded").then_some(answer)
    });
    assert!(
        answer.body["uptime_s"].as_u64().unwrap() >= 10,
        "{}",
        answer.body
    );
    check(&spec, "degraded health", "/api/v1/health", "GET", &answer);
    let reasons = answer.body["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    let reason = reasons[0].as_str().unwrap();
    // Under qemu-user a MIPS build is handed the host's errno (111) for a refused connect,
    // which MIPS numbers 146, so its C library has no text for it: "No error information
    // (os error 111)". Natively, and on a router, it reads "Connection refused".
    assert!(
        reason.starts_with(&format!(
            "mqtt: not connected to the broker 127.0.0.1:{broker_port}: "
        )) && (reason.contains("refused") || reason.contains("os error 111")),
        "{reason}"
    );

    let _broker = Broker::start_on(broker_port);
    wait_until("health ok with the broker up", patience(), || {
        (daemon.health()["status"] == "ok").then_some(())
    });
    assert!(daemon.health().get("reasons").is_none());
}
