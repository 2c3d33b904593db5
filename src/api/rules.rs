//! `/api/v1/automation/rules` and `/api/v1/automation/rules/{id}`: list, create, read, replace
//! and delete automation rules. Bodies are JSON rule definitions (see `rules::spec`); unknown
//! fields and malformed JSON are 400, well-formed but unusable rules 422, more than
//! `MAX_RULES` rules 422.

use super::respond::{json_response, read_body_capped, ApiError, JsonResponse, List};
use super::{Method, Request};
use crate::rules::spec::RuleSpec;
use crate::rules::{Automation, RuleError};

/// Largest rule body: the templates' limits plus room for the rest.
const MAX_RULE_BODY: usize = 16 * 1024;

/// The collection: GET lists every rule (at most `MAX_RULES`, one page), POST creates one.
/// `automation` is `None` when the rules are not running.
pub fn collection(
    automation: Option<&Automation>,
    request: &Request,
) -> Result<JsonResponse, ApiError> {
    let automation = running(automation)?;
    match request.method() {
        Method::Get | Method::Head => {
            let items = automation.list().map_err(error)?;
            Ok(json_response(
                200,
                &List {
                    items,
                    next_cursor: None,
                },
            ))
        }
        Method::Post => {
            let spec = body(request)?;
            let rule = automation.create(spec).map_err(error)?;
            let response = json_response(201, &rule);
            let location = format!("/api/v1/automation/rules/{}", rule.id);
            Ok(response.with_header("Location", location))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// One rule: GET, PUT (replace the definition; the firing record stays), DELETE.
pub fn item(
    automation: Option<&Automation>,
    request: &Request,
    id: &str,
) -> Result<JsonResponse, ApiError> {
    let automation = running(automation)?;
    let method = request.method().clone();
    if !matches!(
        method,
        Method::Get | Method::Head | Method::Put | Method::Delete
    ) {
        return Err(ApiError::MethodNotAllowed);
    }
    let id = match id.parse::<i64>() {
        Ok(n) if n > 0 => n,
        _ => return Err(ApiError::NotFound(format!("no rule {id:?}"))),
    };
    match method {
        Method::Put => {
            let spec = body(request)?;
            Ok(json_response(
                200,
                &automation.replace(id, spec).map_err(error)?,
            ))
        }
        Method::Delete => {
            automation.delete(id).map_err(error)?;
            Ok(super::Response::new(204, Vec::new()))
        }
        _ => Ok(json_response(200, &automation.get(id).map_err(error)?)),
    }
}

fn running(automation: Option<&Automation>) -> Result<&Automation, ApiError> {
    automation.ok_or_else(|| ApiError::Unavailable("automation is not running".into()))
}

fn body(request: &Request) -> Result<RuleSpec, ApiError> {
    let bytes = read_body_capped(request, MAX_RULE_BODY)?;
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("invalid rule: {e}")))
}

fn error(e: RuleError) -> ApiError {
    match e {
        RuleError::NotFound(id) => ApiError::NotFound(format!("no rule {id}")),
        RuleError::Invalid(why) => ApiError::UnprocessableEntity(why),
        RuleError::TooMany => ApiError::UnprocessableEntity(e.to_string()),
        RuleError::Store(e) => {
            log::error!("rules: store failed: {e}");
            ApiError::Internal("the store could not answer; see the daemon log".into())
        }
    }
}
