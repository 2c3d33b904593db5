#!/usr/bin/env node
// Stand-in of OpenWrt's `uclient-fetch` for the rpcd plugin under test, with the options the
// plugin uses (-q, -T SECONDS, -O -, --header H, URL) and its behaviour on errors: the body of
// a 2xx answer on stdout, else "HTTP error NNN" on stderr and exit status 8.
'use strict';
const http = require('http');

const argv = process.argv.slice(2), headers = {};
let url = null, timeout = 10;
for (let i = 0; i < argv.length; i++) {
	if (argv[i] === '-q') continue;
	else if (argv[i] === '-T') timeout = Number(argv[++i]);
	else if (argv[i] === '-O') i++;
	else if (argv[i] === '--header') {
		const [k, ...v] = argv[++i].split(':');
		headers[k.trim()] = v.join(':').trim();
	}
	else url = argv[i];
}
const req = http.get(url, { headers, timeout: timeout * 1000 }, (res) => {
	const chunks = [];
	res.on('data', (c) => chunks.push(c));
	res.on('end', () => {
		if (res.statusCode >= 200 && res.statusCode < 300) {
			process.stdout.write(Buffer.concat(chunks));
		}
		else {
			process.stderr.write(`HTTP error ${res.statusCode}\n`);
			process.exitCode = 8;
		}
	});
});
req.on('error', (e) => {
	process.stderr.write(`Connection error: ${e.message}\n`);
	process.exitCode = 4;
});
