// The browser test's scenarios (see run.js). Each gets { router, browser, check, base }.
'use strict';

const fs = require('fs');
const { parse } = require('./uci-state');

// Opens a view and waits until LuCI rendered it (the view's footer or its content appeared)
// or reported an error; checks that nothing went wrong on the way.
async function render(t, view, ready) {
	await t.browser.goto(`${t.base}/${view}`);
	const state = await t.browser.waitFor(`(function() {
		var v = document.getElementById('view');
		if (window.__uncaught) return 'error: ' + window.__uncaught;
		if (!v) return null;
		if (v.querySelector('.alert-message.error, .alert-message.danger, pre.error')) return 'error: ' + v.innerText;
		return (${ready}) ? 'ready' : null;
	})()`, 10000);
	const problems = t.browser.problems.slice();
	t.check(`${view}: renders in real LuCI`, state === 'ready',
		`${state || 'timed out; view: ' + await t.browser.eval("document.getElementById('view').innerText").catch(() => '?')}\n${problems.join('\n')}`);
	t.check(`${view}: no console error or uncaught exception`, problems.length === 0, problems.join('\n'));
	return state === 'ready';
}

const text = (t, selector) => t.browser.eval(`(document.querySelector(${JSON.stringify(selector)}) || {}).innerText || ''`);

async function settings(t) {
	const before = parse(fs.readFileSync(t.router.config, 'utf8'));
	if (!await render(t, 'settings', "v.querySelector('.cbi-map') && v.querySelector('.cbi-page-actions')"))
		return;
	const tabs = await t.browser.eval(`Array.from(document.querySelectorAll('.cbi-tabmenu li')).map(function(li) { return li.innerText.trim(); }).join('|')`);
	t.check('settings: the section tabs are there (General ... Bluetooth LE)', /General/.test(tabs) && /Bluetooth LE/.test(tabs) && /Devices/.test(tabs), tabs);

	// Change one value and Save & Apply.
	const setTo = await t.browser.eval(`(function() {
		var input = document.getElementById('widget.cbid.acs-edge.store.max_rows');
		if (!input) return 'no max_rows input';
		input.value = '250000';
		input.dispatchEvent(new Event('input', { bubbles: true }));
		input.dispatchEvent(new Event('change', { bubbles: true }));
		var button = Array.from(document.querySelectorAll('.cbi-page-actions .cbi-button-apply'))
			.find(function(b) { return /Save & Apply/.test(b.innerText); });
		if (!button) return 'no Save & Apply button';
		button.click();
		return 'clicked';
	})()`);
	t.check('settings: Save & Apply clicked after changing store.max_rows', setTo === 'clicked', setTo);
	const deadline = Date.now() + 8000;
	while (Date.now() < deadline && !t.router.applied.includes('confirm'))
		await new Promise((r) => setTimeout(r, 100));
	const set = t.router.calls.find((c) => c.object === 'uci' && c.method === 'set' && c.args.section === 'store');
	t.check('settings: ubus received uci set store.max_rows = 250000', set && set.args.values.max_rows === '250000',
		JSON.stringify(t.router.calls.filter((c) => c.object === 'uci' && c.method !== 'get')));
	t.check('settings: the apply endpoint was called and confirmed', t.router.applied[0] === 'apply_rollback' && t.router.applied.includes('confirm'),
		JSON.stringify(t.router.applied));
	const file = fs.readFileSync(t.router.config, 'utf8');
	t.check("settings: the UCI file holds option max_rows '250000'", /config store 'store'\n(\t.*\n)*\toption max_rows '250000'\n/.test(file), file);
	// The form drops options equal to their default (rmempty): only max_rows may differ.
	const after = parse(file), changed = [];
	for (const s of before) {
		const now = after.find((x) => x.name === s.name) || { options: {} };
		for (const [k, v] of Object.entries(s.options))
			if (k in now.options && JSON.stringify(now.options[k]) !== JSON.stringify(v) && k !== 'max_rows') changed.push(`${s.name}.${k}`);
	}
	t.check('settings: no other option changed by the save', changed.length === 0, changed.join(', '));
	t.check('settings: the page shows no error after applying', t.browser.problems.length === 0, t.browser.problems.join('\n'));
}


const crypto = require('crypto');
const { DAY } = require('./fake-api');

const pluginCalls = (t, method) => t.router.calls.filter((c) => c.object === 'luci.acs-edge' && c.method === method);
const sections = (t, type) => parse(fs.readFileSync(t.router.config, 'utf8')).filter((s) => s.type === type);
const initCalls = (t) => fs.readFileSync(t.router.initLog, 'utf8').split('\n').filter(Boolean);

async function until(condition, ms) {
	const deadline = Date.now() + (ms || 8000);
	while (!condition() && Date.now() < deadline)
		await new Promise((r) => setTimeout(r, 100));
	return condition();
}

