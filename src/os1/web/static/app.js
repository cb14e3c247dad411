// os1's page: one WebSocket (docs/protocol.md) carries the chat, the call's
// audio both ways, captions, status and os1's requests for consent. No
// framework, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const PROTOCOL = 2;
const MIC_RATE = 16000;

const ui = {
  status: $("status"), name: $("companion-name"), thread: $("thread"), composer: $("composer"),
  text: $("composer-text"), call: $("call"), callLabel: $("call-label"), stop: $("stop-reply"),
  you: $("caption-you"), os1: $("caption-os1"),
};

const state = {
  ws: null, connected: false, retry: 0, name: "os1",
  pendingAudio: null,       // the audio.out header waiting for its binary message
  pending: null,            // the reply bubble being written
  call: null,               // {stream, ctx, node, source}
  player: null,             // {ctx, analyser, head, sources}
  played: 0,                // seconds of os1's voice actually played (tests read it)
  level: 0,
  botState: "idle",
};
window.os1 = state; // for the browser test and curious people

// -- connection -----------------------------------------------------------------------------

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onopen = () => {
    state.retry = 0;
    send({ type: "session.start", protocol: PROTOCOL, sample_rate: MIC_RATE });
  };
  ws.onmessage = (e) => (typeof e.data === "string" ? onEvent(JSON.parse(e.data)) : onAudio(e.data));
  ws.onclose = () => {
    state.connected = false;
    if (state.call) endCall(false);
    setStatus("Disconnected. Reconnecting…", "connecting");
    // Logged out (or the login expired): the login form, not endless reconnecting.
    fetch("/api/status").then((r) => { if (r.status === 401) location.href = "/login"; }).catch(() => {});
    setTimeout(connect, Math.min(8000, 500 * 2 ** state.retry++));
  };
}

// With accounts: who is logged in, and a way out.
fetch("/api/status").then((r) => (r.ok ? r.json() : null)).then((s) => {
  if (!s || !s.accounts) return;
  $("set-model").closest("label").hidden = true; // the model is the operator's to choose
  const out = $("logout");
  out.hidden = false;
  out.title = `Logged in as ${s.user}`;
  out.addEventListener("click", async () => {
    await api("/logout", { method: "POST" }).catch(() => {});
    location.href = "/login";
  });
}).catch(() => {});

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(typeof message === "string" || message instanceof ArrayBuffer ? message : JSON.stringify(message));
    return true;
  }
  return false;
}

const STATUS_TEXT = {
  listening: "Listening", thinking: "Thinking…", speaking: "Speaking", connecting: "Connecting the call…",
};

function setStatus(text, kind) {
  ui.status.textContent = text;
  if (kind) document.body.dataset.state = kind;
}

function onEvent(ev) {
  switch (ev.type) {
    case "session.started":
      state.connected = true;
      setName(ev.companion);
      setStatus(`Waking ${ev.companion} up…`, "idle");
      break;
    case "history":
      ui.thread.replaceChildren();
      for (const m of ev.messages) addMessage(m);
      state.activity = null;
      restoreConsent();
      state.historyShown = true;
      setStatus(state.call ? "Listening" : "Ready", state.call ? "listening" : "idle");
      scrollThread();
      break;
    case "thread.message":
      if (ev.role === "forgotten") return removeMessage(ev.id);
      showThreadMessage(ev);
      scrollThread();
      break;
    case "reply.started":
      startPending();
      break;
    case "consent.request":
      addConsent(ev);
      break;
    case "consent.resolved":
      resolveConsent(ev);
      break;
    case "tool.activity":
      showActivity(ev);
      break;
    case "view":
      if (ev.kind === "review") showReview(ev.data);
      break;
    case "initiated":
      addNotice(`${state.name} reached out: ${ev.reason}`);
      break;
    case "reply.delta":
      if (!state.pending) startPending();
      if (!state.pending.text && adoptSpokenReachOut(ev.text)) break;
      state.pending.text += ev.text;
      state.pending.body.textContent = state.pending.text;
      scrollThread();
      break;
    case "reply.spoken":
      // Captions follow the voice, not the (faster) writing.
      state.spoken = state.spoken ? `${state.spoken} ${ev.text}` : ev.text;
      showCaption(ui.os1, state.spoken);
      break;
    case "status":
      state.botState = ev.state;
      setStatus(STATUS_TEXT[ev.state] || ev.state, ev.state);
      ui.stop.hidden = !(state.call && ev.state === "speaking");
      break;
    case "speech.started":
      state.spoken = "";
      showCaption(ui.you, "…");
      break;
    case "transcript":
      showCaption(ui.you, ev.text);
      if (ev.final) ui.you.dataset.final = "true";
      break;
    case "audio.out":
      state.pendingAudio = ev;
      break;
    case "audio.stop":
    case "interrupted":
      stopPlayback();
      if (ev.type === "interrupted" && state.pending) finishPending({ text: ev.heard, interrupted: true });
      break;
    case "call.started":
      setStatus("Listening", "listening");
      ui.callLabel.textContent = "End the call";
      break;
    case "call.ended":
      break;
    case "turn.retracted":
      if (state.pending) {
        if (!state.pending.adopted) state.pending.li.remove();
        state.pending = null;
      }
      stopPlayback();
      break;
    case "turn.times":
      ui.status.title = `first audio ${Math.round(ev.first_audio_ms)} ms after you stopped`;
      break;
    case "notice":
      addNotice(ev.text);
      break;
    case "error":
      addNotice(ev.message);
      // What they typed could not be kept: back in the box, unless they are typing something new.
      if (ev.unsent && !ui.text.value.trim()) {
        ui.text.value = ev.unsent;
        autosize();
      }
      if (ev.code === "voice_unavailable" && state.call) endCall(true);
      break;
  }
}

// -- the thread -------------------------------------------------------------------------------

function setName(name) {
  state.name = name || "os1";
  ui.name.textContent = state.name;
  document.title = `${state.name} · os1`;
  ui.os1.dataset.name = state.name;
}

function bubble(role, text, id, extra) {
  const li = document.createElement("li");
  li.className = `msg ${role}`;
  if (id) li.dataset.id = id;
  const body = document.createElement("span");
  body.className = "body";
  li.append(body);
  updateMessage(li, { text, ...(extra || {}) });
  return li;
}

