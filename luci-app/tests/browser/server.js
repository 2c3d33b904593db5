// The router side of the browser test, in one node HTTP server:
//  - LuCI's real framework files (LUCI_JS) and the app's htdocs, and a page per view that
//    boots LuCI the way its dispatcher does;
//  - ubus JSON-RPC (/ubus/): `session access`, `uci` (uci-state.js, on a scratch copy of the
//    default config), `service list`, `file list`, `luci getFeatures`, and the app's object
//    `luci.acs-edge`, answered by running the REAL rpcd plugin on a scratch root, with the
//    real acs-edge binary for its passwd/token commands and stand-ins of OpenWrt's `uci` and
//    `uclient-fetch` on PATH. Calls outside the app's ACL (root/usr/share/rpcd/acl.d) fail
//    with ubus' "access denied", as rpcd does;
//  - the dispatcher's apply endpoints (admin/uci/apply_rollback, confirm);
//  - a fake daemon REST API (fake-api.js) that accepts only the bearer tokens whose hash the
//    config held at the last reload of the init-script stand-in.
// Every ubus call and its answer is recorded in `calls` for the test to check.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const { execFile } = require('child_process');
const { UciState } = require('./uci-state');
const { FakeApi } = require('./fake-api');

const APP = path.resolve(__dirname, '../..');
const PLUGIN = path.join(APP, 'root/usr/libexec/rpcd/luci.acs-edge');
const ACL = JSON.parse(fs.readFileSync(path.join(APP, 'root/usr/share/rpcd/acl.d/luci-app-acs-edge.json'), 'utf8'));
const TYPES = { '.js': 'application/javascript', '.css': 'text/css', '.html': 'text/html', '.json': 'application/json' };

// Methods of an ubus object that some ACL group of the app grants (read or write).
function granted(object, method) {
	return Object.values(ACL).some((group) => ['read', 'write'].some((mode) =>
		((group[mode] || {}).ubus || {})[object] && group[mode].ubus[object].includes(method)));
}