// A fresh install: no user, no token file. The status page points to "create the first user"
// and its device table works at once: the plugin made LuCI's token itself.
async function firstVisit(t) {
	if (!await render(t, 'status', "document.querySelector('#acs-edge-devices table')"))
		return;
	const notice = await text(t, '#acs-edge-first-user');
	t.check('status (fresh install): walks the owner to "create the first user"', /Create the first user/.test(notice) && !/ssh/.test(notice), notice);
	const table = await text(t, '#acs-edge-devices');
	t.check('status (fresh install): the device table lists the devices with no token file made by hand',
		/greenhouse-1/.test(table) && /cellar-2/.test(table), table);
	const token = fs.existsSync(t.router.root + '/etc/luci-acs-edge.token') ? fs.readFileSync(t.router.root + '/etc/luci-acs-edge.token', 'utf8').trim() : '';
	const luci = sections(t, 'api_token').find((s) => s.name === 'luci');
	t.check('status (fresh install): the plugin made API token "luci" with acs-edge token create, kept its plain text root-only, and reloaded the daemon',
		luci && luci.options.token_hash === 'sha256:' + crypto.createHash('sha256').update(token).digest('hex') &&
		(fs.statSync(t.router.root + '/etc/luci-acs-edge.token').mode & 0o077) === 0 && initCalls(t).includes('reload'),
		JSON.stringify({ luci, token, init: initCalls(t) }));
	t.check('status (fresh install): the token never reached the browser',
		!t.router.calls.some((c) => JSON.stringify(c.result || {}).includes(token)), token);
}

async function access(t) {
	if (!await render(t, 'access', "document.getElementById('acs-edge-set-password')"))
		return;
	t.check('access (fresh install): offers to create the first user',
		/Create the first user/.test(await text(t, '#acs-edge-set-password')) && /No user yet/.test(await text(t, '#acs-edge-first-user')));
	const fill = (values, button) => t.browser.eval(`(function() {
		var v = ${JSON.stringify(values)};
		Object.keys(v).forEach(function(id) { document.getElementById(id).value = v[id]; });
		document.getElementById(${JSON.stringify(button)}).click();
	})()`);
	const hashOf = (user) => ((sections(t, 'user').find((s) => s.name === user) || {}).options || {}).password_hash;

	await fill({ 'acs-edge-user': 'owner', 'acs-edge-password': 'correct horse €', 'acs-edge-password2': 'correct horse €' }, 'acs-edge-set-password');
	await until(() => pluginCalls(t, 'passwd').length === 1);
	await t.browser.waitFor("!document.getElementById('acs-edge-first-user') && /owner/.test(document.getElementById('acs-edge-access').innerText)");
	const first = pluginCalls(t, 'passwd')[0] || { args: {} };
	t.check('access: "Create the first user" ran acs-edge passwd through the plugin (password hex-encoded, never in clear in the call)',
		first.status === 0 && first.result.result === true && first.args.user === 'owner' &&
		first.args.password_hex === Buffer.from('correct horse €').toString('hex') && !JSON.stringify(first.args).includes('correct horse'),
		JSON.stringify(first));
	const hash1 = hashOf('owner');
	t.check('access: the config holds a password hash for user owner, and the page lists the user', !!hash1 &&
		/owner/.test(await text(t, '#acs-edge-access')), fs.readFileSync(t.router.config, 'utf8'));

	await fill({ 'acs-edge-user': 'owner', 'acs-edge-password': 'second password', 'acs-edge-password2': 'second password' }, 'acs-edge-set-password');
	await until(() => pluginCalls(t, 'passwd').length === 2);
	await until(() => hashOf('owner') !== hash1, 3000);
	t.check('access: changing the password writes a new hash', hashOf('owner') && hashOf('owner') !== hash1);

	await fill({ 'acs-edge-user': 'bad user', 'acs-edge-password': 'x', 'acs-edge-password2': 'x' }, 'acs-edge-set-password');
	t.check('access: a bad name or a short password is refused before any call', pluginCalls(t, 'passwd').length === 2);

	await fill({ 'acs-edge-token-name': 'grafana' }, 'acs-edge-create-token');
	const shown = await t.browser.waitFor("(document.getElementById('acs-edge-new-token') || {}).innerText");
	const grafana = sections(t, 'api_token').find((s) => s.name === 'grafana');
	t.check('access: a new token is shown once and the config keeps only its hash',
		shown && grafana && grafana.options.token_hash === 'sha256:' + crypto.createHash('sha256').update(shown.trim()).digest('hex') &&
		!fs.readFileSync(t.router.config, 'utf8').includes(shown.trim()), JSON.stringify({ shown, grafana }));
	await t.browser.eval('L.ui.hideModal()').catch(() => t.browser.eval("document.querySelector('.modal button').click()"));
	await t.browser.waitFor("document.querySelector('[data-token=grafana]')");
	await t.browser.eval("document.querySelector('[data-token=grafana]').click()");
	await until(() => pluginCalls(t, 'token_revoke').length === 1);
	await t.browser.waitFor("!document.querySelector('[data-token=grafana]')");
	t.check('access: Revoke runs acs-edge token revoke: the token is gone from the config and the page',
		!sections(t, 'api_token').some((s) => s.name === 'grafana') && sections(t, 'api_token').some((s) => s.name === 'luci'));
	t.check('access: every credential call was allowed by the access ACL group only',
		['passwd', 'token_create', 'token_revoke'].every((m) => pluginCalls(t, m).every((c) => c.status === 0)) &&
		!JSON.stringify(require('../../root/usr/share/rpcd/acl.d/luci-app-acs-edge.json')['luci-app-acs-edge']).match(/passwd|token_/));
	t.check('access: no console error or uncaught exception', t.browser.problems.length === 0, t.browser.problems.join('\n'));
}

