#!/usr/bin/env node
// Contract test between the LuCI settings form and the daemon's config schema.
//
//   node contract.js SCHEMA_FILE      (SCHEMA_FILE = the output of `acs-edge print-config`)
//
// The settings view is compiled the way LuCI's loader compiles it (the file's text as the body
// of a Function whose parameters are the classes named by its 'require' lines) and rendered
// against a recording stand-in of LuCI's form API. What the form edits is then compared with
// the schema:
//   - every option the form edits exists in the schema, in a section of the same type;
//   - every schema option is edited by the form, except the EXEMPT ones;
//   - the form's default equals the schema's default, and the default passes the form's own
//     validation;
//   - the kind matches the schema's documentation: "Boolean" -> Flag, "N to M" -> a Value with
//     datatype range(N,M) (or port for 1 to 65535), a list of words -> a ListValue with exactly
//     those words, "Never logged" -> a password field, "`list NAME '...'`" -> a DynamicList (and
//     a DynamicList only for such an option);
//   - every title and description is translatable (wrapped in _()).
// Prints one line per problem and "contract: N passed, M failed"; exits 1 on any failure.
'use strict';

const fs = require('fs');
const path = require('path');

// Options the command line writes and the form must never show or edit.
const EXEMPT = new Set([
	'user.password_hash',   // `acs-edge passwd USER`
	'api_token.token_hash'  // API tokens are created by the CLI; only their hash is stored
]);

const VIEW = path.join(__dirname, '..', 'htdocs', 'luci-static', 'resources', 'view', 'acs-edge', 'settings.js');

