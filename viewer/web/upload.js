// Body-cam upload for inspectors: choose one of their batches, drop files, and each file goes up over tus 1.0
// (/api/evidence/uploads, docs/evidence.md): its SHA-256 is computed here first (sha256.js: the server
// refuses a file that arrives different, and recognizes one the batch already has), then it is sent in
// chunks (PATCH with Upload-Offset; an Upload-Checksum per chunk where the browser offers crypto.subtle).
// A broken connection is resumed: wait (1, 2, 4, 8, 15 s), ask the server how far it got (HEAD), continue
// from there. The upload's address is kept in localStorage, so a reloaded page resumes too. The request
// that completes a file answers after the server inspected it: the item (duration, recorded time...) or the
// reason it was refused.
import { $, api, apiMessage, boot, el, fmtBytes, fmtDuration, fmtTime, goToLogin, onLanguageChange, t } from "./app.js";
import { sha256File } from "./sha256.js";

const TUS = "1.0.0";
const ENDPOINT = "/api/evidence/uploads";
const BACKOFF_S = [1, 2, 4, 8, 15];
const MAX_TRIES = 40;
const params = new URLSearchParams(location.search);
const CHUNK = Math.max(64, Number(params.get("chunk_kb")) || 8192) * 1024;
const me = await boot({ need: ["evidence:upload", "batches:read"] });
if (me) await main();

function b64(text) {
  const bytes = new TextEncoder().encode(text);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

async function chunkChecksum(buffer) {
  if (!(globalThis.crypto && crypto.subtle)) return null; // plain http: the whole-file SHA-256 still guards it
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  let s = "";
  for (const b of digest) s += String.fromCharCode(b);
  return `sha256 ${btoa(s)}`;
}

/** One request with the tus headers; resolves {status, headers, body} (status 0: network error). */
function tusRequest(method, url, { headers = {}, body = null, onProgress = null } = {}) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("Tus-Resumable", TUS);
    xhr.setRequestHeader("X-Requested-With", "vms");
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    if (onProgress) xhr.upload.onprogress = (ev) => onProgress(ev.loaded);
    xhr.onload = () => {
      let parsed = null;
      try { parsed = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { parsed = null; }
      resolve({ status: xhr.status, header: (n) => xhr.getResponseHeader(n), body: parsed });
    };
    xhr.onerror = xhr.ontimeout = xhr.onabort = () => resolve({ status: 0, header: () => null, body: null });
    xhr.send(body);
  });
}

class Upload {
  constructor(file, batch, onChange) {
    Object.assign(this, { file, batch, onChange });
    this.state = "queued"; // queued hashing uploading resuming checking done duplicate refused failed
    this.progress = 0;
    this.sha256 = null;
    this.url = null;
    this.offset = 0;
    this.resumes = 0;
    this.message = "";
    this.item = null;
    this.retryAt = 0;
  }

  get key() { return `vms-tus:${this.batch}:${this.sha256}:${this.file.size}`; }

  set(state, fields = {}) { Object.assign(this, { state, ...fields }); this.onChange(this); }

  async run() {
    try {
      if (!this.sha256) {
        this.set("hashing", { progress: 0 });
        this.sha256 = await sha256File(this.file, (done, total) => this.set("hashing", { progress: total ? done / total : 1 }));
      }
      this.url = localStorage.getItem(this.key);
      await this._send();
    } catch (err) {
      this.set("failed", { message: String(err && err.message ? err.message : err) });
    }
  }

  async _create() {
    const res = await tusRequest("POST", ENDPOINT, { headers: {
      "Upload-Length": String(this.file.size),
      "Upload-Metadata": `filename ${b64(this.file.name)},batch ${b64(this.batch)},sha256 ${b64(this.sha256)}`,
    } });
    if (res.status === 201) {
      this.url = new URL(res.header("Location"), location.href).pathname;
      this.offset = Number(res.header("Upload-Offset") || 0);
      localStorage.setItem(this.key, this.url);
      return this._finishedBy(res) ? "done" : "ok";
    }
    return this._refusal(res);
  }

  /** The item an answer names (the file is complete and stored, or was already there), if any. */
  _finishedBy(res) {
    const id = res.header("Evidence-Item-Id");
    if (!id) return false;
    localStorage.removeItem(this.key);
    this.itemId = Number(id);
    this.duplicate = res.header("Evidence-Duplicate") === "true";
    return true;
  }

