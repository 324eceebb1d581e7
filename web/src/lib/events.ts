// A small in-page signal: "usage may have changed" (a project was created,
// finished or deleted, the plan changed). The usage banner listens.

type Listener = () => void;
const listeners = new Set<Listener>();

export function onUsageChanged(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function notifyUsageChanged() {
  for (const listener of listeners) listener();
}
