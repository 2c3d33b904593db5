'use strict';
'require view';
'require rpc';
'require uci';
'require ui';
'require dom';

// Users and API tokens of acs-edge's REST API, managed without ssh: the rpcd plugin runs the
// daemon's own `acs-edge passwd` and `acs-edge token create|revoke` (which write only hashes
// into /etc/config/acs-edge) and reloads the daemon. Those calls are in their own ACL group,
// luci-app-acs-edge-access, which only an administrator's login holds. A password leaves the
// browser hex-encoded inside the ubus call and reaches the CLI on its stdin; a new token is
// shown once and never stored in the clear.

var callPasswd = rpc.declare({
	object: 'luci.acs-edge',
	method: 'passwd',
	params: [ 'user', 'password_hex' ],
	expect: { '': {} }
});

var callTokenCreate = rpc.declare({
	object: 'luci.acs-edge',
	method: 'token_create',
	params: [ 'name' ],
	expect: { '': {} }
});

var callTokenRevoke = rpc.declare({
	object: 'luci.acs-edge',
	method: 'token_revoke',
	params: [ 'name' ],
	expect: { '': {} }
});

// The daemon's limits (src/auth/password.rs, config section names).
var MIN_PASSWORD_CHARS = 8;
var MAX_PASSWORD_CHARS = 1024;
var NAME_RE = /^[A-Za-z0-9_]{1,64}$/;
// The token the rpcd plugin makes for the status page; revoking it makes it make a new one.
var LUCI_TOKEN = 'luci';

// The UTF-8 bytes of a string as hex digits.
function toHex(text) {
	return Array.prototype.map.call(new window.TextEncoder().encode(text), function(b) {
		return ('0' + b.toString(16)).slice(-2);
	}).join('');
}

function field(id, type, placeholder) {
	return E('input', { 'id': id, 'type': type, 'class': 'cbi-input-text', 'placeholder': placeholder || '', 'autocomplete': 'off' });
}

function value(id) {
	return document.getElementById(id).value;
}

