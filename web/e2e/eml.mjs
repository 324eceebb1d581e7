// Reads the sign-in link out of an .eml file from the server's outbox:
// MIME multipart, quoted-printable (which wraps long lines with soft breaks
// and encodes "=" as =3D) or base64 parts.

export function decodeQuotedPrintable(text) {
  const joined = text.replace(/=\r?\n/g, "");
  const bytes = [];
  for (let i = 0; i < joined.length; i++) {
    const c = joined[i];
    if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(joined.slice(i + 1, i + 3))) {
      bytes.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(c, "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

function splitHeaders(part) {
  const normalized = part.replace(/\r\n/g, "\n");
  const end = normalized.indexOf("\n\n");
  const head = end === -1 ? normalized : normalized.slice(0, end);
  const body = end === -1 ? "" : normalized.slice(end + 2);
  const headers = {};
  for (const line of head.replace(/\n[ \t]+/g, " ").split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function decodePart(headers, body) {
  const encoding = (headers["content-transfer-encoding"] ?? "").toLowerCase();
  if (encoding === "quoted-printable") return decodeQuotedPrintable(body);
  if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  return body;
}

/** Every text part of a message, decoded: [{type, text}]. */
export function textParts(eml) {
  const { headers, body } = splitHeaders(eml);
  const type = headers["content-type"] ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!boundary) return [{ type: type.split(";")[0], headers, text: decodePart(headers, body) }];
  const parts = body.split(`--${boundary}`).slice(1);
  const out = [];
  for (const part of parts) {
    if (part.startsWith("--")) break;
    out.push(...textParts(part.replace(/^\r?\n/, "")));
  }
  return out;
}

export function headerOf(eml, name) {
  return splitHeaders(eml).headers[name.toLowerCase()];
}

/** The first `/auth/verify?token=` link in the message. */
export function signInLink(eml) {
  for (const part of textParts(eml)) {
    const found = /https?:\/\/[^\s"<>]+\/auth\/verify\?token=[A-Za-z0-9_-]+/.exec(part.text.replace(/&amp;/g, "&"));
    if (found) return found[0];
  }
  return null;
}
