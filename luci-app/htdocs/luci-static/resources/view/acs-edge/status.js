'use strict';
'require view';
'require rpc';
'require poll';
'require ui';
'require dom';
'require uci';

// Status of acs-edge, refreshed every 5 s: whether procd runs it, its health, ingest rate,
// store fill, upstream state, the devices with their last values, and a history chart. The
// daemon's API listens on the router's loopback, which the browser cannot reach: the rpcd
// plugin luci.acs-edge (/usr/libexec/rpcd/luci.acs-edge) fetches it, with an API token of its
// own that it makes when there is none; the token never reaches the browser.

var callServiceList = rpc.declare({
	object: 'service',
	method: 'list',
	params: [ 'name' ],
	expect: { '': {} }
});

var callRestart = rpc.declare({
	object: 'luci.acs-edge',
	method: 'restart',
	expect: { '': {} }
});

var callHealth = rpc.declare({
	object: 'luci.acs-edge',
	method: 'health',
	expect: { '': {} }
});

var callDevices = rpc.declare({
	object: 'luci.acs-edge',
	method: 'devices',
	expect: { '': {} }
});

var callLatest = rpc.declare({
	object: 'luci.acs-edge',
	method: 'latest',
	params: [ 'device', 'from', 'to' ],
	expect: { '': {} }
});

var callHistory = rpc.declare({
	object: 'luci.acs-edge',
	method: 'history',
	params: [ 'device', 'metric', 'from', 'to', 'cursor', 'step', 'agg' ],
	expect: { '': {} }
});

// How many devices the table shows (the first ones in id order).
var MAX_DEVICES = 50;

var MINUTE = 60000, HOUR = 3600000, DAY = 86400000;

// Where "Last values" looks when a device's last minute (by its own clock) holds no reading,
// newest first: the hour before, the day before, 30 days, a year, then everything older.
var LOOKBACK = [ HOUR, DAY, 30 * DAY, 366 * DAY, Infinity ];

// History pages of 1000 readings fetched at most for one chart (the API's paging, when it has
// no rollups), and the points a rollup asks for over the chosen range (its step).
var MAX_HISTORY_PAGES = 30;
var ROLLUP_POINTS = 288;

function isRunning(services) {
	var instances = (services && services['acs-edge'] && services['acs-edge'].instances) || {};
	for (var name in instances)
		if (instances[name].running)
			return true;
	return false;
}

function formatBytes(n) {
	if (n == null)
		return '-';
	return '%1024.1mB'.format(n);
}

function percent(part, whole) {
	if (!whole)
		return '-';
	return '%.1f%%'.format(100 * part / whole);
}

function formatTime(ms, none) {
	if (!ms)
		return none || '-';
	return new Date(ms).toLocaleString();
}

// Upstream fields as words: a state, an error or "none", a time or "never", a duration.
function upstreamValue(key, value) {
	if (key === 'last_sync_ms')
		return value ? '%s (%s)'.format(formatTime(value), formatAge(value)) : _('never');
	if (key === 'last_error')
		return value == null || value === '' ? _('none') : String(value);
	if (key === 'lag_s')
		return value ? '%t'.format(value) : _('none');
	if (value === null || value === undefined)
		return '-';
	if (typeof value === 'object')
		return JSON.stringify(value);
	return String(value);
}

var UPSTREAM_LABELS = {
	state: _('Upstream'), last_error: _('Upstream last error'), backlog: _('Upstream backlog (readings)'),
	lag_s: _('Upstream lag'), last_sync_ms: _('Upstream last sync'), evicted_unsynced: _('Evicted before upload'),
	sent_total: _('Readings uploaded'), cursor: _('Upstream cursor'), connects: _('Upstream connections')
};

// A reading's value with at most 6 significant digits.
function num(v) {
	return String(Number(Number(v).toPrecision(6)));
}

