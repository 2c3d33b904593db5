// Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
// requests on fd 3, replies and events on fd 4, each message JSON ended by a NUL byte), so the
// test needs no npm package. One page; its console errors, uncaught exceptions and failed
// loads are collected in `problems`.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

class Chromium {
	static async launch(binary) {
		const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'luci-chromium-'));
		const child = spawn(binary, [
			'--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
			'--no-first-run', '--disable-extensions', '--remote-debugging-pipe',
			`--user-data-dir=${profile}`, 'about:blank'
		], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
		const browser = new Chromium(child, profile);
		const { targetId } = await browser.send('Target.createTarget', { url: 'about:blank' });
		const { sessionId } = await browser.send('Target.attachToTarget', { targetId, flatten: true });
		browser.session = sessionId;
		await browser.send('Runtime.enable', {}, sessionId);
		await browser.send('Log.enable', {}, sessionId);
		await browser.send('Page.enable', {}, sessionId);
		return browser;
	}

	constructor(child, profile) {
		this.child = child;
		this.profile = profile;
		this.nextId = 1;
		this.pending = new Map();
		this.problems = [];
		this.stderr = '';
		child.stderr.on('data', (c) => { this.stderr = (this.stderr + c).slice(-4000); });
		let buffer = Buffer.alloc(0);
		child.stdio[4].on('data', (chunk) => {
			buffer = Buffer.concat([buffer, chunk]);
			let end;
			while ((end = buffer.indexOf(0)) >= 0) {
				this.dispatch(JSON.parse(buffer.subarray(0, end).toString('utf8')));
				buffer = buffer.subarray(end + 1);
			}
		});
		child.on('exit', (code) => {
			for (const { reject } of this.pending.values())
				reject(new Error(`chromium exited (${code}): ${this.stderr}`));
			this.pending.clear();
		});
	}

	dispatch(msg) {
		if (msg.id && this.pending.has(msg.id)) {
			const { resolve, reject } = this.pending.get(msg.id);
			this.pending.delete(msg.id);
			return msg.error ? reject(new Error(`${msg.error.message} ${msg.error.data || ''}`)) : resolve(msg.result);
		}
		const p = msg.params || {};
		if (msg.method === 'Runtime.exceptionThrown')
			this.problems.push(`uncaught: ${(p.exceptionDetails.exception || {}).description || p.exceptionDetails.text}`);
		else if (msg.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert'))
			this.problems.push(`console.${p.type}: ${p.args.map((a) => a.value ?? a.description).join(' ')}`);
		else if (msg.method === 'Log.entryAdded' && p.entry.level === 'error')
			this.problems.push(`log: ${p.entry.text} ${p.entry.url || ''}`);
	}

	send(method, params, sessionId) {
		const id = this.nextId++;
		const msg = { id, method, params: params || {} };
		if (sessionId) msg.sessionId = sessionId;
		return new Promise((resolve, reject) => {
			this.pending.set(id, { resolve, reject });
			this.child.stdio[3].write(JSON.stringify(msg) + '\0');
		});
	}

	async goto(url) {
		this.problems = [];
		await this.send('Page.navigate', { url }, this.session);
	}

	// The value of a JS expression in the page (promises awaited); throws on an exception.
	async eval(expression) {
		const r = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, this.session);
		if (r.exceptionDetails)
			throw new Error(`in page: ${(r.exceptionDetails.exception || {}).description || r.exceptionDetails.text}`);
		return r.result.value;
	}

	// Polls a page expression until it is truthy; its last value, or null after `ms`.
	async waitFor(expression, ms) {
		const deadline = Date.now() + (ms || 8000);
		for (;;) {
			const v = await this.eval(expression).catch(() => null);
			if (v || Date.now() > deadline) return v || null;
			await new Promise((r) => setTimeout(r, 100));
		}
	}

	async close() {
		const exited = new Promise((r) => this.child.once('exit', r));
		this.child.kill('SIGKILL');
		await exited;
		fs.rmSync(this.profile, { recursive: true, force: true });
	}
}

module.exports = { Chromium };
