//! A fake Kubernetes API server for whole-command tests of the deploy engine:
//! plain HTTP/1.1 on 127.0.0.1 (a thread per connection, keep-alive), an
//! object store with server-side apply, and a tiny controller that moves
//! Deployments, ReplicaSets, StatefulSets, PVCs and Pods through the states a
//! real cluster shows. Shapes follow /work/shared/design/k8s-api-shapes.md,
//! behaviour ../shared/design/real-cluster.md: a Deployment's own
//! progressDeadlineSeconds (600 s unless set), watches streamed with
//! bookmarks and 410 Expired after `compact`, 422 for immutable fields,
//! scheduler events in the events.k8s.io shape, fields another manager
//! owns kept on apply, ingress-nginx's webhook refusing until ready.
//! A test fixture, never part of the product.

use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

// The streaming subresources of pods: exec, portforward, log?follow=true.
pub mod streams;

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/// How the pods of one workload behave: keyed by Deployment or StatefulSet
/// name (or, for a bare Pod, its own name). Read when a pod is created, like
/// a property of its image: a change affects pods created afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behavior {
    /// Running and Ready after the ready delay (default).
    Ready,
    /// Running, container waiting in CrashLoopBackOff, restartCount growing;
    /// `logs` is what the previous (crashed) instance printed.
    CrashLoop {
        exit_code: i32,
        reason: String,
        logs: String,
    },
    /// Every pull fails, as for a name no registry has: each retry period
    /// starts with `ErrImagePull` and waits out its back-off in
    /// `ImagePullBackOff`, as the kubelet's image manager does.
    ImagePullBackOff,
    /// The first `failures` pulls fail as a registry blip does (TLS
    /// handshake timeout), then the image arrives and the pod runs Ready.
    PullFailsThenSucceeds {
        failures: i64,
    },
    ErrImageNeverPull,
    CreateContainerConfigError {
        message: String,
    },
    Unschedulable {
        message: String,
    },
    /// Running, readiness probe failing.
    NotReady,
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Raw path, still percent-encoded.
    pub path: String,
    /// Raw query without the `?` (kube-rs starts it with `&`).
    pub query: String,
    /// `Content-Type`, empty when absent.
    pub content_type: String,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Recorded {
    /// A decoded query parameter (the last one when repeated).
    pub fn param(&self, key: &str) -> Option<String> {
        param(&query_pairs(&self.query), key).map(str::to_string)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The fake API server; its threads stop on Drop.
pub struct FakeApiServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl FakeApiServer {
    pub fn start() -> FakeApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake API server");
        let addr = listener.local_addr().expect("fake API server address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new()),
            stop: AtomicBool::new(false),
            conns: Mutex::new(Vec::new()),
            streams: Mutex::new(streams::StreamState::default()),
        });
        let accept = {
            let shared = shared.clone();
            spawn("accept", move || accept_loop(listener, shared))
        };
        let controller = spawn("controller", {
            let shared = shared.clone();
            move || controller_loop(shared)
        });
        let threads = vec![accept, controller];
        FakeApiServer {
            addr,
            shared,
            threads,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes `dir/.kube/config` (so `dir` can be a sandbox HOME, or point
    /// KUBECONFIG at the returned path) whose current-context `context`
    /// points at this server, namespace `default`, no auth.
    pub fn write_kubeconfig(&self, dir: &Path, context: &str) -> PathBuf {
        let kube_dir = dir.join(".kube");
        std::fs::create_dir_all(&kube_dir).expect("create .kube");
        let path = kube_dir.join("config");
        let name = Value::from(context).to_string();
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {url}\n\
             contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n    namespace: default\n\
             current-context: {name}\npreferences: {{}}\nusers:\n- name: {name}\n  user: {{}}\n",
            url = self.url()
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }

    pub fn set_behavior(&self, workload: &str, b: Behavior) {
        self.state().behaviors.insert(workload.to_string(), b);
    }

    /// Until `d` from now, creating or changing an Ingress fails as it does
    /// while ingress-nginx's validating webhook (failurePolicy Fail) has no
    /// ready controller behind it: 500 InternalError "failed calling webhook".
    pub fn set_ingress_webhook_ready_in(&self, d: Duration) {
        self.state().ingress_webhook_ready_at = Some(Instant::now() + d);
    }

    /// After the next apply (PATCH) of `plural/name` in `namespace`, the next
    /// `n` reads of that object (GET, or list/watch with a fieldSelector on
    /// its name) answer 500 "etcdserver: request timed out", as an API
    /// server does while its etcd is busy.
    pub fn fail_reads_after_apply(&self, plural: &str, namespace: &str, name: &str, n: u32) {
        let (key, armed, left) = (Key::new(plural, namespace, name), false, n);
        self.state()
            .flaky_reads
            .push(FlakyReads { key, armed, left });
    }

    /// Forgets the history before now, as etcd compaction does: a watch from
    /// an older resourceVersion gets an ERROR event with a 410 Expired Status.
    pub fn compact(&self) {
        let mut st = self.state();
        st.compacted = st.rv;
        st.tombstones.clear();
    }

    /// How long a new pod stays Pending/ContainerCreating (default 300 ms).
    pub fn set_ready_delay(&self, d: Duration) {
        self.state().timing.ready_delay = d;
    }

    /// How long a deleted object stays with deletionTimestamp (default 200 ms).
    pub fn set_delete_delay(&self, d: Duration) {
        self.state().timing.delete_delay = d;
    }

    /// The `containerID` the running pods of `workload` report, e.g.
    /// `docker://<id>` of a container started on the real dockerd.
    pub fn set_container_id(&self, workload: &str, id: &str) {
        let ids = &mut self.state().container_ids;
        ids.insert(workload.to_string(), id.to_string());
    }

    /// Restarts the container of a running pod (as a liveness probe or an
    /// OOM kill does): restartCount grows, the ended instance becomes
    /// `lastState.terminated`, followers of its log see their stream end.
    pub fn restart_container(&self, namespace: &str, pod: &str) {
        let mut st = self.state();
        let key = Key::new("pods", namespace, pod);
        let rt = st.pods.get_mut(&key).expect("a pod the fake runs");
        rt.restarts.push(SystemTime::now());
        st.sync_pod(&key);
    }

    /// Current logs of the pods of `workload` (default: a few uvicorn lines).
    pub fn set_logs(&self, workload: &str, text: &str) {
        let logs = &mut self.state().logs;
        logs.insert(workload.to_string(), text.to_string());
    }

    /// Stores an object as if someone else had made it (kind/apiVersion
    /// required; namespace defaults to `default`; status kept as given).
    pub fn insert(&self, mut obj: Value) {
        let mut st = self.state();
        let (kind, api_version) = (text(&obj, "/kind"), text(&obj, "/apiVersion"));
        let res = RESOURCES
            .iter()
            .find(|r| r.kind == kind && r.api_version() == api_version);
        let res =
            res.unwrap_or_else(|| panic!("fake API server: no resource for {api_version} {kind}"));
        let meta = &mut obj["metadata"];
        if res.namespaced && meta["namespace"].is_null() {
            meta["namespace"] = json!("default");
        }
        if res.generation && meta["generation"].is_null() {
            meta["generation"] = json!(1);
        }
        let (uid, created) = (st.uid(), now_str());
        fill(meta, json!({"uid": uid, "creationTimestamp": created}));
        st.apply_defaults(res, &mut obj, None);
        st.store(Key::of(res, &obj), obj);
    }

    /// One stored object; `namespace` None for cluster-scoped resources.
    pub fn get(&self, plural: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let key = Key::new(plural, namespace.unwrap_or(""), name);
        self.state().objects.get(&key).cloned()
    }

    /// Answers every `method` request for exactly `path` with `code` and a
    /// Status body, as a failing API server (or an RBAC denial) would.
    pub fn fail_requests(&self, method: &str, path: &str, code: u16) {
        self.state()
            .faults
            .push((method.to_string(), path.to_string(), code));
    }

    /// Answers normally again after `fail_requests`.
    pub fn clear_failures(&self) {
        self.state().faults.clear();
    }

    /// Removes an object at once, as if someone else had deleted it.
    pub fn remove(&self, plural: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let key = Key::new(plural, namespace.unwrap_or(""), name);
        self.state().objects.remove(&key)
    }

    /// Stored objects of a resource; `namespace` None means all namespaces.
    /// Namespaces get a `default` ServiceAccount and a `kube-root-ca.crt`
    /// ConfigMap, as in a real cluster.
    pub fn list(&self, plural: &str, namespace: Option<&str>) -> Vec<Value> {
        let in_scope = |k: &Key| k.plural == plural && namespace.is_none_or(|ns| k.namespace == ns);
        let picked = self.state().pick(|k, _| in_scope(k));
        picked.into_iter().map(|(_, v)| v).collect()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// ReplicaSets ever created for this Deployment.
    pub fn replicaset_count(&self, namespace: &str, deployment: &str) -> usize {
        let key = (namespace.to_string(), deployment.to_string());
        let created = self.state().replicasets_created.get(&key).copied();
        created.unwrap_or(0)
    }

    /// Marks `field` (like `.spec.replicas`) of an object as owned by another
    /// field manager: an apply that sets it to another value without
    /// force=true gets 409; an apply that leaves it out keeps its value.
    pub fn own_field(&self, plural: &str, namespace: &str, name: &str, field: &str, manager: &str) {
        let path = field.trim_start_matches('.').split('.');
        let path: Vec<String> = path.map(str::to_string).collect();
        self.state()
            .claim(&Key::new(plural, namespace, name), &path, manager);
    }

    /// Polls `probe` every 20 ms until it returns Some or `timeout` passes.
    pub fn wait_for<T>(
        &self,
        timeout: Duration,
        mut probe: impl FnMut(&FakeApiServer) -> Option<T>,
    ) -> Option<T> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(v) = probe(self) {
                return Some(v);
            }
            if Instant::now() >= end {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        for conn in lock(&self.shared.conns).drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
        let mut crashed = false;
        for t in self.threads.drain(..) {
            crashed |= t.join().is_err();
        }
        let panics = std::mem::take(&mut self.state().panics);
        if !thread::panicking() && (crashed || !panics.is_empty()) {
            panic!("the fake API server itself failed (a bug in tests/support/apiserver.rs): controller crashed: {crashed}; handler panics: {panics:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------

/// One served resource; `flags` say what the server keeps for it.
struct Resource {
    plural: &'static str,
    kind: &'static str,
    group: &'static str,
    version: &'static str,
    short: &'static [&'static str],
    namespaced: bool,
    /// Has a status subresource: writes to the main resource keep `status`.
    status: bool,
    /// Keeps metadata.generation, bumped when spec changes.
    generation: bool,
}

const CLUSTER: u8 = 1;
const STATUS: u8 = 2;
const GENERATION: u8 = 4;

const fn res(
    gv: (&'static str, &'static str),
    kind: &'static str,
    plural: &'static str,
    short: &'static [&'static str],
    flags: u8,
) -> Resource {
    Resource {
        plural,
        kind,
        group: gv.0,
        version: gv.1,
        short,
        namespaced: flags & CLUSTER == 0,
        status: flags & STATUS != 0,
        generation: flags & GENERATION != 0,
    }
}

const CORE: (&str, &str) = ("", "v1");
const APPS: (&str, &str) = ("apps", "v1");
const NET: (&str, &str) = ("networking.k8s.io", "v1");
/// Workloads and the like: a status subresource and a generation.
const KEPT: u8 = STATUS | GENERATION;

const RESOURCES: &[Resource] = &[
    res(CORE, "Namespace", "namespaces", &["ns"], CLUSTER | STATUS),
    // Its status (images, conditions) is the kubelet's: tests insert it.
    res(CORE, "Node", "nodes", &["no"], CLUSTER | STATUS),
    res(CORE, "ConfigMap", "configmaps", &["cm"], 0),
    res(CORE, "Secret", "secrets", &[], 0),
    res(CORE, "Service", "services", &["svc"], STATUS),
    res(
        CORE,
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        &["pvc"],
        STATUS,
    ),
    res(CORE, "ServiceAccount", "serviceaccounts", &["sa"], 0),
    res(CORE, "Pod", "pods", &["po"], STATUS),
    res(CORE, "Event", "events", &["ev"], 0),
    res(APPS, "Deployment", "deployments", &["deploy"], KEPT),
    res(APPS, "StatefulSet", "statefulsets", &["sts"], KEPT),
    res(APPS, "ReplicaSet", "replicasets", &["rs"], KEPT),
    res(NET, "Ingress", "ingresses", &["ing"], KEPT),
    res(NET, "NetworkPolicy", "networkpolicies", &["netpol"], KEPT),
    res(
        ("autoscaling", "v2"),
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        &["hpa"],
        KEPT,
    ),
    res(
        ("policy", "v1"),
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        &["pdb"],
        KEPT,
    ),
];

impl Resource {
    fn api_version(&self) -> String {
        match self.group {
            "" => self.version.to_string(),
            g => format!("{g}/{}", self.version),
        }
    }

    /// `deployments.apps`, `pods`: how Status messages name a resource.
    fn qualified(&self) -> String {
        match self.group {
            "" => self.plural.to_string(),
            g => format!("{}.{g}", self.plural),
        }
    }

    fn singular(&self) -> String {
        self.kind.to_ascii_lowercase()
    }

    fn details(&self, name: &str) -> Value {
        let mut d = json!({"name": name, "kind": self.plural});
        if !self.group.is_empty() {
            d["group"] = json!(self.group);
        }
        d
    }
}

fn resource(plural: &str) -> &'static Resource {
    RESOURCES
        .iter()
        .find(|r| r.plural == plural)
        .unwrap_or_else(|| panic!("fake API server: unknown resource {plural}"))
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
    conns: Mutex<Vec<TcpStream>>,
    streams: Mutex<streams::StreamState>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    plural: String,
    /// Empty for cluster-scoped objects.
    namespace: String,
    name: String,
}

impl Key {
    fn new(plural: &str, namespace: &str, name: &str) -> Key {
        Key {
            plural: plural.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    fn of(res: &Resource, obj: &Value) -> Key {
        let ns = if res.namespaced {
            text(obj, "/metadata/namespace")
        } else {
            ""
        };
        Key::new(res.plural, ns, name_of(obj))
    }
}

#[derive(Clone, Copy)]
struct Timing {
    /// How often the controllers run.
    tick: Duration,
    ready_delay: Duration,
    delete_delay: Duration,
    /// Period of crash restarts, failing probes and image pull retries.
    restart_every: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        let ms = Duration::from_millis;
        Timing {
            tick: ms(50),
            ready_delay: ms(300),
            delete_delay: ms(200),
            restart_every: ms(500),
        }
    }
}

#[derive(Clone)]
struct PodRuntime {
    behavior: Behavior,
    born: Instant,
    born_wall: SystemTime,
    workload: String,
    ip: String,
    /// When its (Ready or NotReady) container was restarted, in order: the
    /// instance running now is the `restarts.len()`th.
    restarts: Vec<SystemTime>,
}

/// A line a container printed after it started (`append_log`).
#[derive(Clone)]
pub(crate) struct LogEntry {
    pub(crate) at: SystemTime,
    /// The container instance that printed it (its restart count then).
    pub(crate) instance: usize,
    pub(crate) text: String,
}

/// What a log request reads: the lines (with the times the runtime
/// recorded) and whether the instance still runs (a follow goes on).
pub(crate) struct LogView {
    pub(crate) lines: Vec<(SystemTime, String)>,
    pub(crate) container: String,
    /// The running instance read, if the request read a running one.
    pub(crate) running: Option<usize>,
    /// How many of the pod's appended lines the view holds.
    pub(crate) appended_seen: usize,
}

struct Rollout {
    generation: i64,
    since: Instant,
    complete: bool,
    counts: (i64, i64, i64),
}

#[derive(Clone)]
struct FieldOwner {
    path: Vec<String>,
    manager: String,
}

/// Who writes, for managedFields.
struct Writer<'a> {
    manager: &'a str,
    operation: &'static str,
    dry_run: bool,
}

const CONTROLLER: Writer<'static> = Writer {
    manager: "kube-controller-manager",
    operation: "Update",
    dry_run: false,
};

/// Reads of one object that fail once it has been applied.
struct FlakyReads {
    key: Key,
    armed: bool,
    left: u32,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<Key, Value>,
    rv: u64,
    /// The resourceVersion each stored object was created at (ADDED vs MODIFIED).
    created: HashMap<Key, u64>,
    /// Watches from before this resourceVersion are answered 410 Expired.
    compacted: u64,
    ingress_webhook_ready_at: Option<Instant>,
    flaky_reads: Vec<FlakyReads>,
    tombstones: Vec<(u64, Key, Value)>,
    deletions: Vec<(Instant, Key)>,
    owners: HashMap<Key, Vec<FieldOwner>>,
    /// Label and annotation keys each manager last applied, per object.
    applied_keys: HashMap<Key, HashMap<String, MapKeys>>,
    behaviors: HashMap<String, Behavior>,
    /// Per workload: the `containerID` its running pods report (else a made-up one).
    container_ids: HashMap<String, String>,
    logs: HashMap<String, String>,
    /// pod name -> lines its container printed since it started
    pub(crate) appended: HashMap<String, Vec<LogEntry>>,
    pods: HashMap<Key, PodRuntime>,
    rollouts: HashMap<Key, Rollout>,
    replicasets_created: HashMap<(String, String), usize>,
    timing: Timing,
    requests: Vec<Recorded>,
    /// Requests answered with an error status instead (method, path, code).
    faults: Vec<(String, String, u16)>,
    panics: Vec<String>,
    next_pod_ip: u32,
    next_service_ip: u32,
    next_node_port: u64,
}

type Answer = Result<Reply, Reply>;
type Query = [(String, String)];

const DEFAULT_LOGS: &str = "INFO:     Started server process [1]\n\
INFO:     Waiting for application startup.\n\
INFO:     Application startup complete.\n\
INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)\n";

const NODE_IP: &str = "192.168.49.2";

impl State {
    fn new() -> State {
        let mut st = State {
            rv: 100,
            next_pod_ip: 2,
            next_service_ip: 100,
            next_node_port: 30000,
            ..State::default()
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            let obj = st.new_object(resource("namespaces"), obj, &CONTROLLER);
            st.store(Key::new("namespaces", "", ns), obj);
        }
        st
    }

    fn random(&mut self) -> u64 {
        getrandom::u64().expect("the OS's random numbers")
    }

    fn uid(&mut self) -> String {
        let (a, b) = (self.random(), self.random());
        let (a1, a2, a3) = (a >> 32, (a >> 16) & 0xffff, a & 0xfff);
        let (b1, b2) = (0x8000 | ((b >> 48) & 0x3fff), b & 0xffff_ffff_ffff);
        format!("{a1:08x}-{a2:04x}-4{a3:03x}-{b1:04x}-{b2:012x}")
    }

    /// Five characters as in generated pod names.
    fn suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..5)
            .map(|_| ALPHABET[(self.random() % ALPHABET.len() as u64) as usize] as char)
            .collect()
    }

    /// Writes an object with the next resourceVersion and returns it.
    fn store(&mut self, key: Key, mut obj: Value) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        if !self.objects.contains_key(&key) {
            self.created.insert(key.clone(), self.rv);
        }
        self.objects.insert(key, obj.clone());
        obj
    }

    fn record_applied_keys(&mut self, key: &Key, manager: &str, applied: &Value) {
        let managers = self.applied_keys.entry(key.clone()).or_default();
        managers.insert(manager.to_string(), map_keys(applied));
    }

    fn claim(&mut self, key: &Key, path: &[String], manager: &str) {
        let owners = self.owners.entry(key.clone()).or_default();
        owners.retain(|o| o.path != path);
        owners.push(FieldOwner {
            path: path.to_vec(),
            manager: manager.to_string(),
        });
    }

    /// A fresh object: kind/apiVersion, uid, creationTimestamp, generation,
    /// defaults and managedFields (not stored yet).
    fn new_object(&mut self, res: &Resource, mut obj: Value, writer: &Writer) -> Value {
        obj["kind"] = json!(res.kind);
        obj["apiVersion"] = json!(res.api_version());
        obj["metadata"]["uid"] = json!(self.uid());
        obj["metadata"]["creationTimestamp"] = json!(now_str());
        if res.generation {
            obj["metadata"]["generation"] = json!(1);
        }
        self.apply_defaults(res, &mut obj, None);
        set_managed(&mut obj, writer, &res.api_version());
        obj
    }

    /// Server-side defaults, keeping allocated values from `prev`.
    fn apply_defaults(&mut self, res: &Resource, obj: &mut Value, prev: Option<&Value>) {
        fill(obj, defaults_of(res.plural));
        match res.plural {
            "namespaces" => {
                let name = name_of(obj).to_string();
                obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            }
            "secrets" => {
                let string_data = obj.as_object_mut().and_then(|o| o.remove("stringData"));
                for (k, v) in entries(string_data.as_ref().unwrap_or(&Value::Null)) {
                    obj["data"][k.as_str()] = json!(BASE64.encode(v.as_str().unwrap_or_default()));
                }
            }
            "services" => self.default_service(obj, prev),
            "deployments" | "statefulsets" | "replicasets" => {
                default_pod_spec(&mut obj["spec"]["template"]["spec"])
            }
            "pods" => default_pod_spec(&mut obj["spec"]),
            _ => {}
        }
    }

    /// A Service's clusterIP and node ports, kept from `prev` once allocated.
    fn default_service(&mut self, obj: &mut Value, prev: Option<&Value>) {
        let kind = text(obj, "/spec/type").to_string();
        if kind != "ExternalName" && obj["spec"]["clusterIP"].is_null() {
            let ip = match prev.map(|p| text(p, "/spec/clusterIP")) {
                Some(ip) if !ip.is_empty() => ip.to_string(),
                _ => {
                    self.next_service_ip += 1;
                    let n = self.next_service_ip;
                    format!("10.96.{}.{}", n / 250, n % 250 + 1)
                }
            };
            obj["spec"]["clusterIP"] = json!(ip);
        }
        if !obj["spec"]["clusterIP"].is_null() && obj["spec"]["clusterIPs"].is_null() {
            obj["spec"]["clusterIPs"] = json!([obj["spec"]["clusterIP"].clone()]);
        }
        let prev_ports = prev.map_or(&[][..], |p| items(&p["spec"]["ports"]));
        let node_ports = kind == "NodePort" || kind == "LoadBalancer";
        for port in obj["spec"]["ports"].as_array_mut().into_iter().flatten() {
            fill(port, json!({"protocol": "TCP", "targetPort": port["port"]}));
            if node_ports && port["nodePort"].is_null() {
                let old = prev_ports.iter().find(|p| p["port"] == port["port"]);
                let n = old.and_then(|p| p["nodePort"].as_u64()).unwrap_or_else(|| {
                    self.next_node_port += 1;
                    self.next_node_port
                });
                port["nodePort"] = json!(n);
            }
        }
    }

    /// Schedules a new pod (unless its behaviour says it cannot be) and
    /// attaches its runtime, before the pod is stored.
    fn schedule_pod(&mut self, pod: &mut Value, key: &Key, workload: &str) {
        let behavior = self.behaviors.get(workload).cloned();
        let behavior = behavior.unwrap_or(Behavior::Ready);
        if !matches!(behavior, Behavior::Unschedulable { .. }) {
            pod["spec"]["nodeName"] = json!("minikube");
            self.claim(key, &path_of(&["spec", "nodeName"]), "kube-scheduler");
        }
        pod["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
        let n = self.next_pod_ip;
        self.next_pod_ip += 1;
        let (born, born_wall) = (Instant::now(), SystemTime::now());
        let (workload, ip) = (
            workload.to_string(),
            format!("10.244.{}.{}", n / 250, n % 250 + 2),
        );
        let restarts = Vec::new();
        self.pods.insert(
            key.clone(),
            PodRuntime {
                behavior,
                born,
                born_wall,
                workload,
                ip,
                restarts,
            },
        );
    }

    /// New content needs a namespace that exists and is not terminating.
    fn check_namespace(&self, t: &Target, name: &str) -> Result<(), Reply> {
        let ns = t.namespace.as_deref().unwrap_or_default();
        match self
            .objects
            .get(&Key::new("namespaces", "", ns))
            .map(terminating)
        {
            _ if !t.res.namespaced => Ok(()),
            None => Err(not_found(resource("namespaces"), ns)),
            Some(true) => {
                let qualified = t.res.qualified();
                let message = format!("{qualified} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated");
                Err(failure(
                    403,
                    "Forbidden",
                    message,
                    Some(t.res.details(name)),
                ))
            }
            Some(false) => Ok(()),
        }
    }

    // ---- requests -------------------------------------------------------

    /// A 500 for a read of an object whose reads were made flaky.
    fn injected_failure(&mut self, method: &str, t: &Target, q: &Query) -> Option<Reply> {
        let ns = t.namespace.as_deref().unwrap_or_default();
        let by_field = param(q, "fieldSelector").unwrap_or_default();
        let reads = |f: &FlakyReads| match &t.name {
            Some(n) => *n == f.key.name && t.sub.is_none(),
            None => by_field
                .split(',')
                .any(|term| term.trim() == format!("metadata.name={}", f.key.name)),
        };
        let flaky = self.flaky_reads.iter_mut().find(|f| {
            let object = f.key.plural == t.res.plural && f.key.namespace == ns;
            method == "GET" && f.armed && f.left > 0 && object && reads(f)
        })?;
        flaky.left -= 1;
        // Not a 503: kube's client retries 429/503/504 by itself.
        let cause = "etcdserver: request timed out";
        let (message, causes) = (
            format!("Internal error occurred: {cause}"),
            json!([{"message": cause}]),
        );
        Some(failure(
            500,
            "InternalError",
            message,
            Some(json!({ "causes": causes })),
        ))
    }

    fn dispatch(
        &mut self,
        method: &str,
        t: &Target,
        q: &Query,
        media: &str,
        body: &[u8],
    ) -> Answer {
        match t.sub.as_deref() {
            None => {}
            Some("status") if t.res.status && t.name.is_some() => {}
            Some("log") if t.res.plural == "pods" && t.name.is_some() && method == "GET" => {
                return self.logs(t, q)
            }
            Some("log") if t.res.plural == "pods" && t.name.is_some() => {
                return Err(method_not_allowed(method))
            }
            Some(_) => return Err(unknown_resource()),
        }
        let webhook_down = self
            .ingress_webhook_ready_at
            .is_some_and(|at| Instant::now() < at);
        if t.res.plural == "ingresses"
            && t.sub.is_none()
            && matches!(method, "POST" | "PUT" | "PATCH")
            && webhook_down
        {
            return Err(webhook_unavailable());
        }
        match (method, t.name.as_deref()) {
            ("GET", None) => {
                let items = self.select(t.res, t.namespace.as_deref(), q)?;
                let items = items.into_iter().map(|(_, v)| v).collect();
                Ok(Reply::json(200, &self.list_body(t.res, items)))
            }
            ("GET", Some(name)) => match self.objects.get(&t.key(name)) {
                Some(o) => Ok(Reply::json(200, o)),
                None => Err(not_found(t.res, name)),
            },
            ("POST", None) => self.create(t, q, body),
            ("PUT", Some(name)) => self.update(t, name, q, body, false),
            ("PATCH", Some(name)) => match media {
                "application/apply-patch+yaml" => self.apply(t, name, q, body),
                "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                    self.update(t, name, q, body, true)
                }
                _ => Err(failure(
                    415,
                    "UnsupportedMediaType",
                    unsupported_media(media),
                    None,
                )),
            },
            ("DELETE", Some(name)) if t.sub.is_none() => {
                let key = t.key(name);
                let existing = self.get(t, name)?;
                if dry_run(q) {
                    return Ok(Reply::json(200, &existing));
                }
                let policy = propagation_policy(q, body);
                Ok(Reply::json(200, &self.mark_deleted(&key, &policy)))
            }
            ("DELETE", None) => {
                let policy = propagation_policy(q, body);
                let mut deleted = Vec::new();
                for (key, obj) in self.select(t.res, t.namespace.as_deref(), q)? {
                    deleted.push(match dry_run(q) {
                        true => obj,
                        false => self.mark_deleted(&key, &policy),
                    });
                }
                Ok(Reply::json(200, &self.list_body(t.res, deleted)))
            }
            _ => Err(method_not_allowed(method)),
        }
    }

    /// The stored object the request names, or 404.
    fn get(&self, t: &Target, name: &str) -> Result<Value, Reply> {
        let found = self.objects.get(&t.key(name)).cloned();
        found.ok_or_else(|| not_found(t.res, name))
    }

    fn select(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        q: &Query,
    ) -> Result<Vec<(Key, Value)>, Reply> {
        let matches = selector(res, q)?;
        let in_scope =
            |k: &Key| k.plural == res.plural && namespace.is_none_or(|ns| k.namespace == ns);
        Ok(self.pick(|k, v| in_scope(k) && matches(v)))
    }

    fn list_body(&self, res: &Resource, items: Vec<Value>) -> Value {
        json!({"kind": format!("{}List", res.kind), "apiVersion": res.api_version(), "metadata": {"resourceVersion": self.rv.to_string()}, "items": items})
    }

    fn create(&mut self, t: &Target, q: &Query, body: &[u8]) -> Answer {
        if t.res.namespaced && t.namespace.is_none() {
            return Err(unknown_resource());
        }
        let mut obj = parse_object(body)?;
        let name = match (
            text(&obj, "/metadata/name"),
            text(&obj, "/metadata/generateName"),
        ) {
            ("", "") => {
                let message = format!("{} \"\" is invalid: metadata.name: Required value: name or generateName is required", t.res.kind);
                return Err(failure(422, "Invalid", message, None));
            }
            ("", generate) => format!("{generate}{}", self.suffix()),
            (name, _) => name.to_string(),
        };
        check_body(t, &name, &mut obj, false)?;
        self.check_namespace(t, &name)?;
        let key = t.key(&name);
        if self.objects.contains_key(&key) {
            let message = format!("{} \"{name}\" already exists", t.res.qualified());
            return Err(failure(
                409,
                "AlreadyExists",
                message,
                Some(t.res.details(&name)),
            ));
        }
        self.create_new(t, &key, obj, &writer(q, "Update"))
    }

    /// A client's new object: stored (unless dry run) with its defaults,
    /// without the fields only the server sets; a pod gets scheduled.
    fn create_new(&mut self, t: &Target, key: &Key, mut obj: Value, writer: &Writer) -> Answer {
        strip_server_fields(&mut obj);
        if t.res.status {
            remove_key(&mut obj, "status");
        }
        let mut obj = self.new_object(t.res, obj, writer);
        if let Some(invalid) = invalid_object(t.res, &key.name, &obj) {
            return Err(invalid);
        }
        if writer.dry_run {
            return Ok(Reply::json(201, &obj));
        }
        if t.res.plural == "pods" {
            self.schedule_pod(&mut obj, key, &key.name);
        }
        Ok(Reply::json(201, &self.store(key.clone(), obj)))
    }

    fn apply(&mut self, t: &Target, name: &str, q: &Query, body: &[u8]) -> Answer {
        let Some(manager) = param(q, "fieldManager").filter(|m| !m.is_empty()) else {
            let message = "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch";
            let details = json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]});
            return Err(failure(422, "Invalid", message.into(), Some(details)));
        };
        let writer = writer(q, "Apply");
        let mut applied = parse_object(body)?;
        check_body(t, name, &mut applied, true)?;
        strip_server_fields(&mut applied);
        let key = t.key(name);
        let Some(existing) = self.objects.get(&key).cloned() else {
            if t.sub.is_some() {
                return Err(not_found(t.res, name));
            }
            self.check_namespace(t, name)?;
            let reply = self.create_new(t, &key, applied.clone(), &writer)?;
            if !writer.dry_run {
                self.record_applied_keys(&key, manager, &applied);
            }
            return Ok(reply);
        };
        if t.sub.is_some() {
            let mut new = existing.clone();
            copy_field(&applied, &mut new, "status");
            return Ok(self.finish_update(t.res, &key, &existing, new, &writer));
        }
        let others = self
            .owners
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|o| o.manager != manager)
            .cloned();
        let changes = |o: &FieldOwner| {
            get_path(&applied, &o.path).is_some_and(|v| Some(v) != get_path(&existing, &o.path))
        };
        let (conflicts, kept): (Vec<FieldOwner>, Vec<FieldOwner>) = others.partition(changes);
        if !conflicts.is_empty() && param(q, "force") != Some("true") {
            return Err(conflict(t.res, &conflicts));
        }
        if !writer.dry_run {
            if let Some(owners) = self.owners.get_mut(&key) {
                owners.retain(|o| !conflicts.iter().any(|c| c.path == o.path));
            }
        }
        let previous = self.applied_keys.get(&key).and_then(|m| m.get(manager));
        let previous = previous.cloned().unwrap_or_default();
        let mut new = merge_intent(&existing, &applied, &previous);
        if !writer.dry_run {
            self.record_applied_keys(&key, manager, &applied);
        }
        // What others own and this apply leaves out stays as it is.
        for owner in kept
            .iter()
            .filter(|o| get_path(&applied, &o.path).is_none())
        {
            if let Some(v) = get_path(&existing, &owner.path) {
                set_path(&mut new, &owner.path, v.clone());
            }
        }
        self.apply_defaults(t.res, &mut new, Some(&existing));
        Ok(self.finish_update(t.res, &key, &existing, new, &writer))
    }

    /// PUT (`merge` false) or a merge patch: the body (merged into the
    /// stored object) with the server's fields kept, `status` from the
    /// main resource or the main resource from `status` left as stored.
    fn update(&mut self, t: &Target, name: &str, q: &Query, body: &[u8], merge: bool) -> Answer {
        let mut body = parse_object(body)?;
        if !merge {
            check_body(t, name, &mut body, false)?;
        }
        let key = t.key(name);
        let existing = self.get(t, name)?;
        check_precondition(t.res, name, &body, &existing)?;
        let mut new = if merge {
            let mut patched = existing.clone();
            merge_patch(&mut patched, &body);
            patched
        } else {
            body.clone()
        };
        copy_server_fields(&existing, &mut new);
        if t.sub.is_some() {
            let status = new;
            new = existing.clone();
            copy_field(&status, &mut new, "status");
        } else if t.res.status {
            copy_field(&existing, &mut new, "status");
        }
        self.apply_defaults(t.res, &mut new, Some(&existing));
        let writer = writer(q, "Update");
        let reply = self.finish_update(t.res, &key, &existing, new, &writer);
        if merge && reply.code == 200 && !writer.dry_run && t.sub.is_none() {
            // An Update owns what it set (`kubectl rollout restart`'s
            // annotation, `kubectl set env`): a later apply by another
            // manager that leaves it out keeps it.
            let mut paths = Vec::new();
            leaf_paths(&body, &mut Vec::new(), &mut paths);
            let owned = |p: &&Vec<String>| {
                p.first().is_some_and(|f| f != "status" && f != "metadata")
                    || p.get(1)
                        .is_some_and(|f| f == "labels" || f == "annotations")
            };
            for path in paths.iter().filter(owned) {
                self.claim(&key, path, writer.manager);
            }
        }
        Ok(reply)
    }

    /// Stores `new` unless it equals `existing` (a no-op keeps the
    /// resourceVersion); bumps generation when spec (Deployment: or
    /// annotations) changed.
    fn finish_update(
        &mut self,
        res: &Resource,
        key: &Key,
        existing: &Value,
        mut new: Value,
        writer: &Writer,
    ) -> Reply {
        if &new == existing {
            return Reply::json(200, existing);
        }
        if let Some(invalid) = invalid_object(res, &key.name, &new)
            .or_else(|| immutable_change(res, &key.name, existing, &new))
        {
            return invalid;
        }
        let annotations = |v: &Value| v["metadata"]["annotations"].clone();
        let spec_changed = new["spec"] != existing["spec"]
            || (res.plural == "deployments" && annotations(&new) != annotations(existing));
        if res.generation && spec_changed {
            new["metadata"]["generation"] =
                json!(existing["metadata"]["generation"].as_i64().unwrap_or(1) + 1);
        }
        set_managed(&mut new, writer, &res.api_version());
        if writer.dry_run {
            return Reply::json(200, &new);
        }
        Reply::json(200, &self.store(key.clone(), new))
    }
    /// Sets deletionTimestamp (the object goes after the delete delay) and
    /// cascades to dependents (ownerReferences) or, for a namespace, to
    /// everything in it.
    fn mark_deleted(&mut self, key: &Key, policy: &str) -> Value {
        let Some(mut obj) = self.objects.get(key).cloned() else {
            return Value::Null;
        };
        if terminating(&obj) {
            return obj;
        }
        obj["metadata"]["deletionTimestamp"] = json!(now_str());
        obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        if policy == "Foreground" {
            let finalizers = &mut obj["metadata"]["finalizers"];
            if !finalizers.is_array() {
                *finalizers = json!([]);
            }
            if let Some(f) = finalizers.as_array_mut() {
                f.push(json!("foregroundDeletion"));
            }
        }
        if key.plural == "namespaces" {
            obj["status"]["phase"] = json!("Terminating");
        }
        let obj = self.store(key.clone(), obj);
        self.deletions
            .push((Instant::now() + self.timing.delete_delay, key.clone()));
        let uid = uid_of(&obj).to_string();
        let orphan = policy == "Orphan" && key.plural != "namespaces";
        for dep in self.dependents(key, &uid) {
            match self.objects.get(&dep).cloned() {
                Some(mut d) if orphan => {
                    let refs = d["metadata"]["ownerReferences"].as_array_mut();
                    refs.into_iter()
                        .for_each(|refs| refs.retain(|r| r["uid"] != uid.as_str()));
                    self.store(dep, d);
                }
                _ => {
                    self.mark_deleted(&dep, "Background");
                }
            }
        }
        obj
    }

    /// What goes with an object: what it owns, or a namespace's content.
    fn dependents(&self, key: &Key, uid: &str) -> Vec<Key> {
        let is_namespace = key.plural == "namespaces";
        let depends = |k: &Key, v: &Value| match is_namespace {
            true => k.namespace == key.name,
            false => owned_by(v, uid),
        };
        self.pick(depends).into_iter().map(|(k, _)| k).collect()
    }

    /// Removes an object for good, with its dependents or namespace content.
    fn remove(&mut self, key: &Key) {
        let Some(mut obj) = self.objects.remove(key) else {
            return;
        };
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.tombstones.push((self.rv, key.clone(), obj.clone()));
        // What the store keeps beside an object goes with it.
        self.created.remove(key);
        self.pods.remove(key);
        self.owners.remove(key);
        self.applied_keys.remove(key);
        self.rollouts.remove(key);
        for dep in self.dependents(key, uid_of(&obj)) {
            self.remove(&dep);
        }
    }

    fn logs(&self, t: &Target, q: &Query) -> Answer {
        let view = self.log_view(t, q)?;
        let timestamps = matches!(param(q, "timestamps"), Some("true" | "1"));
        let lines = view
            .lines
            .iter()
            .map(|(at, line)| log_line(*at, line, timestamps));
        let mut logs: String = lines.collect();
        if let Some(limit) = param(q, "limitBytes").and_then(|n| n.parse::<usize>().ok()) {
            let mut cut = limit.min(logs.len());
            while !logs.is_char_boundary(cut) {
                cut -= 1;
            }
            logs.truncate(cut);
        }
        Ok(Reply::text(200, logs))
    }

    /// The lines a log request gets, as the kubelet serves them
    /// (kubelet_pods.go, validateContainerLogStatus): the running instance's;
    /// while the container waits after a crash, the ended one's; with
    /// `previous=true` the ended one's or 400. `sinceSeconds` and
    /// `tailLines` cut by the times the runtime recorded.
    pub(crate) fn log_view(&self, t: &Target, q: &Query) -> Result<LogView, Reply> {
        let name = t.name.as_deref().unwrap_or_default();
        let pod = self
            .objects
            .get(&t.key(name))
            .ok_or_else(|| not_found(t.res, name))?;
        let containers: Vec<String> = containers_of(pod).into_iter().map(|(n, _)| n).collect();
        let bad = |m: String| Err(failure(400, "BadRequest", m, None));
        let container = match param(q, "container") {
            Some(c) if containers.iter().any(|n| n == c) => c.to_string(),
            Some(c) => return bad(format!("container {c} is not valid for pod {name}")),
            None if containers.len() == 1 => containers[0].clone(),
            None => {
                let choices = containers.join(" ");
                let message = format!(
                    "a container name must be specified for pod {name}, choose one of: [{choices}]"
                );
                return bad(message);
            }
        };
        let appended = self.appended.get(name).map_or(&[][..], Vec::as_slice);
        let (lines, running, appended_seen) = (Vec::new(), None, appended.len());
        let mut view = LogView {
            lines,
            container: container.clone(),
            running,
            appended_seen,
        };
        if text(pod, "/spec/nodeName").is_empty() {
            return Ok(view);
        }
        let rt = self.pods.get(&t.key(name));
        let workload = rt.map_or(name, |r| r.workload.as_str());
        let timing = self.timing;
        // An instance's log: the lines it prints at start, then what it printed since.
        let instance_lines = |instance: usize| -> Vec<(SystemTime, String)> {
            let at = match rt {
                Some(r) if instance > 0 => r.restarts[instance - 1],
                Some(r) => r.born_wall + timing.ready_delay,
                None => SystemTime::now(),
            };
            let base = self.logs.get(workload).map_or(DEFAULT_LOGS, String::as_str);
            let since = appended.iter().filter(|e| e.instance == instance);
            let since = since.map(|e| (e.at, e.text.clone()));
            base.lines()
                .map(|l| (at, l.to_string()))
                .chain(since)
                .collect()
        };
        let crashed = |status: &Value| -> Vec<(SystemTime, String)> {
            let Some(Behavior::CrashLoop { logs, .. }) = rt.map(|r| &r.behavior) else {
                return instance_lines(rt.map_or(0, |r| r.restarts.len().saturating_sub(1)));
            };
            // The ended run's start: its restart count says which run it was.
            let runs = status["restartCount"].as_i64().unwrap_or(1).max(1) - 1;
            let run_start = timing.ready_delay + timing.restart_every * runs as u32;
            let at = rt.map_or(SystemTime::now(), |r| r.born_wall + run_start);
            logs.lines().map(|l| (at, l.to_string())).collect()
        };
        let statuses = items(&pod["status"]["containerStatuses"]);
        let status = statuses.iter().find(|c| c["name"] == container.as_str());
        let status = status.cloned().unwrap_or(Value::Null);
        let state = &status["state"];
        let last_terminated = status["lastState"]["terminated"].is_object();
        let waiting = |why: &str| {
            bad(format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start{why}"
            ))
        };
        view.lines = if param(q, "previous") == Some("true") {
            if !last_terminated {
                let message = format!(
                    "previous terminated container \"{container}\" in pod \"{name}\" not found"
                );
                return bad(message);
            }
            crashed(&status)
        } else if state["running"].is_object() {
            let instance = rt.map_or(0, |r| r.restarts.len());
            view.running = Some(instance);
            instance_lines(instance)
        } else if state["terminated"].is_object() || last_terminated {
            crashed(&status)
        } else {
            return match state["waiting"]["reason"].as_str() {
                Some("ErrImagePull") => waiting(": image can't be pulled"),
                Some("ImagePullBackOff") => waiting(": trying and failing to pull image"),
                Some(reason) => waiting(&format!(": {reason}")),
                None => waiting(" - no logs yet"),
            };
        };
        if let Some(secs) = param(q, "sinceSeconds").and_then(|n| n.parse::<u64>().ok()) {
            let from = SystemTime::now() - Duration::from_secs(secs);
            view.lines.retain(|(at, _)| *at >= from);
        }
        if let Some(n) = param(q, "tailLines").and_then(|n| n.parse::<usize>().ok()) {
            let skip = view.lines.len().saturating_sub(n);
            view.lines.drain(..skip);
        }
        Ok(view)
    }

    /// Watch events after `from` (all current objects, ADDED, when 0).
    fn changes_since(&self, t: &Target, from: u64, q: &Query) -> Result<Vec<Value>, Reply> {
        let matches = selector(t.res, q)?;
        let in_scope = |k: &Key, v: &Value| {
            k.plural == t.res.plural
                && t.namespace.as_deref().is_none_or(|ns| k.namespace == ns)
                && matches(v)
        };
        let mut events: Vec<(u64, Value)> = self
            .objects
            .iter()
            .filter(|(k, v)| in_scope(k, v))
            .filter_map(|(k, v)| {
                let rv = text(v, "/metadata/resourceVersion").parse::<u64>().ok()?;
                let new = from == 0 || self.created.get(k).is_some_and(|c| *c > from);
                let kind = if new { "ADDED" } else { "MODIFIED" };
                (rv > from).then(|| (rv, json!({"type": kind, "object": v})))
            })
            .collect();
        if from > 0 {
            events.extend(
                self.tombstones
                    .iter()
                    .filter(|(rv, k, v)| *rv > from && in_scope(k, v))
                    .map(|(rv, _, v)| (*rv, json!({"type": "DELETED", "object": v}))),
            );
        }
        events.sort_by_key(|(rv, _)| *rv);
        Ok(events.into_iter().map(|(_, e)| e).collect())
    }

    // ---- controllers ----------------------------------------------------

    fn tick(&mut self) {
        let now = Instant::now();
        let (due, later) = std::mem::take(&mut self.deletions)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.deletions = later;
        for (_, key) in due {
            self.remove(&key);
        }
        for (plural, sync) in CONTROLLERS {
            for (key, _) in self.pick(|k, v| k.plural == *plural && !terminating(v)) {
                sync(self, &key);
            }
        }
    }

    /// Non-terminating objects of `plural` in `ns` owned by `uid`.
    fn owned(&self, plural: &str, ns: &str, uid: &str) -> Vec<(Key, Value)> {
        self.pick(|k, v| {
            k.plural == plural && k.namespace == ns && !terminating(v) && owned_by(v, uid)
        })
    }

    /// The stored objects `pick` chooses, copied out.
    fn pick(&self, pick: impl Fn(&Key, &Value) -> bool) -> Vec<(Key, Value)> {
        let picked = self.objects.iter().filter(|(k, v)| pick(k, v));
        picked.map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn create_internal(&mut self, plural: &str, obj: Value) -> Value {
        let res = resource(plural);
        let obj = self.new_object(res, obj, &CONTROLLER);
        let key = Key::of(res, &obj);
        self.store(key, obj)
    }

    /// Writes `new` over `key` when it differs.
    fn update_internal(&mut self, key: &Key, new: Value) {
        if self.objects.get(key) != Some(&new) {
            self.store(key.clone(), new);
        }
    }

    /// Sets an object's status (read again: the sync may have changed it).
    fn set_status(&mut self, key: &Key, status: Value) {
        if let Some(mut next) = self.objects.get(key).cloned() {
            next["status"] = status;
            self.update_internal(key, next);
        }
    }

    fn sync_namespace(&mut self, key: &Key) {
        let ns = key.name.clone();
        if !self
            .objects
            .contains_key(&Key::new("serviceaccounts", &ns, "default"))
        {
            self.create_internal(
                "serviceaccounts",
                json!({"metadata": {"name": "default", "namespace": ns}}),
            );
        }
        if !self
            .objects
            .contains_key(&Key::new("configmaps", &ns, "kube-root-ca.crt"))
        {
            self.create_internal(
                "configmaps",
                json!({"metadata": {"name": "kube-root-ca.crt", "namespace": ns, "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                       "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nFAKE\n-----END CERTIFICATE-----\n"}}),
            );
        }
    }

    /// Records an event about `involved`. The scheduler writes through
    /// events.k8s.io/v1, which core/v1 shows with eventTime and series
    /// (count, lastObservedTime); firstTimestamp/lastTimestamp/count stay
    /// null or absent.
    fn record_event(&mut self, involved: &Value, e: &EventSpec) {
        let ns = text(involved, "/metadata/namespace").to_string();
        if self
            .objects
            .get(&Key::new("namespaces", "", &ns))
            .is_none_or(terminating)
        {
            return;
        }
        let series = e.component == "default-scheduler";
        let (name, uid) = (name_of(involved), uid_of(involved));
        let id = fnv(&format!(
            "{uid}|{}|{}|{:?}",
            e.reason, e.message, e.field_path
        ));
        let key = Key::new("events", &ns, &format!("{name}.{id:016x}"));
        let now = if series {
            rfc3339_micro(SystemTime::now())
        } else {
            now_str()
        };
        if let Some(mut ev) = self.objects.get(&key).cloned() {
            let count_at = if series { "/series/count" } else { "/count" };
            let old = ev.pointer(count_at).and_then(Value::as_i64).unwrap_or(1);
            let new = e.count.map_or(old + 1, |n| n.max(old));
            let update = match series {
                true => json!({"series": {"count": new, "lastObservedTime": now}}),
                false => json!({"count": new, "lastTimestamp": now}),
            };
            if new != old {
                merge_patch(&mut ev, &update);
                self.store(key, ev);
            }
            return;
        }
        let mut reference = json!({"kind": involved["kind"], "namespace": ns, "name": name, "uid": uid, "apiVersion": involved["apiVersion"], "resourceVersion": involved["metadata"]["resourceVersion"]});
        if let Some(fp) = &e.field_path {
            reference["fieldPath"] = json!(fp);
        }
        let meta = json!({"name": key.name, "namespace": ns});
        let (kind, component) = (if e.warning { "Warning" } else { "Normal" }, e.component);
        let kubelet = component == "kubelet";
        let mut event = if series {
            let action = if e.reason == "Scheduled" {
                "Binding"
            } else {
                "Scheduling"
            };
            json!({"metadata": meta, "involvedObject": reference, "reason": e.reason, "message": e.message, "source": {},
                   "firstTimestamp": null, "lastTimestamp": null, "type": kind, "eventTime": now, "action": action,
                   "reportingComponent": component, "reportingInstance": format!("{component}-minikube")})
        } else {
            let source = if kubelet {
                json!({"component": "kubelet", "host": "minikube"})
            } else {
                json!({"component": component})
            };
            json!({"metadata": meta, "involvedObject": reference, "reason": e.reason, "message": e.message, "source": source,
                   "firstTimestamp": now, "lastTimestamp": now, "count": e.count.unwrap_or(1).max(1), "type": kind, "eventTime": null,
                   "reportingComponent": component, "reportingInstance": if kubelet { "minikube" } else { "" }})
        };
        if let Some(n) = e.count.filter(|n| *n > 1 && series) {
            event["series"] = json!({"count": n, "lastObservedTime": now});
        }
        self.create_internal("events", event);
    }

    fn sync_deployment(&mut self, key: &Key) {
        let Some(d) = self.objects.get(key).cloned() else {
            return;
        };
        let (ns, name) = (key.namespace.clone(), key.name.clone());
        let uid = uid_of(&d).to_string();
        let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
        let generation = d["metadata"]["generation"].as_i64().unwrap_or(1);
        let hash = short_hash(&d["spec"]["template"]);
        let recreate = text(&d, "/spec/strategy/type") == "Recreate";
        let now = Instant::now();
        let scaling = |m| EventSpec::once("ScalingReplicaSet", m, "deployment-controller");

        let rss = self.owned("replicasets", &ns, &uid);
        let max_rev = rss.iter().map(|(_, rs)| revision(rs)).max().unwrap_or(0);
        let hashed = |rs: &&(Key, Value)| label(&rs.1, "pod-template-hash") == Some(&hash);
        let current = rss.iter().find(hashed).cloned();
        let created = current.is_none();
        let (new_key, new_rs) = match current {
            Some((k, mut rs)) => {
                let before = rs.clone();
                rs["spec"]["replicas"] = json!(want);
                if revision(&rs) < max_rev {
                    let next = json!((max_rev + 1).to_string());
                    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = next;
                }
                if rs != before {
                    rs = self.store(k.clone(), rs);
                }
                (k, rs)
            }
            None => {
                let rs_name = format!("{name}-{hash}");
                let k = Key::new("replicasets", &ns, &rs_name);
                if self.objects.contains_key(&k) {
                    return; // a namesake is still terminating
                }
                let mut template = d["spec"]["template"].clone();
                template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
                let mut selector = d["spec"]["selector"].clone();
                selector["matchLabels"]["pod-template-hash"] = json!(hash);
                let annotations = json!({
                    "deployment.kubernetes.io/desired-replicas": want.to_string(),
                    "deployment.kubernetes.io/max-replicas": (want + (want + 3) / 4).to_string(),
                    "deployment.kubernetes.io/revision": (max_rev + 1).to_string(),
                });
                let labels = template["metadata"]["labels"].clone();
                let rs = json!({
                    "metadata": {"name": rs_name, "namespace": ns, "labels": labels, "annotations": annotations, "ownerReferences": [owner_ref(&d)]},
                    "spec": {"replicas": want, "selector": selector, "template": template},
                });
                let rs = self.create_internal("replicasets", rs);
                let count = self.replicasets_created.entry((ns.clone(), name.clone()));
                *count.or_default() += 1;
                let message = format!("Scaled up replica set {rs_name} from 0 to {want}");
                self.record_event(&d, &scaling(message));
                (k, rs)
            }
        };
        let rs_name = new_key.name.clone();
        let new_pods = self.owned("pods", &ns, uid_of(&new_rs));
        let new_ready = new_pods.iter().filter(|(_, p)| is_ready(p)).count() as i64;
        let mut old: Vec<Key> = rss.into_iter().map(|(k, _)| k).collect();
        old.retain(|k| *k != new_key);
        if recreate || (new_pods.len() as i64 >= want && new_ready >= want) {
            for k in &old {
                let Some(mut rs) = self.objects.get(k).cloned() else {
                    continue;
                };
                let n = rs["spec"]["replicas"].as_i64().unwrap_or(0);
                if n != 0 {
                    rs["spec"]["replicas"] = json!(0);
                    self.store(k.clone(), rs);
                    let message = format!("Scaled down replica set {} from {n} to 0", k.name);
                    self.record_event(&d, &scaling(message));
                }
            }
        }
        let (mut old_pods, mut old_ready, mut old_spec) = (0, 0, 0);
        for k in &old {
            let rs = self.objects.get(k).cloned().unwrap_or(Value::Null);
            old_spec += rs["spec"]["replicas"].as_i64().unwrap_or(0);
            for (_, p) in self.owned("pods", &ns, uid_of(&rs)) {
                old_pods += 1;
                old_ready += i64::from(is_ready(&p));
            }
        }
        let updated = new_pods.len() as i64;
        let available = new_ready + old_ready;
        let complete = updated == want && old_pods == 0 && new_ready >= want;

        // Progress: a new generation or ReplicaSet, more pods updated,
        // available or ready, or a complete rollout undone.
        let (counts, since) = ((updated, available, new_ready), now);
        let rollout = self.rollouts.entry(key.clone());
        let rollout = rollout.or_insert(Rollout {
            generation,
            since,
            complete: false,
            counts: (0, 0, 0),
        });
        let (was, is) = (rollout.counts, counts);
        let progressed = is.0 > was.0 || is.1 > was.1 || is.2 > was.2;
        let undone = rollout.complete && !complete;
        if rollout.generation != generation || created || progressed || undone {
            rollout.since = now;
        }
        (rollout.generation, rollout.counts, rollout.complete) = (generation, counts, complete);
        // The Deployment's own progressDeadlineSeconds (defaulted to 600).
        let deadline = d["spec"]["progressDeadlineSeconds"].as_u64().unwrap_or(600);
        let stalled = now.duration_since(rollout.since);
        let timed_out = !complete && stalled > Duration::from_secs(deadline);

        let max_unavailable = &d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"];
        let max_unavailable = if recreate {
            0
        } else {
            scaled(max_unavailable, want)
        };
        let available_reason = match available >= want - max_unavailable {
            true => "MinimumReplicasAvailable",
            false => "MinimumReplicasUnavailable",
        };
        let progressing_reason = match () {
            _ if complete => "NewReplicaSetAvailable",
            _ if timed_out => "ProgressDeadlineExceeded",
            _ if created => "NewReplicaSetCreated",
            _ => "ReplicaSetUpdated",
        };
        let reasons = [
            ("Available", available_reason),
            ("Progressing", progressing_reason),
        ];
        let conditions = reasons.map(|(t, r)| deployment_condition(&d["status"], t, r, &rs_name));
        let unavailable = (want + old_spec - available).max(0);
        let status = json!({
            "observedGeneration": generation, "replicas": updated + old_pods, "updatedReplicas": updated,
            "readyReplicas": available, "availableReplicas": available, "unavailableReplicas": unavailable,
            "conditions": conditions,
        });
        let counts = [
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
        ];
        let mut next = d.clone();
        next["status"] = without_zero(status, &counts);
        let rev_path = path_of(&[
            "metadata",
            "annotations",
            "deployment.kubernetes.io/revision",
        ]);
        set_path(&mut next, &rev_path, json!(revision(&new_rs).to_string()));
        self.claim(key, &rev_path, "kube-controller-manager");
        self.update_internal(key, next);
    }

    fn sync_replicaset(&mut self, key: &Key) {
        let Some(rs) = self.objects.get(key).cloned() else {
            return;
        };
        let ns = key.namespace.clone();
        let uid = uid_of(&rs).to_string();
        let want = rs["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
        let refs = rs["metadata"]["ownerReferences"].as_array();
        let deployment = refs.and_then(|refs| refs.iter().find(|r| r["kind"] == "Deployment"));
        let workload = deployment
            .and_then(|r| r["name"].as_str())
            .unwrap_or(&key.name);
        let workload = workload.to_string();
        let event = |reason, message| EventSpec::once(reason, message, "replicaset-controller");
        let mut pods = self.owned("pods", &ns, &uid);
        for _ in pods.len() as i64..want {
            let pod_name = format!("{}-{}", key.name, self.suffix());
            let pod = pod_from_template(&rs["spec"]["template"], &ns, &pod_name, &rs);
            self.create_pod(pod, &workload);
            self.record_event(
                &rs,
                &event("SuccessfulCreate", format!("Created pod: {pod_name}")),
            );
        }
        // not-ready pods go first, then the newest
        pods.sort_by_key(|(k, p)| {
            (
                is_ready(p),
                std::cmp::Reverse(text(p, "/metadata/creationTimestamp").to_string()),
                k.name.clone(),
            )
        });
        for (k, _) in pods.iter().take(pods.len().saturating_sub(want as usize)) {
            self.mark_deleted(k, "Background");
            self.record_event(
                &rs,
                &event("SuccessfulDelete", format!("Deleted pod: {}", k.name)),
            );
        }
        let pods = self.owned("pods", &ns, &uid);
        let ready = pods.iter().filter(|(_, p)| is_ready(p)).count() as i64;
        let status = json!({
            "replicas": pods.len(), "fullyLabeledReplicas": pods.len(), "readyReplicas": ready,
            "availableReplicas": ready, "observedGeneration": rs["metadata"]["generation"],
        });
        let counts = ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"];
        let status = without_zero(status, &counts);
        self.set_status(key, status);
    }

    /// Schedules a pod a controller made and stores it.
    fn create_pod(&mut self, mut pod: Value, workload: &str) {
        let key = Key::new("pods", text(&pod, "/metadata/namespace"), name_of(&pod));
        self.schedule_pod(&mut pod, &key, workload);
        self.create_internal("pods", pod);
    }

    fn sync_statefulset(&mut self, key: &Key) {
        let Some(sts) = self.objects.get(key).cloned() else {
            return;
        };
        let (ns, name) = (key.namespace.clone(), key.name.clone());
        let uid = uid_of(&sts).to_string();
        let want = sts["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
        let rev = format!("{name}-{}", short_hash(&sts["spec"]["template"]));
        let parallel = text(&sts, "/spec/podManagementPolicy") == "Parallel";
        let on_delete = text(&sts, "/spec/updateStrategy/type") == "OnDelete";
        let partition = &sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"];
        let partition = partition.as_i64().unwrap_or(0);
        // create missing ordinals (OrderedReady: one at a time, in order)
        for i in 0..want {
            match self
                .objects
                .get(&Key::new("pods", &ns, &format!("{name}-{i}")))
            {
                Some(p) if owned_by(p, &uid) && (parallel || (!terminating(p) && is_ready(p))) => {
                    continue
                }
                Some(_) => break, // not ready yet, or someone else's pod holds the name
                None => self.create_ordinal(&sts, &rev, i),
            }
            if !parallel {
                break;
            }
        }
        let pods = self.owned("pods", &ns, &uid);
        let ordinal = |k: &Key| {
            let n = k
                .name
                .rsplit_once('-')
                .and_then(|(_, n)| n.parse::<i64>().ok());
            n.unwrap_or(-1)
        };
        let any_terminating = self.objects.iter().any(|(k, v)| {
            k.plural == "pods" && k.namespace == ns && terminating(v) && owned_by(v, &uid)
        });
        // scale down from the highest ordinal
        let mut surplus: Vec<Key> = pods.iter().map(|(k, _)| k.clone()).collect();
        surplus.retain(|k| ordinal(k) >= want);
        surplus.sort_by_key(|k| std::cmp::Reverse(ordinal(k)));
        let all_ready = pods.len() as i64 == want && pods.iter().all(|(_, p)| is_ready(p));
        if !surplus.is_empty() && (parallel || !any_terminating) {
            let n = if parallel { surplus.len() } else { 1 };
            for k in surplus.into_iter().take(n) {
                self.mark_deleted(&k, "Background");
                let message = format!("delete Pod {} in StatefulSet {name} successful", k.name);
                let event = EventSpec::once("SuccessfulDelete", message, "statefulset-controller");
                self.record_event(&sts, &event);
            }
        } else if !on_delete && !any_terminating && all_ready {
            // rolling update: replace the highest outdated pod
            let outdated = pods.iter().filter(|(k, p)| {
                ordinal(k) >= partition && label(p, "controller-revision-hash") != Some(&rev)
            });
            if let Some((k, _)) = outdated.max_by_key(|(k, _)| ordinal(k)) {
                self.mark_deleted(k, "Background");
            }
        }
        let pods = self.owned("pods", &ns, &uid);
        let ready = pods.iter().filter(|(_, p)| is_ready(p)).count() as i64;
        let at_rev = |r: &str| {
            let at = pods
                .iter()
                .filter(|(_, p)| label(p, "controller-revision-hash") == Some(r));
            at.count() as i64
        };
        let updated = at_rev(&rev);
        let mut current_rev = text(&sts, "/status/currentRevision").to_string();
        if current_rev.is_empty() || (updated == want && ready == want) {
            current_rev = rev.clone();
        }
        let status = json!({
            "observedGeneration": sts["metadata"]["generation"], "replicas": pods.len(),
            "readyReplicas": ready, "currentReplicas": at_rev(&current_rev), "updatedReplicas": updated,
            "currentRevision": current_rev, "updateRevision": rev, "availableReplicas": ready, "collisionCount": 0,
        });
        let omitted = ["readyReplicas", "currentReplicas", "updatedReplicas"];
        self.set_status(key, without_zero(status, &omitted));
    }

    /// A StatefulSet's pod `i`, with its claims made from the templates.
    fn create_ordinal(&mut self, sts: &Value, rev: &str, i: i64) {
        let (ns, name) = (text(sts, "/metadata/namespace"), name_of(sts));
        let pod_name = format!("{name}-{i}");
        let event = |m| EventSpec::once("SuccessfulCreate", m, "statefulset-controller");
        let mut pod = pod_from_template(&sts["spec"]["template"], ns, &pod_name, sts);
        let labels = &mut pod["metadata"]["labels"];
        labels["controller-revision-hash"] = json!(rev);
        labels["statefulset.kubernetes.io/pod-name"] = json!(pod_name);
        labels["apps.kubernetes.io/pod-index"] = json!(i.to_string());
        pod["spec"]["hostname"] = json!(pod_name);
        if let Some(svc) = sts["spec"]["serviceName"].as_str() {
            pod["spec"]["subdomain"] = json!(svc);
        }
        let mut volumes = items(&pod["spec"]["volumes"]).to_vec();
        for claim in items(&sts["spec"]["volumeClaimTemplates"]) {
            let claim_name = text(claim, "/metadata/name").to_string();
            let pvc_name = format!("{claim_name}-{name}-{i}");
            let pvc_key = Key::new("persistentvolumeclaims", ns, &pvc_name);
            if !self.objects.contains_key(&pvc_key) {
                let mut labels = claim["metadata"]["labels"].clone();
                for (k, v) in entries(&sts["spec"]["selector"]["matchLabels"]) {
                    labels[k.as_str()] = v.clone();
                }
                let meta = json!({"name": pvc_name, "namespace": ns});
                let mut pvc = json!({"metadata": meta, "spec": claim["spec"].clone()});
                if labels.is_object() {
                    pvc["metadata"]["labels"] = labels;
                }
                self.create_internal("persistentvolumeclaims", pvc);
                let message =
                    format!("create Claim {pvc_name} Pod {pod_name} in StatefulSet {name} success");
                self.record_event(sts, &event(message));
            }
            volumes.retain(|v| v["name"] != claim_name.as_str());
            let claim = json!({"claimName": pvc_name});
            volumes.push(json!({"name": claim_name, "persistentVolumeClaim": claim}));
        }
        if !volumes.is_empty() {
            pod["spec"]["volumes"] = Value::Array(volumes);
        }
        self.create_pod(pod, name);
        let message = format!("create Pod {pod_name} in StatefulSet {name} successful");
        self.record_event(sts, &event(message));
    }

    /// The default StorageClass provisions and binds at once.
    fn sync_pvc(&mut self, key: &Key) {
        let Some(pvc) = self.objects.get(key).cloned() else {
            return;
        };
        if text(&pvc, "/status/phase") == "Bound" {
            return;
        }
        let mut next = pvc.clone();
        next["spec"]["volumeName"] = json!(format!("pvc-{}", uid_of(&pvc)));
        let capacity = json!({"storage": pvc["spec"]["resources"]["requests"]["storage"].clone()});
        next["status"] = json!({"phase": "Bound", "accessModes": pvc["spec"]["accessModes"].clone(), "capacity": capacity});
        self.claim(
            key,
            &path_of(&["spec", "volumeName"]),
            "kube-controller-manager",
        );
        self.update_internal(key, next);
    }

    /// The kubelet: status and events as the pod's behaviour says by its age.
    fn sync_pod(&mut self, key: &Key) {
        let (Some(pod), Some(rt)) = (self.objects.get(key).cloned(), self.pods.get(key).cloned())
        else {
            return;
        };
        let timing = self.timing;
        let age = rt.born.elapsed();
        let mut next = pod.clone();
        next["status"] = pod_status(&pod, &rt, age, &timing);
        let id = self.container_ids.get(&rt.workload);
        for s in items_mut(&mut next["status"]["containerStatuses"]) {
            if let (Some(id), false) = (id, s["containerID"].is_null()) {
                s["containerID"] = json!(id);
            }
        }
        if !next["status"]["podIP"].is_null() {
            next["status"]["podIPs"] = json!([{"ip": rt.ip}]);
        }
        self.update_internal(key, next);
        let pod = self.objects.get(key).cloned().unwrap_or(pod);
        for e in pod_events(&pod, &rt, age, &timing) {
            self.record_event(&pod, &e);
        }
    }
}

/// What a cluster's controllers reconcile each tick, in this order.
type Sync = fn(&mut State, &Key);
const CONTROLLERS: [(&str, Sync); 6] = [
    ("namespaces", State::sync_namespace),
    ("deployments", State::sync_deployment),
    ("replicasets", State::sync_replicaset),
    ("statefulsets", State::sync_statefulset),
    ("persistentvolumeclaims", State::sync_pvc),
    ("pods", State::sync_pod),
];

// ---------------------------------------------------------------------------
// Pods: status and events per behaviour
// ---------------------------------------------------------------------------

/// An event a component records about an object; `count` None adds one
/// occurrence, Some(n) raises the count to n.
struct EventSpec {
    reason: &'static str,
    message: String,
    warning: bool,
    component: &'static str,
    field_path: Option<String>,
    count: Option<i64>,
}

impl EventSpec {
    fn once(reason: &'static str, message: String, component: &'static str) -> EventSpec {
        let (warning, field_path, count) = (false, None, None);
        EventSpec {
            reason,
            message,
            warning,
            component,
            field_path,
            count,
        }
    }
}

fn containers_of(pod: &Value) -> Vec<(String, String)> {
    let containers = items(&pod["spec"]["containers"]).iter();
    containers
        .map(|c| (text(c, "/name").to_string(), text(c, "/image").to_string()))
        .collect()
}

/// How many restart periods have passed since the container first started.
fn cycles(age: Duration, t: &Timing) -> i64 {
    if age < t.ready_delay {
        return 0;
    }
    ((age - t.ready_delay).as_millis() / t.restart_every.as_millis().max(1)) as i64
}

fn back_off(restarts: i64) -> String {
    let secs = (10u64 << (restarts - 1).clamp(0, 5)).min(300);
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

/// A pod whose failing pulls are over behaves from then on as a Ready one
/// created that much later; any other pod as it is.
fn after_pulls(rt: &PodRuntime, age: Duration, t: &Timing) -> (PodRuntime, Duration) {
    if let Behavior::PullFailsThenSucceeds { failures } = rt.behavior {
        let shift = t.restart_every * failures.max(0) as u32;
        if cycles(age, t) >= failures && age >= shift {
            let mut ready = rt.clone();
            ready.behavior = Behavior::Ready;
            ready.born_wall += shift;
            return (ready, age - shift);
        }
    }
    (rt.clone(), age)
}

/// What the node's runtime said when the pull failed.
fn pull_error(b: &Behavior, image: &str) -> String {
    if matches!(b, Behavior::PullFailsThenSucceeds { .. }) {
        return "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": net/http: TLS handshake timeout".into();
    }
    format!("Error response from daemon: pull access denied for {}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied", image.split(':').next().unwrap_or_default())
}

impl Behavior {
    /// The container process runs (Ready, NotReady, or between crashes).
    fn runs(&self) -> bool {
        matches!(
            self,
            Behavior::Ready | Behavior::NotReady | Behavior::CrashLoop { .. }
        )
    }

    /// The waiting state (reason, message) of a started container that
    /// never gets to run. A failing pull shows the try's error for the first
    /// half of each retry period and its back-off after.
    fn waiting(&self, image: &str, age: Duration, t: &Timing) -> Option<(&'static str, String)> {
        Some(match self {
            Behavior::ImagePullBackOff | Behavior::PullFailsThenSucceeds { .. } => {
                let period = t.restart_every.as_millis().max(1);
                if (age.saturating_sub(t.ready_delay)).as_millis() % period * 2
                    >= t.restart_every.as_millis()
                {
                    (
                        "ImagePullBackOff",
                        format!("Back-off pulling image \"{image}\""),
                    )
                } else {
                    ("ErrImagePull", pull_error(self, image))
                }
            }
            Behavior::ErrImageNeverPull => (
                "ErrImageNeverPull",
                NEVER_PULLED.2.replace("{image}", image),
            ),
            Behavior::CreateContainerConfigError { message } => {
                ("CreateContainerConfigError", message.clone())
            }
            _ => return None,
        })
    }

    /// The kubelet's events about a container in this scenario, as it
    /// words them: (reason, warning, message). In messages `{c}` is the
    /// container, `{image}` its image, `{pod}` `name_namespace(uid)`,
    /// `{error}` the failed pull's error, `{message}` the behaviour's.
    fn kubelet_script(&self) -> &'static [KubeletEvent] {
        match self {
            Behavior::Ready => &[PULLED, CREATED, STARTED],
            Behavior::NotReady => &[PULLED, CREATED, STARTED, UNHEALTHY],
            Behavior::CrashLoop { .. } => &[PULLED, CREATED, STARTED, CRASH_BACK_OFF],
            Behavior::ImagePullBackOff | Behavior::PullFailsThenSucceeds { .. } => &[
                ("Pulling", false, "Pulling image \"{image}\""),
                ("Failed", true, "Failed to pull image \"{image}\": {error}"),
                ("Failed", true, "Error: ErrImagePull"),
                ("BackOff", false, "Back-off pulling image \"{image}\""),
                ("Failed", true, "Error: ImagePullBackOff"),
            ],
            Behavior::ErrImageNeverPull => {
                &[NEVER_PULLED, ("Failed", true, "Error: ErrImageNeverPull")]
            }
            Behavior::CreateContainerConfigError { .. } => {
                &[PULLED, ("Failed", true, "Error: {message}")]
            }
            Behavior::Unschedulable { .. } => &[],
        }
    }
}

/// An event the kubelet records: reason, whether a Warning, message.
type KubeletEvent = (&'static str, bool, &'static str);

const PULLED: KubeletEvent = (
    "Pulled",
    false,
    "Container image \"{image}\" already present on machine",
);
const CREATED: KubeletEvent = ("Created", false, "Created container: {c}");
const STARTED: KubeletEvent = ("Started", false, "Started container {c}");
const UNHEALTHY: KubeletEvent = (
    "Unhealthy",
    true,
    "Readiness probe failed: HTTP probe failed with statuscode: 503",
);
const CRASH_BACK_OFF: KubeletEvent = (
    "BackOff",
    true,
    "Back-off restarting failed container {c} in pod {pod}",
);
const NEVER_PULLED: KubeletEvent = (
    "ErrImageNeverPull",
    true,
    "Container image \"{image}\" is not present with pull policy of Never",
);

fn pod_status(pod: &Value, rt: &PodRuntime, age: Duration, t: &Timing) -> Value {
    let (rt, age) = after_pulls(rt, age, t);
    let at = |d: Duration| rfc3339(rt.born_wall + d);
    let born = at(Duration::ZERO);
    if let Behavior::Unschedulable { message } = &rt.behavior {
        return json!({
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": null, "lastTransitionTime": born, "reason": "Unschedulable", "message": message}],
            "qosClass": "BestEffort",
        });
    }
    let started = age >= t.ready_delay;
    let start = at(t.ready_delay);
    let n = cycles(age, t);
    let (uid, pod_name, ns) = (uid_of(pod), name_of(pod), text(pod, "/metadata/namespace"));
    let containers = containers_of(pod);
    let crash_loop = matches!(rt.behavior, Behavior::CrashLoop { .. });
    let statuses: Vec<Value> = containers
        .iter()
        .map(|(c, image)| {
            // One ID per instance: a running container keeps its own, each
            // restart (or crash loop run) gets a new one.
            let ids = (fnv(uid), fnv(c), fnv(image));
            let instance_id = |i: i64| format!("docker://{:016x}{:016x}{:016x}{i:016x}", ids.0, ids.1, ids.2);
            let id = instance_id(if crash_loop { n } else { rt.restarts.len() as i64 });
            let mut s = json!({"name": c, "image": image, "imageID": "", "lastState": {}, "ready": false, "restartCount": 0, "started": false});
            let waiting = |reason: &str, message: Option<String>| match message {
                Some(m) => json!({"waiting": {"reason": reason, "message": m}}),
                None => json!({"waiting": {"reason": reason}}),
            };
            if !started {
                s["state"] = waiting("ContainerCreating", None);
                return s;
            }
            if let Some((reason, message)) = rt.behavior.waiting(image, age, t) {
                s["state"] = waiting(reason, Some(message));
                return s;
            }
            s["imageID"] = json!(format!("docker://sha256:{:016x}{:016x}{:016x}{:016x}", ids.2, 1, 2, 3));
            s["containerID"] = json!(id);
            if let Behavior::CrashLoop { exit_code, reason, .. } = &rt.behavior {
                let run_start = t.ready_delay + t.restart_every * n as u32;
                let back_off = back_off(n + 1);
                let message = format!("back-off {back_off} restarting failed container={c} pod={pod_name}_{ns}({uid})");
                s["state"] = waiting("CrashLoopBackOff", Some(message));
                s["lastState"] = json!({"terminated": {
                    "exitCode": exit_code, "reason": reason,
                    "startedAt": at(run_start), "finishedAt": at(run_start + t.restart_every / 5),
                    "containerID": id,
                }});
                s["restartCount"] = json!(n + 1);
                return s;
            }
            let restarts = rt.restarts.len();
            let running_since = rt.restarts.last().map_or(start.clone(), |t| rfc3339(*t));
            s["state"] = json!({"running": {"startedAt": running_since}});
            if restarts > 0 {
                let ended = restarts.checked_sub(2).map(|i| rfc3339(rt.restarts[i]));
                let ended_start = ended.unwrap_or(start.clone());
                s["restartCount"] = json!(restarts);
                s["lastState"] = json!({"terminated": {
                    "exitCode": 137, "reason": "Error",
                    "startedAt": ended_start, "finishedAt": running_since.clone(),
                    "containerID": instance_id(restarts as i64 - 1),
                }});
            }
            s["ready"] = json!(rt.behavior == Behavior::Ready);
            s["started"] = json!(true);
            s
        })
        .collect();
    let running = started && rt.behavior.runs();
    let ready = started && rt.behavior == Behavior::Ready;
    let names: Vec<&str> = containers.iter().map(|(n, _)| n.as_str()).collect();
    let cond = |ctype: &str, ok: bool, since: &str| {
        let mut c = json!({"type": ctype, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": since});
        if !ok && (ctype == "Ready" || ctype == "ContainersReady") {
            c["reason"] = json!("ContainersNotReady");
            c["message"] = json!(format!(
                "containers with unready status: [{}]",
                names.join(" ")
            ));
        }
        c
    };
    let ready_since = if ready { &start } else { &born };
    let sandbox_since = if started { &start } else { &born };
    let mut status = json!({
        "phase": if running { "Running" } else { "Pending" },
        "conditions": [
            cond("PodReadyToStartContainers", started, sandbox_since),
            cond("Initialized", true, &born),
            cond("Ready", ready, ready_since),
            cond("ContainersReady", ready, ready_since),
            cond("PodScheduled", true, &born),
        ],
        "hostIP": NODE_IP,
        "hostIPs": [{"ip": NODE_IP}],
        "startTime": born,
        "containerStatuses": statuses,
        "qosClass": "BestEffort",
    });
    if started {
        status["podIP"] = json!(rt.ip);
    }
    status
}

/// The events a pod has accumulated by `age` (counts only grow).
fn pod_events(pod: &Value, rt: &PodRuntime, age: Duration, t: &Timing) -> Vec<EventSpec> {
    let (rt, age) = after_pulls(rt, age, t);
    let (pod_name, ns, uid) = (name_of(pod), text(pod, "/metadata/namespace"), uid_of(pod));
    let scheduler = |reason, message, warning, count| {
        let mut e = EventSpec::once(reason, message, "default-scheduler");
        (e.warning, e.count) = (warning, Some(count));
        e
    };
    if let Behavior::Unschedulable { message } = &rt.behavior {
        // The scheduler retries; one event whose series grows.
        let tries = 1 + (age.as_millis() / t.restart_every.as_millis().max(1)) as i64;
        return vec![scheduler("FailedScheduling", message.clone(), true, tries)];
    }
    let assigned = format!("Successfully assigned {ns}/{pod_name} to minikube");
    let mut events = vec![scheduler("Scheduled", assigned, false, 1)];
    if age < t.ready_delay {
        return events;
    }
    let k = cycles(age, t) + 1;
    // Started once for a container that keeps running; each crash loop run anew.
    let once = matches!(rt.behavior, Behavior::Ready | Behavior::NotReady);
    let message = match &rt.behavior {
        Behavior::CreateContainerConfigError { message } => message.as_str(),
        _ => "",
    };
    for (c, image) in containers_of(pod) {
        let about = format!("{pod_name}_{ns}({uid})");
        let error = pull_error(&rt.behavior, &image);
        let words = [
            ("{c}", c.as_str()),
            ("{image}", &image),
            ("{pod}", &about),
            ("{error}", &error),
            ("{message}", message),
        ];
        for (reason, warning, template) in rt.behavior.kubelet_script() {
            let message = words
                .iter()
                .fold(template.to_string(), |m, (k, v)| m.replace(k, v));
            let first_run = matches!(*reason, "Pulled" | "Created" | "Started");
            let mut e = EventSpec::once(reason, message, "kubelet");
            e.field_path = Some(format!("spec.containers{{{c}}}"));
            (e.warning, e.count) = (*warning, Some(if once && first_run { 1 } else { k }));
            events.push(e);
        }
    }
    events
}

fn pod_from_template(template: &Value, ns: &str, name: &str, owner: &Value) -> Value {
    let mut meta = match &template["metadata"] {
        Value::Object(m) => Value::Object(m.clone()),
        _ => json!({}),
    };
    meta["name"] = json!(name);
    meta["namespace"] = json!(ns);
    meta["generateName"] = json!(format!("{}-", name_of(owner)));
    meta["ownerReferences"] = json!([owner_ref(owner)]);
    json!({"metadata": meta, "spec": template["spec"].clone()})
}

fn default_pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    fill(
        spec,
        json!({"restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler", "serviceAccountName": "default"}),
    );
    for c in spec["containers"].as_array_mut().into_iter().flatten() {
        let image = text(c, "/image");
        let tag = image.rsplit('/').next().unwrap_or_default();
        let latest = !image.contains('@') && tag.split_once(':').is_none_or(|(_, t)| t == "latest");
        let policy = if latest { "Always" } else { "IfNotPresent" };
        fill(c, json!({"imagePullPolicy": policy}));
    }
}

// ---------------------------------------------------------------------------
// Object helpers
// ---------------------------------------------------------------------------

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn name_of(v: &Value) -> &str {
    text(v, "/metadata/name")
}

fn uid_of(v: &Value) -> &str {
    text(v, "/metadata/uid")
}

/// The elements of an array, none for anything else.
fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn items_mut(v: &mut Value) -> impl Iterator<Item = &mut Value> {
    v.as_array_mut().into_iter().flatten()
}

/// The entries of an object, none for anything else.
fn entries(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flatten()
}

fn terminating(v: &Value) -> bool {
    v["metadata"]["deletionTimestamp"].is_string()
}

fn label<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v["metadata"]["labels"].get(key).and_then(Value::as_str)
}

fn owned_by(v: &Value, uid: &str) -> bool {
    items(&v["metadata"]["ownerReferences"])
        .iter()
        .any(|r| r["uid"] == uid)
}

fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"], "kind": owner["kind"],
        "name": name_of(owner), "uid": uid_of(owner),
        "controller": true, "blockOwnerDeletion": true,
    })
}

fn is_ready(pod: &Value) -> bool {
    let conditions = items(&pod["status"]["conditions"]);
    conditions
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn revision(rs: &Value) -> i64 {
    let annotation = "/metadata/annotations/deployment.kubernetes.io~1revision";
    text(rs, annotation).parse().unwrap_or(0)
}

/// An int-or-percent of `total`, rounded down; 25% when absent.
fn scaled(v: &Value, total: i64) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => {
            let percent = s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok());
            percent.map_or(0, |p| total * p / 100)
        }
        _ => total / 4,
    }
}

