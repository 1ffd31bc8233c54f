// The phone page: one simulated WhatsApp phone talking to the cockpit agent.
// The server pushes the thread over SSE (a snapshot on every (re)connect, then each
// change); sending goes through POST /phone/api/send, which posts Twilio's webhook.
"use strict";

const $ = (id) => document.getElementById(id);
const DEFAULT_NUMBER = "+15551234567";
const E164 = /^\+[1-9]\d{6,14}$/;

const state = {
  number: null,
  messages: new Map(), // sid -> message JSON, in arrival order
  rendered: new Map(), // sid -> JSON string last drawn
  contacts: [],
  replyTo: null,
  media: null, // data: URL of the attached image or audio
  stream: null,
  typingUntil: 0, // ms since epoch while the agent shows "typing…"
  typingTimer: null,
};

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// WhatsApp's own markup: ```mono```, `code`, *bold*, _italic_, ~strike~.
function formatText(text) {
  let html = escapeHtml(text);
  html = html.replace(/```([\s\S]+?)```/g, "<pre>$1</pre>");
  html = html.replace(/`([^`\n]+)`/g, "<code>$1</code>");
  html = html.replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,!?:;])/g, "$1<strong>$2</strong>");
  html = html.replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,!?:;])/g, "$1<em>$2</em>");
  html = html.replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,!?:;])/g, "$1<del>$2</del>");
  return html;
}

function normalizeNumber(raw) {
  let text = raw.trim().replace(/^whatsapp:/i, "").replace(/[\s().-]/g, "");
  if (text.startsWith("00")) text = "+" + text.slice(2);
  if (text && !text.startsWith("+")) text = "+" + text;
  return E164.test(text) ? text : null;
}

function contactName(number) {
  const found = state.contacts.find((c) => c.number === number);
  return found ? found.name : null;
}

function timeOf(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function dayOf(iso) {
  const day = new Date(iso);
  const today = new Date();
  if (day.toDateString() === today.toDateString()) return "Today";
  return day.toLocaleDateString([], { day: "numeric", month: "long", year: "numeric" });
}

function delivery(msg) {
  if (msg.relay_status !== null && msg.relay_status >= 200 && msg.relay_status < 300) return "delivered";
  if (msg.relay_status !== null || msg.relay_error) return "failed";
  return "pending";
}

function snippet(msg) {
  if (msg.body) return msg.body;
  if (!msg.media.length) return "";
  return msg.media.some(isAudio) ? "Voice message" : "Photo"; // isAudio: voice.js
}

function quotedBlock(msg) {
  const original = state.messages.get(msg.reply_to);
  const block = document.createElement("div");
  block.className = "quoted";
  const who = original ? (original.side === "out" ? "You" : "Cockpit agent") : "Message";
  block.innerHTML = `<div class="quote-who">${who}</div>` +
    `<div class="quote-text">${escapeHtml(original ? snippet(original) : "(not loaded)")}</div>`;
  block.addEventListener("click", () => scrollToMessage(msg.reply_to));
  return block;
}

function mediaBlock(item, msg) {
  if (isAudio(item)) return audioBlock(item, msg); // voice.js
  if (item.url) {
    const img = document.createElement("img");
    img.src = item.url;
    img.alt = "image";
    img.loading = "lazy";
    img.addEventListener("load", () => keepAtBottom());
    img.addEventListener("click", () => window.open(item.url, "_blank"));
    return img;
  }
  const missing = document.createElement("div");
  missing.className = "img-missing";
  missing.textContent = msg.status === "failed" ? "Image could not be downloaded" : "Loading image…";
  return missing;
}

// An invisible copy of the time (and ticks) at the end of the text keeps room for the
// real one, which sits in the bubble's corner: short texts never run under it.
function metaSpace(msg) {
  const space = document.createElement("span");
  space.className = "meta-space";
  space.setAttribute("aria-hidden", "true");
  space.textContent = timeOf(msg.time) + (msg.side === "out" ? " ✓✓" : "");
  return space;
}

function metaBlock(msg) {
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.innerHTML = `<span class="time">${timeOf(msg.time)}</span>`;
  if (msg.side === "out") {
    const ticks = document.createElement("span");
    const how = delivery(msg);
    ticks.className = `ticks ${how}`;
    ticks.textContent = { pending: "✓", delivered: "✓✓", failed: "!" }[how];
    ticks.title = { pending: "sent to the relay", delivered: "accepted by the relay", failed: "not delivered" }[how];
    meta.appendChild(ticks);
  }
  return meta;
}

function errorLine(msg) {
  let reason = null;
  if (msg.side === "out" && delivery(msg) === "failed") {
    reason = "Not delivered: " + (msg.relay_error || `the relay answered HTTP ${msg.relay_status}`);
  } else if (msg.side === "in" && msg.status === "failed") {
    reason = `Failed: ${msg.error_code || ""} ${msg.error_message || ""}`.trim();
  }
  if (!reason) return null;
  const line = document.createElement("div");
  line.className = "error";
  line.textContent = reason;
  return line;
}

function replyButton(msg) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "reply";
  button.title = "Reply";
  button.setAttribute("aria-label", "Reply");
  button.innerHTML = '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">' +
    '<path fill="currentColor" d="M10 9V5l-7 7 7 7v-4.1c5 0 8.5 1.6 11 5.1-1-5-4-10-11-11z"/></svg>';
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    startReply(msg.sid);
  });
  return button;
}

function renderMessage(msg) {
  const row = document.createElement("div");
  row.className = `row ${msg.side}`;
  row.dataset.sid = msg.sid;
  const bubble = document.createElement("div");
  bubble.className = `bubble ${msg.side}`;
  bubble.dataset.sid = msg.sid;
  bubble.dataset.status = msg.side === "out" ? delivery(msg) : msg.status;
  if (msg.reply_to) bubble.appendChild(quotedBlock(msg));
  if (msg.template) {
    // an approved WhatsApp template: the only thing that goes outside the 24-hour window
    const label = document.createElement("div");
    label.className = "template-label";
    label.textContent = "Template";
    bubble.appendChild(label);
  }
  for (const item of msg.media) bubble.appendChild(mediaBlock(item, msg));
  const text = document.createElement("div");
  text.className = "text";
  text.innerHTML = formatText(msg.body);
  text.appendChild(metaSpace(msg));
  if (!msg.body) {
    text.hidden = true;
    bubble.classList.add("media-only");
  }
  bubble.appendChild(text);
  const error = errorLine(msg);
  if (error) bubble.appendChild(error);
  bubble.appendChild(metaBlock(msg));
  bubble.appendChild(replyButton(msg));
  bubble.addEventListener("dblclick", () => startReply(msg.sid));
  row.appendChild(bubble);
  appendActions(row, bubble, msg);
  return row;
}

// --- Buttons and lists (Content API quick-reply and list-picker) ---------------------
// Quick-reply buttons sit under the bubble, a list-picker's button inside it; a tap posts
// to /phone/api/tap, which sends Twilio's webhook with ButtonPayload, ButtonText and Body.

function appendActions(row, bubble, msg) {
  if (!msg.buttons || !msg.buttons.length) return;
  if (msg.list_button) {
    bubble.classList.add("has-list");
    bubble.appendChild(listButton(msg));
    return;
  }
  const column = document.createElement("div");
  column.className = `with-actions ${msg.side}`;
  row.replaceChild(column, bubble);
  column.appendChild(bubble);
  const actions = document.createElement("div");
  actions.className = "actions";
  for (const button of msg.buttons) actions.appendChild(actionButton(msg, button));
  column.appendChild(actions);
}

function actionButton(msg, button) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "action";
  element.textContent = button.title;
  element.dataset.id = button.id;
  element.addEventListener("click", () => tap(msg, button));
  return element;
}

function listButton(msg) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "list-open";
  element.innerHTML = '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">' +
    '<path fill="currentColor" d="M3 6h18v2H3zm0 5h18v2H3zm0 5h18v2H3z"/></svg>';
  element.appendChild(document.createTextNode(" " + msg.list_button));
  element.addEventListener("click", () => openList(msg));
  return element;
}

function openList(msg) {
  const sheet = $("sheet");
  const items = $("sheet-items");
  items.textContent = "";
  $("sheet-title").textContent = msg.list_button;
  for (const button of msg.buttons) {
    const item = document.createElement("button");
    item.type = "button";
    item.className = "sheet-item";
    item.textContent = button.title;
    item.dataset.id = button.id;
    item.addEventListener("click", () => {
      sheet.hidden = true;
      tap(msg, button);
    });
    items.appendChild(item);
  }
  sheet.hidden = false;
}

async function tap(msg, button) {
  notice(null);
  try {
    const response = await fetch("/phone/api/tap", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ from: state.number, sid: msg.sid, id: button.id }),
    });
    if (!response.ok) notice(`Not sent: ${JSON.stringify((await response.json()).detail)}`);
  } catch (error) {
    notice(`Not sent: the simulator is unreachable (${error})`);
  }
}

// --- "typing…" in the header while the agent's typing indicator is live -------------

function setTyping(until) {
  state.typingUntil = until ? Date.parse(until) : 0;
  clearTimeout(state.typingTimer);
  const left = state.typingUntil - Date.now();
  if (left > 0) state.typingTimer = setTimeout(() => setTyping(null), left);
  showConn();
}

function nearBottom() {
  const thread = $("thread");
  return thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;
}

function keepAtBottom(force) {
  const thread = $("thread");
  if (force || nearBottom()) thread.scrollTop = thread.scrollHeight;
}

function redraw() {
  const thread = $("thread");
  const stick = nearBottom();
  thread.textContent = "";
  state.rendered.clear();
  let lastDay = null;
  for (const msg of state.messages.values()) {
    const day = dayOf(msg.time);
    if (day !== lastDay) {
      const divider = document.createElement("div");
      divider.className = "day";
      divider.innerHTML = `<span>${escapeHtml(day)}</span>`;
      thread.appendChild(divider);
      lastDay = day;
    }
    thread.appendChild(renderMessage(msg));
    state.rendered.set(msg.sid, JSON.stringify(msg));
  }
  if (!state.messages.size) {
    thread.innerHTML = '<div class="empty">No messages yet. Say hello to your agent.</div>';
  }
  keepAtBottom(stick);
}

function upsert(msg) {
  if (msg.number !== state.number) return;
  const json = JSON.stringify(msg);
  if (state.rendered.get(msg.sid) === json) return;
  const isNew = !state.messages.has(msg.sid);
  state.messages.set(msg.sid, msg);
  const existing = document.querySelector(`.row[data-sid="${msg.sid}"]`);
  if (isNew || !existing) {
    const stick = nearBottom() || msg.side === "out";
    redraw();
    keepAtBottom(stick);
    return;
  }
  existing.replaceWith(renderMessage(msg));
  state.rendered.set(msg.sid, json);
}

// A reconnect sends the whole thread again: redraw only when it differs from the screen.
function replaceAll(list) {
  const same = list.length === state.rendered.size &&
    list.every((msg) => state.rendered.get(msg.sid) === JSON.stringify(msg));
  if (same && state.messages.size) return;
  state.messages.clear();
  for (const msg of list) state.messages.set(msg.sid, msg);
  redraw();
  keepAtBottom(true);
}

function scrollToMessage(sid) {
  const row = document.querySelector(`.row[data-sid="${sid}"] .bubble`);
  if (!row) return;
  row.scrollIntoView({ block: "center", behavior: "smooth" });
  row.classList.remove("flash");
  void row.offsetWidth;
  row.classList.add("flash");
}

function setConn(text) {
  state.conn = text;
  showConn();
}

function showConn() {
  const typing = state.typingUntil > Date.now() && state.conn === "online";
  $("conn").textContent = typing ? "typing…" : state.conn;
  $("conn").classList.toggle("typing", typing);
}

function connect() {
  if (state.stream) state.stream.close();
  state.messages.clear();
  redraw();
  setConn("connecting…");
  const stream = new EventSource(`/phone/api/stream?number=${encodeURIComponent(state.number)}`);
  stream.addEventListener("open", () => setConn("online"));
  stream.addEventListener("error", () => setConn("reconnecting…"));
  stream.addEventListener("snapshot", (event) => replaceAll(JSON.parse(event.data)));
  stream.addEventListener("message", (event) => upsert(JSON.parse(event.data)));
  stream.addEventListener("typing", (event) => setTyping(JSON.parse(event.data).until));
  state.stream = stream;
}

function chooseNumber(raw, remember) {
  const number = normalizeNumber(raw);
  const input = $("number");
  input.classList.toggle("invalid", !number);
  if (!number) return;
  input.value = number;
  if (number === state.number) return;
  state.number = number;
  if (remember) localStorage.setItem("cockpit.phone.number", number);
  const url = new URL(window.location.href);
  url.searchParams.set("number", number);
  history.replaceState(null, "", url);
  cancelReply();
  connect();
}

function startReply(sid) {
  const msg = state.messages.get(sid);
  if (!msg) return;
  state.replyTo = sid;
  $("quote").hidden = false;
  $("quote").querySelector(".quote-who").textContent = msg.side === "out" ? "You" : "Cockpit agent";
  $("quote").querySelector(".quote-text").textContent = snippet(msg);
  $("composer").focus();
}

function cancelReply() {
  state.replyTo = null;
  $("quote").hidden = true;
}

function clearMedia() {
  state.media = null;
  resetAudioPreview(); // voice.js
  $("preview").hidden = true;
  $("attach").value = "";
}

function notice(text) {
  const box = $("notice");
  box.textContent = text || "";
  box.hidden = !text;
}

async function send() {
  const body = $("composer").value;
  if (!body.trim() && !state.media) return;
  const payload = {
    from: state.number,
    body: body,
    reply_to: state.replyTo,
    profile_name: contactName(state.number),
    media: state.media,
  };
  $("composer").value = "";
  autosize();
  cancelReply();
  clearMedia();
  notice(null);
  try {
    const response = await fetch("/phone/api/send", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    const answer = await response.json();
    if (!response.ok) notice(`Not sent: ${JSON.stringify(answer.detail || answer)}`);
  } catch (error) {
    notice(`Not sent: the simulator is unreachable (${error})`);
  }
}

function attach(file) {
  if (!file) return;
  if (file.type.startsWith("audio/")) return attachAudio(file); // voice.js
  if (!file.type.startsWith("image/")) return notice("Only images and audio can be attached.");
  if (file.size > 5 * 1024 * 1024) return notice("Images over 5 MB cannot be sent.");
  const reader = new FileReader();
  reader.addEventListener("load", () => {
    state.media = reader.result;
    $("preview-img").src = reader.result;
    $("preview").hidden = false;
    notice(null);
    $("composer").focus();
  });
  reader.readAsDataURL(file);
}

function autosize() {
  const box = $("composer");
  box.style.height = "auto";
  box.style.height = Math.min(box.scrollHeight, 120) + "px";
}

function wire() {
  $("composer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  $("composer").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  $("composer").addEventListener("input", autosize);
  $("attach").addEventListener("change", (event) => attach(event.target.files[0]));
  $("quote-close").addEventListener("click", cancelReply);
  $("preview-close").addEventListener("click", clearMedia);
  $("sheet-close").addEventListener("click", () => { $("sheet").hidden = true; });
  $("number").addEventListener("change", (event) => chooseNumber(event.target.value, true));
  $("number").addEventListener("keydown", (event) => {
    if (event.key === "Enter") chooseNumber(event.target.value, true);
  });
}

async function start() {
  wire();
  let config = { whatsapp_from: "", contacts: [] };
  try {
    config = await (await fetch("/phone/api/config")).json();
  } catch (error) {
    notice("The simulator did not answer; retrying in the background.");
  }
  state.contacts = config.contacts;
  $("agent-number").textContent = config.whatsapp_from.replace(/^whatsapp:/, "");
  const list = $("contacts");
  for (const contact of config.contacts) {
    const option = document.createElement("option");
    option.value = contact.number;
    option.label = contact.name;
    list.appendChild(option);
  }
  const fromUrl = new URL(window.location.href).searchParams.get("number");
  const first = config.contacts.length ? config.contacts[0].number : null;
  const initial = [fromUrl, localStorage.getItem("cockpit.phone.number"), first, DEFAULT_NUMBER]
    .map((raw) => (raw ? normalizeNumber(raw) : null))
    .find(Boolean);
  chooseNumber(initial, false);
}

start();
