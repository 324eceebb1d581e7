// The create form's live scene count and usage estimate. The server splits
// the script (POST /api/v1/projects/estimate): the same splitting and the same
// figures that admission reserves when the project is created, so the form
// never disagrees with what is charged. It is asked ESTIMATE_DELAY_MS after
// the last change, and an answer to an older draft is dropped.

import { useEffect, useState } from "react";
import { api, ApiError } from "../api";
import type { EstimateProject, ProjectEstimate } from "../api/types";

export const ESTIMATE_DELAY_MS = 300;

export interface LiveEstimate {
  /** The server's figures for the current draft, or the previous draft's while the next is on its way. */
  estimate: ProjectEstimate | null;
  /** Why the current draft would be refused (422): field -> message. */
  problems: Record<string, string>;
  /** Another failure (network, 5xx) for the current draft. */
  error: unknown;
  /** An answer for the current draft is still to come. */
  pending: boolean;
}

interface Answer {
  key: string;
  estimate: ProjectEstimate | null;
  problems: Record<string, string>;
  error: unknown;
}

/** The server's estimate of `draft` (`null`: nothing to estimate yet). */
export function useEstimate(draft: EstimateProject | null, delayMs = ESTIMATE_DELAY_MS): LiveEstimate {
  // The draft as a value: a new object with the same fields is the same draft.
  const key = draft === null ? null : JSON.stringify(draft);
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [lastEstimate, setLastEstimate] = useState<ProjectEstimate | null>(null);

  useEffect(() => {
    if (key === null) return;
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      api.projects.estimate(JSON.parse(key) as EstimateProject, controller.signal).then(
        (estimate) => {
          if (controller.signal.aborted) return;
          setAnswer({ key, estimate, problems: {}, error: null });
          setLastEstimate(estimate);
        },
        (err: unknown) => {
          if (controller.signal.aborted) return;
          if (err instanceof ApiError && err.status === 422) {
            const problems = Object.fromEntries((err.problem.errors ?? []).map((f) => [f.field, f.message]));
            setAnswer({ key, estimate: null, problems, error: null });
          } else {
            setAnswer({ key, estimate: null, problems: {}, error: err });
          }
        },
      );
    }, delayMs);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [key, delayMs]);

  if (key === null) return { estimate: null, problems: {}, error: null, pending: false };
  if (answer?.key === key) {
    return { estimate: answer.estimate, problems: answer.problems, error: answer.error, pending: false };
  }
  return { estimate: lastEstimate, problems: {}, error: null, pending: true };
}
