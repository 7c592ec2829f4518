// The playground page: people on the left, the open chat on the right, kept current by the
// server's events. Everything the bot wrote is rendered from its text and entities (as Telegram
// clients do), with DOM nodes only: nothing the bot sends is ever parsed as HTML here.
"use strict";

const state = {
  texts: {}, roles: {}, offices: {}, languages: {}, people: [], current: null, chat: null,
  replyTo: null, hiddenKeyboardOf: null, followLatest: true,
};
const $ = (id) => document.getElementById(id);
// The server refuses a request that changes something without this token from the page itself,
// so another site open in the same browser cannot act as a person here.
const PAGE_TOKEN = document.querySelector('meta[name="playground-token"]').content;

async function api(path, options = {}) {
  const headers = {"X-Playground-Token": PAGE_TOKEN};
  if (options.body && !(options.body instanceof FormData)) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {headers, ...options});
  if (!response.ok) {
    const text = await response.text();
    // The playground was restarted since this page was loaded: a new token comes with the page.
    if (response.status === 403 && text.includes("not_from_the_page")) location.reload();
    const error = new Error(text);
    error.status = response.status;
    throw error;
  }
  return response.json();
}
const post = (path, body) => api(path, {method: "POST", body: body instanceof FormData ? body : JSON.stringify(body || {})});

// --- page language -------------------------------------------------------------------------------

async function loadTexts(language) {
  const answer = await api(`/api/texts?lang=${encodeURIComponent(language)}`);
  Object.assign(state, {texts: answer.texts, roles: answer.roles, offices: answer.offices, languages: answer.languages});
  document.documentElement.lang = answer.language;
  document.title = answer.texts.title;
  for (const node of document.querySelectorAll("[data-text]")) node.textContent = answer.texts[node.dataset.text];
  for (const node of document.querySelectorAll("[data-title]")) {
    node.title = answer.texts[node.dataset.title];
    node.setAttribute("aria-label", node.title);
  }
  for (const node of document.querySelectorAll("[data-placeholder]")) node.placeholder = answer.texts[node.dataset.placeholder];
  const select = $("page-language");
  select.replaceChildren(...Object.entries(answer.languages).map(([code, name]) => new Option(name, code, false, code === answer.language)));
  localStorage.setItem("playground-language", answer.language);
  renderPeople();
  renderChat();
}

// --- people --------------------------------------------------------------------------------------

async function loadPeople() {
  state.people = await api("/api/people");
  renderPeople();
}

function renderPeople() {
  const list = $("people");
  list.replaceChildren(...state.people.map((person) => {
    const item = document.createElement("li");
    item.className = "person" + (person.id === state.current ? " current" : "") + (person.blocked ? " blocked" : "");
    item.dataset.id = person.id;
    item.tabIndex = 0;
    const name = document.createElement("span");
    name.className = "person-name";
    name.textContent = person.name;
    const meta = document.createElement("span");
    meta.className = "person-meta";
    const role = state.roles[person.role] || person.role;
    const office = person.office && (state.offices[person.office] || person.office);
    meta.textContent = [office ? `${role}: ${office}` : role, person.language || "—", person.id].join(" · ");
    const last = document.createElement("span");
    last.className = "person-last";
    last.textContent = person.last;
    item.append(name, meta, last);
    if (person.unread && person.id !== state.current) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = person.unread;
      item.append(badge);
    }
    item.addEventListener("click", () => openChat(person.id));
    item.addEventListener("keydown", (event) => { if (event.key === "Enter") openChat(person.id); });
    return item;
  }));
}

// --- the open chat -------------------------------------------------------------------------------

async function openChat(id) {
  if (state.current !== id) {
    state.replyTo = null;
    state.hiddenKeyboardOf = null;
  }
  state.current = id;
  localStorage.setItem("playground-person", id);
  await refreshChat();
  $("text").focus();
}

async function refreshChat() {
  const id = state.current;
  if (id === null) return;
  let chat;
  try {
    chat = await api(`/api/chats/${id}`);
  } catch (error) {
    if (error.status !== 404) throw error;
    chat = null;
  }
  if (state.current !== id) return;  // another person was opened meanwhile: theirs is on its way
  state.chat = chat;
  if (!chat) state.current = null;
  renderChat();
  if (state.chat && state.chat.person.unread) {
    await post(`/api/chats/${state.current}/read`);
    await loadPeople();
  } else {
    renderPeople();
  }
}