// A message's words and its small print; a reach-out keeps its marker.
function updateMessage(li, m) {
  li.querySelector(".body").textContent = m.text;
  if (m.channel) li.dataset.channel = m.channel;
  const spoken = li.dataset.channel === "voice";
  const who = li.classList.contains("user") ? "You" : state.name;
  li.setAttribute("aria-label", `${who}${spoken ? " (spoken)" : ""}${li.dataset.reachOut ? ", reaching out" : ""}`);
  let small = li.querySelector(":scope > .meta");
  const words = [spoken ? "spoken" : "", m.interrupted ? "interrupted" : ""].filter(Boolean).join(" · ");
  if (words && !small) {
    small = document.createElement("small");
    small.className = "meta";
    li.querySelector(".body").after(small);
  }
  if (small) {
    small.textContent = words;
    small.hidden = !words;
  }
  if (m.reach_out && !li.dataset.reachOut) reachOutMarker(li, m.reach_out);
}

function messageElement(id) {
  return id ? ui.thread.querySelector(`.msg[data-id="${CSS.escape(id)}"]`) : null;
}

function addMessage(m) {
  if (messageElement(m.id)) return;
  ui.thread.append(bubble(m.role, m.text, m.id, m));
}

function showThreadMessage(ev) {
  const shown = messageElement(ev.id);
  if (shown) {
    // A message shown already, revised (cut short while it was being said) or
    // shown again (a reach-out once it was spoken in a call): updated in place.
    if (state.pending && state.pending.li === shown) state.pending = null;
    updateMessage(shown, ev);
  } else if (ev.reach_out) {
    // os1 speaks first: a message of its own, never the end of a reply being written.
    const li = bubble(ev.role, ev.text, ev.id, ev);
    if (state.pending && !state.pending.adopted && state.pending.li.isConnected) {
      ui.thread.insertBefore(li, state.pending.li);
    } else {
      ui.thread.append(li);
    }
    notifyReachOut(ev);
    if (remindersDialog.open) loadReminders();
  } else if (ev.role === "assistant" && state.pending) {
    finishPending(ev);
  } else {
    addMessage(ev);
  }
}

// -- reach-outs: os1 speaks first ---------------------------------------------------------------

// A quiet "reached out" label (why, on hover and for screen readers) and a way to wave it away.
function reachOutMarker(li, reach) {
  li.dataset.reachOut = reach.entry;
  li.setAttribute("aria-label", `${li.getAttribute("aria-label")}, reaching out`);
  const row = document.createElement("small");
  row.className = "reach-meta";
  const label = document.createElement("span");
  label.className = "reach-label";
  label.textContent = "reached out";
  label.title = `Why: ${reach.reason}`;
  const why = document.createElement("span");
  why.className = "visually-hidden";
  why.textContent = ` because ${reach.reason}`;
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.className = "link";
  dismiss.textContent = "Dismiss";
  dismiss.setAttribute("aria-label", "Dismiss this reach-out");
  dismiss.addEventListener("click", async () => {
    dismiss.disabled = true;
    try {
      await api(`/api/reach-outs/${encodeURIComponent(reach.entry)}/dismiss`, { method: "POST" });
      li.dataset.dismissed = "";
      label.textContent = "reached out · dismissed";
      dismiss.remove();
    } catch (err) {
      dismiss.disabled = false;
      addNotice(`It could not be dismissed: ${err.message}`);
    }
  });
  row.append(label, why, dismiss);
  li.append(row);
}

// In a call, a reach-out already in the thread is then spoken: its words come
// again as a reply (reply.started, then one reply.delta with all of them).
// They belong to the message shown, not to a second bubble.
function adoptSpokenReachOut(text) {
  if (!state.call) return false;
  const shown = [...ui.thread.querySelectorAll(".msg[data-reach-out]:not([data-spoken])")]
    .reverse().find((li) => li.querySelector(".body").textContent === text);
  if (!shown) return false;
  state.pending.li.remove();
  shown.dataset.spoken = "";
  state.pending = { li: shown, body: shown.querySelector(".body"), text, adopted: true };
  return true;
}

// A browser notification, when the page is in the background and the person allowed them.
function notifyReachOut(ev) {
  if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const n = new Notification(state.name, { body: ev.text, tag: `os1-reach-out-${ev.reach_out.entry}` });
    n.onclick = () => {
      window.focus();
      n.close();
    };
  } catch {
    // Some browsers show notifications only from a service worker: the message is in the thread anyway.
  }
}

function removeMessage(id) {
  const li = ui.thread.querySelector(`[data-id="${id}"]`);
  if (li) li.remove();
}

function addNotice(text) {
  const li = document.createElement("li");
  li.className = "msg notice";
  li.setAttribute("role", "note");
  li.textContent = text;
  ui.thread.append(li);
  scrollThread();
}

function startPending() {
  if (state.pending) return;
  const li = bubble("assistant", "", null);
  li.classList.add("pending");
  // The reply that asks for consent goes above the card that asks (so do a review's words).
  const last = ui.thread.lastElementChild;
  if (last && last.matches(".consent[data-open], .review[data-fresh]")) ui.thread.insertBefore(li, last);
  else ui.thread.append(li);
  state.pending = { li, body: li.querySelector(".body"), text: "" };
}

function finishPending(m) {
  const { li, adopted } = state.pending;
  state.pending = null;
  if (adopted) return m.text ? updateMessage(li, m) : undefined; // a reach-out, already shown
  if (!m.text) return li.remove();
  li.replaceWith(bubble("assistant", m.text, m.id, m));
}

// -- consent: os1 asks before it acts ------------------------------------------------------------

const OUTCOME_TEXT = {
  done: "Done", declined: "Declined: nothing was done", expired: "Expired: nothing was done",
  failed: "It did not work",
};

