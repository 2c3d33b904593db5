'use strict';
'require view';
'require rpc';
'require poll';
'require ui';
'require dom';

// Status of acs-edge, refreshed every 5 s: whether procd runs it, ingest rate, store fill,
// upstream backlog, and the devices with their last values. The daemon's API listens on the
// router's loopback, which the browser cannot reach: the rpcd plugin luci.acs-edge
// (/usr/libexec/rpcd/luci.acs-edge) fetches GET /api/v1/health (no authentication) and the
// device list (with the API token of /etc/luci-acs-edge.token when that file exists).

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
	params: [ 'device', 'since' ],
	expect: { '': {} }
});

// How many devices the table shows (the first ones in id order).
var MAX_DEVICES = 50;

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

function formatTime(ms) {
	if (!ms)
		return '-';
	return new Date(ms).toLocaleString();
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

	load: function() {
		return Promise.all([
			L.resolveDefault(callServiceList('acs-edge'), {}),
			L.resolveDefault(callHealth(), {})
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
		rows.push(row(_('Version'), '%s (%s)'.format(health.version || '-', health.gateway_id || '-')));
		rows.push(row(_('Uptime'), '%t'.format(health.uptime_s || 0)));
		rows.push(row(_('MQTT broker'), this.brokerState(mqtt)));
		rows.push(row(_('Ingest rate'), rate == null ? _('measuring…') : _('%.1f readings/s').format(rate)));
		rows.push(row(_('Readings committed'), String(ingest.committed != null ? ingest.committed : '-')));
		rows.push(row(_('Last commit'), formatTime(ingest.last_commit)));
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
		// The upstream section of the health body: backlog, lag and connection state as the
		// daemon reports them.
		if (health.upstream && typeof health.upstream === 'object') {
			Object.keys(health.upstream).sort().forEach(function(key) {
				var value = health.upstream[key];
				rows.push(row(_('Upstream') + ' ' + key.replace(/_/g, ' '),
					(value !== null && typeof value === 'object') ? JSON.stringify(value) : String(value)));
			});
		}
		else {
			rows.push(row(_('Upstream'), _('no upstream figures from this daemon version')));
		}
		return E('table', { 'class': 'table' }, rows);
	},

	renderDevices: function(reply, latest) {
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
			// Last values: the readings of each device from its last minute.
			return Promise.all((devices.items || []).map(function(dev) {
				return L.resolveDefault(callLatest(dev.id, Math.max(0, (dev.last_seen || 0) - 60000)), {});
			})).then(function(latest) {
				dom.content(document.getElementById('acs-edge-summary'), self.renderSummary(isRunning(r[0]), r[1]));
				dom.content(document.getElementById('acs-edge-devices'), self.renderDevices(devices, latest));
			});
		});
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
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Refreshed every 5 seconds. The device list needs the API token of /etc/luci-acs-edge.token once the API requires authentication.')
			]),
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
			])
		]);
		poll.add(function() { return self.refresh(); }, 5);
		return view;
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
