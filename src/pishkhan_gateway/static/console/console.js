// The console's only script: check, in the browser, that a log entry is in the signed tree
// (RFC 6962 / RFC 9162 inclusion proof, SHA-256 via WebCrypto), that the tree head is signed
// by the gateway's Ed25519 key, and that the latest C2SP checkpoint carries the log's note
// signature and the cosignatures of a quorum of witnesses (c2sp.org/signed-note,
// c2sp.org/tlog-cosignature) — so a supervisor need not take the server's word for any of it.
"use strict";

const fromB64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const fromHex = (hex) => Uint8Array.from(hex.match(/../g) || [], (b) => parseInt(b, 16));
const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

async function sha256(...parts) {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { joined.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
}
const leafHash = (entry) => sha256(Uint8Array.of(0), entry);
const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

// RFC 9162 §2.1.3.2: the root an inclusion proof leads to (throws if the proof is malformed).
async function rootFromInclusion(index, size, leaf, path) {
  if (index >= size) throw new Error("index outside the tree");
  let fn = index, sn = size - 1, r = leaf;
  for (const p of path) {
    if (sn === 0) throw new Error("proof too long");
    if ((fn & 1) === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1) === 0) { while ((fn & 1) === 0 && fn !== 0) { fn >>= 1; sn >>= 1; } }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1; sn >>= 1;
  }
  if (sn !== 0) throw new Error("proof too short");
  return r;
}

// RFC 8785 for the head's flat object of strings and integers: sorted keys, no spaces.
function canonical(obj) {
  return "{" + Object.keys(obj).sort().map((k) => JSON.stringify(k) + ":" + JSON.stringify(obj[k])).join(",") + "}";
}

async function headSigned(head, pem) {
  const der = fromB64(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""));
  const key = await crypto.subtle.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]);
  const { signature, ...body } = head;
  return crypto.subtle.verify("Ed25519", key, fromB64(signature), new TextEncoder().encode(canonical(body)));
}

function say(element, ok, text) {
  element.textContent = text;
  element.className = ok ? "ok" : "bad";
  element.dataset.verdict = ok ? "ok" : "bad";
}

async function verifyInclusion(section, output) {
  const d = section.dataset;
  const head = JSON.parse(d.head);
  try {
    const leaf = await leafHash(fromB64(d.entry));
    const path = d.path ? d.path.split(",").map(fromHex) : [];
    const root = await rootFromInclusion(Number(d.index), Number(d.size), leaf, path);
    if (toHex(root) !== head.root_hash) return say(output, false, "ریشه محاسبه‌شده با سر درخت امضاشده یکی نیست: رکورد یا اثبات دستکاری شده است.");
    if (!(await headSigned(head, d.key))) return say(output, false, "امضای سر درخت معتبر نیست.");
    say(output, true, "تأیید شد: این رکورد در درخت امضاشده است و امضای درگاه معتبر است.");
  } catch (error) {
    say(output, false, "اثبات نامعتبر است: " + error.message);
  }
}

async function verifyHead(section, output) {
  try {
    const ok = await headSigned(JSON.parse(section.dataset.head), section.dataset.key);
    say(output, ok, ok ? "امضای سر درخت با کلید عمومی درگاه معتبر است." : "امضای سر درخت معتبر نیست.");
  } catch (error) {
    say(output, false, "بررسی ممکن نشد: " + error.message);
  }
}

// A C2SP verifier key: "<name>+<key ID hex>+base64(type ‖ Ed25519 public key)".
async function verifierKey(vkey) {
  const first = vkey.indexOf("+"), second = vkey.indexOf("+", first + 1);
  const raw = fromB64(vkey.slice(second + 1));
  const key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
  return { name: vkey.slice(0, first), id: vkey.slice(first + 1, second).toLowerCase(), kind: raw[0], key };
}

// A signed note: its text (with the final newline) and its signature lines.
function noteParts(note) {
  const cut = note.lastIndexOf("\n\n");
  const lines = note.slice(cut + 2).split("\n").filter((line) => line.length > 0);
  return {
    text: note.slice(0, cut + 1),
    signatures: lines.map((line) => {
      const [, name, data] = line.split(" ");
      const raw = fromB64(data);
      return { name, id: toHex(raw.slice(0, 4)), body: raw.slice(4) };
    }),
  };
}

async function checkpointWitnessed(section, output) {
  const d = section.dataset;
  const encode = (text) => new TextEncoder().encode(text);
  try {
    const { text, signatures } = noteParts(d.note);
    const log = await verifierKey(d.logKey);
    const mine = signatures.find((s) => s.name === log.name && s.id === log.id);
    if (!mine || !(await crypto.subtle.verify("Ed25519", log.key, mine.body, encode(text)))) {
      return say(output, false, "امضای درگاه بر نقطه وارسی معتبر نیست.");
    }
    let cosigned = 0;
    for (const vkey of JSON.parse(d.witnesses)) {
      const witness = await verifierKey(vkey);
      const found = signatures.find((s) => s.name === witness.name && s.id === witness.id);
      if (!found || found.body.length !== 72) continue;
      const time = new DataView(found.body.buffer, found.body.byteOffset, 8).getBigUint64(0);
      const message = encode("cosignature/v1\ntime " + time.toString() + "\n" + text);
      if (await crypto.subtle.verify("Ed25519", witness.key, found.body.slice(8), message)) cosigned += 1;
      else return say(output, false, "هم‌امضای شاهد " + witness.name + " معتبر نیست.");
    }
    const quorum = Number(d.quorum);
    if (cosigned < quorum) {
      return say(output, false, "نقطه وارسی فقط " + cosigned + " هم‌امضای معتبر دارد؛ حد نصاب " + quorum + " است: آن را نپذیرید.");
    }
    say(output, true, "تأیید شد: نقطه وارسی را درگاه امضا کرده و " + cosigned + " شاهد (حد نصاب " + quorum + ") هم‌امضا کرده‌اند.");
  } catch (error) {
    say(output, false, "بررسی ممکن نشد: " + error.message);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const inclusion = document.getElementById("verify-inclusion");
  if (inclusion) inclusion.addEventListener("click", () => verifyInclusion(document.getElementById("inclusion"), document.getElementById("inclusion-result")));
  const head = document.getElementById("verify-head");
  if (head) head.addEventListener("click", () => verifyHead(document.getElementById("head"), document.getElementById("head-result")));
  const checkpoint = document.getElementById("verify-checkpoint");
  if (checkpoint) checkpoint.addEventListener("click", () => checkpointWitnessed(document.getElementById("checkpoint"), document.getElementById("checkpoint-result")));
});