function addConsent(ev) {
  if (ui.thread.querySelector(`.consent[data-proposal="${ev.id}"]`)) return;
  const li = document.createElement("li");
  li.className = "consent";
  li.dataset.proposal = ev.id;
  li.dataset.open = "";
  li.setAttribute("role", "group");
  li.setAttribute("aria-label", `${state.name} asks your consent`);
  const title = document.createElement("p");
  title.className = "consent-title";
  title.textContent = `${state.name} asks before doing this`;
  const action = document.createElement("p");
  action.className = "consent-action";
  action.textContent = ev.action; // its line breaks show (white-space: pre-wrap)
  li.append(title, action);
  if (ev.warnings && ev.warnings.length) {
    const warnings = document.createElement("ul");
    warnings.className = "consent-warnings";
    warnings.setAttribute("role", "alert");
    for (const text of ev.warnings) {
      const w = document.createElement("li");
      w.textContent = text;
      warnings.append(w);
    }
    li.append(warnings);
  }
  const row = document.createElement("div");
  row.className = "consent-buttons";
  const approve = document.createElement("button");
  approve.type = "button";
  approve.textContent = "Approve";
  const decline = document.createElement("button");
  decline.type = "button";
  decline.className = "ghost";
  decline.textContent = "Decline";
  row.append(approve, decline);
  const note = document.createElement("p");
  note.className = "consent-state";
  note.setAttribute("role", "status");
  const until = new Date(ev.expires_at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  note.textContent = `Waiting for your answer (until ${until}).`;
  li.append(row, note);
  const answer = (yes) => {
    if (!send({ type: "consent.answer", id: ev.id, approve: yes })) {
      return addNotice("Not connected: your answer was not sent. Try again in a moment.");
    }
    approve.disabled = decline.disabled = true;
    delete li.dataset.open;
    li.dataset.answer = yes ? "approve" : "decline";
    note.textContent = yes ? "Approved: doing it…" : "Declined.";
  };
  approve.addEventListener("click", () => answer(true));
  decline.addEventListener("click", () => answer(false));
  ui.thread.append(li);
  scrollThread();
}

// -- a letter's changes as tracked changes: each kept or rejected by a click --------------------
// A click says it in words ("keep 3"), as typing it would: one path for the page, os1 chat and a call.

function say(text) {
  if (!send({ type: "message", text })) addNotice("Not connected: that was not sent. Try again in a moment.");
}

function showReview(review) {
  let li = ui.thread.querySelector(`.review[data-review="${review.id}"]`);
  if (!li) {
    li = el("li", "review");
    li.dataset.review = review.id;
    li.setAttribute("role", "group");
    ui.thread.append(li);
  }
  li.replaceChildren();
  ui.thread.querySelectorAll(".review[data-fresh]").forEach((r) => delete r.dataset.fresh);
  if (li === ui.thread.lastElementChild) li.dataset.fresh = ""; // the reply that comes with it goes above
  li.setAttribute("aria-label", `Changes to ${review.title}`);
  li.append(el("p", "review-title", `Changes to \u201c${review.title}\u201d (${review.file})`));
  const body = el("div", "review-body");
  for (const parts of review.paragraphs) {
    const p = el("p", "review-paragraph");
    for (const part of parts) {
      if (part.n === undefined) { p.append(document.createTextNode(part.text)); continue; }
      const change = el("span", "change");
      change.dataset.state = part.state;
      change.append(el("sup", "change-n", String(part.n)));
      if (part.before) change.append(el("del", "", part.before));
      if (part.after) change.append(el("ins", "", part.after));
      if (review.open && part.state === "open") {
        change.append(button("\u2713", `Keep change ${part.n}`, () => say(`keep ${part.n}`)),
                      button("\u2717", `Reject change ${part.n}`, () => say(`reject ${part.n}`)));
      } else if (part.state !== "open") {
        change.title = part.state === "kept" ? "Kept" : "Rejected";
      }
      p.append(change);
    }
    body.append(p);
  }
  li.append(body);
  const note = el("p", "review-state");
  note.setAttribute("role", "status");
  if (review.open) {
    const row = el("div", "consent-buttons");
    const done = button("Done: save a new version", "Save a new version with the kept changes", () => say("done"));
    done.className = "";
    row.append(done, button("Keep the rest", "Keep every open change", () => say("accept the rest")),
               button("Cancel", "Leave the letter as it was", () => say("cancel")));
    li.append(row);
    note.textContent = "The original stays as it is; the kept changes go into a new version.";
  } else {
    note.textContent = review.saved ? `Saved as ${review.saved}. The original is unchanged.` : "Closed: nothing was saved.";
  }
  li.append(note);
  scrollThread();
}

function resolveConsent(ev) {
  const li = ui.thread.querySelector(`.consent[data-proposal="${ev.id}"]`);
  if (li) {
    delete li.dataset.open;
    li.dataset.outcome = ev.outcome;
    li.querySelectorAll(".consent-buttons button").forEach((b) => (b.disabled = true));
    const note = li.querySelector(".consent-state");
    const detail = ev.outcome === "done" || ev.outcome === "failed" ? ev.text : "";
    note.textContent = [OUTCOME_TEXT[ev.outcome] || ev.outcome, detail].filter(Boolean).join(": ");
  }
  if (actionsDialog.open) loadActions();
}

// Proposals still waiting (from before a reload, another tab, the API) get their card back.
async function restoreConsent() {
  try {
    const data = await api("/api/actions?limit=20");
    for (const a of data.actions.slice().reverse()) {
      if (a.answerable) addConsent({ id: a.id, action: a.action, warnings: a.warnings, expires_at: a.expires_at });
    }
  } catch {
    // The action log is a convenience here; the conversation goes on without it.
  }
}

const TOOL_WORDS = {
  search_memory: "Searching memory…", current_time: "Checking the time…", save_note: "Saving the note…",
  check_mail: "Checking your mail…", search_mail: "Searching your mail…", read_mail: "Reading the email…",
  reply_mail: "Sending the reply…", send_mail: "Sending the email…", file_mail: "Filing the email…",
};

// What a tool is doing, as one quiet line while it runs.
function showActivity(ev) {
  let line = state.activity;
  if (ev.state === "running") {
    if (!line || !line.isConnected) {
      line = document.createElement("li");
      line.className = "activity";
      line.setAttribute("role", "status");
      ui.thread.append(line);
      state.activity = line;
    }
    line.textContent = TOOL_WORDS[ev.name] || `Using ${ev.name.replaceAll("_", " ")}…`;
    scrollThread();
  } else if (line) {
    state.activity = null;
    if (ev.state === "failed") {
      line.textContent = `${ev.name.replaceAll("_", " ")} did not work${ev.detail ? `: ${ev.detail}` : "."}`;
      line.dataset.failed = "";
    } else {
      line.remove();
    }
  }
}

function scrollThread() {
  ui.thread.scrollTop = ui.thread.scrollHeight;
}

function showCaption(el, text) {
  el.hidden = false;
  el.textContent = text;
  delete el.dataset.final;
}

ui.composer.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = ui.text.value.trim();
  if (!text) return;
  if (!send({ type: "message", text })) return addNotice("Not connected yet: your message is still in the box.");
  ui.text.value = "";
  autosize();
});

ui.text.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.text.addEventListener("input", autosize);
function autosize() {
  ui.text.style.height = "auto";
  ui.text.style.height = `${Math.min(ui.text.scrollHeight, 144)}px`;
}

// -- the call: microphone in -------------------------------------------------------------------

ui.call.addEventListener("click", () => (state.call ? endCall(true) : startCall()));
ui.stop.addEventListener("click", () => send({ type: "reply.cancel" }));

