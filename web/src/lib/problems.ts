// Turns an API error into a plain sentence that says what happened and what
// to do about it.

import { ApiError } from "../api/client";
import { METRICS, usd } from "./format";

export interface Explained {
  message: string;
  /** Where the person can fix it, when there is such a place. */
  action?: { href: string; label: string };
}

/** A refused "Write it for me" (`POST /api/v1/scripts`), or undefined for the general answers. */
function explainScript(error: ApiError): Explained | undefined {
  const p = error.problem;
  switch (error.status) {
    case 402:
      return {
        message: `You have used the ${typeof p.quota === "number" ? `${p.quota} ` : ""}written scripts your plan has this month. Write this one yourself, upgrade, or wait until next month.`,
        action: { href: "/billing", label: "Upgrade" },
      };
    case 503:
      return { message: "Writing scripts is not set up on this server (it needs a language model). Write the script yourself." };
    case 429:
      return p.reason === "provider_busy"
        ? { message: `The writer is busy. Try again in ${wait(error.retryAfterSeconds)}.` }
        : { message: `That is a lot of scripts for one minute. Try again in ${wait(error.retryAfterSeconds)}.` };
    case 502:
      return p.reason === "refused"
        ? { message: "The writer declined this topic. Try putting it another way." }
        : { message: "The writer did not come up with a usable script. Try again; nothing was counted." };
    case 504:
      return { message: "The writer took too long. Try again, perhaps with a shorter video; nothing was counted." };
    default:
      return undefined;
  }
}

function wait(seconds: number | null | undefined): string {
  if (!seconds || seconds <= 0) return "a moment";
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}

export function explain(
  error: unknown,
  context: "create" | "login" | "billing" | "export" | "upload" | "render" | "script" | "other" = "other",
): Explained {
  if (!(error instanceof ApiError)) {
    return { message: "Something went wrong in the page. Reload it and try again." };
  }
  const p = error.problem;
  if (context === "script") {
    const script = explainScript(error);
    if (script) return script;
  }
  switch (error.status) {
    case 0:
      return { message: "We could not reach Reelforge. Check your connection and try again." };
    case 402: {
      if (p.required_plan) {
        return {
          message: `${p.detail ? capitalise(p.detail) : "This needs a paid plan"}. Upgrade to Pro, or choose a template without the Premium badge.`,
          action: { href: "/billing", label: "See plans" },
        };
      }
      if (typeof p.cap_usd === "number") {
        return {
          message: `This would pass your monthly overage cap of ${usd(p.cap_usd)} (${usd(p.spent_usd ?? 0)} spent so far). Raise the cap, or wait until next month.`,
          action: { href: "/billing", label: "Change the cap" },
        };
      }
      const info = p.metric ? METRICS[p.metric] : undefined;
      if (p.metric && info && typeof p.quota === "number") {
        const phrase = (v: number) =>
          p.metric === "images_generated" ? `${info.format(v)} image${v === 1 ? "" : "s"}` : `${info.format(v)} of ${info.label.toLowerCase()}`;
        const left = Math.max(0, p.quota - (p.used ?? 0) - (p.reserved ?? 0));
        const storage = p.metric === "storage_mb";
        if (context === "upload") {
          return {
            message: `This file needs ${phrase(p.needed ?? 0)}, but your plan has only ${phrase(left)} left (of ${info.format(p.quota)}). Delete files or old videos you no longer need, or upgrade your plan.`,
            action: { href: "/billing", label: "Upgrade" },
          };
        }
        return {
          message: `This video needs ${phrase(p.needed ?? 0)}, but your plan has only ${phrase(left)} left${storage ? "" : " this month"} (of ${info.format(p.quota)}). Upgrade your plan, shorten the script${storage ? ", delete old videos" : ""}, or wait until next month.`,
          action: { href: "/billing", label: "Upgrade" },
        };
      }
      return { message: "This would pass your plan's monthly quota. Upgrade your plan or wait until next month.", action: { href: "/billing", label: "Upgrade" } };
    }
    case 429: {
      const seconds = p.eta_seconds ?? error.retryAfterSeconds;
      if (context === "create" || context === "render") {
        return { message: `The render queue is full right now. Try again in about ${wait(seconds)}; nothing was charged.` };
      }
      if (context === "login") {
        return { message: `Too many sign-in links were asked for. Wait ${wait(error.retryAfterSeconds)} and try again.` };
      }
      if (context === "export") {
        return { message: `An export is already being prepared. Wait ${wait(error.retryAfterSeconds)} for it to finish.` };
      }
      return { message: `Too many requests. Wait ${wait(error.retryAfterSeconds)} and try again.` };
    }
    case 507:
      return { message: "Our media storage is full, so nothing was saved. Delete old projects or try again later." };
    case 503:
      if (context === "billing") {
        return { message: "Billing is not configured on this server, so plans cannot be bought here. Ask the administrator to set up Stripe." };
      }
      return { message: "The service is unavailable for a moment. Try again shortly." };
    case 413:
      return { message: p.detail ? `That file is too big: ${uncapitalise(p.detail)}.` : "That file is too big to upload." };
    case 415:
      return {
        message: `${p.detail ? `${capitalise(p.detail)}. ` : "That kind of file cannot be used. "}Choose a picture or a video file.`,
      };
    case 422: {
      if (context === "upload") {
        return { message: p.detail ? `That file cannot be used: ${uncapitalise(p.detail)}.` : "That file cannot be read." };
      }
      const fields = p.errors?.map((e) => `${e.field} ${e.message}`).join("; ");
      return { message: fields ? `Please check the form: ${fields}.` : `Please check the form: ${p.detail}.` };
    }
    case 404:
      return { message: "That was not found. It may have been deleted." };
    case 409:
      return { message: p.detail ? `${capitalise(p.detail)}.` : "That cannot be done in the current state." };
    case 403:
      return { message: p.detail ? `${capitalise(p.detail)}.` : "You are not allowed to do that." };
    case 401:
      return { message: "Your session has ended. Sign in again." , action: { href: "/login", label: "Sign in" } };
    default:
      if (error.status >= 500) return { message: "Something went wrong on our side. Try again in a moment." };
      return { message: p.detail ? `${capitalise(p.detail)}.` : `The request failed (${error.status}).` };
  }
}

function uncapitalise(text: string): string {
  const t = text.replace(/\.$/, "");
  return t.charAt(0).toLowerCase() + t.slice(1);
}

function capitalise(text: string): string {
  const t = text.replace(/\.$/, "");
  return t.charAt(0).toUpperCase() + t.slice(1);
}

