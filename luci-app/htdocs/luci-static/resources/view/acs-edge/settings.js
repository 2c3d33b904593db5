'use strict';
'require view';
'require form';
'require uci';

// Settings of acs-edge: one tab per section of /etc/config/acs-edge. Every option of the
// daemon's schema (`acs-edge print-config`) appears here with the same default and the same
// limits; luci-app/tests/contract.js holds the form to the schema. Secrets that the command line
// manages (password_hash, token_hash) are never shown or edited here; LoRa device keys come from
// a network console or the node's firmware, so they are edited here, in password fields.

var NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

function validateGatewayId(sectionId, value) {
	if (value === '' || NAME_RE.test(value))
		return true;
	return _('1 to 64 letters, digits, or _ - . :');
}

function validateMetricName(sectionId, value) {
	if (NAME_RE.test(value))
		return true;
	return _('1 to 64 letters, digits, or _ - . :');
}

function validateAbsolutePath(sectionId, value) {
	if (value === '' || /^\/[^\0]*$/.test(value))
		return true;
	return _('Expecting an absolute path');
}

function validateClientId(sectionId, value) {
	if (value.length <= 128 && /^[\x21-\x7e]*$/.test(value))
		return true;
	return _('Up to 128 printable ASCII characters without spaces');
}

function validateTopicPrefix(sectionId, value) {
	if (value === '')
		return _('Must not be empty');
	if (/[+#]/.test(value))
		return _('Must not contain the wildcards + or #');
	if (value.charAt(0) === '/' || value.charAt(value.length - 1) === '/' || value.indexOf('//') >= 0)
		return _('No leading, trailing or empty topic level (/)');
	if (value.charAt(0) === '$')
		return _('Must not start with $ (reserved for the broker)');
	return true;
}

function validateFilter(sectionId, value) {
	if (value === '')
		return true;
	if (value.length > 256 || value.split('').some(function(c) { return c.charCodeAt(0) < 32; }))
		return _('An MQTT filter of 1 to 256 characters');
	var levels = value.split('/');
	for (var i = 0; i < levels.length; i++)
		if ((levels[i].length > 1 && /[+#]/.test(levels[i])) || (levels[i] === '#' && i !== levels.length - 1))
			return _('+ and # stand for whole topic levels, # only last');
	return true;
}

function validateDevicePrefix(sectionId, value) {
	if (value.length <= 32 && /^[A-Za-z0-9_.:-]*$/.test(value))
		return true;
	return _('Up to 32 letters, digits, or _ - . :');
}

// Topic levels to publish under (hass.discovery_prefix, hass.base_topic): no wildcards, no
// empty level, not a $ topic.
function validateTopicLevels(sectionId, value) {
	if (value === '' || value.length > 128 || value.charAt(0) === '$' || /[+#]/.test(value) ||
	    value.split('/').indexOf('') >= 0)
		return _('Topic levels without wildcards (+ #), \'$\' or an empty level.');
	return true;
}

function validateUpstreamTopic(sectionId, value) {
	if (value === '' || /[+#]/.test(value))
		return _('A topic without the wildcards + or #');
	return true;
}

var MAC_RE = /^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$/;

function validateBleMac(sectionId, value) {
	if (value === '' || MAC_RE.test(value))
		return true;
	return _('Expecting a Bluetooth address such as A4:C1:38:8D:18:B2');
}

function validateBleAdapter(sectionId, value) {
	if (/^[A-Za-z0-9_]{0,16}$/.test(value))
		return true;
	return _('Expecting an adapter name such as hci0');
}

function validateDbusAddress(sectionId, value) {
	if (value === '' || /^([A-Za-z0-9_-]+:[^;\s]*=[^;\s]*)(;[A-Za-z0-9_-]+:[^;\s]*=[^;\s]*)*$/.test(value))
		return true;
	return _('Expecting a D-Bus address such as unix:path=/var/run/dbus/system_bus_socket');
}

function validateCompanyId(sectionId, value) {
	if (value === '' || /^(0[xX])?[0-9A-Fa-f]{1,4}$/.test(value))
		return true;
	return _('Expecting a 16-bit hex company id such as 0xffff');
}

function validateBindkey(sectionId, value) {
	if (value === '' || /^[0-9A-Fa-f]{32}$/.test(value))
		return true;
	return _('Expecting 32 hex digits');
}

// Device ids: empty (the default id) or the daemon's naming rule.
function validateDeviceId(sectionId, value) {
	if (value === '' || NAME_RE.test(value))
		return true;
	return _('1 to 64 letters, digits, or _ - . :');
}

// Exactly `digits` hex digits; empty is left to the field's required check.
function hexValidator(digits, message) {
	var re = new RegExp('^[0-9A-Fa-f]{' + digits + '}$');
	return function(sectionId, value) {
		if (value === '' || re.test(value))
			return true;
		return message;
	};
}

function validateUpstreamUrl(sectionId, value) {
	if (value === '' || /^mqtts?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?\/?$/.test(value))
		return true;
	return _('Expecting mqtts://host:8883 or mqtt://host:1883');
}

function validateInfluxUrl(sectionId, value) {
	if (value === '' || /^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?(\/[^?#\s]*)?$/.test(value))
		return true;
	return _('Expecting http://host:8086 or https://host:8086');
}

// Adds an option with the schema's default shown as placeholder and used when the option is
// absent; `rmempty` keeps untouched defaults out of the file.
function opt(section, tab, cls, name, title, description, dflt) {
	var o = section.taboption(tab, cls, name, title, description);
	o.default = dflt;
	if (cls === form.Value && dflt !== '')
		o.placeholder = dflt;
	o.rmempty = true;
	return o;
}

return view.extend({
	load: function() {
		return uci.load('acs-edge');
	},

	render: function() {
		var m, s, o;

		m = new form.Map('acs-edge', _('acs-edge'),
			_('Sensor gateway: MQTT ingest into a bounded SQLite ring buffer, REST API and cloud sync. ' +
			  'Save & Apply reloads the daemon (SIGHUP); options marked “needs a restart” take effect after ' +
			  'a restart from the status page.'));
		m.tabbed = true;

		// main
		s = m.section(form.NamedSection, 'main', 'main', _('General'));
		s.addremove = false;
		s.tab('general', _('General'));
		opt(s, 'general', form.Flag, 'enabled', _('Enable'),
			_('Run the daemon. The init script does not start it when disabled.'), '1');
		o = opt(s, 'general', form.Value, 'gateway_id', _('Gateway ID'),
			_('Name of this gateway in upstream topics and client ids. Empty: the hostname. Needs a restart.'), '');
		o.validate = validateGatewayId;
		o = opt(s, 'general', form.ListValue, 'log_level', _('Log level'), _('Applied by a reload.'), 'info');
		o.value('error', _('Error'));
		o.value('warn', _('Warning'));
		o.value('info', _('Info'));
		o.value('debug', _('Debug'));
		o.value('trace', _('Trace'));
		o = opt(s, 'general', form.Value, 'offline_after_s', _('Offline after (s)'),
			_('Report a device offline after this many seconds without a message. 0 = only when its MQTT status topic says so. Needs a restart.'), '0');
		o.datatype = 'range(0,604800)';

		// store
		s = m.section(form.NamedSection, 'store', 'store', _('Store'),
			_('The SQLite ring buffer. The oldest readings are evicted when a limit is reached. ' +
			  'By default it lives in RAM: no flash wear, lost on reboot; see docs/OPERATIONS.md.'));
		s.addremove = false;
		s.tab('location', _('Location'));
		s.tab('limits', _('Limits'));
		s.tab('writes', _('Writes'));
		o = opt(s, 'location', form.Value, 'path', _('Database file'),
			_('Under /var or /tmp the data is in RAM: no flash wear, lost on reboot. A USB drive (ext4/f2fs) suits large stores; on the flash (/etc/acs-edge/store.db) keep the flush interval at 300 s or more. Needs a restart.'),
			'/var/lib/acs-edge/store.db');
		o.validate = validateAbsolutePath;
		o.datatype = 'minlength(2)';
		o = opt(s, 'limits', form.Value, 'max_rows', _('Maximum readings'), _('Applied by a reload.'), '1000000');
		o.datatype = 'range(1000,100000000)';
		o = opt(s, 'limits', form.Value, 'max_mb', _('Maximum size (MB)'),
			_('Most megabytes the database may take. Applied by a reload.'), '4');
		o.datatype = 'range(1,65536)';
		o = opt(s, 'limits', form.Value, 'max_age_days', _('Maximum age (days)'),
			_('0 = no age limit. Applied by a reload.'), '30');
		o.datatype = 'range(0,3650)';
		o = opt(s, 'limits', form.Value, 'rollup_hour_days', _('Hourly history (days)'),
			_('Readings the store evicts are kept as hourly rollups (count, mean, min, max, last) this long, for charts past the raw history. They take at most a quarter of the maximum size. 0 = none. Needs a restart.'),
			'365');
		o.datatype = 'range(0,3650)';
		o = opt(s, 'limits', form.Value, 'rollup_minute_days', _('Per-minute history (days)'),
			_('The same per minute, for sensors faster than one reading a minute; dropped before the hourly ones when room runs out. 0 = none. Needs a restart.'),
			'0');
		o.datatype = 'range(0,3650)';
		o = opt(s, 'limits', form.Value, 'max_devices', _('Maximum devices'),
			_('A message from a further new device is refused whole and counted. Needs a restart.'), '1000');
		o.datatype = 'range(1,100000)';
		o = opt(s, 'limits', form.Value, 'max_metrics', _('Maximum metric names'),
			_('A message with further new metrics is refused whole and counted. Needs a restart.'), '1000');
		o.datatype = 'range(1,100000)';
		o = opt(s, 'limits', form.Value, 'max_future_skew_s', _('Clock skew allowed (s)'),
			_('A message with a reading stamped further ahead of this router\'s clock is refused and counted. Applied by a reload.'),
			'86400');
		o.datatype = 'range(1,31536000)';
		o = opt(s, 'writes', form.Value, 'commit_interval_ms', _('Commit interval (ms)'),
			_('How long a reading waits before queries, live events and rules see it. With a flush interval of 0 every commit writes to the file. Applied by a reload.'),
			'1000');
		o.datatype = 'range(10,60000)';
		o = opt(s, 'writes', form.Value, 'flush_interval_s', _('Flush interval (s)'),
			_('The newest readings wait in RAM and are written to the database file, compressed, this often (and at every clean stop): a power cut loses at most this much, and flash wear falls to a few bytes per reading. 0 = every commit goes to the file. Needs a restart.'),
			'300');
		o.datatype = 'range(0,86400)';

		// mqtt
		s = m.section(form.NamedSection, 'mqtt', 'mqtt', _('MQTT'),
			_('Ingest from a broker: <prefix>/<device>/telemetry (JSON), /frame (binary) and /status. ' +
			  'Every MQTT option is applied by a reload.'));
		s.addremove = false;
		s.tab('broker', _('Broker'));
		s.tab('advanced', _('Advanced'));
		opt(s, 'broker', form.Flag, 'enabled', _('Enable MQTT ingest'), null, '1');
		o = opt(s, 'broker', form.Value, 'host', _('Broker host'), _('Usually the mosquitto on this router.'), '127.0.0.1');
		o.datatype = 'host';
		o = opt(s, 'broker', form.Value, 'port', _('Broker port'), null, '1883');
		o.datatype = 'port';
		opt(s, 'broker', form.Value, 'username', _('User name'), _('Empty: connect without credentials.'), '');
		o = opt(s, 'broker', form.Value, 'password', _('Password'), _('Never logged.'), '');
		o.password = true;
		o = opt(s, 'broker', form.Value, 'topic_prefix', _('Topic prefix'),
			_('First topic level(s) of device topics, without wildcards.'), 'acs');
		o.validate = validateTopicPrefix;
		o = opt(s, 'advanced', form.Value, 'client_id', _('Client ID'), _('Empty: acs-edge-<gateway id>.'), '');
		o.validate = validateClientId;
		o = opt(s, 'advanced', form.ListValue, 'qos', _('Subscription QoS'), null, '1');
		o.value('0', _('0: at most once'));
		o.value('1', _('1: at least once'));
		opt(s, 'advanced', form.Flag, 'clean_session', _('Clean session'),
			_('Off: the broker keeps QoS 1 readings while the daemon is down.'), '0');
		o = opt(s, 'advanced', form.Value, 'keepalive_s', _('Keep-alive (s)'), null, '30');
		o.datatype = 'range(5,3600)';
		o = opt(s, 'advanced', form.Value, 'max_payload_kb', _('Largest message (KiB)'),
			_('Larger messages are dropped; counted up to 4x this size (at least 256 KiB).'), '64');
		o.datatype = 'range(1,1024)';
		o = opt(s, 'advanced', form.Value, 'reconnect_max_s', _('Longest reconnect wait (s)'), null, '30');
		o.datatype = 'range(1,3600)';

		// api
		s = m.section(form.NamedSection, 'api', 'api', _('API'),
			_('REST API under /api/v1 and WebSocket events, on one port. Every API option needs a restart.'));
		s.addremove = false;
		s.tab('server', _('Server'));
		s.tab('limits', _('Limits'));
		opt(s, 'server', form.Flag, 'enabled', _('Enable the API'), null, '1');
		o = opt(s, 'server', form.Value, 'listen', _('Listen address'),
			_('127.0.0.1:8080 serves this router only; 0.0.0.0:8080 or [::]:8080 every interface (mind the firewall).'),
			'127.0.0.1:8080');
		o.datatype = 'ipaddrport(1)';
		o = opt(s, 'limits', form.Value, 'max_connections', _('Maximum connections'), null, '16');
		o.datatype = 'range(1,1024)';
		o = opt(s, 'limits', form.Value, 'request_timeout_s', _('Request timeout (s)'), null, '10');
		o.datatype = 'range(1,300)';
		o = opt(s, 'limits', form.Value, 'max_body_kb', _('Largest request body (KiB)'), null, '64');
		o.datatype = 'range(1,4096)';
		o = opt(s, 'limits', form.Value, 'workers', _('Worker threads'), null, '2');
		o.datatype = 'range(1,32)';
		s.tab('login', _('Login'));
		o = opt(s, 'login', form.Value, 'token_ttl_s', _('Session lifetime (s)'),
			_('How long a login token stays valid. Applied by a reload.'), '3600');
		o.datatype = 'range(1,604800)';
		o = opt(s, 'login', form.Value, 'login_max_failures', _('Failed logins before lockout'),
			_('Failed logins in a row from one address (an IPv6 /64) before it is refused. Applied by a reload.'), '5');
		o.datatype = 'range(1,1000)';
		o = opt(s, 'login', form.Value, 'login_lockout_s', _('Lockout (s)'),
			_('How long such an address is refused with 429. Applied by a reload.'), '60');
		o.datatype = 'range(1,86400)';
		o = opt(s, 'limits', form.Value, 'ws_max_clients', _('WebSocket clients'),
			_('Most live-event clients at a time, each also one of the connections. 0 = no WebSocket.'), '4');
		o.datatype = 'range(0,64)';
		o = opt(s, 'limits', form.Value, 'ws_ping_s', _('WebSocket ping interval (s)'),
			_('A client silent for three intervals is disconnected.'), '30');
		o.datatype = 'range(1,3600)';

		// upstream
		s = m.section(form.NamedSection, 'upstream', 'upstream', _('Upstream'),
			_('Store-and-forward sync to the cloud over MQTT: readings leave the store only after the cloud acknowledged them. ' +
			  'Every upstream option needs a restart.'));
		s.addremove = false;
		s.tab('cloud', _('Cloud broker'));
		s.tab('tls', _('TLS'));
		opt(s, 'cloud', form.Flag, 'enabled', _('Forward readings to the cloud'), null, '0');
		o = opt(s, 'cloud', form.Value, 'url', _('Broker URL'),
			_('mqtts://host:8883 (TLS, certificate verified) or mqtt://host:1883. Required when enabled.'), '');
		o.validate = validateUpstreamUrl;
		o = opt(s, 'cloud', form.Value, 'client_id', _('Client ID'), _('Empty: acs-edge-<gateway id>.'), '');
		o.validate = validateClientId;
		opt(s, 'cloud', form.Value, 'username', _('User name'), null, '');
		o = opt(s, 'cloud', form.Value, 'password', _('Password'), _('Never logged.'), '');
		o.password = true;
		o = opt(s, 'cloud', form.Value, 'topic', _('Topic'), _('{gateway_id} is replaced by the gateway id.'),
			'acs/{gateway_id}/up');
		o.validate = validateUpstreamTopic;
		o = opt(s, 'tls', form.Value, 'ca_file', _('CA certificates (PEM file)'), _('Empty: the system CA bundle, /etc/ssl/certs/ca-certificates.crt from the ca-bundle package.'), '');
		o.validate = validateAbsolutePath;
		o = opt(s, 'tls', form.Value, 'cert_file', _('Client certificate (PEM file)'),
			_('For mutual TLS, together with the key.'), '');
		o.validate = validateAbsolutePath;
		o = opt(s, 'tls', form.Value, 'key_file', _('Client key (PEM file)'), null, '');
		o.validate = validateAbsolutePath;
		o = opt(s, 'cloud', form.Value, 'reconnect_max_s', _('Longest reconnect wait (s)'),
			_('Cap of the exponential, jittered backoff between connection attempts.'), '60');
		o.datatype = 'range(1,3600)';

		// influxdb: a second upstream (the influxdb feature, in both packages)
		s = m.section(form.NamedSection, 'influxdb', 'influxdb', _('InfluxDB'),
			_('Write every reading to InfluxDB as well, with its own store-and-forward cursor. ' +
			  'Every InfluxDB option needs a restart.'));
		s.addremove = false;
		s.tab('server', _('Server'));
		s.tab('auth', _('Authentication'));
		opt(s, 'server', form.Flag, 'enabled', _('Write readings to InfluxDB'), null, '0');
		o = opt(s, 'server', form.Value, 'url', _('URL'),
			_('http://host:8086 or https://host:8086 (certificate verified).'), 'http://127.0.0.1:8086');
		o.validate = validateInfluxUrl;
		o = opt(s, 'server', form.ListValue, 'api', _('API'), null, 'v1');
		o.value('v1', _('v1: /write (InfluxDB 1.x)'));
		o.value('v2', _('v2: /api/v2/write (InfluxDB 2.x, 3.x)'));
		o = opt(s, 'server', form.Value, 'database', _('Database'), _('v1.'), 'acs');
		o = opt(s, 'server', form.Value, 'retention_policy', _('Retention policy'), _('v1. Empty: the database\'s default.'), '');
		o = opt(s, 'server', form.Value, 'org', _('Organization'), _('v2, required.'), '');
		o = opt(s, 'server', form.Value, 'bucket', _('Bucket'), _('v2, required.'), '');
		o = opt(s, 'server', form.Value, 'batch_size', _('Readings per request'), null, '500');
		o.datatype = 'range(1,5000)';
		o = opt(s, 'server', form.Value, 'reconnect_max_s', _('Longest retry wait (s)'),
			_('Cap of the exponential, jittered backoff between attempts.'), '60');
		o.datatype = 'range(1,3600)';
		o = opt(s, 'auth', form.Value, 'token', _('Token'), _('Authorization: Token (v2; v1 from 1.8). Never logged.'), '');
		o.password = true;
		opt(s, 'auth', form.Value, 'username', _('User name'), _('v1 basic authentication.'), '');
		o = opt(s, 'auth', form.Value, 'password', _('Password'), _('Never logged.'), '');
		o.password = true;
		o = opt(s, 'auth', form.Value, 'ca_file', _('CA certificates (PEM file)'), _('For https://. Empty: the system CA bundle.'), '');
		o.validate = validateAbsolutePath;

		// users and API tokens: created on the Access page (or with the CLI), which writes the hashes
		s = m.section(form.TypedSection, 'user', _('Users'),
			_('API users. Create one, or set its password, on the Access page. Applied by a reload.'));
		s.anonymous = false;
		s.addremove = false;
		s.tab('user', _('User'));
		opt(s, 'user', form.Flag, 'enabled', _('Enabled'), _('A disabled user cannot log in; its sessions end at the next reload.'), '1');

		s = m.section(form.TypedSection, 'api_token', _('API tokens'),
			_('Long-lived tokens for machine clients. Create or revoke one on the Access page (it is shown once). Applied by a reload.'));
		s.anonymous = false;
		s.addremove = false;
		s.tab('token', _('Token'));
		opt(s, 'token', form.Flag, 'enabled', _('Enabled'), null, '1');
		opt(s, 'token', form.Flag, 'metrics_only', _('Only /metrics'),
			_('The token opens GET /metrics and nothing else: a Prometheus scrape token that cannot read or change devices, readings or rules.'), '0');

		// models: local inference, run by the acs-edge-ml package (other builds log and skip them)
		s = m.section(form.TypedSection, 'model', _('Models'),
			_('Models that score telemetry windows on the router; their outputs are stored as readings of the same device ' +
			  'and can trigger rules. Needs the acs-edge-ml package. Applied by a reload.'));
		s.anonymous = false;
		s.addremove = true;
		s.tab('model', _('Model'));
		opt(s, 'model', form.Flag, 'enabled', _('Enabled'), null, '1');
		o = s.taboption('model', form.Value, 'path', _('Model file'),
			_('An ONNX file (.onnx) with fixed shapes, such as the shipped temperature model.'));
		o.placeholder = '/usr/share/acs-edge/models/temperature-ae.onnx';
		o.rmempty = false;
		o.validate = validateAbsolutePath;
		o = opt(s, 'model', form.Value, 'device', _('Device'), _('Empty: every device that sends the metrics.'), '');
		o.validate = validateGatewayId;
		o = s.taboption('model', form.DynamicList, 'metrics', _('Input metrics'),
			_('In the model\'s column order; each reading of the first one adds a row.'));
		o.placeholder = 'temperature';
		o.rmempty = false;
		o.validate = validateMetricName;
		o = opt(s, 'model', form.Value, 'window', _('Window (rows)'), null, '16');
		o.datatype = 'range(1,4096)';
		o = opt(s, 'model', form.Value, 'hop', _('Hop (rows)'), _('New rows between two inferences.'), '1');
		o.datatype = 'range(1,4096)';
		o = s.taboption('model', form.Value, 'output', _('Output metric'),
			_('Metric of the derived readings; it may not be an input of any model.'));
		o.placeholder = 'temperature.anomaly';
		o.rmempty = false;
		o.validate = validateMetricName;
		o = opt(s, 'model', form.Value, 'threshold', _('Threshold'),
			_('Empty: every output is stored. A number: only outputs at or above it.'), '');
		o.placeholder = '2.0';
		o.datatype = 'float';

		// sources: home-automation formats on the ingest broker
		s = m.section(form.TypedSection, 'source', _('Sources'),
			_('Devices that publish zigbee2mqtt, Tasmota, Shelly (Gen2/Gen3) or ESPHome messages to the MQTT ingest broker; ' +
			  'their readings are stored like any other. Applied by a reload.'));
		s.anonymous = false;
		s.addremove = true;
		s.tab('source', _('Source'));
		opt(s, 'source', form.Flag, 'enabled', _('Enabled'), null, '1');
		o = s.taboption('source', form.ListValue, 'format', _('Format'));
		o.value('zigbee2mqtt', _('zigbee2mqtt'));
		o.value('tasmota', _('Tasmota'));
		o.value('shelly', _('Shelly (Gen2/Gen3 RPC notifications)'));
		o.value('esphome', _('ESPHome (MQTT component)'));
		o.rmempty = false;
		o = s.taboption('source', form.DynamicList, 'topic', _('Topic filters'),
			_('None: the format\'s defaults (zigbee2mqtt/#; tele/+/SENSOR, tele/+/STATE, tele/+/LWT; +/events/rpc; ' +
			  '+/sensor/+/state, +/binary_sensor/+/state, +/status).'));
		o.default = '';
		o.placeholder = 'zigbee2mqtt/#';
		o.validate = validateFilter;
		o = opt(s, 'source', form.Value, 'device_prefix', _('Device id prefix'),
			_('Put in front of every device id from this source, for example z2m.'), '');
		o.placeholder = 'z2m.';
		o.validate = validateDevicePrefix;

		// Home Assistant discovery on the ingest broker
		s = m.section(form.NamedSection, 'hass', 'hass', _('Home Assistant'),
			_('Announce every device and metric to Home Assistant (MQTT discovery on the MQTT ingest broker) and publish ' +
			  'their readings. Every option needs a restart.'));
		s.addremove = false;
		s.tab('hass', _('Discovery'));
		opt(s, 'hass', form.Flag, 'enabled', _('Announce sensors to Home Assistant'), null, '0');
		o = opt(s, 'hass', form.Value, 'discovery_prefix', _('Discovery prefix'),
			_('Home Assistant\'s discovery prefix (its MQTT integration\'s setting).'), 'homeassistant');
		o.validate = validateTopicLevels;
		o = opt(s, 'hass', form.Value, 'base_topic', _('Base topic'),
			_('Readings go to <base topic>/<gateway id>/<device>/<metric>, the gateway\'s status to <base topic>/<gateway id>/status. ' +
			  'It must not be inside an ingest topic filter.'), 'acs-edge');
		o.validate = validateTopicLevels;

		// lora
		s = m.section(form.NamedSection, 'lora', 'lora', _('LoRa'),
			_('LoRa uplinks from a packet-forwarder gateway (Semtech UDP) or a radio on this router. Every LoRa option needs a restart.'));
		s.addremove = false;
		s.tab('gwmp', _('Packet forwarder'));
		s.tab('radio', _('Radio'));
		opt(s, 'gwmp', form.Flag, 'gwmp_enabled', _('Run the packet-forwarder (GWMP) server'), null, '0');
		o = opt(s, 'gwmp', form.Value, 'gwmp_listen', _('UDP listen address'),
			_('127.0.0.1:1700 for a forwarder on this router; 0.0.0.0:1700 for a gateway on the LAN. GWMP has no authentication: never open it to the WAN.'),
			'127.0.0.1:1700');
		o.datatype = 'ipaddrport(1)';
		opt(s, 'radio', form.Flag, 'radio_enabled', _('Receive with a radio on this router'),
			_('Needs a build with the lora feature and the kmod-spi-dev module.'), '0');
		o = opt(s, 'radio', form.ListValue, 'radio_chip', _('Radio chip'), _('sx1276 also covers sx1277/8/9 boards.'), 'sx1262');
		o.value('sx1262', _('SX1262'));
		o.value('sx1261', _('SX1261'));
		o.value('sx1276', _('SX1276 (SX127x)'));
		o = opt(s, 'radio', form.Value, 'radio_spi', _('SPI device'), null, '/dev/spidev0.0');
		o.validate = validateAbsolutePath;
		o = opt(s, 'radio', form.Value, 'radio_gpiochip', _('GPIO chip'), null, '/dev/gpiochip0');
		o.validate = validateAbsolutePath;
		o = opt(s, 'radio', form.Value, 'radio_reset_pin', _('Reset line'), _('GPIO line offset of NRESET.'), '18');
		o.datatype = 'range(0,1023)';
		o = opt(s, 'radio', form.Value, 'radio_busy_pin', _('Busy line'), _('GPIO line offset of BUSY (SX126x only).'), '20');
		o.datatype = 'range(0,1023)';
		o = opt(s, 'radio', form.Value, 'radio_irq_pin', _('Interrupt line'), _('DIO1 on SX126x, DIO0 on SX127x.'), '16');
		o.datatype = 'range(0,1023)';
		o = opt(s, 'radio', form.ListValue, 'radio_tcxo_mv', _('TCXO voltage (mV)'), _('SX126x only; 0 = the board has a crystal.'), '0');
		o.value('0', _('None (crystal)'));
		o.value('1600', _('1600 mV'));
		o.value('1700', _('1700 mV'));
		o.value('1800', _('1800 mV'));
		o.value('2200', _('2200 mV'));
		o.value('2400', _('2400 mV'));
		o.value('2700', _('2700 mV'));
		o.value('3000', _('3000 mV'));
		o.value('3300', _('3300 mV'));
		o = opt(s, 'radio', form.Value, 'radio_frequency_hz', _('Frequency (Hz)'),
			_('For example 868100000 (EU868) or 902300000 (US915).'), '868100000');
		o.datatype = 'range(137000000,1020000000)';
		o = opt(s, 'radio', form.Value, 'radio_sf', _('Spreading factor'), null, '7');
		o.datatype = 'range(5,12)';
		o = opt(s, 'radio', form.ListValue, 'radio_bw_khz', _('Bandwidth (kHz)'), null, '125');
		o.value('7.8', _('7.8 kHz'));
		o.value('10.4', _('10.4 kHz'));
		o.value('15.6', _('15.6 kHz'));
		o.value('20.8', _('20.8 kHz'));
		o.value('31.25', _('31.25 kHz'));
		o.value('41.7', _('41.7 kHz'));
		o.value('62.5', _('62.5 kHz'));
		o.value('125', _('125 kHz'));
		o.value('250', _('250 kHz'));
		o.value('500', _('500 kHz'));
		o = opt(s, 'radio', form.ListValue, 'radio_cr', _('Coding rate'), null, '4/5');
		o.value('4/5', _('4/5'));
		o.value('4/6', _('4/6'));
		o.value('4/7', _('4/7'));
		o.value('4/8', _('4/8'));
		o = opt(s, 'radio', form.ListValue, 'radio_sync_word', _('Sync word'), null, 'public');
		o.value('public', _('Public (LoRaWAN, 0x34)'));
		o.value('private', _('Private (0x12)'));

		// ble
		s = m.section(form.NamedSection, 'ble', 'ble', _('Bluetooth LE'),
			_('BLE sensors (BTHome v2, pvvx/ATC1441 thermometers, RuuviTag, acs-proto frames) heard through bluetoothd. Needs a build with the ble feature. Every BLE option needs a restart.'));
		s.addremove = false;
		s.tab('scan', _('Scanner'));
		// Not 'filter': form.js keeps tabs in an Array, where an Array method's name counts as declared.
		s.tab('devices', _('Devices'));
		opt(s, 'scan', form.Flag, 'enabled', _('Scan for BLE advertisements'), _('Needs bluetoothd running.'), '0');
		o = opt(s, 'scan', form.Value, 'adapter', _('Adapter'), _('For example hci0. Empty: the first adapter.'), '');
		o.validate = validateBleAdapter;
		o = opt(s, 'scan', form.Value, 'dbus_address', _('System D-Bus address'),
			_('Empty: the default system bus (unix:path=/var/run/dbus/system_bus_socket).'), '');
		o.validate = validateDbusAddress;
		o = opt(s, 'scan', form.Value, 'restart_max_s', _('Longest restart wait (s)'),
			_('Wait before the scanner starts again after the adapter or bluetoothd went away; doubles from 1 s up to this.'), '60');
		o.datatype = 'range(1,3600)';
		o = opt(s, 'devices', form.Value, 'frame_company_id', _('acs-proto company id'),
			_('Company id (hex) whose manufacturer data carries acs-proto frames. Empty: not read.'), '');
		o.validate = validateCompanyId;
		o = opt(s, 'devices', form.DynamicList, 'allow', _('Allow list'),
			_('When set, only these addresses and the known devices below are accepted.'), '');
		o.validate = validateBleMac;
		o = opt(s, 'devices', form.DynamicList, 'deny', _('Deny list'), _('Addresses always ignored.'), '');
		o.validate = validateBleMac;

		s = m.section(form.TypedSection, 'ble_device', _('BLE devices'),
			_('Known BLE sensors: the bindkey of encrypted BTHome devices and the device id of their readings. Needs a restart.'));
		s.anonymous = false;
		s.addremove = true;
		s.tab('device', _('Device'));
		o = s.taboption('device', form.Value, 'mac', _('Bluetooth address'), _('For example A4:C1:38:8D:18:B2.'));
		o.rmempty = false;
		o.validate = function(sectionId, value) {
			if (value === '')
				return _('Expecting a Bluetooth address such as A4:C1:38:8D:18:B2');
			return validateBleMac(sectionId, value);
		};
		o = opt(s, 'device', form.Value, 'bindkey', _('Bindkey'), _('BTHome v2 encryption key, 32 hex digits. Empty: the device does not encrypt.'), '');
		o.password = true;
		o.validate = validateBindkey;
		o = opt(s, 'device', form.Value, 'id', _('Device id'), _('Empty: ble-<address>.'), '');
		o.validate = validateDeviceId;

		// LoRa devices: session keys from the network console or the node's firmware
		s = m.section(form.TypedSection, 'lorawan_device', _('LoRaWAN devices (ABP)'),
			_('LoRaWAN 1.0.x devices activated by personalisation. Their uplinks are checked and decrypted with these session keys, and their payloads decoded (Cayenne LPP). ' +
			  'The frame counter of each device id is kept across restarts and key changes. Applied by a reload.'));
		s.anonymous = false;
		s.addremove = true;
		s.tab('device', _('Device'));
		o = opt(s, 'device', form.Value, 'device_id', _('Device ID'), _('Empty: the section name.'), '');
		o.validate = validateDeviceId;
		o = s.taboption('device', form.Value, 'dev_addr', _('DevAddr'), _('8 hex digits, most significant first.'));
		o.validate = hexValidator(8, _('Expecting 8 hex digits'));
		o.rmempty = false;
		o = s.taboption('device', form.Value, 'nwkskey', _('NwkSKey'), _('Network session key, 32 hex digits. Never logged.'));
		o.validate = hexValidator(32, _('Expecting 32 hex digits'));
		o.password = true;
		o.rmempty = false;
		o = s.taboption('device', form.Value, 'appskey', _('AppSKey'), _('Application session key, 32 hex digits. Never logged.'));
		o.validate = hexValidator(32, _('Expecting 32 hex digits'));
		o.password = true;
		o.rmempty = false;
		o = opt(s, 'device', form.ListValue, 'payload', _('Payload decoder'),
			_('None: the frame is checked and counted and RSSI/SNR are stored, for devices in another format.'), 'lpp');
		o.value('lpp', _('Cayenne LPP'));
		o.value('none', _('None'));
		opt(s, 'device', form.Flag, 'enabled', _('Enabled'), _('Disabled: its frames count as from an unknown device.'), '1');

		s = m.section(form.TypedSection, 'lora_frame_device', _('LoRa signed-frame nodes'),
			_('Nodes sending authenticated acs-proto frames over raw LoRa (AES-128-CMAC). Applied by a reload.'));
		s.anonymous = false;
		s.addremove = true;
		s.tab('device', _('Device'));
		o = opt(s, 'device', form.Value, 'device_id', _('Device ID'), _('Empty: the EUI as 16 lowercase hex digits.'), '');
		o.validate = validateDeviceId;
		o = s.taboption('device', form.Value, 'eui', _('EUI-64'), _('16 hex digits, most significant first.'));
		o.validate = hexValidator(16, _('Expecting 16 hex digits'));
		o.rmempty = false;
		o = s.taboption('device', form.Value, 'key', _('Key'), _('AES-128-CMAC key, 32 hex digits. Never logged.'));
		o.validate = hexValidator(32, _('Expecting 32 hex digits'));
		o.password = true;
		o.rmempty = false;
		opt(s, 'device', form.Flag, 'enabled', _('Enabled'), _('Disabled: its frames count as from an unknown device.'), '1');

		return m.render();
	}
});