async function startCall() {
  ui.call.disabled = true;
  try {
    ensurePlayer();
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
    let ctx;
    try {
      ctx = new AudioContext({ sampleRate: MIC_RATE });
    } catch {
      ctx = new AudioContext(); // the server resamples whatever rate we send
    }
    await ctx.audioWorklet.addModule("/static/mic-worklet.js");
    const source = ctx.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(ctx, "mic-capture", { processorOptions: { frame: Math.round(ctx.sampleRate * 0.032) } });
    node.port.onmessage = (e) => {
      send(e.data.pcm);
      if (state.botState !== "speaking") state.level = Math.min(1, e.data.level * 6);
    };
    source.connect(node); // not to the speakers: we do not want to hear ourselves
    state.call = { stream, ctx, node, source };
    send({ type: "call.start", sample_rate: ctx.sampleRate });
    ui.call.setAttribute("aria-pressed", "true");
    ui.callLabel.textContent = "Connecting…";
    setStatus("Connecting the call…", "connecting");
  } catch (err) {
    addNotice(err && err.name === "NotAllowedError"
      ? "The microphone is blocked. Allow it in the browser's site settings to talk."
      : `The microphone could not start (${err && err.message ? err.message : err}).`);
  } finally {
    ui.call.disabled = false;
  }
}

function endCall(tell) {
  const call = state.call;
  state.call = null;
  if (call) {
    call.node.port.onmessage = null;
    call.source.disconnect();
    call.stream.getTracks().forEach((t) => t.stop());
    call.ctx.close();
  }
  if (tell) send({ type: "call.end" });
  stopPlayback();
  ui.call.setAttribute("aria-pressed", "false");
  ui.callLabel.textContent = "Start a call";
  ui.stop.hidden = true;
  ui.you.hidden = ui.os1.hidden = true;
  setStatus("Ready", "idle");
}

// -- the call: os1's voice out -----------------------------------------------------------------

function ensurePlayer() {
  if (state.player) return state.player;
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  analyser.connect(ctx.destination);
  state.player = { ctx, analyser, head: 0, sources: new Set() };
  return state.player;
}

function onAudio(buffer) {
  const header = state.pendingAudio;
  state.pendingAudio = null;
  if (!header || !state.call) return;
  const player = ensurePlayer();
  const pcm = new Int16Array(buffer);
  const audio = player.ctx.createBuffer(1, pcm.length, header.sample_rate);
  const channel = audio.getChannelData(0);
  for (let i = 0; i < pcm.length; i++) channel[i] = pcm[i] / 32768;
  const source = player.ctx.createBufferSource();
  source.buffer = audio;
  source.connect(player.analyser);
  const at = Math.max(player.ctx.currentTime + 0.02, player.head);
  source.start(at);
  player.head = at + audio.duration;
  player.sources.add(source);
  source.onended = () => {
    if (player.sources.delete(source) && !source.stopped) state.played += audio.duration;
    document.body.dataset.played = state.played.toFixed(2);
  };
}

function stopPlayback() {
  const player = state.player;
  if (!player) return;
  for (const source of player.sources) {
    source.stopped = true;
    try { source.stop(); } catch { /* not started yet */ }
  }
  player.sources.clear();
  player.head = 0;
}

// The presence follows whoever is talking: the microphone's level, or os1's voice.
function animate() {
  const player = state.player;
  if (player && player.sources.size) {
    const data = new Uint8Array(player.analyser.fftSize);
    player.analyser.getByteTimeDomainData(data);
    let energy = 0;
    for (const v of data) energy += ((v - 128) / 128) ** 2;
    state.level = Math.min(1, Math.sqrt(energy / data.length) * 5);
  } else if (!state.call) {
    state.level *= 0.9;
  }
  document.documentElement.style.setProperty("--level", state.level.toFixed(3));
  state.level *= 0.92;
  requestAnimationFrame(animate);
}

// -- memory -------------------------------------------------------------------------------------

const memoryDialog = $("memory");
$("open-memory").addEventListener("click", () => {
  memoryDialog.showModal();
  loadMemory("");
});
$("memory-search").addEventListener("submit", (e) => {
  e.preventDefault();
  loadMemory($("memory-query").value.trim());
});

// The login's CSRF token (with accounts): changes must carry it; other sites cannot read it.
function csrf() {
  const found = document.cookie.split("; ").find((c) => c.startsWith("os1_csrf="));
  return found ? decodeURIComponent(found.slice(9)) : "";
}

async function api(path, options) {
  const response = await fetch(path, {
    ...options,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), ...(options && options.headers) },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
  return body;
}

async function loadMemory(query) {
  const target = $("memory-body");
  target.textContent = "Loading…";
  try {
    const data = await api(`/api/memory${query ? `?q=${encodeURIComponent(query)}` : ""}`);
    target.replaceChildren();
    const profile = Object.entries(data.profile || {});
    if (profile.length) {
      target.append(heading("About you"), list(profile.map(([k, v]) => ({ text: `${k.replace("_", " ")}: ${v}` }))));
    }
    if (query) {
      target.append(heading(`Found for “${query}”`), list(data.hits, { forget: true }));
    } else {
      target.append(heading("Facts"), list(data.facts, { forget: true, edit: true }));
      if (data.history && data.history.length) {
        target.append(heading("Used to be true"), list(data.history.map((f) => ({
          ...f, kind: f.superseded_at ? `until ${new Date(f.superseded_at * 1000).toLocaleDateString()}` : "",
        })), { forget: true }));
      }
      if (data.relationship && data.relationship.length) {
        target.append(heading("Between us"), list(data.relationship.map((n) => ({
          ...n, kind: n.kind.replace("_", " ") + (n.due_at ? ` · ${new Date(n.due_at * 1000).toLocaleDateString()}` : ""),
        })), { forget: true }));
      }
      if (data.self_description) target.append(heading(`${state.name} on ${state.name}`), paragraph(data.self_description));
      if (data.journal && data.journal.length) {
        target.append(heading(`${state.name}'s journal`), list(data.journal.slice().reverse().map((n) => ({
          ...n, kind: new Date(n.created_at * 1000).toLocaleDateString(),
        })), { forget: true }));
      }
      target.append(heading("Recent messages"), list((data.messages || []).slice().reverse()
        .map((m) => ({ ref: m.id, text: m.text, kind: m.role === "user" ? "you" : state.name })), { forget: true }));
    }
  } catch (err) {
    target.textContent = `Memory is not available: ${err.message}`;
  }
}

