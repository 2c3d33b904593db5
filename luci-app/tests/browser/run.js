#!/usr/bin/env node
// The LuCI app in real LuCI: every view rendered by LuCI's own framework files in headless
// Chromium against the fake router of server.js, with no console error and no uncaught
// exception, then the flows a router owner uses:
//   settings  change a value, Save & Apply: the uci set reaches ubus, the apply endpoint is
//             called, and the UCI file holds the new value;
//   access    a fresh install walks to "create the first user"; creating it and changing its
//             password run the real `acs-edge passwd` (through the real rpcd plugin); a token
//             is created (shown once) and revoked with `acs-edge token`;
//   status    the device table fills with no token file made by hand (the plugin makes LuCI's
//             token), "Last values" shows a device whose clock is 3 days behind, upstream
//             fields read as words, and the history chart draws 24 h and 7 days.
//
//   node run.js LUCI_JS CHROMIUM ACS_EDGE_BIN CONFIG
// Prints "ok ..." / "FAIL ..." lines and "luci-browser: N passed, M failed".
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { Router } = require('./server');
const { Chromium } = require('./chromium');
const scenarios = require('./scenarios');

async function main() {
	const [luciJs, chromium, bin, config] = process.argv.slice(2);
	const root = fs.mkdtempSync(path.join(os.tmpdir(), 'luci-router-'));
	const router = new Router({ luciJs, root, bin, configText: fs.readFileSync(config, 'utf8') });
	const port = await router.listen();
	const browser = await Chromium.launch(chromium);
	let passed = 0, failed = 0;
	const check = (what, ok, detail) => {
		if (ok) passed++;
		else failed++;
		console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
		if (!ok && detail) console.log(String(detail).replace(/^/gm, '     '));
	};
	const t = { router, browser, check, base: `http://127.0.0.1:${port}/cgi-bin/luci/admin/services/acs-edge` };
	try {
		for (const scenario of scenarios.all)
			await scenario(t).catch((e) => check(`${scenario.name} ran to its end`, false, e.stack));
	}
	finally {
		await browser.close();
		router.close();
		fs.rmSync(root, { recursive: true, force: true });
	}
	console.log(`luci-browser: ${passed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
}

main().catch((e) => {
	console.error(e.stack);
	console.log('luci-browser: 0 passed, 1 failed');
	process.exit(1);
});