/// A status as the real controllers write it: these counts left out when zero.
fn without_zero(mut status: Value, counts: &[&str]) -> Value {
    for key in counts {
        if status[*key] == 0 {
            remove_key(&mut status, key);
        }
    }
    status
}

fn path_of(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

/// A Deployment's condition by its reason, worded as the deployment
/// controller words it (`{rs}`: its new ReplicaSet).
fn deployment_condition(prev: &Value, ctype: &str, reason: &str, rs: &str) -> Value {
    let (ok, message) = match reason {
        "MinimumReplicasAvailable" => (true, "Deployment has minimum availability."),
        "MinimumReplicasUnavailable" => (false, "Deployment does not have minimum availability."),
        "NewReplicaSetAvailable" => (true, "ReplicaSet \"{rs}\" has successfully progressed."),
        "ProgressDeadlineExceeded" => (false, "ReplicaSet \"{rs}\" has timed out progressing."),
        "NewReplicaSetCreated" => (true, "Created new replica set \"{rs}\""),
        _ => (true, "ReplicaSet \"{rs}\" is progressing."),
    };
    condition(prev, ctype, ok, reason, &message.replace("{rs}", rs))
}

/// A condition keeping its timestamps while nothing about it changes.
fn condition(prev_status: &Value, ctype: &str, ok: bool, reason: &str, message: &str) -> Value {
    let status = if ok { "True" } else { "False" };
    let conditions = items(&prev_status["conditions"]);
    let now = json!(now_str());
    let (transition, update) = match conditions.iter().find(|c| c["type"] == ctype) {
        Some(p) if p["status"] == status && p["reason"] == reason && p["message"] == message => {
            (p["lastTransitionTime"].clone(), p["lastUpdateTime"].clone())
        }
        Some(p) if p["status"] == status => (p["lastTransitionTime"].clone(), now),
        _ => (now.clone(), now),
    };
    json!({"type": ctype, "status": status, "lastUpdateTime": update, "lastTransitionTime": transition, "reason": reason, "message": message})
}

fn set_managed(obj: &mut Value, writer: &Writer, api_version: &str) {
    let mut entries = items(&obj["metadata"]["managedFields"]).to_vec();
    entries.retain(|e| !(e["manager"] == writer.manager && e["operation"] == writer.operation));
    entries.push(json!({"manager": writer.manager, "operation": writer.operation, "apiVersion": api_version, "time": now_str(), "fieldsType": "FieldsV1"}));
    obj["metadata"]["managedFields"] = Value::Array(entries);
}

/// Server-side defaults per resource: dotted path -> value when absent.
fn defaults_of(plural: &str) -> Value {
    match plural {
        "namespaces" => json!({"spec.finalizers": ["kubernetes"], "status.phase": "Active"}),
        "secrets" => json!({"type": "Opaque"}),
        "services" => json!({"spec.type": "ClusterIP", "spec.sessionAffinity": "None"}),
        "deployments" => json!({
            "spec.replicas": 1, "spec.revisionHistoryLimit": 10, "spec.progressDeadlineSeconds": 600,
            "spec.strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
        }),
        "statefulsets" => json!({
            "spec.replicas": 1, "spec.podManagementPolicy": "OrderedReady", "spec.revisionHistoryLimit": 10,
            "spec.updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "spec.persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        }),
        "persistentvolumeclaims" => {
            json!({"spec.storageClassName": "standard", "spec.volumeMode": "Filesystem", "status.phase": "Pending"})
        }
        _ => json!({}),
    }
}

/// Sets each dotted path of `defaults` that is absent or null in `obj`.
fn fill(obj: &mut Value, defaults: Value) {
    for (path, value) in entries(&defaults) {
        let path: Vec<String> = path.split('.').map(str::to_string).collect();
        if get_path(obj, &path).is_none_or(Value::is_null) {
            set_path(obj, &path, value.clone());
        }
    }
}

/// Every path to a non-object value in `v` (arrays are leaves).
fn leaf_paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                prefix.push(k.clone());
                leaf_paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => out.push(prefix.clone()),
    }
}

