#!/usr/bin/env node
// Stand-in of OpenWrt's `uci` for the rpcd plugin under test: only `uci [-q] get
// CONFIG.SECTION.OPTION`, read from $ACS_EDGE_ROOT/etc/config/CONFIG; exit 1 when absent.
'use strict';
const fs = require('fs');
const path = require('path');
const { parse } = require('./uci-state');

const args = process.argv.slice(2).filter((a) => a !== '-q');
const [config, section, option] = (args[1] || '').split('.');
if (args[0] !== 'get' || !option) {
	process.stderr.write(`uci stand-in: unsupported: ${process.argv.slice(2).join(' ')}\n`);
	process.exit(2);
}
const file = path.join(process.env.ACS_EDGE_ROOT || '', 'etc/config', config);
const found = parse(fs.readFileSync(file, 'utf8')).find((s) => s.name === section);
const value = found && found.options[option];
if (value === undefined)
	process.exit(1);
process.stdout.write(`${[].concat(value).join(' ')}\n`);