function paragraph(text) {
  const p = document.createElement("p");
  p.textContent = text;
  return p;
}

function heading(text) {
  const h = document.createElement("h3");
  h.textContent = text;
  return h;
}

function list(items, actions = {}) {
  const ul = document.createElement("ul");
  if (!items || !items.length) {
    const li = document.createElement("li");
    li.textContent = "Nothing yet.";
    ul.append(li);
  }
  for (const item of items || []) {
    const li = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = item.text;
    li.append(text);
    if (item.kind) {
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = item.kind;
      li.append(kind);
    }
    if (actions.edit && item.ref && item.ref.startsWith("f")) {
      li.append(button("Edit", `Edit: ${item.text}`, () => editFact(li, item)));
    }
    if (actions.forget && item.ref) {
      li.append(button("Forget", `Forget: ${item.text}`, async () => {
        try {
          await api(`/api/memory/${item.ref}`, { method: "DELETE" });
          li.remove();
        } catch (err) {
          alert(err.message);
        }
      }));
    }
    ul.append(li);
  }
  return ul;
}

function button(label, aria, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "ghost";
  b.textContent = label;
  b.setAttribute("aria-label", aria);
  b.addEventListener("click", onClick);
  return b;
}

function editFact(li, item) {
  const input = document.createElement("input");
  input.value = item.text;
  input.setAttribute("aria-label", "Fact");
  const save = button("Save", "Save the fact", async () => {
    try {
      await api(`/api/memory/${item.ref}`, { method: "PATCH", body: JSON.stringify({ text: input.value }) });
      loadMemory("");
    } catch (err) {
      alert(err.message);
    }
  });
  li.replaceChildren(input, save);
  input.focus();
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") save.click(); });
}

// -- the action log -------------------------------------------------------------------------------

const actionsDialog = $("actions");
$("open-actions").addEventListener("click", () => {
  actionsDialog.showModal();
  loadActions();
});

const STATUS_TEXT_ACTION = {
  pending: "waiting for you", done: "done", declined: "declined", expired: "expired", failed: "failed",
};

async function loadActions() {
  const target = $("actions-body");
  try {
    const data = await api("/api/actions");
    target.replaceChildren();
    if (!data.actions.length) {
      target.append(paragraph(`Nothing yet. ${state.name} asks you before doing anything for you, and it shows here.`));
      return;
    }
    const ul = document.createElement("ul");
    ul.className = "action-log";
    for (const a of data.actions) {
      const li = document.createElement("li");
      li.dataset.status = a.status;
      const head = document.createElement("p");
      head.className = "action-head";
      const status = document.createElement("span");
      status.className = "action-status";
      status.textContent = STATUS_TEXT_ACTION[a.status] || a.status;
      const when = document.createElement("span");
      when.className = "kind";
      when.textContent = new Date(a.created_at * 1000).toLocaleString([], {
        month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
      head.append(status, when);
      const text = document.createElement("p");
      text.className = "consent-action";
      text.textContent = a.action;
      li.append(head, text);
      for (const warning of a.warnings) {
        const w = document.createElement("p");
        w.className = "action-warning";
        w.textContent = warning;
        li.append(w);
      }
      if (a.outcome && a.status !== "declined") {
        const outcome = document.createElement("p");
        outcome.className = "action-outcome";
        outcome.textContent = a.outcome;
        li.append(outcome);
      }
      if (a.answerable) {
        const row = document.createElement("div");
        row.className = "consent-buttons";
        row.append(
          button("Approve", `Approve: ${a.action}`, () => answerFromLog(a.id, true, row)),
          button("Decline", `Decline: ${a.action}`, () => answerFromLog(a.id, false, row)));
        row.firstChild.classList.remove("ghost");
        li.append(row);
      }
      ul.append(li);
    }
    target.append(ul);
  } catch (err) {
    target.textContent = `The action log is not available: ${err.message}`;
  }
}

function answerFromLog(id, approve, row) {
  const card = ui.thread.querySelector(`.consent[data-proposal="${id}"] .consent-buttons button:${approve ? "first-child" : "last-child"}`);
  if (card && !card.disabled) return card.click(); // the card in the thread shows it too
  if (send({ type: "consent.answer", id, approve })) row.querySelectorAll("button").forEach((b) => (b.disabled = true));
}

// -- reminders ------------------------------------------------------------------------------------

const remindersDialog = $("reminders");
$("open-reminders").addEventListener("click", () => {
  remindersDialog.showModal();
  showNotificationState();
  loadReminders();
});
$("allow-notifications").addEventListener("click", async () => {
  // Asked only here, on the person's click: never when the page loads.
  try {
    await Notification.requestPermission();
  } catch {
    // An old browser without the promise form: nothing asked, nothing changed.
  }
  showNotificationState();
});

function showNotificationState() {
  const note = $("notify-note");
  const allow = $("allow-notifications");
  allow.hidden = true;
  if (!("Notification" in window) || !window.isSecureContext) {
    note.textContent = "This browser can't show notifications from this page; my messages still appear in the chat.";
  } else if (Notification.permission === "granted") {
    note.textContent = `Notifications are on: you get one when ${state.name} reaches out while this page is in the background.`;
  } else if (Notification.permission === "denied") {
    note.textContent = "Notifications are blocked for this page. Allow them in the browser's site settings to get one when I reach out.";
  } else {
    note.textContent = "Get a notification when I reach out while this page is in the background?";
    allow.hidden = false;
  }
}

const KIND_TEXT = { reminder: "reminder", check_in: "check-in" };
const DECISION_TEXT = { sent: "reached out", held: "held back", dropped: "let go" };

async function loadReminders() {
  const target = $("reminders-body");
  target.setAttribute("aria-busy", "true");
  try {
    const [data, log] = await Promise.all([api("/api/reminders"), api("/api/reach-outs?limit=10")]);
    showReachLog(log.log);
    // A refresh (a reach-out came) leaves an edit under way alone.
    if (target.querySelector(".reminder-edit")) return;
    target.replaceChildren();
    if (!data.reminders.length) {
      target.append(el("p", "inbox-empty", "No reminders. Ask me in the chat and they show here."));
      return;
    }
    const ul = el("ul", "reminder-list");
    ul.setAttribute("aria-label", "Reminders");
    for (const r of data.reminders) {
      const li = el("li", "reminder");
      li.dataset.id = r.id;
      showReminder(li, r);
      ul.append(li);
    }
    target.append(ul);
  } catch (err) {
    target.replaceChildren(el("p", "inbox-empty", `Reminders are not available: ${err.message}`));
  } finally {
    target.removeAttribute("aria-busy");
  }
}

function reminderWords(r) {
  return r.kind === "check_in" ? "Check in on how you are" : r.text;
}

function showReminder(li, r) {
  const main = el("div", "reminder-main");
  const what = el("p", "reminder-text", reminderWords(r));
  const when = el("p", "reminder-when", r.when);
  if (r.kind !== "reminder") when.prepend(chip(KIND_TEXT[r.kind] || r.kind), " ");
  main.append(what, when);
  if (r.held) main.append(el("p", "reminder-held", `Waiting: ${r.held}`));
  const row = el("div", "reminder-buttons");
  row.append(
    button("Edit", `Edit the ${KIND_TEXT[r.kind] || "reminder"}: ${reminderWords(r)}`, () => editReminder(li, r)),
    button("Cancel", `Cancel the ${KIND_TEXT[r.kind] || "reminder"}: ${reminderWords(r)}`, () => confirmCancel(li, r)));
  li.replaceChildren(main, row);
}

function editReminder(li, r) {
  const form = el("form", "reminder-edit");
  form.setAttribute("aria-label", `Edit: ${reminderWords(r)}`);
  const whatLabel = el("label", "", "What");
  const what = el("input");
  what.value = r.text;
  what.maxLength = 200;
  what.required = true;
  whatLabel.append(what);
  const whenLabel = el("label", "", "When");
  const when = el("input");
  when.value = r.when;
  when.spellcheck = false;
  when.placeholder = "tomorrow at 7pm, every Monday at 9";
  whenLabel.append(when);
  const error = el("p", "inbox-error");
  error.setAttribute("role", "alert");
  error.hidden = true;
  const save = el("button", "", "Save");
  save.type = "submit";
  const back = button("Never mind", "Never mind: keep it as it was", () => showReminder(li, r));
  const row = el("div", "reminder-buttons");
  row.append(back, save);
  // A check-in has no words of its own to change: only its time.
  form.append(...(r.kind === "check_in" ? [] : [whatLabel]), whenLabel, error, row);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    // Only what was changed is sent: the time as shown stays exactly as it is.
    const change = {};
    if (what.value.trim() !== r.text) change.text = what.value.trim();
    if (when.value.trim() !== r.when) change.when = when.value.trim();
    if (!Object.keys(change).length) return showReminder(li, r);
    save.disabled = true;
    try {
      const updated = await api(`/api/reminders/${encodeURIComponent(r.id)}`, {
        method: "PATCH", body: JSON.stringify(change) });
      showReminder(li, updated);
      li.querySelector("button").focus();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      save.disabled = false;
      (change.when !== undefined ? when : what).focus();
    }
  });
  form.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault(); // not the whole panel: just this edit
      showReminder(li, r);
    }
  });
  li.replaceChildren(form);
  (r.kind === "check_in" ? when : what).focus();
}

