//! `PATCH /api/v1/devices/{id}`: rename, enable/disable and annotate a device.
//!
//! The body is a JSON merge patch restricted to known fields (anything else is refused with
//! 400): `name` (string, or null to clear), `enabled` (boolean), `metadata.location` (string,
//! or null to remove) and `metadata.tags` (array of strings, or null to remove). A field left
//! out is left alone. Wrong JSON or wrong types are 400; values out of range are 422. The read
//! of the current metadata and the write happen under one store lock, so concurrent patches
//! of different fields never undo each other.

use super::respond::{json_response, read_body_capped, ApiError, JsonResponse};
use crate::model::{unsafe_text_char, validate_name};
use crate::store::{DevicePatch, SharedStore};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_LOCATION_CHARS: usize = 128;
pub const MAX_TAGS: usize = 16;
pub const MAX_TAG_CHARS: usize = 32;
/// The longest valid patch escaped as JSON (`\uXXXX` per character at worst) fits.
const MAX_PATCH_BODY: usize = 32 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    enabled: Option<Option<bool>>,
    /// A map first, so that a JSON array is refused (serde would read a struct from one).
    #[serde(default, deserialize_with = "present")]
    metadata: Option<Option<Map<String, Value>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetadataPatch {
    #[serde(default, deserialize_with = "present")]
    location: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    tags: Option<Option<Vec<String>>>,
}

/// Tells "absent" (the outer `None`, via `default`) from "null" (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn unprocessable(message: impl Into<String>) -> ApiError {
    ApiError::UnprocessableEntity(message.into())
}

/// 1..=max characters, none of them a control or bidirectional-text control character.
fn check_text(what: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let chars = value.chars().count();
    if chars == 0 || chars > max {
        return Err(unprocessable(format!(
            "'{what}' must be 1 to {max} characters, got {chars}"
        )));
    }
    if let Some(c) = unsafe_text_char(value) {
        return Err(unprocessable(format!(
            "'{what}' must not contain control or bidirectional-text characters (found U+{:04X})",
            u32::from(c)
        )));
    }
    Ok(())
}

/// A device id in a path must follow the device-id rule: an id that no device can have is a
/// malformed request (400), not a missing device (404).
pub fn check_device_id(id: &str) -> Result<(), ApiError> {
    validate_name(id).map_err(|e| ApiError::BadRequest(format!("device id {id:?} {e}")))
}

/// Checks the patch and turns it into the store's form, merging `metadata` into `current`.
fn to_store_patch(body: PatchBody, current: &Value) -> Result<DevicePatch, ApiError> {
    if let Some(Some(name)) = &body.name {
        check_text("name", name, MAX_NAME_CHARS)?;
    }
    let enabled = match body.enabled {
        None => None,
        Some(None) => return Err(unprocessable("'enabled' must be true or false, not null")),
        Some(Some(b)) => Some(b),
    };
    let metadata = match body.metadata {
        None => None,
        Some(None) => {
            return Err(unprocessable(
                "'metadata' must be an object; set a field to null to remove it",
            ))
        }
        Some(Some(map)) => {
            let patch = MetadataPatch::deserialize(Value::Object(map))
                .map_err(|e| ApiError::BadRequest(format!("invalid 'metadata': {e}")))?;
            Some(merge_metadata(patch, current)?)
        }
    };
    Ok(DevicePatch {
        name: body.name,
        enabled,
        metadata,
    })
}

fn merge_metadata(patch: MetadataPatch, current: &Value) -> Result<Value, ApiError> {
    let mut merged: Map<String, Value> = current.as_object().cloned().unwrap_or_default();
    match patch.location {
        None => {}
        Some(None) => {
            merged.remove("location");
        }
        Some(Some(location)) => {
            check_text("metadata.location", &location, MAX_LOCATION_CHARS)?;
            merged.insert("location".into(), Value::String(location));
        }
    }
    match patch.tags {
        None => {}
        Some(None) => {
            merged.remove("tags");
        }
        Some(Some(tags)) => {
            if tags.len() > MAX_TAGS {
                return Err(unprocessable(format!(
                    "'metadata.tags' holds at most {MAX_TAGS} tags, got {}",
                    tags.len()
                )));
            }
            for (i, tag) in tags.iter().enumerate() {
                check_text("metadata.tags[]", tag, MAX_TAG_CHARS)?;
                if tags[..i].contains(tag) {
                    return Err(unprocessable(format!("tag {tag:?} is repeated")));
                }
            }
            if tags.is_empty() {
                merged.remove("tags");
            } else {
                merged.insert("tags".into(), Value::from(tags));
            }
        }
    }
    Ok(Value::Object(merged))
}

