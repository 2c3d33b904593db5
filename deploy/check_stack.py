#!/usr/bin/env python3
"""Checks of the compose stack that need no container runtime (part of deploy/test.sh).

  check_stack.py static                 compose.yaml, Grafana provisioning and the dashboard
  check_stack.py queries INFLUX_URL DB   the dashboard's InfluxQL against a real InfluxDB 1.x
                                        holding readings in acs-edge's line protocol

Each check prints `ok   NAME` or `FAIL NAME: why`; the exit status is the number of failures
(capped at 100).
"""
import json
import pathlib
import re
import sys
import urllib.parse
import urllib.request

import yaml

DEPLOY = pathlib.Path(__file__).resolve().parent
COMPOSE = DEPLOY / "compose"
DASHBOARD = COMPOSE / "grafana/dashboards/acs-edge.json"
failures = 0


def check(name, condition, why=""):
    global failures
    if condition:
        print(f"ok   {name}")
    else:
        failures += 1
        print(f"FAIL {name}: {why}")


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def dashboard():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def graph_panels(dash):
    """Every panel that queries InfluxDB, rows' nested panels included."""
    for panel in dash["panels"]:
        yield from panel.get("panels", [])
        if panel.get("type") != "row":
            yield panel


def static_checks():
    compose = load_yaml(COMPOSE / "compose.yaml")
    services = compose.get("services", {})
    check("compose: the four services", set(services) == {"mosquitto", "acs-edge", "influxdb", "grafana"}, sorted(services))
    build_sh = (DEPLOY / "container/build.sh").read_text()
    image = services.get("acs-edge", {}).get("image", "")
    check("compose: acs-edge runs the image build.sh tags", image == "localhost/acs-edge:latest" and "IMAGE:-acs-edge" in build_sh, image)
    named = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                check(f"compose: {name} mounts {source}, which exists", (COMPOSE / source).exists(), "missing in deploy/compose")
            else:
                check(f"compose: {name}'s volume {source} is declared", source in named, sorted(named))
    grafana_env = services.get("grafana", {}).get("environment", {})
    password = str(grafana_env.get("GF_SECURITY_ADMIN_PASSWORD", ""))
    check("compose: no default Grafana password", re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", password) is not None, password)
    influx_env = services.get("influxdb", {}).get("environment", {})
    conf = (COMPOSE / "acs-edge/acs-edge.conf").read_text()
    db = re.search(r"option database '([^']+)'", conf)
    url = re.search(r"option url '([^']+)'", conf)
    check("acs-edge writes to the database the InfluxDB service creates", db and db.group(1) == influx_env.get("INFLUXDB_DB"), (db and db.group(1), influx_env))
    check("acs-edge reaches InfluxDB by its service name", url and url.group(1) == "http://influxdb:8086", url and url.group(1))
    mqtt_host = re.search(r"config mqtt 'mqtt'.*?option host '([^']+)'", conf, re.S)
    check("acs-edge reaches the broker by its service name", mqtt_host and mqtt_host.group(1) in services, mqtt_host and mqtt_host.group(1))
    mosquitto = (COMPOSE / "mosquitto/mosquitto.conf").read_text()
    check("mosquitto has a listener on 1883", re.search(r"^listener 1883\s*$", mosquitto, re.M), "no `listener 1883`")

    sources = load_yaml(COMPOSE / "grafana/provisioning/datasources/influxdb.yaml")["datasources"]
    influx = [s for s in sources if s.get("type") == "influxdb"]
    check("Grafana: one InfluxDB datasource", len(influx) == 1, sources)
    source = influx[0] if influx else {}
    check("Grafana: the datasource is the stack's InfluxDB and acs-edge's database",
          source.get("url") == "http://influxdb:8086" and source.get("jsonData", {}).get("dbName") == influx_env.get("INFLUXDB_DB"), source)
    providers = load_yaml(COMPOSE / "grafana/provisioning/dashboards/acs-edge.yaml")["providers"]
    mounted = [v.split(":")[1] for v in services.get("grafana", {}).get("volumes", []) if v.startswith("./grafana/dashboards")]
    check("Grafana: the dashboard provider reads the mounted dashboards",
          any(p.get("options", {}).get("path") in mounted for p in providers), (providers, mounted))

    dash = dashboard()
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    check("dashboard: variables gateway, device, metric", {"gateway", "device", "metric"} <= set(variables), sorted(variables))
    check("dashboard: the device variable lists InfluxDB's device tag",
          'WITH KEY = "device"' in variables.get("device", {}).get("query", ""), variables.get("device"))
    panels = list(graph_panels(dash))
    titles = {p["title"] for p in panels}
    for metric in ["Temperature", "Relative humidity", "Battery"]:
        check(f"dashboard: a panel for {metric}", metric in titles, sorted(titles))
    check("dashboard: a panel repeated for every metric", any(p.get("repeat") == "metric" for p in panels), "no repeat: metric")
    ids = [p["id"] for p in dash["panels"]]
    check("dashboard: unique panel ids", len(ids) == len(set(ids)), ids)
    for panel in panels:
        uses = {t.get("datasource", {}).get("uid") for t in panel["targets"]} | {panel.get("datasource", {}).get("uid")}
        check(f"dashboard: {panel['title']!r} queries the provisioned datasource", uses == {source.get("uid")}, uses)
        for target in panel["targets"]:
            q = target["query"]
            check(f"dashboard: {panel['title']!r} filters by $device and $timeFilter",
                  '"device" =~ /^$device$/' in q and "$timeFilter" in q, q)


def grafana_expand(query, variables):
    """What Grafana sends for `query`: $var and time macros replaced as its InfluxDB
    datasource does (a multi-value or All variable becomes an alternation in a regex)."""
    text = query.replace("$timeFilter", "time > now() - 1h").replace("$__interval", "1m")
    for name, values in sorted(variables.items(), key=lambda kv: -len(kv[0])):
        escaped = [re.sub(r"([\\^$.|?*+()\[\]{}/])", r"\\\1", v) for v in values]
        text = text.replace(f"${name}", escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")")
    return text


def influx_query(url, db, q):
    params = urllib.parse.urlencode({"db": db, "q": q, "epoch": "ms"})
    with urllib.request.urlopen(f"{url}/query?{params}", timeout=10) as answer:
        result = json.load(answer)["results"][0]
    if "error" in result:
        raise RuntimeError(result["error"])
    return result.get("series", [])


def values_of(series):
    return sorted({row[-1] for s in series for row in s["values"]})


# Which device has which metric in the readings deploy/test.sh writes (its influx_fixture),
# all of gateway gw-1.
FIXTURE = {"temperature": {"kitchen", "garden.hut"}, "humidity": {"kitchen"}, "battery": {"garden.hut"}}


def query_checks(url, db):
    """Runs the variables' and panels' queries as Grafana sends them and compares the series
    with FIXTURE, for one device and for All."""
    dash = dashboard()
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    # The variables' own queries, as Grafana runs them (device after gateway).
    try:
        gateways = values_of(influx_query(url, db, variables["gateway"]["query"]))
        check("InfluxDB: the gateway variable finds the gateway", gateways == ["gw-1"], gateways)
        devices = values_of(influx_query(url, db, grafana_expand(variables["device"]["query"], {"gateway": gateways})))
        check("InfluxDB: the device variable finds both devices", devices == ["garden.hut", "kitchen"], devices)
        metrics = values_of(influx_query(url, db, variables["metric"]["query"]))
        check("InfluxDB: the metric variable lists the metrics", metrics == ["battery", "humidity", "temperature"], metrics)
    except Exception as e:  # the query failed: report, then go on with the panels
        check("InfluxDB: the variables' queries run", False, e)
        gateways, devices, metrics = ["gw-1"], ["garden.hut", "kitchen"], ["battery", "humidity", "temperature"]
    for panel in graph_panels(dash):
        for target in panel["targets"]:
            for chosen in (["kitchen"], devices):
                q = grafana_expand(target["query"], {"gateway": gateways, "device": chosen, "metric": metrics})
                try:
                    series = influx_query(url, db, q)
                except Exception as e:
                    check(f"InfluxDB: {panel['title']!r} runs", False, f"{e}: {q}")
                    continue
                measurement = re.search(r'FROM "([a-z]+)"', q)
                having = FIXTURE.get(measurement.group(1), set()) if measurement else set().union(*FIXTURE.values())
                want = set(chosen) & having
                got = {s.get("tags", {}).get("device") for s in series}
                filled = all(any(v is not None for row in s["values"] for v in row[1:]) for s in series)
                check(f"InfluxDB: {panel['title']!r} for {'/'.join(chosen)} shows {sorted(want) or 'nothing'}",
                      got == want and filled, f"{series}: {q}")


def main():
    if sys.argv[1:2] == ["static"]:
        static_checks()
    elif sys.argv[1:2] == ["queries"] and len(sys.argv) == 4:
        query_checks(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
    sys.exit(min(failures, 100))


if __name__ == "__main__":
    main()