  _refusal(res) {
    if (res.status === 0 || res.status >= 500) return "retry";
    if (res.status === 401) { goToLogin(); return "stop"; }
    localStorage.removeItem(this.key);
    this.set("refused", { message: apiMessage(res) });
    return "stop";
  }

  async _send() {
    let tries = 0;
    for (;;) {
      let outcome;
      if (!this.url) outcome = await this._create();
      else outcome = await this._resumeOffset();
      if (outcome === "ok") outcome = await this._patchAll();
      if (outcome === "done") return this._done();
      if (outcome === "stop") return;
      if (outcome === "again") continue; // e.g. the upload expired: start it anew now
      // "retry": the connection broke or the server is not answering; wait, then ask how far it got
      tries++;
      if (tries > MAX_TRIES) { this.set("failed", { message: t("failed") }); return; }
      const delay = BACKOFF_S[Math.min(tries - 1, BACKOFF_S.length - 1)];
      this.resumes++;
      this.retryAt = Date.now() + delay * 1000;
      this.set("resuming");
      await new Promise((r) => setTimeout(r, delay * 1000));
    }
  }

  async _resumeOffset() {
    const res = await tusRequest("HEAD", this.url);
    if (res.status === 200) {
      if (this._finishedBy(res)) return "done";
      this.offset = Number(res.header("Upload-Offset") || 0);
      return "ok";
    }
    if (res.status === 404 || res.status === 410) { localStorage.removeItem(this.key); this.url = null; return "again"; }
    return this._refusal(res);
  }

  async _patchAll() {
    const size = this.file.size;
    while (this.offset < size) {
      const end = Math.min(this.offset + CHUNK, size);
      const buffer = await this.file.slice(this.offset, end).arrayBuffer();
      const headers = { "Upload-Offset": String(this.offset), "Content-Type": "application/offset+octet-stream" };
      const checksum = await chunkChecksum(buffer);
      if (checksum) headers["Upload-Checksum"] = checksum;
      const base = this.offset;
      this.set("uploading", { progress: base / size });
      const res = await tusRequest("PATCH", this.url, { headers, body: buffer, onProgress: (n) => {
        const p = (base + n) / size;
        if (p >= 1) this.set("checking", { progress: 1 });
        else this.set("uploading", { progress: p });
      } });
      if (res.status === 204) {
        this.offset = Number(res.header("Upload-Offset") || end);
        if (this._finishedBy(res)) return "done";
        continue;
      }
      if (res.status === 409 || res.status === 460) return "retry"; // offset or chunk damaged: ask, resend
      if (res.status === 404 || res.status === 410) { localStorage.removeItem(this.key); this.url = null; return "again"; }
      return this._refusal(res);
    }
    // every byte is there but no item was named (e.g. the answer was lost): HEAD says
    return this._resumeOffset().then((o) => (o === "ok" ? "retry" : o));
  }

  async _done() {
    const res = await api(`/api/evidence?batch=${encodeURIComponent(this.batch)}&limit=500`);
    this.item = res.status === 200 ? res.body.items.find((x) => x.id === this.itemId) || null : null;
    this.set(this.duplicate ? "duplicate" : "done", { progress: 1 });
  }
}

