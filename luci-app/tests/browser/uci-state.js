// A UCI config file and the staged changes of rpcd's `uci` object, for the fake ubus of the
// browser test. The file is the truth: it is read again on every call, because the daemon's own
// CLI (run by the real rpcd plugin) edits it underneath, as on a router. Staged changes live
// in memory until `commit` (what LuCI's apply does) writes them into the file.
'use strict';

const fs = require('fs');

// 'it''s' style quoting as uci writes it: 'a'\''b'.
function unquote(word) {
	let out = '', i = 0;
	while (i < word.length) {
		const q = word[i];
		if (q === "'" || q === '"') {
			const end = word.indexOf(q, i + 1);
			if (end < 0) throw new Error(`unterminated quote in ${word}`);
			out += word.slice(i + 1, end);
			i = end + 1;
		}
		else if (q === '\\') {
			out += word[i + 1];
			i += 2;
		}
		else {
			out += q;
			i++;
		}
	}
	return out;
}

function words(line) {
	return (line.match(/(?:'[^']*'|"[^"]*"|\\.|[^\s'"\\])+/g) || []).map(unquote);
}

// [{name, type, anonymous, options: {name: string | [string]}}] in file order.
function parse(text) {
	const sections = [];
	let current = null, anon = 0;
	for (const raw of text.split('\n')) {
		const line = raw.trim();
		if (!line || line.startsWith('#')) continue;
		const [kw, a, b] = words(line);
		if (kw === 'config') {
			current = { type: a, name: b || `cfg${(++anon).toString(16).padStart(6, '0')}`, anonymous: !b, options: {} };
			sections.push(current);
		}
		else if (kw === 'option' && current) current.options[a] = b ?? '';
		else if (kw === 'list' && current) (current.options[a] = [].concat(current.options[a] || [])).push(b ?? '');
	}
	return sections;
}

const quote = (v) => `'${String(v).replace(/'/g, "'\\''")}'`;

function serialize(sections) {
	return sections.map((s) => {
		const head = `config ${s.type}${s.anonymous ? '' : ' ' + quote(s.name)}\n`;
		return head + Object.entries(s.options).map(([k, v]) => Array.isArray(v)
			? v.map((x) => `\tlist ${k} ${quote(x)}\n`).join('')
			: `\toption ${k} ${quote(v)}\n`).join('');
	}).join('\n');
}

class UciState {
	constructor(file) {
		this.file = file;
		this.staged = []; // [op, section, option|type, value]
		this.log = []; // every ubus uci call, for the test's checks
	}

	sections() {
		return parse(fs.readFileSync(this.file, 'utf8'));
	}

	// The file with the staged changes applied.
	view() {
		const sections = this.sections();
		const find = (name) => sections.find((s) => s.name === name);
		for (const [op, sec, key, value] of this.staged) {
			if (op === 'add') sections.push({ type: key, name: sec, anonymous: value, options: {} });
			else if (op === 'set' && find(sec)) find(sec).options[key] = value;
			else if (op === 'remove' && find(sec)) delete find(sec).options[key];
			else if (op === 'delete') sections.splice(sections.indexOf(find(sec)), 1);
		}
		return sections;
	}

	get() {
		const values = {};
		this.view().forEach((s, i) => {
			values[s.name] = Object.assign({ '.anonymous': s.anonymous, '.type': s.type, '.name': s.name, '.index': i }, s.options);
		});
		return { values };
	}

	call(method, args) {
		this.log.push([method, args]);
		switch (method) {
		case 'get': return this.get();
		case 'set':
			for (const [k, v] of Object.entries(args.values || {})) this.staged.push(['set', args.section, k, v]);
			return {};
		case 'add': {
			const name = args.name || `cfg${Date.now().toString(16).slice(-6)}`;
			this.staged.push(['add', name, args.type, !args.name]);
			for (const [k, v] of Object.entries(args.values || {})) this.staged.push(['set', name, k, v]);
			return { section: name };
		}
		case 'delete':
			if (args.options) args.options.forEach((o) => this.staged.push(['remove', args.section, o]));
			else if (args.option) this.staged.push(['remove', args.section, args.option]);
			else this.staged.push(['delete', args.section]);
			return {};
		case 'changes':
			return { changes: this.staged.length ? { 'acs-edge': this.staged.map((c) => c.filter((x) => x !== undefined)) } : {} };
		case 'apply': case 'commit': this.commit(); return {};
		case 'confirm': case 'rollback': case 'revert': case 'order': case 'rename': return {};
		}
		return null;
	}

	commit() {
		const text = serialize(this.view());
		this.staged = [];
		fs.writeFileSync(this.file, text);
	}
}

module.exports = { UciState, parse, serialize };