function confirmCancel(li, r) {
  const ask = el("p", "reminder-confirm", `Cancel “${reminderWords(r)}” (${r.when})?`);
  const row = el("div", "reminder-buttons");
  const yes = el("button", "", "Yes, cancel it");
  yes.type = "button";
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    try {
      await api(`/api/reminders/${encodeURIComponent(r.id)}`, { method: "DELETE" });
      const list = li.parentElement;
      li.remove();
      if (list && !list.children.length) loadReminders();
      else $("open-reminders").focus();
      loadReachLogOnly();
    } catch (err) {
      ask.textContent = `It could not be cancelled: ${err.message}`;
      yes.disabled = false;
    }
  });
  row.append(button("Keep it", `Keep: ${reminderWords(r)}`, () => showReminder(li, r)), yes);
  li.replaceChildren(ask, row);
  yes.focus();
}

async function loadReachLogOnly() {
  try {
    showReachLog((await api("/api/reach-outs?limit=10")).log);
  } catch {
    // The log is a convenience: the reminders are what matters here.
  }
}

function showReachLog(entries) {
  const list = $("reach-log-list");
  list.replaceChildren();
  $("reach-log").hidden = !entries.length;
  for (const e of entries) {
    const li = el("li");
    li.dataset.decision = e.decision;
    const head = el("p", "action-head");
    head.append(el("span", "action-status", DECISION_TEXT[e.decision] || e.decision), timeElement(e.at, "kind"));
    li.append(head, el("p", "reach-reason", e.reason));
    if (e.text) li.append(el("p", "action-outcome", `“${e.text}”${e.dismissed ? " (dismissed)" : ""}`));
    list.append(li);
  }
}

// -- the inbox ------------------------------------------------------------------------------------
// Mail is outside content: every word of it goes in with textContent, never as markup.

const inboxDialog = $("inbox");
const inbox = { syncing: false, opener: null, watching: null, changed: false };
$("open-inbox").addEventListener("click", () => {
  inboxDialog.showModal();
  showInboxList(false);
  loadInbox();
});
$("inbox-label").addEventListener("change", () => loadInbox(true));
$("inbox-sync").addEventListener("click", () => syncInbox());
$("inbox-back").addEventListener("click", async () => {
  if (inbox.changed) { // read/unread marks show in the list
    inbox.changed = false;
    await loadInbox(true);
  }
  showInboxList(true);
});

const LABEL_TEXT = { urgent: "urgent", "needs reply": "needs reply", FYI: "FYI", newsletter: "newsletter", spam: "spam" };

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

function chip(label) {
  const c = el("span", "chip", LABEL_TEXT[label] || label);
  c.dataset.label = label;
  return c;
}

// "5 min ago", "3 h ago", "yesterday", "4 days ago", then the date; and the full date and time.
function mailDate(seconds) {
  if (seconds === null || seconds === undefined) return { short: "undated", full: "No date", iso: "" };
  const d = new Date(seconds * 1000);
  const now = new Date();
  const ago = (now - d) / 1000;
  const midnight = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((midnight(now) - midnight(d)) / 86400000);
  let short;
  if (ago < -60) short = d.toLocaleDateString([], { month: "short", day: "numeric", year: "numeric" });
  else if (ago < 60) short = "just now";
  else if (ago < 3600) short = `${Math.floor(ago / 60)} min ago`;
  else if (days === 0) short = `${Math.floor(ago / 3600)} h ago`;
  else if (days === 1) short = "yesterday";
  else if (days < 7) short = `${days} days ago`;
  else if (d.getFullYear() === now.getFullYear()) short = d.toLocaleDateString([], { month: "short", day: "numeric" });
  else short = d.toLocaleDateString([], { month: "short", day: "numeric", year: "numeric" });
  return { short, full: d.toLocaleString([], { dateStyle: "full", timeStyle: "short" }), iso: d.toISOString() };
}

