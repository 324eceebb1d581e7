import { useCallback, useEffect, useLayoutEffect, useRef, useState, type DependencyList } from "react";

export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
  setData: (data: T) => void;
}

/**
 * Loads `load()` on mount and whenever `deps` change (like an effect's
 * dependencies: ESLint's exhaustive-deps checks them at every call, see
 * `additionalHooks` in eslint.config.js); `reload` runs it again.
 */
export function useAsync<T>(load: () => Promise<T>, deps: DependencyList): AsyncState<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const alive = useRef(true);
  const loadRef = useRef(load);
  // The latest loader for `reload`, stored after each render (layout effects
  // run before the load effect below).
  useLayoutEffect(() => {
    loadRef.current = load;
  });

  const reload = useCallback(async () => {
    setLoading(true);
    try {
      const value = await loadRef.current();
      if (alive.current) {
        setData(value);
        setError(undefined);
      }
    } catch (err) {
      if (alive.current) setError(err);
    } finally {
      if (alive.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    alive.current = true;
    void reload();
    return () => {
      alive.current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `deps` are the caller's (checked at each call, see above); `reload` is stable.
  }, deps);

  return { data, error, loading, reload, setData };
}