fn get_path<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(k.as_str()))
}

fn set_path(v: &mut Value, path: &[String], new: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for k in parents {
        if !cur[k.as_str()].is_object() {
            cur[k.as_str()] = json!({});
        }
        cur = &mut cur[k.as_str()];
    }
    cur[last.as_str()] = new;
}

fn remove_key(v: &mut Value, key: &str) {
    if let Some(o) = v.as_object_mut() {
        o.remove(key);
    }
}

/// Copies `from[key]` into `to`, or removes it from `to` when absent.
fn copy_field(from: &Value, to: &mut Value, key: &str) {
    match from.get(key) {
        Some(v) if !v.is_null() => to[key] = v.clone(),
        _ => remove_key(to, key),
    }
}

/// What only the server writes in metadata.
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

fn strip_server_fields(obj: &mut Value) {
    for k in SERVER_METADATA {
        remove_key(&mut obj["metadata"], k);
    }
}

fn copy_server_fields(from: &Value, to: &mut Value) {
    to["kind"] = from["kind"].clone();
    to["apiVersion"] = from["apiVersion"].clone();
    for k in SERVER_METADATA.iter().chain(&["name", "namespace"]) {
        match from["metadata"].get(*k) {
            Some(v) => to["metadata"][*k] = v.clone(),
            None => remove_key(&mut to["metadata"], k),
        }
    }
}