function timeElement(seconds, className) {
  const when = mailDate(seconds);
  const t = el("time", className, when.short);
  if (when.iso) t.dateTime = when.iso;
  t.title = when.full;
  return t;
}

function showInboxList(restoreFocus) {
  $("inbox-thread-view").hidden = true;
  $("inbox-list-view").hidden = false;
  if (restoreFocus && inbox.opener) {
    const again = $("inbox-body").querySelector(`.mail-item[data-id="${inbox.opener}"]`);
    if (again) again.focus();
  }
}

function showInboxError(text) {
  const error = $("inbox-error");
  error.textContent = text || "";
  error.hidden = !text;
}

function fetchingText(sync) {
  const p = sync && sync.progress;
  if (!p || !p.total) return "Fetching new mail…";
  const where = p.folder === "INBOX" ? "" : ` (${p.folder})`;
  return `Fetching new mail${where}: ${p.done.toLocaleString()} of ${p.total.toLocaleString()}…`;
}

function showSyncState(sync) {
  if (inbox.syncing || !sync) return;
  if (sync.running) {
    $("inbox-note").textContent = fetchingText(sync);
    watchSync();
  } else if (sync.at) $("inbox-note").textContent = `Last synced ${mailDate(sync.at).short}.`;
  else $("inbox-note").textContent = "";
  showInboxError(sync.error ? `The last sync failed: ${sync.error}` : "");
}

// While a sync runs (the background one, or a click on Sync) the note counts
// what has come in; once it ends, the list shows it.
function watchSync() {
  if (inbox.watching) return;
  inbox.watching = setInterval(async () => {
    let sync = null;
    try {
      sync = await api("/api/mail/sync");
    } catch {
      sync = null;
    }
    if (sync && sync.running && inboxDialog.open) {
      $("inbox-note").textContent = fetchingText(sync);
      return;
    }
    clearInterval(inbox.watching);
    inbox.watching = null;
    if (sync && !inbox.syncing && inboxDialog.open) loadInbox();
  }, 1000);
}

function noAccount() {
  const p = el("p", "inbox-empty");
  p.append("No email account is set up yet. Add one in a terminal with ", el("code", "", "os1 mail add"),
    ", then restart os1 serve.");
  return p;
}

async function loadInbox(afterSync = false) {
  const target = $("inbox-body");
  target.setAttribute("aria-busy", "true");
  try {
    const label = $("inbox-label").value;
    const data = await api(`/api/mail${label ? `?label=${encodeURIComponent(label)}` : ""}`);
    target.replaceChildren();
    $("inbox-tools").hidden = !data.accounts.length;
    if (!data.accounts.length) {
      $("inbox-note").textContent = "";
      showInboxError("");
      target.append(noAccount());
      return;
    }
    if (!afterSync) showSyncState(data.sync); // after a click on Sync, its own outcome stays
    if (!data.mails.length) {
      target.append(el("p", "inbox-empty", label ? `Nothing labelled “${LABEL_TEXT[label] || label}”.`
        : "Nothing in your inbox yet. Sync fetches new mail."));
      return;
    }
    const ul = el("ul", "mail-list");
    ul.setAttribute("aria-label", label ? `Emails labelled ${LABEL_TEXT[label] || label}` : "Emails");
    for (const m of data.mails) ul.append(mailItem(m));
    target.append(ul);
  } catch (err) {
    target.replaceChildren(el("p", "inbox-empty", `The inbox is not available: ${err.message}`));
  } finally {
    target.removeAttribute("aria-busy");
  }
}

function mailItem(m) {
  const li = document.createElement("li");
  if (m.label) li.dataset.label = m.label;
  const b = el("button", "mail-item");
  b.type = "button";
  b.dataset.id = m.id;
  if (!m.seen) b.dataset.unread = "";
  const who = m.sender_name || m.sender || "Unknown sender";
  const subject = m.subject || "(no subject)";
  const top = el("span", "mail-line");
  const sender = el("span", "mail-sender", who);
  sender.title = m.sender;
  top.append(sender, timeElement(m.date, "mail-date"));
  const middle = el("span", "mail-line");
  const subjectLine = el("span", "mail-subject", subject);
  middle.append(subjectLine);
  const extras = el("span", "mail-extras");
  if (m.thread_size > 1) {
    const count = el("span", "mail-count", String(m.thread_size));
    count.title = `${m.thread_size} messages in this conversation`;
    extras.append(count);
  }
  if (m.attachments.length) {
    const clip = el("span", "mail-clip", `${m.attachments.length} file${m.attachments.length > 1 ? "s" : ""}`);
    clip.title = m.attachments.join(", ");
    extras.append(clip);
  }
  if (m.label) extras.append(chip(m.label));
  middle.append(extras);
  b.append(top, middle);
  if (m.reason) {
    const reason = el("span", "mail-reason", m.reason);
    reason.id = `mail-reason-${m.id}`;
    b.append(reason);
    b.setAttribute("aria-describedby", reason.id);
  }
  const parts = [`${m.seen ? "" : "Unread. "}${who}: ${subject}`, mailDate(m.date).short];
  if (m.label) parts.push(LABEL_TEXT[m.label] || m.label);
  if (m.thread_size > 1) parts.push(`${m.thread_size} messages`);
  if (m.attachments.length) parts.push(`${m.attachments.length} attachment${m.attachments.length > 1 ? "s" : ""}`);
  b.setAttribute("aria-label", parts.join(", "));
  b.addEventListener("click", () => openMail(m.id));
  li.append(b);
  return li;
}

async function openMail(id) {
  inbox.opener = id;
  const target = $("inbox-thread");
  target.replaceChildren(el("p", "inbox-empty", "Opening…"));
  $("inbox-list-view").hidden = true;
  $("inbox-thread-view").hidden = false;
  try {
    const data = await api(`/api/mail/${encodeURIComponent(id)}`);
    const opened = data.thread.find((m) => m.id === data.id) || data.thread[data.thread.length - 1];
    const title = el("h3", "thread-subject", (opened && opened.subject) || "(no subject)");
    title.tabIndex = -1;
    const count = data.thread.length > 1 ? el("p", "thread-count", `${data.thread.length} messages, oldest first`) : null;
    const ol = el("ol", "mail-thread");
    for (const m of data.thread) ol.append(mailMessage(m, title.textContent, m.id === data.id));
    target.replaceChildren(...[title, count, opened ? mailActions(opened) : null, ol].filter(Boolean));
    const current = ol.querySelector("[data-current]");
    if (current && data.thread.length > 1) current.scrollIntoView({ block: "nearest" });
    title.focus();
  } catch (err) {
    target.replaceChildren(el("p", "inbox-empty", `This email could not be opened: ${err.message}`));
    $("inbox-back").focus();
  }
}

