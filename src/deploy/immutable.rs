//! An apply refused because it changes a field Kubernetes never lets change
//! on an existing object (422 Invalid): a Deployment's or StatefulSet's
//! selector, a StatefulSet's serviceName or claim templates, a claim's
//! class or a smaller size, a Service's clusterIP (real-cluster.md).

use kube::core::Status;

/// Which object and field, and the way out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{id}: `{field}` cannot change on an existing {kind}: {detail}\n  nothing after it was applied and nothing was pruned: the rest of the stack is as it was\n  help: {help}")]
pub struct ImmutableField {
    /// `Deployment/backend`
    pub id: String,
    pub kind: String,
    pub name: String,
    /// `spec.selector`, `spec` (StatefulSet, PVC), `spec.clusterIPs[0]`
    pub field: String,
    pub detail: String,
    pub help: String,
}

/// The 422 of an apply to `kind/name`, read as an immutable-field refusal.
pub fn from_api_error(
    kind: &str,
    name: &str,
    namespace: &str,
    e: &kube::Error,
) -> Option<ImmutableField> {
    let kube::Error::Api(status) = e else {
        return None;
    };
    immutable_cause(status).map(|(field, detail)| {
        let help = match kind {
            "Deployment" | "StatefulSet" => format!(
                "`todo-dev deploy --recreate {name}` (or `up --recreate {name}`) deletes {kind}/{name} and creates it anew: its pods restart, claims and their data are kept"
            ),
            "PersistentVolumeClaim" => format!(
                "a claim can only grow, and its storage class never changes: keep the claim's size and class in the profile, or move its data and delete it yourself (`kubectl delete pvc {name} -n {namespace}`: the data goes with it)"
            ),
            _ => format!(
                "delete it and deploy again: `kubectl delete {} {name} -n {namespace}`",
                kind.to_ascii_lowercase()
            ),
        };
        ImmutableField {
            id: format!("{kind}/{name}"),
            kind: kind.to_string(),
            name: name.to_string(),
            field,
            detail,
            help,
        }
    })
}

/// (field, message) of the first immutable-field cause of a 422 Status.
fn immutable_cause(status: &Status) -> Option<(String, String)> {
    if status.code != 422 || status.reason != "Invalid" {
        return None;
    }
    let immutable = |m: &str| {
        m.contains("field is immutable")
            || m.contains("may not change once set")
            || m.contains("are forbidden")
            || m.contains("is immutable")
    };
    let causes = status
        .details
        .as_ref()
        .map(|d| d.causes.as_slice())
        .unwrap_or_default();
    if let Some(c) = causes.iter().find(|c| immutable(&c.message)) {
        return Some((c.field.clone(), c.message.clone()));
    }
    // No causes: `Kind "name" is invalid: FIELD: MESSAGE`.
    let (_, rest) = status.message.split_once(" is invalid: ")?;
    let (field, detail) = rest.split_once(": ")?;
    immutable(detail).then(|| (field.to_string(), detail.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(body: serde_json::Value) -> kube::Error {
        kube::Error::Api(serde_json::from_value::<Status>(body).unwrap().boxed())
    }

    #[test]
    fn a_selector_change_names_the_object_the_field_and_recreate() {
        let e = invalid(
            serde_json::json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
            "message":"Deployment.apps \"backend\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"x\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
            "reason":"Invalid","details":{"name":"backend","group":"apps","kind":"Deployment","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"x\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable","field":"spec.selector"}]},"code":422}),
        );
        let f = from_api_error("Deployment", "backend", "todo", &e).unwrap();
        assert_eq!(
            (f.id.as_str(), f.field.as_str()),
            ("Deployment/backend", "spec.selector")
        );
        let text = f.to_string();
        assert!(
            text.contains("--recreate backend") && text.contains("field is immutable"),
            "{text}"
        );
    }

    #[test]
    fn a_claim_is_never_offered_for_recreation() {
        let e = invalid(
            serde_json::json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
            "message":"PersistentVolumeClaim \"postgres-data\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            "reason":"Invalid","code":422}),
        );
        let f = from_api_error("PersistentVolumeClaim", "postgres-data", "todo", &e).unwrap();
        assert_eq!(f.field, "spec");
        assert!(
            !f.help.contains("--recreate") && f.help.contains("only grow"),
            "{}",
            f.help
        );
    }

    #[test]
    fn other_invalid_applies_are_not_immutable_fields() {
        let e = invalid(
            serde_json::json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
            "message":"Deployment.apps \"backend\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "reason":"Invalid","code":422}),
        );
        assert!(from_api_error("Deployment", "backend", "todo", &e).is_none());
    }
}