/// Label and annotation keys one manager applied (`[labels, annotations]`).
type MapKeys = [Vec<String>; 2];

const MAP_FIELDS: [&str; 2] = ["labels", "annotations"];

fn map_keys(applied: &Value) -> MapKeys {
    MAP_FIELDS.map(|field| {
        let map = applied["metadata"][field].as_object();
        map.map(|m| m.keys().cloned().collect()).unwrap_or_default()
    })
}

/// One manager's apply as its full intent for spec/data and the rest of the
/// body; labels and annotations merge by key as in real server-side apply:
/// keys this manager applied before and now leaves out go, others' stay.
fn merge_intent(existing: &Value, applied: &Value, previous: &MapKeys) -> Value {
    const KEEP: &[&str] = &["metadata", "status", "kind", "apiVersion"];
    let mut new = existing.clone();
    if let (Some(n), Some(a)) = (new.as_object_mut(), applied.as_object()) {
        n.retain(|k, _| KEEP.contains(&k.as_str()));
        let intent = a.iter().filter(|(k, _)| !KEEP.contains(&k.as_str()));
        n.extend(intent.map(|(k, v)| (k.clone(), v.clone())));
    }
    for (field, previous) in MAP_FIELDS.iter().zip(previous) {
        let mut map: Map<String, Value> = entries(&existing["metadata"][*field])
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let wanted = applied["metadata"][*field].as_object();
        map.retain(|k, _| !previous.contains(k) || wanted.is_some_and(|w| w.contains_key(k)));
        map.extend(entries(&applied["metadata"][*field]).map(|(k, v)| (k.clone(), v.clone())));
        match map.is_empty() {
            true => remove_key(&mut new["metadata"], field),
            false => new["metadata"][*field] = Value::Object(map),
        }
    }
    copy_field(
        &applied["metadata"],
        &mut new["metadata"],
        "ownerReferences",
    );
    if let Some(f) = applied["metadata"].get("finalizers") {
        new["metadata"]["finalizers"] = f.clone();
    }
    new
}

