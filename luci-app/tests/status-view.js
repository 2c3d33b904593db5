#!/usr/bin/env node
// Renders the status view against API bodies that a real daemon produced, the way the rpcd
// plugin luci.acs-edge hands them over (health wrapped as {"health": ...}; the device list and
// telemetry bodies as they are), and checks that what a user sees shows them: the service state,
// the committed count, the store fill, every device and its last values, and no "undefined" or
// "NaN". tests/it/luci_status_view.rs starts the daemon and calls this.
//
//   node status-view.js DIR     DIR holds health.json, devices.json, latest.json
//                               (latest.json: {"<device id>": <telemetry body>, ...})
// Prints one line per failure and "status-view: N passed, M failed"; exits 1 on any failure.
'use strict';

const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
const read = (name) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
const health = read('health.json');
const devices = read('devices.json');
const latest = read('latest.json');

// A small stand-in of LuCI's String.prototype.format for the conversions the view uses:
// %s %d %.Nf %t (seconds as a duration) %1024.Nm (bytes with binary units).
String.prototype.format = function(...args) {
	let i = 0;
	return this.replace(/%(%|(\d+)?(?:\.(\d+))?([sdftm]))/g, (all, pct, base, prec, conv) => {
		if (pct === '%') return '%';
		const v = args[i++];
		switch (conv) {
		case 's': return String(v);
		case 'd': return String(Math.trunc(Number(v)));
		case 'f': return Number(v).toFixed(prec ? Number(prec) : 6);
		case 't': return `${Math.trunc(Number(v))}s`;
		case 'm': {
			const units = ['', 'K', 'M', 'G', 'T'];
			let n = Number(v), u = 0;
			while (n >= Number(base || 1000) && u < units.length - 1) { n /= Number(base || 1000); u++; }
			return n.toFixed(prec ? Number(prec) : 2) + units[u];
		}
		}
		return all;
	});
};

function E(tag, attrs, children) {
	if (Array.isArray(attrs) || typeof attrs !== 'object' || attrs === null) {
		children = attrs;
		attrs = {};
	}
	const node = { tag, attrs, children: [] };
	if (tag === 'select') {
		node.options = [];
		node.value = '';
	}
	node.appendChild = (c) => node.children.push(c);
	for (const c of [].concat(children == null ? [] : children))
		node.children.push(c);
	return node;
}

function text(node) {
	if (node == null) return '';
	if (typeof node !== 'object') return String(node);
	return node.children.map(text).join(' | ');
}

let root = null;
function byId(node, id) {
	if (!node || typeof node !== 'object') return null;
	if (node.attrs && node.attrs.id === id) return node;
	for (const c of node.children) {
		const hit = byId(c, id);
		if (hit) return hit;
	}
	return null;
}

const replies = {
	'service.list': () => ({ 'acs-edge': { instances: { instance1: { running: true, pid: 1234 } } } }),
	'luci.acs-edge.health': () => ({ health }),
	'luci.acs-edge.devices': () => devices,
	'luci.acs-edge.latest': (device) => latest[device] || { error: `no telemetry for ${device}` },
	'luci.acs-edge.restart': () => ({ result: true })
};
const calls = [];
const rpc = {
	declare: ({ object, method }) => (...args) => {
		calls.push(`${object}.${method}`);
		const reply = replies[`${object}.${method}`];
		return reply ? Promise.resolve(reply(...args)) : Promise.reject(new Error(`no ${object}.${method}`));
	}
};
const polls = [];
const standIns = {
	view: { extend: (proto) => proto },
	rpc,
	poll: { add: (fn) => polls.push(fn) },
	ui: { createHandlerFn: () => () => {}, addNotification: () => {} },
	// One API user exists (a fresh install shows a "create the first user" notice instead).
	uci: { load: () => Promise.resolve(), sections: (config, type) => (type === 'user' ? [{ '.name': 'admin' }] : []) },
	dom: { content: (node, content) => { node.children = [].concat(content == null ? [] : content); } }
};
const L = { resolveDefault: (p, d) => Promise.resolve(p).catch(() => d), url: (...parts) => `/cgi-bin/luci/${parts.join('/')}` };
global.document = { getElementById: (id) => byId(root, id) };

async function main() {
	const file = path.join(__dirname, '..', 'htdocs', 'luci-static', 'resources', 'view', 'acs-edge', 'status.js');
	const source = fs.readFileSync(file, 'utf8');
	const requires = [...source.matchAll(/^'require ([\w.]+)';$/gm)].map((m) => m[1]);
	const view = new Function(...requires, '_', 'N_', 'E', 'L', source)(
		...requires.map((r) => standIns[r]), (s) => s, (s) => s, E, L);

	const data = await view.load();
	root = view.render(data);
	// two polls: the second one has a rate (a rate needs time between them, so they are 20 ms
	// apart; two polls in the same millisecond would still say "measuring")
	await polls[0]();
	await new Promise((resolve) => setTimeout(resolve, 20));
	await polls[0]();
	const shown = text(root);

	let passed = 0;
	const failures = [];
	const check = (ok, what) => { if (ok) passed++; else failures.push(what); };

	check(polls.length === 1, 'the view registers one poll');
	check(/\brunning\b/.test(shown) && !/not running/.test(shown), 'shows the service as running');
	check(shown.includes(String(health.ingest.committed)), `shows the committed count ${health.ingest.committed}`);
	check(shown.includes(`${health.store.rows} / ${health.store.max_rows}`), 'shows the store fill in readings');
	check(/readings\/s/.test(shown), 'shows an ingest rate');
	check(shown.includes(health.mqtt.connected ? 'connected' : 'disconnected'), 'shows the broker state');
	check(health.mqtt.subscribed === true && !/subscri/.test(shown), 'a subscribed broker shows as plainly connected');
	check(devices.items.length > 0, 'the daemon listed devices');
	for (const dev of devices.items) {
		check(shown.includes(dev.id), `shows device ${dev.id}`);
		const items = (latest[dev.id] && latest[dev.id].items) || [];
		check(items.length > 0, `the daemon returned telemetry for ${dev.id}`);
		const last = {};
		for (const r of items) last[r.metric] = r.value;
		for (const [metric, value] of Object.entries(last))
			check(shown.includes(`${metric} = ${value}`), `shows ${dev.id}'s last ${metric} = ${value}`);
	}
	check(!/undefined|NaN|\[object Object\]/.test(shown), `no undefined/NaN in the page: ${shown.match(/.{0,40}(undefined|NaN|\[object Object\]).{0,40}/)}`);
	check(calls.includes('luci.acs-edge.latest'), 'asks the plugin for last values');

	console.log(`page: ${shown}`);
	for (const f of failures)
		console.log(`FAIL ${f}`);
	console.log(`status-view: ${passed} passed, ${failures.length} failed`);
	process.exit(failures.length ? 1 : 0);
}

main().catch((e) => {
	console.log(`FAIL ${e.stack || e}`);
	console.log('status-view: 0 passed, 1 failed');
	process.exit(1);
});
