// A Pexels stand-in on loopback that speaks Pexels' wire format, as the
// server's client (src/stock/pexels.rs) uses it and pexels.com/api/documentation
// describes it: `GET /v1/search` (photos) and `GET /videos/search` with
// `query`, `orientation`, `per_page` and `page`, `GET /v1/photos/{id}` and
// `GET /videos/videos/{id}`, all with `Authorization: <key>` (401 without),
// with Pexels' rate-limit headers. Every file address in its answers points
// at the stand-in itself, and it serves real files there: JPEGs of every size
// Pexels names (`src.original` … `src.tiny`) and one MP4 (1280x720, 3 s),
// made once at start with ffmpeg.
//
// Any query has results (with a stock key set, every `auto` scene of the
// server becomes a stock photo): 40 per orientation in an order of the
// query's own, 15 a page by default,
// each photo one of a few solid colours (with light boxes in two corners),
// so a test can find the colour of the photo it picked in the video.

import { execFile } from "node:child_process";
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Solid background colours of the photos (RGB), by `n % PALETTE.length`. */
export const PALETTE = [
  [31, 111, 235],
  [214, 92, 38],
  [46, 160, 67],
  [191, 57, 137],
];
const PHOTOGRAPHERS = ["Ada Lindqvist", "Bruno Okafor", "Chiara Rossi", "Dai Nakamura", "Elif Demir", "Femi Adeyemi", "Greta Novak"];
const VIDEOGRAPHERS = ["Hana Kim", "Ivo Petrov", "Jonas Berg"];
/** Results per orientation, whatever the query. */
export const TOTAL = 40;
const SHAPES = {
  landscape: { base: 10000, width: 1600, height: 900 },
  portrait: { base: 20000, width: 900, height: 1600 },
  square: { base: 30000, width: 1200, height: 1200 },
};
const VIDEO_BASE = 50000;
const VIDEOS = 6;

const hex = ([r, g, b]) => `0x${[r, g, b].map((c) => c.toString(16).padStart(2, "0")).join("")}`;

/** `width` x `height` scaled to fit inside `maxW` x `maxH`, never enlarged (Pexels' `w`/`h` resizing). */
function fitted(width, height, maxW, maxH) {
  const scale = Math.min(maxW / width, maxH / height, 1);
  return [Math.round(width * scale), Math.round(height * scale)];
}

/**
 * Pexels' renditions of a photo: the `src` member, its query string, and
 * the size of the file (resized to fit, or cropped to exactly that size).
 */
function renditions(width, height) {
  return [
    { name: "original", query: "", size: [width, height] },
    { name: "large2x", query: "?auto=compress&cs=tinysrgb&dpr=2&h=650&w=940", size: fitted(width, height, 1880, 1300) },
    { name: "large", query: "?auto=compress&cs=tinysrgb&h=650&w=940", size: fitted(width, height, 940, 650) },
    { name: "medium", query: "?auto=compress&cs=tinysrgb&h=350", size: fitted(width, height, Infinity, 350) },
    { name: "small", query: "?auto=compress&cs=tinysrgb&h=130", size: fitted(width, height, Infinity, 130) },
    { name: "portrait", query: "?auto=compress&cs=tinysrgb&fit=crop&h=1200&w=800", size: [800, 1200], crop: true },
    { name: "landscape", query: "?auto=compress&cs=tinysrgb&fit=crop&h=627&w=1200", size: [1200, 627], crop: true },
    { name: "tiny", query: "?auto=compress&cs=tinysrgb&dpr=1&fit=crop&h=200&w=280", size: [280, 200], crop: true },
  ];
}

/** One photo of `shape` in colour `c`, at every rendition's size, with one ffmpeg run. */
async function makePhotos(dir, shape, c) {
  const { width, height } = SHAPES[shape];
  const list = renditions(width, height);
  const source =
    `color=c=${hex(PALETTE[c])}:s=${width}x${height},format=yuvj444p,` +
    `drawbox=x=iw*0.74:y=ih*0.70:w=iw*0.2:h=ih*0.22:color=white@0.55:t=fill,` +
    `drawbox=x=iw*0.05:y=ih*0.06:w=iw*0.12:h=ih*0.1:color=white@0.35:t=fill`;
  const split = `[0:v]split=${list.length}${list.map((_, i) => `[s${i}]`).join("")}`;
  const scaled = list.map(({ size: [w, h], crop }, i) =>
    crop ? `[s${i}]scale=${w}:${h}:force_original_aspect_ratio=increase,crop=${w}:${h}[o${i}]` : `[s${i}]scale=${w}:${h}[o${i}]`,
  );
  const outputs = list.flatMap(({ name }, i) => ["-map", `[o${i}]`, "-frames:v", "1", "-q:v", "4", join(dir, `${shape}-${c}-${name}.jpg`)]);
  await run("ffmpeg", ["-y", "-v", "error", "-f", "lavfi", "-i", source, "-filter_complex", [split, ...scaled].join(";"), ...outputs]);
}

