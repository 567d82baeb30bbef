// Voices 8.7 sandbox chat page: acts as a Telegram user against the local Bot API emulator.
// All message text is inserted with textContent / text nodes, never as HTML.
"use strict";

(() => {
  const API = "/sandbox/api";
  const STORE_USERS = "sandbox.users";
  const STORE_CURRENT = "sandbox.currentUserId";
  const STORE_STARTS = "sandbox.startSent";
  const NAMES = ["Amina", "Jean", "Lucía", "João", "Fatima", "Baraka", "Mariam", "Kofi", "Ana", "Yusuf"];
  const MEDIA_LABELS = {
    sticker: "Sticker", photo: "🖼 Photo", voice: "🎤 Voice note", video: "🎬 Video", video_note: "⏺ Video note",
    audio: "🎵 Audio", document: "📄 Document", location: "📍 Location", contact: "👤 Contact",
    animation: "GIF", poll: "📊 Poll", dice: "🎲 Dice",
  };

  const $ = (id) => document.getElementById(id);
  const els = {
    messages: $("messages"), empty: $("empty-note"), status: $("status"), botName: $("bot-name"),
    userSelect: $("user-select"), userInfo: $("user-info"), newToggle: $("new-user-toggle"),
    newForm: $("new-user-form"), nuName: $("nu-name"), nuUsername: $("nu-username"), nuLanguage: $("nu-language"),
    nuCancel: $("nu-cancel"), sendForm: $("send-form"), text: $("text"), toast: $("toast"),
    commands: $("commands"), moreKinds: $("more-kinds"),
  };

  const state = {
    user: null, since: 0, instance: null, nodes: new Map(), abort: null, pollToken: 0,
    pendingPresses: new Map(), toastTimer: null,
  };

  // ---------------------------------------------------------------- storage
  function loadUsers() {
    try {
      const users = JSON.parse(localStorage.getItem(STORE_USERS) || "[]");
      return Array.isArray(users) ? users.filter((u) => u && Number.isInteger(u.id)) : [];
    } catch (_) { return []; }
  }
  function saveUsers(users) { localStorage.setItem(STORE_USERS, JSON.stringify(users)); }
  function startsSent() {
    try { return JSON.parse(localStorage.getItem(STORE_STARTS) || "[]"); } catch (_) { return []; }
  }

  // ---------------------------------------------------------------- HTTP
  async function api(path, body, signal) {
    const init = body === undefined ? { signal } : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal,
    };
    const response = await fetch(API + path, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    return data;
  }

  function setStatus(text, isError) {
    els.status.textContent = text;
    els.status.classList.toggle("error", Boolean(isError));
  }

  function toast(text, alertStyle) {
    clearTimeout(state.toastTimer);
    els.toast.replaceChildren();
    els.toast.classList.toggle("alert", Boolean(alertStyle));
    const p = document.createElement("div");
    p.dir = "auto";
    p.textContent = text;
    els.toast.append(p);
    els.toast.hidden = false;
    if (alertStyle) {
      const ok = document.createElement("button");
      ok.type = "button";
      ok.textContent = "OK";
      ok.addEventListener("click", () => { els.toast.hidden = true; els.text.focus(); });
      els.toast.append(ok);
      ok.focus();
    } else {
      state.toastTimer = setTimeout(() => { els.toast.hidden = true; }, 3500);
    }
  }

  // ---------------------------------------------------------------- users
  function renderUserSelect() {
    const users = loadUsers();
    els.userSelect.replaceChildren();
    for (const u of users) {
      const opt = document.createElement("option");
      opt.value = String(u.id);
      opt.textContent = `${u.first_name} (${u.language_code || "—"})`;
      opt.selected = state.user && u.id === state.user.id;
      els.userSelect.append(opt);
    }
  }

  function showUserInfo() {
    const u = state.user;
    els.userInfo.textContent = u
      ? `You are ${u.first_name}${u.username ? " @" + u.username : ""} · id ${u.id} · language ${u.language_code || "none"}`
      : "";
  }

  async function registerUser(user) {
    const data = await api("/users", user);
    return data.user;
  }

  async function createUser(firstName, languageCode, username) {
    const name = firstName || NAMES[Math.floor(Math.random() * NAMES.length)];
    const user = await registerUser({ first_name: name, language_code: languageCode, username: username || null });
    const users = loadUsers();
    users.push(user);
    saveUsers(users);
    return user;
  }

  async function switchUser(user) {
    state.user = user;
    localStorage.setItem(STORE_CURRENT, String(user.id));
    renderUserSelect();
    showUserInfo();
    resetChat();
    loadCommands();
    startPolling();
  }

  // ---------------------------------------------------------------- rendering
  function clearView() {
    state.since = 0;
    state.nodes.clear();
    els.messages.replaceChildren(els.empty);
    els.empty.hidden = false;
  }

  function resetChat() {
    if (state.abort) state.abort.abort();
    clearView();
  }

  function safeHref(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  // The bot sends plain text; the entities to show are the links Telegram detects in what users type.
  function wrapEntity(entity, node, segmentText) {
    if (entity.type !== "url" && entity.type !== "text_link") return node;
    const href = safeHref(entity.type === "url" ? segmentText : entity.url);
    if (!href) return node;
    const el = document.createElement("a");
    el.href = href;
    el.target = "_blank";
    el.rel = "noopener noreferrer";
    el.append(node);
    return el;
  }

  // Offsets are UTF-16 code units in both Telegram and JavaScript strings.
  function formatted(text, entities) {
    const frag = document.createDocumentFragment();
    const list = Array.isArray(entities) ? entities : [];
    const points = new Set([0, text.length]);
    for (const e of list) { points.add(e.offset); points.add(Math.min(text.length, e.offset + e.length)); }
    const sorted = [...points].filter((p) => p >= 0 && p <= text.length).sort((a, b) => a - b);
    for (let i = 0; i < sorted.length - 1; i++) {
      const [a, b] = [sorted[i], sorted[i + 1]];
      const segment = text.slice(a, b);
      let node = document.createTextNode(segment);
      const active = list.filter((e) => e.offset <= a && e.offset + e.length >= b)
        .sort((x, y) => (y.offset - x.offset) || (x.length - y.length)); // innermost first
      for (const e of active) {
        const whole = e.type === "url" ? text.slice(e.offset, e.offset + e.length) : segment;
        node = wrapEntity(e, node, whole);
      }
      frag.append(node);
    }
    return frag;
  }

  function mediaNode(m) {
    const box = document.createElement("div");
    box.className = "media";
    const info = m.media || { kind: m.kind };
    if (m.kind === "sticker") {
      const s = document.createElement("span");
      s.className = "sticker";
      s.textContent = info.emoji || "🙂";
      s.setAttribute("aria-label", "sticker");
      box.append(s);
      return box;
    }
    const parts = [MEDIA_LABELS[m.kind] || m.kind];
    if (info.duration) parts.push(`${Math.floor(info.duration / 60)}:${String(info.duration % 60).padStart(2, "0")}`);
    if (info.file_name) parts.push(info.file_name);
    if (info.latitude !== undefined) parts.push(`${info.latitude}, ${info.longitude}`);
    if (info.question) parts.push(info.question);
    if (info.value !== undefined) parts.push(`rolled ${info.value}`);
    box.textContent = parts.join(" · ");
    return box;
  }

  function timeOf(unix) {
    const d = new Date(unix * 1000);
    return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  }

  function keyboardNode(m) {
    const rows = m.reply_markup && Array.isArray(m.reply_markup.inline_keyboard) ? m.reply_markup.inline_keyboard : null;
    if (!rows || !rows.length) return null;
    const kb = document.createElement("div");
    kb.className = "keyboard";
    kb.setAttribute("role", "group");
    kb.setAttribute("aria-label", "Inline keyboard");
    for (const row of rows) {
      const r = document.createElement("div");
      r.className = "row";
      for (const button of row) {
        const b = document.createElement("button");
        b.type = "button";
        b.dir = "auto";
        b.textContent = String(button.text ?? "");
        if (typeof button.callback_data === "string") {
          b.title = `callback_data: ${button.callback_data}`;
          b.addEventListener("click", () => press(m.message_id, button.callback_data, b));
        } else if (safeHref(button.url)) {
          const mark = document.createElement("span");
          mark.className = "url-mark";
          mark.textContent = "↗";
          mark.setAttribute("aria-label", "(opens a link)");
          b.append(mark);
          b.title = button.url;
          b.addEventListener("click", () => {
            if (confirm(`Open ${button.url}?`)) window.open(button.url, "_blank", "noopener,noreferrer");
          });
        } else {
          b.disabled = true;
          b.title = "button type not emulated";
        }
        r.append(b);
      }
      kb.append(r);
    }
    return kb;
  }

  function renderMessage(m) {
    const wrap = document.createElement("div");
    wrap.className = `msg ${m.from_bot ? "bot" : "user"}`;
    wrap.dataset.messageId = String(m.message_id);
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.dir = "auto";
    if (m.kind !== "text") bubble.append(mediaNode(m));
    if (m.text) {
      const body = document.createElement("div");
      body.dir = "auto";
      body.append(formatted(m.text, m.entities));
      bubble.append(body);
    }
    const meta = document.createElement("div");
    meta.className = "meta";
    if (m.protect_content) {
      const p = document.createElement("span");
      p.className = "protected";
      p.textContent = "🔒 protected";
      p.title = "protect_content: the user cannot forward or save this message";
      meta.append(p);
    }
    if (m.edit_date) {
      const e = document.createElement("span");
      e.textContent = "edited";
      meta.append(e);
    }
    const t = document.createElement("span");
    t.textContent = `#${m.message_id} · ${timeOf(m.date)}`;
    meta.append(t);
    bubble.append(meta);
    wrap.append(bubble);
    const kb = m.from_bot ? keyboardNode(m) : null;
    if (kb) wrap.append(kb);
    return wrap;
  }

  function upsert(m) {
    const node = renderMessage(m);
    const old = state.nodes.get(m.message_id);
    if (old) {
      old.replaceWith(node);
    } else {
      // keep message_id order
      let before = null;
      for (const [id, el] of state.nodes) {
        if (id > m.message_id && (!before || Number(before.dataset.messageId) > id)) before = el;
      }
      els.messages.insertBefore(node, before);
    }
    state.nodes.set(m.message_id, node);
  }

  function removeMessage(id) {
    const node = state.nodes.get(id);
    if (node) node.remove();
    state.nodes.delete(id);
  }

  function applyChanges(data) {
    const atBottom = els.messages.scrollHeight - els.messages.scrollTop - els.messages.clientHeight < 80;
    for (const id of data.deleted || []) removeMessage(id);
    for (const m of data.messages || []) upsert(m);
    for (const a of data.answers || []) {
      const pending = state.pendingPresses.get(a.callback_query_id);
      if (pending) {
        clearTimeout(pending.timer);
        pending.button.classList.remove("pending");
        state.pendingPresses.delete(a.callback_query_id);
      }
      if (a.text) toast(a.text, a.show_alert);
    }
    els.empty.hidden = state.nodes.size > 0;
    if (atBottom || (data.messages || []).some((m) => !m.from_bot)) els.messages.scrollTop = els.messages.scrollHeight;
  }

  // ---------------------------------------------------------------- polling
  async function startPolling() {
    const token = ++state.pollToken;
    const controller = new AbortController();
    state.abort = controller;
    let failures = 0;
    while (token === state.pollToken && state.user) {
      try {
        // The first poll answers at once, so the page learns which run of the sandbox it talks to.
        const wait = state.instance === null ? "0" : "20";
        const q = new URLSearchParams({ user_id: String(state.user.id), since: String(state.since), wait });
        if (state.instance !== null) q.set("instance", state.instance);
        const data = await api(`/chat?${q}`, undefined, controller.signal);
        if (token !== state.pollToken) return;
        if (state.instance !== null && data.instance !== state.instance) {
          // The sandbox restarted: it no longer has the earlier messages, so neither does this view. The bot
          // remembers where this user was; /start shows the current question again.
          state.instance = data.instance;
          failures = 0;
          setStatus("online");
          clearView();
          toast("The sandbox restarted: earlier messages are gone from this page. Send /start to continue where you were.");
          continue;
        }
        state.instance = data.instance;
        applyChanges(data);
        state.since = data.cursor;
        failures = 0;
        setStatus(data.pending_update_count ? `online · ${data.pending_update_count} update(s) waiting for the bot` : "online");
      } catch (err) {
        if (controller.signal.aborted || token !== state.pollToken) return;
        failures += 1;
        if (String(err.message).includes("unknown user")) {
          try { await registerUser(state.user); } catch (_) { /* retried below */ }
        }
        setStatus(`sandbox unreachable, retrying… (${err.message})`, true);
        await new Promise((r) => setTimeout(r, Math.min(1000 * failures, 5000)));
      }
    }
  }

  // ---------------------------------------------------------------- actions
  async function sendText(text) {
    if (!state.user || !text.trim()) return;
    try {
      await api("/send", { user_id: state.user.id, text });
    } catch (err) {
      toast(`Not sent: ${err.message}`);
    }
  }

  async function sendMedia(kind) {
    if (!state.user || !kind) return;
    try {
      await api("/send_media", { user_id: state.user.id, kind });
    } catch (err) {
      toast(`Not sent: ${err.message}`);
    }
  }

  async function press(messageId, data, button) {
    if (!state.user) return;
    try {
      button.classList.add("pending");
      const res = await api("/press", { user_id: state.user.id, message_id: messageId, callback_data: data });
      const timer = setTimeout(() => {
        button.classList.remove("pending");
        state.pendingPresses.delete(res.callback_query_id);
        toast("The bot did not answer this button press (answerCallbackQuery) within 10 s.");
      }, 10000);
      state.pendingPresses.set(res.callback_query_id, { button, timer });
    } catch (err) {
      button.classList.remove("pending");
      toast(`Press failed: ${err.message}`);
    }
  }

  async function loadCommands() {
    try {
      const q = new URLSearchParams({ language_code: (state.user && state.user.language_code) || "" });
      const info = await api(`/info?${q}`);
      els.botName.textContent = `${info.bot.first_name} · @${info.bot.username}`;
      els.commands.replaceChildren();
      for (const c of info.commands || []) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = `/${c.command}`;
        b.title = c.description;
        b.addEventListener("click", () => sendText(`/${c.command}`));
        els.commands.append(b);
      }
    } catch (_) { /* commands are optional */ }
  }

  async function maybeSendStart() {
    const param = new URLSearchParams(location.search).get("start");
    if (param === null || !state.user) return;
    const key = `${state.user.id}:${param}`;
    const sent = startsSent();
    if (sent.includes(key)) return;
    sent.push(key);
    localStorage.setItem(STORE_STARTS, JSON.stringify(sent.slice(-200)));
    // Telegram ignores deep-link payloads that are not 1-64 characters of A-Za-z0-9_-
    if (/^[A-Za-z0-9_-]{1,64}$/.test(param)) {
      await sendText(`/start ${param}`);
    } else {
      toast("Invalid start parameter: Telegram would open the chat with a plain /start.");
      await sendText("/start");
    }
  }

  // ---------------------------------------------------------------- wiring
  function autosize() {
    els.text.style.height = "auto";
    els.text.style.height = `${Math.min(els.text.scrollHeight, 128)}px`;
  }

  els.sendForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = els.text.value;
    if (!text.trim()) return;
    els.text.value = "";
    autosize();
    await sendText(text);
    els.text.focus();
  });
  els.text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      els.sendForm.requestSubmit();
    }
  });
  els.text.addEventListener("input", autosize);
  for (const b of document.querySelectorAll(".media-row button[data-kind]")) {
    b.addEventListener("click", () => sendMedia(b.dataset.kind));
  }
  els.moreKinds.addEventListener("change", () => {
    const kind = els.moreKinds.value;
    els.moreKinds.value = "";
    sendMedia(kind);
  });
  els.userSelect.addEventListener("change", async () => {
    const user = loadUsers().find((u) => String(u.id) === els.userSelect.value);
    if (user) {
      try { await registerUser(user); } catch (_) { /* polling will retry */ }
      switchUser(user);
    }
  });
  function toggleNewUser(open) {
    els.newForm.hidden = !open;
    els.newToggle.setAttribute("aria-expanded", String(open));
    if (open) {
      els.nuName.value = NAMES[Math.floor(Math.random() * NAMES.length)];
      els.nuName.focus();
    }
  }
  els.newToggle.addEventListener("click", () => toggleNewUser(els.newForm.hidden));
  els.nuCancel.addEventListener("click", () => { toggleNewUser(false); els.newToggle.focus(); });
  els.newForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const user = await createUser(els.nuName.value.trim(), els.nuLanguage.value, els.nuUsername.value.trim());
      toggleNewUser(false);
      await switchUser(user);
      els.text.focus();
    } catch (err) {
      toast(`Could not create user: ${err.message}`);
    }
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !els.toast.hidden) els.toast.hidden = true;
  });

  async function init() {
    try {
      const users = loadUsers();
      const currentId = localStorage.getItem(STORE_CURRENT);
      let user = users.find((u) => String(u.id) === currentId) || users[0];
      if (user) {
        user = await registerUser(user); // the sandbox may have restarted: register again (idempotent)
      } else {
        const lang = (navigator.language || "en").slice(0, 2);
        user = await createUser("", ["en", "fr", "es", "pt", "ar", "sw"].includes(lang) ? lang : "en", "");
      }
      await switchUser(user);
      await maybeSendStart();
    } catch (err) {
      setStatus(`sandbox unreachable: ${err.message}`, true);
      setTimeout(init, 2000);
    }
  }
  init();
})();
