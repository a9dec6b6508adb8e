// The Todo chatbot's single-page app: no build step, no dependencies.
// Every call goes to /api/ on the same origin (nginx proxies it to the backend).
"use strict";

const TOKEN_KEY = "todo.token";
const CONVERSATION_KEY = "todo.conversation";
const $ = (id) => document.getElementById(id);

const state = { mode: "sign-in", token: localStorage.getItem(TOKEN_KEY), user: null, tasks: [] };

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const resp = await fetch(`/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (resp.status === 401 && state.token) {
    signOut();
    throw new ApiError(401, "Your session ended: sign in again.");
  }
  if (!resp.ok) {
    let detail = `${resp.status} ${resp.statusText}`;
    try {
      const data = await resp.json();
      if (typeof data.detail === "string") detail = data.detail;
      else if (Array.isArray(data.detail)) detail = data.detail.map((d) => `${d.loc.at(-1)}: ${d.msg}`).join("; ");
    } catch (_) { /* not JSON: keep the status line */ }
    throw new ApiError(resp.status, detail);
  }
  return resp.status === 204 ? null : resp.json();
}

function show(el, visible) { el.hidden = !visible; }

function showError(el, err) {
  el.textContent = err ? err.message || String(err) : "";
  show(el, Boolean(err));
}

// ------------------------------------------------------------------ auth
function setMode(mode) {
  state.mode = mode;
  $("tab-sign-in").setAttribute("aria-selected", String(mode === "sign-in"));
  $("tab-sign-up").setAttribute("aria-selected", String(mode === "sign-up"));
  show($("name-row"), mode === "sign-up");
  $("auth-submit").textContent = mode === "sign-up" ? "Create account" : "Sign in";
  $("auth-password").autocomplete = mode === "sign-up" ? "new-password" : "current-password";
  showError($("auth-error"), null);
}

async function submitAuth(event) {
  event.preventDefault();
  const body = { email: $("auth-email").value.trim(), password: $("auth-password").value };
  if (state.mode === "sign-up" && $("auth-name").value.trim()) body.name = $("auth-name").value.trim();
  $("auth-submit").disabled = true;
  try {
    const data = await api("POST", `/auth/${state.mode}`, body);
    state.token = data.token;
    localStorage.setItem(TOKEN_KEY, data.token);
    $("auth-password").value = "";
    await enter(data.user);
  } catch (err) {
    const messages = { 401: "Wrong email or password.", 409: "That email already has an account: sign in." };
    showError($("auth-error"), new Error(messages[err.status] || err.message));
  } finally {
    $("auth-submit").disabled = false;
  }
}

function signOut() {
  state.token = null;
  state.user = null;
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(CONVERSATION_KEY);
  $("messages").replaceChildren();
  $("task-list").replaceChildren();
  show($("session"), false);
  show($("app-view"), false);
  show($("auth-view"), true);
}

async function enter(user) {
  state.user = user;
  $("who").textContent = user.name ? `${user.name} (${user.email})` : user.email;
  show($("session"), true);
  show($("auth-view"), false);
  show($("app-view"), true);
  await Promise.all([loadTasks(), loadConversation()]);
}

// ------------------------------------------------------------------ tasks
async function loadTasks() {
  try {
    state.tasks = await api("GET", "/tasks");
    showError($("tasks-error"), null);
  } catch (err) {
    showError($("tasks-error"), err);
  }
  renderTasks();
}

function renderTasks() {
  const list = $("task-list");
  list.replaceChildren(...state.tasks.map(taskItem));
  show($("tasks-empty"), state.tasks.length === 0);
}

function taskItem(task) {
  const li = document.createElement("li");
  li.dataset.taskId = task.id;
  li.className = task.completed ? "done" : "";

  const check = document.createElement("input");
  check.type = "checkbox";
  check.checked = task.completed;
  check.setAttribute("aria-label", `Mark "${task.title}" ${task.completed ? "not done" : "done"}`);
  check.addEventListener("change", () => changeTask(task.id, { completed: check.checked }));

  const id = document.createElement("span");
  id.className = "id";
  id.textContent = `#${task.id}`;

  const title = document.createElement("span");
  title.className = "title";
  title.textContent = task.title;
  title.title = task.description || "Double-click to edit";
  title.addEventListener("dblclick", () => editTitle(li, title, task));

  const edit = document.createElement("button");
  edit.type = "button";
  edit.className = "link edit";
  edit.textContent = "Edit";
  edit.addEventListener("click", () => editTitle(li, title, task));

  const del = document.createElement("button");
  del.type = "button";
  del.className = "icon delete";
  del.textContent = "✕";
  del.setAttribute("aria-label", `Delete "${task.title}"`);
  del.addEventListener("click", () => removeTask(task.id));

  li.append(check, id, title, edit, del);
  return li;
}