/// RFC 7386.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let Some(t) = target.as_object_mut() else {
        return;
    };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

fn parse_object(body: &[u8]) -> Result<Value, Reply> {
    let bad = |m: String| failure(400, "BadRequest", m, None);
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err(bad("the request body is not a JSON object".into())),
        Err(e) => Err(bad(format!(
            "the body of the request was in an unknown format (this fake reads JSON only): {e}"
        ))),
    }
}

/// kind/apiVersion/name/namespace of a body against the URL; fills what is
/// missing (apply requires kind and apiVersion).
fn check_body(t: &Target, name: &str, obj: &mut Value, apply: bool) -> Result<(), Reply> {
    let bad = |m: String| Err(failure(400, "BadRequest", m, None));
    let (kind, api_version) = (t.res.kind, t.res.api_version());
    match (text(obj, "/kind"), text(obj, "/apiVersion")) {
        ("", _) if apply => return bad(format!("Object 'Kind' is missing in '{obj}'")),
        (_, "") if apply => return bad(format!("Object 'apiVersion' is missing in '{obj}'")),
        (k, _) if !k.is_empty() && k != kind => {
            let qualified = t.res.qualified();
            let message = format!(
                "the kind in the body ({k}) does not match the resource {qualified} ({kind})"
            );
            return bad(message);
        }
        (_, v) if !v.is_empty() && v != api_version => {
            return bad(format!("the API version in the data ({v}) does not match the expected API version ({api_version})"));
        }
        _ => {}
    }
    obj["kind"] = json!(kind);
    obj["apiVersion"] = json!(api_version);
    match text(obj, "/metadata/name") {
        "" => obj["metadata"]["name"] = json!(name),
        n if n != name => {
            let message =
                format!("the name of the object ({n}) does not match the name on the URL ({name})");
            return bad(message);
        }
        _ => {}
    }
    match (&t.namespace, text(obj, "/metadata/namespace")) {
        (None, _) => remove_key(&mut obj["metadata"], "namespace"),
        (Some(ns), "") => obj["metadata"]["namespace"] = json!(ns),
        (Some(ns), n) if n != ns => {
            return bad("the namespace of the provided object does not match the namespace sent on the request".into());
        }
        _ => {}
    }
    Ok(())
}

