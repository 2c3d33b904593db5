// ESLint for luci-app-acs-edge: the views are bodies of functions that LuCI's loader builds
// (`return view.extend(...)` at top level), in LuCI's ES2017-level browser JavaScript, with
// LuCI's globals and the classes that their 'require' lines bind.
import js from '@eslint/js';

const luciGlobals = {
	// LuCI runtime (luci.js)
	L: 'readonly', E: 'readonly', _: 'readonly', N_: 'readonly',
	// classes bound by 'require ...' lines
	view: 'readonly', form: 'readonly', uci: 'readonly', rpc: 'readonly', poll: 'readonly',
	ui: 'readonly', dom: 'readonly', fs: 'readonly', network: 'readonly', request: 'readonly',
	baseclass: 'readonly',
	// browser
	window: 'readonly', document: 'readonly', console: 'readonly', Promise: 'readonly'
};

export default [
	js.configs.recommended,
	{
		files: ['htdocs/**/*.js'],
		languageOptions: {
			ecmaVersion: 2017,
			sourceType: 'script',
			parserOptions: { ecmaFeatures: { globalReturn: true } },
			globals: luciGlobals
		},
		rules: {
			strict: ['error', 'global'],
			'no-unused-vars': ['error', { args: 'none' }],
			'no-var': 'off',
			eqeqeq: ['error', 'smart'],
			'no-implicit-globals': 'error'
		}
	}
];
