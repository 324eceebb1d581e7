// The server does not offer a usage estimate for a draft script, so the
// create form computes one here, following the server's rules (SPEC 5.1 and
// src/projects/script.rs, src/usage/quota.rs): paragraphs become scenes
// (long ones split at sentence ends into pieces of at most 320 characters),
// at most 60 scenes; one image per scene; speech at ~150 words a minute;
// each scene's video lasts its speech plus 0.6 s, at least 2 s. It is shown
// as an estimate: the server's count is the one that is charged.

export const MAX_SCENES = 60;
export const MAX_SCENE_CHARS = 320;
export const MAX_SCRIPT_CHARS = 20_000;
export const WORDS_PER_MINUTE = 150;

const SENTENCE_ENDS = new Set([".", "!", "?", "。", "！", "？"]);
const CLOSERS = new Set(['"', "'", ")", "]", "”", "’", "»"]);
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/u;
const ALNUM = /[\p{L}\p{N}]/u;

const len = (s: string) => Array.from(s).length;

function paragraphs(text: string): string[] {
  const out: string[] = [];
  let current: string[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (current.length) out.push(current.join(" "));
      current = [];
    } else {
      current.push(line.trim());
    }
  }
  if (current.length) out.push(current.join(" "));
  return out.map((p) => p.split(/\s+/).filter(Boolean).join(" ")).filter((p) => p !== "");
}

function sentences(text: string): string[] {
  const chars = Array.from(text);
  const out: string[] = [];
  let current = "";
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    current += /\s/.test(c) ? " " : c;
    if (SENTENCE_ENDS.has(c)) {
      while (i + 1 < chars.length && (SENTENCE_ENDS.has(chars[i + 1] as string) || CLOSERS.has(chars[i + 1] as string))) {
        i++;
        current += chars[i];
      }
      const next = chars[i + 1];
      if (next === undefined || /\s/.test(next) || c === "。" || c === "！" || c === "？") {
        if (current.trim()) out.push(current.trim());
        current = "";
      }
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

function cut(sentence: string): string[] {
  const out: string[] = [];
  let current = "";
  for (let word of sentence.split(" ")) {
    while (len(word) > MAX_SCENE_CHARS) {
      if (current) out.push(current);
      current = "";
      const chars = Array.from(word);
      out.push(chars.slice(0, MAX_SCENE_CHARS).join(""));
      word = chars.slice(MAX_SCENE_CHARS).join("");
    }
    if (current && len(current) + 1 + len(word) > MAX_SCENE_CHARS) {
      out.push(current);
      current = "";
    }
    current = current ? `${current} ${word}` : word;
  }
  if (current.trim()) out.push(current);
  return out;
}

function splitLong(paragraph: string): string[] {
  const pieces = sentences(paragraph).flatMap((s) => (len(s) <= MAX_SCENE_CHARS ? [s] : cut(s)));
  const scenes: string[] = [];
  for (const piece of pieces) {
    const last = scenes[scenes.length - 1];
    if (last !== undefined && len(last) + 1 + len(piece) <= MAX_SCENE_CHARS) scenes[scenes.length - 1] = `${last} ${piece}`;
    else scenes.push(piece);
  }
  return scenes;
}

/** The scenes a script becomes ([] when it has nothing to narrate). */
export function splitScenes(script: string): string[] {
  if (len(script) > MAX_SCRIPT_CHARS || script.trim() === "" || !ALNUM.test(script)) return [];
  const normalized = script.replace(/\r\n?/g, "\n");
  const scenes = paragraphs(normalized).flatMap((p) => (len(p) <= MAX_SCENE_CHARS ? [p] : splitLong(p)));
  const merged: string[] = [];
  for (const scene of scenes) {
    if (ALNUM.test(scene) || merged.length === 0) merged.push(scene);
    else merged[merged.length - 1] += ` ${scene}`;
  }
  if (merged.length > 1 && !ALNUM.test(merged[0] as string)) {
    const first = merged.shift() as string;
    merged[0] = `${first} ${merged[0]}`;
  }
  while (merged.length > MAX_SCENES) {
    let best = 0;
    let bestLen = Infinity;
    for (let i = 0; i < merged.length - 1; i++) {
      const l = (merged[i] as string).length + (merged[i + 1] as string).length;
      if (l < bestLen) {
        bestLen = l;
        best = i;
      }
    }
    const [next] = merged.splice(best + 1, 1);
    merged[best] += ` ${next}`;
  }
  return merged;
}

/** Words, counting each CJK character as one. */
export function wordCount(text: string): number {
  let total = 0;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const chars = Array.from(word);
    const cjk = chars.filter((c) => CJK.test(c)).length;
    total += cjk > 0 ? cjk + (chars.some((c) => !CJK.test(c) && ALNUM.test(c)) ? 1 : 0) : 1;
  }
  return total;
}

export interface Estimate {
  scenes: number;
  words: number;
  images: number;
  speechSeconds: number;
  renderMinutes: number;
  /** A problem that keeps the script from being accepted. */
  problem: string | null;
}

export function estimate(script: string): Estimate {
  const length = len(script);
  let problem: string | null = null;
  if (length > MAX_SCRIPT_CHARS) problem = `The script is ${length.toLocaleString("en-US")} characters long; the limit is 20,000.`;
  else if (script.trim() !== "" && !ALNUM.test(script)) problem = "The script has no words to narrate.";
  const scenes = splitScenes(script);
  let speechMs = 0;
  let renderMs = 0;
  let words = 0;
  for (const scene of scenes) {
    const w = wordCount(scene);
    words += w;
    const speech = w / (WORDS_PER_MINUTE / 60);
    speechMs += Math.ceil(speech * 1000);
    renderMs += Math.ceil(Math.max(speech + 0.6, 2) * 1000);
  }
  return {
    scenes: scenes.length,
    words,
    images: scenes.length,
    speechSeconds: speechMs / 1000,
    renderMinutes: renderMs / 60000,
    problem,
  };
}