function renderChat() {
  const chat = state.chat;
  $("no-chat").hidden = !!chat;
  $("chat-head").hidden = $("composer").hidden = !chat;
  if (!chat) { $("messages").replaceChildren(); $("refusals").replaceChildren(); return; }
  const person = chat.person;
  $("chat-name").textContent = person.name;
  $("chat-role").textContent = `${state.roles[person.role] || person.role} · ${person.language || "—"}`;
  $("chat-typing").hidden = !chat.typing;
  $("block").textContent = person.blocked ? state.texts.unblock : state.texts.block;
  $("blocked-note").hidden = !person.blocked;

  const box = $("messages");
  if (box.dataset.person !== String(person.id)) state.followLatest = true;
  box.replaceChildren(...(chat.messages.length ? chat.messages.map(renderMessage) : [emptyNote()]));
  box.dataset.person = person.id;
  followLatest();

  $("refusals").replaceChildren(...chat.refusals.map((refusal) => {
    const line = document.createElement("p");
    line.className = "refusal";
    const time = new Date(refusal.at * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit"});
    line.textContent = `${time} ${state.texts.refused}: ${refusal.method} — ${refusal.description}`;
    return line;
  }));

  $("replying").hidden = !state.replyTo;
  if (state.replyTo) $("replying-text").textContent = state.replyTo.preview;
  renderReplyKeyboard(chat);
}

// Like Telegram: the newest message stays in view unless the person scrolled up to read.
function followLatest() {
  if (state.followLatest) $("messages").scrollTop = $("messages").scrollHeight;
}

function emptyNote() {
  const note = document.createElement("p");
  note.className = "note";
  note.textContent = state.texts.empty_chat;
  return note;
}

function renderMessage(message) {
  const bubble = document.createElement("div");
  bubble.className = "message " + (message.from_bot ? "from-bot" : "from-person");
  bubble.dataset.messageId = message.message_id;
  if (message.reply_to_message) {
    const quote = document.createElement("div");
    quote.className = "quote";
    quote.textContent = preview(message.reply_to_message);
    bubble.append(quote);
  }
  if (message.photo) {
    const image = document.createElement("img");
    image.src = `/api/files/${encodeURIComponent(message.photo[message.photo.length - 1].file_id)}`;
    image.alt = "";
    image.addEventListener("load", followLatest);  // its height is known only now
    bubble.append(image);
  }
  if (message.document) {
    const link = document.createElement("a");
    link.className = "document";
    link.href = `/api/files/${encodeURIComponent(message.document.file_id)}`;
    link.textContent = `📎 ${message.document.file_name || "file"}`;
    bubble.append(link);
  }
  if (message.voice) {
    const link = document.createElement("a");
    link.className = "document";
    link.href = `/api/files/${encodeURIComponent(message.voice.file_id)}`;
    link.textContent = `🎤 ${message.voice.duration || 0}″`;
    bubble.append(link);
  }
  if (message.contact) bubble.append(textBlock(`📱 ${message.contact.first_name}: ${message.contact.phone_number}`));
  if (message.venue) bubble.append(textBlock(`📍 ${message.venue.title}\n${message.venue.address}`));
  if (message.location) bubble.append(textBlock(`📍 ${message.location.latitude.toFixed(5)}, ${message.location.longitude.toFixed(5)}`));
  if (message.sticker) bubble.append(textBlock(message.sticker.emoji || "🙂"));
  if (message.text !== undefined) bubble.append(formatted(message.text, message.entities || []));
  if (message.caption !== undefined) bubble.append(formatted(message.caption, message.caption_entities || []));

  const foot = document.createElement("div");
  foot.className = "message-foot";
  const time = new Date(message.date * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  foot.textContent = (message.edit_date ? `${state.texts.edited} ` : "") + time;
  const reply = document.createElement("button");
  reply.type = "button";
  reply.className = "reply-to";
  reply.textContent = "↩";
  reply.title = state.texts.reply;
  reply.setAttribute("aria-label", state.texts.reply);
  reply.addEventListener("click", () => {
    state.replyTo = {id: message.message_id, preview: preview(message)};
    renderChat();
    $("text").focus();
  });
  foot.append(reply);
  bubble.append(foot);

  const keyboard = message.reply_markup && message.reply_markup.inline_keyboard;
  if (keyboard) {
    const rows = document.createElement("div");
    rows.className = "inline-keyboard";
    for (const row of keyboard) {
      const line = document.createElement("div");
      line.className = "inline-row";
      for (const button of row) line.append(inlineButton(message, button));
      rows.append(line);
    }
    bubble.append(rows);
  }
  return bubble;
}

function inlineButton(message, button) {
  if (button.url) {
    const link = document.createElement("a");
    link.className = "inline-button";
    if (SAFE_LINK.test(button.url)) link.href = button.url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.textContent = `${button.text} ↗`;
    return link;
  }
  const element = document.createElement("button");
  element.type = "button";
  element.className = "inline-button";
  element.textContent = button.text;
  element.addEventListener("click", async () => {
    element.disabled = true;  // one press, one callback query, as in Telegram
    element.classList.add("pressed");
    try {
      await post(`/api/chats/${state.current}/press`, {message_id: message.message_id, data: button.callback_data});
    } catch (error) {
      await refreshChat();  // the page was behind: the button is gone
    }
  });
  return element;
}

function renderReplyKeyboard(chat) {
  const box = $("reply-keyboard");
  const keyboard = chat.reply_keyboard;
  const source = [...chat.messages].reverse().find((message) => message.reply_keyboard);
  const hidden = source && state.hiddenKeyboardOf === source.message_id;
  $("text").placeholder = (keyboard && keyboard.input_field_placeholder) || state.texts.message_placeholder;
  if (!keyboard || hidden) { box.replaceChildren(); return; }
  box.replaceChildren(...keyboard.keyboard.map((row) => {
    const line = document.createElement("div");
    line.className = "reply-row";
    for (const button of row) {
      const text = typeof button === "string" ? button : button.text;
      const element = document.createElement("button");
      element.type = "button";
      element.className = "reply-button";
      element.textContent = text;
      element.addEventListener("click", async () => {
        if (keyboard.one_time_keyboard && source) state.hiddenKeyboardOf = source.message_id;
        if (button.request_contact) await act(`/api/chats/${state.current}/contact`);
        else if (button.request_location) await act(`/api/chats/${state.current}/location`);
        else await sendText(text);
      });
      line.append(element);
    }
    return line;
  }));
}

// Telegram's entities over the message text; offsets are in UTF-16 code units, as JS strings are.
// Entities nest (the bot's HTML does), so they become a tree: each element holds the text and the
// entities inside it. One that crosses its parent's end is cut there, as a client would draw it.
function formatted(text, entities) {
  const block = document.createElement("div");
  block.className = "text";
  const sorted = entities
    .filter((entity) => entity.length > 0 && entity.offset >= 0 && entity.offset < text.length)
    .map((entity) => ({...entity, end: Math.min(entity.offset + entity.length, text.length)}))
    .sort((a, b) => a.offset - b.offset || b.end - a.end);  // outer before inner
  appendRange(block, text, 0, text.length, sorted);
  return block;
}

function appendRange(parent, text, start, end, entities) {
  let position = start;
  let index = 0;
  while (index < entities.length) {
    const entity = {...entities[index], end: Math.min(entities[index].end, end)};
    let next = index + 1;
    while (next < entities.length && entities[next].offset < entity.end) next++;
    if (entity.offset > position) parent.append(text.slice(position, entity.offset));
    const element = wrap(entity, text);
    appendRange(element, text, Math.max(entity.offset, position), entity.end, entities.slice(index + 1, next));
    parent.append(element);
    position = Math.max(position, entity.end);
    index = next;
  }
  if (position < end) parent.append(text.slice(position, end));
}

const TAGS = {bold: "strong", italic: "em", underline: "u", strikethrough: "s", code: "code", pre: "pre",
  spoiler: "span", blockquote: "blockquote", expandable_blockquote: "blockquote"};

const SAFE_LINK = /^(https?:|tg:|mailto:)/i;

function wrap(entity, text) {
  let element;
  if (entity.type === "text_link" || entity.type === "url") {
    element = document.createElement("a");
    const href = entity.type === "url" ? text.slice(entity.offset, entity.end) : entity.url;
    if (SAFE_LINK.test(href)) element.href = href;
    element.target = "_blank";
    element.rel = "noopener noreferrer";
  } else if (TAGS[entity.type]) {
    element = document.createElement(TAGS[entity.type]);
    if (entity.type === "spoiler") element.className = "spoiler";
  } else {
    element = document.createElement("span");
    element.className = `entity-${entity.type}`;
  }
  return element;
}

function textBlock(content) {
  const block = document.createElement("div");
  block.className = "text";
  block.textContent = content;
  return block;
}

function preview(message) {
  const text = message.text || message.caption || (message.photo ? "🖼" : message.document ? "📎" : "…");
  return text.length > 80 ? text.slice(0, 80) + "…" : text;
}

// --- what the person does -------------------------------------------------------------------------

// What a person does: shown at once (not only when the bot reacts); a failure is said, not lost.
async function act(path, body) {
  try {
    await post(path, body);
    return true;
  } catch (error) {
    showAnswer({text: state.texts.action_failed});
    return false;
  } finally {
    await refreshChat();
  }
}

async function sendText(text) {
  const body = {text};
  if (state.replyTo) body.reply_to = state.replyTo.id;
  const sent = await act(`/api/chats/${state.current}/text`, body);
  if (sent) state.replyTo = null;
  renderChat();
  return sent;
}

function showAnswer(event) {
  if (!event.text) return;
  if (event.show_alert) {
    $("alert-text").textContent = event.text;
    $("alert").showModal();
    return;
  }
  const toast = $("toast");
  toast.textContent = event.text;
  toast.hidden = false;
  clearTimeout(showAnswer.timer);
  showAnswer.timer = setTimeout(() => { toast.hidden = true; }, 3500);
}

function wireComposer() {
  $("send").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("text");
    if (!input.value.trim()) return;
    if (await sendText(input.value)) input.value = "";
  });
  $("replying-cancel").addEventListener("click", () => { state.replyTo = null; renderChat(); });
  $("attach").addEventListener("click", () => $("file").click());
  $("file").addEventListener("change", async () => {
    const file = $("file").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file, file.name);
    if ($("text").value.trim()) form.append("caption", $("text").value);
    $("file").value = "";
    if (await act(`/api/chats/${state.current}/file`, form)) $("text").value = "";
  });
  $("contact").addEventListener("click", () => act(`/api/chats/${state.current}/contact`));
  $("location").addEventListener("click", () => act(`/api/chats/${state.current}/location`));
  $("block").addEventListener("click", () => act(`/api/chats/${state.current}/block`, {blocked: !state.chat.person.blocked}));
}