function escapeXml(s) {
	return String(s).replace(/[&<>"']/g, function(c) { return '&#' + c.charCodeAt(0) + ';'; });
}

// An inline SVG line chart of readings [{ts, value}] (ts ascending) over [from, to).
function chartSvg(points, from, to) {
	var w = 720, h = 220, left = 56, right = 8, top = 10, bottom = 24;
	var min = Infinity, max = -Infinity;
	points.forEach(function(p) { min = Math.min(min, p.value); max = Math.max(max, p.value); });
	var span = max - min || Math.abs(max) || 1;
	var lo = min - span * 0.05, hi = max + span * 0.05;
	var x = function(ts) { return (left + (ts - from) * (w - left - right) / (to - from)).toFixed(1); };
	var y = function(v) { return (top + (hi - v) * (h - top - bottom) / (hi - lo)).toFixed(1); };
	var line = points.map(function(p) { return x(p.ts) + ',' + y(p.value); }).join(' ');
	var label = function(v) { return escapeXml(num(v)); };
	return '<svg xmlns="http://www.w3.org/2000/svg" class="acs-edge-chart" viewBox="0 0 ' + w + ' ' + h +
		'" width="100%" style="max-width:' + w + 'px" role="img">' +
		'<rect x="' + left + '" y="' + top + '" width="' + (w - left - right) + '" height="' + (h - top - bottom) +
		'" fill="none" stroke="currentColor" stroke-opacity="0.3"/>' +
		'<text x="' + (left - 4) + '" y="' + (Number(y(max)) + 4) + '" text-anchor="end" font-size="11" fill="currentColor">' + label(max) + '</text>' +
		'<text x="' + (left - 4) + '" y="' + (Number(y(min)) + 4) + '" text-anchor="end" font-size="11" fill="currentColor">' + label(min) + '</text>' +
		'<text x="' + left + '" y="' + (h - 6) + '" font-size="11" fill="currentColor">' + escapeXml(formatTime(from)) + '</text>' +
		'<text x="' + (w - right) + '" y="' + (h - 6) + '" text-anchor="end" font-size="11" fill="currentColor">' + escapeXml(formatTime(to)) + '</text>' +
		'<polyline fill="none" stroke="#0069d6" stroke-width="1.5" points="' + line + '"/></svg>';
}

function formatAge(ms) {
	if (!ms)
		return '-';
	var s = Math.max(0, Math.round((Date.now() - ms) / 1000));
	return '%t'.format(s);
}

function row(label, value) {
	return E('tr', { 'class': 'tr' }, [
		E('td', { 'class': 'td left', 'width': '33%' }, [ label ]),
		E('td', { 'class': 'td left' }, [ value ])
	]);
}

return view.extend({
	// Committed readings and the time they were read, for the ingest rate between two polls.
	lastCommitted: null,

	// Per device id: how far its clock is behind this router's, learnt when its latest reading
	// was found further back than a minute, so that the next poll looks there first.
	skew: null,
	// The last values shown, per device id: {metric: value}.
	values: null,
	// false once the API refused `step` (it has no rollups): the chart then pages raw readings.
	rollups: true,

	load: function() {
		this.skew = {};
		this.values = {};
		return Promise.all([
			L.resolveDefault(callServiceList('acs-edge'), {}),
			L.resolveDefault(callHealth(), {}),
			L.resolveDefault(uci.load('acs-edge'), null)
		]);
	},

	ingestRate: function(health) {
		var now = Date.now(), committed = health.ingest ? health.ingest.committed : null, rate = null;
		if (committed == null)
			return null;
		if (this.lastCommitted && now > this.lastCommitted.at && committed >= this.lastCommitted.value)
			rate = (committed - this.lastCommitted.value) * 1000 / (now - this.lastCommitted.at);
		this.lastCommitted = { value: committed, at: now };
		return rate;
	},

	brokerState: function(mqtt) {
		var detail = mqtt.last_error ? ': ' + mqtt.last_error : '';
		if (!mqtt.connected)
			return _('disconnected') + detail;
		// An older daemon reports no subscription state; its connection is all there is to show.
		if (mqtt.subscribed === false)
			return (detail ? _('connected, subscription refused') : _('connected, subscribing…')) + detail;
		return _('connected');
	},

	renderSummary: function(running, reply) {
		var health = reply.health, rows = [];
		rows.push(row(_('Service'), running ? _('running') : _('not running')));
		if (!health) {
			rows.push(row(_('API'), reply.error || _('no answer')));
			return E('table', { 'class': 'table' }, rows);
		}
		var store = health.store || {}, ingest = health.ingest || {}, mqtt = health.mqtt || {};
		var rate = this.ingestRate(health);
		rows.push(row(_('Health'), health.status === 'ok' ? _('ok')
			: '%s: %s'.format(health.status || '-', (health.reasons || []).join('; ') || '-')));
		rows.push(row(_('Version'), '%s (%s)'.format(health.version || '-', health.gateway_id || '-')));
		rows.push(row(_('Uptime'), '%t'.format(health.uptime_s || 0)));
		rows.push(row(_('MQTT broker'), this.brokerState(mqtt)));
		rows.push(row(_('Ingest rate'), rate == null ? _('measuring…') : _('%.1f readings/s').format(rate)));
		rows.push(row(_('Readings committed'), String(ingest.committed != null ? ingest.committed : '-')));
		rows.push(row(_('Last commit'), formatTime(ingest.last_commit, _('never'))));
		rows.push(row(_('Store fill (size)'), '%s / %s (%s)'.format(formatBytes(store.used_bytes),
			formatBytes(store.max_bytes), percent(store.used_bytes, store.max_bytes))));
		rows.push(row(_('Store fill (readings)'), '%d / %d (%s)'.format(store.rows || 0, store.max_rows || 0,
			percent(store.rows, store.max_rows))));
		rows.push(row(_('Evicted readings'), '%d (%d %s)'.format(store.evicted_total || 0,
			store.evicted_unsynced || 0, _('not yet uploaded'))));
		rows.push(row(_('Devices / metrics'), '%d / %d'.format(store.devices || 0, store.metrics || 0)));
		rows.push(row(_('Dropped messages'), String(['topic', 'too_large', 'json', 'frame', 'status']
			.reduce(function(sum, k) { return sum + ((mqtt.malformed || {})[k] || 0); }, 0))));
		// Bluetooth LE: shown once the scanner is on or advertisements arrived (a replay).
		var ble = health.ble || {}, scanner = ble.scanner || {};
		if ((scanner.state && scanner.state !== 'off') || ble.received) {
			rows.push(row(_('Bluetooth LE scanner'), '%s%s%s'.format(scanner.state || '-',
				scanner.adapter ? ' (' + scanner.adapter + ')' : '',
				(scanner.state === 'error' && scanner.last_error) ? ': ' + scanner.last_error : '')));
			rows.push(row(_('BLE advertisements decoded / received'), '%d / %d'.format(ble.decoded || 0, ble.received || 0)));
		}
		// The upstream section of the health body, in words; fields a newer daemon adds are
		// shown under their own names.
		if (health.upstream && typeof health.upstream === 'object') {
			var up = health.upstream;
			Object.keys(UPSTREAM_LABELS).concat(Object.keys(up).filter(function(k) { return !UPSTREAM_LABELS[k]; }))
				.forEach(function(key) {
					if (key in up && (up.state !== 'disabled' || key === 'state'))
						rows.push(row(UPSTREAM_LABELS[key] || _('Upstream') + ' ' + key.replace(/_/g, ' '), upstreamValue(key, up[key])));
				});
		}
		else {
			rows.push(row(_('Upstream'), _('no upstream figures from this daemon version')));
		}
		return E('table', { 'class': 'table' }, rows);
	},

	renderDevices: function(reply, latest) {
		var self = this;
		var table = E('table', { 'class': 'table' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, [ _('Device') ]),
				E('th', { 'class': 'th' }, [ _('Transport') ]),
				E('th', { 'class': 'th' }, [ _('Online') ]),
				E('th', { 'class': 'th' }, [ _('Last seen') ]),
				E('th', { 'class': 'th' }, [ _('Last values') ])
			])
		]);
		if (!reply.items) {
			table.appendChild(E('tr', { 'class': 'tr placeholder' }, [
				E('td', { 'class': 'td', 'colspan': 5 }, [ reply.error || _('No device list') ])
			]));
			return table;
		}
		if (!reply.items.length) {
			table.appendChild(E('tr', { 'class': 'tr placeholder' }, [
				E('td', { 'class': 'td', 'colspan': 5 }, [ _('No devices yet') ])
			]));
		}
		reply.items.forEach(function(dev, i) {
			var values = {};
			((latest[i] && latest[i].items) || []).forEach(function(r) { values[r.metric] = r.value; });
			self.values[dev.id] = values;
			table.appendChild(E('tr', { 'class': 'tr' }, [
				E('td', { 'class': 'td' }, [ dev.name ? '%s (%s)'.format(dev.name, dev.id) : dev.id ]),
				E('td', { 'class': 'td' }, [ dev.transport || '-' ]),
				E('td', { 'class': 'td' }, [ dev.online ? _('yes') : _('no') ]),
				E('td', { 'class': 'td' }, [ formatAge(dev.last_seen) ]),
				E('td', { 'class': 'td' }, [ Object.keys(values).sort().map(function(k) {
					return '%s = %s'.format(k, values[k]);
				}).join(', ') || '-' ])
			]));
		});
		return table;
	},

	// A device's newest readings: its last minute by its own clock, else the newest ones
	// found further back (a clock that is behind), whatever their timestamps.
	latestOf: function(dev) {
		var self = this, anchor = (dev.last_seen || 0) - (this.skew[dev.id] || 0);
		return L.resolveDefault(callLatest(dev.id, Math.max(0, anchor - MINUTE), null), {}).then(function(r) {
			if (r.error || (r.items && r.items.length))
				return r;
			return self.lookBack(dev, Math.max(0, anchor - MINUTE), 0);
		});
	},

	lookBack: function(dev, to, step) {
		var self = this;
		if (step >= LOOKBACK.length || to <= 0)
			return Promise.resolve({ items: [] });
		var from = LOOKBACK[step] === Infinity ? 0 : Math.max(0, to - LOOKBACK[step]);
		return this.newestIn(dev.id, from, to, 0).then(function(r) {
			if (!r.items || !r.items.length)
				return self.lookBack(dev, from, step + 1);
			self.skew[dev.id] = (dev.last_seen || 0) - r.items[r.items.length - 1].ts;
			return r;
		});
	},

	// The newest page of a device's readings in [from, to): the window is halved, newer half
	// first, while it holds more than one page.
	newestIn: function(id, from, to, depth) {
		var self = this;
		return L.resolveDefault(callLatest(id, from, to), {}).then(function(r) {
			if (!r.items || !r.next_cursor || depth >= 30 || to - from < 2)
				return r;
			var mid = Math.floor((from + to) / 2);
			return self.newestIn(id, mid, to, depth + 1).then(function(newer) {
				return (newer.items && newer.items.length) ? newer : self.newestIn(id, from, mid, depth + 1);
			});
		});
	},

	refresh: function() {
		var self = this;
		return Promise.all([
			L.resolveDefault(callServiceList('acs-edge'), {}),
			L.resolveDefault(callHealth(), {}),
			L.resolveDefault(callDevices(), {})
		]).then(function(r) {
			var devices = r[2];
			if (devices.items)
				devices.items = devices.items.slice(0, MAX_DEVICES);
			return Promise.all((devices.items || []).map(function(dev) {
				return self.latestOf(dev);
			})).then(function(latest) {
				dom.content(document.getElementById('acs-edge-summary'), self.renderSummary(isRunning(r[0]), r[1]));
				dom.content(document.getElementById('acs-edge-devices'), self.renderDevices(devices, latest));
				self.updateChartChoices(devices.items || []);
			});
		});
	},

	// Fills the chart's device and metric choices, keeping what is selected.
	updateChartChoices: function(devices) {
		var self = this, devSelect = document.getElementById('acs-edge-chart-device'),
			metricSelect = document.getElementById('acs-edge-chart-metric');
		if (!devSelect || !metricSelect)
			return;
		var fill = function(select, names) {
			var keep = select.value;
			if (Array.prototype.map.call(select.options, function(o) { return o.value; }).join('\n') === names.join('\n'))
				return;
			dom.content(select, names.map(function(n) { return E('option', { 'value': n }, [ n ]); }));
			if (names.indexOf(keep) >= 0)
				select.value = keep;
		};
		fill(devSelect, devices.map(function(d) { return d.id; }));
		fill(metricSelect, Object.keys(self.values[devSelect.value] || {}).sort());
	},

	// All readings of device/metric in [from, to): rollups (`step`) when the API has them,
	// else its pages of raw readings, up to MAX_HISTORY_PAGES.
	history: function(device, metric, from, to) {
		var self = this, points = [];
		var step = this.rollups ? Math.max(1, Math.round((to - from) / 1000 / ROLLUP_POINTS)) : null;
		var page = function(cursor, n) {
			return L.resolveDefault(callHistory(device, metric, from, to, cursor, step, step ? 'mean' : null), {}).then(function(r) {
				// A daemon without rollups refuses `step` with 400 (uclient-fetch shows only the
				// status); another 400 fails again below, without step, and is shown.
				if (step && r.error && /\b400\b|unknown query parameter/.test(r.error)) {
					self.rollups = false;
					return self.history(device, metric, from, to);
				}
				if (r.error)
					return { error: r.error, points: points };
				(r.items || []).forEach(function(it) { points.push({ ts: it.ts, value: it.value }); });
				if (r.next_cursor && n + 1 < MAX_HISTORY_PAGES)
					return page(r.next_cursor, n + 1);
				return { points: points, truncated: !!r.next_cursor };
			});
		};
		return page(null, 0);
	},

	showChart: function() {
		var device = document.getElementById('acs-edge-chart-device').value,
			metric = document.getElementById('acs-edge-chart-metric').value,
			range = Number(document.getElementById('acs-edge-chart-range').value),
			out = document.getElementById('acs-edge-chart'), to = Date.now(), from = to - range;
		if (!device || !metric) {
			dom.content(out, E('em', [ _('Pick a device and a metric.') ]));
			return Promise.resolve();
		}
		dom.content(out, E('em', { 'class': 'spinning' }, [ _('Loading…') ]));
		return this.history(device, metric, from, to).then(function(h) {
			var values = h.points.map(function(p) { return p.value; });
			if (!values.length) {
				dom.content(out, E('em', [ h.error || _('No readings of %s from %s in this period').format(metric, device) ]));
				return;
			}
			dom.content(out, [
				E('div', { 'class': 'acs-edge-chart-figures' }, [
					_('min %s, max %s, last %s (%d readings)').format(
						num(Math.min.apply(null, values)), num(Math.max.apply(null, values)),
						num(values[values.length - 1]), values.length),
					h.truncated ? ' ' + _('(only the oldest %d readings of this period are drawn)').format(values.length) : ''
				]),
				E('div', {}, chartSvg(h.points, from, to))
			]);
		});
	},

	renderChart: function() {
		var self = this;
		return E('div', { 'class': 'cbi-section' }, [
			E('h3', [ _('History') ]),
			E('div', { 'class': 'cbi-value' }, [
				E('select', { 'id': 'acs-edge-chart-device', 'class': 'cbi-input-select', 'change': function() {
					dom.content(document.getElementById('acs-edge-chart-metric'), []);
					self.updateChartChoices(Array.prototype.map.call(this.options, function(o) { return { id: o.value }; }));
				} }, []),
				' ',
				E('select', { 'id': 'acs-edge-chart-metric', 'class': 'cbi-input-select' }, []),
				' ',
				E('select', { 'id': 'acs-edge-chart-range', 'class': 'cbi-input-select' }, [
					E('option', { 'value': DAY }, [ _('last 24 hours') ]),
					E('option', { 'value': 7 * DAY }, [ _('last 7 days') ])
				]),
				' ',
				E('button', { 'class': 'cbi-button cbi-button-action', 'id': 'acs-edge-chart-show',
					'click': ui.createHandlerFn(this, 'showChart') }, [ _('Show') ])
			]),
			E('div', { 'id': 'acs-edge-chart' }, [])
		]);
	},

	restart: function() {
		return callRestart().then(function() {
			ui.addNotification(null, E('p', [ _('acs-edge is restarting') ]), 'info');
		});
	},

	render: function(data) {
		var self = this;
		var view = E('div', { 'class': 'cbi-map' }, [
			E('h2', [ _('acs-edge status') ]),
			E('div', { 'class': 'cbi-map-descr' }, [ _('Refreshed every 5 seconds.') ]),
			// A fresh install has no API user: LuCI itself needs none, other clients do.
			(data[2] !== null && !uci.sections('acs-edge', 'user').length) ? E('div', { 'class': 'alert-message notice', 'id': 'acs-edge-first-user' }, [
				_('No API user yet. '),
				E('a', { 'href': L.url('admin/services/acs-edge/access') }, [ _('Create the first user') ]),
				_(' to log in to the REST API from other clients; this page needs none.')
			]) : '',
			E('div', { 'class': 'cbi-section' }, [
				E('div', { 'id': 'acs-edge-summary' }, [ this.renderSummary(isRunning(data[0]), data[1]) ]),
				E('div', { 'class': 'right' }, [
					E('button', {
						'class': 'cbi-button cbi-button-apply',
						'click': ui.createHandlerFn(this, 'restart')
					}, [ _('Restart') ])
				])
			]),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', [ _('Devices') ]),
				E('div', { 'id': 'acs-edge-devices' }, [ E('em', [ _('Loading…') ]) ])
			]),
			this.renderChart()
		]);
		poll.add(function() { return self.refresh(); }, 5);
		return view;
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
