// The console's only script: check, in the browser, that a log entry is in the signed tree
// (RFC 6962 / RFC 9162 inclusion proof, SHA-256 via WebCrypto) and that the tree head is signed
// by the gateway's Ed25519 key — so a supervisor need not take the server's word for either.
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

document.addEventListener("DOMContentLoaded", () => {
  const inclusion = document.getElementById("verify-inclusion");
  if (inclusion) inclusion.addEventListener("click", () => verifyInclusion(document.getElementById("inclusion"), document.getElementById("inclusion-result")));
  const head = document.getElementById("verify-head");
  if (head) head.addEventListener("click", () => verifyHead(document.getElementById("head"), document.getElementById("head-result")));
});