function page(view) {
	const env = {
		media: '/luci-static/bootstrap', resource: '/luci-static/resources', scriptname: '/cgi-bin/luci',
		pathinfo: `/admin/services/acs-edge/${view}`, dispatchpath: ['admin', 'services', 'acs-edge', view],
		requestpath: ['admin', 'services', 'acs-edge', view], nodespec: { satisfied: true },
		ubuspath: '/ubus/', sessionid: '0123456789abcdef0123456789abcdef', token: 'csrf-token',
		apply_rollback: 30, apply_holdoff: 0, apply_timeout: 5, apply_display: 0.2,
		rollback_token: null, documentroot: '/www', pollinterval: 5
	};
	return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>acs-edge ${view}</title>
<script>window.addEventListener('error', function(e) { window.__uncaught = e.message; });
window.addEventListener('unhandledrejection', function(e) { window.__uncaught = String(e.reason); });</script>
<script src="/luci-static/resources/cbi.js"></script>
<script src="/luci-static/resources/luci.js"></script>
<script>L = new LuCI(${JSON.stringify(env)});</script></head>
<body><div id="maincontent"><div id="view"></div></div>
<script>L.require('ui').then(function(ui) { ui.instantiateView('acs-edge/${view}'); });</script>
</body></html>`;
}

class Router {
	// luciJs: directory holding luci-static/; root: scratch root (etc/config/acs-edge made
	// here); bin: the acs-edge binary.
	constructor({ luciJs, root, bin, configText }) {
		this.luciJs = luciJs;
		this.root = root;
		this.calls = [];
		this.applied = [];
		this.config = path.join(root, 'etc/config/acs-edge');
		fs.mkdirSync(path.join(root, 'etc/config'), { recursive: true });
		fs.mkdirSync(path.join(root, 'etc/init.d'), { recursive: true });
		fs.mkdirSync(path.join(root, 'shims'), { recursive: true });
		this.initLog = path.join(root, 'init.log');
		fs.writeFileSync(this.initLog, '');
		fs.writeFileSync(path.join(root, 'etc/init.d/acs-edge'), `#!/bin/sh\necho "$1" >>'${this.initLog}'\n`, { mode: 0o755 });
		fs.symlinkSync(path.join(__dirname, 'shim-uci.js'), path.join(root, 'shims/uci'));
		fs.symlinkSync(path.join(__dirname, 'shim-uclient-fetch.js'), path.join(root, 'shims/uclient-fetch'));
		fs.symlinkSync(path.resolve(bin), path.join(root, 'shims/acs-edge'));
		this.uci = new UciState(this.config);
		this.api = new FakeApi(this.config, this.initLog);
		this.setConfig(configText);
	}

	setConfig(text) {
		fs.writeFileSync(this.config, text);
	}

	// Runs the real plugin as rpcd does: `luci.acs-edge call METHOD`, the arguments as JSON on
	// stdin (rpcd's blobmsg formatting puts spaces after ':' and ',').
	plugin(method, args) {
		return new Promise((resolve) => {
			const env = Object.assign({}, process.env, {
				ACS_EDGE_ROOT: this.root,
				PATH: `${path.join(this.root, 'shims')}:${process.env.PATH}`
			});
			const child = execFile('sh', [PLUGIN, 'call', method], { env, timeout: 15000 }, (err, stdout, stderr) => {
				let reply;
				try { reply = JSON.parse(stdout); }
				catch (e) { reply = { plugin_output_not_json: stdout, stderr: stderr, exit: err && err.code }; }
				resolve(reply);
			});
			child.stdin.end(JSON.stringify(args || {}).replace(/":/g, '": ').replace(/,"/g, ', "') + '\n');
		});
	}

	async ubus(object, method, args) {
		if (object === 'session' && method === 'access') return [0, { access: true }];
		if (object === 'uci') {
			const out = this.uci.call(method, args || {});
			return out ? [0, out] : [3];
		}
		if (object === 'luci' && method === 'getFeatures') return [0, {}];
		if (object === 'file' && method === 'list') return [0, { entries: [] }];
		if (!granted(object, method)) return [6]; // UBUS_STATUS_PERMISSION_DENIED
		if (object === 'service' && method === 'list')
			return [0, { 'acs-edge': { instances: { instance1: { running: true, pid: 1234 } } } }];
		if (object === 'luci.acs-edge') return [0, await this.plugin(method, args)];
		return [4]; // UBUS_STATUS_NOT_FOUND
	}

	async rpc(msg) {
		if (msg.method === 'list') return { jsonrpc: '2.0', id: msg.id, result: { 'luci.acs-edge': {} } };
		const [, object, method, args] = msg.params;
		const result = await this.ubus(object, method, args);
		this.calls.push({ object, method, args, result: result[1], status: result[0] });
		return { jsonrpc: '2.0', id: msg.id, result };
	}

	handle(req, res) {
		const url = new URL(req.url, 'http://x');
		let body = '';
		req.on('data', (c) => { body += c; });
		req.on('end', async() => {
			const send = (status, type, data) => {
				res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
				res.end(data);
			};
			const p = url.pathname;
			if (p.startsWith('/api/v1/')) return this.api.handle(req, url, send);
			if (p === '/ubus/' || p === '/ubus') {
				const msg = JSON.parse(body);
				const out = Array.isArray(msg) ? await Promise.all(msg.map((m) => this.rpc(m))) : await this.rpc(msg);
				return send(200, 'application/json', JSON.stringify(out));
			}
			let m = p.match(/^\/cgi-bin\/luci\/admin\/services\/acs-edge\/(\w+)$/);
			if (m) return send(200, 'text/html', page(m[1]));
			m = p.match(/^\/cgi-bin\/luci\/admin\/uci\/(apply_rollback|apply_unchecked|confirm|revert)$/);
			if (m) {
				this.applied.push(m[1]);
				if (m[1].startsWith('apply')) {
					this.uci.call('apply', {});
					return m[1] === 'apply_rollback' ? send(200, 'application/json', '{"token":"rollback"}') : send(204, 'text/plain', '');
				}
				return send(204, 'text/plain', '');
			}
			// ui.changes asks /usr/libexec/luci-peeraddr through cgi-exec before applying.
			if (p === '/cgi-bin/cgi-exec') return send(200, 'application/json', '{}');
			if (p === '/favicon.ico') return send(204, 'image/x-icon', '');
			if (p === '/cgi-bin/luci/admin/menu') return send(200, 'application/json', '{}');
			m = p.match(/^\/luci-static\/resources\/(view\/acs-edge\/\w+\.js)$/);
			const file = m ? path.join(APP, 'htdocs/luci-static/resources', m[1])
				: p.startsWith('/luci-static/') ? path.join(this.luciJs, p) : null;
			if (file && !file.includes('..') && fs.existsSync(file))
				return send(200, TYPES[path.extname(file)] || 'application/octet-stream', fs.readFileSync(file));
			send(404, 'text/plain', 'not found');
		});
	}

	listen() {
		this.server = http.createServer((req, res) => this.handle(req, res));
		return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
			this.port = this.server.address().port;
			// The plugin reaches the fake API where api.listen says the daemon listens.
			const text = fs.readFileSync(this.config, 'utf8').replace(/option listen '[^']*'/, `option listen '127.0.0.1:${this.port}'`);
			this.setConfig(text);
			resolve(this.port);
		}));
	}

	close() {
		this.server.close();
	}
}

module.exports = { Router };
