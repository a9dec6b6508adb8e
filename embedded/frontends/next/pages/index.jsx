// The Todo chatbot: the same page, element ids, texts and flows as the SPA's public/app.js
// (sign up, sign in, the task list with add/edit/complete/delete, the chat panel, sign out).
// Rendered in the browser only: the session token lives in localStorage, and every call goes to
// /api/ on this origin (pages/api/[...path].js sends it to the backend).
import { useCallback, useEffect, useRef, useState } from "react";

const TOKEN_KEY = "todo.token";
const CONVERSATION_KEY = "todo.conversation";

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function errorDetail(resp) {
  let detail = `${resp.status} ${resp.statusText}`;
  try {
    const data = await resp.json();
    if (typeof data.detail === "string") detail = data.detail;
    else if (Array.isArray(data.detail)) detail = data.detail.map((d) => `${d.loc.at(-1)}: ${d.msg}`).join("; ");
  } catch {
    /* not JSON: keep the status line */
  }
  return detail;
}

function TaskItem({ task, onChange, onDelete }) {
  const [editing, setEditing] = useState(false);
  const inputRef = useRef(null);
  const done = useRef(false);

  useEffect(() => {
    if (editing && inputRef.current) {
      inputRef.current.focus();
      inputRef.current.select();
    }
  }, [editing]);

  const startEdit = () => {
    if (editing) return;
    done.current = false;
    setEditing(true);
  };
  const finish = async (save) => {
    if (done.current) return;
    done.current = true;
    const value = inputRef.current ? inputRef.current.value.trim() : "";
    if (save && value && value !== task.title) await onChange(task.id, { title: value });
    setEditing(false);
  };

  return (
    <li data-task-id={task.id} className={task.completed ? "done" : ""}>
      <input
        type="checkbox"
        checked={task.completed}
        aria-label={`Mark "${task.title}" ${task.completed ? "not done" : "done"}`}
        onChange={(e) => onChange(task.id, { completed: e.target.checked })}
      />
      <span className="id">{`#${task.id}`}</span>
      {editing ? (
        <input
          ref={inputRef}
          className="edit-title"
          defaultValue={task.title}
          maxLength={500}
          onKeyDown={(e) => {
            if (e.key === "Enter") finish(true);
            if (e.key === "Escape") finish(false);
          }}
          onBlur={() => finish(true)}
        />
      ) : (
        <span className="title" title={task.description || "Double-click to edit"} onDoubleClick={startEdit}>
          {task.title}
        </span>
      )}
      <button type="button" className="link edit" onClick={startEdit}>
        Edit
      </button>
      <button type="button" className="icon delete" aria-label={`Delete "${task.title}"`} onClick={() => onDelete(task.id)}>
        ✕
      </button>
    </li>
  );
}

