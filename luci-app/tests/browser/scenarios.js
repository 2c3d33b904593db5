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

module.exports = { render, text, all: [settings] };