fn check_precondition(
    res: &Resource,
    name: &str,
    body: &Value,
    existing: &Value,
) -> Result<(), Reply> {
    let wanted = text(body, "/metadata/resourceVersion");
    if wanted.is_empty() || wanted == text(existing, "/metadata/resourceVersion") {
        return Ok(());
    }
    let qualified = res.qualified();
    let message = format!("Operation cannot be fulfilled on {qualified} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
    Err(failure(409, "Conflict", message, Some(res.details(name))))
}

/// The request's writer for managedFields: its fieldManager ("unknown"
/// when none) and whether it is a dry run.
fn writer<'a>(q: &'a Query, operation: &'static str) -> Writer<'a> {
    let manager = param(q, "fieldManager").unwrap_or("unknown");
    Writer {
        manager,
        operation,
        dry_run: dry_run(q),
    }
}

fn dry_run(q: &Query) -> bool {
    param(q, "dryRun").is_some_and(|v| !v.is_empty())
}

fn unsupported_media(media: &str) -> String {
    format!("the body of the request was in an unknown format ({media}) - accepted media types (by this fake) include: application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml")
}

fn propagation_policy(q: &Query, body: &[u8]) -> String {
    let opts: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let given = opts["propagationPolicy"]
        .as_str()
        .or_else(|| param(q, "propagationPolicy"));
    let orphan = opts["orphanDependents"] == true || param(q, "orphanDependents") == Some("true");
    let policy = given.unwrap_or(if orphan { "Orphan" } else { "Background" });
    policy.to_string()
}

// ---------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------

/// The request's label and field selectors as one test of an object.
fn selector(res: &Resource, q: &Query) -> Result<impl Fn(&Value) -> bool, Reply> {
    let labels = parse_label_selector(param(q, "labelSelector").unwrap_or_default())
        .map_err(|m| failure(400, "BadRequest", m, None))?;
    let fields = parse_field_selector(res, param(q, "fieldSelector").unwrap_or_default())?;
    Ok(move |v: &Value| labels_match(v, &labels) && fields_match(v, &fields))
}

/// One requirement of a label selector: the key, the operator, the values.
struct LabelReq {
    key: String,
    op: &'static str,
    values: Vec<String>,
}

/// Terms split at top-level commas (not those inside `in (a,b)`).
fn selector_terms(s: &str) -> Vec<&str> {
    let (mut terms, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&s[start..]);
    terms
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

fn parse_label_selector(s: &str) -> Result<Vec<LabelReq>, String> {
    let req = |key: &str, op, values: Vec<String>| LabelReq {
        key: key.trim().into(),
        op,
        values,
    };
    let mut out = Vec::new();
    for term in selector_terms(s) {
        out.push(if let Some(k) = term.strip_prefix('!') {
            req(k, "!", Vec::new())
        } else if let Some(open) = term.find('(') {
            let close = term.rfind(')').ok_or_else(|| {
                format!("unable to parse requirement: found '{term}', expected: ')'")
            })?;
            let values = term[open + 1..close].split(',').map(str::trim);
            let values = values
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .collect();
            match term[..open]
                .split_whitespace()
                .collect::<Vec<_>>()
                .as_slice()
            {
                [k, "in"] => req(k, "in", values),
                [k, "notin"] => req(k, "notin", values),
                _ => return Err(format!("unable to parse requirement: found '{term}'")),
            }
        } else if let Some((k, v)) = term.split_once("!=") {
            req(k, "!=", vec![v.trim().into()])
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            req(k, "in", vec![v.trim().into()])
        } else {
            req(term, "exists", Vec::new())
        });
    }
    Ok(out)
}

fn labels_match(obj: &Value, reqs: &[LabelReq]) -> bool {
    reqs.iter().all(|r| {
        let l = label(obj, &r.key);
        let listed = l.is_some_and(|l| r.values.iter().any(|v| v == l));
        match r.op {
            "!" => l.is_none(),
            "exists" => l.is_some(),
            "in" => listed,
            _ => !listed, // != and notin
        }
    })
}

struct FieldReq {
    field: String,
    value: String,
    negate: bool,
}

/// The fields the real API server accepts in a fieldSelector, per resource.
fn field_supported(res: &Resource, field: &str) -> bool {
    const POD_FIELDS: &[&str] = &[
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ];
    const EVENT_FIELDS: &[&str] = &["reason", "reportingComponent", "source", "type"];
    match (res.plural, field) {
        (_, "metadata.name" | "metadata.namespace") => true,
        ("events", f) => f.starts_with("involvedObject.") || EVENT_FIELDS.contains(&f),
        ("pods", f) => POD_FIELDS.contains(&f),
        ("secrets", f) => f == "type",
        ("namespaces", f) => f == "status.phase",
        ("replicasets", f) => f == "status.replicas",
        _ => false,
    }
}

fn parse_field_selector(res: &Resource, s: &str) -> Result<Vec<FieldReq>, Reply> {
    let bad = |m: String| failure(400, "BadRequest", m, None);
    let mut out = Vec::new();
    for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (field, value, negate) = match term.split_once("!=") {
            Some((f, v)) => (f, v, true),
            None => match term.split_once("==").or_else(|| term.split_once('=')) {
                Some((f, v)) => (f, v, false),
                None => {
                    return Err(bad(format!(
                        "invalid selector: '{s}'; can't understand '{term}'"
                    )))
                }
            },
        };
        let (field, value) = (field.trim().to_string(), value.trim().to_string());
        if !field_supported(res, &field) {
            return Err(bad(format!("field label not supported: {field}")));
        }
        out.push(FieldReq {
            field,
            value,
            negate,
        });
    }
    Ok(out)
}

fn fields_match(obj: &Value, reqs: &[FieldReq]) -> bool {
    reqs.iter().all(|r| {
        let path = if r.field == "source" {
            "source.component"
        } else {
            &r.field
        };
        let actual = match path.split('.').try_fold(obj, |cur, k| cur.get(k)) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        (actual == r.value) != r.negate
    })
}

fn conflict(res: &Resource, conflicts: &[FieldOwner]) -> Reply {
    let gv = res.api_version();
    let path = |o: &FieldOwner| format!(".{}", o.path.join("."));
    let message = if let [c] = conflicts {
        let (manager, field) = (&c.manager, path(c));
        format!("Apply failed with 1 conflict: conflict with \"{manager}\" using {gv}: {field}")
    } else {
        let mut managers: Vec<&str> = conflicts.iter().map(|c| c.manager.as_str()).collect();
        managers.dedup();
        let mut lines = Vec::new();
        for m in managers {
            lines.push(format!("conflicts with \"{m}\" using {gv}:"));
            let fields = conflicts.iter().filter(|c| c.manager == m);
            lines.extend(fields.map(|c| format!("- {}", path(c))));
        }
        let n = conflicts.len();
        format!("Apply failed with {n} conflicts: {}", lines.join("\n"))
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|c| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{}\" using {gv}", c.manager), "field": path(c)}))
        .collect();
    failure(409, "Conflict", message, Some(json!({"causes": causes})))
}