async function status(t) {
	// The status page again, now that a user exists.
	if (!await render(t, 'status', "/greenhouse-1/.test((document.getElementById('acs-edge-devices') || {}).innerText || '')"))
		return;
	const api = t.router.api;
	const last = (device, metric) => api.readings.filter((r) => r.device === device && r.metric === metric).pop().value;
	const devices = await text(t, '#acs-edge-devices');
	t.check('status: "Last values" shows the latest reading of a device whose clock is 3 days behind',
		devices.includes(`co2 = ${last('cellar-2', 'co2')}`), devices);
	t.check('status: "Last values" of a device with a right clock',
		devices.includes(`temperature = ${last('greenhouse-1', 'temperature')}`), devices);
	t.check('status: no first-user notice once a user exists', !await text(t, '#acs-edge-first-user'));
	const summary = await text(t, '#acs-edge-summary');
	t.check('status: upstream fields in words ("never" synced, "none" for no error, the state), no raw null',
		/Upstream last sync\s+never/.test(summary) && /Upstream last error\s+none/.test(summary) && /Upstream\s+backoff/.test(summary) &&
		!/\bnull\b|undefined|NaN/.test(summary), summary);
	t.check('status: health "degraded" with its reason', /degraded: mqtt: broker unreachable/.test(summary), summary);

	for (const [range, label] of [[DAY, '24 hours'], [7 * DAY, '7 days']]) {
		const before = pluginCalls(t, 'history').length;
		await t.browser.eval(`(function() {
			var d = document.getElementById('acs-edge-chart-device');
			d.value = 'greenhouse-1';
			d.dispatchEvent(new Event('change'));
			document.getElementById('acs-edge-chart-metric').value = 'temperature';
			document.getElementById('acs-edge-chart-range').value = '${range}';
			document.getElementById('acs-edge-chart-show').click();
		})()`);
		const figures = await t.browser.waitFor("document.querySelector('#acs-edge-chart polyline') && document.querySelector('.acs-edge-chart-figures').innerText");
		const calls = pluginCalls(t, 'history').slice(before);
		const from = Math.min(...calls.map((c) => c.args.from)), to = Math.max(...calls.map((c) => c.args.to));
		const values = api.readings.filter((r) => r.device === 'greenhouse-1' && r.metric === 'temperature' && r.ts >= from && r.ts < to).map((r) => r.value);
		const num = (v) => String(Number(v.toPrecision(6)));
		const expected = `min ${num(Math.min(...values))}, max ${num(Math.max(...values))}, last ${num(values[values.length - 1])} (${values.length} readings)`;
		const points = await t.browser.eval("(function(p) { return p ? p.getAttribute('points').trim().split(/\\s+/).length : 0; })(document.querySelector('#acs-edge-chart polyline'))");
		if (!figures)
			console.log(`     chart: ${await text(t, '#acs-edge-chart')}; metric choices: ${await t.browser.eval("document.getElementById('acs-edge-chart-metric').innerHTML")}; calls ${JSON.stringify(calls)}`);
		t.check(`status: the ${label} chart draws every reading as an SVG line with min/max/last`,
			figures && figures.includes(expected) && points === values.length && to - from === range,
			JSON.stringify({ figures, expected, points, calls: calls.length }));
		if (range === DAY)
			t.check('status: the chart asks for rollups (step) first and pages raw readings when the API has none',
				calls[0] && calls[0].args.step > 0 && /400/.test(calls[0].result.error) && calls.slice(1).every((c) => !c.args.step));
		else
			t.check('status: 7 days of readings come in pages (cursor)', calls.some((c) => c.args.cursor) && values.length > 1000,
				JSON.stringify(calls.map((c) => c.args)));
	}
	t.check('status: no console error or uncaught exception', t.browser.problems.length === 0, t.browser.problems.join('\n'));
}

module.exports = { render, text, all: [settings, firstVisit, access, status] };
