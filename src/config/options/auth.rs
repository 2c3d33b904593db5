//! `config user 'NAME'` and `config api_token 'NAME'`: who may use the API. The hash formats
//! are the auth module's, so its validators check them.

use super::keys::{Flag, Text};
use super::spec::{Kind, MultiSectionSpec, OptionSpec};
use crate::auth::password::check_phc;
use crate::auth::tokens::check_token_hash;

pub const USER: MultiSectionSpec = MultiSectionSpec {
    name: "user",
    doc: "A user of the REST API and WebSocket (POST /api/v1/auth/login), named by the\n\
          section: letters, digits and _, at most 64. There is no default user: create the\n\
          first with `acs-edge passwd NAME` (it asks for the password, or reads it from\n\
          stdin), then reload. Every endpoint except health and login needs a token.",
    required: &["password_hash"],
    example: "config user 'admin'\n\
              \toption password_hash '$argon2id$v=19$m=8192,t=4,p=1$c2FsdHNhbHRzYWx0$\
              WHa4/dXxGZ2OWO3pfLQyLvo1lhHdHSRvBQcvtSg1qzM'\n\
              \toption enabled '1'\n",
    options: &[
        OptionSpec {
            name: "password_hash",
            kind: Kind::Text {
                key: Text::UserPasswordHash,
                check: check_phc,
            },
            default: "",
            reload: true,
            doc: "Argon2id hash of the password as a PHC string, set by `acs-edge passwd NAME`;\n\
                  the plain password is never stored. (The example's hash matches no password.)",
        },
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::UserEnabled),
            default: "1",
            reload: true,
            doc: "0 refuses this user's logins; a reload also ends the user's sessions.",
        },
    ],
};

pub const API_TOKEN: MultiSectionSpec = MultiSectionSpec {
    name: "api_token",
    doc: "A long-lived token for a machine client (sent as Authorization: Bearer <token>),\n\
          named by the section. Only its SHA-256 is stored. `acs-edge token create NAME`\n\
          adds one and prints the token once; `acs-edge token revoke NAME` removes it.",
    required: &["token_hash"],
    example: "config api_token 'dashboard'\n\
              \toption token_hash \
              'sha256:3c5e0a1b9f2d47e86a0c1f4b7d2e9a35c8b6f0e1d4a7c2b9e5f8a1d3c6b0e4f7'\n\
              \toption enabled '1'\n\
              \toption metrics_only '0'\n",
    options: &[
        OptionSpec {
            name: "token_hash",
            kind: Kind::Text {
                key: Text::ApiTokenTokenHash,
                check: check_token_hash,
            },
            default: "",
            reload: true,
            doc: "sha256:<64 hex digits> of the token, written by `acs-edge token create NAME`,\n\
                  which prints the token once.",
        },
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::ApiTokenEnabled),
            default: "1",
            reload: true,
            doc: "0 refuses this token.",
        },
        OptionSpec {
            name: "metrics_only",
            kind: Kind::Bool(Flag::ApiTokenMetricsOnly),
            default: "0",
            reload: true,
            doc: "1 lets this token open GET /metrics and nothing else: a Prometheus scrape\n\
                  token that cannot read or change devices, readings or rules.",
        },
    ],
};