export default function Home() {
  // "starting" until the browser has read the token: then "auth" or "app"
  const [view, setView] = useState("starting");
  const [mode, setModeState] = useState("sign-in");
  const [user, setUser] = useState(null);
  const [auth, setAuth] = useState({ name: "", email: "", password: "" });
  const [authError, setAuthError] = useState("");
  const [authBusy, setAuthBusy] = useState(false);
  const [tasks, setTasks] = useState(null); // null: not loaded yet
  const [tasksError, setTasksError] = useState("");
  const [newTitle, setNewTitle] = useState("");
  const [messages, setMessages] = useState([]);
  const [chatInput, setChatInput] = useState("");
  const [chatBusy, setChatBusy] = useState(false);
  const token = useRef(null);
  const nextKey = useRef(0);
  const tasksRef = useRef([]);
  const chatInputRef = useRef(null);
  const messagesRef = useRef(null);

  const signOut = useCallback(() => {
    token.current = null;
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(CONVERSATION_KEY);
    setUser(null);
    setMessages([]);
    setTasks(null);
    tasksRef.current = [];
    setView("auth");
  }, []);

  const api = useCallback(
    async (method, path, body) => {
      const headers = {};
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (token.current) headers.Authorization = `Bearer ${token.current}`;
      const resp = await fetch(`/api${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (resp.status === 401 && token.current) {
        signOut();
        throw new ApiError(401, "Your session ended: sign in again.");
      }
      if (!resp.ok) throw new ApiError(resp.status, await errorDetail(resp));
      return resp.status === 204 ? null : resp.json();
    },
    [signOut],
  );

  const message = (role, text, extra) => ({ key: nextKey.current++, role, text, extra });

  // ---------------------------------------------------------------- tasks
  const loadTasks = useCallback(async () => {
    try {
      tasksRef.current = await api("GET", "/tasks");
      setTasksError("");
    } catch (err) {
      setTasksError(err.message || String(err));
    }
    setTasks(tasksRef.current);
  }, [api]);

  const changeTask = useCallback(
    async (id, patch) => {
      try {
        await api("PATCH", `/tasks/${id}`, patch);
      } catch (err) {
        setTasksError(err.message || String(err));
      }
      await loadTasks();
    },
    [api, loadTasks],
  );

  const removeTask = useCallback(
    async (id) => {
      try {
        await api("DELETE", `/tasks/${id}`);
      } catch (err) {
        setTasksError(err.message || String(err));
      }
      await loadTasks();
    },
    [api, loadTasks],
  );

  async function addTask(event) {
    event.preventDefault();
    const title = newTitle.trim();
    if (!title) return;
    try {
      await api("POST", "/tasks", { title });
      setNewTitle("");
      await loadTasks();
    } catch (err) {
      setTasksError(err.message || String(err));
    }
  }

  // ---------------------------------------------------------------- chat
  const loadConversation = useCallback(async () => {
    setMessages([]);
    const id = localStorage.getItem(CONVERSATION_KEY);
    if (!id) return;
    try {
      const stored = await api("GET", `/conversations/${id}/messages`);
      setMessages(stored.map((m) => message(m.role, m.content)));
    } catch {
      // a conversation of another account or one that is gone: start afresh
      localStorage.removeItem(CONVERSATION_KEY);
    }
  }, [api]);

  async function sendChat(event) {
    event.preventDefault();
    const text = chatInput.trim();
    if (!text) return;
    setChatInput("");
    const pending = message("assistant", "…", "pending");
    setMessages((m) => [...m, message("user", text), pending]);
    const settle = (reply, extra) =>
      setMessages((m) => m.map((x) => (x.key === pending.key ? { ...x, text: reply, extra } : x)));
    setChatBusy(true);
    const body = { message: text };
    const conversation = localStorage.getItem(CONVERSATION_KEY);
    if (conversation) body.conversation_id = Number(conversation);
    try {
      const data = await api("POST", "/chat", body);
      localStorage.setItem(CONVERSATION_KEY, String(data.conversation_id));
      settle(data.reply);
      if (data.tool_calls.length) await loadTasks();
    } catch (err) {
      settle(`Sorry, that failed: ${err.message}`, "error");
    } finally {
      setChatBusy(false);
      chatInputRef.current?.focus();
    }
  }

  function newConversation() {
    localStorage.removeItem(CONVERSATION_KEY);
    setMessages([]);
    chatInputRef.current?.focus();
  }

  // the newest message in view, as each one is added
  useEffect(() => {
    messagesRef.current?.lastElementChild?.scrollIntoView({ block: "end" });
  }, [messages.length]);

  // ---------------------------------------------------------------- auth
  function setMode(next) {
    setModeState(next);
    setAuthError("");
  }

  const enter = useCallback(
    async (who) => {
      setUser(who);
      setView("app");
      await Promise.all([loadTasks(), loadConversation()]);
    },
    [loadTasks, loadConversation],
  );

  async function submitAuth(event) {
    event.preventDefault();
    const body = { email: auth.email.trim(), password: auth.password };
    if (mode === "sign-up" && auth.name.trim()) body.name = auth.name.trim();
    setAuthBusy(true);
    try {
      const data = await api("POST", `/auth/${mode}`, body);
      token.current = data.token;
      localStorage.setItem(TOKEN_KEY, data.token);
      setAuth((a) => ({ ...a, password: "" }));
      setAuthError("");
      await enter(data.user);
    } catch (err) {
      const known = { 401: "Wrong email or password.", 409: "That email already has an account: sign in." };
      setAuthError(known[err.status] || err.message);
    } finally {
      setAuthBusy(false);
    }
  }

  // ---------------------------------------------------------------- start
  useEffect(() => {
    token.current = localStorage.getItem(TOKEN_KEY);
    if (!token.current) {
      setView("auth");
      return;
    }
    api("GET", "/me").then(enter, () => signOut());
  }, [api, enter, signOut]);

  const field = (name) => ({
    value: auth[name],
    onChange: (e) => setAuth((a) => ({ ...a, [name]: e.target.value })),
  });
  const signUp = mode === "sign-up";

  return (
    <>
      <header>
        <h1>Todo chatbot</h1>
        <div id="session" hidden={!user}>
          <span id="who" data-testid="who">
            {user ? (user.name ? `${user.name} (${user.email})` : user.email) : ""}
          </span>
          <button id="sign-out" type="button" className="link" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>

      <main id="auth-view" hidden={view !== "auth"}>
        <section className="card auth">
          <div className="tabs" role="tablist">
            <button type="button" id="tab-sign-in" role="tab" aria-selected={!signUp} onClick={() => setMode("sign-in")}>
              Sign in
            </button>
            <button type="button" id="tab-sign-up" role="tab" aria-selected={signUp} onClick={() => setMode("sign-up")}>
              Sign up
            </button>
          </div>
          <form id="auth-form" onSubmit={submitAuth}>
            <label id="name-row" hidden={!signUp}>
              Name <input id="auth-name" name="name" autoComplete="name" {...field("name")} />
            </label>
            <label>
              Email <input id="auth-email" name="email" type="email" required autoComplete="email" {...field("email")} />
            </label>
            <label>
              Password{" "}
              <input
                id="auth-password"
                name="password"
                type="password"
                required
                minLength={8}
                autoComplete={signUp ? "new-password" : "current-password"}
                {...field("password")}
              />
            </label>
            <p id="auth-error" className="error" role="alert" hidden={!authError}>
              {authError}
            </p>
            <button id="auth-submit" type="submit" disabled={authBusy}>
              {signUp ? "Create account" : "Sign in"}
            </button>
          </form>
        </section>
      </main>

      <main id="app-view" hidden={view !== "app"}>
        <section className="card tasks">
          <h2>Tasks</h2>
          <form id="add-form" className="row" onSubmit={addTask}>
            <input
              id="new-title"
              placeholder="What needs doing?"
              maxLength={500}
              required
              aria-label="New task"
              value={newTitle}
              onChange={(e) => setNewTitle(e.target.value)}
            />
            <button type="submit" id="add-button">
              Add
            </button>
          </form>
          <p id="tasks-error" className="error" role="alert" hidden={!tasksError}>
            {tasksError}
          </p>
          <ul id="task-list" data-testid="task-list">
            {(tasks || []).map((task) => (
              <TaskItem key={task.id} task={task} onChange={changeTask} onDelete={removeTask} />
            ))}
          </ul>
          <p id="tasks-empty" className="muted" hidden={!tasks || tasks.length > 0}>
            Nothing here yet: add a task or ask the chatbot.
          </p>
        </section>

        <section className="card chat">
          <div className="row between">
            <h2>Chat</h2>
            <button type="button" id="new-chat" className="link" onClick={newConversation}>
              New conversation
            </button>
          </div>
          <ol id="messages" data-testid="messages" aria-live="polite" ref={messagesRef}>
            {messages.map((m) => (
              <li key={m.key} className={[m.role, m.extra].filter(Boolean).join(" ")}>
                {m.text}
              </li>
            ))}
          </ol>
          <form id="chat-form" className="row" onSubmit={sendChat}>
            <input
              id="chat-input"
              ref={chatInputRef}
              placeholder='Try "add buy milk" or "complete 3"'
              maxLength={4000}
              required
              aria-label="Message"
              value={chatInput}
              onChange={(e) => setChatInput(e.target.value)}
            />
            <button type="submit" id="chat-send" disabled={chatBusy}>
              Send
            </button>
          </form>
        </section>
      </main>
    </>
  );
}