// ---------------------------------------------------------------------------
// Routing, discovery, watch
// ---------------------------------------------------------------------------

struct Target {
    res: &'static Resource,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

impl Target {
    fn key(&self, name: &str) -> Key {
        Key::new(
            self.res.plural,
            self.namespace.as_deref().unwrap_or_default(),
            name,
        )
    }
}

fn route(segs: &[String]) -> Result<Target, Reply> {
    let (group, version, rest) = match segs {
        [api, version, rest @ ..] if api == "api" => ("", version.as_str(), rest),
        [apis, group, version, rest @ ..] if apis == "apis" => {
            (group.as_str(), version.as_str(), rest)
        }
        _ => return Err(unknown_resource()),
    };
    // `namespaces/NAME/status` is the namespace's own status, not a resource in it.
    let (namespace, rest) = match rest {
        [word, ns, plural, more @ ..]
            if word == "namespaces"
                && !(more.is_empty() && (plural == "status" || plural == "finalize")) =>
        {
            (Some(ns.clone()), &rest[2..])
        }
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [p] => (p, None, None),
        [p, n] => (p, Some(n.clone()), None),
        [p, n, s] => (p, Some(n.clone()), Some(s.clone())),
        _ => return Err(unknown_resource()),
    };
    let served = |r: &&Resource| r.plural == plural && r.group == group && r.version == version;
    let res = RESOURCES.iter().find(served).ok_or_else(unknown_resource)?;
    let scoped_right = match res.namespaced {
        true => namespace.is_some() || name.is_none(),
        false => namespace.is_none(),
    };
    if !scoped_right {
        return Err(unknown_resource());
    }
    Ok(Target {
        res,
        namespace,
        name,
        sub,
    })
}

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut gvs = Vec::new();
    for r in RESOURCES {
        if !gvs.contains(&(r.group, r.version)) {
            gvs.push((r.group, r.version));
        }
    }
    gvs
}

fn subresources(r: &Resource) -> Vec<(&'static str, &'static [&'static str])> {
    let status = r
        .status
        .then_some(("status", &["get", "patch", "update"][..]));
    let log = (r.plural == "pods").then_some(("log", &["get"][..]));
    status.into_iter().chain(log).collect()
}

fn served_in<'a>(g: &'a str, v: &'a str) -> impl Iterator<Item = &'static Resource> + 'a {
    RESOURCES
        .iter()
        .filter(move |r| r.group == g && r.version == v)
}

fn discovery(segs: &[String], accept: &str) -> Option<Reply> {
    let aggregated = accept.contains("as=APIGroupDiscoveryList");
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let gvs = group_versions();
    let groups: Vec<(&str, &str)> = gvs.iter().copied().filter(|(g, _)| !g.is_empty()).collect();
    Some(match segs.as_slice() {
        ["version"] => Reply::json(
            200,
            &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.1", "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828", "gitTreeState": "clean", "buildDate": "2025-05-15T08:19:08Z", "goVersion": "go1.24.2", "compiler": "gc", "platform": "linux/amd64"}),
        ),
        ["api"] if aggregated => aggregated_discovery(&[("", "v1")]),
        ["api"] => Reply::json(
            200,
            &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": format!("{NODE_IP}:8443")}]}),
        ),
        ["apis"] if aggregated => aggregated_discovery(&groups),
        ["apis"] => {
            let items: Vec<Value> = groups.iter().map(|(g, v)| api_group(g, v)).collect();
            Reply::json(
                200,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": items}),
            )
        }
        ["apis", g] => match gvs.iter().find(|(group, _)| group == g) {
            Some((g, v)) => Reply::json(200, &api_group(g, v)),
            None => unknown_resource(),
        },
        ["api", v] => resource_list("", v)?,
        ["apis", g, v] => resource_list(g, v)?,
        _ => return None,
    })
}

fn api_group(g: &str, v: &str) -> Value {
    let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
    json!({"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": [gv.clone()], "preferredVersion": gv})
}

/// `/api/v1`, `/apis/{g}/{v}`; None when that group/version is not served.
fn resource_list(g: &str, v: &str) -> Option<Reply> {
    if !group_versions().contains(&(g, v)) {
        return None;
    }
    let mut resources = Vec::new();
    for r in served_in(g, v) {
        resources.push(json!({"name": r.plural, "singularName": r.singular(), "namespaced": r.namespaced, "kind": r.kind, "verbs": VERBS, "shortNames": r.short}));
        for (sub, verbs) in subresources(r) {
            resources.push(json!({"name": format!("{}/{sub}", r.plural), "singularName": "", "namespaced": r.namespaced, "kind": r.kind, "verbs": verbs}));
        }
    }
    let gv = if g.is_empty() {
        v.to_string()
    } else {
        format!("{g}/{v}")
    };
    let list = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources});
    Some(Reply::json(200, &list))
}

fn aggregated_discovery(gvs: &[(&str, &str)]) -> Reply {
    let group = |(g, v): &(&str, &str)| {
        let resources: Vec<Value> = served_in(g, v)
            .map(|r| {
                let kind = json!({"group": g, "version": v, "kind": r.kind});
                let subs: Vec<Value> = subresources(r)
                    .into_iter()
                    .map(|(sub, verbs)| json!({"subresource": sub, "responseKind": kind, "verbs": verbs}))
                    .collect();
                let scope = if r.namespaced { "Namespaced" } else { "Cluster" };
                json!({"resource": r.plural, "responseKind": kind, "scope": scope, "singularResource": r.singular(), "verbs": VERBS, "shortNames": r.short, "subresources": subs})
            })
            .collect();
        let mut meta = json!({"creationTimestamp": null});
        if !g.is_empty() {
            meta["name"] = json!(g);
        }
        json!({"metadata": meta, "versions": [{"version": v, "resources": resources, "freshness": "Current"}]})
    };
    let items: Vec<Value> = gvs.iter().map(group).collect();
    let body = json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items});
    let mut reply = Reply::json(200, &body);
    reply.content_type =
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList".into();
    reply
}

/// A watch as the real API server streams it: 200, chunked, one JSON event
/// a line. Without resourceVersion (or "0") every current object first, as
/// ADDED (then a BOOKMARK marked initial-events-end with
/// sendInitialEvents=true); then each change as it is stored; a BOOKMARK
/// after each quiet second when allowWatchBookmarks=true; from a
/// resourceVersion older than the last compaction, one ERROR event with a
/// 410 Expired Status. Ends after timeoutSeconds (default 30 min).
fn stream_watch(w: &mut TcpStream, shared: &Shared, t: &Target, q: &Query) -> io::Result<()> {
    let from_param = param(q, "resourceVersion").unwrap_or_default();
    let mut from: u64 = from_param.parse().unwrap_or(0);
    let bookmarks = param(q, "allowWatchBookmarks") == Some("true");
    let initial_end = param(q, "sendInitialEvents") == Some("true");
    let timeout = param(q, "timeoutSeconds")
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let deadline = Instant::now() + timeout;
    let bookmark = |rv: u64, end_of_initial: bool| {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if end_of_initial {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"type": "BOOKMARK", "object": {"kind": t.res.kind, "apiVersion": t.res.api_version(), "metadata": meta}})
    };
    let (first, cursor, expired) = {
        let st = shared.state();
        let expired = from > 0 && from < st.compacted;
        match st.changes_since(t, from, q) {
            Ok(events) => (events, st.rv, expired.then_some(st.compacted)),
            Err(reply) => return write_reply(w, &reply, false),
        }
    };
    w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache, private\r\n\r\n")?;
    let send = |w: &mut TcpStream, events: &[Value]| -> io::Result<()> {
        for e in events {
            let line = format!("{e}\n");
            write!(w, "{:x}\r\n{line}\r\n", line.len())?;
        }
        w.flush()
    };
    if let Some(compacted) = expired {
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("too old resource version: {from} ({compacted})"), "reason": "Expired", "code": 410});
        send(w, &[json!({"type": "ERROR", "object": status})])?;
        w.write_all(b"0\r\n\r\n")?;
        return w.flush();
    }
    let initial = from == 0 || from_param.is_empty();
    send(w, &first)?;
    if initial && initial_end {
        send(w, &[bookmark(cursor, true)])?;
    }
    from = cursor;
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline && !shared.stop.load(Ordering::SeqCst) {
        thread::sleep(Duration::from_millis(25));
        let (events, cursor) = {
            let st = shared.state();
            (st.changes_since(t, from, q).unwrap_or_default(), st.rv)
        };
        from = cursor;
        if !events.is_empty() {
            send(w, &events)?;
            quiet_since = Instant::now();
        } else if bookmarks && quiet_since.elapsed() >= Duration::from_secs(1) {
            send(w, &[bookmark(cursor, false)])?;
            quiet_since = Instant::now();
        }
    }
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}