// --- the schema: sections, options, defaults and the doc comment above each option ---------
function parseSchema(text) {
	const options = new Map();  // "type.name" -> { value, doc, required }
	const sections = new Set();
	let type = null, doc = [];
	// Documentation of a repeated section's options ("# option mac (required):" and the
	// indented lines after it), for the template's option lines that follow.
	let templateDocs = new Map(), templateOption = null, inTemplate = false;
	for (const raw of text.split('\n')) {
		const line = raw.trim();
		let m;
		if ((m = line.match(/^# option ([a-z0-9_]+)( \(required\))?:$/))) {
			templateOption = { name: m[1], required: Boolean(m[2]), doc: [] };
			templateDocs.set(m[1], templateOption);
			continue;
		}
		if (templateOption && (m = raw.match(/^#   (.*)$/))) {
			templateOption.doc.push(m[1]);
			continue;
		}
		templateOption = null;
		// Commented-out templates of repeated sections ("#config user 'name'",
		// "#	option password_hash '...'") count as schema too; their options take the
		// default their documentation states, not the example's value.
		const body = line.replace(/^#\s*(?=(config|option|list)\s)/, '');
		if ((m = body.match(/^config\s+([a-z0-9_]+)(\s+'[^']*')?\s*$/))) {
			type = m[1];
			sections.add(type);
			doc = [];
			inTemplate = line.startsWith('#');
			if (!inTemplate)
				templateDocs = new Map();
		}
		else if ((m = body.match(/^(?:option|list)\s+([a-z0-9_]+)\s+'((?:[^']|'\\'')*)'\s*$/)) && type) {
			const documented = inTemplate ? templateDocs.get(m[1]) : null;
			if (documented) {
				const text = documented.doc.join(' ');
				const dflt = text.match(/\b[Dd]efault '((?:[^']|'\\'')*)'\./);
				options.set(`${type}.${m[1]}`, {
					value: dflt ? dflt[1].replace(/'\\''/g, "'") : null,
					doc: text,
					required: documented.required
				});
			}
			else
				options.set(`${type}.${m[1]}`, { value: m[2].replace(/'\\''/g, "'"), doc: doc.join(' ') });
			doc = [];
		}
		else if (line.startsWith('#')) {
			doc.push(line.replace(/^#\s?/, ''));
		}
		else if (line === '') {
			if (type === null) doc = [];
		}
	}
	return { options, sections };
}

// --- a recording stand-in of LuCI's form API ------------------------------------------------
function translated(s) {
	const t = new String(s);
	t.translated = true;
	return t;
}

function makeForm() {
	class AbstractValue {
		constructor(section, name, title, description) {
			Object.assign(this, { section, name, title, description, choices: [] });
		}
		value(key, label) { this.choices.push({ key: String(key), label }); }
	}
	const editing = {};
	for (const cls of ['Value', 'Flag', 'ListValue', 'MultiValue', 'DynamicList', 'TextValue',
		'RichListValue', 'FileUpload', 'HiddenValue'])
		editing[cls] = class extends AbstractValue { get kind() { return cls; } };
	const display = {};
	for (const cls of ['DummyValue', 'Button', 'SectionValue'])
		display[cls] = class extends AbstractValue { get kind() { return cls; } };

	class AbstractSection {
		constructor(map, type, name, title, description) {
			Object.assign(this, { map, type, name, title, description, options: [], tabs: {} });
		}
		tab(name, title) { this.tabs[name] = title; }
		option(cls, name, title, description) {
			const o = new cls(this, name, title, description);
			o.editing = Object.values(editing).includes(cls);
			this.options.push(o);
			return o;
		}
		taboption(tab, cls, name, title, description) {
			if (!(tab in this.tabs))
				throw new Error(`option ${name} uses the undeclared tab ${tab}`);
			const o = this.option(cls, name, title, description);
			o.tab = tab;
			return o;
		}
	}
	class NamedSection extends AbstractSection {
		constructor(map, name, type, title, description) { super(map, type, name, title, description); }
	}
	class TypedSection extends AbstractSection {
		constructor(map, type, title, description) { super(map, type, null, title, description); }
	}
	class Map {
		constructor(config, title, description) {
			Object.assign(this, { config, title, description, sections: [] });
		}
		section(cls, ...args) {
			const s = new cls(this, ...args);
			this.sections.push(s);
			return s;
		}
		render() { return Promise.resolve(this); }
	}
	return Object.assign({ Map, NamedSection, TypedSection, GridSection: TypedSection, TableSection: TypedSection },
		editing, display);
}

function loadView(file, form) {
	const source = fs.readFileSync(file, 'utf8');
	const requires = [];
	for (const m of source.matchAll(/^'require ([\w.]+)';$/gm))
		requires.push(m[1]);
	const stand_ins = {
		view: { extend: (proto) => proto },
		form,
		uci: { load: () => Promise.resolve() }
	};
	const args = requires.map((r) => {
		if (!(r in stand_ins))
			throw new Error(`settings.js requires ${r}, which the contract test does not stand in for`);
		return stand_ins[r];
	});
	// LuCI's loader: new Function(<required names>, <file text>) called with the classes.
	const fn = new Function(...requires, '_', 'N_', 'E', 'L', source);
	return fn(...args, translated, translated, () => ({}), {});
}

// --- the checks -----------------------------------------------------------------------------
function expectedKind(doc) {
	let m;
	if (/\bBoolean\b/.test(doc))
		return { cls: 'Flag' };
	if ((m = doc.match(/\b(\d+) to (\d+)\b/)))
		return { cls: 'Value', range: [m[1], m[2]] };
	if ((m = doc.match(/^(?:.*\.\s+)?((?:[a-z0-9_]+, )*[a-z0-9_]+ or [a-z0-9_]+)[;.]/)))
		return { cls: 'ListValue', words: m[1].split(/, | or /) };
	return { cls: 'Value' };
}

async function main() {
	const schemaFile = process.argv[2];
	if (!schemaFile) {
		console.error('usage: node contract.js PRINT_CONFIG_OUTPUT');
		process.exit(2);
	}
	const schema = parseSchema(fs.readFileSync(schemaFile, 'utf8'));
	if (schema.options.size === 0)
		throw new Error(`no options found in ${schemaFile}`);
	const form = makeForm();
	const view = loadView(VIEW, form);
	await view.load();
	const map = await view.render();

	let passed = 0;
	const failures = [];
	const check = (ok, message) => { if (ok) passed++; else failures.push(message); };

	check(map.config === 'acs-edge', `the form edits the config '${map.config}', not 'acs-edge'`);
	check(map.title && map.title.translated, 'the map title is not wrapped in _()');

	const edited = new Map();
	for (const s of map.sections) {
		check(schema.sections.has(s.type), `the form has a section of type '${s.type}', which the schema does not have`);
		check(!s.title || s.title.translated, `section ${s.type}: title not wrapped in _()`);
		for (const title of Object.values(s.tabs))
			check(title && title.translated, `section ${s.type}: a tab title is not wrapped in _()`);
		for (const o of s.options) {
			const key = `${s.type}.${o.name}`;
			check(o.title && o.title.translated, `${key}: title not wrapped in _()`);
			check(o.description == null || o.description.translated, `${key}: description not wrapped in _()`);
			if (!o.editing)
				continue;
			check(!edited.has(key), `${key} is edited twice by the form`);
			edited.set(key, o);
		}
	}

	for (const [key, o] of edited) {
		const spec = schema.options.get(key);
		check(!EXEMPT.has(key), `${key} is managed by the command line and must not be in the form`);
		check(spec !== undefined, `the form edits ${key}, which is not in the daemon's schema`);
		if (!spec)
			continue;
		const cls = o.kind;
		// A required option of a repeated section has no default; the form must not invent one.
		if (spec.required)
			check(o.default === undefined || o.default === '',
				`${key} is required and has no default, but the form offers '${o.default}'`);
		else
			check(String(o.default) === spec.value,
				`${key}: the form's default '${o.default}' differs from the schema's '${spec.value}'`);
		if (typeof o.validate === 'function' && !spec.required)
			check(o.validate(null, String(o.default)) === true,
				`${key}: the form's own validation refuses the default '${o.default}'`);
		const kind = expectedKind(spec.doc);
		if (kind.cls === 'Flag') {
			check(cls === 'Flag', `${key} is a boolean in the schema but a ${cls} in the form`);
		}
		else if (kind.range) {
			const [lo, hi] = kind.range;
			const ok = cls === 'Value' && (o.datatype === `range(${lo},${hi})` ||
				(lo === '1' && hi === '65535' && o.datatype === 'port'));
			check(ok, `${key}: schema allows ${lo} to ${hi}; the form has ${cls} with datatype '${o.datatype}'`);
		}
		else if (kind.words) {
			const keys = o.choices.map((c) => c.key);
			check(cls === 'ListValue' && JSON.stringify(keys) === JSON.stringify(kind.words),
				`${key}: schema allows ${kind.words.join('|')}; the form offers ${cls} [${keys.join('|')}]`);
			for (const c of o.choices)
				check(c.label && c.label.translated, `${key}: choice ${c.key} has an untranslated label`);
		}
		// The schema documents a UCI list as `list NAME '...'`; the form must write list lines.
		const isList = new RegExp('`list ' + o.name + ' ').test(spec.doc);
		check(isList === (cls === 'DynamicList'),
			`${key}: ${isList ? 'a UCI list in the schema' : 'a single value in the schema'}, but a ${cls} in the form`);
		if (/never logged/i.test(spec.doc))
			check(o.password === true, `${key} is a secret: the form must use a password field`);
	}

	for (const key of schema.options.keys()) {
		if (EXEMPT.has(key))
			continue;
		check(edited.has(key), `the schema has ${key}, which the form does not edit`);
	}

	for (const f of failures)
		console.log(`FAIL ${f}`);
	console.log(`contract: ${schema.options.size} schema options, ${edited.size} form options, ${EXEMPT.size} exempt`);
	console.log(`contract: ${passed} passed, ${failures.length} failed`);
	process.exit(failures.length ? 1 : 0);
}

main().catch((e) => {
	console.log(`FAIL ${e.stack || e}`);
	console.log('contract: 0 passed, 1 failed');
	process.exit(1);
});