async function makeVideo(dir) {
  const clip = join(dir, "clip-1280x720.mp4");
  await run("ffmpeg", [
    "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30", "-t", "3",
    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", clip,
  ]);
  // Pexels' `image`: a 1200x630 crop of a frame.
  await run("ffmpeg", [
    "-y", "-v", "error", "-ss", "1", "-i", clip, "-frames:v", "1",
    "-vf", "scale=1200:630:force_original_aspect_ratio=increase,crop=1200:630", "-q:v", "4", join(dir, "clip-image.jpg"),
  ]);
}

/** Starts the stand-in: `key` is the API key it accepts; `verbose` logs every API request. */
export async function startPexels({ key, log = () => {}, verbose = false }) {
  const dir = mkdtempSync(join(tmpdir(), "pexels-standin-"));
  const started = Date.now();
  await Promise.all([
    ...Object.keys(SHAPES).flatMap((shape) => PALETTE.map((_, c) => makePhotos(dir, shape, c))),
    makeVideo(dir),
  ]);
  log(`files made in ${Date.now() - started} ms`);

  const state = { requests: [], files: [], remaining: 20000 };
  let base = "";

  /** A photo by its id: its shape and number decide its size and colour. */
  function photo(id) {
    const shape = Object.keys(SHAPES).find((s) => id >= SHAPES[s].base && id < SHAPES[s].base + TOTAL);
    if (!shape) return null;
    const { base: first, width, height } = SHAPES[shape];
    const n = id - first;
    const author = PHOTOGRAPHERS[n % PHOTOGRAPHERS.length];
    const handle = author.toLowerCase().replace(/\s+/g, "-");
    const file = `${base}/photos/${id}/pexels-photo-${id}.jpeg`;
    return {
      id,
      width,
      height,
      url: `https://www.pexels.com/photo/stand-in-${shape}-${id}/`,
      photographer: author,
      photographer_url: `https://www.pexels.com/@${handle}`,
      photographer_id: 100 + (n % PHOTOGRAPHERS.length),
      avg_color: `#${hex(PALETTE[n % PALETTE.length]).slice(2)}`,
      src: Object.fromEntries(renditions(width, height).map((r) => [r.name, `${file}${r.query}`])),
      liked: false,
      alt: `A ${shape} stand-in photo, colour ${n % PALETTE.length}`,
    };
  }

  function video(id) {
    const n = id - VIDEO_BASE;
    if (!(n >= 0 && n < VIDEOS)) return null;
    const name = VIDEOGRAPHERS[n % VIDEOGRAPHERS.length];
    return {
      id,
      width: 1280,
      height: 720,
      duration: 3,
      full_res: null,
      tags: [],
      url: `https://www.pexels.com/video/stand-in-clip-${id}/`,
      image: `${base}/videos/${id}/free-video-${id}.jpg?auto=compress&cs=tinysrgb&fit=crop&h=630&w=1200`,
      avg_color: null,
      user: { id: 900 + n, name, url: `https://www.pexels.com/@${name.toLowerCase().replace(/\s+/g, "-")}` },
      video_files: [
        { id: id * 10 + 1, quality: "hd", file_type: "video/mp4", width: 1280, height: 720, fps: 30, link: `${base}/video-files/${id}/${id}-hd_1280_720_30fps.mp4`, size: null },
        { id: id * 10 + 2, quality: null, file_type: "hls", width: null, height: null, fps: null, link: `${base}/external/${id}.m3u8`, size: null },
      ],
      video_pictures: [{ id: id * 10, picture: `${base}/videos/${id}/pictures/preview-0.jpg`, nr: 0 }],
    };
  }

  /** The file a stand-in address names, if it names one. */
  function fileFor(url) {
    let m;
    if ((m = url.pathname.match(/^\/photos\/(\d+)\/pexels-photo-(\d+)\.jpeg$/)) && m[1] === m[2]) {
      const p = photo(Number(m[1]));
      if (!p) return null;
      const shape = Object.keys(SHAPES).find((s) => p.id - SHAPES[s].base < TOTAL && p.id >= SHAPES[s].base);
      const rendition = renditions(p.width, p.height).find((r) => r.query === url.search);
      if (!rendition) return null;
      return { path: join(dir, `${shape}-${(p.id - SHAPES[shape].base) % PALETTE.length}-${rendition.name}.jpg`), type: "image/jpeg" };
    }
    if ((m = url.pathname.match(/^\/videos\/(\d+)\/(free-video-\d+\.jpg|pictures\/preview-0\.jpg)$/)) && video(Number(m[1]))) {
      return { path: join(dir, "clip-image.jpg"), type: "image/jpeg" };
    }
    if ((m = url.pathname.match(/^\/video-files\/(\d+)\/\d+-hd_1280_720_30fps\.mp4$/)) && video(Number(m[1]))) {
      return { path: join(dir, "clip-1280x720.mp4"), type: "video/mp4" };
    }
    return null;
  }

  const json = (res, status, body) => {
    state.remaining = Math.max(1, state.remaining - 1);
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "x-ratelimit-limit": "20000",
      "x-ratelimit-remaining": String(state.remaining),
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 30 * 86400),
    });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url, base);
    try {
      const file = req.method === "GET" ? fileFor(url) : null;
      if (file) {
        state.files.push(url.pathname + url.search);
        const size = statSync(file.path).size;
        res.writeHead(200, { "content-type": file.type, "content-length": String(size), "cache-control": "public, max-age=31536000" });
        createReadStream(file.path).pipe(res);
        return;
      }
      const api = ["/v1/", "/videos/"].some((p) => url.pathname.startsWith(p));
      if (!api) {
        res.writeHead(404, { "content-type": "text/plain" });
        return res.end("Not found");
      }
      state.requests.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), authorized: req.headers.authorization === key });
      if (verbose) log(`${req.method} ${url.pathname}${url.search}`);
      if (req.headers.authorization !== key) {
        // Pexels answers a missing or wrong key with 401 and a JSON error.
        return json(res, 401, { error: "Unauthorized" });
      }
      if (req.method !== "GET") return json(res, 405, { error: "Method Not Allowed" });
      const perPage = Math.min(80, Math.max(1, Number(url.searchParams.get("per_page") ?? 15) || 15));
      const pageNo = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
      const query = url.searchParams.get("query") ?? "";
      let m;
      if (url.pathname === "/v1/search") {
        if (!query.trim()) return json(res, 400, { error: "query is required" });
        const shape = SHAPES[url.searchParams.get("orientation")] ? url.searchParams.get("orientation") : "landscape";
        // Each query has its own order (so two scenes' searches find different photos).
        const offset = [...query.trim().toLowerCase()].reduce((h, ch) => (h * 31 + ch.codePointAt(0)) % TOTAL, 7);
        const ids = Array.from({ length: TOTAL }, (_, n) => SHAPES[shape].base + ((n + offset) % TOTAL));
        const photos = ids.slice((pageNo - 1) * perPage, pageNo * perPage).map(photo);
        const next = pageNo * perPage < TOTAL;
        const link = (p) => `https://api.pexels.com/v1/search/?page=${p}&per_page=${perPage}&query=${encodeURIComponent(query)}`;
        return json(res, 200, {
          total_results: TOTAL,
          page: pageNo,
          per_page: perPage,
          photos,
          ...(next ? { next_page: link(pageNo + 1) } : {}),
          ...(pageNo > 1 ? { prev_page: link(pageNo - 1) } : {}),
        });
      }
      if (url.pathname === "/videos/search") {
        if (!query.trim()) return json(res, 400, { error: "query is required" });
        const ids = Array.from({ length: VIDEOS }, (_, n) => VIDEO_BASE + n);
        return json(res, 200, {
          page: pageNo,
          per_page: perPage,
          total_results: VIDEOS,
          url: `https://www.pexels.com/search/videos/${encodeURIComponent(query)}/`,
          videos: ids.slice((pageNo - 1) * perPage, pageNo * perPage).map(video),
        });
      }
      if ((m = url.pathname.match(/^\/v1\/photos\/(\d+)$/))) {
        const p = photo(Number(m[1]));
        return p ? json(res, 200, p) : json(res, 404, { error: "Not Found" });
      }
      if ((m = url.pathname.match(/^\/videos\/videos\/(\d+)$/))) {
        const v = video(Number(m[1]));
        return v ? json(res, 200, v) : json(res, 404, { error: "Not Found" });
      }
      return json(res, 404, { error: "Not Found" });
    } catch (err) {
      log(`stand-in error: ${err?.stack ?? err}`);
      if (!res.headersSent) json(res, 500, { error: String(err?.message ?? err) });
      else res.end();
    }
  });

  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    state,
    /** The photo object the stand-in answers for `id` (its author, page, colour). */
    photo: (id) => {
      const p = photo(id);
      return p && { ...p, colour: PALETTE[(id % 10000) % PALETTE.length] };
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