// The person's own buttons for the opened message: their click is the yes.
function mailActions(m) {
  const row = el("div", "mail-actions");
  const status = el("p", "inbox-note");
  status.setAttribute("role", "status");
  const act = async (how, button) => {
    for (const b of row.querySelectorAll("button")) b.disabled = true;
    status.textContent = "";
    try {
      const done = await api(`/api/mail/${encodeURIComponent(m.id)}/file`, {
        method: "POST", body: JSON.stringify({ how }),
      });
      if (how === "archive" || how === "delete") {
        showInboxList(false);
        $("inbox-note").textContent = `Moved “${m.subject || "(no subject)"}” to ${done.folder}.`;
        inbox.opener = null;
        await loadInbox(true);
        return;
      }
      m.seen = how === "mark read";
      inbox.changed = true;
      button.textContent = m.seen ? "Mark as unread" : "Mark as read";
      status.textContent = m.seen ? "Marked as read." : "Marked as unread.";
    } catch (err) {
      status.textContent = `That did not work: ${err.message}`;
    } finally {
      for (const b of row.querySelectorAll("button")) b.disabled = false;
    }
  };
  const seen = el("button", "ghost", m.seen ? "Mark as unread" : "Mark as read");
  seen.type = "button";
  seen.addEventListener("click", () => act(m.seen ? "mark unread" : "mark read", seen));
  const archive = el("button", "ghost", "Archive");
  archive.type = "button";
  archive.addEventListener("click", () => act("archive", archive));
  const trash = el("button", "ghost", "Delete");
  trash.type = "button";
  trash.addEventListener("click", () => act("delete", trash));
  row.append(seen, archive, trash, status);
  return row;
}

function mailMessage(m, threadSubject, current) {
  const li = document.createElement("li");
  const article = el("article", "mail-message");
  if (current) article.dataset.current = "";
  const when = mailDate(m.date);
  article.setAttribute("aria-label", `From ${m.sender_label}, ${when.full}`);
  const head = el("header", "mail-head");
  const from = el("p", "mail-from");
  from.append(el("span", "visually-hidden", "From "), m.sender_label || "Unknown sender");
  const date = timeElement(m.date, "mail-date");
  date.textContent = when.full;
  head.append(from, date);
  if (m.subject && m.subject !== threadSubject) head.append(el("p", "mail-subject-line", m.subject));
  if (m.label) {
    const verdict = el("p", "mail-verdict");
    verdict.append(chip(m.label));
    if (m.reason) verdict.append(" ", el("span", "mail-reason", m.reason));
    head.append(verdict);
  }
  const text = el("div", "mail-text", m.text || "(no text)"); // plain text, its line breaks kept
  article.append(head, text);
  if (m.attachments.length) {
    const files = el("ul", "mail-attachments");
    files.setAttribute("aria-label", "Attachments");
    for (const a of m.attachments) {
      files.append(el("li", "", `${a.name} (${a.content_type}, ${size(a.size)}) — not opened`));
    }
    article.append(files);
  }
  li.append(article);
  return li;
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function syncInbox() {
  const sync = $("inbox-sync");
  const note = $("inbox-note");
  inbox.syncing = true;
  sync.disabled = true;
  sync.setAttribute("aria-busy", "true");
  sync.textContent = "Syncing…";
  note.textContent = "Fetching new mail…";
  showInboxError("");
  watchSync();
  try {
    const result = await api("/api/mail/sync", { method: "POST" });
    const news = result.new === 0 ? "No new mail." : `${result.new} new message${result.new === 1 ? "" : "s"}.`;
    const skipped = result.skipped.length
      ? ` ${result.skipped.length} could not be read: ${result.skipped.join("; ")}.` : "";
    note.textContent = news + skipped;
  } catch (err) {
    note.textContent = "";
    showInboxError(`The sync failed: ${err.message}`);
  } finally {
    inbox.syncing = false;
    sync.disabled = false;
    sync.removeAttribute("aria-busy");
    sync.textContent = "Sync";
  }
  await loadInbox(true);
}

// -- settings -------------------------------------------------------------------------------------

const settingsDialog = $("settings");
const speed = $("set-speed");
speed.addEventListener("input", () => ($("speed-value").textContent = `${Number(speed.value).toFixed(2)}×`));
$("settings-cancel").addEventListener("click", () => settingsDialog.close());
$("open-settings").addEventListener("click", async () => {
  $("settings-note").textContent = "";
  fillTimezones();
  try {
    const s = await api("/api/settings");
    $("set-name").value = s.name;
    speed.value = s.speed;
    speed.dispatchEvent(new Event("input"));
    $("set-model").value = s.model;
    $("set-timezone").value = s.timezone;
    $("timezone-hint").textContent = "Reminders keep to your local time here. Leave it empty to follow "
      + `this computer's (${s.computer_timezone}).`;
    const [from, to] = s.quiet_hours ? s.quiet_hours.split("-") : ["", ""];
    $("set-quiet-from").value = from;
    $("set-quiet-to").value = to;
  } catch (err) {
    $("settings-note").textContent = err.message;
  }
  settingsDialog.showModal();
});
$("settings-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const note = $("settings-note");
  const from = $("set-quiet-from").value;
  const to = $("set-quiet-to").value;
  if (!from !== !to) {
    note.textContent = "Give both ends of the quiet hours, or clear both for none.";
    return (from ? $("set-quiet-to") : $("set-quiet-from")).focus();
  }
  try {
    const s = await api("/api/settings", {
      method: "PUT",
      body: JSON.stringify({
        name: $("set-name").value, speed: Number(speed.value), model: $("set-model").value,
        timezone: $("set-timezone").value, quiet_hours: from ? `${from}-${to}` : "",
      }),
    });
    setName(s.name);
    if (s.restart_needed) {
      note.textContent = "Saved. The new model is used after os1 serve restarts.";
    } else {
      settingsDialog.close();
    }
  } catch (err) {
    note.textContent = err.message;
  }
});

// The browser's own list of time zone names, to pick from.
function fillTimezones() {
  const list = $("timezones");
  if (list.children.length || !Intl.supportedValuesOf) return;
  for (const zone of Intl.supportedValuesOf("timeZone")) list.append(new Option(zone));
}

connect();
requestAnimationFrame(animate);