return view.extend({
	load: function() {
		return uci.load('acs-edge');
	},

	// The config as the CLI left it, then the lists drawn again.
	reload: function() {
		var self = this;
		uci.unload('acs-edge');
		return uci.load('acs-edge').then(function() {
			dom.content(document.getElementById('acs-edge-access'), self.renderLists());
		});
	},

	notify: function(reply, done) {
		if (!reply || reply.error) {
			ui.addNotification(null, E('p', [ (reply && reply.error) || _('No answer from the router') ]), 'danger');
			return false;
		}
		ui.addNotification(null, E('p', [ done ]), 'info');
		return true;
	},

	setPassword: function() {
		var self = this, user = value('acs-edge-user'), password = value('acs-edge-password');
		if (!NAME_RE.test(user))
			return ui.addNotification(null, E('p', [ _('A user name is 1 to 64 letters, digits or _') ]), 'danger');
		if (password.length < MIN_PASSWORD_CHARS || password.length > MAX_PASSWORD_CHARS || /[\r\n]/.test(password))
			return ui.addNotification(null, E('p', [ _('A password has %d to %d characters on one line').format(MIN_PASSWORD_CHARS, MAX_PASSWORD_CHARS) ]), 'danger');
		if (password !== value('acs-edge-password2'))
			return ui.addNotification(null, E('p', [ _('The two passwords differ') ]), 'danger');
		return callPasswd(user, toHex(password)).then(function(reply) {
			if (self.notify(reply, _('Password of %s set; the daemon reloaded.').format(user))) {
				document.getElementById('acs-edge-password').value = '';
				document.getElementById('acs-edge-password2').value = '';
			}
			return self.reload();
		});
	},

	createToken: function() {
		var self = this, name = value('acs-edge-token-name');
		if (!NAME_RE.test(name))
			return ui.addNotification(null, E('p', [ _('A token name is 1 to 64 letters, digits or _') ]), 'danger');
		return callTokenCreate(name).then(function(reply) {
			if (reply && reply.token) {
				ui.showModal(_('API token %s').format(name), [
					E('p', [ _('Copy it now: it is shown only this once. Clients send it as: Authorization: Bearer <token>') ]),
					E('pre', { 'id': 'acs-edge-new-token' }, [ reply.token ]),
					E('div', { 'class': 'right' }, [
						E('button', { 'class': 'cbi-button', 'click': ui.hideModal }, [ _('Close') ])
					])
				]);
				document.getElementById('acs-edge-token-name').value = '';
			}
			else {
				self.notify(reply);
			}
			return self.reload();
		});
	},

	revokeToken: function(name) {
		var self = this;
		return callTokenRevoke(name).then(function(reply) {
			self.notify(reply, _('Token %s revoked; the daemon reloaded.').format(name));
			return self.reload();
		});
	},

	renderLists: function() {
		var self = this, users = uci.sections('acs-edge', 'user'), tokens = uci.sections('acs-edge', 'api_token');
		var userRows = users.map(function(s) {
			return E('tr', { 'class': 'tr' }, [
				E('td', { 'class': 'td' }, [ s['.name'] ]),
				E('td', { 'class': 'td' }, [ s.enabled === '0' ? _('disabled') : _('enabled') ]),
				E('td', { 'class': 'td' }, [ s.password_hash ? _('set') : _('none: cannot log in') ]),
				E('td', { 'class': 'td right' }, [ E('button', { 'class': 'cbi-button cbi-button-edit', 'click': function() {
					document.getElementById('acs-edge-user').value = s['.name'];
					document.getElementById('acs-edge-password').focus();
				} }, [ _('Change password') ]) ])
			]);
		});
		var tokenRows = tokens.map(function(s) {
			return E('tr', { 'class': 'tr' }, [
				E('td', { 'class': 'td' }, [ s['.name'] ]),
				E('td', { 'class': 'td' }, [ s.enabled === '0' ? _('disabled') : _('enabled') ]),
				E('td', { 'class': 'td' }, [ s['.name'] === LUCI_TOKEN ? _('used by the status page of this web interface, which makes a new one when it is revoked') : '' ]),
				E('td', { 'class': 'td right' }, [ E('button', {
					'class': 'cbi-button cbi-button-remove', 'data-token': s['.name'],
					'click': ui.createHandlerFn(self, 'revokeToken', s['.name'])
				}, [ _('Revoke') ]) ])
			]);
		});
		var table = function(titles, rows, empty) {
			return E('table', { 'class': 'table' }, [
				E('tr', { 'class': 'tr table-titles' }, titles.map(function(t) { return E('th', { 'class': 'th' }, [ t ]); }))
			].concat(rows.length ? rows : [ E('tr', { 'class': 'tr placeholder' }, [ E('td', { 'class': 'td', 'colspan': titles.length }, [ empty ]) ]) ]));
		};
		return E('div', {}, [
			E('div', { 'class': 'cbi-section' }, [
				E('h3', [ _('Users') ]),
				users.length ? '' : E('div', { 'class': 'alert-message notice', 'id': 'acs-edge-first-user' }, [
					_('No user yet: create the first user below. Users log in to the REST API (POST /api/v1/auth/login); this web interface needs none.')
				]),
				table([ _('User'), _('State'), _('Password'), '' ], userRows, _('No users')),
				E('div', { 'class': 'cbi-value' }, [
					field('acs-edge-user', 'text', _('user name')), ' ',
					field('acs-edge-password', 'password', _('password (at least %d characters)').format(MIN_PASSWORD_CHARS)), ' ',
					field('acs-edge-password2', 'password', _('the password again')), ' ',
					E('button', { 'class': 'cbi-button cbi-button-apply', 'id': 'acs-edge-set-password',
						'click': ui.createHandlerFn(this, 'setPassword') }, [ users.length ? _('Create user or set password') : _('Create the first user') ])
				])
			]),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', [ _('API tokens') ]),
				E('p', [ _('Long-lived tokens for machine clients. Disable or enable them on the Settings page.') ]),
				table([ _('Token'), _('State'), '', '' ], tokenRows, _('No tokens')),
				E('div', { 'class': 'cbi-value' }, [
					field('acs-edge-token-name', 'text', _('token name')), ' ',
					E('button', { 'class': 'cbi-button cbi-button-add', 'id': 'acs-edge-create-token',
						'click': ui.createHandlerFn(this, 'createToken') }, [ _('Create token') ])
				])
			])
		]);
	},

	render: function() {
		return E('div', { 'class': 'cbi-map' }, [
			E('h2', [ _('acs-edge access') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Users and API tokens of the REST API. Changes are written by the daemon\'s own commands and applied at once (the daemon reloads).')
			]),
			E('div', { 'id': 'acs-edge-access' }, [ this.renderLists() ])
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