// ---------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------

struct Reply {
    code: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(code: u16, v: &Value) -> Reply {
        Reply {
            code,
            content_type: "application/json".into(),
            body: serde_json::to_vec(v).unwrap_or_default(),
        }
    }

    fn text(code: u16, s: String) -> Reply {
        Reply {
            code,
            content_type: "text/plain".into(),
            body: s.into_bytes(),
        }
    }
}

fn failure(code: u16, reason: &str, message: String, details: Option<Value>) -> Reply {
    let mut s = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code});
    if let Some(d) = details {
        s["details"] = d;
    }
    Reply::json(code, &s)
}

/// What an Ingress write answers while ingress-nginx's admission webhook
/// has no ready controller (failurePolicy: Fail).
fn webhook_unavailable() -> Reply {
    let cause = "failed calling webhook \"validate.nginx.ingress.kubernetes.io\": failed to call webhook: Post \"https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s\": dial tcp 10.96.213.129:443: connect: connection refused";
    failure(
        500,
        "InternalError",
        format!("Internal error occurred: {cause}"),
        Some(json!({"causes": [{"message": cause}]})),
    )
}

/// 422 Invalid for an object the real API server's validation refuses
/// whatever it was before (ValidateSecret, pkg/apis/core/validation): a
/// `kubernetes.io/dockerconfigjson` Secret needs `.dockerconfigjson`, and it
/// must be JSON (a pull Secret kubelet could not read is refused up front).
fn invalid_object(res: &Resource, name: &str, obj: &Value) -> Option<Reply> {
    if res.plural != "secrets" || text(obj, "/type") != "kubernetes.io/dockerconfigjson" {
        return None;
    }
    let field = "data[.dockerconfigjson]";
    let detail = match obj["data"][".dockerconfigjson"].as_str() {
        None => "Required value".to_string(),
        Some(b64) => {
            let parsed = BASE64
                .decode(b64)
                .map_err(|e| e.to_string())
                .and_then(|raw| {
                    serde_json::from_slice::<Map<String, Value>>(&raw).map_err(|e| e.to_string())
                });
            match parsed {
                Ok(_) => return None,
                Err(e) => format!("Invalid value: \"<secret contents redacted>\": {e}"),
            }
        }
    };
    let reason = if detail.starts_with("Required") {
        "FieldValueRequired"
    } else {
        "FieldValueInvalid"
    };
    let message = format!("Secret \"{name}\" is invalid: {field}: {detail}");
    let details = json!({"name": name, "kind": "Secret", "causes": [{"reason": reason, "message": detail, "field": field}]});
    Some(failure(422, "Invalid", message, Some(details)))
}

/// 422 Invalid for an update the real API server's validation forbids
/// (real-cluster.md: selectors, a StatefulSet's spec but a few fields, a
/// PVC's spec but a larger storage request, a Service's clusterIP).
fn immutable_change(res: &Resource, name: &str, existing: &Value, new: &Value) -> Option<Reply> {
    if res.plural == "secrets" && text(existing, "/type") != text(new, "/type") {
        // ValidateSecretUpdate: the type is immutable.
        let detail = format!(
            "Invalid value: \"{}\": field is immutable",
            text(new, "/type")
        );
        let message = format!("Secret \"{name}\" is invalid: type: {detail}");
        let details = json!({"name": name, "kind": "Secret", "causes": [{"reason": "FieldValueInvalid", "message": detail, "field": "type"}]});
        return Some(failure(422, "Invalid", message, Some(details)));
    }
    let (old, next) = (&existing["spec"], &new["spec"]);
    let without = |v: &Value, keys: &[&str]| {
        let mut v = v.clone();
        keys.iter().for_each(|k| remove_key(&mut v, k));
        v
    };
    let (field, detail) = match res.plural {
        "deployments" | "replicasets" if old["selector"] != next["selector"] => {
            let selector = go_label_selector(&next["selector"]);
            (
                "spec.selector",
                format!("Invalid value: {selector}: field is immutable"),
            )
        }
        "statefulsets" => {
            let allowed = STATEFULSET_MUTABLE;
            if without(old, &allowed) == without(next, &allowed) {
                return None;
            }
            let listed = allowed.map(|f| format!("'{f}'"));
            let (last, rest) = listed.split_last()?;
            ("spec", format!("Forbidden: updates to statefulset spec for fields other than {} and {last} are forbidden", rest.join(", ")))
        }
        "persistentvolumeclaims" => {
            let size = |v: &Value| quantity_bytes(text(v, "/resources/requests/storage"));
            let rest = |v: &Value| {
                let mut v = without(v, &["volumeAttributesClassName"]);
                remove_key(&mut v["resources"]["requests"], "storage");
                v
            };
            if rest(old) == rest(next) && size(next) >= size(old) {
                return None;
            }
            ("spec", "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims".to_string())
        }
        "services" => {
            let (was, now) = (text(old, "/clusterIP"), text(next, "/clusterIP"));
            if was.is_empty() || was == now {
                return None;
            }
            let detail = format!("Invalid value: []string{{\"{now}\"}}: may not change once set");
            ("spec.clusterIPs[0]", detail)
        }
        _ => return None,
    };
    let (kind, group) = (res.kind, res.group);
    let qualified_kind = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    let reason = if detail.starts_with("Forbidden") {
        "FieldValueForbidden"
    } else {
        "FieldValueInvalid"
    };
    let message = format!("{qualified_kind} \"{name}\" is invalid: {field}: {detail}");
    let mut details = json!({"name": name, "kind": kind, "causes": [{"reason": reason, "message": detail, "field": field}]});
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    Some(failure(422, "Invalid", message, Some(details)))
}

/// The parts of a StatefulSet's spec an update may change.
const STATEFULSET_MUTABLE: [&str; 6] = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// `v1.LabelSelector{MatchLabels:map[string]string{"a":"b"}, ...}` as Go prints it.
fn go_label_selector(selector: &Value) -> String {
    let labels = entries(&selector["matchLabels"]);
    let labels: Vec<String> = labels
        .map(|(k, v)| format!("{k:?}:{:?}", v.as_str().unwrap_or_default()))
        .collect();
    let labels = labels.join(", ");
    format!("v1.LabelSelector{{MatchLabels:map[string]string{{{labels}}}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}}")
}

/// Bytes of a storage quantity (`1Gi`, `500Mi`, `10G`); 0 when unreadable.
fn quantity_bytes(q: &str) -> u128 {
    let split = q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len());
    let (n, unit) = q.split_at(split);
    let n: u128 = n.parse().unwrap_or(0);
    let binary = ["Ki", "Mi", "Gi", "Ti"].iter().position(|u| *u == unit);
    let decimal = ["k", "M", "G", "T"].iter().position(|u| *u == unit);
    match (binary, decimal) {
        (Some(i), _) => n << (10 * (i + 1)),
        (_, Some(i)) => n * 1000u128.pow(i as u32 + 1),
        _ => n,
    }
}

fn not_found(res: &Resource, name: &str) -> Reply {
    let message = format!("{} \"{name}\" not found", res.qualified());
    failure(404, "NotFound", message, Some(res.details(name)))
}

fn unknown_resource() -> Reply {
    let message = "the server could not find the requested resource";
    failure(404, "NotFound", message.into(), Some(json!({})))
}

fn method_not_allowed(method: &str) -> Reply {
    let message =
        format!("the server does not allow this method on the requested resource ({method})");
    failure(405, "MethodNotAllowed", message, Some(json!({})))
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

// ---------------------------------------------------------------------------
// HTTP/1.1
// ---------------------------------------------------------------------------

struct HttpRequest {
    method: String,
    path: String,
    query: String,
    version: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A request path's decoded segments.
fn segments(path: &str) -> Vec<String> {
    let parts = path.split('/').filter(|p| !p.is_empty());
    parts.map(|p| percent_decode(p, false)).collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn spawn(name: &str, run: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    let thread = thread::Builder::new().name(format!("fake-apiserver-{name}"));
    thread.spawn(run).expect("spawn a fake API server thread")
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.conns).push(clone);
        }
        let shared = shared.clone();
        spawn("conn", move || serve_connection(stream, &shared));
    }
}

fn controller_loop(shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let tick = shared.state().timing.tick;
        thread::sleep(tick);
        shared.state().tick();
    }
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        let req = match read_request(&mut reader) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                let reply = failure(
                    400,
                    "BadRequest",
                    format!("malformed HTTP request: {e}"),
                    None,
                );
                let _ = write_reply(&mut writer, &reply, true);
                return;
            }
        };
        if streams::take_over(shared, &req, &mut reader, &mut writer) {
            return;
        }
        let asks_close =
            header(&req.headers, "connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let close = asks_close || req.version == "HTTP/1.0";
        let reply = match catch_unwind(AssertUnwindSafe(|| handle(shared, &req))) {
            Ok(Ok(Handled::Reply(r)) | Err(r)) => r,
            Ok(Ok(Handled::Watch(target, query))) => {
                if stream_watch(&mut writer, shared, &target, &query).is_err() || close {
                    return;
                }
                continue;
            }
            Err(panic) => {
                let text = panic.downcast_ref::<String>().cloned();
                let text = text.or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                let msg = format!(
                    "{} {}?{}: {}",
                    req.method,
                    req.path,
                    req.query,
                    text.unwrap_or_default()
                );
                shared.state().panics.push(msg.clone());
                failure(
                    500,
                    "InternalError",
                    format!("fake API server panicked: {msg}"),
                    None,
                )
            }
        };
        if write_reply(&mut writer, &reply, close).is_err() || close {
            return;
        }
    }
}

enum Handled {
    Reply(Reply),
    /// A watch: streamed on the connection by `stream_watch`.
    Watch(Target, Vec<(String, String)>),
}

fn handle(shared: &Shared, req: &HttpRequest) -> Result<Handled, Reply> {
    let content_type = header(&req.headers, "content-type")
        .unwrap_or_default()
        .to_string();
    let (method, path, query) = (req.method.clone(), req.path.clone(), req.query.clone());
    let (body, headers) = (
        String::from_utf8_lossy(&req.body).into_owned(),
        req.headers.clone(),
    );
    let recorded = Recorded {
        method,
        path,
        query,
        content_type: content_type.clone(),
        body,
        headers,
    };
    shared.state().requests.push(recorded);
    let faults = shared.state().faults.clone();
    if let Some((_, _, code)) = faults
        .iter()
        .find(|(m, p, _)| *m == req.method && *p == req.path)
    {
        let reason = match code {
            403 => "Forbidden",
            503 => "ServiceUnavailable",
            _ => "InternalError",
        };
        let message = format!("injected failure for {} {}", req.method, req.path);
        return Err(failure(*code, reason, message, None));
    }
    let query = query_pairs(&req.query);
    let segs = segments(&req.path);
    if let Some(reply) = discovery(&segs, header(&req.headers, "accept").unwrap_or_default()) {
        return match req.method.as_str() {
            "GET" => Ok(Handled::Reply(reply)),
            _ => Err(method_not_allowed(&req.method)),
        };
    }
    let target = route(&segs)?;
    if let Some(reply) = shared
        .state()
        .injected_failure(&req.method, &target, &query)
    {
        return Err(reply);
    }
    let watch = matches!(param(&query, "watch"), Some("true" | "1"));
    if req.method == "GET" && target.name.is_none() && watch {
        return Ok(Handled::Watch(target, query));
    }
    let media = content_type.split(';').next().unwrap_or_default();
    let media = media.trim().to_ascii_lowercase();
    let mut st = shared.state();
    let reply = st.dispatch(&req.method, &target, &query, &media, &req.body)?;
    // An applied object's flaky reads start failing now.
    if let (Some(name), "PATCH", true) = (&target.name, req.method.as_str(), reply.code < 300) {
        let key = target.key(name);
        for flaky in st.flaky_reads.iter_mut().filter(|f| f.key == key) {
            flaky.armed = true;
        }
    }
    Ok(Handled::Reply(reply))
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// One request; None at a clean end of the connection.
fn read_request(r: &mut impl BufRead) -> io::Result<Option<HttpRequest>> {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("bad request line"));
    };
    let (method, version) = (method.to_string(), version.to_string());
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.to_string(), String::new()),
    };
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Err(invalid("connection closed inside headers"));
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| invalid("bad header line"))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let mut body = Vec::new();
    if header(&headers, "transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
    {
        loop {
            let mut size_line = String::new();
            r.read_line(&mut size_line)?;
            let size_hex = size_line.split(';').next().unwrap_or_default().trim();
            let size =
                usize::from_str_radix(size_hex, 16).map_err(|_| invalid("bad chunk size"))?;
            if size == 0 {
                loop {
                    let mut trailer = String::new();
                    if r.read_line(&mut trailer)? == 0 || trailer.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size];
            r.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
    } else if let Some(len) = header(&headers, "content-length") {
        let len: usize = len.parse().map_err(|_| invalid("bad content-length"))?;
        body = vec![0; len];
        r.read_exact(&mut body)?;
    }
    Ok(Some(HttpRequest {
        method,
        path,
        query,
        version,
        headers,
        body,
    }))
}

fn write_reply(w: &mut impl Write, reply: &Reply, close: bool) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-cache, private\r\n{}\r\n",
        reply.code,
        reason_phrase(reply.code),
        reply.content_type,
        reply.body.len(),
        if close { "Connection: close\r\n" } else { "" }
    );
    w.write_all(head.as_bytes())?;
    w.write_all(&reply.body)?;
    w.flush()
}

// ---------------------------------------------------------------------------
// Small encodings
// ---------------------------------------------------------------------------

fn query_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

fn param<'a>(q: &'a Query, key: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(if plus_is_space && b[i] == b'+' {
            b' '
        } else {
            b[i]
        });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Ten hex characters naming a pod template (serde_json sorts object keys).
fn short_hash(template: &Value) -> String {
    format!("{:016x}", fnv(&template.to_string()))[..10].to_string()
}

/// A log line as the kubelet serves it, with `timestamps=true` the
/// runtime's RFC 3339 time (nanoseconds) first.
fn log_line(at: SystemTime, line: &str, timestamps: bool) -> String {
    if !timestamps {
        return format!("{line}\n");
    }
    format!("{:.9} {line}\n", timestamp(at))
}

/// MicroTime, as eventTime and series.lastObservedTime carry it.
fn rfc3339_micro(t: SystemTime) -> String {
    format!("{:.6}", timestamp(t))
}

fn now_str() -> String {
    rfc3339(SystemTime::now())
}

fn rfc3339(t: SystemTime) -> String {
    format!("{:.0}", timestamp(t))
}

fn timestamp(t: SystemTime) -> Timestamp {
    Timestamp::try_from(t).unwrap_or(Timestamp::UNIX_EPOCH)
}