function editTitle(li, titleEl, task) {
  if (li.querySelector("input.edit-title")) return;
  const input = document.createElement("input");
  input.className = "edit-title";
  input.value = task.title;
  input.maxLength = 500;
  titleEl.replaceWith(input);
  input.focus();
  input.select();
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    const value = input.value.trim();
    if (save && value && value !== task.title) await changeTask(task.id, { title: value });
    else renderTasks();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") finish(true);
    if (e.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
}

async function addTask(event) {
  event.preventDefault();
  const title = $("new-title").value.trim();
  if (!title) return;
  try {
    await api("POST", "/tasks", { title });
    $("new-title").value = "";
    await loadTasks();
  } catch (err) {
    showError($("tasks-error"), err);
  }
}

async function changeTask(id, patch) {
  try {
    await api("PATCH", `/tasks/${id}`, patch);
  } catch (err) {
    showError($("tasks-error"), err);
  }
  await loadTasks();
}

async function removeTask(id) {
  try {
    await api("DELETE", `/tasks/${id}`);
  } catch (err) {
    showError($("tasks-error"), err);
  }
  await loadTasks();
}

// ------------------------------------------------------------------ chat
function addMessage(role, text, extraClass) {
  const li = document.createElement("li");
  li.className = [role, extraClass].filter(Boolean).join(" ");
  li.textContent = text;
  $("messages").append(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

async function loadConversation() {
  $("messages").replaceChildren();
  const id = localStorage.getItem(CONVERSATION_KEY);
  if (!id) return;
  try {
    const messages = await api("GET", `/conversations/${id}/messages`);
    for (const m of messages) addMessage(m.role, m.content);
  } catch (err) {
    // a conversation of another account or one that is gone: start afresh
    localStorage.removeItem(CONVERSATION_KEY);
  }
}

async function sendChat(event) {
  event.preventDefault();
  const input = $("chat-input");
  const message = input.value.trim();
  if (!message) return;
  input.value = "";
  addMessage("user", message);
  const pending = addMessage("assistant", "…", "pending");
  $("chat-send").disabled = true;
  const body = { message };
  const conversation = localStorage.getItem(CONVERSATION_KEY);
  if (conversation) body.conversation_id = Number(conversation);
  try {
    const data = await api("POST", "/chat", body);
    localStorage.setItem(CONVERSATION_KEY, String(data.conversation_id));
    pending.textContent = data.reply;
    pending.classList.remove("pending");
    if (data.tool_calls.length) await loadTasks();
  } catch (err) {
    pending.textContent = `Sorry, that failed: ${err.message}`;
    pending.classList.remove("pending");
    pending.classList.add("error");
  } finally {
    $("chat-send").disabled = false;
    input.focus();
  }
}

function newConversation() {
  localStorage.removeItem(CONVERSATION_KEY);
  $("messages").replaceChildren();
  $("chat-input").focus();
}

// ------------------------------------------------------------------ start
async function start() {
  $("tab-sign-in").addEventListener("click", () => setMode("sign-in"));
  $("tab-sign-up").addEventListener("click", () => setMode("sign-up"));
  $("auth-form").addEventListener("submit", submitAuth);
  $("sign-out").addEventListener("click", signOut);
  $("add-form").addEventListener("submit", addTask);
  $("chat-form").addEventListener("submit", sendChat);
  $("new-chat").addEventListener("click", newConversation);
  setMode("sign-in");
  if (state.token) {
    try {
      await enter(await api("GET", "/me"));
      return;
    } catch (_) {
      signOut();
      return;
    }
  }
  show($("auth-view"), true);
}

start();