function wirePeopleForm() {
  const form = $("add-person");
  $("add-person-open").addEventListener("click", () => { form.hidden = false; form.elements.name.focus(); });
  $("add-person-cancel").addEventListener("click", () => { form.hidden = true; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    try {
      const person = await post("/api/people", data);
      form.reset();
      form.hidden = true;
      form.querySelector(".form-error").hidden = true;
      await loadPeople();
      await openChat(person.id);
    } catch (error) {
      form.querySelector(".form-error").hidden = false;
    }
  });
}

// --- live changes ---------------------------------------------------------------------------------

let refreshQueued = false;
function queueRefresh() {
  if (refreshQueued) return;
  refreshQueued = true;
  setTimeout(async () => {
    refreshQueued = false;
    await loadPeople();
    await refreshChat();
  }, 30);
}

function listen() {
  const source = new EventSource("/api/events");
  source.addEventListener("hello", () => {  // (re)connected: catch up on whatever was missed
    $("disconnected").hidden = true;
    queueRefresh();
  });
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    // The answer can arrive before the press's own request returns: matched by chat, not by query.
    if (event.kind === "callback_answer" && event.chat_id === state.current) showAnswer(event);
    if (event.kind === "typing" && event.chat_id === state.current) {
      $("chat-typing").hidden = false;
      setTimeout(queueRefresh, 5100);
    }
    queueRefresh();
  };
  source.onerror = () => { $("disconnected").hidden = false; };  // EventSource reconnects by itself
}

async function main() {
  const box = $("messages");
  box.addEventListener("scroll", () => {
    state.followLatest = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  });
  wireComposer();
  wirePeopleForm();
  $("page-language").addEventListener("change", (event) => loadTexts(event.target.value));
  const language = localStorage.getItem("playground-language") || (navigator.language || "kk").slice(0, 2);
  await loadTexts(language);
  await loadPeople();
  const remembered = Number(localStorage.getItem("playground-person"));
  if (state.people.some((person) => person.id === remembered)) await openChat(remembered);
  listen();
}

main();