async function main() {
  const batchSelect = $("#batch");
  const queue = [];
  let running = false;

  const res = await api("/api/batches?limit=500");
  const batches = res.status === 200 ? res.body.items.filter((b) => b.status !== "cancelled") : [];
  $("#no-batches").hidden = batches.length > 0;
  batchSelect.replaceChildren(...batches.map((b) => el("option", { value: b.number },
    `${b.number}${b.goods ? ` · ${b.goods}` : ""} · ${t(`bs_${b.status}`)}`)));
  const wanted = params.get("batch");
  if (wanted && batches.some((b) => b.number === wanted)) batchSelect.value = wanted;
  batchSelect.addEventListener("change", () => {
    history.replaceState(null, "", `?batch=${encodeURIComponent(batchSelect.value)}`);
    loadExisting();
  });

  function add(files) {
    $("#upload-error").textContent = "";
    if (!batchSelect.value) { $("#upload-error").textContent = t("pick_batch_first"); return; }
    for (const file of files) {
      const up = new Upload(file, batchSelect.value, render);
      up.row = el("li", { class: "upload" });
      queue.push(up);
      $("#queue").append(up.row);
      render(up);
    }
    pump();
  }

  async function pump() {
    if (running) return;
    running = true;
    for (let up = queue.find((u) => u.state === "queued"); up; up = queue.find((u) => u.state === "queued")) {
      await up.run();
      if (up.state === "done" || up.state === "duplicate") loadExisting();
    }
    running = false;
  }

  function render(up) {
    const pct = Math.floor(up.progress * 100);
    const status = {
      queued: "…",
      hashing: t("hashing", { p: pct }),
      uploading: t("uploading", { p: pct }),
      checking: t("checking"),
      resuming: t("resuming", { s: Math.max(0, Math.ceil((up.retryAt - Date.now()) / 1000)) }),
      done: t("uploaded_ok"),
      duplicate: t("duplicate"),
      refused: `${t("refused")}: ${up.message}`,
      failed: `${t("failed")}: ${up.message}`,
    }[up.state];
    const facts = [];
    const it = up.item;
    if (it) {
      const m = it.media || {};
      facts.push([t("recorded_time"), it.recorded_start ? `${fmtTime(it.recorded_start)}${it.recorded_end && it.kind === "video" ? ` – ${fmtTime(it.recorded_end, "time")}` : ""}` : "—"]);
      if (it.kind === "video") facts.push([t("duration"), fmtDuration(m.duration_s)]);
      facts.push([t("time_source"), t(`ts_${it.time_source}`)]);
      if (m.width) facts.push([t("resolution"), `${m.width}×${m.height}`]);
      if (m.video_codec) facts.push([t("codec"), m.video_codec]);
      if (it.device_serial) facts.push([t("device"), it.device_serial]);
      facts.push(["#", String(it.id)]);
    }
    up.row.dataset.state = up.state;
    up.row.dataset.file = up.file.name;
    up.row.dataset.resumes = String(up.resumes);
    up.row.replaceChildren(
      el("div", { class: "upload-head" }, el("strong", { class: "upload-name" }, up.file.name),
        el("span", { class: "note" }, `${fmtBytes(up.file.size)} → ${up.batch}`), el("span", { class: "spacer" }),
        el("span", { class: `upload-status us-${up.state}`, role: "status" }, status),
        up.resumes && !["refused", "failed"].includes(up.state) ? el("span", { class: "note upload-resumes" }, t("resumed_n", { n: up.resumes })) : null,
        up.state === "failed" ? el("button", { type: "button", onclick: () => { up.set("queued"); pump(); } }, t("retry")) : null),
      ["hashing", "uploading", "checking", "resuming"].includes(up.state)
        ? el("progress", { max: "100", value: String(up.state === "hashing" ? pct : Math.floor(up.progress * 100)) }) : null,
      facts.length ? el("dl", { class: "facts upload-facts" }, ...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])) : null);
  }
  setInterval(() => { for (const up of queue) if (up.state === "resuming") render(up); }, 1000);

  async function loadExisting() {
    const number = batchSelect.value;
    if (!number) { $("#existing").replaceChildren(); return; }
    const r = await api(`/api/evidence?batch=${encodeURIComponent(number)}&limit=500`);
    const items = r.status === 200 ? r.body.items : [];
    $("#existing").replaceChildren(...(items.length ? items.map((it) => el("tr", { dataset: { itemId: String(it.id), file: it.original_filename } },
      el("td", {}, it.original_filename), el("td", {}, t(`kind_${it.kind}`)),
      el("td", {}, it.recorded_start ? fmtTime(it.recorded_start) : "—"),
      el("td", {}, it.kind === "video" ? fmtDuration(it.media && it.media.duration_s) : "—"),
      el("td", {}, it.uploaded_by), el("td", {}, fmtTime(it.uploaded_at))))
      : [el("tr", {}, el("td", { colspan: "6", class: "note" }, t("no_items")))]));
  }

  const drop = $("#drop");
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => { ev.preventDefault(); drop.classList.remove("over"); add([...ev.dataTransfer.files]); });
  $("#files").addEventListener("change", (ev) => { add([...ev.target.files]); ev.target.value = ""; });
  onLanguageChange(() => { for (const up of queue) render(up); loadExisting(); });
  await loadExisting();
  document.body.dataset.ready = "true";
}
