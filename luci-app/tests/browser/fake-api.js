// The daemon's REST API as the rpcd plugin sees it, for the browser test: /health (no auth),
// /devices and /telemetry (bearer token), with the daemon's rules that the views depend on:
// telemetry oldest first with keyset paging (limit <= 10000, next_cursor), unknown query
// parameters refused with 400 (today's daemon has no `step`), 401 without a valid token.
// Tokens are valid when their SHA-256 is an api_token.token_hash of the config as it was at
// the last reload or restart of the init-script stand-in, as with the real daemon's SIGHUP.
'use strict';

const fs = require('fs');
const crypto = require('crypto');
const { parse } = require('./uci-state');

const NOW = Date.now();
const MIN = 60000, HOUR = 60 * MIN, DAY = 24 * HOUR;

// greenhouse-1: a reading every 10 min for 8 days (two pages for 7 days at limit 1000) with a
// daily temperature wave; cellar-2: a device clock 3 days behind, readings every minute.
function makeReadings() {
	const out = [];
	for (let ts = NOW - 8 * DAY; ts <= NOW - MIN; ts += 10 * MIN) {
		out.push({ device: 'greenhouse-1', metric: 'temperature', ts, value: Math.round(200 + 50 * Math.sin(ts / DAY * 2 * Math.PI)) / 10 });
		out.push({ device: 'greenhouse-1', metric: 'humidity', ts, value: 40.25 });
	}
	for (let i = 120; i >= 1; i--)
		out.push({ device: 'cellar-2', metric: 'co2', ts: NOW - 3 * DAY - i * MIN, value: 800 + i });
	out.sort((a, b) => a.ts - b.ts);
	out.forEach((r, i) => { r.seq = i + 1; });
	return out;
}

const DEVICES = [
	{ id: 'cellar-2', name: null, transport: 'mqtt', first_seen: NOW - 2 * HOUR, last_seen: NOW - MIN, online: true, enabled: true, metadata: {} },
	{ id: 'greenhouse-1', name: 'Greenhouse', transport: 'ble', first_seen: NOW - 8 * DAY, last_seen: NOW - MIN, online: true, enabled: true, metadata: {} }
];

const HEALTH = {
	status: 'degraded', reasons: ['mqtt: broker unreachable'], version: '0.1.0', gateway_id: 'router', uptime_s: 3723,
	store: { rows: 2424, oldest_seq: 1, next_seq: 2425, file_bytes: 524288, used_bytes: 400000, wal_bytes: 0, max_rows: 1000000, max_bytes: 4194304, evicted_total: 0, evicted_unsynced: 0, devices: 2, metrics: 3 },
	ingest: { committed: 2424, last_commit: NOW - MIN },
	mqtt: { connected: false, subscribed: false, last_error: 'connection refused', malformed: {} },
	upstream: { state: 'backoff', last_error: null, backlog: 2424, lag_s: 0, last_sync_ms: null, evicted_unsynced: 0, sent_total: 0, cursor: 0, connects: 0 }
};

class FakeApi {
	constructor(config, initLog) {
		this.config = config;
		this.initLog = initLog;
		this.seenReloads = -1;
		this.hashes = new Set();
		this.readings = makeReadings();
		this.requests = [];
	}

	// Re-reads the token hashes when the init script was called since the last look.
	tokens() {
		const reloads = fs.readFileSync(this.initLog, 'utf8').split('\n').filter((l) => /^(reload|restart|start)$/.test(l)).length;
		if (reloads !== this.seenReloads) {
			this.seenReloads = reloads;
			this.hashes = new Set(parse(fs.readFileSync(this.config, 'utf8'))
				.filter((s) => s.type === 'api_token' && s.options.enabled !== '0').map((s) => s.options.token_hash));
		}
		return this.hashes;
	}

	telemetry(q) {
		const allowed = ['device', 'metric', 'from', 'to', 'limit', 'cursor'];
		for (const key of q.keys())
			if (!allowed.includes(key)) return [400, { error: { code: 'bad_request', message: `unknown query parameter ${JSON.stringify(key)}; allowed: ${allowed.join(', ')}` } }];
		const limit = Math.min(Number(q.get('limit') || 100), 10000);
		const from = q.has('from') ? Number(q.get('from')) : -Infinity, to = q.has('to') ? Number(q.get('to')) : Infinity;
		const after = q.has('cursor') ? Number(q.get('cursor').split('_')[1]) : 0;
		const hits = this.readings.filter((r) => (!q.has('device') || r.device === q.get('device')) &&
			(!q.has('metric') || r.metric === q.get('metric')) && r.ts >= from && r.ts < to && r.seq > after);
		const page = hits.slice(0, limit);
		const next = hits.length > limit ? `${page[limit - 1].ts}_${page[limit - 1].seq}` : null;
		return [200, { items: page.map(({ device, metric, ts, value }) => ({ device, metric, ts, value })), next_cursor: next }];
	}

	handle(req, url, send) {
		const route = url.pathname.slice('/api/v1'.length);
		const auth = (req.headers.authorization || '').match(/^Bearer (\S+)$/);
		const ok = auth && this.tokens().has('sha256:' + crypto.createHash('sha256').update(auth[1]).digest('hex'));
		this.requests.push({ path: route + url.search, authorized: !!ok });
		const reply = (status, body) => send(status, 'application/json', JSON.stringify(body));
		if (route === '/health') return reply(200, HEALTH);
		if (!ok) return reply(401, { error: { code: 'unauthorized', message: 'missing or invalid bearer token' } });
		if (route === '/devices') return reply(200, { items: DEVICES, next_cursor: null });
		if (route === '/telemetry') return reply(...this.telemetry(url.searchParams));
		reply(404, { error: { code: 'not_found', message: route } });
	}
}

module.exports = { FakeApi, NOW, DAY };
