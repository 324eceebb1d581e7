import { useEffect, type RefObject } from "react";

/**
 * Opens the `<dialog>` in `ref` as a modal while the component is mounted
 * (the `open` attribute where `showModal` is missing, as in jsdom), and on
 * unmount closes it and gives focus back to what had it before.
 */
export function useModalDialog(ref: RefObject<HTMLDialogElement | null>): void {
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement as HTMLElement | null;
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
    return () => {
      if (dialog.open && typeof dialog.close === "function") dialog.close();
      opener?.focus?.();
    };
  }, [ref]);
}