/// Applies a PATCH body to device `id` and returns the updated device.
pub fn patch(
    store: &SharedStore,
    request: &crate::api::Request,
    id: &str,
    actor: &str,
) -> Result<JsonResponse, ApiError> {
    let body = read_body_capped(request, MAX_PATCH_BODY)?;
    check_device_id(id)?;
    let body: PatchBody = super::respond::parse_json_object(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid device patch: {e}")))?;
    let mut store = store.lock();
    let Some(device) = store.device(id).map_err(internal)? else {
        return Err(ApiError::NotFound(format!("no device {id:?}")));
    };
    let patch = to_store_patch(body, &device.metadata)?;
    let updated = store.patch_device(id, &patch).map_err(internal)?;
    drop(store);
    let Some(updated) = updated else {
        return Err(ApiError::NotFound(format!("no device {id:?}")));
    };
    log::info!(
        "device={id} by={actor} name_set={} enabled={:?} metadata_set={} device updated",
        patch.name.is_some(),
        patch.enabled,
        patch.metadata.is_some()
    );
    Ok(json_response(200, &updated))
}

fn internal(error: crate::store::StoreError) -> ApiError {
    ApiError::Internal(format!("device update failed: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply(body: Value, current: Value) -> Result<DevicePatch, ApiError> {
        let bytes = serde_json::to_vec(&body).unwrap();
        let body: PatchBody =
            crate::api::respond::parse_json_object(&bytes).map_err(ApiError::BadRequest)?;
        to_store_patch(body, &current)
    }

    #[test]
    fn absent_null_and_values_are_told_apart() {
        let p = apply(json!({}), json!({})).unwrap();
        assert_eq!(p, DevicePatch::default());
        let p = apply(json!({"name": null, "enabled": false}), json!({})).unwrap();
        assert_eq!(p.name, Some(None));
        assert_eq!(p.enabled, Some(false));
        let p = apply(json!({"name": "Kitchen"}), json!({})).unwrap();
        assert_eq!(p.name, Some(Some("Kitchen".into())));
    }

    #[test]
    fn metadata_is_merged_field_by_field() {
        let current = json!({"location": "hall", "tags": ["a"], "other": 1});
        let p = apply(json!({"metadata": {"tags": ["x", "y"]}}), current.clone()).unwrap();
        assert_eq!(
            p.metadata,
            Some(json!({"location": "hall", "tags": ["x", "y"], "other": 1}))
        );
        let p = apply(json!({"metadata": {"location": null, "tags": []}}), current).unwrap();
        assert_eq!(p.metadata, Some(json!({"other": 1})));
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_400_and_bad_values_422() {
        for bad in [
            json!({"colour": "red"}),
            json!({"metadata": {"floor": 2}}),
            json!({"name": 5}),
            json!({"enabled": "yes"}),
            json!({"metadata": {"tags": "a,b"}}),
            json!({"metadata": [null, null]}),
            json!({"metadata": {"location": ["x"]}}),
            json!([1]),
            json!([]),
            json!("name"),
        ] {
            let result = apply(bad.clone(), json!({}));
            assert_eq!(result.map_err(|e| e.status()).err(), Some(400), "{bad}");
        }
        for bad in [
            json!({"name": ""}),
            json!({"name": "x".repeat(65)}),
            json!({"name": "a\u{7}b"}),
            json!({"name": "\u{202E}exe.doc"}),
            json!({"name": "a\u{2066}b\u{2069}"}),
            json!({"metadata": {"location": "\u{200F}hall"}}),
            json!({"metadata": {"tags": ["ok", "x\u{061C}"]}}),
            json!({"enabled": null}),
            json!({"metadata": null}),
            json!({"metadata": {"location": ""}}),
            json!({"metadata": {"tags": ["a", "a"]}}),
            json!({"metadata": {"tags": [""]}}),
            json!({"metadata": {"tags": (0..17).map(|i| i.to_string()).collect::<Vec<_>>()}}),
        ] {
            assert_eq!(
                apply(bad.clone(), json!({})).unwrap_err().status(),
                422,
                "{bad}"
            );
        }
        assert!(
            apply(json!({"name": "é".repeat(64)}), json!({})).is_ok(),
            "characters, not bytes"
        );
    }
}
